"""Sensitivity indices against analytic values (Ishigami) and known inert inputs.

Tolerances. The Sobol' estimators are means over the N base points, so their Monte
Carlo standard error is sd(term) / (sqrt(N) * V); SALib's bootstrap half-width
``conf`` estimates 1.96 times that error, so we allow ``4 * conf / 1.96`` (four
standard errors; with fixed seeds the tests are deterministic, the margin only
guards against the estimate itself being unlucky). With ``R`` replicates of a
model with independent additive noise of sd ``s``, a row mean carries noise of
variance ``s**2 / R``, which (i) adds ``s**2 / R`` to the output variance
``V' = V + s**2 / R`` SALib normalises by and (ii) adds ``s**2 / R`` to the
numerator of the total-order (Jansen) estimator, ``mean((Y_A - Y_ABj)**2) / 2``.
The first-order estimator's numerator is unbiased. So we expect
``S1 * V / V'`` and ``(ST * V + s**2 / R) / V'``.
"""

import dataclasses
import math

import numpy as np
import pytest
import sweep_models as m

from analysis.errors import AnalysisError
from analysis.sensitivity import (
    convergence,
    morris,
    pawn,
    sobol,
    sobol_second_order,
    table,
    time_resolved,
)
from analysis.space import Space
from analysis.sweep import run_sweep

PI = math.pi
ISHIGAMI = Space({"x1": (-PI, PI), "x2": (-PI, PI), "x3": (-PI, PI)})
S1 = np.array(m.ISHIGAMI_S1)
ST = np.array(m.ISHIGAMI_ST)
V = m.ISHIGAMI_VAR


def _tolerance(conf):
    return 4 * np.asarray(conf) / 1.96


@pytest.fixture(scope="module")
def ishigami_sweep():
    return run_sweep(m.ishigami, ISHIGAMI, "sobol", 1024, 1, seed=3, executor="serial",
                     progress=False)


def test_ishigami_analytic(ishigami_sweep):
    idx = sobol(ishigami_sweep, "y")
    assert list(idx.columns) == ["S1", "S1_conf", "ST", "ST_conf"]
    assert list(idx.index) == ["x1", "x2", "x3"]
    assert np.all(np.abs(idx["S1"] - S1) <= _tolerance(idx["S1_conf"]))
    assert np.all(np.abs(idx["ST"] - ST) <= _tolerance(idx["ST_conf"]))
    # the tolerance is informative: a wrong answer (swap x1 and x3) is rejected
    assert not np.all(np.abs(idx["ST"] - ST[::-1]) <= _tolerance(idx["ST_conf"]))


def test_keyed_by_run_id_not_storage_order(ishigami_sweep):
    expected = sobol(ishigami_sweep, "y")
    shuffled = ishigami_sweep.results.sample(frac=1.0, random_state=1).reset_index(drop=True)
    scrambled = dataclasses.replace(ishigami_sweep, results=shuffled)
    assert sobol(scrambled, "y").equals(expected)


def test_noisy_ishigami_with_replicate_averaging():
    r, s = 16, m.NOISE_SD
    sweep = run_sweep(m.noisy_ishigami, ISHIGAMI, "sobol", 1024, r, seed=3, executor="serial",
                      progress=False, common_random_numbers=False)
    idx = sobol(sweep, "y")
    v_prime = V + s**2 / r
    assert np.all(np.abs(idx["S1"] - S1 * V / v_prime) <= _tolerance(idx["S1_conf"]))
    assert np.all(np.abs(idx["ST"] - (ST * V + s**2 / r) / v_prime) <= _tolerance(idx["ST_conf"]))
    # averaging 16 replicates brings ST(x3) back to the analytic 0.244 ...
    assert abs(idx.loc["x3", "ST"] - ST[2]) < 0.05
    # ... where one run per row inflates it (0.41 instead of 0.24 when measured)
    one = sobol(run_sweep(m.noisy_ishigami, ISHIGAMI, "sobol", 1024, 1, seed=3,
                          executor="serial", progress=False, common_random_numbers=False), "y")
    expected = (ST[2] * V + s**2) / (V + s**2)
    assert expected > 0.4
    assert abs(one.loc["x3", "ST"] - expected) <= _tolerance(one.loc["x3", "ST_conf"])


def test_common_random_numbers_cancel_additive_noise(ishigami_sweep):
    # replicate r has one seed in every row, so additive noise shifts every row mean by
    # the same amount, which no index sees
    sweep = run_sweep(m.noisy_ishigami, ISHIGAMI, "sobol", 1024, 4, seed=3, executor="serial",
                      progress=False)
    np.testing.assert_allclose(sobol(sweep, "y").to_numpy(),
                               sobol(ishigami_sweep, "y").to_numpy(), atol=1e-9)


