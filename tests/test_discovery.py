"""Scenario discovery: replicate-aware shares and intervals, PRIM on a planted box, the command."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy import stats

from analysis import load_sweep
from analysis.seeds import replicate_seeds
from analysis.sweep import run_sweep
from hourglass.cli import main
from hourglass.discovery import (
    Target,
    discover,
    parse_target,
    proportion_interval,
    replicate_shares,
)
from simulation.errors import HourglassError

REPLICATES = 4
SEEDS = replicate_seeds(1, REPLICATES)


def first_k_replicates(params: dict, seed: int) -> dict[str, float]:
    """y = 1 on the first k replicates of a row, 0 on the rest: a row's share is k / 4 exactly."""
    return {"y": float(SEEDS.index(seed) < params["k"])}


A_LOW, B_HIGH = 0.6, 0.4
P_IN, P_OUT = 0.9, 0.05


def planted(params: dict, seed: int) -> dict[str, float]:
    """Meets y >= 1 with chance 0.9 inside the box a > 0.6 and b < 0.4, 0.05 outside; c is inert."""
    inside = params["a"] > A_LOW and params["b"] < B_HIGH
    u = np.random.default_rng(seed).random()
    return {"y": float(u < (P_IN if inside else P_OUT)), "c_echo": params["c"]}


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("planted") / "store"
    run_sweep(planted, {"a": (0.0, 1.0), "b": (0.0, 1.0), "c": (0.0, 1.0)}, "lhs", 300, 5,
              seed=3, store=store, executor="serial", progress=False,
              common_random_numbers=False)
    return store


@pytest.mark.parametrize(("text", "op", "value"), [
    (">=0.05", ">=", 0.05), ("> 0", ">", 0.0), ("<=1e-2", "<=", 0.01), (" < .5 ", "<", 0.5),
    ("==3", "==", 3.0),
])
def test_parse_target(text, op, value):
    assert parse_target(text) == Target(op, value)


@pytest.mark.parametrize("text", ["0.05", ">=", "=>0.1", ">= x", "≥0.1", ""])
def test_parse_target_refuses(text):
    with pytest.raises(HourglassError, match="--target"):
        parse_target(text)


def test_target_applies_its_comparison():
    values = np.array([0.0, 0.05, 0.1])
    assert Target(">=", 0.05)(values).tolist() == [False, True, True]
    assert Target("<", 0.05)(values).tolist() == [True, False, False]


@pytest.mark.parametrize(("method", "scipy_method"),
                         [("wilson", "wilson"), ("clopper-pearson", "exact")])
def test_interval_matches_scipy(method, scipy_method):
    hits = np.array([0, 1, 3, 7, 10, 10, 0])
    runs = np.array([10, 10, 10, 10, 10, 40, 1])
    low, high = proportion_interval(hits, runs, 0.9, method)
    for k, n, lo, hi in zip(hits, runs, low, high, strict=True):
        want = stats.binomtest(int(k), int(n)).proportion_ci(0.9, method=scipy_method)
        assert lo == pytest.approx(want.low, abs=1e-12)
        assert hi == pytest.approx(want.high, abs=1e-12)


def test_interval_refuses_bad_settings():
    with pytest.raises(HourglassError, match="--interval"):
        proportion_interval(1, 2, 0.95, "normal")
    with pytest.raises(HourglassError, match="--level"):
        proportion_interval(1, 2, 1.5)


def test_replicate_share_and_interval_on_a_constructed_case():
    sweep = run_sweep(first_k_replicates, {"k": ("int", 0, REPLICATES)}, "grid", 5, REPLICATES,
                      seed=1, executor="serial", progress=False)
    shares = replicate_shares(sweep, "y", parse_target(">=1"))
    for _, row in shares.iterrows():
        k = int(row["k"])
        assert row["runs"] == REPLICATES
        assert row["hits"] == k
        assert row["share"] == k / REPLICATES
        ci = stats.binomtest(k, REPLICATES).proportion_ci(0.95, method="wilson")
        assert row["low"] == pytest.approx(ci.low, abs=1e-12)
        assert row["high"] == pytest.approx(ci.high, abs=1e-12)
    assert sorted(shares["k"]) == list(range(REPLICATES + 1))


def test_shares_refuse_an_incomplete_sweep_and_unknown_outcome(planted_store):
    sweep = load_sweep(planted_store)
    partial = dataclasses.replace(sweep, results=sweep.results.iloc[:-1])
    with pytest.raises(HourglassError, match="finish it"):
        replicate_shares(partial, "y", parse_target(">=1"))
    with pytest.raises(HourglassError, match="--outcome 'nope'"):
        replicate_shares(sweep, "nope", parse_target(">=1"))


