"""Paired comparisons with common random numbers."""

import numpy as np
import pytest
import sweep_models as m
from scipy import stats

from analysis.compare import compare, run_arms
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
