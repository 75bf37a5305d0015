"""Pattern criteria P1-P9 on a fixed set of seeds (the reduced form of ``make validate``).

The verification checks (true by construction: hourglass/targets.toml [classification]) are
tests of the code and must hold here. Held-out criteria are findings about the model, reported by
``hourglass validate`` and docs/validation.md: here only that they are computed, never their
verdict (a test asserting them would tune the model to its own validation).
"""

import json

import numpy as np
import pandas as pd
import pytest

from hourglass.cli import main as cli
from hourglass.targets import classification
from hourglass.validation import Criterion, PatternModel, criteria, evaluate, run_replicates
from simulation import Scenario

REPLICATES = 12
# Effects small against their replicate spread at 12 replicates: here the 95 % interval must not
# contradict the pattern (lie wholly on the wrong side of the threshold); whether it holds on its
# whole interval is `make validate`'s verdict (see docs/validation.md).
NOT_REFUTED_ONLY = {
    "contracts_sustain", "report_backs_apply", "dissemination_widens_reach",
    "contracts_apply", "both_high_change",
}
VERIFICATION = sorted(name.split(":")[1] for name, kind in classification().items()
                      if kind == "verification")


@pytest.fixture(scope="module")
def table():
    frame = run_replicates(PatternModel("baseline"), REPLICATES, seed=1, workers=2)
    return evaluate(frame, Scenario.load("baseline"), seed=1).set_index("criterion")


@pytest.mark.parametrize("criterion", VERIFICATION)
def test_verification_check_on_fixed_seeds(table, criterion):
    row = table.loc[criterion]
    c = next(c for c in criteria(Scenario.load("baseline")) if c.name == criterion)
    interval = f"{criterion}: {row['value']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
    if criterion in NOT_REFUTED_ONLY:
        # the interval must not lie wholly on the wrong side (a sign-fixed effect may be too
        # rare to show in 12 replicates of a population, never reversed)
        wrong = row["ci_high"] < c.threshold if c.op == ">" else row["ci_low"] > c.threshold
        assert not wrong, interval
    else:
        assert row["holds"], interval


def test_every_criterion_is_computed(table):
    """Every criterion gets a value and a one-sided p-value (held-out ones: their verdict is not
    asserted; a NaN value is an undefined statistic, reported as failing)."""
    assert set(table.index) == {c.name for c in criteria(Scenario.load("baseline"))}
    tested = table[table["value"].notna() & (table["ci_low"] != table["ci_high"])]
    assert tested["p_value"].between(0, 1).all()
    assert not table.loc[table["value"].isna(), "holds"].any()


def test_every_pattern_is_encoded():
    assert {c.pattern for c in criteria(Scenario.load("baseline"))} | {"P6"} == {
        f"P{i}" for i in range(1, 10)
    } | {"DRC"}  # and the one case study with a held-out ordering (docs/validation.md)


def test_the_dr_congo_case_packs_the_same_uses_into_fewer_months_in_the_baselines_world():
    from hourglass.validation import CASE_DRC, DRC_PACKED, PatternModel, _arms
    from simulation import load_tools

    model = PatternModel(parameter_sets="hourglass/posterior/posterior.parquet")
    world = model.scenario({"parameter_set": 3})
    arms = _arms(world)
    sustained, hurried = arms["drc_sustained"], arms["drc_hurried"]
    case, baseline = Scenario.load(CASE_DRC), Scenario.load("baseline")
    assert sustained["run.months"] == hurried["run.months"] == case["run.months"] == 96
    assert hurried["initiative.months"] == 64
    assert sustained["initiative.months"] == 0
    for tool in load_tools():  # the same expected uses: intensity x months of tools
        key = f"tools.{tool.name}"
        assert sustained[key] == case[key]
        assert hurried[key] * 64 == pytest.approx(sustained[key] * 96)
        assert hurried[key] == pytest.approx(sustained[key] * DRC_PACKED)
    moved = [k for k in world.values if world[k] != baseline[k]]  # noqa: PD011 - a dict
    assert len(moved) > 20  # a parameter set of the posterior
    for key in moved:  # the set's world, but for what the case sets itself
        assert sustained[key] == (case[key] if case[key] != baseline[key] else world[key])
    assert "drc_sustained" not in _arms(Scenario.load("georgia_matched_inhouse"))
    assert "sustained_beats_hurried" not in {
        c.name for c in criteria(Scenario.load("georgia_matched_inhouse"))}


