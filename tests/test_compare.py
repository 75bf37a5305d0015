"""Paired comparisons with common random numbers."""

import numpy as np
import pandas as pd
import pytest
import sweep_models as m
from scipy import stats

from analysis.compare import compare, compare_arms, run_arms
from analysis.errors import AnalysisError
from analysis.plots import forest, save

A = (m.scaled_noise, {"a": 1.0, "b": 0.0})
B = (m.scaled_noise, {"a": 2.0, "b": 0.5})


def test_paired_differences_match_a_paired_t_test():
    runs_a, runs_b = run_arms(A, B, replicates=200, seed=4, executor="serial")
    # common random numbers: both arms used the same seeds
    assert runs_a["seed"].equals(runs_b["seed"])
    table = compare(A, B, replicates=200, seed=4, executor="serial")
    row = table.loc["y"]
    d = runs_b["y"] - runs_a["y"]  # = 0.5 + eps
    assert row["diff"] == pytest.approx(d.mean())
    assert row["sd_diff"] == pytest.approx(d.std(ddof=1))
    assert row["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))
    t = stats.ttest_rel(runs_b["y"], runs_a["y"])
    assert row["p_value"] == pytest.approx(t.pvalue)
    low, high = t.confidence_interval(0.95)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    # the truth (0.5) is inside the interval, and the interval is about 2 * 1.96 / sqrt(200)
    assert row["ci_low"] < 0.5 < row["ci_high"]
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * 1.97 / np.sqrt(200), rel=0.2)
    assert int(row["n"]) == 200


def test_identical_outcome_collapses():
    table = compare(A, B, replicates=10, seed=4, executor="serial")
    same = table.loc["same"]
    assert same["diff"] == 0.0
    assert same["ci_low"] == same["ci_high"] == 0.0
    assert same["d_z"] == 0.0
    assert same["p_value"] == 1.0


def test_processes_equal_serial_and_figure(tmp_path):
    serial = compare(A, B, replicates=30, seed=2, executor="serial")
    procs = compare(A, B, replicates=30, seed=2, executor="processes", workers=2)
    assert serial.equals(procs)
    path = save(forest(serial, "B vs A"), tmp_path / "forest.png")
    assert path.stat().st_size > 5_000
    assert not list(tmp_path.glob(".tmp-*"))


def test_refusals():
    with pytest.raises(AnalysisError, match="replicates must be an integer >= 2"):
        compare(A, B, replicates=1, executor="serial")
    with pytest.raises(AnalysisError, match="arm B must be a model or"):
        compare(A, ("x", {}), replicates=3, executor="serial")
    with pytest.raises(AnalysisError, match="outcome 'z' is unknown; allowed: y, same"):
        compare(A, B, replicates=3, executor="serial", outcomes=["z"])


C = (m.scaled_noise, {"a": 0.5, "b": -1.0})


