"""Peer-to-peer ties as a sparse store: one slot per tie, each peer's ties on a linked list.

Ties are few (under one live tie per peer in the typical initiative), so a dense N x N matrix is
almost all empty and its cost grows with the square of the peers. Here a tie is a slot in flat
arrays (its two peers ``a < b``, trust, age, contract) and lies on two doubly linked lists, one
per peer, so a peer's ties are found in the time it takes to walk them and a tie is added or
removed in constant time. The slots are allocated once per run and grow (doubling) only when a
month could form more ties than are free. This month's contacts (flag, strongest alpha, transfer
chance by type) are kept per slot too.

Where the order of ties matters (each live tie draws its random numbers in turn), ties are taken
in the order of the dense matrix's upper triangle, row by row: sorted by ``a * N + b``. Results
are therefore those of the dense matrices, bit for bit.

Similarity is not stored: it is the share of equal profile factors, computed from the profiles
when it is read (Axelrod 1997).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.compiled import kernel
from simulation.vocabulary import N_TYPES

_HIGH, _FREE, _ALIVE = 0, 1, 2  # meta: slots ever used, slots on the free stack, live ties


class TieArrays(NamedTuple):
    """The tie store's arrays, which compiled loops take whole.

    Attributes:
        a, b: (slots,) the tie's two peers, a < b.
        alive: (slots,) bool.
        trust: (slots,) trust T in [0, 1].
        age: (slots,) months since formed.
        contract: (slots,) months of peer contract left.
        link: (slots, 2, 2) next and previous slot on a's list (``[s, 0]``) and b's (``[s, 1]``).
        head: (N,) first slot of each peer's list, -1 if none.
        degree: (N,) live ties of each peer.
        free: (slots,) stack of slots to reuse.
        meta: (3,) slots ever used, slots on the free stack, live ties.
        contact: (slots,) bool, the tie had contact this month.
        trust_gain: (slots,) alpha of the month's strongest contact.
        reach: (slots, 4) transfer chance r of the month's strongest contact, by learning type.
    """

    a: np.ndarray
    b: np.ndarray
    alive: np.ndarray
    trust: np.ndarray
    age: np.ndarray
    contract: np.ndarray
    link: np.ndarray
    head: np.ndarray
    degree: np.ndarray
    free: np.ndarray
    meta: np.ndarray
    contact: np.ndarray
    trust_gain: np.ndarray
    reach: np.ndarray


def allocate(n: int, slots: int) -> TieArrays:
    """An empty store for ``n`` peers with room for ``slots`` ties."""
    return TieArrays(
        a=np.zeros(slots, dtype=np.int64),
        b=np.zeros(slots, dtype=np.int64),
        alive=np.zeros(slots, dtype=np.bool_),
        trust=np.zeros(slots),
        age=np.zeros(slots, dtype=np.int64),
        contract=np.zeros(slots, dtype=np.int64),
        link=np.full((slots, 2, 2), -1, dtype=np.int64),
        head=np.full(n, -1, dtype=np.int64),
        degree=np.zeros(n, dtype=np.int64),
        free=np.zeros(slots, dtype=np.int64),
        meta=np.zeros(3, dtype=np.int64),
        contact=np.zeros(slots, dtype=np.bool_),
        trust_gain=np.zeros(slots),
        reach=np.zeros((slots, N_TYPES)),
    )


def grow(t: TieArrays, slots: int) -> TieArrays:
    """A copy of ``t`` with room for ``slots`` ties (at least as many as it has)."""
    bigger = allocate(len(t.head), slots)
    used = int(t.meta[_HIGH])
    for name in TieArrays._fields:
        old, new = getattr(t, name), getattr(bigger, name)
        if name in ("head", "degree", "meta"):
            new[...] = old
        elif name == "free":
            new[: int(t.meta[_FREE])] = old[: int(t.meta[_FREE])]
        else:
            new[:used] = old[:used]
    return bigger


def room(t: TieArrays) -> int:
    """Ties that can still be formed without growing."""
    return len(t.a) - int(t.meta[_HIGH]) + int(t.meta[_FREE])


@kernel
def similarity(profile: np.ndarray, x: int, y: int) -> float:  # pragma: no cover - compiled
    """Share of equal profile factors of peers x and y (Axelrod 1997)."""
    return equal_factors(profile, x, y) / profile.shape[1]


@kernel
def equal_factors(profile: np.ndarray, x: int, y: int) -> int:  # pragma: no cover - compiled
    """How many profile factors peers x and y share (:func:`similarity` times the factors)."""
    equal = 0
    for f in range(profile.shape[1]):
        equal += profile[x, f] == profile[y, f]
    return equal


@kernel
def side(t: TieArrays, s: int, x: int) -> int:  # pragma: no cover - compiled
    """0 if peer x is the tie's ``a``, 1 if its ``b``."""
    return 0 if t.a[s] == x else 1


