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

import numpy as np
from numba import njit

from simulation.state import State, upper_triangle
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
    """Run this month's tool uses, in tool-table order."""
    month = state.month
    chance = attendance_chance(state, p)
    for g in np.flatnonzero(used):
        tool = table[g]
        attendees = np.flatnonzero(rng.random(state.peers.n) < chance)
        if tool.gathers_peers:
            month.events += 1
            month.invited += state.peers.n
            month.attendance += len(attendees)
            state.peers.engaged[attendees] = True
        elif tool.group_size != 1:
            month.products += 1
        if len(attendees) == 0:
            continue
        month.attended[attendees] = True
        _codified_knowledge(state, attendees, tools.broadcast[g], p)
        if tool.reflection > 0:
            month.reflection[attendees] = np.maximum(month.reflection[attendees], tool.reflection)
        if tool.encounters > 0 and len(attendees) > 1:
            labels = form_groups(state, attendees, tool.group_size, p, rng)
            i, j = encounters(state, attendees, labels, tool.encounters, p, rng)
            _meet(state, i, j, g, tool, tools, p, rng)
        if tool.contact > 0:
            _keep_in_touch(state, attendees, g, tool, tools, rng)


def _codified_knowledge(
    state: State, attendees: np.ndarray, reach: np.ndarray, p: SimpleNamespace
) -> None:
    if not reach.any():
        return
    exposure = state.peers.exposure[attendees]
    gap = np.maximum(p.transfer.broadcast_ceiling - exposure, 0.0)
    state.peers.exposure[attendees] = exposure + p.transfer.broadcast_absorption * reach * gap


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
    m = len(attendees)
    if size == 0 or size >= m:
        return np.zeros(m, dtype=np.int64)
    order = rng.permutation(m)
    draws = rng.random((m, 2))
    matching = float(p.levers.matching)
    prior = matching + (1.0 - matching) * p.contact.prior_contact
    labels = np.empty(m, dtype=np.int64)
    labels[order] = _fill_groups(
        attendees[order], state.ties.similarity, state.ties.alive, size, matching, prior, draws
    )
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
    m = len(attendees)
    sizes = np.bincount(labels)
    if sizes.max() <= n_encounters + 1:
        a, b = np.nonzero((labels[:, None] == labels[None, :]) & upper_triangle(m))
        return attendees[a], attendees[b]
    matching = float(p.levers.matching)
    met = _meet_in_groups(
        attendees,
        labels,
        sizes,
        n_encounters,
        state.ties.similarity,
        state.ties.alive,
        matching,
        matching + (1.0 - matching) * p.contact.prior_contact,
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


def _meet(
    state: State,
    i: np.ndarray,
    j: np.ndarray,
    g: int,
    tool: Tool,
    tools: ToolArrays,
    p: SimpleNamespace,
    rng: np.random.Generator,
) -> None:
    """Encounters (i, j) of one use: new ties form, existing ties get contact."""
    if len(i) == 0:
        return
    ties = state.ties
    met = _form_ties(
        i,
        j,
        rng.random((2, len(i))),
        ties.alive,
        ties.trust,
        ties.age,
        ties.contract,
        ties.similarity,
        float(tool.tie_formation),
        float(p.contact.similarity_exponent),
        float(p.levers.peer_contracts),
        float(p.levers.trust),
        int(p.contact.contract_months),
    )
    mark_contact(state, i[met], j[met], tools.trust_gain[g], tools.transfer[g])


@njit(cache=True)
def _form_ties(
    i: np.ndarray,
    j: np.ndarray,
    draws: np.ndarray,
    alive: np.ndarray,
    trust: np.ndarray,
    age: np.ndarray,
    contract: np.ndarray,
    similarity: np.ndarray,
    tie_formation: float,
    exponent: float,
    peer_contracts: float,
    initial_trust: float,
    contract_months: int,
) -> np.ndarray:  # pragma: no cover - compiled; tested through run_tools
    """Form new ties from encounters; return which encounters were contacts.

    A new tie forms with chance pi_g x s^h (``draws[0]``), under contract with chance
    ``levers.peer_contracts`` (``draws[1]``), at trust T0 x s. A contact is an encounter on an
    existing tie or on one just formed.
    """
    met = np.zeros(len(i), dtype=np.bool_)
    for k in range(len(i)):
        a, b = i[k], j[k]
        if alive[a, b]:
            met[k] = True
            continue
        s = similarity[a, b]
        if draws[0, k] < tie_formation * s**exponent:
            met[k] = True
            months = contract_months if draws[1, k] < peer_contracts else 0
            alive[a, b] = alive[b, a] = True
            trust[a, b] = trust[b, a] = initial_trust * s
            age[a, b] = age[b, a] = 0
            contract[a, b] = contract[b, a] = months
    return met


def _keep_in_touch(
    state: State,
    attendees: np.ndarray,
    g: int,
    tool: Tool,
    tools: ToolArrays,
    rng: np.random.Generator,
) -> None:
    """Existing ties between two attendees have contact with the tool's chance (online tools)."""
    sub = state.ties.alive[np.ix_(attendees, attendees)] & upper_triangle(len(attendees))
    a, b = np.nonzero(sub)
    touch = rng.random(len(a)) < tool.contact
    mark_contact(
        state, attendees[a[touch]], attendees[b[touch]], tools.trust_gain[g], tools.transfer[g]
    )


def mark_contact(
    state: State, i: np.ndarray, j: np.ndarray, trust_gain: float, reach: np.ndarray
) -> None:
    """Record a contact on ties (i, j) this month, keeping the strongest of several."""
    state.month.add_contact(i, j, trust_gain, reach)
