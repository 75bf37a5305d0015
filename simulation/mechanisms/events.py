"""Submodel: the facilitator's tools (foundational engagement and sustaining tools).

Each month the facilitator runs the tools its calendar holds. For each use, invited peers attend
with a chance set by their time to engage, their organisation's willingness to invest and the
facilitator's logistics support. Attendees of a gathering are split into groups (matched on the
profile with chance ``levers.matching``, else around prior contacts or by luck); in a group
members meet (encounters), encounters form new ties with chance pi_g x similarity^h and give
existing ties a contact. Codified knowledge reaches attendees without a tie; reflection tools
raise their reflection rate this month.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.state import Contacts, Peers, State, Ties, record_contacts
from simulation.tools import Tool, ToolArrays


def plan_calendar(
    intensity: np.ndarray, tools: ToolArrays, months: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw which tools run in which month: (months, tools) bool.

    A tool of intensity u and ``uses_per_year`` U runs in a month with chance u x U / 12.
    """
    chance = np.clip(intensity * tools.monthly_use, 0.0, 1.0)
    return rng.random((months, len(chance))) < chance


def attendance_chance(state: State, p: SimpleNamespace) -> np.ndarray:
    """Chance each peer attends a use of a tool this month.

    With canvassing (``facilitator.canvass_topics`` = c > 0) peers whose problem is not the
    canvassed topic attend with chance x (1 - c): the events are smaller.
    """
    own = state.peers.time_to_engage * (0.5 + 0.5 * state.orgs.invest[state.peers.org])
    chance = own + 0.5 * p.facilitator.logistics * (1.0 - own)
    canvass = p.facilitator.canvass_topics
    if canvass > 0:
        chance = chance * np.where(canvassed_interest(state), 1.0, 1.0 - canvass)
    return chance


def canvassed_interest(state: State) -> np.ndarray:
    """(N,) bool: the peer's problem is the canvassed topic, the problem most peers share.

    Canvassing asks peers which topics matter to them (report P9); the facilitator picks the
    problem category (profile factor 0) held by most positions, the lowest on ties.
    """
    problems = state.peers.profile[:, 0]
    return problems == np.bincount(problems).argmax()


def run_tools(
    state: State,
    used: np.ndarray,
    table: tuple[Tool, ...],
    tools: ToolArrays,
    p: SimpleNamespace,
    rng: np.random.Generator,
) -> None:
    """Run this month's tool uses, in tool-table order.

    Each use: peers attend (one draw each); attendees of a gathering are flagged engaged and
    counted; codified knowledge reaches them; reflection tools set their reflection boost;
    tools with encounters form groups, whose members meet, form ties and have contact; tools
    with a contact chance give the ties among attendees contact.
    """
    month = state.month
    counts = _run_month(
        np.flatnonzero(used),
        attendance_chance(state, p),
        tools,
        p.settings.events,
        state.peers,
        state.ties,
        month.arrays,
        rng,
    )
    month.events += int(counts[0])
    month.products += int(counts[1])
    month.invited += int(counts[2])
    month.attendance += int(counts[3])


class Settings(NamedTuple):
    """The scenario values the compiled month of events reads, named as in the scenario."""

    matching: float  # levers.matching
    prior_contact: float  # contact.prior_contact
    broadcast_ceiling: float  # transfer.broadcast_ceiling
    broadcast_absorption: float  # transfer.broadcast_absorption
    similarity_exponent: float  # contact.similarity_exponent
    peer_contracts: float  # levers.peer_contracts
    trust: float  # levers.trust: initial trust of a new tie between fully similar peers
    contract_months: int  # contact.contract_months

    @classmethod
    def of(cls, p: SimpleNamespace) -> Settings:
        """Read the settings from the scenario's parameters (once per run)."""
        return cls(
            matching=float(p.levers.matching),
            prior_contact=float(p.contact.prior_contact),
            broadcast_ceiling=float(p.transfer.broadcast_ceiling),
            broadcast_absorption=float(p.transfer.broadcast_absorption),
            similarity_exponent=float(p.contact.similarity_exponent),
            peer_contracts=float(p.levers.peer_contracts),
            trust=float(p.levers.trust),
            contract_months=int(p.contact.contract_months),
        )


