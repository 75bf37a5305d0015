"""Validation over a posterior ensemble: units, variance parts, Holm, power, P6, the command.

Model runs here are few and short (a hand-written three-row ensemble, two seeds each, 24
months): the statistics are tested on synthetic tables whose answers are known.
"""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hourglass import validation_stats as vs
from hourglass.cli import main as cli
from hourglass.targets import load_targets
from hourglass.validation import (
    Criterion,
    PatternModel,
    calibration_targets,
    col,
    correct,
    criteria,
    r_squared,
    run_ensemble,
)
from simulation import Scenario

SHORT = ["--set", "run.months=24", "--workers", "2", "--no-progress"]


@pytest.fixture
def ensemble(tmp_path):
    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"peers.time_to_engage": [0.4, 0.6, 0.8],
                  "levers.share_forward": [0.3, 0.5, 0.7],
                  "weight": [1.0, 1.0, 1.0]}).to_parquet(path)
    return path


# -- statistics ---------------------------------------------------------------------------------

def test_holm_matches_the_step_down_by_hand():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, then 0.04 x 1 -> max 0.06
    reject, adjusted = vs.holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    assert np.allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert reject.tolist() == [True, False, False, True]
    with pytest.raises(ValueError, match="finite"):
        vs.holm([0.01, np.nan])


def test_one_sided_t_p_value_is_scipys():
    x = np.array([0.3, 0.1, 0.25, 0.4, 0.05, 0.2])
    ours = vs.p_one_sided_t(x, 0.1, ">")
    assert ours == pytest.approx(stats.ttest_1samp(x, 0.1, alternative="greater").pvalue)
    assert vs.p_one_sided_t(x, 0.1, "<") == pytest.approx(
        stats.ttest_1samp(x, 0.1, alternative="less").pvalue)
    assert vs.p_one_sided_t(x[:1], 0.0, ">") == 1.0  # one unit shows nothing


def test_bootstrap_p_value_counts_the_wrong_side():
    boot = np.array([0.1, 0.2, -0.1, 0.3])
    assert vs.p_one_sided_bootstrap(0.2, boot, 0.0, ">") == pytest.approx(2 / 5)
    assert vs.p_one_sided_bootstrap(np.nan, boot, 0.0, ">") == 1.0


def test_units_for_power_is_the_smallest_enough():
    from statsmodels.stats.power import TTestPower

    solver = TTestPower()
    for sd in (0.05, 0.1, 0.3):
        n = vs.units_for_power(sd, effect=0.02, alpha=0.025 / 7, power=0.8)
        assert solver.power(0.02 / sd, n, 0.025 / 7, alternative="larger") >= 0.8
        assert solver.power(0.02 / sd, n - 1, 0.025 / 7, alternative="larger") < 0.8
        normal = ((stats.norm.ppf(1 - 0.025 / 7) + stats.norm.ppf(0.8)) * sd / 0.02) ** 2
        assert normal <= n <= 1.1 * normal  # the t law's heavier tails ask a few more
    assert vs.units_for_power(0.0) == 2
    assert math.isnan(vs.units_for_power(np.nan))


def test_seeds_per_set_is_cochrans_allocation():
    assert vs.seeds_per_set(between=1.0, within=16.0) == 4
    assert vs.seeds_per_set(between=1.0, within=0.5) == 2
    assert math.isinf(vs.seeds_per_set(between=0.0, within=1.0))


# -- units and the two parts of the variance ----------------------------------------------------

def _ensemble_frame(sets=6, seeds=5, spread=1.0, noise=0.5, seed=0):
    rng = np.random.default_rng(seed)
    centres = 2.0 + spread * rng.standard_normal(sets)
    rows = [{"parameter_set": s, "x": centres[s] + noise * rng.standard_normal(),
             "d": 1.0 + rng.random()} for s in range(sets) for _ in range(seeds)]
    return pd.DataFrame(rows)


