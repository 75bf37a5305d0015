"""The initial population: organisations of any size, their staff networks, the peers."""

import numpy as np
import pytest
from conftest import SMALL

from simulation import PeerLearningModel, Scenario
from simulation.population import staff_network, staff_networks

ZIPF = {**SMALL, "population.home_organisations": 12, "population.staff_per_organisation": 80,
        "population.organisation_sizes": "zipf"}


def test_equal_sizes_are_the_default_and_draw_nothing_more():
    model = PeerLearningModel(Scenario.load("baseline").with_overrides(SMALL), rng=1)
    staff = model.state.staff
    assert (staff.org_size == SMALL["population.staff_per_organisation"]).all()
    assert staff.org_start.tolist() == list(range(0, 6 * 60 + 1, 60))


def test_zipf_sizes_are_heavy_tailed_with_the_stated_mean():
    scenario = Scenario.load("baseline").with_overrides(ZIPF)
    sizes = PeerLearningModel(scenario, rng=1).state.staff.org_size
    assert abs(sizes.mean() - 80) < 1  # rounding only
    assert sizes.max() > 5 * np.median(sizes)  # heavy tail
    assert sizes.min() > max(ZIPF["population.peers_per_organisation"], 6)
    # The same quantiles, dealt in another order by another seed.
    other = PeerLearningModel(scenario, rng=2).state.staff.org_size
    assert sorted(sizes) == sorted(other)
    assert sizes.tolist() != other.tolist()
    # A smaller exponent is more unequal.
    steeper = scenario.with_overrides({"population.size_exponent": 0.8})
    assert PeerLearningModel(steeper, rng=1).state.staff.org_size.max() > sizes.max()


def test_unequal_organisations_keep_their_staff_and_peers_apart():
    model = PeerLearningModel(Scenario.load("baseline").with_overrides(ZIPF), rng=3)
    staff, peers = model.state.staff, model.state.peers
    assert np.array_equal(np.bincount(staff.org), staff.org_size)
    assert np.array_equal(staff.org[peers.staff_node], peers.org)
    rows, cols = staff.adjacency.nonzero()
    assert (staff.org[rows] == staff.org[cols]).all()  # horizontal ties stay inside
    degree = np.diff(staff.adjacency.indptr)
    assert abs(degree.mean() - 6) < 0.3
    result = model.run()
    assert 0 <= result.summary["staff_reached"] <= 1


@pytest.mark.parametrize("seed", [0, 1])
def test_equal_sizes_through_the_general_builder_are_the_same_network(seed):
    a = staff_network(4, 50, 4, 0.2, np.random.default_rng(seed))
    b = staff_networks(np.full(4, 50), 4, 0.2, np.random.default_rng(seed))
    assert (a != b).nnz == 0
    uneven = staff_networks(np.array([30, 50, 120]), 4, 0.2, np.random.default_rng(seed))
    assert uneven.shape == (200, 200)
    assert (uneven != uneven.T).nnz == 0
    assert uneven.diagonal().sum() == 0