def test_second_order_ishigami():
    sweep = run_sweep(m.ishigami, ISHIGAMI, "sobol", 1024, 1, seed=4, executor="serial",
                      progress=False, second_order=True)
    s2 = sobol_second_order(sweep, "y")
    # the only interaction is x1-x3: S2 = ST1 - S1_1 = 0.2437
    expected = {("x1", "x2"): 0.0, ("x1", "x3"): ST[0] - S1[0], ("x2", "x3"): 0.0}
    for pair, value in expected.items():
        assert abs(s2.loc[pair, "S2"] - value) <= _tolerance(s2.loc[pair, "S2_conf"])
    with pytest.raises(AnalysisError, match="sampled without second_order=True"):
        sobol_second_order(run_sweep(m.ishigami, ISHIGAMI, "sobol", 8, 1, seed=4,
                                     executor="serial", progress=False), "y")


def test_morris_finds_inert_parameter():
    space = Space({"a": (0.0, 1.0), "b": (0.0, 2.0), "c": (0.0, 1.0)})
    sweep = run_sweep(m.linear, space, "morris", 20, 3, seed=5, executor="serial",
                      progress=False)
    idx = morris(sweep, "y")
    assert list(idx.columns) == ["mu_star", "mu_star_conf", "sigma", "mu"]
    # effects per unit of each range: a: 2 x 1, b: 1 x 2, c: 0 (noise cancels by CRN)
    np.testing.assert_allclose(idx["mu_star"], [2.0, 2.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(idx["sigma"], 0.0, atol=1e-9)
    nonlinear = Space({"x1": (-PI, PI), "x2": (-PI, PI), "x3": (-PI, PI), "x4": (0.0, 1.0)})
    idx = morris(run_sweep(m.ishigami4, nonlinear, "morris", 30, 1, seed=5, executor="serial",
                           progress=False), "y")
    assert idx.loc["x4", "mu_star"] == 0.0
    assert idx.loc[["x1", "x2", "x3"], "mu_star"].min() > 1.0
    assert idx.loc["x3", "sigma"] > 1.0  # x3 acts only through its interaction with x1


def test_pawn_on_lhs_ranks_inputs():
    space = Space({"a": (0.0, 1.0), "b": (0.0, 1.0), "c": (0.0, 1.0)})
    sweep = run_sweep(m.linear, space, "lhs", 300, 1, seed=6, executor="serial", progress=False)
    idx = pawn(sweep, "y", num_resamples=20)
    assert list(idx.columns) == ["median", "median_conf", "mean", "minimum", "maximum"]
    assert idx.loc["a", "median"] > idx.loc["b", "median"] > idx.loc["c", "median"]
    assert idx.loc["a", "median"] - idx.loc["a", "median_conf"] > idx.loc["c", "median"]
    assert (idx["median_conf"] > 0).all()


def test_convergence_nested_subsets(ishigami_sweep):
    conv = convergence(ishigami_sweep, "y", num_resamples=200)
    assert sorted(set(conv["n"])) == [4, 8, 16, 32, 64, 128, 256, 512, 1024]
    full = conv[conv["n"] == 1024].set_index("parameter")
    direct = sobol(ishigami_sweep, "y", num_resamples=200)
    np.testing.assert_allclose(full[["S1", "ST"]].to_numpy(), direct[["S1", "ST"]].to_numpy())
    # intervals shrink roughly as 1/sqrt(n)
    conf = conv.groupby("n")["ST_conf"].mean()
    assert conf[1024] < conf[64] / 2
    with pytest.raises(AnalysisError, match="sobol size 100 must be a power of 2"):
        convergence(ishigami_sweep, "y", sizes=[100])


def test_time_resolved_and_table():
    space = Space({"a": (0.0, 1.0), "b": (0.0, 1.0), "c": (0.0, 1.0)})
    sweep = run_sweep(m.linear, space, "sobol", 64, 2, seed=8, executor="serial", progress=False)
    by_month = time_resolved(sweep, "z", num_resamples=100).set_index(["month", "parameter"])
    assert sorted({mo for mo, _ in by_month.index}) == [12, 24]
    # z@12 is a + 0.1 b, z@24 is 0.1 a + b: ST = 1 / 1.01 and 0.01 / 1.01
    assert by_month.loc[(12, "a"), "ST"] > 0.9
    assert by_month.loc[(12, "b"), "ST"] < 0.1
    assert by_month.loc[(24, "b"), "ST"] > 0.9
    assert by_month.loc[(24, "a"), "ST"] < 0.1
    tab = table(sweep)
    assert list(tab.columns) == ["y", "noise"]
    assert list(tab.index) == ["a", "b", "c"]
    with pytest.raises(AnalysisError, match=r"no 'y@<month>' outputs in the sweep"):
        time_resolved(sweep, "y")
    with pytest.raises(AnalysisError, match="needs a morris design; this sweep is sobol"):
        morris(sweep, "y")
    with pytest.raises(AnalysisError, match="output 'w' is unknown; allowed: y, z@12"):
        sobol(sweep, "w")


def test_constant_output_gives_nan_not_an_error():
    space = Space({"a": (0.0, 1.0), "b": (0.0, 1.0), "c": (0.0, 1.0)})
    sweep = run_sweep(m.linear, space, "sobol", 8, 1, seed=1, executor="serial", progress=False)
    constant = dataclasses.replace(sweep, results=sweep.results.assign(const=1.0))
    assert sobol(constant, "const").isna().all().all()
    assert np.isfinite(sobol(constant, "y")["S1"]).all()
