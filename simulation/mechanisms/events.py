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

from functools import cache
from types import SimpleNamespace

import numpy as np

from simulation.state import State
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
        if tool.encounters > 0:
            pairs = [
                encounters(state, group, tool.encounters, p, rng)
                for group in form_groups(state, attendees, tool.group_size, p, rng)
            ]
            i = np.concatenate([pair[0] for pair in pairs])
            j = np.concatenate([pair[1] for pair in pairs])
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
) -> list[np.ndarray]:
    """Split attendees into groups of ``size`` (0: one group of all).

    Each group grows around a random first member: each further seat goes, with chance
    ``levers.matching``, to the remaining attendee most similar to that member; otherwise, with
    chance ``contact.prior_contact``, to one of its existing contacts (Ingram & Morris 2007), or
    else to anyone left.
    """
    if size == 0 or size >= len(attendees):
        return [attendees]
    left = list(rng.permutation(attendees))
    groups = []
    similarity, alive = state.ties.similarity, state.ties.alive
    while left:
        first = left.pop()
        group = [first]
        while left and len(group) < size:
            pool = np.array(left)
            u = rng.random()
            if u < p.levers.matching:
                scores = similarity[first, pool] + 1e-6 * rng.random(len(pool))
                pick = int(np.argmax(scores))
            elif u < p.levers.matching + (1 - p.levers.matching) * p.contact.prior_contact and (
                alive[first, pool].any()
            ):
                pick = int(rng.choice(np.flatnonzero(alive[first, pool])))
            else:
                pick = int(rng.integers(len(pool)))
            group.append(left.pop(pick))
        groups.append(np.array(group))
    return groups


@cache
def _all_pairs(m: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(m, 1)


def encounters(
    state: State, group: np.ndarray, n_encounters: int, p: SimpleNamespace, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return the pairs (i < j) who meet in a group.

    In a group no larger than ``n_encounters + 1`` everyone meets everyone. In a larger one each
    member has ``n_encounters`` encounters: the most similar member not yet a contact with chance
    ``levers.matching``, else an existing contact with chance ``contact.prior_contact``, else
    anyone (Ingram & Morris 2007: at a mixer people mostly meet people they already know).
    """
    m = len(group)
    if m < 2:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    if m <= n_encounters + 1:
        a, b = _all_pairs(m)
        return group[a], group[b]
    tied = state.ties.alive[np.ix_(group, group)]
    sim = state.ties.similarity[np.ix_(group, group)]
    self_mask = np.eye(m, dtype=bool)
    has_prior = tied.any(axis=1)
    rows, partners = [], []
    for _ in range(n_encounters):
        u = rng.random(m)
        noise = rng.random((m, m))
        matched = sim + 1e-6 * noise - 2.0 * tied
        prior = noise - 2.0 * ~tied
        anyone = noise
        use_match = u < p.levers.matching
        use_prior = (
            ~use_match
            & has_prior
            & (u < p.levers.matching + (1 - p.levers.matching) * p.contact.prior_contact)
        )
        scores = np.where(use_match[:, None], matched, np.where(use_prior[:, None], prior, anyone))
        scores[self_mask] = -np.inf
        rows.append(np.arange(m))
        partners.append(scores.argmax(axis=1))
    a = np.concatenate(rows)
    b = np.concatenate(partners)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pairs = np.unique(lo * m + hi)
    return group[pairs // m], group[pairs % m]


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
    new = ~ties.alive[i, j]
    similarity = ties.similarity[i, j]
    forms = new & (
        rng.random(len(i)) < tool.tie_formation * similarity**p.contact.similarity_exponent
    )
    contracted = forms & (rng.random(len(i)) < p.levers.peer_contracts)
    fi, fj = i[forms], j[forms]
    for a, b in ((fi, fj), (fj, fi)):
        ties.alive[a, b] = True
        ties.trust[a, b] = p.levers.trust * similarity[forms]
        ties.age[a, b] = 0
        ties.contract[a, b] = np.where(contracted[forms], p.contact.contract_months, 0)
    met = ~new | forms
    mark_contact(state, i[met], j[met], tools.trust_gain[g], tools.transfer[g])


def _keep_in_touch(
    state: State,
    attendees: np.ndarray,
    g: int,
    tool: Tool,
    tools: ToolArrays,
    rng: np.random.Generator,
) -> None:
    """Existing ties between two attendees have contact with the tool's chance (online tools)."""
    sub = np.triu(state.ties.alive[np.ix_(attendees, attendees)], 1)
    a, b = np.nonzero(sub)
    touch = rng.random(len(a)) < tool.contact
    mark_contact(
        state, attendees[a[touch]], attendees[b[touch]], tools.trust_gain[g], tools.transfer[g]
    )


def mark_contact(
    state: State, i: np.ndarray, j: np.ndarray, trust_gain: float, reach: np.ndarray
) -> None:
    """Record a contact on ties (i, j) this month, keeping the strongest of several."""
    month = state.month
    for a, b in ((i, j), (j, i)):
        month.contact[a, b] = True
        month.trust_gain[a, b] = np.maximum(month.trust_gain[a, b], trust_gain)
        month.reach[a, b] = np.maximum(month.reach[a, b], reach)