@njit(cache=True)
def _prior(q: Settings) -> float:  # pragma: no cover - compiled
    """Chance a seat or encounter is matched or else goes to a prior contact."""
    return q.matching + (1.0 - q.matching) * q.prior_contact


@njit(cache=True)
def _run_month(
    used: np.ndarray,
    chance: np.ndarray,
    tools: ToolArrays,
    q: Settings,
    peers: Peers,
    ties: Ties,
    month: Contacts,
    rng: np.random.Generator,
) -> np.ndarray:  # pragma: no cover - compiled; tested through run_tools, form_groups, encounters
    """The loop over this month's tool uses (see ``run_tools``); returns the four counts.

    Compiled with the model's generator passed in: the draws are those of the uncompiled
    version, in the same order, so results do not depend on the compilation.
    """
    engaged, exposure = peers.engaged, peers.exposure
    similarity, alive = ties.similarity, ties.alive
    prior = _prior(q)
    n = len(chance)
    counts = np.zeros(4, dtype=np.int64)  # events, products, invited, attendance
    for g in used:
        attendees = np.nonzero(rng.random(n) < chance)[0]
        m = len(attendees)
        if tools.gathers[g]:
            counts[0] += 1
            counts[2] += n
            counts[3] += m
            engaged[attendees] = True
        elif tools.group_size[g] != 1:
            counts[1] += 1
        if m == 0:
            continue
        _attend(attendees, g, tools, q, exposure, month)
        if tools.encounters[g] > 0 and m > 1:
            labels = _group(
                attendees, tools.group_size[g], similarity, alive, q.matching, prior, rng
            )
            i, j = _encounter_pairs(
                attendees, labels, tools.encounters[g], similarity, alive, q.matching, prior, rng
            )
            if len(i):
                met = _form_ties(i, j, rng.random((2, len(i))), ties, tools.tie_formation[g], q)
                record_contacts(i[met], j[met], tools.trust_gain[g], tools.transfer[g], month)
        if tools.contact[g] > 0:
            i, j = _tied_pairs(attendees, alive)
            touch = rng.random(len(i)) < tools.contact[g]
            record_contacts(i[touch], j[touch], tools.trust_gain[g], tools.transfer[g], month)
    return counts


@njit(cache=True)
def _attend(
    attendees: np.ndarray,
    g: int,
    tools: ToolArrays,
    q: Settings,
    exposure: np.ndarray,
    month: Contacts,
) -> None:  # pragma: no cover - compiled; tested through run_tools
    """Attendees of tool ``g`` are marked; codified knowledge and reflection reach them."""
    month.attended[attendees] = True
    for a in attendees:
        month.tools[a] |= np.int64(1) << np.int64(g)
    if tools.broadcast[g].any():
        for a in attendees:
            for k in range(exposure.shape[1]):
                gap = max(q.broadcast_ceiling - exposure[a, k], 0.0)
                gain = q.broadcast_absorption * tools.broadcast[g, k] * gap
                exposure[a, k] = exposure[a, k] + gain
    if tools.reflection[g] > 0:
        for a in attendees:
            month.reflection[a] = max(month.reflection[a], tools.reflection[g])


