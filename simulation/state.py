"""The arrays peers, ties, staff and home organisations are made of, and their small kernels.

Agents (``agents.py``) are views on these arrays; the per-month arithmetic reads and writes them,
in a few NumPy operations or one compiled loop per submodel (docs/ODD.md §7), so a step costs no
Python work per peer or per staff member. The initial draw of the population is in
``population.py``.
Index ``i`` is a peer's *position* (a seat a home organisation fills); when an official leaves,
a successor takes the same position with a fresh person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse

from simulation.compiled import inlined, kernel
from simulation.ties import Ties, new_month_of_tuple


class Peers(NamedTuple):
    """Participating officials, one row per position (compiled loops take the tuple whole)."""

    org: np.ndarray  # (N,) home organisation index
    staff_node: np.ndarray  # (N,) the peer's own node in the staff network
    profile: np.ndarray  # (N, F) matching profile categories
    willingness: np.ndarray  # (N,) willingness to learn v
    time_to_engage: np.ndarray  # (N,) authority and time to engage a
    share_forward: np.ndarray  # (N,) share-forward willingness w
    expertise: np.ndarray  # (N, 4) own expertise K
    exposure: np.ndarray  # (N, 4) exposure E
    learning: np.ndarray  # (N, 4) practical learning L <= E
    person: np.ndarray  # (N,) Mesa unique_id of the official in post
    # (N,) the official in post took part in a gathering (a participant; set by the events).
    # Stage 1 is an organisation's, not a peer's: Organisations.engaged (simulation/stages.py).
    engaged: np.ndarray
    # (N,) stage flags of the official in post, cumulative, set only by the observer
    # (simulation/stages.py) from what the mechanisms did.
    sustained: np.ndarray
    practical: np.ndarray
    applied: np.ndarray
    # What the mechanisms record of the official in post, the causes the stages read:
    sustained_contact: np.ndarray  # (N,) bool: holds a sustained contact this month (contact)
    learned_with_contacts: np.ndarray  # (N,) practical learning gained with one (reflection)
    learned_alone: np.ndarray  # (N,) practical learning gained by reflection tools without one
    shares: np.ndarray  # (N,) int64: times the official shared a lesson at home (diffusion)

    @property
    def n(self) -> int:
        """Number of positions."""
        return len(self.org)


_CHUNK = 2**16
"""Thresholds converted to whole numbers at a time (512 kB of scratch)."""


class StaffArrays(NamedTuple):
    """A :class:`Staff`'s arrays, as compiled loops take them (:meth:`Staff.arrays`)."""

    org: np.ndarray
    indptr: np.ndarray  # the adjacency's CSR rows
    indices: np.ndarray
    adopted: np.ndarray
    is_peer: np.ndarray
    org_size: np.ndarray
    threshold: np.ndarray
    spontaneous: np.ndarray
    adopters: np.ndarray
    member: np.ndarray
    seen: np.ndarray
    slot: np.ndarray


