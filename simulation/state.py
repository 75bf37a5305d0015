"""The arrays peers, ties, staff and home organisations are made of.

Agents (``agents.py``) are the model's vocabulary; the per-month arithmetic reads and writes
these arrays, in a few NumPy operations or one compiled loop per submodel (docs/ODD.md §7), so a
step costs no Python work per peer or per staff member.
Index ``i`` is a peer's *position* (a seat a home organisation fills); when an official leaves,
a successor takes the same position with a fresh person.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

import numpy as np
from numba import njit
from scipy import sparse, special

N_TYPES = 4  # technical, flexibility and humility, political savvy, constructive subversion
N_FACTORS = 6  # report Figure 6: problems, goals, tasks, social standing, career level, education
PROFILE_FACTORS = ("problems", "goals", "tasks", "social_standing", "career_level", "education")
# Problems and goals belong to the organisation, tasks, standing and career level to the position;
# only education goes with the person, so a successor keeps the first five (report F4: position).
PERSONAL_FACTORS = np.array([False, False, False, False, False, True])


def beta_around(rng: np.random.Generator, mean: float, concentration: float, size) -> np.ndarray:
    """Draw from a Beta distribution with the given mean; 0 and 1 are exact.

    By inversion of one uniform per value, so the generator advances alike whatever the mean and
    each individual's trait rises with the mean: scenarios that differ in a mean keep every other
    draw in step (common random numbers, which sensitivity analysis relies on).
    """
    uniform = rng.random(size)
    if mean <= 0.0:
        return np.zeros(size)
    if mean >= 1.0:
        return np.ones(size)
    return special.betaincinv(mean * concentration, (1.0 - mean) * concentration, uniform)


@dataclass
class Peers:
    """Participating officials, one row per position."""

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


@dataclass
class Ties:
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
    org_size: np.ndarray  # (O,)

    def adopted_any(self) -> np.ndarray:
        """(S,) bool: has adopted a lesson of some type."""
        # The four bools of a row read as one 32-bit word: one comparison instead of a reduction.
        return self.adopted.view(np.uint32)[:, 0] != 0

    def adopted_by_org(self) -> np.ndarray:
        """(organisations, 4) how many staff of each organisation adopted each type."""
        # Organisations are equal, contiguous blocks of staff; reduceat sums each block's rows.
        starts = np.arange(0, len(self.org), len(self.org) // len(self.org_size))
        return np.add.reduceat(self.adopted.view(np.uint8), starts, axis=0)

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


@dataclass
class Organisations:
    """Home organisations and their change at scale."""

    country: np.ndarray  # (O,)
    openness: np.ndarray  # (O,) omega
    invest: np.ndarray  # (O,) willingness to invest
    time_and_space: np.ndarray  # (O,)
    changed: np.ndarray  # (O, 4) bool, persists once institutionalised
    changed_month: np.ndarray  # (O, 4) month of change, -1 if none


class Month:
    """What happened this month, reset at its start (synchronous updates within a phase).

    Attributes:
        contact: (N, N) bool, symmetric: the tie had contact this month.
        trust_gain: (N, N) alpha of the strongest contact.
        reach: (N, N, 4) transfer chance r of the strongest contact, by learning type.
        reflection: (N,) reflection rate added by tools this month.
        attended: (N,) bool, took part in some tool this month.
    """

    def __init__(self, n: int) -> None:
        self.contact = np.zeros((n, n), dtype=bool)
        self.trust_gain = np.zeros((n, n))
        self.reach = np.zeros((n, n, N_TYPES))
        self.reflection = np.zeros(n)
        self.attended = np.zeros(n, dtype=bool)
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
                i,
                j,
                float(trust_gain),
                np.asarray(reach, dtype=float),
                self.contact,
                self.trust_gain,
                self.reach,
            )


@njit(cache=True)
def record_contacts(
    i: np.ndarray,
    j: np.ndarray,
    gain: float,
    reach: np.ndarray,
    contact: np.ndarray,
    trust_gain: np.ndarray,
    reaches: np.ndarray,
) -> None:  # pragma: no cover - compiled; tested through Month.add_contact
    """Mark contacts on ties (i, j), both ways, keeping the strongest alpha and r of the month."""
    for k in range(len(i)):
        for a, b in ((i[k], j[k]), (j[k], i[k])):
            contact[a, b] = True
            trust_gain[a, b] = max(trust_gain[a, b], gain)
            for t in range(len(reach)):
                reaches[a, b, t] = max(reaches[a, b, t], reach[t])


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


def closest_to_focus(candidates: np.ndarray, focus: np.ndarray) -> np.ndarray:
    """Pick, for each position, the candidate profile sharing most factors with ``focus``.

    Args:
        candidates: (draws, n, F) candidate profiles.
        focus: (F,) the programme's focus profile.

    Returns:
        (n, F) the chosen profiles (the first best candidate on ties).
    """
    best = (candidates == focus).sum(axis=2).argmax(axis=0)
    return candidates[best, np.arange(candidates.shape[1])]


def draw_personal(p: SimpleNamespace, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Draw the traits that go with the person, not the position."""
    c = p.population.trait_concentration
    means = np.array([p.peers.willingness_to_learn, p.peers.time_to_engage, p.levers.share_forward])
    # One inversion for the three traits: the same draws as three calls of beta_around (the
    # uniforms come in the same order), at a third of the overhead, as successors arrive monthly.
    uniform = rng.random((3, n))
    inside = (means > 0.0) & (means < 1.0)
    traits = np.where(means[:, None] >= 1.0, 1.0, 0.0) * np.ones((3, n))
    if inside.any():
        m = means[inside][:, None]
        traits[inside] = special.betaincinv(m * c, (1.0 - m) * c, uniform[inside])
    return {
        "willingness": traits[0],
        "time_to_engage": traits[1],
        "share_forward": traits[2],
        "expertise": rng.beta(p.peers.expertise_a, p.peers.expertise_b, (n, N_TYPES)),
    }


