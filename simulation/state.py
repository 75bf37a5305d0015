"""The arrays peers, ties, staff and home organisations are made of, and their small kernels.

Agents (``agents.py``) are views on these arrays; the per-month arithmetic reads and writes them,
in a few NumPy operations or one compiled loop per submodel (docs/ODD.md §7), so a step costs no
Python work per peer or per staff member. The initial draw of the population is in
``population.py``.
Index ``i`` is a peer's *position* (a seat a home organisation fills); when an official leaves,
a successor takes the same position with a fresh person.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy import sparse

from simulation.vocabulary import N_TYPES


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
    engaged: np.ndarray  # (N,) stage flags of the official in post, cumulative
    sustained: np.ndarray
    practical: np.ndarray
    applied: np.ndarray

    @property
    def n(self) -> int:
        """Number of positions."""
        return len(self.org)


class Ties(NamedTuple):
    """Peer-to-peer ties as symmetric dense matrices (peers are tens to a few thousand)."""

    alive: np.ndarray  # (N, N) bool
    trust: np.ndarray  # (N, N) float in [0, 1]
    age: np.ndarray  # (N, N) months since formed
    contract: np.ndarray  # (N, N) months of peer contract left
    similarity: np.ndarray  # (N, N) share of equal profile factors


@dataclass
class Staff:
    """Every staff member of every home organisation, peers' own nodes included."""

    org: np.ndarray  # (S,)
    adjacency: sparse.csr_array  # (S, S) horizontal connections, symmetric
    adopted: np.ndarray  # (S, 4) bool: has adopted a lesson of each type
    is_peer: np.ndarray  # (S,) bool
    org_size: np.ndarray  # (O,) staff of each organisation
    org_start: np.ndarray  # (O + 1,) first staff member of each organisation, then the total

    def adopted_any(self) -> np.ndarray:
        """(S,) bool: has adopted a lesson of some type."""
        # The four bools of a row read as one 32-bit word: one comparison instead of a reduction.
        return self.adopted.view(np.uint32)[:, 0] != 0

    def adopted_by_org(self) -> np.ndarray:
        """(organisations, 4) how many staff of each organisation adopted each type."""
        # Organisations are contiguous blocks of staff; reduceat sums each block's rows.
        return np.add.reduceat(self.adopted.view(np.uint8), self.org_start[:-1], axis=0)

    def exposure(self) -> tuple[np.ndarray, np.ndarray]:
        """Colleagues with an adopted neighbour, and how many neighbours adopted each type.

        Returns:
            ``(exposed, counts)``: the exposed colleagues (not peers' own nodes), ascending, and
            (len(exposed), 4) their neighbours who adopted each type.
        """
        adopters = np.flatnonzero(self.adopted_any())
        if len(adopters) == 0:
            return adopters, np.zeros((0, N_TYPES), dtype=np.int64)
        return _count_adopted_neighbours(
            adopters, self.adjacency.indptr, self.adjacency.indices, self.adopted, self.is_peer
        )