@njit(cache=True)
def _tied_pairs(attendees: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of attendees (row-major, i < j by position in ``attendees``) who have a tie."""
    m = len(attendees)
    i = np.empty(m * (m - 1) // 2, dtype=np.int64)
    j = np.empty(m * (m - 1) // 2, dtype=np.int64)
    n_pairs = 0
    for a in range(m):
        for b in range(a + 1, m):
            if alive[attendees[a], attendees[b]]:
                i[n_pairs], j[n_pairs] = attendees[a], attendees[b]
                n_pairs += 1
    return i[:n_pairs], j[:n_pairs]


def form_groups(
    state: State, attendees: np.ndarray, size: int, p: SimpleNamespace, rng: np.random.Generator
) -> np.ndarray:
    """Split attendees into groups of ``size`` (0: one group of all); return each one's group.

    Each group grows around a random first member: each further seat goes, with chance
    ``levers.matching``, to the remaining attendee most similar to that member (ties broken at
    random); otherwise, with chance ``contact.prior_contact``, to one of its existing contacts
    (Ingram & Morris 2007), or else to anyone left. Groups fill one after another, so all but the
    last have ``size`` members.

    Returns:
        (len(attendees),) group number of each attendee, numbered from 0.
    """
    matching = float(p.levers.matching)
    prior = matching + (1.0 - matching) * p.contact.prior_contact
    return _group(
        np.asarray(attendees, dtype=np.int64),
        int(size),
        state.ties.similarity,
        state.ties.alive,
        matching,
        prior,
        rng,
    )


@njit(cache=True)
def _group(attendees, size, similarity, alive, matching, prior, rng):  # pragma: no cover
    """``form_groups`` compiled: a random order, then two uniforms per seat."""
    m = len(attendees)
    if size == 0 or size >= m:
        return np.zeros(m, dtype=np.int64)
    order = rng.permutation(m)
    draws = rng.random((m, 2))
    labels = np.empty(m, dtype=np.int64)
    labels[order] = _fill_groups(attendees[order], similarity, alive, size, matching, prior, draws)
    return labels


@njit(cache=True)
def _fill_groups(
    members: np.ndarray,
    similarity: np.ndarray,
    tied: np.ndarray,
    size: int,
    matching: float,
    prior: float,
    draws: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; tested through form_groups
    """The seat-by-seat greedy of ``form_groups`` on ``members`` (attendees in random order).

    Compiled, because it is a loop over seats that NumPy cannot batch: who is left depends on
    every earlier pick. ``draws[seat]`` holds the seat's two uniforms (which rule; which one).
    Returns the group of each of ``members``.
    """
    m = len(members)
    labels = np.empty(m, dtype=np.int64)
    left = np.arange(m)
    options = np.empty(m, dtype=np.int64)
    n_left, group, seat = m, 0, 0
    while n_left > 0:
        n_left -= 1
        first = left[n_left]
        labels[first] = group
        filled = 1
        while n_left > 0 and filled < size:
            rule, which = draws[seat, 0], draws[seat, 1]
            seat += 1
            n_options = 0
            if rule < matching:
                best = -1.0
                for x in range(n_left):
                    score = similarity[members[first], members[left[x]]]
                    if score > best:
                        best, n_options = score, 0
                    if score == best:
                        options[n_options] = x
                        n_options += 1
            elif rule < prior:
                for x in range(n_left):
                    if tied[members[first], members[left[x]]]:
                        options[n_options] = x
                        n_options += 1
            pick = options[int(which * n_options)] if n_options else int(which * n_left)
            labels[left[pick]] = group
            left[pick : n_left - 1] = left[pick + 1 : n_left].copy()
            n_left -= 1
            filled += 1
        group += 1
    return labels


def encounters(
    state: State,
    attendees: np.ndarray,
    labels: np.ndarray,
    n_encounters: int,
    p: SimpleNamespace,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the pairs (i < j) of attendees who meet, each pair once.

    In a group no larger than ``n_encounters + 1`` everyone meets everyone. In a larger one each
    member has ``n_encounters`` encounters: the most similar member not yet a contact with chance
    ``levers.matching``, else an existing contact with chance ``contact.prior_contact``, else
    anyone (Ingram & Morris 2007: at a mixer people mostly meet people they already know).

    Args:
        state: The model state.
        attendees: Positions of this use's attendees (ascending).
        labels: Each attendee's group, from ``form_groups``.
        n_encounters: The tool's encounters per attendee.
        p: Parameters.
        rng: The model's generator.
    """
    matching = float(p.levers.matching)
    return _encounter_pairs(
        np.asarray(attendees, dtype=np.int64),
        np.asarray(labels, dtype=np.int64),
        int(n_encounters),
        state.ties.similarity,
        state.ties.alive,
        matching,
        matching + (1.0 - matching) * p.contact.prior_contact,
        rng,
    )


@njit(cache=True)
def _encounter_pairs(
    attendees, labels, n_encounters, similarity, alive, matching, prior, rng
):  # pragma: no cover - compiled; tested through encounters
    """``encounters`` compiled: draws only when some group is too large to meet in full."""
    m = len(attendees)
    sizes = np.bincount(labels)
    if sizes.max() <= n_encounters + 1:
        met = np.zeros((m, m), dtype=np.bool_)
        for a in range(m):
            for b in range(a + 1, m):
                met[a, b] = labels[a] == labels[b]
    else:
        met = _meet_in_groups(
            attendees,
            labels,
            sizes,
            n_encounters,
            similarity,
            alive,
            matching,
            prior,
            rng.random((n_encounters, m, 2)),
        )
    a, b = np.nonzero(met)
    return attendees[a], attendees[b]


@njit(cache=True)
def _meet_in_groups(
    attendees: np.ndarray,
    labels: np.ndarray,
    sizes: np.ndarray,
    n_encounters: int,
    similarity: np.ndarray,
    tied: np.ndarray,
    matching: float,
    prior: float,
    draws: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; tested through encounters
    """(m, m) bool, upper triangle: who meets whom; ``draws[round, member]`` are two uniforms.

    A matched encounter goes to the most similar member not yet a contact (the most similar
    contact if all are), a prior-contact one to a uniform contact (when the member has one in
    the group), any other to a uniform member; ties are broken at random.
    """
    m = len(labels)
    met = np.zeros((m, m), dtype=np.bool_)
    options = np.empty(m, dtype=np.int64)
    for a in range(m):
        group = labels[a]
        if sizes[group] <= n_encounters + 1:
            for b in range(a + 1, m):
                if labels[b] == group:
                    met[a, b] = True
            continue
        has_prior = False
        for b in range(m):
            if b != a and labels[b] == group and tied[attendees[a], attendees[b]]:
                has_prior = True
        for r in range(n_encounters):
            rule, which = draws[r, a, 0], draws[r, a, 1]
            if rule < matching:
                n_options = _most_similar(a, attendees, labels, similarity, tied, options)
            else:
                n_options = _others(a, attendees, labels, tied, has_prior and rule < prior, options)
            b = options[int(which * n_options)]
            met[min(a, b), max(a, b)] = True
    return met


@njit(cache=True)
def _most_similar(
    a: int,
    attendees: np.ndarray,
    labels: np.ndarray,
    similarity: np.ndarray,
    tied: np.ndarray,
    options: np.ndarray,
) -> int:  # pragma: no cover - compiled; tested through encounters
    """Fill ``options`` with a's group members most similar and not yet contacts; count them."""
    best, n_options = -3.0, 0
    for b in range(len(labels)):
        if b == a or labels[b] != labels[a]:
            continue
        i, j = attendees[a], attendees[b]
        score = similarity[i, j] - 2.0 * tied[i, j]
        if score > best:
            best, n_options = score, 0
        if score == best:
            options[n_options] = b
            n_options += 1
    return n_options


@njit(cache=True)
def _others(
    a: int,
    attendees: np.ndarray,
    labels: np.ndarray,
    tied: np.ndarray,
    contacts_only: bool,
    options: np.ndarray,
) -> int:  # pragma: no cover - compiled; tested through encounters
    """Fill ``options`` with a's group members (only its contacts if asked); count them."""
    n_options = 0
    for b in range(len(labels)):
        if b == a or labels[b] != labels[a]:
            continue
        if not contacts_only or tied[attendees[a], attendees[b]]:
            options[n_options] = b
            n_options += 1
    return n_options


@njit(cache=True)
def _form_ties(
    i: np.ndarray, j: np.ndarray, draws: np.ndarray, ties: Ties, tie_formation: float, q: Settings
) -> np.ndarray:  # pragma: no cover - compiled; tested through run_tools
    """Form new ties from encounters; return which encounters were contacts.

    A new tie forms with chance pi_g x s^h (``draws[0]``; pi_g the tool's ``tie_formation``),
    under contract with chance ``levers.peer_contracts`` (``draws[1]``), at trust T0 x s (T0 =
    ``levers.trust``). A contact is an encounter on an existing tie or on one just formed.
    """
    alive, trust, age, contract = ties.alive, ties.trust, ties.age, ties.contract
    met = np.zeros(len(i), dtype=np.bool_)
    for k in range(len(i)):
        a, b = i[k], j[k]
        if alive[a, b]:
            met[k] = True
            continue
        s = ties.similarity[a, b]
        if draws[0, k] < tie_formation * s**q.similarity_exponent:
            met[k] = True
            months = q.contract_months if draws[1, k] < q.peer_contracts else 0
            alive[a, b] = alive[b, a] = True
            trust[a, b] = trust[b, a] = q.trust * s
            age[a, b] = age[b, a] = 0
            contract[a, b] = contract[b, a] = months
    return met