def staff_network(
    n_orgs: int, size: int, degree: int, rewiring: float, rng: np.random.Generator
) -> sparse.csr_array:
    """Watts-Strogatz networks, one per organisation, as one block-diagonal adjacency matrix.

    A ring lattice where each node links to its ``degree / 2`` nearest neighbours on each side;
    each edge's far end is rewired with probability ``rewiring`` to a uniform node of the same
    organisation. A rewiring that would make a self-loop or a duplicate keeps its lattice end.
    Built in NumPy for all organisations at once, so set-up is linear in staff.
    """
    half = degree // 2
    local = np.arange(size)
    src = np.repeat(local, half)
    dst = (src + np.tile(np.arange(1, half + 1), size)) % size
    offsets = np.repeat(np.arange(n_orgs) * size, len(src))
    src = np.tile(src, n_orgs) + offsets
    dst = np.tile(dst, n_orgs) + offsets
    rewire = rng.random(len(src)) < rewiring
    new_dst = offsets + rng.integers(0, size, len(src))
    candidate = np.where(rewire & (new_dst != src), new_dst, dst)
    total = n_orgs * size
    key = np.minimum(src, candidate) * total + np.maximum(src, candidate)
    _, first = np.unique(key, return_index=True)
    duplicate = np.ones(len(src), dtype=bool)
    duplicate[first] = False
    candidate = np.where(duplicate, dst, candidate)
    key = np.minimum(src, candidate) * total + np.maximum(src, candidate)
    _, keep = np.unique(key, return_index=True)
    src, candidate = src[keep], candidate[keep]
    rows = np.concatenate([src, candidate])
    cols = np.concatenate([candidate, src])
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_array((data, (rows, cols)), shape=(total, total))


_NETWORKS: dict[tuple, tuple[sparse.csr_array, dict]] = {}
_NETWORKS_KEPT = 16


