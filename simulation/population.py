"""The initial population: home organisations, their staff networks, and the peers.

Every draw comes from the model's generator, in a fixed order (docs/ODD.md §5).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy import sparse

from simulation.beta_inversion import beta_traits
from simulation.compiled import kernel
from simulation.errors import HourglassError
from simulation.mechanisms import diffusion
from simulation.state import Month, Organisations, Peers, Staff, State
from simulation.ties import Ties
from simulation.vocabulary import N_FACTORS, N_TYPES

# Problems and goals belong to the organisation, tasks, standing and career level to the position;
# only education goes with the person, so a successor keeps the first five (report F4: position).
PERSONAL_FACTORS = np.array([False, False, False, False, False, True])


def beta_around(
    rng: np.random.Generator, mean: float, concentration: float, size: int
) -> np.ndarray:
    """Draw from a Beta distribution with the given mean; 0 and 1 are exact.

    By inversion of one uniform per value, so the generator advances alike whatever the mean and
    each individual's trait rises with the mean: scenarios that differ in a mean keep every other
    draw in step (common random numbers, which sensitivity analysis relies on).
    """
    uniform = rng.random((1, size))
    return beta_traits(np.array([float(mean)]), float(concentration), uniform)[0]


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
    # One inversion for the three traits: the same draws as three calls of beta_around (the
    # uniforms come in the same order), at a third of the overhead, as successors arrive monthly.
    traits = personal_traits(p, rng.random((3, n)))
    return {
        "willingness": traits[0],
        "time_to_engage": traits[1],
        "share_forward": traits[2],
        "expertise": rng.beta(p.peers.expertise_a, p.peers.expertise_b, (n, N_TYPES)),
    }


def personal_traits(p: SimpleNamespace, uniform: np.ndarray) -> np.ndarray:
    """(3, n): willingness, time to engage and share forward from their (3, n) uniforms.

    Each a beta of mean ``peers.willingness_to_learn``, ``peers.time_to_engage`` and
    ``levers.share_forward`` and concentration ``population.trait_concentration`` (the
    uniforms inverted, :func:`simulation.beta_inversion.beta_traits`); exactly 0 or 1 at a mean
    of 0 or 1.
    """
    means = np.array([p.peers.willingness_to_learn, p.peers.time_to_engage, p.levers.share_forward],
                     dtype=np.float64)
    return beta_traits(
        means, float(p.population.trait_concentration),
        np.ascontiguousarray(uniform, dtype=np.float64),
    )


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
    organisation. A rewiring that would make a self-loop or a duplicate (of an edge earlier in
    node order) keeps its lattice end. An organisation needs more staff than ``degree``. The
    draws come first, for all edges at once (a uniform each, then a node each); the wiring is
    compiled, organisation by organisation, so set-up time and memory are linear in staff.
    """
    _check_sizes(np.array([size]), degree)
    edges = n_orgs * size * (degree // 2)
    rewire = _rewired(edges, rewiring, rng)
    new_end = rng.integers(0, size, edges, dtype=_node_type(size))
    return _adjacency(np.full(n_orgs, size, dtype=np.int64), degree // 2, rewire, new_end)


def staff_networks(
    sizes: np.ndarray, degree: int, rewiring: float, rng: np.random.Generator
) -> sparse.csr_array:
    """``staff_network`` for organisations of any ``sizes``, in one block-diagonal matrix.

    The same rules, organisation by organisation; staff of organisation o are the contiguous
    block starting at the sum of the sizes before it. Equal sizes take ``staff_network`` itself.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    _check_sizes(sizes, degree)
    if (sizes == sizes[0]).all():
        return staff_network(len(sizes), int(sizes[0]), degree, rewiring, rng)
    half = degree // 2
    rewire = _rewired(int(sizes.sum()) * half, rewiring, rng)
    new_end = rng.integers(0, np.repeat(sizes, sizes * half), dtype=_node_type(sizes.max()))
    return _adjacency(sizes, half, rewire, new_end)


_CHUNK = 2**16
"""Uniforms drawn at a time for the rewiring (512 kB of them, reused): drawing a network's all at
once wrote 24 bytes of fresh memory a staff member that were read once."""


def _rewired(edges: int, rewiring: float, rng: np.random.Generator) -> np.ndarray:
    """(edges,) bool, each True with probability ``rewiring``: one uniform an edge, in order.

    The same uniforms as ``rng.random(edges) < rewiring`` (each is one draw of the generator,
    whatever the size of the call), drawn a chunk at a time into one buffer.
    """
    rewire = np.empty(edges, dtype=np.bool_)
    uniform = np.empty(min(edges, _CHUNK))
    for first in range(0, edges, _CHUNK):
        chunk = uniform[: min(_CHUNK, edges - first)]
        rng.random(out=chunk)
        np.less(chunk, rewiring, out=rewire[first : first + len(chunk)])
    return rewire


def _node_type(size: int) -> type:
    """The narrowest whole-number type NumPy draws a node below ``size`` in, with its draws.

    NumPy draws a bounded integer below 2^32 from the same 32-bit outputs whatever the type it
    returns, so int32 gives the values and the generator's state that int64 gives, in half the
    memory the wiring then reads.
    """
    return np.int32 if size <= np.iinfo(np.int32).max else np.int64


def _check_sizes(sizes: np.ndarray, degree: int) -> None:
    """Every organisation must have more staff than a node's ``degree`` lattice neighbours."""
    if len(sizes) and sizes.min() <= degree:
        raise HourglassError(
            f"staff network: every organisation needs more staff than the degree ({degree}), "
            f"as home_organisations.staff_degree must be below population.staff_per_organisation;"
            f" the smallest has {int(sizes.min())}"
        )


def _adjacency(
    sizes: np.ndarray, half: int, rewire: np.ndarray, new_end: np.ndarray
) -> sparse.csr_array:
    """The symmetric adjacency matrix (CSR, sorted indices) the compiled wiring returns."""
    total = int(sizes.sum())
    # 32-bit rows and columns whenever they fit: half the memory the wiring writes, and SciPy's
    # own choice for such a matrix.
    fits = max(total, 2 * len(rewire)) <= np.iinfo(np.int32).max
    index = np.int32 if fits else np.int64
    indptr = np.zeros(total + 1, dtype=index)
    indices = np.empty(2 * len(rewire), dtype=index)
    indices = indices[: _wire(sizes, half, rewire, new_end, indptr, indices)]
    adjacency = sparse.csr_array((_ones(len(indices)), indices, indptr), shape=(total, total))
    adjacency.has_sorted_indices = True
    return adjacency


def _ones(n: int) -> np.ndarray:
    """(n,) float32 ones, read-only: every edge of a staff network has the value 1.

    One value seen n times (a stride of 0), so a network's values take no memory: the
    compiled code reads only the rows and columns, and SciPy's operations take the view as it
    is (writing 4 bytes an edge of ones nobody reads cost a tenth of the set-up at 10^7 staff).
    """
    return np.broadcast_to(np.float32(1.0), (n,))


@kernel
def _wire(
    sizes: np.ndarray,
    half: int,
    rewire: np.ndarray,
    new_end: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
) -> int:  # pragma: no cover - compiled; tested through staff_network
    """Wire each organisation's ring lattice into ``indptr`` and ``indices``; return the edges.

    ``indptr`` (zeros, total staff + 1) and ``indices`` (two slots an edge) are the CSR arrays
    to fill; the count returned is how many of ``indices`` are filled.

    Edge e of an organisation of s staff joins node e // half to (e // half + e % half + 1) mod
    s, or to ``new_end[e]`` if ``rewire[e]`` and that is not the node itself. Of edges joining
    the same two nodes the first (in edge order) keeps its new end and the others their lattice
    end; then each pair of nodes is one edge. Every organisation has more than ``2 half`` staff
    (:func:`staff_networks` checks), so no two lattice edges join the same two nodes.
    """
    total = sizes.sum()
    # One organisation's scratch, allocated once for the largest: a few MB each time for a
    # large organisation, which the allocator handed back to the system and took again fresh.
    largest = sizes.max() if len(sizes) else 0
    degree = np.empty(largest + 1, dtype=np.int64)
    filled = np.empty(largest, dtype=np.int64)
    moved = np.empty(largest * half, dtype=np.bool_)
    candidates = np.empty(largest * half, dtype=np.int64)
    keys = np.empty(largest * half, dtype=np.int64)
    kept = np.empty(largest * half, dtype=np.bool_)
    offset, first = 0, 0
    for o in range(len(sizes)):
        m = sizes[o] * half
        _ring(sizes[o], half, rewire[offset : offset + m], new_end[offset : offset + m], first,
              indptr, indices, degree, filled, moved, candidates, keys, kept)
        offset += m
        first += sizes[o]
    return indptr[total]


@kernel
def _ring(
    s: int,
    half: int,
    rewire: np.ndarray,
    new_end: np.ndarray,
    first: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    degree: np.ndarray,
    filled: np.ndarray,
    moved: np.ndarray,
    candidates: np.ndarray,
    keys: np.ndarray,
    kept: np.ndarray,
) -> None:  # pragma: no cover - compiled; tested through staff_network
    """One organisation's rows of the matrix, its staff numbered from ``first``.

    The lattice edges that stand are walked node by node, without a division per edge (which
    cost half of the wiring); the edges rewiring moved come from :func:`_moved`. Each row is
    sorted. Scratch: ``degree`` of at least s + 1 elements, ``filled`` of s, ``moved`` to
    ``kept`` of s half.
    """
    moved = moved[: s * half]
    extra = _moved(s, half, rewire, new_end, moved, candidates, keys, kept)
    degree = degree[: s + 1]
    degree[:] = 0
    e = 0
    for node in range(s):
        for step in range(1, half + 1):
            if not moved[e]:
                degree[node + 1] += 1
                degree[(node + step - s if node + step >= s else node + step) + 1] += 1
            e += 1
    for e in extra:
        degree[e // half + 1] += 1
        degree[new_end[e] + 1] += 1
    for node in range(s):
        degree[node + 1] += degree[node]
    base = indptr[first]
    filled = filled[:s]
    filled[:] = degree[:-1]
    e = 0
    for node in range(s):
        for step in range(1, half + 1):
            if not moved[e]:
                far = node + step - s if node + step >= s else node + step
                _both_ways(node, far, first, base, filled, indices)
            e += 1
    for e in extra:
        _both_ways(e // half, new_end[e], first, base, filled, indices)
    for node in range(s):
        indptr[first + node + 1] = base + degree[node + 1]
        # An insertion sort: a row holds a handful of neighbours, nearly in order already,
        # where a NumPy sort call per row cost three quarters of the wiring.
        for a in range(base + degree[node] + 1, base + degree[node + 1]):
            value = indices[a]
            b = a
            while b > base + degree[node] and indices[b - 1] > value:
                indices[b] = indices[b - 1]
                b -= 1
            indices[b] = value


@kernel
def _moved(
    s: int,
    half: int,
    rewire: np.ndarray,
    new_end: np.ndarray,
    moved: np.ndarray,
    candidates: np.ndarray,
    keys: np.ndarray,
    kept: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; tested through staff_network
    """Which of an organisation's edges leave the lattice, and those that add an edge.

    Only the edges rewiring moved off the lattice (a tenth of them at the usual rewiring) are
    looked at. One joining the same two nodes as an earlier edge takes its lattice end back: an
    earlier moved edge (their pairs sorted, stably, so in edge order) or the one lattice edge
    that may join them, if that stands. Then each pair of nodes is one edge: a moved edge on
    the pair of a lattice edge that stands adds none. Sets ``moved`` (s half: whether each
    edge's lattice edge is gone) and returns the moved edges that add an edge (in edge order),
    a new array; ``candidates``, ``keys`` and ``kept`` are scratch of at least s half.
    """
    moved[:] = False
    n = 0
    e = 0
    for node in range(s):
        for step in range(1, half + 1):
            far = node + step - s if node + step >= s else node + step
            if rewire[e] and new_end[e] != node and new_end[e] != far:
                moved[e] = True
                candidates[n] = e
                n += 1
            e += 1
    candidates = candidates[:n]
    keys = keys[:n]
    for k in range(n):
        e = candidates[k]
        keys[k] = min(e // half, new_end[e]) * s + max(e // half, new_end[e])
    order = np.argsort(keys, kind="mergesort")
    kept = kept[:n]
    kept[:] = True
    for r in range(1, n):
        kept[order[r]] = keys[order[r]] != keys[order[r - 1]]
    for k in range(n):
        same = _lattice_edge(candidates[k] // half, new_end[candidates[k]], s, half)
        kept[k] = kept[k] and not (0 <= same < candidates[k] and not moved[same])
    for k in range(n):
        moved[candidates[k]] = kept[k]
    for k in range(n):
        same = _lattice_edge(candidates[k] // half, new_end[candidates[k]], s, half)
        kept[k] = kept[k] and not (same >= 0 and not moved[same])
    return candidates[kept]


@kernel
def _lattice_edge(u: int, x: int, s: int, half: int) -> int:  # pragma: no cover - compiled
    """The lattice edge joining nodes u and x of a ring of s > 2 half nodes, or -1."""
    distance = x - u + s if x < u else x - u
    if 1 <= distance <= half:
        return u * half + distance - 1
    if 1 <= s - distance <= half:
        return x * half + s - distance - 1
    return -1


@kernel
def _both_ways(
    u: int, x: int, first: int, base: int, filled: np.ndarray, indices: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Add the edge u-x to both rows."""
    indices[base + filled[u]] = first + x
    filled[u] += 1
    indices[base + filled[x]] = first + u
    filled[x] += 1


_NETWORKS: dict[tuple, tuple[sparse.csr_array, dict]] = {}
_NETWORKS_KEPT = 16
_NETWORKS_BYTES = 256 * 2**20
"""At most this many networks, and this many bytes of them, are remembered (oldest out first):
a national programme's million-staff network is tens of megabytes, a baseline's tens of kB."""


def _nbytes(adjacency: sparse.csr_array) -> int:
    """The memory a network holds: its rows and columns (its values are one number, shared)."""
    return adjacency.indices.nbytes + adjacency.indptr.nbytes


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
    size_of = _nbytes(adjacency)
    if size_of > _NETWORKS_BYTES:
        return adjacency  # bigger than the whole budget: built again next time
    while _NETWORKS and (
        len(_NETWORKS) >= _NETWORKS_KEPT
        or sum(_nbytes(kept) for kept, _ in _NETWORKS.values()) + size_of > _NETWORKS_BYTES
    ):
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
        foundational=np.zeros(n_orgs, dtype=np.int64),
        engaged=np.zeros(n_orgs, dtype=bool),
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
    # Drawn last, and only when they vary, so the rest of the population is the same whatever
    # the thresholds.
    staff = Staff(
        org=np.repeat(np.arange(n_orgs), sizes),
        adjacency=adjacency,
        adopted=np.zeros((start[-1], N_TYPES), dtype=bool),
        is_peer=is_peer,
        org_size=sizes,
        org_start=start,
        threshold=diffusion.colleague_thresholds(p, np.diff(adjacency.indptr), rng),
    )
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
        sustained_contact=np.zeros(n, dtype=bool),
        learned_with_contacts=np.zeros(n),
        learned_alone=np.zeros(n),
        shares=np.zeros(n, dtype=np.int64),
    )
    ties = Ties(n, profile)
    return State(
        peers=peers, ties=ties, staff=staff, orgs=orgs, month=Month.empty(ties), focus=focus
    )
