"""The initial population: organisations of any size, their staff networks, the peers."""

import numpy as np
import pytest
from conftest import SMALL
from scipy import sparse

from simulation import HourglassError, PeerLearningModel, Scenario
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


def _numpy_networks(sizes, degree, rewiring, rng, equal):
    """The staff networks as NumPy built them before the wiring was compiled (the witness)."""
    half = degree // 2
    sizes = np.asarray(sizes)
    start = np.concatenate([[0], np.cumsum(sizes)])
    total = int(start[-1])
    org_of = np.repeat(np.arange(len(sizes)), sizes)
    local = np.arange(total) - start[org_of]
    src = np.repeat(np.arange(total), half)
    edge_org = np.repeat(org_of, half)
    first, size = start[edge_org], sizes[edge_org]
    dst = first + (np.repeat(local, half) + np.tile(np.arange(1, half + 1), total)) % size
    rewire = rng.random(len(src)) < rewiring
    drawn = rng.integers(0, int(sizes[0]), len(src)) if equal else rng.integers(0, size)
    new_dst = first + drawn
    candidate = np.where(rewire & (new_dst != src), new_dst, dst)
    key = np.minimum(src, candidate) * total + np.maximum(src, candidate)
    _, unique = np.unique(key, return_index=True)
    duplicate = np.ones(len(src), dtype=bool)
    duplicate[unique] = False
    candidate = np.where(duplicate, dst, candidate)
    key = np.minimum(src, candidate) * total + np.maximum(src, candidate)
    _, keep = np.unique(key, return_index=True)
    src, candidate = src[keep], candidate[keep]
    rows = np.concatenate([src, candidate])
    cols = np.concatenate([candidate, src])
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_array((data, (rows, cols)), shape=(total, total))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("sizes", "degree", "rewiring"), [
    ((50, 50, 50), 4, 0.2), ((12,) * 7, 6, 0.9), ((9, 9), 8, 0.5), ((30, 200, 11, 64), 6, 0.3),
    ((40, 13), 4, 1.0),
])
def test_compiled_wiring_is_the_numpy_one(seed, sizes, degree, rewiring):
    equal = len(set(sizes)) == 1
    got = staff_networks(np.array(sizes), degree, rewiring, np.random.default_rng(seed))
    want = _numpy_networks(sizes, degree, rewiring, np.random.default_rng(seed), equal)
    assert np.array_equal(got.indptr, want.indptr)
    assert np.array_equal(got.indices, want.indices)
    assert got.indices.dtype == got.indptr.dtype == np.int32  # they fit: half the memory


@pytest.mark.parametrize("name", ["baseline", "horizontal_learning", "georgia_matched_inhouse",
                                  "national_chapters"])
def test_the_adopters_kept_up_to_date_are_those_a_scan_finds(name):
    scenario = Scenario.load(name).with_overrides(
        {**SMALL, "home_organisations.background_adoption": 0.002, "run.months": 24}
    )
    model = PeerLearningModel(scenario, rng=5)
    staff = model.state.staff
    grew = False
    while model.steps < model.months:
        model.step()
        assert np.array_equal(staff.adopters, np.flatnonzero(staff.adopted.any(axis=1)))
        grew |= len(staff.adopters) > 0
    assert grew


def test_staff_network_cache_keeps_to_its_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remembered networks stay within the byte budget; one above it is not kept at all."""
    from simulation import population

    monkeypatch.setattr(population, "_NETWORKS", {})
    one = population.staff_networks(np.array([200, 300]), 4, 0.1, np.random.default_rng(0))
    budget = 2 * population._nbytes(one) + 1  # room for two such networks, not three
    monkeypatch.setattr(population, "_NETWORKS_BYTES", budget)
    for seed in range(4):
        population._cached_staff_network(2, np.array([200, 300]), 4, 0.1,
                                         np.random.default_rng(seed))
        kept = sum(population._nbytes(a) for a, _ in population._NETWORKS.values())
        assert kept <= budget
    assert len(population._NETWORKS) == 2
    monkeypatch.setattr(population, "_NETWORKS_BYTES", population._nbytes(one) - 1)
    population._NETWORKS.clear()
    population._cached_staff_network(2, np.array([200, 300]), 4, 0.1, np.random.default_rng(9))
    assert not population._NETWORKS


@pytest.mark.parametrize("share_forward", [0.3, 0.0, 1.0])
def test_personal_traits_are_beta_inversions_of_one_uniform_each(share_forward):
    """A successor's traits: one uniform each, inverted through the Beta of the trait's mean
    (exactly 0 or 1 at a mean of 0 or 1), whichever path draw_personal takes."""
    from scipy import special

    from simulation.population import draw_personal

    model = PeerLearningModel(
        Scenario.load("baseline").with_overrides({**SMALL, "levers.share_forward": share_forward}),
        rng=1,
    )
    p = model.params
    got = draw_personal(p, np.random.default_rng(5), 7)
    uniform = np.random.default_rng(5).random((3, 7))
    c = p.population.trait_concentration
    for row, (key, mean) in enumerate((("willingness", p.peers.willingness_to_learn),
                                       ("time_to_engage", p.peers.time_to_engage),
                                       ("share_forward", p.levers.share_forward))):
        want = (np.full(7, float(mean >= 1.0)) if mean in (0.0, 1.0)
                else special.betaincinv(mean * c, (1.0 - mean) * c, uniform[row]))
        assert np.array_equal(got[key], want), key


@pytest.mark.parametrize("sizes", [(6, 40), (40, 3), (4,)])
def test_an_organisation_no_larger_than_the_degree_is_refused(sizes):
    """A ring lattice of degree k needs more than k staff (no edge may join two nodes twice);
    scenarios ensure it (staff_degree below staff_per_organisation), callers are told."""
    with pytest.raises(HourglassError, match=r"more staff than the degree \(6\).*smallest has"):
        staff_networks(np.array(sizes), 6, 0.1, np.random.default_rng(0))


def test_rewiring_uniforms_drawn_in_chunks_are_those_of_one_draw(monkeypatch: pytest.MonkeyPatch):
    """Drawn a chunk at a time (7 here, with a short last one), the rewiring flags and the
    generator's state after them are those of one ``rng.random(edges) < rewiring``."""
    from simulation import population

    monkeypatch.setattr(population, "_CHUNK", 7)
    for edges in (0, 5, 7, 50):
        rng, witness = np.random.default_rng(11), np.random.default_rng(11)
        got = population._rewired(edges, 0.3, rng)
        assert got.dtype == np.bool_
        assert np.array_equal(got, witness.random(edges) < 0.3)
        assert rng.bit_generator.state == witness.bit_generator.state


def test_staff_network_has_32_bit_rows_and_one_shared_value():
    """Rows and columns in 32 bits when they fit; the values one read-only 1 seen nnz times,
    which SciPy's operations take as they are."""
    adjacency = staff_network(3, 40, 6, 0.2, np.random.default_rng(4))
    assert adjacency.indices.dtype == np.int32
    assert adjacency.indptr.dtype == np.int32
    assert adjacency.data.strides == (0,)
    assert not adjacency.data.flags.writeable
    assert np.array_equal(adjacency @ np.ones(120), np.diff(adjacency.indptr))
    dense = adjacency.toarray()
    assert set(np.unique(dense)) == {0.0, 1.0}
    assert np.array_equal(dense, dense.T)
