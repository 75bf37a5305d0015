"""The sparse tie store, and the compiled loops that read it, against dense witnesses.

The witnesses are the dense-matrix versions the model used before ties became sparse (kept here
in plain Python): seating, encounters and the succession uniforms must give the same results,
draw for draw.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.mechanisms import events
from simulation.mechanisms.turnover import _leavers_ties, uniforms_at
from simulation.streams import handle
from simulation.ties import Ties, add, find, remove, sorted_slots


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.booleans()), max_size=80))
def test_store_matches_a_set_of_pairs(operations):
    ties = Ties(8, np.zeros((8, 6), dtype=np.int64), slots=4)
    model: set[tuple[int, int]] = set()
    for x, y, adding in operations:
        if x == y:
            continue
        pair = (min(x, y), max(x, y))
        if adding and pair not in model:
            ties.reserve(1)
            ties.connect(x, y, 0.5)
            model.add(pair)
        elif not adding and pair in model:
            remove(ties.arrays, find(ties.arrays, x, y))
            model.discard(pair)
        i, j, _ = ties.live()
        assert list(zip(i.tolist(), j.tolist(), strict=True)) == sorted(model)
        assert ties.count == len(model)
        degree = np.bincount([p for pair in model for p in pair], minlength=8)
        assert ties.arrays.degree.tolist() == degree.tolist()
        for a in range(8):
            for b in range(8):
                tied = (min(a, b), max(a, b)) in model
                assert (find(ties.arrays, a, b) >= 0) == tied


def _dense_fill_groups(members, similarity, tied, size, matching, prior, draws):
    """The seat-by-seat greedy as it was on dense matrices."""
    m = len(members)
    labels = np.empty(m, dtype=np.int64)
    left = list(range(m))
    group, seat = 0, 0
    while left:
        first = left.pop()
        labels[first] = group
        filled = 1
        while left and filled < size:
            rule, which = draws[seat]
            seat += 1
            options = []
            if rule < matching:
                best = max(similarity[members[first], members[x]] for x in left)
                options = [i for i, x in enumerate(left)
                           if similarity[members[first], members[x]] == best]
            elif rule < prior:
                options = [i for i, x in enumerate(left) if tied[members[first], members[x]]]
            pick = options[int(which * len(options))] if options else int(which * len(left))
            labels[left.pop(pick)] = group
            filled += 1
        group += 1
    return labels


def _dense_meet(attendees, labels, n_encounters, similarity, tied, matching, prior, draws):
    """Who meets whom in groups, as it was on dense matrices."""
    m = len(labels)
    sizes = np.bincount(labels)
    met = set()
    for a in range(m):
        group = [b for b in range(m) if labels[b] == labels[a]]
        if sizes[labels[a]] <= n_encounters + 1:
            met.update((a, b) for b in group if b > a)
            continue
        contacts = [b for b in group if b != a and tied[attendees[a], attendees[b]]]
        for r in range(n_encounters):
            rule, which = draws[r, a]
            if rule < matching:
                score = {b: similarity[attendees[a], attendees[b]]
                         - 2.0 * tied[attendees[a], attendees[b]] for b in group if b != a}
                best = max(score.values())
                options = [b for b in group if b != a and score[b] == best]
            elif contacts and rule < prior:
                options = contacts
            else:
                options = [b for b in group if b != a]
            b = options[int(which * len(options))]
            met.add((min(a, b), max(a, b)))
    return sorted(met)


def _random_instance(seed, n=30):
    rng = np.random.default_rng(seed)
    profile = rng.integers(0, 2, (n, 6))
    ties = Ties(n, profile, slots=8)
    for _ in range(rng.integers(0, 60)):
        a, b = rng.choice(n, 2, replace=False)
        if find(ties.arrays, a, b) < 0:
            ties.reserve(1)
            ties.connect(int(a), int(b), 0.5)
    return rng, ties, profile


@pytest.mark.parametrize("seed", range(40))
def test_seating_is_the_dense_greedy_draw_for_draw(seed):
    rng, ties, profile = _random_instance(seed)
    similarity, tied = ties.similarity, ties.alive
    members = rng.permutation(30)[: rng.integers(2, 30)]
    size = int(rng.integers(2, 6))
    matching, prior = float(rng.choice([0.0, 0.3, 1.0])), float(rng.choice([0.3, 0.8, 1.0]))
    prior = max(prior, matching)
    draws = rng.random((len(members), 2))
    got = events._fill_groups(members, profile, ties.arrays, size, matching, prior, draws)
    want = _dense_fill_groups(members, similarity, tied, size, matching, prior, draws)
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("seed", range(40))
def test_encounters_are_the_dense_ones_draw_for_draw(seed):
    rng, ties, profile = _random_instance(seed)
    attendees = np.sort(rng.permutation(30)[: rng.integers(2, 30)])
    labels = rng.integers(0, int(rng.integers(1, 4)), len(attendees))
    labels = np.unique(labels, return_inverse=True)[1]
    n_encounters = int(rng.integers(1, 4))
    matching, prior = float(rng.choice([0.0, 0.3, 1.0])), 0.7
    prior = max(prior, matching)
    state = rng.bit_generator.state
    i, j = events._encounter_pairs(
        attendees, labels, n_encounters, profile, ties.arrays, matching, prior, rng
    )
    rng.bit_generator.state = state
    if np.bincount(labels).max() > n_encounters + 1:
        draws = rng.random((n_encounters, len(attendees), 2))
    else:
        draws = None
    want = _dense_meet(attendees, labels, n_encounters, ties.similarity, ties.alive, matching,
                       prior, draws)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [
        (attendees[a], attendees[b]) for a, b in want
    ]


@pytest.mark.parametrize("seed", range(5))
def test_succession_uniforms_are_those_of_the_full_matrix(seed):
    full = np.random.default_rng(seed)
    jumped = np.random.default_rng(seed)
    full.integers(0, 7)  # leaves a buffered 32-bit half-word, which the jump must keep
    jumped.integers(0, 7)
    cells = np.array([17, 3, 399, 250, 0])
    values = uniforms_at(handle(jumped), 400, cells)
    assert values.tolist() == full.random(400)[cells].tolist()
    assert jumped.integers(0, 1000, 20).tolist() == full.integers(0, 1000, 20).tolist()
    other = np.random.Generator(np.random.MT19937(seed))  # no jump: drawn in full, same values
    witness = np.random.Generator(np.random.MT19937(seed))
    assert uniforms_at(handle(other), 400, cells).tolist() == witness.random(400)[cells].tolist()


@pytest.mark.parametrize("buffered", [False, True])
@pytest.mark.parametrize("cells", [[], [0], [399], [5, 4, 398]])
def test_succession_uniforms_leave_the_generator_where_the_full_matrix_does(buffered, cells):
    full, jumped = np.random.default_rng(9), np.random.default_rng(9)
    if buffered:
        full.integers(0, 7)
        jumped.integers(0, 7)
    values = uniforms_at(handle(jumped), 400, np.array(cells, dtype=np.int64))
    assert values.tolist() == full.random(400)[cells].tolist()
    assert jumped.bit_generator.state == full.bit_generator.state


@pytest.mark.parametrize("seed", range(4))
def test_leavers_ties_are_the_live_ties_they_touch_in_dense_order(seed):
    rng = np.random.default_rng(seed)
    n = 30
    ties = Ties(n, np.zeros((n, 6), dtype=np.int64))
    for _ in range(60):
        a, b = rng.choice(n, 2, replace=False)
        ties.connect(int(a), int(b), 0.5)
    for s in rng.choice(int(ties.arrays.meta[0]), 10, replace=False):  # some are lost again
        if ties.arrays.alive[s]:
            remove(ties.arrays, int(s))
    leavers = np.flatnonzero(rng.random(n) < 0.3)
    i, j, slots = ties.live()
    touched = np.isin(i, leavers) | np.isin(j, leavers)  # ties between two leavers too
    cells, kept = _leavers_ties(ties.arrays, n, leavers)
    assert cells.tolist() == (i[touched] * n + j[touched]).tolist()
    assert kept.tolist() == slots[touched].tolist()


def test_contacted_ties_come_in_dense_row_order():
    ties = Ties(6, np.zeros((6, 6), dtype=np.int64))
    for a, b in ((4, 5), (0, 3), (1, 2), (0, 1)):
        ties.connect(a, b, 0.5)
    slots = sorted_slots(ties.arrays, 6, False)
    assert [(ties.arrays.a[s], ties.arrays.b[s]) for s in slots] == [(0, 1), (0, 3), (1, 2), (4, 5)]


def test_a_full_store_refuses_rather_than_writing_past_its_end():
    ties = Ties(4, np.zeros((4, 6), dtype=np.int64), slots=1)
    add(ties.arrays, 0, 1)
    with pytest.raises(IndexError, match="tie store full"):
        add(ties.arrays, 2, 3)
    ties.connect(2, 3, 0.5)  # connect makes room first
    assert ties.count == 2


def test_pairwise_sum_adds_as_numpy_sums():
    """Mean trust is summed as NumPy sums an array, to the last bit (pairwise, by blocks of 8)."""
    from simulation.ties import pairwise_sum

    rng = np.random.default_rng(0)
    for n in [*range(0, 300), 1000, 4097, 10001]:
        values = rng.random(n) * 10.0 ** rng.integers(-3, 3, n)
        assert pairwise_sum(values, 0, n) == values.sum(), n
    # Added one after another, the small values are lost against the first; NumPy's partial
    # sums keep them: the test can tell the two orders apart.
    values = np.array([1.0] + [1e-16] * 1000)
    in_turn = 0.0
    for value in values.tolist():
        in_turn += value
    assert in_turn == 1.0 != values.sum() == pairwise_sum(values, 0, len(values))