def test_prim_finds_the_planted_box(planted_store):
    sweep = load_sweep(planted_store)
    found = discover(sweep, "y", parse_target(">=1"))
    box = found.boxes[0]
    assert set(box.limits.index) == {"a", "b"}  # c is inert: not restricted
    assert box.limits.loc["a", "low"] == pytest.approx(A_LOW, abs=0.05)
    assert box.limits.loc["b", "high"] == pytest.approx(B_HIGH, abs=0.05)
    assert "a ≥ 0.6" in box.words
    assert "b ≤ 0.3" in box.words or "b ≤ 0.4" in box.words
    s = box.stats
    # the box's own interval: over the runs inside it, and it covers the planted chance
    low, high = proportion_interval(s["hits"], s["runs"])
    assert (s["low"], s["high"]) == (pytest.approx(low), pytest.approx(high))
    assert s["low"] < P_IN < s["high"]  # the planted chance inside
    assert s["coverage"] >= 0.5
    assert s["runs"] == s["rows"] * 5
    # rows of the box really satisfy its limits
    rows = found.shares.iloc[box.rows]
    assert (rows["a"] >= box.limits.loc["a", "low"]).all()
    assert (rows["b"] <= box.limits.loc["b", "high"]).all()
    # coverage and density on the trajectory are replicate-level
    t = box.trajectory
    assert t["coverage"].iloc[0] == pytest.approx(1.0)
    assert t["density"].iloc[0] == pytest.approx(found.overall()["share"])
    assert box.limits["quasi_p"].max() < 0.05


def test_cart_splits_on_the_planted_factors(planted_store):
    found = discover(load_sweep(planted_store), "y", parse_target(">=1"), max_depth=2)
    best = found.tree.leaves.iloc[0]
    assert best["conditions"].startswith("a > 0.6")
    assert "and b ≤ 0.4" in best["conditions"] or "and b ≤ 0.3" in best["conditions"]
    assert best["share"] > 0.8
    assert best["low"] < best["share"] < best["high"]
    assert found.tree.leaves["runs"].sum() == 1500  # every run in exactly one leaf


def test_discover_refuses_a_target_no_run_meets(planted_store):
    with pytest.raises(HourglassError, match="no run meets it"):
        discover(load_sweep(planted_store), "y", parse_target(">=2"))
    with pytest.raises(HourglassError, match="every run meets it"):
        discover(load_sweep(planted_store), "y", parse_target(">=0"))
    with pytest.raises(HourglassError, match="--factors: 'z'"):
        discover(load_sweep(planted_store), "y", parse_target(">=1"), factors=["z"])


def test_discover_command_writes_the_report(planted_store, tmp_path, capsys):
    out = tmp_path / "report"
    status = main(["discover", str(planted_store), "--outcome", "y", "--target", ">=1",
                   "--boxes", "2", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "box 1: a ≥ 0.6" in printed
    for name in ("README.md", "summary.json", "boxes.csv", "trajectory.csv", "shares.csv",
                 "tree.txt", "tree_leaves.csv", "tradeoff.png", "limits.png", "tree.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"]["runs"] == 1500
    assert summary["boxes"][0]["limits"].startswith("a ≥ 0.6")
    assert "Box 1: a ≥ 0.6" in (out / "README.md").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "0.5"], "--target '0.5'"),
    (["--outcome", "nope"], "--outcome 'nope'"),
    (["--boxes", "0"], "--boxes 0"),
    (["--level", "2"], "--level 2"),
])
def test_discover_command_refusals(planted_store, tmp_path, capsys, args, message):
    status = main(["discover", str(planted_store), "--out", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_discover_command_without_a_store(tmp_path, capsys):
    status = main(["discover", str(tmp_path / "none"), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert status == 2
    assert "no sweep store here" in err


def test_interval_holds_its_share_at_the_ends():
    for n in range(1, 41):  # rounding put Wilson's bounds past the share at n = 7, 9, 10, ...
        hits = np.arange(0, n + 1)
        runs = np.full(n + 1, n)
        for method in ("wilson", "clopper-pearson"):
            low, high = proportion_interval(hits, runs, 0.95, method)
            share = hits / runs
            assert (low <= share).all()
            assert (share <= high).all()
            assert low[0] == 0.0
            assert high[-1] == 1.0