@njit(cache=True)
def _count_adopted_neighbours(
    adopters: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    adopted: np.ndarray,
    is_peer: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled; tested through exposure
    """Walk the adopters' edges: the cost follows the adopters, not the size of the staff."""
    seen = np.zeros(len(is_peer), dtype=np.bool_)
    nodes = np.empty(indptr[-1], dtype=np.int64)
    n_exposed = 0
    for source in adopters:
        for edge in range(indptr[source], indptr[source + 1]):
            node = indices[edge]
            if not is_peer[node] and not seen[node]:
                seen[node] = True
                nodes[n_exposed] = node
                n_exposed += 1
    nodes = np.sort(nodes[:n_exposed])
    slot = np.empty(len(is_peer), dtype=np.int64)
    for row in range(n_exposed):
        slot[nodes[row]] = row
    counts = np.zeros((n_exposed, adopted.shape[1]), dtype=np.int64)
    for source in adopters:
        for edge in range(indptr[source], indptr[source + 1]):
            node = indices[edge]
            if seen[node]:
                for k in range(adopted.shape[1]):
                    counts[slot[node], k] += adopted[source, k]
    return nodes, counts


class Organisations(NamedTuple):
    """Home organisations and their change at scale."""

    country: np.ndarray  # (O,)
    openness: np.ndarray  # (O,) omega
    invest: np.ndarray  # (O,) willingness to invest
    time_and_space: np.ndarray  # (O,)
    changed: np.ndarray  # (O, 4) bool, persists once institutionalised
    changed_month: np.ndarray  # (O, 4) month of change, -1 if none


class Contacts(NamedTuple):
    """This month's contacts and attendance, as arrays the compiled loops take whole.

    Attributes:
        contact: (N, N) bool, symmetric: the tie had contact this month.
        trust_gain: (N, N) alpha of the strongest contact.
        reach: (N, N, 4) transfer chance r of the strongest contact, by learning type.
        reflection: (N,) reflection rate added by tools this month.
        attended: (N,) bool, took part in some tool this month.
        tools: (N,) int64 bit mask over the tool table: the tools the peer took part in.
    """

    contact: np.ndarray
    trust_gain: np.ndarray
    reach: np.ndarray
    reflection: np.ndarray
    attended: np.ndarray
    tools: np.ndarray


class Month:
    """What happened this month, reset at its start (synchronous updates within a phase).

    Attributes:
        arrays: The month's contacts and attendance (:class:`Contacts`), also readable as
            ``contact``, ``trust_gain``, ``reach``, ``reflection`` and ``attended``.
        departures, events, products, invited, attendance: The month's counts.
    """

    def __init__(self, n: int) -> None:
        self.arrays = Contacts(
            contact=np.zeros((n, n), dtype=bool),
            trust_gain=np.zeros((n, n)),
            reach=np.zeros((n, n, N_TYPES)),
            reflection=np.zeros(n),
            attended=np.zeros(n, dtype=bool),
            tools=np.zeros(n, dtype=np.int64),
        )
        self.contact, self.trust_gain, self.reach, self.reflection, self.attended, self.tools = (
            self.arrays
        )
        self.departures = 0
        self.events = 0
        self.products = 0
        self.invited = 0
        self.attendance = 0

    @classmethod
    def empty(cls, n: int) -> Month:
        """A month in which nothing has happened yet."""
        return cls(n)

    def add_contact(
        self, i: np.ndarray, j: np.ndarray, trust_gain: float, reach: np.ndarray
    ) -> None:
        """Record contacts on ties (i, j); of several on a tie the strongest counts."""
        if len(i):
            record_contacts(
                i, j, float(trust_gain), np.asarray(reach, dtype=float), self.arrays
            )


@njit(cache=True)
def record_contacts(
    i: np.ndarray, j: np.ndarray, trust_gain: float, transfer: np.ndarray, month: Contacts
) -> None:  # pragma: no cover - compiled; tested through Month.add_contact
    """Mark contacts on ties (i, j), both ways, keeping the strongest alpha and r of the month.

    ``trust_gain`` and ``transfer`` are the contact's alpha and r by learning type (a tool's or
    informal contact's, named as in ``tools.toml``).
    """
    for k in range(len(i)):
        for a, b in ((i[k], j[k]), (j[k], i[k])):
            month.contact[a, b] = True
            month.trust_gain[a, b] = max(month.trust_gain[a, b], trust_gain)
            for t in range(len(transfer)):
                month.reach[a, b, t] = max(month.reach[a, b, t], transfer[t])


@dataclass
class State:
    """Everything the mechanisms read and write."""

    peers: Peers
    ties: Ties
    staff: Staff
    orgs: Organisations
    month: Month
    focus: np.ndarray  # (F,) the programme's focus profile, for matched selection


@cache
def upper_triangle(n: int) -> np.ndarray:
    """(n, n) bool, read-only: True above the diagonal (each tie once, as i < j)."""
    mask = np.triu(np.ones((n, n), dtype=bool), 1)
    mask.flags.writeable = False
    return mask


def similarity_matrix(profile: np.ndarray) -> np.ndarray:
    """Share of equal profile factors between every two peers (Axelrod 1997)."""
    return (profile[:, None, :] == profile[None, :, :]).mean(axis=2)