def test_over_an_ensemble_the_unit_is_a_parameter_set():
    from analysis.uncertainty import variance_split

    frame = _ensemble_frame()
    c = Criterion("P0", "x", "x > 0", ">", 0.0, col("x"))
    found = c.test(frame)
    means = frame.groupby("parameter_set")["x"].mean()
    assert found["units"] == 6
    half = stats.t.ppf(0.975, 5) * means.std(ddof=1) / np.sqrt(6)
    assert found["ci_high"] - found["value"] == pytest.approx(half)
    split = variance_split(frame, "x", bootstrap=10)
    assert found["between"] == pytest.approx(split["between"])
    assert found["within"] == pytest.approx(split["within"])
    assert found["posterior_share"] == 1.0
    # the same runs read as replicates of one parameter set: the unit is the run
    alone = c.test(frame.drop(columns="parameter_set"))
    assert alone["units"] == 30
    assert np.isnan(alone["between"])
    assert alone["within"] == pytest.approx(frame["x"].var())


def test_a_ratio_over_an_ensemble_resamples_parameter_sets():
    frame = _ensemble_frame(sets=4, seeds=3)
    c = Criterion("P0", "r", "x / d > 0", ">", 0.0, col("x"), col("d"), kind="ratio")
    found = c.test(frame)
    assert found["units"] == 4
    assert found["value"] == pytest.approx(frame["x"].sum() / frame["d"].sum())
    assert found["ci_low"] <= found["value"] <= found["ci_high"]
    assert np.isfinite(found["between"])
    assert np.isfinite(found["within"])


def test_correct_applies_holm_to_held_out_criteria_only():
    table = pd.DataFrame({
        "pattern": ["P0"] * 4, "criterion": list("abcd"),
        "p_value": [0.02, 0.02, 0.001, 0.02], "holds": [True] * 4,
        "sd_unit": [0.1] * 4, "between": [np.nan] * 4, "within": [0.01] * 4,
    })
    out = correct(table, ["held-out", "held-out", "held-out", "verification"], alpha=0.025)
    # alone each held (p < 0.025); Holm: 0.001 x 3 holds, 0.02 x 2 = 0.04 does not
    assert out["holds"].tolist() == [False, False, True, True]
    assert out["holds_alone"].all()
    assert out["p_holm"].tolist()[:3] == pytest.approx([0.04, 0.04, 0.003])
    assert np.isnan(out["p_holm"].iloc[3])
    # the family's tests plan for Holm's strictest level, the others for alpha
    strict = vs.units_for_power(0.1, vs.EFFECT, 0.025 / 3, vs.POWER)
    assert out["units_needed"].tolist() == [strict] * 3 + [
        vs.units_for_power(0.1, vs.EFFECT, 0.025, vs.POWER)]


def test_calibration_targets_pool_runs_as_ratios_of_sums():
    frame = pd.DataFrame({"counts.p4_learners": [10.0, 30.0, 0.0],
                          "counts.p4_multi_tool": [1.0, 0.5, np.nan],
                          "base.engaged": [1.0, 1.0, 1.0]})
    found = calibration_targets(frame).set_index("target")
    target = load_targets()["p4_multi_tool"]
    assert found.loc["p4_multi_tool", "model"] == pytest.approx((10 + 15) / 40)
    assert found.loc["p4_multi_tool", "deviation"] == pytest.approx(
        (0.625 - target.value) / target.tolerance)
    assert not found.loc["p4_multi_tool", "within"]
    assert np.isnan(found.loc["f2_matched", "model"])  # not counted here: not a pass


def test_canvassing_commitment_is_per_participating_official():
    """Stage 1 is a share of organisations now: commitment is learning per participant."""
    frame = pd.DataFrame({
        "base.engaged": [1.0] * 3, "base.participants": [0.8] * 3,
        "base.practical_learning": [0.08, 0.08, 0.08],
        "canvass.engaged": [1.0] * 3, "canvass.participants": [0.4, 0.4, 0.4],
        "canvass.practical_learning": [0.06, 0.061, 0.059],
    })
    c = next(c for c in criteria(Scenario.load("baseline")) if c.name == "canvass_committed")
    found = c.test(frame)
    # 0.15 per participant against 0.10 (per organisation engaged it would fall: 0.06 < 0.08)
    assert found["value"] == pytest.approx(0.05)
    assert c.holds(found["ci_low"], found["ci_high"])


