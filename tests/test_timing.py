"""The benchmarks: a ratio's summary over rounds (benchmarks/_timing.py), their refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulation import Scenario

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _timing import round_ratio


def test_the_ratio_is_of_the_statistics_and_its_interval_holds_it() -> None:
    before, now = [30.0, 33.0, 27.0, 36.0], [10.0, 10.0, 10.0, 12.0]
    ratio, low, high = round_ratio(before, now, np.mean)
    assert ratio == pytest.approx(np.mean(before) / np.mean(now))
    assert low <= ratio <= high
    # A ratio of means is a weighted mean of the rounds' ratios (3.0, 3.3, 2.7, 3.0).
    assert low >= 2.7
    assert high <= 3.3


def test_a_round_resamples_whole_so_a_shared_slowdown_cancels() -> None:
    # Each round twice as slow as the one before for both checkouts: the per-round ratio is 3
    # throughout, so every resample of whole rounds gives 3 exactly.
    now = [2.0**k for k in range(6)]
    before = [3.0 * x for x in now]
    ratio, low, high = round_ratio(before, now, np.median)
    assert ratio == pytest.approx(3.0)
    assert low == pytest.approx(3.0)
    assert high == pytest.approx(3.0)


def test_rounds_must_pair() -> None:
    with pytest.raises(ValueError, match="one figure per round"):
        round_ratio([1.0, 2.0], [1.0], np.mean)


@pytest.mark.parametrize(("script", "option"), [
    ("scaling.py", "--seeds"), ("scaling.py", "--processes"), ("throughput.py", "--repeats"),
    ("throughput.py", "--rounds"), ("memory.py", "--runs"),
])
def test_a_count_below_one_is_refused_before_any_work(script: str, option: str) -> None:
    """Exit 2 with the option named and what is allowed, no traceback, nothing run."""
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    done = subprocess.run(
        [sys.executable, str(benchmarks / script), option, "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert f"{option} must be a whole number of at least 1, not 0" in done.stderr.splitlines()[-1]


def test_memory_refuses_organisations_too_small_for_the_network_before_any_work() -> None:
    degree = Scenario.load("baseline").sections["home_organisations"]["staff_degree"]
    least, given = 100 * (degree + 1), 100 * degree
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    done = subprocess.run(
        [sys.executable, str(benchmarks / "memory.py"), "--staff", str(given)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert f"--staff must be a whole number of at least {least}" in last
    assert f"degree {degree})" in last
    assert last.endswith(f"not {given}")