@dataclass
class Staff:
    """Every staff member of every home organisation, peers' own nodes included."""

    org: np.ndarray  # (S,)
    adjacency: sparse.csr_array  # (S, S) horizontal connections, symmetric
    adopted: np.ndarray  # (S, 4) bool: has adopted a lesson of each type
    is_peer: np.ndarray  # (S,) bool
    org_size: np.ndarray  # (O,) staff of each organisation
    org_start: np.ndarray  # (O + 1,) first staff member of each organisation, then the total
    # (S,) int32 adopted neighbours each colleague needs under complex contagion (its threshold,
    # in neighbours; a share threshold is converted with the colleague's degree). 0: adopts alone.
    threshold: np.ndarray
    # The staff who adopted a lesson of some type, ascending: kept up to date by every submodel
    # that changes ``adopted`` (``changed``), so a month's staff work follows the adopters.
    adopters: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Scratch arrays of one slot per staff member, allocated once per run: which staff are
    # adopters, and a mark and a slot for walking the adopters' edges (left clean after use:
    # all False, all 0).
    member: np.ndarray = field(init=False)
    seen: np.ndarray = field(init=False)
    slot: np.ndarray = field(init=False)
    # The colleagues (not peers' own nodes) whose threshold is 0, ascending: they are looked at
    # every month whether or not a neighbour adopted (kept in step by ``set_thresholds``).
    spontaneous: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.member = np.zeros(len(self.org), dtype=np.bool_)
        self.member[self.adopters] = True
        self.seen = np.zeros(len(self.org), dtype=np.bool_)
        self.slot = np.zeros(len(self.org), dtype=np.int64)
        self.set_thresholds(self.threshold)

    def set_thresholds(self, threshold: np.ndarray) -> None:
        """Give every colleague its threshold (adopted neighbours needed; 0 adopts alone).

        Kept as whole numbers (a count of neighbours reaches a threshold exactly when it reaches
        the threshold rounded up), in 4 bytes a colleague.
        """
        threshold = np.asarray(threshold, dtype=np.float64)
        self.threshold = np.empty(len(threshold), dtype=np.int32)
        # A chunk at a time: at national scale a whole temporary was tens of MB of fresh memory.
        chunk = np.empty(min(len(threshold), _CHUNK))
        for first in range(0, len(threshold), _CHUNK):
            needed = chunk[: min(_CHUNK, len(threshold) - first)]
            np.ceil(threshold[first : first + len(needed)], out=needed)
            np.minimum(needed, np.iinfo(np.int32).max, out=needed)
            self.threshold[first : first + len(needed)] = needed
        self.spontaneous = np.flatnonzero((self.threshold <= 0) & ~self.is_peer)

    def arrays(self) -> StaffArrays:
        """The arrays as they are now (``adopters`` is replaced as it changes: read it anew)."""
        return StaffArrays(
            self.org, self.adjacency.indptr, self.adjacency.indices, self.adopted, self.is_peer,
            self.org_size, self.threshold, self.spontaneous, self.adopters, self.member,
            self.seen, self.slot,
        )

    def adopted_any(self) -> np.ndarray:
        """(S,) bool: has adopted a lesson of some type (a scan of all staff)."""
        # The four bools of a row read as one 32-bit word: one comparison instead of a reduction.
        return self.adopted.view(np.uint32)[:, 0] != 0

    def changed(self, nodes: np.ndarray) -> None:
        """Bring :attr:`adopters` up to date after ``adopted`` changed on ``nodes`` (any order)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        if len(nodes):
            self.adopters = _merge_adopters(self.adopters, nodes, self.adopted, self.member)

    def recount(self) -> None:
        """Rebuild :attr:`adopters` from ``adopted`` (after editing ``adopted`` by hand)."""
        self.adopters = np.flatnonzero(self.adopted_any())
        self.member[:] = False
        self.member[self.adopters] = True

    def adopted_by_org(self) -> np.ndarray:
        """(organisations, 4) how many staff of each organisation adopted each type."""
        # One bincount over (organisation, type) cells: np.add.at's unbuffered loop took a
        # third of a run's CPU when lessons spread at home. Counts stay exact (< 2^53).
        orgs, types = len(self.org_size), self.adopted.shape[1]
        cells = (self.org[self.adopters][:, None] * types + np.arange(types)).ravel()
        weights = self.adopted[self.adopters].ravel()
        counts = np.bincount(cells, weights=weights, minlength=orgs * types)
        return counts.reshape(orgs, types).astype(np.uint64)

    def exposure(self) -> tuple[np.ndarray, np.ndarray]:
        """Colleagues with an adopted neighbour, and how many neighbours adopted each type.

        Returns:
            ``(exposed, counts)``: the exposed colleagues (not peers' own nodes), ascending, and
            (len(exposed), 4) their neighbours who adopted each type.
        """
        if len(self.adopters) == 0:
            return self.adopters, np.zeros((0, self.adopted.shape[1]), dtype=np.int64)
        return count_adopted_neighbours(self.arrays(), np.zeros(0, dtype=np.int64))


@kernel
def staff_changed(
    staff: StaffArrays, nodes: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through Staff.changed
    """The adopters after ``adopted`` changed on ``nodes`` (:meth:`Staff.changed`, compiled)."""
    if len(nodes) == 0:
        return staff.adopters
    return _merge_adopters(staff.adopters, nodes, staff.adopted, staff.member)


@kernel
def with_adopters(
    staff: StaffArrays, adopters: np.ndarray
) -> StaffArrays:  # pragma: no cover - compiled; tested through the model's month
    """``staff`` with its adopters replaced (in compiled code, where the tuple is rebuilt)."""
    return StaffArrays(
        staff.org, staff.indptr, staff.indices, staff.adopted, staff.is_peer, staff.org_size,
        staff.threshold, staff.spontaneous, adopters, staff.member, staff.seen, staff.slot,
    )


@kernel
def count_adopted_neighbours(
    staff: StaffArrays, also: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled; tested through exposure
    """:meth:`Staff.exposure`, compiled, with the colleagues ``also`` among the exposed.

    ``also`` (ascending) joins the exposed whether or not a neighbour adopted (with counts of 0
    then): contagion looks at the spontaneous adopters every month.

    One walk of the adopters' edges: the cost follows the adopters, not the size of the staff.
    ``staff.seen`` (all False) and ``staff.slot`` (all 0) are scratch arrays of one entry per
    staff member, left so. A colleague's counts of the (at most four) types add up in its
    ``slot`` as four 16-bit lanes: one addition an edge, not four (the walk, with a sort, cost
    ~0.9 ms a month with thousands of adopters; issue 13). A count is at most the colleague's
    degree, so a lane overflows only at 65,536 neighbours; then the counts are taken type by
    type instead.
    """
    seen, slot, adopted = staff.seen, staff.slot, staff.adopted
    nodes, packed = _mark_exposed(staff, also)
    counts = np.zeros((len(nodes), adopted.shape[1]), dtype=np.int64)
    if packed:
        for row in range(len(nodes)):
            word = slot[nodes[row]]
            for k in range(adopted.shape[1]):
                counts[row, k] = (word >> (16 * k)) & 0xFFFF
    else:
        for row in range(len(nodes)):
            slot[nodes[row]] = row
        for source in staff.adopters:
            for edge in range(staff.indptr[source], staff.indptr[source + 1]):
                node = staff.indices[edge]
                if seen[node]:
                    for k in range(adopted.shape[1]):
                        counts[slot[node], k] += adopted[source, k]
    for node in nodes:
        seen[node] = False
        slot[node] = 0
    return nodes, counts


@kernel
def _merge_adopters(
    adopters: np.ndarray, nodes: np.ndarray, adopted: np.ndarray, member: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through Staff.changed
    """The adopters (ascending) after ``adopted`` changed on ``nodes``; ``member`` follows.

    Linear in the adopters and the nodes (those that joined are sorted, few).
    """
    joined = np.empty(len(nodes), dtype=np.int64)
    n_joined, n_left = 0, 0
    for node in nodes:
        now = False
        for k in range(adopted.shape[1]):
            now |= adopted[node, k]
        if now and not member[node]:
            member[node] = True
            joined[n_joined] = node
            n_joined += 1
        elif member[node] and not now:
            member[node] = False
            n_left += 1
    if n_joined == 0 and n_left == 0:
        return adopters
    joined = np.sort(joined[:n_joined])
    merged = np.empty(len(adopters) - n_left + n_joined, dtype=np.int64)
    i, j, out = 0, 0, 0
    while i < len(adopters) or j < n_joined:
        if j == n_joined or (i < len(adopters) and adopters[i] < joined[j]):
            if member[adopters[i]]:  # still an adopter
                merged[out] = adopters[i]
                out += 1
            i += 1
        else:
            merged[out] = joined[j]
            out += 1
            j += 1
    return merged


@inlined
def _sort_is_cheaper(n: int, staff: int) -> bool:  # pragma: no cover - compiled
    """Whether sorting ``n`` marked colleagues costs less than a scan of all ``staff`` marks.

    Measured: a sort ~1.2 ns x n log2 n (0.7-2 below 10^4 nodes), a scan 0.2-0.5 ns a staff
    member (to 1.2 with a tenth marked); at 10^7 staff a sort of 500,000 took 11 ms, a scan 6 ms.
    """
    bits = 0
    while n >> bits:
        bits += 1
    return n * bits * 2 < staff


@kernel
def _mark_exposed(
    staff: StaffArrays, also: np.ndarray
) -> tuple[np.ndarray, bool]:  # pragma: no cover - compiled; tested through exposure
    """Mark the adopters' colleague neighbours and ``also`` in ``seen``, counting in ``slot``.

    Returns the marked colleagues, ascending, and whether ``slot`` holds their counts (packed
    in 16-bit lanes; no: more than four types or a colleague of 65,536 neighbours or more).
    """
    adopters, indptr, indices = staff.adopters, staff.indptr, staff.indices
    adopted, is_peer, seen, slot = staff.adopted, staff.is_peer, staff.seen, staff.slot
    n_types = adopted.shape[1]
    packed = n_types <= 4
    reach = 0
    for source in adopters:
        reach += indptr[source + 1] - indptr[source]
    nodes = np.empty(reach + len(also), dtype=np.int64)
    n_exposed = 0
    for source in adopters:
        word = 0
        for k in range(n_types):
            if adopted[source, k] and packed:
                word += 1 << (16 * k)
        for edge in range(indptr[source], indptr[source + 1]):
            node = indices[edge]
            if is_peer[node]:
                continue
            if not seen[node]:
                seen[node] = True
                nodes[n_exposed] = node
                n_exposed += 1
                packed &= indptr[node + 1] - indptr[node] < 1 << 16
            slot[node] += word
    for node in also:
        if not seen[node]:
            seen[node] = True
            nodes[n_exposed] = node
            n_exposed += 1
    # Ascending: a sort of the few, or a scan of the marks (linear in the staff) when cheaper.
    if _sort_is_cheaper(n_exposed, len(seen)):
        return np.sort(nodes[:n_exposed]), packed
    n_exposed = 0
    for node in range(len(seen)):
        if seen[node]:
            nodes[n_exposed] = node
            n_exposed += 1
    return nodes[:n_exposed], packed


class Organisations(NamedTuple):
    """Home organisations and their change at scale."""

    country: np.ndarray  # (O,)
    openness: np.ndarray  # (O,) omega
    invest: np.ndarray  # (O,) willingness to invest
    time_and_space: np.ndarray  # (O,)
    changed: np.ndarray  # (O, 4) bool, persists once institutionalised
    changed_month: np.ndarray  # (O, 4) month of change, -1 if none
    # (O,) int64 foundational group gatherings (two organisations or more) its officials took
    # part in, and stage 1, peer group foundational engagement established (simulation/stages.py)
    foundational: np.ndarray
    engaged: np.ndarray


class Attendance(NamedTuple):
    """This month's attendance, as arrays the compiled loops take whole.

    Attributes:
        reflection: (N,) reflection rate added by tools this month.
        attended: (N,) bool, took part in some tool this month.
        tools: (N,) int64 bit mask over the tool table: the tools the peer took part in.
        codified: (N,) bool, codified knowledge (a tool's broadcast) raised the peer's exposure
            this month: the report's "formal knowledge" channel (Figure 10), observed only.
    """

    reflection: np.ndarray
    attended: np.ndarray
    tools: np.ndarray
    codified: np.ndarray


class Month:
    """What happened this month, reset at its start (synchronous updates within a phase).

    The month's contacts are kept on the ties (:class:`simulation.ties.Ties`); :attr:`contact`
    shows them as a matrix.

    Attributes:
        arrays: The month's attendance (:class:`Attendance`), also readable as ``reflection``,
            ``attended`` and ``tools``.
        departures, events, products, invited, attendance: The month's counts.
    """

    def __init__(self, ties: Ties, *, forget: bool = True) -> None:
        n = ties.n
        self.ties = ties
        if forget:  # False: a compiled month that starts with it forgets (ties.new_month)
            new_month_of_tuple(tuple(ties.arrays))
        self.arrays = Attendance(
            reflection=np.zeros(n), attended=np.zeros(n, dtype=bool), tools=np.zeros(n, np.int64),
            codified=np.zeros(n, dtype=bool),
        )
        self.reflection, self.attended, self.tools, self.codified = self.arrays
        self.departures = 0
        self.events = 0
        self.products = 0
        self.invited = 0
        self.attendance = 0

    @classmethod
    def empty(cls, ties: Ties) -> Month:
        """A month in which nothing has happened yet."""
        return cls(ties)

    @property
    def contact(self) -> np.ndarray:
        """(N, N) bool, symmetric: the tie had contact this month."""
        return self.ties.contact_matrix()


@dataclass
class State:
    """Everything the mechanisms read and write."""

    peers: Peers
    ties: Ties
    staff: Staff
    orgs: Organisations
    month: Month
    focus: np.ndarray  # (F,) the programme's focus profile, for matched selection
