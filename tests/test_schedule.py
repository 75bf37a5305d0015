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
