"""Submodel: share forward into the home organisation, diffusion through its staff, change at scale.

What a peer can share forward is what it learned practically: it carries a lesson of type k
when its practical learning L_ik >= theta_L (``simulation.stages.carried_lessons``, the same
definition the observer's practical-learning stage uses), and a peer with none has nothing to
share. Each month a carrier shares forward with
chance w_i x (time and space of the home organisation): the peer applies the lesson at work, so
the peer's own node in the staff network becomes an adopter and its colleagues see it (report
Figure 12, horizontal connections). Colleagues adopt by simple contagion, 1 - (1 - beta_o
omega)^a with a adopted neighbours, or by complex contagion, beta_o omega once a >= m and epsilon
omega below (Centola & Macy 2007; Eckles et al. 2024), omega being the organisation's openness.
An organisation changes at scale for type k when the share of its staff who adopted reaches Phi
(Centola et al. 2018); the change is institutionalised and persists.

Three ways of taking lessons home act when a peer shares forward (all off by default): structured
in-house sharing (each colleague in the peer's team, its staff-network neighbours, adopts each
carried lesson with chance s x omega; report, Georgia), and dissemination events (with chance d
the peer convenes ``diffusion.convened`` colleagues, drawn from its own organisation or, for the
share ``diffusion.national_chapters``, from the other home organisations of its country; each
adopts each carried lesson with chance omega of their organisation; report Figure 12 and AfCoP).
Background adoption is change that would have happened anyway: each month every colleague adopts
each type on their own with chance ``home_organisations.background_adoption``, drawn from a
stream of its own so a scenario and its no-peer-learning counterfactual share the draws.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
from scipy import sparse

from simulation.compiled import inlined, kernel
from simulation.errors import HourglassError
from simulation.stages import carried_lessons
from simulation.state import (
    Organisations,
    Peers,
    Staff,
    StaffArrays,
    State,
    count_adopted_neighbours,
    staff_changed,
)
from simulation.streams import as_generator, handle
from simulation.ties import TieArrays


class Settings(NamedTuple):
    """The scenario values the compiled diffusion loops read, named as in the scenario."""

    report_backs: float  # facilitator.report_backs
    contract_share_forward: float  # contact.contract_share_forward
    sharing_occasions: float  # diffusion.sharing_occasions
    simple_contagion: np.ndarray  # diffusion.contagion == "simple", by learning type
    adoption_rate: float  # diffusion.adoption_rate
    below_threshold: float  # diffusion.below_threshold
    carry_threshold: float  # reflection.carry_threshold: what a peer carries to share
    discontinuance: float  # diffusion.discontinuance
    change_threshold: float  # home_organisations.change_threshold
    background_adoption: float  # home_organisations.background_adoption

    @classmethod
    def of(cls, p: SimpleNamespace) -> Settings:
        """Read the settings from the scenario's parameters (once per run)."""
        return cls(
            report_backs=float(p.facilitator.report_backs),
            contract_share_forward=float(p.contact.contract_share_forward),
            sharing_occasions=float(p.diffusion.sharing_occasions),
            simple_contagion=np.array([rule == "simple" for rule in p.diffusion.contagion]),
            adoption_rate=float(p.diffusion.adoption_rate),
            below_threshold=float(p.diffusion.below_threshold),
            carry_threshold=float(p.reflection.carry_threshold),
            discontinuance=float(p.diffusion.discontinuance),
            change_threshold=float(p.home_organisations.change_threshold),
            background_adoption=float(p.home_organisations.background_adoption),
        )