# -- P6 on the population of initiatives --------------------------------------------------------

def test_r_squared():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, 2))
    assert r_squared(2 * x[:, 0] + 1, x) == pytest.approx(1.0)
    assert r_squared(rng.standard_normal(200), x) < 0.1
    assert np.isnan(r_squared(np.ones(5), rng.standard_normal((5, 1))))
    assert np.isnan(r_squared(rng.standard_normal(5), np.empty((5, 0))))


def _initiatives(reported_tracks_learning, n=120, seed=4):
    rng = np.random.default_rng(seed)
    learning = rng.random(n) * 0.3
    change = 0.5 * learning + 0.01 * rng.standard_normal(n)
    attendance = learning * 2 if reported_tracks_learning else rng.random(n)
    return pd.DataFrame({
        "base.practical_learning": learning, "base.orgs_changed": change + 0.02,
        "cf.orgs_changed": np.full(n, 0.02), "base.reported.reported_attendance": attendance,
        "base.reported.events_held": rng.integers(1, 9, n).astype(float),
    })


@pytest.mark.parametrize("tracks", [False, True])
def test_p6_reads_what_facilitators_report_across_initiatives(tracks):
    frame = _initiatives(tracks)
    p6 = {c.name: c for c in criteria(Scenario.load("baseline")) if c.kind == "population"}
    assert set(p6) == {"reported_says_little_learning", "reported_says_little_change",
                       "learning_says_more"}
    for c in p6.values():
        found = c.test(frame, seed=1)
        assert c.holds(found["ci_low"], found["ci_high"]) is not tracks, (c.name, found)


def test_p6_leaves_out_initiatives_whose_evaluation_shows_no_activity():
    """Metrics that would track learning perfectly, but only where nothing is reported."""
    frame = _initiatives(False)
    hidden = np.arange(len(frame)) % 2 == 0
    frame.loc[hidden, "base.reported.reported_attendance"] = (
        frame.loc[hidden, "base.practical_learning"] * 2)
    frame.loc[~hidden, "base.reported.reported_attendance"] *= 0.05  # noise, little spread
    frame["base.reports_activity"] = (~hidden).astype(float)
    c = next(c for c in criteria(Scenario.load("baseline"))
             if c.name == "reported_says_little_learning")
    found = c.test(frame, seed=1)
    assert c.holds(found["ci_low"], found["ci_high"]), found
    frame["base.reports_activity"] = 1.0  # every evaluation shows them: the metrics track
    assert c.test(frame, seed=1)["value"] > found["value"] + 0.2


def test_p6_without_reported_metrics_is_undefined_not_a_pass():
    frame = _initiatives(False).drop(columns=["base.reported.reported_attendance",
                                              "base.reported.events_held"])
    c = next(c for c in criteria(Scenario.load("baseline"))
             if c.name == "reported_says_little_learning")
    found = c.test(frame)
    assert np.isnan(found["value"])
    assert found["p_value"] == 1.0
    assert not c.holds(found["ci_low"], found["ci_high"])


# -- running over an ensemble -------------------------------------------------------------------

def test_a_held_key_keeps_the_scenarios_value(ensemble):
    """A key the user fixes (or the scenario sets its own way) is not replaced by the sets."""
    held = PatternModel("baseline", {"peers.time_to_engage": 0.5}, parameter_sets=ensemble,
                        held=["peers.time_to_engage"])
    scenario = held.scenario({"parameter_set": 2})
    assert scenario["peers.time_to_engage"] == 0.5
    assert scenario["levers.share_forward"] == 0.7  # the set's other keys still apply


def test_run_ensemble_applies_each_row_with_seeds_of_its_own(ensemble):
    model = PatternModel("baseline", {"run.months": 12}, parameter_sets=ensemble)
    assert model.scenario({"parameter_set": 2})["peers.time_to_engage"] == 0.8
    frame = run_ensemble(model, [0, 2], 2, seed=5, workers=1, progress=False)
    assert frame["parameter_set"].tolist() == [0, 0, 2, 2]
    assert frame["seed"].nunique() == 4


