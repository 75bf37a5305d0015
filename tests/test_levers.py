"""The levers added for the scenario library and the background adoption hazard."""

import numpy as np
from conftest import SMALL
from test_mechanisms import Z

from simulation import PeerLearningModel, Scenario
from simulation.mechanisms import diffusion, events


def model_with(**overrides):
    scenario = Scenario.load("baseline").with_overrides({**SMALL, **overrides})
    return PeerLearningModel(scenario, rng=5)


def test_canvassing_scales_attendance_of_the_uninterested_only():
    plain = model_with()
    canvassed = model_with(**{"facilitator.canvass_topics": 0.75})
    interested = events.canvassed_interest(canvassed.state)
    assert interested.any()
    assert (~interested).any()
    before = events.attendance_chance(plain.state, plain.params)
    after = events.attendance_chance(canvassed.state, canvassed.params)
    np.testing.assert_allclose(after[interested], before[interested])
    np.testing.assert_allclose(after[~interested], 0.25 * before[~interested])


def test_structured_sharing_reaches_exactly_the_team():
    model = model_with(
        **{"home_organisations.structured_sharing": 1.0, "levers.home_openness": 1.0}
    )
    state = model.state
    state.orgs.openness[:] = 1.0
    carries = np.zeros((state.peers.n, 4), dtype=bool)
    carries[0, 0] = True
    diffusion.share_in_team(state, np.array([0]), carries, 1.0, model.rng)
    node = state.peers.staff_node[0]
    adj = state.staff.adjacency
    team = adj.indices[adj.indptr[node] : adj.indptr[node + 1]]
    expected = np.zeros(len(state.staff.org), dtype=bool)
    expected[team] = True
    expected &= ~state.staff.is_peer
    assert np.array_equal(state.staff.adopted[:, 0], expected)
    assert not state.staff.adopted[:, 1:].any()


def test_dissemination_convenes_colleagues_in_own_or_same_country_organisations():
    overrides = {"diffusion.convened": 50, "population.home_organisations": 6,
                 "population.countries": 2}
    for chapters, allowed in ((0.0, {0}), (1.0, {2, 4})):
        model = model_with(**overrides, **{"diffusion.national_chapters": chapters})
        state = model.state
        state.orgs.openness[:] = 1.0
        carries = np.zeros((state.peers.n, 4), dtype=bool)
        carries[0] = True  # position 0 belongs to organisation 0, country 0
        assert state.peers.org[0] == 0
        diffusion.convene(state, np.array([0]), carries, model.params, model.rng)
        adopters = np.flatnonzero(state.staff.adopted.any(axis=1))
        assert len(adopters) > 0
        assert set(state.staff.org[adopters]) <= allowed
        assert not state.staff.is_peer[adopters].any()


def test_dissemination_widens_reach_and_needs_sharing(lively):
    def reached(**extra):
        s = lively.with_overrides({"levers.dissemination": 0.5, "diffusion.convened": 20, **extra})
        return [PeerLearningModel(s, rng=seed).run().summary["staff_reached"] for seed in range(4)]

    base = [PeerLearningModel(lively, rng=seed).run().summary["staff_reached"] for seed in range(4)]
    assert np.mean(reached()) > np.mean(base)
    assert max(reached(**{"levers.share_forward": 0.0})) == 0.0


def test_background_adoption_rate_matches_the_binomial_and_spares_peers():
    hazard = 0.01
    model = model_with(**{"home_organisations.background_adoption": hazard})
    state = model.state
    diffusion.background_adoption(state, model.params, np.random.default_rng(3))
    colleagues = int((~state.staff.is_peer).sum()) * 4
    adopted = int(state.staff.adopted.sum())
    sd = np.sqrt(colleagues * hazard * (1 - hazard))
    assert abs(adopted - colleagues * hazard) < Z * sd
    assert not state.staff.adopted[state.staff.is_peer].any()


def test_background_stream_leaves_the_main_stream_alone():
    off = model_with(**{"home_organisations.background_adoption": 0.0})
    on = model_with(**{"home_organisations.background_adoption": 0.01})
    assert np.array_equal(off.facilitator.calendar, on.facilitator.calendar)
    assert off.rng.random() == on.rng.random()
