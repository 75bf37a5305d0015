"""The population of initiatives (simulation/initiative.py): what a run draws and records.

Shares are checked on thousands of draws of the initiative alone (no model run), with
tolerances of four binomial standard errors; the model runs are small and fixed-seed.
"""

import math

import numpy as np
import pytest
from conftest import SMALL

from simulation import PeerLearningModel, Scenario, load_tools
from simulation.errors import HourglassError
from simulation.evaluation_gap import evaluation_gap
from simulation.initiative import (
    MIN_TOOLS,
    REPORTED_METRICS,
    draw_initiative,
    initiative_stream,
    record_keys,
)
from simulation.model import _namespace

TABLE = load_tools()
NAMES = [t.name for t in TABLE]
DRAWS = 4000


def _draw(scenario, n=DRAWS):
    """n initiatives drawn as runs with seeds 0..n-1 draw them."""
    out = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        out.append(draw_initiative(_namespace(scenario), TABLE, initiative_stream(rng, seed)))
    return out


def _tol(share, n=DRAWS):
    return 4 * math.sqrt(max(share * (1 - share), 1e-4) / n)


@pytest.fixture(scope="module")
def population():
    return _draw(Scenario.load("baseline"))


def test_drawn_initiatives_use_each_tool_with_its_figure7_share(population):
    used = np.array([i.intensity > 0 for i in population])
    too_few = np.array([i.sum() == MIN_TOOLS for i in used]).mean()  # may hold a filled-in tool
    for tool, share in zip(TABLE, used.mean(axis=0), strict=True):
        low = tool.figure7_share - _tol(tool.figure7_share)
        assert low <= share <= tool.figure7_share + too_few + _tol(tool.figure7_share), tool.name
    assert set(np.unique(np.array([i.intensity for i in population]))) == {0.0, 1.0}


def test_with_even_shares_and_no_filling_the_shares_are_exact():
    scenario = Scenario.load("baseline").with_overrides(
        {**{f"tools.{n}": 0.5 for n in NAMES}, "initiative.tool_correlation": 0.0})
    used = np.array([i.intensity > 0 for i in _draw(scenario)])
    assert (used.sum(axis=1) >= MIN_TOOLS).all()
    assert np.abs(used.mean(axis=0) - 0.5).max() < _tol(0.5)


def test_every_initiative_uses_more_than_one_tool_and_never_an_unused_one(population):
    assert all((i.intensity > 0).sum() >= MIN_TOOLS for i in population)
    none = Scenario.load("no_peer_learning")
    assert all((i.intensity == 0).all() for i in _draw(none, 50))  # and the draw ends
    one = Scenario.load("no_peer_learning").with_overrides({"tools.site_visits": 0.3})
    assert all((i.intensity > 0).sum() == 1 for i in _draw(one, 50))


@pytest.mark.parametrize(("rho", "together"), [(0.0, False), (0.5, True)])
def test_tools_of_a_cluster_go_together_and_clusters_are_independent(rho, together):
    scenario = Scenario.load("baseline").with_overrides({"initiative.tool_correlation": rho})
    used = np.array([i.intensity > 0 for i in _draw(scenario)], dtype=float)
    corr = np.corrcoef(used.T)
    joint, site, expert = (NAMES.index(n) for n in
                           ("joint_peer_activities", "site_visits", "expert_group_review"))
    bound = 4 / math.sqrt(DRAWS)
    assert abs(corr[joint, expert]) < bound  # different clusters
    assert (corr[joint, site] > 0.15) if together else (abs(corr[joint, site]) < bound)


def test_duration_is_log_uniform_between_its_bounds(population):
    months = np.array([i.duration for i in population])
    assert months.min() >= 12
    assert months.max() <= 180
    assert abs(np.median(months) - math.sqrt(12 * 180)) < 3
    assert abs((months >= 60).mean() - math.log(3) / math.log(15)) < _tol(0.41)


def test_practices_follow_their_shares_and_the_scenario_is_their_floor(population):
    shares = {
        "matched": (np.mean([i.selection == "matched" for i in population]), 0.15),
        "contracts": (np.mean([i.peer_contracts == 0.8 for i in population]), 0.1),
        "logistics": (np.mean([i.logistics == 1.0 for i in population]), 0.25),
        "canvass": (np.mean([i.canvass_topics == 0.8 for i in population]), 0.1),
    }
    for name, (seen, expected) in shares.items():
        assert abs(seen - expected) < _tol(expected), name
    assert all(i.logistics >= 0.5 for i in population)  # baseline's facilitator.logistics
    matched = [i for i in population if i.selection == "matched"]
    assert all(i.matching == 0.8 for i in matched)
    floor = Scenario.load("baseline").with_overrides({"levers.peer_contracts": 0.9})
    assert all(i.peer_contracts == 0.9 for i in _draw(floor, 200))


def test_reports_follow_figure11(population):
    for metric, expected in zip(REPORTED_METRICS, (0.85, 0.6, 0.2, 0.05), strict=True):
        seen = np.mean([i.reports[metric] for i in population])
        assert abs(seen - expected) < _tol(expected), metric
    training = NAMES.index("training_sessions")
    assert not any(i.reports["training_transfer"] for i in population
                   if i.intensity[training] == 0)