def test_validate_over_a_posterior_splits_the_variance(ensemble, tmp_path, capsys):
    out = tmp_path / "v"
    assert cli(["validate", "--posterior", str(ensemble), "--replicates", "2", "--out",
                str(out), *SHORT]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "posterior"
    assert summary["parameter_sets"] == 3
    assert summary["runs"] == 6
    runs = pd.read_csv(out / "replicates.csv")
    assert sorted(runs["parameter_set"].unique()) == [0, 1, 2]
    table = pd.read_csv(out / "validation.csv")
    held = table[table["kind"] == "held-out"]
    assert held["p_holm"].notna().all()
    assert table.loc[table["kind"] != "held-out",
                                                     "p_holm"].isna().all()
    assert {"between", "within", "units_needed"} <= set(table.columns)
    targets = pd.read_csv(out / "targets.csv")
    assert set(targets["target"]) == set(load_targets())
    assert "calibration targets (not validation): " in printed
    assert "held-out validation: " in printed
    assert "after Holm's correction" in printed
    assert "replicates (power): " in printed
    assert "parameter sets used" in printed
    # --set of a key the ensemble sets keeps the user's value (said in one line)
    out2 = tmp_path / "v2"
    assert cli(["validate", "--posterior", str(ensemble), "--replicates", "2", "--sets", "2",
                "--set", "levers.share_forward=0.2", "--out", str(out2), *SHORT]) == 0
    assert "kept as baseline or --set sets them" in capsys.readouterr().out
    assert json.loads((out2 / "summary.json").read_text())["held"] == ["levers.share_forward"]


def test_validate_falls_back_to_point_defaults_in_one_line(monkeypatch, tmp_path, capsys,
                                                           ensemble):
    from hourglass import calibration

    monkeypatch.setattr(calibration, "shipped_posterior", lambda: None)
    out = tmp_path / "v"
    assert cli(["validate", "--replicates", "2", "--out", str(out), *SHORT]) == 0
    printed = capsys.readouterr().out
    said = [line for line in printed.splitlines() if "no posterior ships yet" in line]
    assert len(said) == 1
    assert "point values" in said[0]
    assert json.loads((out / "summary.json").read_text())["mode"] == "point defaults"
    # once a posterior ships, it is the default
    monkeypatch.setattr(calibration, "shipped_posterior", lambda: ensemble)
    out2 = tmp_path / "v2"
    assert cli(["validate", "--replicates", "2", "--sets", "2", "--out", str(out2),
                *SHORT]) == 0
    assert "no posterior ships yet" not in capsys.readouterr().out
    summary = json.loads((out2 / "summary.json").read_text())
    assert summary["mode"] == "posterior"
    assert summary["parameter_sets"] == 2


@pytest.mark.parametrize(("make", "extra", "message"), [
    (None, [], "no such file"),
    ("text", [], "not a Parquet file"),
    ("one_row", [], "needs at least 2 parameter sets"),
    ("bad_key", [], "peers.no_such_key"),
    ("out_of_range", [], "peers.time_to_engage"),
    ("good", ["--point-defaults"], "not allowed with argument --posterior"),
])
def test_validate_refuses_a_bad_posterior_before_running(tmp_path, capsys, make, extra,
                                                         message):
    path = tmp_path / "p.parquet"
    if make == "text":
        path.write_text("not parquet")
    elif make == "one_row":
        pd.DataFrame({"peers.time_to_engage": [0.5]}).to_parquet(path)
    elif make == "bad_key":
        pd.DataFrame({"peers.no_such_key": [0.5, 0.6]}).to_parquet(path)
    elif make == "out_of_range":
        pd.DataFrame({"peers.time_to_engage": [0.5, 7.0]}).to_parquet(path)
    elif make == "good":
        pd.DataFrame({"peers.time_to_engage": [0.5, 0.6]}).to_parquet(path)
    code = cli(["validate", "--posterior", str(path), *extra, "--out", str(tmp_path / "v"),
                *SHORT])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3
    assert not (tmp_path / "v").exists()