class Counting:
    """A model that counts its calls (serial executor: in this process)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, params: dict, seed: int) -> dict[str, float]:
        self.calls += 1
        return m.scaled_noise(params, seed)


def test_several_arms_each_against_the_first_in_one_fan_out():
    counting = Counting()
    arms = {"base": (counting, A[1]), "more": (counting, B[1]), "less": (counting, C[1])}
    result = compare_arms(arms, replicates=40, seed=4, executor="serial")
    assert counting.calls == 3 * 40  # the first arm runs once, not once per comparison
    assert result.reference == "base"
    assert list(result.table.index.names) == ["arm", "outcome"]
    assert list(result.table.index.get_level_values("arm").unique()) == ["more", "less"]
    # each arm's rows are exactly the two-arm comparison with the first
    for label, arm in (("more", B), ("less", C)):
        pd.testing.assert_frame_equal(result.table.loc[label],
                                      compare(A, arm, replicates=40, seed=4, executor="serial"),
                                      check_exact=True)
    # the paired runs: one row per (arm, replicate), one seed per replicate in every arm
    runs = result.runs
    assert list(runs.index.names) == ["arm", "replicate"]
    assert len(runs) == 3 * 40
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()
    d = runs.loc["less", "y"] - runs.loc["base", "y"]
    assert result.table.loc[("less", "y"), "diff"] == pytest.approx(d.mean())


def test_several_arms_on_processes_equal_serial():
    serial = compare_arms([A, B, C], replicates=12, seed=3, executor="serial")
    procs = compare_arms([A, B, C], replicates=12, seed=3, executor="processes", workers=2)
    pd.testing.assert_frame_equal(serial.table, procs.table, check_exact=True)
    pd.testing.assert_frame_equal(serial.runs, procs.runs, check_exact=True)
    assert list(serial.table.index.get_level_values("arm").unique()) == ["B", "C"]
    only = compare_arms([A, B, C], replicates=3, seed=3, executor="serial", outcomes=["y"])
    assert list(only.table.index) == [("B", "y"), ("C", "y")]


def test_several_arms_refusals():
    with pytest.raises(AnalysisError, match="needs at least two arms, got 1"):
        compare_arms([A], replicates=3, executor="serial")
    with pytest.raises(AnalysisError, match="arm C must be a model or"):
        compare_arms([A, B, "x"], replicates=3, executor="serial")
    with pytest.raises(AnalysisError, match="outcome 'z' is unknown; allowed: y, same"):
        compare_arms([A, B, C], replicates=3, executor="serial", outcomes=["z"])


# -- pairs over parameter sets: (set, seed) pairs, clustered intervals, the split ---------------

EFFECT = {10: 0.0, 11: 1.0, 12: 2.0, 13: 3.0}
"""B - A in each parameter set: the effect depends on what we do not know about the world."""


def set_arm(params, seed):
    noise = float(np.random.default_rng(seed).normal())
    lift = params.get("b", 0.0) * EFFECT[params["parameter_set"]]
    return {"y": 5.0 + noise + lift, "flat": 1.0}


def test_pairs_over_parameter_sets_use_the_set_means():
    from analysis.compare import paired_split, paired_summary, run_all_arms

    shared = [{"parameter_set": 10 + r % 4} for r in range(40)]
    runs = run_all_arms([(set_arm, {}), (set_arm, {"b": 1.0})], 40, seed=2, executor="serial",
                        progress=False, replicate_params=shared)
    a, b = runs["A"], runs["B"]
    assert list(a.columns[:2]) == ["seed", "parameter_set"]
    assert a["parameter_set"].tolist() == [10 + r % 4 for r in range(40)]
    assert a["seed"].equals(b["seed"])
    assert a["seed"].nunique() == 40
    clustered = paired_summary(a, b, by="parameter_set").loc["y"]
    naive = paired_summary(a, b).loc["y"]
    assert "parameter_set" not in paired_summary(a, b, by="parameter_set").index
    # The interval is the t interval over the 4 sets' mean differences (3 degrees of freedom) ...
    means = (b["y"] - a["y"]).groupby(a["parameter_set"]).mean()
    half = stats.t.ppf(0.975, 3) * means.std(ddof=1) / 2
    assert clustered["ci_high"] - clustered["diff"] == pytest.approx(half)
    assert clustered["diff"] == pytest.approx(1.5)  # common random numbers: noise cancels
    # ... far wider than counting 40 pairs as 40 independent worlds
    assert clustered["ci_high"] - clustered["ci_low"] > 5 * (naive["ci_high"] - naive["ci_low"])
    split = paired_split(a, b, outcomes=["y", "flat"])
    assert split.loc[("diff", "y"), "share_between"] == pytest.approx(1.0)  # all from the sets
    assert split.loc[("a", "y"), "share_between"] < 0.5  # arm A's level: chance only
    with pytest.raises(AnalysisError, match="replicate_params has 3 entries for 40"):
        run_all_arms([(set_arm, {}), (set_arm, {})], 40, executor="serial",
                     replicate_params=shared[:3])