def _cached_staff_network(
    n_orgs: int, size: int, degree: int, rewiring: float, rng: np.random.Generator
) -> sparse.csr_array:
    """``staff_network``, remembered by the generator's state and the network's parameters.

    Sweeps under common random numbers start every design row from the same few seeds, and the
    draws before the network do not depend on any parameter's value (traits are drawn by
    inversion), so the same networks recur. A hit returns the network built before and moves
    the generator to where building it would have left it: the result is bit-identical.
    """
    before = rng.bit_generator.state
    key = (repr(before), n_orgs, size, degree, float(rewiring))
    if key in _NETWORKS:
        adjacency, after = _NETWORKS[key]
        rng.bit_generator.state = after
        return adjacency
    adjacency = staff_network(n_orgs, size, degree, rewiring, rng)
    for array in (adjacency.data, adjacency.indices, adjacency.indptr):
        array.flags.writeable = False  # shared between runs: nothing may change it
    if len(_NETWORKS) >= _NETWORKS_KEPT:
        _NETWORKS.pop(next(iter(_NETWORKS)))
    _NETWORKS[key] = (adjacency, rng.bit_generator.state)
    return adjacency


def initial_state(p: SimpleNamespace, rng: np.random.Generator) -> State:
    """Draw the initial population: organisations, their staff networks and the peers."""
    n_orgs = p.population.home_organisations
    per_org = p.population.peers_per_organisation
    size = p.population.staff_per_organisation
    q = p.population.profile_categories
    c = p.population.trait_concentration
    n = n_orgs * per_org

    country = np.arange(n_orgs) % p.population.countries
    orgs = Organisations(
        country=country,
        openness=beta_around(rng, p.levers.home_openness, c, n_orgs),
        invest=beta_around(rng, p.home_organisations.willingness_to_invest, c, n_orgs),
        time_and_space=beta_around(rng, p.home_organisations.time_and_space, c, n_orgs),
        changed=np.zeros((n_orgs, N_TYPES), dtype=bool),
        changed_month=np.full((n_orgs, N_TYPES), -1),
    )

    adjacency = _cached_staff_network(
        n_orgs, size, p.home_organisations.staff_degree, p.home_organisations.staff_rewiring, rng
    )
    org = np.repeat(np.arange(n_orgs), per_org)
    seat = np.tile(np.arange(per_org), n_orgs)
    staff_node = org * size + seat * size // per_org
    is_peer = np.zeros(n_orgs * size, dtype=bool)
    is_peer[staff_node] = True
    staff = Staff(
        org=np.repeat(np.arange(n_orgs), size),
        adjacency=adjacency,
        adopted=np.zeros((n_orgs * size, N_TYPES), dtype=bool),
        is_peer=is_peer,
        org_size=np.full(n_orgs, size),
    )

    # Shared problems follow the country's reform agenda half the time (an assumption); the
    # other factors are drawn independently. A matching facilitator picks, for each position, the
    # candidate closest to the programme's focus (report: "clear goals let reformers pick
    # well-matched peers"); nominating by position takes the one candidate there is.
    focus = rng.integers(0, q, N_FACTORS)
    draws = p.facilitator.candidates if p.facilitator.selection == "matched" else 1
    candidates = rng.integers(0, q, (draws, n, N_FACTORS))
    follows_country = rng.random((draws, n)) < 0.5
    candidates[..., 0] = np.where(
        follows_country,
        rng.integers(0, q, p.population.countries)[country[org]],
        candidates[..., 0],
    )
    profile = closest_to_focus(candidates, focus)
    personal = draw_personal(p, rng, n)
    peers = Peers(
        org=org,
        staff_node=staff_node,
        profile=profile,
        willingness=personal["willingness"],
        time_to_engage=personal["time_to_engage"],
        share_forward=personal["share_forward"],
        expertise=personal["expertise"],
        exposure=np.zeros((n, N_TYPES)),
        learning=np.zeros((n, N_TYPES)),
        person=np.zeros(n, dtype=np.int64),
        engaged=np.zeros(n, dtype=bool),
        sustained=np.zeros(n, dtype=bool),
        practical=np.zeros(n, dtype=bool),
        applied=np.zeros(n, dtype=bool),
    )
    ties = Ties(
        alive=np.zeros((n, n), dtype=bool),
        trust=np.zeros((n, n)),
        age=np.zeros((n, n), dtype=np.int64),
        contract=np.zeros((n, n), dtype=np.int64),
        similarity=similarity_matrix(profile),
    )
    return State(peers=peers, ties=ties, staff=staff, orgs=orgs, month=Month.empty(n), focus=focus)