@kernel
def other(t: TieArrays, s: int, x: int) -> int:  # pragma: no cover - compiled
    """The tie's peer that is not x."""
    return t.b[s] if t.a[s] == x else t.a[s]


@kernel
def find(t: TieArrays, x: int, y: int) -> int:  # pragma: no cover - compiled
    """The slot of the live tie between x and y, or -1: walks the shorter of the two lists."""
    return find_in(t.head, t.link, t.a, t.b, t.degree, x, y)


@kernel
def find_in(
    head: np.ndarray, link: np.ndarray, ends_a: np.ndarray, ends_b: np.ndarray,
    degree: np.ndarray, x: int, y: int,
) -> int:  # pragma: no cover - compiled
    """:func:`find` given the store's lists, ends and degrees.

    For a loop that looks up a tie per pair: a compiled call passes every array of a tuple it
    is given, each an atomic reference count in and out, about 0.2 us for the whole store
    against 0.01 us for these (measured).
    """
    if degree[y] < degree[x]:
        x, y = y, x
    s = head[x]
    while s >= 0:
        k = 0 if ends_a[s] == x else 1
        if (ends_b[s] if k == 0 else ends_a[s]) == y:
            return s
        s = link[s, k, 0]
    return -1


@kernel
def add(t: TieArrays, x: int, y: int) -> int:  # pragma: no cover - compiled
    """Form a live tie between x and y (not tied yet); return its slot (trust, age 0)."""
    if t.meta[_FREE] > 0:
        t.meta[_FREE] -= 1
        s = t.free[t.meta[_FREE]]
    else:
        s = t.meta[_HIGH]
        if s >= len(t.a):  # the month's room was reserved beforehand; never write past it
            raise IndexError("tie store full: reserve room before forming ties")
        t.meta[_HIGH] += 1
    a, b = min(x, y), max(x, y)
    t.a[s], t.b[s] = a, b
    t.alive[s] = True
    t.trust[s] = 0.0
    t.age[s] = 0
    t.contract[s] = 0
    for k, peer in ((0, a), (1, b)):
        first = t.head[peer]
        t.link[s, k, 0] = first
        t.link[s, k, 1] = -1
        if first >= 0:
            t.link[first, side(t, first, peer), 1] = s
        t.head[peer] = s
        t.degree[peer] += 1
    t.meta[_ALIVE] += 1
    return s


@kernel
def remove(t: TieArrays, s: int) -> None:  # pragma: no cover - compiled
    """Lose the live tie in slot s; the slot keeps this month's contact and is freed."""
    for k, peer in ((0, t.a[s]), (1, t.b[s])):
        following, previous = t.link[s, k, 0], t.link[s, k, 1]
        if previous >= 0:
            t.link[previous, side(t, previous, peer), 0] = following
        else:
            t.head[peer] = following
        if following >= 0:
            t.link[following, side(t, following, peer), 1] = previous
        t.degree[peer] -= 1
    t.alive[s] = False
    t.trust[s] = 0.0
    t.age[s] = 0
    t.contract[s] = 0
    t.free[t.meta[_FREE]] = s
    t.meta[_FREE] += 1
    t.meta[_ALIVE] -= 1


@kernel
def ties_of(t: TieArrays, x: int) -> np.ndarray:  # pragma: no cover - compiled
    """Slots of x's live ties, sorted by the other peer."""
    slots = np.empty(t.degree[x], dtype=np.int64)
    partners = np.empty(t.degree[x], dtype=np.int64)
    s, row = t.head[x], 0
    while s >= 0:
        k = side(t, s, x)
        slots[row] = s
        partners[row] = t.b[s] if k == 0 else t.a[s]
        row += 1
        s = t.link[s, k, 0]
    return slots[np.argsort(partners)]


