"""The facilitator's events: grouping, encounters and contacts (compiled loops included).

Each check builds a state whose answer is known: two clusters of identical profiles, or peers
tied in pairs, so that matching or prior contact leaves one correct grouping.
"""

import numpy as np
import pytest
from conftest import SMALL

from simulation import PeerLearningModel, Scenario
from simulation.mechanisms import events
from simulation.population import _cached_staff_network, staff_network
from simulation.state import Month
from simulation.ties import Ties, record


def _model(overrides=None):
    scenario = Scenario.load("baseline").with_overrides({**SMALL, **(overrides or {})})
    return PeerLearningModel(scenario, rng=1)


def _two_clusters(model, m):
    """Peers 0..m-1: the even ones share one profile, the odd ones another; no ties."""
    state = model.state
    cluster = np.arange(state.peers.n) % 2
    state.peers.profile[:] = cluster[:, None]  # similarity 1 within a cluster, 0 across
    assert state.ties.count == 0
    return np.arange(m), cluster


@pytest.mark.parametrize(("m", "size"), [(12, 4), (13, 4), (7, 2), (9, 5), (5, 6), (6, 0)])
def test_groups_partition_the_attendees_in_full_groups_but_the_last(m, size):
    model = _model()
    attendees = np.arange(m)
    for seed in range(20):
        labels = events.form_groups(
            model.state, attendees, size, model.params, np.random.default_rng(seed)
        )
        sizes = np.bincount(labels)
        expected = size if 0 < size < m else m
        assert len(labels) == m
        assert (sizes[:-1] == expected).all()
        assert 1 <= sizes[-1] <= expected
        assert len(sizes) == -(-m // expected)


def test_full_matching_puts_only_alike_peers_together():
    model = _model({"levers.matching": 1.0})
    attendees, cluster = _two_clusters(model, 16)
    for seed in range(50):
        labels = events.form_groups(
            model.state, attendees, 2, model.params, np.random.default_rng(seed)
        )
        for group in range(labels.max() + 1):
            assert len(set(cluster[attendees[labels == group]])) == 1


def test_without_matching_groups_mix_the_clusters():
    model = _model({"levers.matching": 0.0, "contact.prior_contact": 0.0})
    attendees, cluster = _two_clusters(model, 16)
    mixed = 0
    for seed in range(50):
        labels = events.form_groups(
            model.state, attendees, 2, model.params, np.random.default_rng(seed)
        )
        mixed += sum(
            len(set(cluster[attendees[labels == g]])) > 1 for g in range(labels.max() + 1)
        )
    # 8 pairs a draw; a random partner is from the other cluster 8 times in 15 for the first
    # seat, so far more than half of 400 pairs mix if grouping ignores profiles.
    assert mixed > 150


def test_prior_contact_pairs_peers_with_their_contacts():
    model = _model({"levers.matching": 0.0, "contact.prior_contact": 1.0})
    state = model.state
    attendees = np.arange(10)
    partner = attendees ^ 1  # 0-1, 2-3, ...: each peer's one contact
    for a in attendees[::2]:
        state.ties.connect(int(a), int(a) + 1, 0.5)
    for seed in range(50):
        labels = events.form_groups(state, attendees, 2, model.params, np.random.default_rng(seed))
        assert (labels[attendees] == labels[partner]).all()


def test_small_groups_meet_in_full_and_never_across_groups():
    model = _model()
    attendees = np.array([1, 4, 5, 8, 9, 11, 15])
    labels = np.array([0, 0, 0, 1, 1, 1, 2])
    i, j = events.encounters(model.state, attendees, labels, 3, model.params, model.rng)
    pairs = set(zip(i.tolist(), j.tolist(), strict=True))
    assert pairs == {(1, 4), (1, 5), (4, 5), (8, 9), (8, 11), (9, 11)}


def test_a_crowd_meets_in_encounters_each_pair_once():
    model = _model()
    attendees = np.arange(0, 20, 2)
    labels = np.zeros(len(attendees), dtype=np.int64)
    for seed in range(30):
        rng = np.random.default_rng(seed)
        i, j = events.encounters(model.state, attendees, labels, 1, model.params, rng)
        assert (i < j).all()
        assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == len(i)
        assert set(i.tolist()) | set(j.tolist()) == set(attendees.tolist())  # all meet someone
        assert len(attendees) // 2 <= len(i) <= len(attendees)


def test_matched_encounters_in_a_crowd_prefer_alike_peers():
    model = _model({"levers.matching": 1.0})
    attendees, cluster = _two_clusters(model, 12)
    labels = np.zeros(len(attendees), dtype=np.int64)
    i, j = events.encounters(model.state, attendees, labels, 2, model.params, model.rng)
    assert (cluster[i] == cluster[j]).all()


def test_strongest_contact_of_the_month_counts():
    ties = Ties(5, np.zeros((5, 6), dtype=np.int64))
    a, b = ties.connect(0, 2, 0.5), ties.connect(1, 3, 0.5)
    ties.connect(0, 4, 0.5)
    month = Month.empty(ties)
    record(ties.arrays, np.array([a, b]), 0.1, np.array([0.5, 0.0, 0.2, 0.0]))
    record(ties.arrays, np.array([a]), 0.3, np.array([0.1, 0.4, 0.2, 0.0]))
    assert set(zip(*np.nonzero(month.contact), strict=True)) == {(0, 2), (2, 0), (1, 3), (3, 1)}
    assert ties.arrays.trust_gain[a] == 0.3
    assert ties.arrays.trust_gain[b] == 0.1
    assert ties.arrays.reach[a].tolist() == [0.5, 0.4, 0.2, 0.0]
    Month.empty(ties)  # a new month forgets the contacts
    assert not ties.arrays.contact.any()


def test_remembered_staff_network_is_the_one_built_and_leaves_the_generator_alike():
    built = np.random.default_rng(11)
    reference = staff_network(3, 50, 4, 0.2, built)
    for _ in range(2):  # a miss, then a hit
        rng = np.random.default_rng(11)
        network = _cached_staff_network(3, 50, 4, 0.2, rng)
        assert (network != reference).nnz == 0
        assert rng.bit_generator.state == built.bit_generator.state


def _pairs_met_by(name, months, seed=4):
    """Pairs brought together by one tool used every month of a fixed initiative, by month."""
    tools = {f"tools.{n}": 0.0 for n in Scenario.load("baseline").to_dict()["tools"]}
    scenario = Scenario.load("baseline").with_overrides({
        **SMALL, **tools, f"tools.{name}": 1.0, "initiative.draw": "fixed",
        "run.months": months, "levers.turnover": 0.0, "contact.tie_hazard": 0.0,
    })
    model = PeerLearningModel(scenario, rng=seed)
    met = []
    model.month_observers.append(lambda record: met.append(np.argwhere(np.triu(record.formal))))
    model.run()
    return model, [{tuple(p) for p in pairs} for pairs in met]


def test_a_sustaining_tool_meets_the_same_small_groups_use_after_use():
    model, met = _pairs_met_by("joint_peer_activities", 12)  # 12 uses a year: every month
    g = [t.name for t in model.tool_table].index("joint_peer_activities")
    cohort = model.facilitator.cohorts[g]
    assert (cohort >= 0).all()
    assert (np.bincount(cohort) <= 4).all()  # small groups of the tool's group_size
    every = set().union(*met)
    assert every
    assert all(cohort[a] == cohort[b] for a, b in every)
    assert _largest_component(model.state.peers.n, every) <= 4
    assert len(every) <= sum(k * (k - 1) // 2 for k in np.bincount(cohort))


def test_a_foundational_tool_forms_its_groups_afresh():
    model, met = _pairs_met_by("small_group_meetings", 36)  # 4 uses a year, groups of 6
    assert not model.tool_table[1].sustains
    # Under standing groups of 6, who met whom would fall apart into groups of at most 6.
    assert _largest_component(model.state.peers.n, set().union(*met)) > 6


def _largest_component(n, pairs):
    root = list(range(n))

    def find(x):
        while root[x] != x:
            x = root[x]
        return x

    for a, b in pairs:
        root[find(a)] = find(b)
    return max(np.bincount([find(x) for x in range(n)]))


def test_the_calendar_stops_at_the_initiative_s_end_without_moving_the_draws():
    model = _model()
    intensity = np.full(len(model.tool_table), 1.0)
    full = events.plan_calendar(intensity, model.tools, 24, np.random.default_rng(3))
    short = events.plan_calendar(intensity, model.tools, 24, np.random.default_rng(3), 10)
    assert full[:10].any()
    assert np.array_equal(short[:10], full[:10])
    assert not short[10:].any()
