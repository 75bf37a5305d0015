"""The initial population: home organisations, their staff networks, and the peers.

Every draw comes from the model's generator, in a fixed order (docs/ODD.md §5).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy import sparse, special

from simulation.state import Month, Organisations, Peers, Staff, State
from simulation.ties import Ties
from simulation.vocabulary import N_FACTORS, N_TYPES

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


def organisation_sizes(p: SimpleNamespace, rng: np.random.Generator) -> np.ndarray:
    """Staff of each home organisation, peers included.

    ``"equal"``: every organisation has ``population.staff_per_organisation`` (no draw).
    ``"zipf"``: heavy-tailed sizes, the O quantiles (j + 1/2) / O of a Pareto distribution of
    tail exponent ``population.size_exponent`` (Zipf's law of firm sizes: Axtell 2001, Science
    293:1818, exponent 1.06 for U.S. firms; for public organisations an assumption), scaled to
    the mean ``population.staff_per_organisation``, at least large enough for the organisation's
    peers and staff network, and dealt to the organisations in a random order (one permutation
    drawn from the model's generator).
    """
    n_orgs, mean = p.population.home_organisations, p.population.staff_per_organisation
    if p.population.organisation_sizes == "equal":
        return np.full(n_orgs, mean)
    quantile = (np.arange(n_orgs) + 0.5) / n_orgs
    weight = quantile ** (-1.0 / p.population.size_exponent)
    floor = max(p.population.peers_per_organisation, p.home_organisations.staff_degree) + 1
    sizes = np.maximum(np.round(mean * weight / weight.mean()).astype(np.int64), floor)
    return sizes[rng.permutation(n_orgs)]


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


def staff_networks(
    sizes: np.ndarray, degree: int, rewiring: float, rng: np.random.Generator
) -> sparse.csr_array:
    """``staff_network`` for organisations of any ``sizes``, in one block-diagonal matrix.

    The same rules, organisation by organisation; staff of organisation o are the contiguous
    block starting at the sum of the sizes before it. Equal sizes take ``staff_network`` itself.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if (sizes == sizes[0]).all():
        return staff_network(len(sizes), int(sizes[0]), degree, rewiring, rng)
    half = degree // 2
    start = np.concatenate([[0], np.cumsum(sizes)])
    total = int(start[-1])
    org_of = np.repeat(np.arange(len(sizes)), sizes)
    local = np.arange(total) - start[org_of]
    src = np.repeat(np.arange(total), half)
    edge_org = np.repeat(org_of, half)
    first, size = start[edge_org], sizes[edge_org]
    dst = first + (np.repeat(local, half) + np.tile(np.arange(1, half + 1), total)) % size
    rewire = rng.random(len(src)) < rewiring
    new_dst = first + rng.integers(0, size)
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


_NETWORKS: dict[tuple, tuple[sparse.csr_array, dict]] = {}
_NETWORKS_KEPT = 16


def _cached_staff_network(
    n_orgs: int,
    size: int | np.ndarray,
    degree: int,
    rewiring: float,
    rng: np.random.Generator,
) -> sparse.csr_array:
    """``staff_network``, remembered by the generator's state and the network's parameters.

    Sweeps under common random numbers start every design row from the same few seeds, and the
    draws before the network do not depend on any parameter's value (traits are drawn by
    inversion), so the same networks recur. A hit returns the network built before and moves
    the generator to where building it would have left it: the result is bit-identical.
    """
    before = rng.bit_generator.state
    sizes = np.broadcast_to(np.asarray(size, dtype=np.int64), (n_orgs,))
    key = (repr(before), n_orgs, sizes.tobytes(), degree, float(rewiring))
    if key in _NETWORKS:
        adjacency, after = _NETWORKS[key]
        rng.bit_generator.state = after
        return adjacency
    adjacency = staff_networks(sizes, degree, rewiring, rng)
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

    sizes = organisation_sizes(p, rng)
    start = np.concatenate([[0], np.cumsum(sizes)])
    adjacency = _cached_staff_network(
        n_orgs, sizes, p.home_organisations.staff_degree, p.home_organisations.staff_rewiring, rng
    )
    org = np.repeat(np.arange(n_orgs), per_org)
    seat = np.tile(np.arange(per_org), n_orgs)
    staff_node = start[org] + seat * sizes[org] // per_org
    is_peer = np.zeros(start[-1], dtype=bool)
    is_peer[staff_node] = True
    staff = Staff(
        org=np.repeat(np.arange(n_orgs), sizes),
        adjacency=adjacency,
        adopted=np.zeros((start[-1], N_TYPES), dtype=bool),
        is_peer=is_peer,
        org_size=sizes,
        org_start=start,
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
    ties = Ties(n, profile)
    return State(
        peers=peers, ties=ties, staff=staff, orgs=orgs, month=Month.empty(ties), focus=focus
    )