@kernel
def ties_of_group(
    t: TieArrays, members: np.ndarray, within: bool
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The live ties of ``members`` (distinct peers), each once, in dense row order.

    ``within``: only the ties between two members; else every tie of a member. Walks the
    members' own lists, so the cost follows their ties, not all ties. Returns the ties' cells
    ``a * N + b`` (ascending) and slots.
    """
    n = len(t.head)
    present = np.zeros(n, dtype=np.bool_)
    present[members] = True
    total = 0
    for x in members:
        total += t.degree[x]
    keys = np.empty(total, dtype=np.int64)
    found = np.empty(total, dtype=np.int64)
    count = 0
    for x in members:
        s = t.head[x]
        while s >= 0:
            k = side(t, s, x)
            partner = t.b[s] if k == 0 else t.a[s]
            # A tie between two members is on both lists: taken from the lower one's.
            if (present[partner] and partner > x) or (not within and not present[partner]):
                keys[count] = t.a[s] * n + t.b[s]
                found[count] = s
                count += 1
            s = t.link[s, k, 0]
    order = stable_order(keys[:count])  # distinct keys: as any sort orders them
    return keys[:count][order], found[:count][order]


@kernel
def stable_order(keys: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``np.argsort(keys, kind="mergesort")``: the order of ``keys``, equal keys in index order.

    A stable order is unique, so any stable sort gives it (and any sort, where the keys are
    distinct). Up to 64 keys (a gathering's attendees, a month's ties) it is found by insertion:
    30-470 ns for 10-60 keys in random order, against 280-590 ns for NumPy's quicksort and
    80-690 ns for its merge sort in compiled code (measured).
    """
    if len(keys) > 64:
        return np.argsort(keys, kind="mergesort")
    order = np.arange(len(keys))
    for a in range(1, len(keys)):
        x = order[a]
        b = a
        while b > 0 and keys[order[b - 1]] > keys[x]:
            order[b] = order[b - 1]
            b -= 1
        order[b] = x
    return order


@kernel
def sorted_slots(t: TieArrays, n: int, contacted: bool) -> np.ndarray:  # pragma: no cover
    """Live ties (or, if ``contacted``, ties with contact this month) in dense row order."""
    high = t.meta[_HIGH]
    keys = np.empty(high, dtype=np.int64)
    slots = np.empty(high, dtype=np.int64)
    count = 0
    for s in range(high):
        if (t.contact[s] if contacted else t.alive[s]):
            keys[count] = t.a[s] * n + t.b[s]
            slots[count] = s
            count += 1
    return slots[:count][stable_order(keys[:count])]  # distinct keys: as any sort


@kernel
def live_count(t: TieArrays) -> int:  # pragma: no cover - compiled
    """Live ties (:attr:`Ties.count`, compiled)."""
    return t.meta[_ALIVE]


@kernel
def mean_trust(t: TieArrays) -> float:  # pragma: no cover - compiled; tested directly
    """Mean trust of the live ties, 0 without any.

    Summed in dense row order as NumPy sums an array of them (pairwise, :func:`pairwise_sum`), so
    it equals ``trust[live].sum() / count`` to the last bit.
    """
    count = t.meta[_ALIVE]
    if count == 0:
        return 0.0
    return pairwise_sum(t.trust[sorted_slots(t, len(t.head), False)], 0, count) / count


@kernel
def pairwise_sum(values: np.ndarray, start: int, n: int) -> float:  # pragma: no cover - compiled
    """The sum of ``values[start:start + n]`` as NumPy's ``sum`` adds a float64 array.

    NumPy's pairwise summation (``pairwise_sum_DOUBLE`` in its loops): a block of up to 128
    values in :func:`_block_sum`; a longer run split in two at a multiple of 8, each half summed
    so, then added. The halving is walked with a stack of its own (a compiled function that
    calls itself cannot be cached).
    """
    if n <= 128:  # one block (a run's ties mostly): no stack to set up
        return _block_sum(values, start, n)
    depth = 64  # halvings of up to 2^64 values
    lower = np.empty(depth, dtype=np.int64)
    size = np.empty(depth, dtype=np.int64)
    step = np.zeros(depth, dtype=np.int64)  # 0: sum the first half; 1: the second; 2: add
    first = np.empty(depth)
    top, lower[0], size[0] = 0, start, n
    value = 0.0
    while True:
        m = size[top]
        half = m // 2
        half -= half % 8
        if m <= 128:
            value = _block_sum(values, lower[top], m)
            top -= 1
        elif step[top] < 2:
            # Descend into the first half, then (its sum kept) the second.
            if step[top] == 1:
                first[top] = value
            top += 1
            lower[top] = lower[top - 1] + (half if step[top - 1] == 1 else 0)
            size[top] = half if step[top - 1] == 0 else m - half
            step[top] = 0
            step[top - 1] += 1
            continue
        else:
            value = first[top] + value
            top -= 1
        if top < 0:
            return value


@kernel
def _block_sum(values: np.ndarray, start: int, n: int) -> float:  # pragma: no cover - compiled
    """NumPy's sum of up to 128 values: one after another under 8, else 8 partial sums."""
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += values[i]
        return total
    # The 8 partial sums as scalars, not an array: the same additions without an allocation.
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = 8
    while i < n - n % 8:
        j = start + i
        r0 += values[j]
        r1 += values[j + 1]
        r2 += values[j + 2]
        r3 += values[j + 3]
        r4 += values[j + 4]
        r5 += values[j + 5]
        r6 += values[j + 6]
        r7 += values[j + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[start + i]
        i += 1
    return total


@kernel
def new_month_of_tuple(t: tuple) -> None:  # pragma: no cover - compiled
    """:func:`new_month` of the store as a plain tuple (Numba checks its types in C)."""
    new_month(TieArrays(*t))


@kernel
def new_month(t: TieArrays) -> None:  # pragma: no cover - compiled
    """Forget last month's contacts."""
    for s in range(t.meta[_HIGH]):
        t.contact[s] = False
        t.trust_gain[s] = 0.0
        for k in range(t.reach.shape[1]):
            t.reach[s, k] = 0.0


@kernel
def record(
    t: TieArrays, slots: np.ndarray, trust_gain: float, transfer: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Mark contacts on the ties in ``slots``, keeping the strongest alpha and r of the month.

    ``trust_gain`` and ``transfer`` are the contact's alpha and r by learning type (a tool's or
    informal contact's, named as in ``tools.toml``).
    """
    for s in slots:
        t.contact[s] = True
        t.trust_gain[s] = max(t.trust_gain[s], trust_gain)
        for k in range(len(transfer)):
            t.reach[s, k] = max(t.reach[s, k], transfer[k])


class Ties:
    """The ties of a run: the store (:attr:`arrays`) and dense views for analysis and tests.

    The dense views (``alive``, ``trust``, ``age``, ``contract``, ``similarity``, and
    :meth:`contact_matrix`) are built when read, N x N: for looking at a model of tens or
    hundreds of peers, not for the monthly arithmetic.
    """

    def __init__(self, n: int, profile: np.ndarray, slots: int | None = None) -> None:
        self.n = n
        self.profile = profile
        self.arrays = allocate(n, slots if slots is not None else max(64, 2 * n))

    def reserve(self, ties: int) -> None:
        """Make room to form ``ties`` more ties without growing mid-month."""
        if room(self.arrays) < ties:
            self.arrays = grow(self.arrays, max(2 * len(self.arrays.a), len(self.arrays.a) + ties))

    def live(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The live ties, in dense row order: ``(i, j, slots)`` with i < j."""
        slots = sorted_slots(self.arrays, self.n, False)
        return self.arrays.a[slots], self.arrays.b[slots], slots

    @property
    def count(self) -> int:
        """Live ties."""
        return int(self.arrays.meta[_ALIVE])

    def connect(self, i: int, j: int, trust: float, age: int = 0, contract: int = 0) -> int:
        """Form a tie between peers i and j (or set the one there is); return its slot."""
        s = find(self.arrays, i, j)
        if s < 0:
            self.reserve(1)
            s = add(self.arrays, i, j)
        self.arrays.trust[s] = trust
        self.arrays.age[s] = age
        self.arrays.contract[s] = contract
        return s

    def _dense(self, values: np.ndarray, dtype: type) -> np.ndarray:
        matrix = np.zeros((self.n, self.n), dtype=dtype)
        i, j, slots = self.live()
        matrix[i, j] = matrix[j, i] = values[slots]
        return matrix

    @property
    def alive(self) -> np.ndarray:
        """(N, N) bool, symmetric: the pair has a live tie."""
        return self._dense(self.arrays.alive, bool)

    @property
    def trust(self) -> np.ndarray:
        """(N, N) trust of live ties, 0 elsewhere."""
        return self._dense(self.arrays.trust, float)

    @property
    def age(self) -> np.ndarray:
        """(N, N) age of live ties in months, 0 elsewhere."""
        return self._dense(self.arrays.age, np.int64)

    @property
    def contract(self) -> np.ndarray:
        """(N, N) months of contract left on live ties, 0 elsewhere."""
        return self._dense(self.arrays.contract, np.int64)

    @property
    def similarity(self) -> np.ndarray:
        """(N, N) share of equal profile factors between every two peers."""
        return (self.profile[:, None, :] == self.profile[None, :, :]).mean(axis=2)

    def contact_matrix(self) -> np.ndarray:
        """(N, N) bool, symmetric: the tie had contact this month."""
        slots = sorted_slots(self.arrays, self.n, True)
        matrix = np.zeros((self.n, self.n), dtype=bool)
        matrix[self.arrays.a[slots], self.arrays.b[slots]] = True
        matrix[self.arrays.b[slots], self.arrays.a[slots]] = True
        return matrix