def test_a_fixed_initiative_is_the_scenario():
    scenario = Scenario.load("matched_peer_review")
    for initiative in _draw(scenario, 20):
        assert initiative.draw == "fixed"
        assert list(initiative.intensity) == [scenario[f"tools.{n}"] for n in NAMES]
        assert initiative.duration == scenario["run.months"]
        assert initiative.selection == "matched"
        assert initiative.matching == scenario["levers.matching"]
    shorter = scenario.with_overrides({"initiative.months": 7})
    assert _draw(shorter, 1)[0].duration == 7


def test_the_seed_draws_the_initiative_and_the_run_records_it():
    scenario = Scenario.load("baseline").with_overrides({**SMALL, "run.months": 12})
    first = PeerLearningModel(scenario, rng=5).run().summary
    assert first == PeerLearningModel(scenario, rng=5).run().summary
    assert set(record_keys(TABLE)) <= set(first)
    drawn = [PeerLearningModel(scenario, rng=s) for s in range(8)]
    tool_sets = {tuple(m.facilitator.intensity) for m in drawn}
    assert len(tool_sets) > 1
    for model in drawn:
        summary = model.run().summary
        assert summary["initiative_drawn"] == 1.0
        assert [summary[f"initiative_{n}"] for n in NAMES] == list(model.facilitator.intensity)
        assert summary["initiative_tools"] == (model.facilitator.intensity > 0).sum()
        assert summary["foundational_gatherings"] + summary["sustained_gatherings"] == (
            summary["events_held"])
        assert {f"reports_{m}": float(v) for m, v in model.facilitator.reports.items()} == {
            f"reports_{m}": summary[f"reports_{m}"] for m in REPORTED_METRICS}


def test_the_counterfactual_without_tools_is_the_same_initiative():
    scenario = Scenario.load("baseline").with_overrides({**SMALL, "run.months": 6})
    from hourglass.experiments import no_peer_learning

    for seed in range(6):
        base = PeerLearningModel(scenario, rng=seed).facilitator.initiative
        cf = PeerLearningModel(no_peer_learning(scenario), rng=seed).facilitator.initiative
        assert (cf.intensity == 0).all()
        assert (base.duration, base.selection, base.peer_contracts, base.logistics,
                base.canvass_topics) == (cf.duration, cf.selection, cf.peer_contracts,
                                         cf.logistics, cf.canvass_topics)


def test_drawing_the_reports_does_not_move_a_fixed_scenarios_run():
    scenario = Scenario.load("country_peer_review").with_overrides(SMALL)
    shown = PeerLearningModel(scenario, rng=3).run()
    other = PeerLearningModel(
        scenario.with_overrides({f"initiative.reports_{m}": 1.0 for m in REPORTED_METRICS}),
        rng=3).run()
    assert other.summary["reports_learning"] == 1.0
    keep = [k for k in shown.summary if not k.startswith("reports_")]
    assert {k: shown.summary[k] for k in keep} == {k: other.summary[k] for k in keep}
    assert shown.timeseries.equals(other.timeseries)


def test_the_facilitator_stops_when_the_initiative_ends():
    scenario = Scenario.load("toolkit_joint_activities").with_overrides(
        {**SMALL, "initiative.draw": "fixed", "initiative.months": 6, "run.months": 18})
    series = PeerLearningModel(scenario, rng=2).run().timeseries
    assert series["events_held"].iloc[5] > 0
    assert (series["events_held"].iloc[5:] == series["events_held"].iloc[5]).all()
    drawn = Scenario.load("baseline").with_overrides(
        {**SMALL, "initiative.duration_min": 4, "initiative.duration_max": 4, "run.months": 12})
    model = PeerLearningModel(drawn, rng=2)
    assert model.facilitator.initiative.duration == 4
    assert not model.facilitator.calendar[4:].any()


def test_duration_bounds_must_be_ordered():
    with pytest.raises(HourglassError, match=r"initiative\.duration_min = 30 is not allowed"):
        Scenario.load("baseline").with_overrides(
            {"initiative.duration_min": 30, "initiative.duration_max": 20})


def test_evaluation_gap_counts_what_reports_miss():
    def row(activity, impact, learning, events, attendance, learned, changed):
        return {"reports_activity": activity, "reports_impact": impact,
                "reports_training_transfer": 0.0, "reports_learning": learning,
                "events_held": events, "reported_attendance": attendance,
                "practical_learning": learned, "orgs_changed": changed}

    rows = [row(1, 1, 0, 10, 0.9, 0.1, 0.0), row(1, 0, 0, 20, 0.8, 0.3, 0.5),
            row(1, 1, 1, 30, 0.7, 0.2, 0.1), row(0, 0, 0, 40, 0.6, 0.4, 0.4)]
    gap = evaluation_gap(rows)
    assert gap["reports_activity"] == 0.75
    assert gap["reports_learning"] == 0.25
    assert gap["learning_unseen"] == pytest.approx(0.8)  # all but 0.2 of 1.0
    assert gap["change_unseen"] == pytest.approx(0.9)  # 0.5 + 0.4 of 1.0
    assert gap["rho_events_held_learning"] == pytest.approx(0.5)  # ranks 1,3,2 of 3 reporting
    assert gap["rho_reported_attendance_learning"] == pytest.approx(-0.5)
