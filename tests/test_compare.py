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
