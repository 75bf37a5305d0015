"""The compiled month (simulation/mechanisms/schedule.py) is the submodels called one by one.

The model runs the month after the facilitator's tools as one or two compiled calls; the
reference is the same submodels called from Python in turn (``model.one_by_one``), each with its
own draws. Every library scenario, with sharing at home on and off, must give the same monthly
series to the last bit, and the same state at the end.
"""

import numpy as np
import pytest
from conftest import SMALL, SUSTAINING

from simulation import PeerLearningModel, Scenario, available_scenarios


def _run(scenario: Scenario, seed: int, one_by_one: bool) -> PeerLearningModel:
    model = PeerLearningModel(scenario, rng=seed)
    model.one_by_one = one_by_one
    model.run()
    return model


@pytest.mark.parametrize("name", available_scenarios())
def test_compiled_month_equals_the_submodels_one_by_one(name):
    scenario = Scenario.load(name).with_overrides({**SMALL, "run.months": 36})
    compiled, reference = _run(scenario, 3, False), _run(scenario, 3, True)
    got, want = compiled.result().monthly, reference.result().monthly
    assert got.keys() == want.keys()
    for column in got:
        assert np.array_equal(got[column], want[column], equal_nan=True), column
    for name_, a, b in zip(
        compiled.state.peers._fields, compiled.state.peers, reference.state.peers, strict=True
    ):
        assert np.array_equal(a, b), name_
    assert np.array_equal(compiled.state.staff.adopted, reference.state.staff.adopted)
    assert np.array_equal(compiled.state.staff.adopters, reference.state.staff.adopters)
    assert np.array_equal(compiled.state.orgs.changed_month, reference.state.orgs.changed_month)
    # Both left the generator in the same place: every draw was made, in the same order.
    assert compiled.rng.random() == reference.rng.random()


@pytest.mark.parametrize(
    "overrides",
    [
        {"home_organisations.structured_sharing": 0.5, "levers.dissemination": 0.3},
        {"home_organisations.background_adoption": 0.01, "diffusion.discontinuance": 0.0},
    ],
)
def test_sharing_at_home_and_background_in_the_compiled_month(overrides):
    """The two-call month (sharing at home between) and background adoption, with activity."""
    scenario = Scenario.load("baseline").with_overrides(
        {**SMALL, **SUSTAINING, **overrides, "run.months": 36, "levers.home_openness": 0.9,
         "reflection.carry_threshold": 0.05}
    )
    compiled, reference = _run(scenario, 5, False), _run(scenario, 5, True)
    got, want = compiled.result().monthly, reference.result().monthly
    assert got["staff_reached"].max() > 0  # something spread at home
    for column in got:
        assert np.array_equal(got[column], want[column], equal_nan=True), column


def _stepped(scenario: Scenario, seed: int, months: int) -> PeerLearningModel:
    model = PeerLearningModel(scenario, rng=seed)
    while model.steps < months:
        model.step()
    return model


@pytest.mark.parametrize(("name", "before"), [("baseline", 0), ("toolkit_peer_contracts", 7)])
def test_run_ahead_equals_the_months_stepped_one_by_one(name, before):
    """run() runs the months ahead in one compiled call; Mesa's steps replace the leavers' agents.

    Against the months stepped one at a time (each month one compiled call): the same series,
    the same agents in the same positions (Mesa's ids), the last month's counts, both generators
    left in the same place. ``before`` months are stepped first, and run() goes on from there;
    these scenarios' tools outgrow the tie store mid-run, so the run ahead stops and resumes.
    """
    scenario = Scenario.load(name)
    ahead = _stepped(scenario, 4, before)
    ahead.run()
    stepped = _stepped(scenario, 4, ahead.months)
    got, want = ahead.result(), stepped.result()
    for column in want.monthly:
        assert np.array_equal(got.monthly[column], want.monthly[column], equal_nan=True), column
    assert got.summary == want.summary
    assert [a.unique_id for a in ahead.agents] == [a.unique_id for a in stepped.agents]
    assert np.array_equal(ahead.state.peers.person, stepped.state.peers.person)
    assert got.summary["departures"] > 0  # successors' agents were made
    assert ahead.steps == stepped.steps == ahead.months
    assert not ahead.running
    assert not stepped.running
    for field in ("departures", "events", "products", "invited", "attendance"):
        assert getattr(ahead.state.month, field) == getattr(stepped.state.month, field), field
    for a, b in zip(ahead.state.month.arrays, stepped.state.month.arrays, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(ahead.state.ties.arrays.trust, stepped.state.ties.arrays.trust)
    assert ahead.rng.random() == stepped.rng.random()
    assert ahead.background_rng.random() == stepped.background_rng.random()
