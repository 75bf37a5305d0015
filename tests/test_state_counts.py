"""simulation.state: counting adopters by organisation (a bincount, equal to np.add.at's)."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import PeerLearningModel, Scenario


@pytest.mark.parametrize("seed", [1, 2])
def test_adopted_by_org_equals_the_unbuffered_sum(seed):
    """The bincount over (organisation, type) cells counts what np.add.at counted."""
    scenario = Scenario.load("baseline").with_overrides(
        {"home_organisations.background_adoption": 0.02, "run.months": 12})
    model = PeerLearningModel(scenario, rng=seed)
    model.run()
    state = model.state.staff
    assert len(state.adopters) > 0
    expected = np.zeros((len(state.org_size), state.adopted.shape[1]), dtype=np.uint64)
    np.add.at(expected, state.org[state.adopters], state.adopted[state.adopters].view(np.uint8))
    counts = state.adopted_by_org()
    assert counts.dtype == np.uint64
    assert np.array_equal(counts, expected)
