"""The arrays peers, ties, staff and home organisations are made of.

Agents (``agents.py``) are the model's vocabulary; the per-month arithmetic reads and writes
these arrays, so one step costs a few NumPy operations however many peers and staff there are.
Index ``i`` is a peer's *position* (a seat a home organisation fills); when an official leaves,
a successor takes the same position with a fresh person.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
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


@dataclass
class Organisations:
    """Home organisations and their change at scale."""

    country: np.ndarray  # (O,)
    openness: np.ndarray  # (O,) omega
    invest: np.ndarray  # (O,) willingness to invest
    time_and_space: np.ndarray  # (O,)
    changed: np.ndarray  # (O, 4) bool, persists once institutionalised
    changed_month: np.ndarray  # (O, 4) month of change, -1 if none


@dataclass
class Month:
    """What happened this month, reset at its start (synchronous updates within a phase)."""

    contact: np.ndarray  # (N, N) bool, symmetric
    trust_gain: np.ndarray  # (N, N) alpha of the strongest contact
    reach: np.ndarray  # (N, N, 4) transfer chance r of the strongest contact
    reflection: np.ndarray  # (N,) reflection rate added by tools this month
    attended: np.ndarray  # (N,) bool
    departures: int = 0
    events: int = 0
    products: int = 0
    invited: int = 0
    attendance: int = 0

    @classmethod
    def empty(cls, n: int) -> Month:
        """A month in which nothing has happened yet."""
        return cls(
            contact=np.zeros((n, n), dtype=bool),
            trust_gain=np.zeros((n, n)),
            reach=np.zeros((n, n, N_TYPES)),
            reflection=np.zeros(n),
            attended=np.zeros(n, dtype=bool),
        )


@dataclass
class State:
    """Everything the mechanisms read and write."""

    peers: Peers
    ties: Ties
    staff: Staff
    orgs: Organisations
    month: Month
    focus: np.ndarray  # (F,) the programme's focus profile, for matched selection


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
    return {
        "willingness": beta_around(rng, p.peers.willingness_to_learn, c, n),
        "time_to_engage": beta_around(rng, p.peers.time_to_engage, c, n),
        "share_forward": beta_around(rng, p.levers.share_forward, c, n),
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

    adjacency = staff_network(
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