def colleague_thresholds(
    p: SimpleNamespace, degree: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Each colleague's complex-contagion threshold, in adopted neighbours needed.

    With ``diffusion.threshold_spread`` = 0 every colleague has the centre
    (``diffusion.complex_threshold`` neighbours, or ``diffusion.threshold_share`` of its
    neighbours) and nothing is drawn; otherwise one draw per staff member from
    ``diffusion.threshold_distribution`` (see :func:`draw_thresholds`).

    Args:
        p: Parameters.
        degree: (S,) each staff member's neighbours in the staff network.
        rng: The model's generator.

    Returns:
        (S,) float, the adopted neighbours each colleague needs (0: adopts on its own).
    """
    d = p.diffusion
    unit = d.threshold_unit
    centre = d.complex_threshold if unit == "neighbours" else d.threshold_share
    if d.threshold_spread > 0:
        theta = draw_thresholds(
            len(degree), centre, d.threshold_spread, d.threshold_distribution, unit, rng
        )
    else:
        theta = np.full(len(degree), float(centre))
    return needed_neighbours(theta, degree, unit)


def draw_thresholds(
    n: int, centre: float, spread: float, distribution: str, unit: str, rng: np.random.Generator
) -> np.ndarray:
    """``n`` thresholds around ``centre``: one draw each from ``rng``.

    ``"normal"``: N(centre, spread) (Granovetter 1978); ``"uniform"``: centre +- spread. In
    ``"neighbours"`` a threshold is a whole number (normal draws rounded; uniform: each whole
    number in [centre - spread, centre + spread] equally likely). A draw below 0 is 0: a
    spontaneous adopter.
    """
    # In place: at national scale each temporary was tens of MB of fresh memory.
    if distribution == "normal":
        theta = rng.normal(centre, spread, n)
        if unit == "neighbours":
            np.round(theta, out=theta)
    elif unit == "neighbours":
        low, high = np.ceil(centre - spread), np.floor(centre + spread)
        theta = rng.integers(int(low), int(high) + 1, n).astype(np.float64)
    else:
        theta = rng.uniform(centre - spread, centre + spread, n)
    return np.maximum(theta, 0.0, out=theta)


def needed_neighbours(theta: np.ndarray, degree: np.ndarray, unit: str) -> np.ndarray:
    """Thresholds in adopted neighbours: as they are, or a share of each colleague's degree.

    A share theta of d neighbours needs the least whole number of them at or above theta x d
    (up to rounding error, so 13/99 of 99 is 13); a positive share needs at least one (a
    colleague with no neighbours never reaches it; Watts 2002). In ``"neighbours"`` the
    thresholds come back as they are, not copied (``Staff`` keeps its own whole numbers): at
    national scale a copy was tens of MB of fresh memory.
    """
    theta = np.asarray(theta, dtype=np.float64)
    if unit == "neighbours":
        return theta
    return np.where(theta > 0, np.maximum(np.ceil(theta * degree - 1e-9), 1.0), 0.0)


def share_forward(state: State, p: SimpleNamespace, month: int, rng: np.random.Generator) -> None:
    """Carriers of practical lessons share them at home; each share is counted for the sharer."""
    staff = state.staff
    carries, sharers, staff.adopters = share_month(
        state.peers, state.orgs, state.ties.arrays, staff.arrays(), month, p.settings.diffusion,
        handle(rng),
    )
    sharing_at_home(state, carries, sharers, p, rng)


def sharing_at_home(
    state: State, carries: np.ndarray, sharers: np.ndarray, p: SimpleNamespace,
    rng: np.random.Generator,
) -> None:
    """In-house sharing and dissemination events of this month's ``sharers`` (when on)."""
    if p.home_organisations.structured_sharing > 0 and len(sharers):
        share_in_team(state, sharers, carries, p.home_organisations.structured_sharing, rng)
    if p.levers.dissemination > 0 and len(sharers):
        conveners = sharers[rng.random(len(sharers)) < p.levers.dissemination]
        if len(conveners):
            convene(state, conveners, carries, p, rng)


@inlined
def share_month(
    peers: Peers,
    orgs: Organisations,
    ties: TieArrays,
    staff: StaffArrays,
    month: int,
    q: Settings,
    rng: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The month of :func:`share_forward` before in-house sharing and dissemination.

    ``rng`` is the generator's handle: one uniform per position when some peer carries a lesson,
    none otherwise. Returns the lessons carried, the sharers and the staff's adopters after.
    """
    carries = carried_lessons(peers.learning, q.carry_threshold)
    carriers = np.zeros(len(carries), dtype=np.bool_)
    for i in range(len(carries)):
        for k in range(carries.shape[1]):
            carriers[i] |= carries[i, k]
    if not carriers.any():
        return carries, np.zeros(0, dtype=np.int64), staff.adopters
    draws = as_generator(rng).random(len(carries))
    ramp = min(1.0, month / 12)
    sharers = np.flatnonzero(_share(draws, carries, carriers, ramp, q, peers, orgs, ties,
                                    staff.adopted))
    return carries, sharers, staff_changed(staff, peers.staff_node[sharers])


@inlined
def _share(
    draws: np.ndarray,
    carries: np.ndarray,
    carriers: np.ndarray,
    ramp: float,
    q: Settings,
    peers: Peers,
    orgs: Organisations,
    ties: TieArrays,
    adopted: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; tested through share_forward
    """Each carrier shares with chance o x min(1, w_i + w_K [under contract]) x time and space.

    Time and space grows with report-backs, in full after a year (``ramp`` = min(1, month / 12)).
    Returns who shared.
    """
    n = len(draws)
    shares = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if not carriers[i]:
            continue
        room = orgs.time_and_space[peers.org[i]]
        room = room + q.report_backs * (1.0 - room) * ramp
        under_contract = 0.0
        s = ties.head[i]
        while s >= 0:
            if ties.contract[s] > 0:
                under_contract = 1.0
                break
            s = ties.link[s, 0 if ties.a[s] == i else 1, 0]
        willing = min(1.0, peers.share_forward[i] + q.contract_share_forward * under_contract)
        if draws[i] < q.sharing_occasions * willing * room:
            shares[i] = True
            for k in range(carries.shape[1]):
                adopted[peers.staff_node[i], k] |= carries[i, k]
            peers.shares[i] += 1
    return shares


def _adopt(
    state: State,
    nodes: np.ndarray,
    lessons: np.ndarray,
    chance: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Colleagues ``nodes`` adopt each of their ``lessons`` (rows of 4 bools) with ``chance``."""
    keep = ~state.staff.is_peer[nodes]
    nodes, lessons, chance = nodes[keep], lessons[keep], chance[keep]
    if len(nodes) == 0:
        return
    takes = lessons & (rng.random(lessons.shape) < chance[:, None])
    np.logical_or.at(state.staff.adopted, nodes, takes)
    state.staff.changed(nodes)


def share_in_team(
    state: State,
    sharers: np.ndarray,
    carries: np.ndarray,
    strength: float,
    rng: np.random.Generator,
) -> None:
    """Structured in-house sharing: the sharers' staff-network neighbours may adopt directly.

    Args:
        state: The model state.
        sharers: Positions of the peers who shared forward this month.
        carries: (N, 4) bool, the lessons each peer carries.
        strength: ``home_organisations.structured_sharing``.
        rng: The model's generator.
    """
    staff = state.staff
    adjacency = staff.adjacency
    nodes, owners = [], []
    for position in sharers:
        node = state.peers.staff_node[position]
        team = adjacency.indices[adjacency.indptr[node] : adjacency.indptr[node + 1]]
        nodes.append(team)
        owners.append(np.full(len(team), position))
    team_nodes = np.concatenate(nodes)
    owner = np.concatenate(owners)
    openness = state.orgs.openness[staff.org[team_nodes]]
    _adopt(state, team_nodes, carries[owner], strength * openness, rng)


def convene(
    state: State,
    conveners: np.ndarray,
    carries: np.ndarray,
    p: SimpleNamespace,
    rng: np.random.Generator,
) -> None:
    """Dissemination events: each convener brings ``diffusion.convened`` colleagues together.

    Each seat goes, with chance ``diffusion.national_chapters``, to a colleague of another home
    organisation of the convener's country (if it has another), else to one of its own.

    Args:
        state: The model state.
        conveners: Positions of the peers convening an event this month.
        carries: (N, 4) bool, the lessons each peer carries.
        p: Parameters.
        rng: The model's generator.
    """
    orgs, staff = state.orgs, state.staff
    seats = p.diffusion.convened
    owner = np.repeat(conveners, seats)
    home = state.peers.org[owner]
    org = home.copy()
    if p.diffusion.national_chapters > 0:
        country = orgs.country[home]
        n_countries = int(orgs.country.max()) + 1
        n_orgs = len(orgs.country)
        in_country = (n_orgs - country + n_countries - 1) // n_countries  # orgs c, c+C, ...
        away = (rng.random(len(owner)) < p.diffusion.national_chapters) & (in_country > 1)
        # A uniform other organisation of the same country: skip over the home one.
        pick = rng.integers(0, np.maximum(in_country - 1, 1))
        rank = home // n_countries
        pick = np.where(pick >= rank, pick + 1, pick)
        org = np.where(away, country + pick * n_countries, home)
    nodes = staff.org_start[org] + rng.integers(0, staff.org_size[org])
    _adopt(state, nodes, carries[owner], orgs.openness[org], rng)


def background_adoption(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Colleagues adopt each type on their own with the monthly background hazard.

    Args:
        state: The model state.
        p: Parameters.
        rng: The background stream (not the model's main generator), so that draws line up
            between a scenario and its counterfactual.
    """
    staff = state.staff
    picked = background_draws(staff.adopted.size, p.home_organisations.background_adoption, rng)
    if len(picked):
        staff.adopters = adopt_in_background(staff.arrays(), picked)


def background_draws(cells: int, hazard: float, rng: np.random.Generator) -> np.ndarray:
    """The staff-and-type cells (node x 4 + type) that adopt in the background this month.

    As many Bernoulli(hazard) draws as cells, but drawn as a count and positions: the cost
    follows the few adoptions, not the size of the staff. The draws depend on nothing in the
    state, so the month may draw them first.
    """
    if hazard <= 0:
        return np.zeros(0, dtype=np.int64)
    adoptions = rng.binomial(cells, hazard)
    if adoptions == 0:  # most months at a small hazard: no position drawn (none would be)
        return np.zeros(0, dtype=np.int64)
    return rng.integers(0, cells, adoptions)


@kernel
def adopt_in_background(
    staff: StaffArrays, picked: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through background_adoption
    """Colleagues adopt the ``picked`` cells (not peers' own nodes); returns the adopters."""
    n_types = staff.adopted.shape[1]
    kept = np.empty(len(picked), dtype=np.int64)
    count = 0
    for cell in picked:
        node, lesson = cell // n_types, cell % n_types
        if not staff.is_peer[node]:
            staff.adopted[node, lesson] = True
            kept[count] = node
            count += 1
    return staff_changed(staff, kept[:count])


def spread(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Colleagues adopt lessons from adopted neighbours (and spontaneous adopters alone)."""
    contagion_step(state.staff, state.orgs.openness, p.settings.diffusion, rng)


def contagion_step(
    staff: Staff, openness: np.ndarray, q: Settings, rng: np.random.Generator
) -> None:
    """One month of contagion through the staff network: the model's and :func:`cascade`'s.

    The colleagues looked at are those with an adopted neighbour and those whose threshold is 0;
    each draws one uniform per learning type, in ascending order of staff member, and all adopt
    at once from the neighbours who had adopted before the step (synchronous updating).

    Args:
        staff: The staff, their network, thresholds and adoptions (updated in place).
        openness: (O,) openness omega of each organisation.
        q: The diffusion settings.
        rng: The generator the draws come from.
    """
    staff.adopters = spread_month(staff.arrays(), openness, q, handle(rng))


@inlined
def spread_month(
    staff: StaffArrays, openness: np.ndarray, q: Settings, rng: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through spread and cascade
    """:func:`contagion_step` compiled (``rng``: the generator's handle); returns the adopters."""
    if len(staff.adopters) == 0 and len(staff.spontaneous) == 0:
        return staff.adopters
    # The exposed and the spontaneous colleagues (with no adopted neighbour: counts of 0), in
    # one walk.
    exposed, count = count_adopted_neighbours(staff, staff.spontaneous)
    if len(exposed) == 0:
        return staff.adopters
    _adopt_from_neighbours(
        exposed,
        count,
        as_generator(rng).random((len(exposed), count.shape[1])),
        openness,
        staff.org,
        staff.adopted,
        staff.threshold,
        q,
    )
    return staff_changed(staff, exposed)


_KEPT = 8
"""Counts of adopted neighbours whose simple-contagion chance is kept per organisation."""


@kernel
def _adopt_from_neighbours(
    exposed: np.ndarray,
    count: np.ndarray,
    draws: np.ndarray,
    openness: np.ndarray,
    org: np.ndarray,
    adopted: np.ndarray,
    threshold: np.ndarray,
    q: Settings,
) -> None:  # pragma: no cover - compiled; tested through spread and cascade
    """Adopt by contagion, one draw per colleague looked at and type.

    Simple contagion 1 - (1 - beta_o omega)^a; complex beta_o omega from the colleague's
    threshold of adopted neighbours on (from none if it is 0), epsilon omega below it with at
    least one.
    """
    # Simple contagion's chance depends on the organisation and the count alone: the exposed
    # come by organisation (ascending staff), so the organisation's chances of a few adopted
    # neighbours are kept, each computed once as below (bit for bit the same; pow was half the
    # loop's cost with thousands exposed).
    kept = np.empty(_KEPT)
    kept_org = -1
    for row in range(len(exposed)):
        node = exposed[row]
        omega = openness[org[node]]
        rate = q.adoption_rate * omega
        needed = threshold[node]
        if org[node] != kept_org:
            kept_org = org[node]
            kept[:] = np.nan
        for k in range(count.shape[1]):
            a = count[row, k]
            if q.simple_contagion[k]:
                if a < _KEPT:
                    chance = kept[a]
                    if np.isnan(chance):
                        chance = 1.0 - (1.0 - rate) ** float(a)
                        kept[a] = chance
                else:
                    chance = 1.0 - (1.0 - rate) ** float(a)
            elif a >= needed:
                chance = rate
            elif a >= 1:
                chance = q.below_threshold * omega
            else:
                chance = 0.0
            if draws[row, k] < chance:
                adopted[node, k] = True


def discontinue(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Colleagues drop practices their organisation has not institutionalised."""
    state.staff.adopters = discontinue_month(
        state.staff.arrays(), state.orgs.changed, p.settings.diffusion, handle(rng)
    )


@inlined
def discontinue_month(
    staff: StaffArrays, changed: np.ndarray, q: Settings, rng: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through discontinue
    """:func:`discontinue` compiled: one uniform per colleague adopter and type."""
    if q.discontinuance <= 0:
        return staff.adopters
    adopters = staff.adopters[~staff.is_peer[staff.adopters]]
    if len(adopters) == 0:
        return staff.adopters
    draws = as_generator(rng).random((len(adopters), staff.adopted.shape[1]))
    _drop(adopters, draws, q.discontinuance, staff.org, changed, staff.adopted)
    return staff_changed(staff, adopters)


@kernel
def _drop(
    adopters: np.ndarray,
    draws: np.ndarray,
    rate: float,
    org: np.ndarray,
    changed: np.ndarray,
    adopted: np.ndarray,
) -> None:  # pragma: no cover - compiled; tested through discontinue
    """Each adopted practice not institutionalised in the organisation is dropped at ``rate``."""
    for row in range(len(adopters)):
        node = adopters[row]
        for k in range(adopted.shape[1]):
            if adopted[node, k] and not changed[org[node], k] and draws[row, k] < rate:
                adopted[node, k] = False


def adopted_share(state: State) -> np.ndarray:
    """(organisations, 4) share of each organisation's staff who adopted each type."""
    staff = state.staff
    return staff.adopted_by_org() / staff.org_size[:, None]


def change_at_scale(state: State, p: SimpleNamespace, month: int) -> None:
    """Flag organisations whose adopted share reached the change threshold."""
    change_month(state.staff.arrays(), state.orgs, month, p.settings.diffusion)


@inlined
def change_month(
    staff: StaffArrays, orgs: Organisations, month: int, q: Settings
) -> None:  # pragma: no cover - compiled; tested through change_at_scale
    """:func:`change_at_scale` compiled: adopters counted by organisation and type."""
    if len(staff.adopters) == 0:
        return
    n_types = staff.adopted.shape[1]
    counts = np.zeros((len(staff.org_size), n_types), dtype=np.int64)
    for node in staff.adopters:
        for k in range(n_types):
            counts[staff.org[node], k] += staff.adopted[node, k]
    for o in range(len(staff.org_size)):
        for k in range(n_types):
            if counts[o, k] / staff.org_size[o] >= q.change_threshold and not orgs.changed[o, k]:
                orgs.changed[o, k] = True
                orgs.changed_month[o, k] = month


class Cascade(NamedTuple):
    """What :func:`cascade` returns."""

    adopted: np.ndarray  # (n,) bool: who had adopted when the cascade stopped
    curve: np.ndarray  # (steps + 1,) adopters before the first step and after each step


def cascade(
    graph: object,
    thresholds: float | np.ndarray,
    seeds: np.ndarray | list[int],
    rng: int | np.random.Generator,
    *,
    unit: str = "neighbours",
    contagion: str = "complex",
    adoption_rate: float = 1.0,
    below_threshold: float = 0.0,
    steps: int | None = None,
) -> Cascade:
    """Run the staff-diffusion submodel on a graph of one's own (docking, docs/ODD.md §7.6).

    The same compiled step the model runs each month (:func:`contagion_step`): one lesson, one
    organisation of openness 1, no peers, no discontinuance. With the defaults (chance 1 at the
    threshold, 0 below it) it is Granovetter's (1978) deterministic threshold model on a graph,
    updated synchronously; ``contagion="simple"`` adopts with chance 1 - (1 - adoption_rate)^a.

    Args:
        graph: An undirected networkx graph (nodes in ``graph.nodes`` order), a SciPy sparse
            matrix or array, or a dense square array; entry (i, j) nonzero means j sees i.
        thresholds: One threshold, or one per node, in ``unit``.
        seeds: The nodes that have adopted before the first step.
        rng: Seed or generator for the draws (one uniform per node looked at per step).
        unit: ``"neighbours"`` (adopted neighbours needed) or ``"share"`` (a share of the node's
            neighbours).
        contagion: ``"complex"`` (thresholds) or ``"simple"`` (thresholds unused).
        adoption_rate: beta, the chance of adopting at or above the threshold (simple: per
            adopted neighbour).
        below_threshold: epsilon, the chance of adopting below it with an adopted neighbour.
        steps: How many steps to run; ``None``: until a step adds no adopter (the end when
            adoption_rate is 1 and below_threshold is 0; otherwise give ``steps``).

    Returns:
        The final adopters and the adopters' count before and after each step.

    Raises:
        HourglassError: An argument is outside what is allowed (named in the message).
    """
    adjacency = _as_adjacency(graph)
    n = adjacency.shape[0]
    if unit not in ("neighbours", "share"):
        raise HourglassError(f"cascade: unit must be 'neighbours' or 'share', not {unit!r}")
    if contagion not in ("simple", "complex"):
        raise HourglassError(f"cascade: contagion must be 'simple' or 'complex', not {contagion!r}")
    theta = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (n,))
    if np.isnan(theta).any() or (theta < 0).any():
        raise HourglassError("cascade: thresholds must be numbers >= 0")
    seeds = np.unique(np.asarray(seeds, dtype=np.int64))
    if len(seeds) and (seeds.min() < 0 or seeds.max() >= n):
        raise HourglassError(f"cascade: seeds must be nodes 0..{n - 1}")
    for name, value in (("adoption_rate", adoption_rate), ("below_threshold", below_threshold)):
        if not 0.0 <= value <= 1.0:
            raise HourglassError(f"cascade: {name} must be in [0, 1], not {value!r}")
    rng = np.random.default_rng(rng)
    staff = Staff(
        org=np.zeros(n, dtype=np.int64),
        adjacency=adjacency,
        adopted=np.zeros((n, 1), dtype=np.bool_),
        is_peer=np.zeros(n, dtype=np.bool_),
        org_size=np.array([n]),
        org_start=np.array([0, n]),
        threshold=needed_neighbours(theta, np.bincount(adjacency.indices, minlength=n), unit),
    )
    staff.adopted[seeds, 0] = True
    staff.changed(seeds)
    q = Settings(
        report_backs=0.0,
        contract_share_forward=0.0,
        sharing_occasions=0.0,
        simple_contagion=np.array([contagion == "simple"]),
        adoption_rate=float(adoption_rate),
        below_threshold=float(below_threshold),
        carry_threshold=np.inf,
        discontinuance=0.0,
        change_threshold=np.inf,
        background_adoption=0.0,
    )
    openness = np.ones(1)
    curve = [len(staff.adopters)]
    while steps is None or len(curve) <= steps:
        contagion_step(staff, openness, q, rng)
        curve.append(len(staff.adopters))
        if steps is None and curve[-1] == curve[-2]:
            break
    return Cascade(adopted=staff.adopted[:, 0].copy(), curve=np.array(curve))


def _as_adjacency(graph: object) -> sparse.csr_array:
    """A graph as a CSR adjacency of 0/1 without self-loops."""
    if hasattr(graph, "adj") and hasattr(graph, "nodes"):  # a networkx graph
        import networkx as nx  # noqa: PLC0415 - loaded only for a networkx graph

        graph = nx.to_scipy_sparse_array(graph, nodelist=list(graph.nodes), format="csr")
    edges = sparse.coo_array(graph)
    if edges.ndim != 2 or edges.shape[0] != edges.shape[1]:
        raise HourglassError(f"cascade: graph must be square, not of shape {edges.shape}")
    keep = (edges.row != edges.col) & (edges.data != 0)
    adjacency = sparse.csr_array(
        (np.ones(keep.sum(), dtype=np.int8), (edges.row[keep], edges.col[keep])),
        shape=edges.shape,
    )
    adjacency.sum_duplicates()
    adjacency.data[:] = 1
    return adjacency
