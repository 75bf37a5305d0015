"""The compiled beta inversion is SciPy's, bit for bit, in this process and from the cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from simulation.beta_inversion import beta_traits

ROOT = Path(__file__).resolve().parents[1]
unit = st.floats(min_value=0.0, max_value=1.0)


@settings(max_examples=200, deadline=None)
@given(
    means=st.lists(unit, min_size=1, max_size=4),
    concentration=st.floats(min_value=0.01, max_value=500.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_beta_traits_are_scipys_inversion(means, concentration, seed):
    """Every value equals special.betaincinv(m c, (1 - m) c, u) inside (0, 1), and 0 or 1 at
    a mean of 0 or 1, with uniforms from the whole unit interval (0 and 1 included)."""
    uniform = np.random.default_rng(seed).random((len(means), 9))
    uniform[:, 0], uniform[:, 1] = 0.0, 1.0
    got = beta_traits(np.array(means), concentration, uniform)
    for row, m in enumerate(means):
        want = (np.full(9, float(m >= 1.0)) if not 0.0 < m < 1.0
                else special.betaincinv(m * concentration, (1.0 - m) * concentration, uniform[row]))
        assert np.array_equal(got[row], want, equal_nan=True), (m, concentration)


def test_many_values_at_the_models_parameters_match_exactly():
    """100,000 inversions over the range of means and concentrations the scenarios allow."""
    rng = np.random.default_rng(3)
    means = rng.random(100)
    uniform = rng.random((100, 1000))
    for c in (0.5, 4.0, 10.0, 60.0):
        want = special.betaincinv((means * c)[:, None], ((1.0 - means) * c)[:, None], uniform)
        assert np.array_equal(beta_traits(means, c, uniform), want)


def test_a_fresh_process_binds_the_cached_code_to_scipy_again():
    """The cached compiled code holds the function's name, not an address of the process that
    compiled it: a new process loading it from the cache gets SciPy's values."""
    beta_traits(np.array([0.4]), 5.0, np.full((1, 3), 0.25))  # compiled into the cache here
    code = (
        "import numpy as np\n"
        "from scipy import special\n"
        "from simulation.beta_inversion import beta_traits\n"
        "u = np.random.default_rng(1).random((1, 50))\n"
        "got = beta_traits(np.array([0.4]), 5.0, u)\n"
        "assert np.array_equal(got[0], special.betaincinv(2.0, 3.0, u[0]))\n"
        "print(sum(beta_traits.stats.cache_hits.values()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert int(out.stdout.strip()) >= 1  # loaded from the cache, not compiled again