def test_a_criterion_can_fail():
    frame = pd.DataFrame({"a": np.array([0.1, 0.2, 0.15, 0.05]), "b": np.zeros(4)})
    above = Criterion("P0", "x", "a - b > 0", ">", 0.0, lambda f: f["a"] - f["b"])
    below = Criterion("P0", "y", "a - b < 0", "<", 0.0, lambda f: (f["a"] - f["b"]).to_numpy())
    _, low, high = above.estimate(frame)
    assert above.holds(low, high)
    assert not below.holds(*below.estimate(frame)[1:])
    ratio = Criterion("P0", "r", "a / b", ">", 1.0, lambda f: f["a"].to_numpy(),
                      lambda f: f["b"].to_numpy(), kind="ratio")
    assert np.isnan(ratio.estimate(frame)[0])  # zero denominator: undefined, not a pass
    assert not ratio.holds(*ratio.estimate(frame)[1:])


def test_p7_fails_when_peers_share_without_being_asked():
    """A scenario in which the 'share_forward = 0' arm still changes organisations must fail P7."""
    frame = pd.DataFrame({"sf0.orgs_changed": [0.2, 0.3, 0.25], "sf0_cf.orgs_changed": [0.0] * 3})
    name = "no_share_forward_no_change"
    c = next(c for c in criteria(Scenario.load("baseline")) if c.name == name)
    assert not c.holds(*c.estimate(frame)[1:])


def test_validate_command_writes_table_and_figure(tmp_path, capsys):
    out = tmp_path / "validation"
    assert cli(["validate", "--point-defaults", "--quick", "--replicates", "3", "--out", str(out),
                "--workers", "2", "--set", "run.months=24"]) == 0
    captured = capsys.readouterr()
    err = captured.err
    # the runs show with the time left (the engine's bar)
    assert "validate: replicates" in err
    assert "<?" in err or "<00:" in err
    assert "no posterior ships" not in captured.out  # the point defaults were asked for
    table = pd.read_csv(out / "validation.csv")
    assert {"pattern", "criterion", "kind", "value", "ci_low", "ci_high", "holds"} <= set(
        table.columns)
    # only held-out criteria count as validation; the rest are reported apart, never summed in
    summary = json.loads((out / "summary.json").read_text())
    assert summary["held-out_criteria"] == (table["kind"] == "held-out").sum() > 0
    assert summary["verification_criteria"] == (table["kind"] == "verification").sum() > 0
    assert "held-out validation: " in captured.out
    assert set(table["pattern"]) == {f"P{i}" for i in range(1, 10)} | {"DRC"}
    assert (out / "validation.png").stat().st_size > 0
    assert json.loads((out / "summary.json").read_text())["replicates"] == 3


def test_validate_refuses_one_replicate(tmp_path, capsys):
    assert cli(["validate", "--point-defaults", "--replicates", "1",
                "--out", str(tmp_path / "v")]) == 2
    assert "--replicates: expected a whole number >= 2, got '1'" in capsys.readouterr().err


def test_filter_reports_ranges_of_accepted_points(capsys):
    from hourglass.validation import assumption_space, filter_assumptions

    space = assumption_space()
    assert "home_organisations.background_adoption" in space.names
    assert not any(n.startswith(("run.", "population.")) for n in space.names)
    result = filter_assumptions(4, 1, seed=2, workers=2, overrides={"run.months": 24},
                                progress=True)
    assert "validate: filter" in capsys.readouterr().err
    points, ranges = result["points"], result["ranges"]
    assert len(points) == 4
    assert set(ranges["parameter"]) == set(space.names)
    accepted = points[points["accepted"]]
    for _, r in ranges.iterrows():
        assert r["explored_low"] <= r["scenario_value"] <= r["explored_high"]
        if len(accepted):
            assert r["accepted_low"] == accepted[r["parameter"]].min()


def test_every_criterion_is_classified_once():
    from hourglass.commands.validate import KINDS
    from hourglass.targets import KINDS as TARGET_KINDS

    assert set(KINDS) == set(TARGET_KINDS)
    kinds = classification()
    names = {f"{c.pattern}:{c.name}" for c in criteria(Scenario.load("baseline"))}
    assert names == set(kinds), names ^ set(kinds)
    assert set(kinds.values()) <= set(KINDS)


def test_an_unclassified_criterion_is_refused():
    from hourglass.commands.validate import kinds_of
    from simulation.errors import HourglassError

    table = pd.DataFrame({"pattern": ["P0"], "criterion": ["made_up"]})
    with pytest.raises(HourglassError, match="does not name 'P0:made_up'"):
        kinds_of(table)
