"""Submodel: the facilitator's tools (foundational engagement and sustaining tools).

Each month the facilitator runs the tools its calendar holds, until the initiative ends. For each
use, invited peers attend with a chance set by their time to engage, their organisation's
willingness to invest and the facilitator's logistics support. Attendees of a gathering are split
into groups (matched on the profile with chance ``levers.matching``, else around prior contacts or
by luck); in a group members meet (encounters), encounters form new ties with chance
pi_g x similarity^h and give existing ties a contact. A tool whose main cell of Table 2 is
sustained individual contacts and that brings pairs or small groups together keeps its groups:
formed at its first use (by the same rule, over every position), they meet again at every later
use, a successor taking the leaver's seat; foundational tools form their groups afresh at every
use. Codified knowledge reaches attendees without a tie; reflection tools raise their reflection
rate this month.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from simulation.compiled import inlined, kernel
from simulation.state import Attendance, Month, Organisations, Peers, State
from simulation.streams import as_generator, handle
from simulation.ties import (
    TieArrays,
    add,
    find_in,
    record,
    similarity,
    stable_order,
    ties_of_group,
)
from simulation.tools import Tool, ToolArrays


def plan_calendar(
    intensity: np.ndarray,
    tools: ToolArrays,
    months: int,
    rng: np.random.Generator,
    duration: int | None = None,
) -> np.ndarray:
    """Draw which tools run in which month: (months, tools) bool.

    A tool of intensity u and ``uses_per_year`` U runs in a month with chance u x U / 12, in the
    initiative's first ``duration`` months (all ``months`` if None). Every month is drawn, so the
    draws do not depend on the duration.
    """
    chance = np.clip(intensity * tools.monthly_use, 0.0, 1.0)
    calendar = rng.random((months, len(chance))) < chance
    if duration is not None:
        calendar[max(duration, 0):] = False
    return calendar


def new_cohorts(n_tools: int, n_peers: int) -> np.ndarray:
    """(tools, peers) groups of the tools that keep them, -1 until a tool's first use."""
    return np.full((n_tools, n_peers), -1, dtype=np.int64)


def attendance_chance(state: State, p: SimpleNamespace) -> np.ndarray:
    """Chance each peer attends a use of a tool this month.

    With canvassing (``facilitator.canvass_topics`` = c > 0) peers whose problem is not the
    canvassed topic attend with chance x (1 - c): the events are smaller.
    """
    return _attendance_chance(
        state.peers, state.orgs, float(p.facilitator.logistics),
        float(p.facilitator.canvass_topics),
    )


@kernel
def _attendance_chance(
    peers: Peers, orgs: Organisations, logistics: float, canvass: float
) -> np.ndarray:  # pragma: no cover - compiled; tested through attendance_chance
    """:func:`attendance_chance` compiled, in the array version's arithmetic and order."""
    half_logistics = 0.5 * logistics
    interested = canvassed(peers.profile) if canvass > 0 else peers.engaged
    chance = np.empty(len(peers.org))
    for i in range(len(chance)):
        own = peers.time_to_engage[i] * (0.5 + 0.5 * orgs.invest[peers.org[i]])
        chance[i] = own + half_logistics * (1.0 - own)
        if canvass > 0:
            chance[i] = chance[i] * (1.0 if interested[i] else 1.0 - canvass)
    return chance


def canvassed_interest(state: State) -> np.ndarray:
    """(N,) bool: the peer's problem is the canvassed topic, the problem most peers share.

    Canvassing asks peers which topics matter to them (report P9); the facilitator picks the
    problem category (profile factor 0) held by most positions, the lowest on ties.
    """
    return canvassed(state.peers.profile)


@kernel
def canvassed(profile: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`canvassed_interest` of the positions' profiles (compiled)."""
    problems = profile[:, 0]
    return problems == np.bincount(problems).argmax()


def run_tools(
    state: State,
    used: np.ndarray,
    table: tuple[Tool, ...],
    tools: ToolArrays,
    p: SimpleNamespace,
    rng: np.random.Generator,
    cohorts: np.ndarray | None = None,
) -> None:
    """Run this month's tool uses, in tool-table order.

    Each use: peers attend (one draw each); attendees of a gathering are flagged engaged and
    counted; codified knowledge reaches them; reflection tools set their reflection boost;
    tools with encounters form groups (a sustaining tool keeps its groups in ``cohorts``, from
    :func:`new_cohorts`; fresh ones if None), whose members meet, form ties and have contact;
    tools with a contact chance give the ties among attendees contact.
    """
    uses = tool_uses(state, used, tools)
    if len(uses) == 0:  # no tool this month: nothing to run, no draw
        return
    if cohorts is None:
        cohorts = new_cohorts(len(table), state.peers.n)
    run_uses(state, uses, tools, p, rng, cohorts)


def run_uses(
    state: State,
    uses: np.ndarray,
    tools: ToolArrays,
    p: SimpleNamespace,
    rng: np.random.Generator,
    cohorts: np.ndarray,
) -> None:
    """Run the tool ``uses`` of :func:`tool_uses` (see :func:`run_tools`)."""
    # Plain tuples, made NamedTuples again inside: Numba checks a plain tuple's types in C, a
    # NamedTuple's in Python (simulation/mechanisms/schedule.py).
    counts = _run_month_of_tuples(
        uses,
        tuple(tools),
        tuple(p.settings.events),
        tuple(state.peers),
        tuple(state.orgs),
        tuple(state.ties.arrays),
        tuple(state.month.arrays),
        cohorts,
        handle(rng),  # the generator's handle: Numba unboxes a Generator at 8-23 us a call
        float(p.facilitator.logistics),
        float(p.facilitator.canvass_topics),
    )
    add_counts(state.month, counts)


def tool_uses(state: State, used: np.ndarray, tools: ToolArrays) -> np.ndarray:
    """This month's tool uses (positions in the tool table), with room made for their ties.

    Each use forms at most one tie per attendee and encounter: the tie store grows before the
    month, not during it.
    """
    uses = np.flatnonzero(used)
    if len(uses):
        state.ties.reserve(state.peers.n * int(tools.encounters[uses].sum()))
    return uses


def add_counts(month: Month, counts: np.ndarray) -> None:
    """Add the month of tools' counts (events, products, invited, attendance) to ``month``."""
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


@kernel
def _prior(q: Settings) -> float:  # pragma: no cover - compiled
    """Chance a seat or encounter is matched or else goes to a prior contact."""
    return q.matching + (1.0 - q.matching) * q.prior_contact


@kernel
def _run_month_of_tuples(
    used: np.ndarray,
    tools: tuple,
    q: tuple,
    peers: tuple,
    orgs: tuple,
    ties: tuple,
    month: tuple,
    cohorts: np.ndarray,
    rng: np.ndarray,
    logistics: float,
    canvass: float,
) -> np.ndarray:  # pragma: no cover - compiled; tested through run_tools
    """:func:`run_month` on plain tuples."""
    return run_month(
        used, ToolArrays(*tools), Settings(*q), Peers(*peers), Organisations(*orgs),
        TieArrays(*ties), Attendance(*month), cohorts, rng, logistics, canvass,
    )


@inlined
def run_month(
    used: np.ndarray,
    tools: ToolArrays,
    q: Settings,
    peers: Peers,
    orgs: Organisations,
    ties: TieArrays,
    month: Attendance,
    cohorts: np.ndarray,
    rng: np.ndarray,
    logistics: float,
    canvass: float,
) -> np.ndarray:  # pragma: no cover - compiled; tested through run_tools
    """The month of tool ``used`` (:func:`tool_uses`), the attendance chance computed first.

    Returns the four counts (:func:`add_counts`).
    """
    return _run_month(
        used, _attendance_chance(peers, orgs, logistics, canvass), tools, q, peers, ties, month,
        cohorts, rng,
    )


@inlined
def _run_month(
    used: np.ndarray,
    chance: np.ndarray,
    tools: ToolArrays,
    q: Settings,
    peers: Peers,
    ties: TieArrays,
    month: Attendance,
    cohorts: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:  # pragma: no cover - compiled; tested through run_tools, form_groups, encounters
    """The loop over this month's tool uses (see ``run_tools``); returns the four counts.

    Compiled with the model's generator passed in: the draws are those of the uncompiled
    version, in the same order, so results do not depend on the compilation.
    """
    rng = as_generator(rng)  # a handle (simulation.streams) or the Generator itself
    engaged, exposure, profile = peers.engaged, peers.exposure, peers.profile
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
            if tools.sustains[g]:
                if cohorts[g, 0] < 0:  # first use: every position gets its group for good
                    everyone = np.arange(n, dtype=np.int64)
                    cohorts[g] = _group(
                        everyone, tools.group_size[g], profile, ties, q.matching, prior, rng
                    )
                labels = cohorts[g][attendees]
            else:
                labels = _group(
                    attendees, tools.group_size[g], profile, ties, q.matching, prior, rng
                )
            i, j = _encounter_pairs(
                attendees, labels, tools.encounters[g], profile, ties, q.matching, prior, rng
            )
            if len(i):
                slots = _form_ties(
                    i, j, rng.random((2, len(i))), ties, profile, tools.tie_formation[g], q
                )
                record(ties, slots[slots >= 0], tools.trust_gain[g], tools.transfer[g])
        if tools.contact[g] > 0:
            slots = _tied_pairs(attendees, ties)
            touch = rng.random(len(slots)) < tools.contact[g]
            record(ties, slots[touch], tools.trust_gain[g], tools.transfer[g])
    return counts


@kernel
def _attend(
    attendees: np.ndarray,
    g: int,
    tools: ToolArrays,
    q: Settings,
    exposure: np.ndarray,
    month: Attendance,
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
                if gain > 0.0:
                    month.codified[a] = True
    if tools.reflection[g] > 0:
        for a in attendees:
            month.reflection[a] = max(month.reflection[a], tools.reflection[g])


@kernel
def _tied_pairs(attendees: np.ndarray, ties: TieArrays) -> np.ndarray:  # pragma: no cover
    """Slots of the ties between two attendees, in dense row order (compiled).

    Walks each attendee's ties, not every pair of attendees.
    """
    return ties_of_group(ties, attendees, True)[1]


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
        state.peers.profile,
        state.ties.arrays,
        matching,
        prior,
        rng,
    )


@kernel
def _group(attendees, size, profile, ties, matching, prior, rng):  # pragma: no cover
    """``form_groups`` compiled: a random order, then two uniforms per seat."""
    m = len(attendees)
    if size == 0 or size >= m:
        return np.zeros(m, dtype=np.int64)
    order = rng.permutation(m)
    draws = rng.random((m, 2))
    labels = np.empty(m, dtype=np.int64)
    labels[order] = _fill_groups(attendees[order], profile, ties, size, matching, prior, draws)
    return labels


@kernel
def _kth(tree: np.ndarray, k: int) -> int:  # pragma: no cover - compiled
    """The k-th (from 0) member still counted in the Fenwick tree ``tree``."""
    position, step = 0, 1
    while step * 2 < len(tree):
        step *= 2
    while step > 0:
        if position + step < len(tree) and tree[position + step] <= k:
            position += step
            k -= tree[position]
        step //= 2
    return position  # the member at 1-based position + 1, so position from 0


@kernel
def _uncount(tree: np.ndarray, x: int) -> None:  # pragma: no cover - compiled
    """Remove member x (from 0) from the Fenwick tree ``tree``."""
    i = x + 1
    while i < len(tree):
        tree[i] -= 1
        i += i & (-i)


@kernel
def _twins(
    profile: np.ndarray, people: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """People of the same group with the same profile ("twins"), to find best matches fast.

    Returns ``order`` (indices into ``people`` sorted by group, profile and index) and, for each
    person, the range ``[lower, upper)`` of ``order`` that holds its group's twins (itself
    included), in ascending index.
    """
    m = len(people)
    base = 1
    for x in range(m):
        for f in range(profile.shape[1]):
            base = max(base, profile[people[x], f] + 1)
    code = np.empty(m, dtype=np.int64)
    for x in range(m):
        c = labels[x]
        for f in range(profile.shape[1]):
            c = c * base + profile[people[x], f]
        code[x] = c
    order = stable_order(code)
    lower = np.empty(m, dtype=np.int64)
    upper = np.empty(m, dtype=np.int64)
    start = 0
    for row in range(1, m + 1):
        if row == m or code[order[row]] != code[order[start]]:
            for k in range(start, row):
                lower[order[k]] = start
                upper[order[k]] = row
            start = row
    return order, lower, upper


@inlined
def _take(
    x: int,
    group: int,
    labels: np.ndarray,
    left: np.ndarray,
    tree: np.ndarray,
    following: np.ndarray,
    preceding: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Seat member x in ``group``: it is no longer left."""
    labels[x] = group
    left[x] = False
    _uncount(tree, x)
    following[preceding[x]] = following[x]
    preceding[following[x]] = preceding[x]


@inlined
def _best_left(
    first: int,
    members: np.ndarray,
    profile: np.ndarray,
    twins: tuple[np.ndarray, np.ndarray, np.ndarray],
    left: np.ndarray,
    following: np.ndarray,
    options: np.ndarray,
) -> int:  # pragma: no cover - compiled; tested through form_groups
    """Fill ``options`` with the members left most similar to ``first``, in order; count them.

    The best there can be is a twin (all factors equal): those are looked at first, and everyone
    left only if no twin is.
    """
    order, lower, upper = twins
    n_options = 0
    for row in range(lower[first], upper[first]):
        if left[order[row]]:
            options[n_options] = order[row]
            n_options += 1
    if n_options:
        return n_options
    end = len(members)
    best = -1.0
    x = following[end]
    while x != end:
        score = similarity(profile, members[first], members[x])
        if score > best:
            best, n_options = score, 0
        if score == best:
            options[n_options] = x
            n_options += 1
        x = following[x]
    return n_options


@inlined
def _contacts_left(
    peer: int, head: np.ndarray, link: np.ndarray, ends_a: np.ndarray, ends_b: np.ndarray,
    index: np.ndarray, left: np.ndarray, options: np.ndarray,
) -> int:  # pragma: no cover - compiled; tested through form_groups
    """Fill ``options`` with the members left who are ``peer``'s contacts, in order; count them.

    Given the tie store's lists and ends (a call a seat: see :func:`simulation.ties.find_in`).
    """
    n_options = 0
    s = head[peer]
    while s >= 0:
        k = 0 if ends_a[s] == peer else 1
        x = index[ends_b[s] if k == 0 else ends_a[s]]
        if x >= 0 and left[x]:
            options[n_options] = x
            n_options += 1
        s = link[s, k, 0]
    _sort_few(options, n_options)
    return n_options


@kernel
def _fill_groups(
    members: np.ndarray,
    profile: np.ndarray,
    ties: TieArrays,
    size: int,
    matching: float,
    prior: float,
    draws: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; tested through form_groups
    """The seat-by-seat greedy of ``form_groups`` on ``members`` (attendees in random order).

    Compiled, because it is a loop over seats that NumPy cannot batch: who is left depends on
    every earlier pick. ``draws[seat]`` holds the seat's two uniforms (which rule; which one).
    The members left stay in their order: a seat by luck takes the k-th of them from a Fenwick
    tree, a seat by prior contact walks the first member's ties; only a matched seat looks at
    everyone left. Returns the group of each of ``members``.
    """
    m = len(members)
    labels = np.empty(m, dtype=np.int64)
    index = np.full(len(ties.head), -1, dtype=np.int64)
    for x in range(m):
        index[members[x]] = x
    tree = np.zeros(m + 1, dtype=np.int64)  # Fenwick tree of the members left (1-based)
    for i in range(1, m + 1):
        tree[i] += 1
        parent = i + (i & (-i))
        if parent <= m:
            tree[parent] += tree[i]
    following = np.arange(1, m + 2)  # the members left as a list, in order; m is its end
    preceding = np.arange(-1, m)
    following[m], preceding[0] = 0, m
    left = np.ones(m, dtype=np.bool_)
    options = np.empty(m, dtype=np.int64)
    twins, lower, upper = _twins(profile, members, np.zeros(m, dtype=np.int64))
    n_left, group, seat = m, 0, 0
    while n_left > 0:
        first = preceding[m]  # the last member left
        _take(first, group, labels, left, tree, following, preceding)
        n_left -= 1
        filled = 1
        while n_left > 0 and filled < size:
            rule, which = draws[seat, 0], draws[seat, 1]
            seat += 1
            n_options = 0
            if rule < matching:
                n_options = _best_left(
                    first, members, profile, (twins, lower, upper), left, following, options
                )
            elif rule < prior:
                n_options = _contacts_left(
                    members[first], ties.head, ties.link, ties.a, ties.b, index, left, options
                )
            pick = options[int(which * n_options)] if n_options else _kth(tree, int(which * n_left))
            _take(pick, group, labels, left, tree, following, preceding)
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
        state.peers.profile,
        state.ties.arrays,
        matching,
        matching + (1.0 - matching) * p.contact.prior_contact,
        rng,
    )


@kernel
def _encounter_pairs(
    attendees, labels, n_encounters, profile, ties, matching, prior, rng
):  # pragma: no cover - compiled; tested through encounters
    """``encounters`` compiled: draws only when some group is too large to meet in full.

    Pairs are collected as keys a x m + b (a < b, indices into ``attendees``) and returned in
    the order of the rows of an m x m matrix, without building it.
    """
    m = len(attendees)
    sizes = np.bincount(labels)
    by_group = stable_order(labels)  # each group's members in order
    start = np.zeros(len(sizes) + 1, dtype=np.int64)
    start[1:] = np.cumsum(sizes)
    small = 0
    for size in sizes:
        if size <= n_encounters + 1:
            small += size * (size - 1) // 2
    keys = np.empty(small + m * n_encounters, dtype=np.int64)
    count = 0
    for group in range(len(sizes)):
        if sizes[group] <= n_encounters + 1:
            for x in range(start[group], start[group + 1]):
                for y in range(x + 1, start[group + 1]):
                    keys[count] = by_group[x] * m + by_group[y]
                    count += 1
    if sizes.max() > n_encounters + 1:
        count = _meet_in_groups(
            attendees,
            labels,
            sizes,
            by_group,
            start,
            n_encounters,
            profile,
            ties,
            matching,
            prior,
            rng.random((n_encounters, m, 2)),
            keys,
            count,
        )
    met = _unique(keys, count, m * m)
    return attendees[met // m], attendees[met % m]


@kernel
def _unique(keys: np.ndarray, count: int, bound: int) -> np.ndarray:  # pragma: no cover
    """The distinct values of ``keys[:count]`` (each in [0, ``bound``)), ascending.

    What ``np.unique`` returns, without its list building (Numba's builds a list element by
    element: 10 us of a large gathering's 30, measured): a table of ``bound`` flags where that
    is small beside the keys, else a sort and one pass.
    """
    if bound <= 16 * count + 4096:
        seen = np.zeros(bound, dtype=np.bool_)
        distinct = 0
        for k in range(count):
            if not seen[keys[k]]:
                seen[keys[k]] = True
                distinct += 1
        out = np.empty(distinct, dtype=np.int64)
        row = 0
        for key in range(bound):
            if seen[key]:
                out[row] = key
                row += 1
        return out
    out = np.sort(keys[:count])
    distinct = 0
    for k in range(count):
        if distinct == 0 or out[k] != out[distinct - 1]:
            out[distinct] = out[k]
            distinct += 1
    return out[:distinct]


@kernel
def _meet_in_groups(
    attendees: np.ndarray,
    labels: np.ndarray,
    sizes: np.ndarray,
    by_group: np.ndarray,
    start: np.ndarray,
    n_encounters: int,
    profile: np.ndarray,
    ties: TieArrays,
    matching: float,
    prior: float,
    draws: np.ndarray,
    keys: np.ndarray,
    count: int,
) -> int:  # pragma: no cover - compiled; tested through encounters
    """Encounters in the groups too large to meet in full; returns the new count of ``keys``.

    ``draws[round, member]`` are two uniforms; the pairs met are added to ``keys`` from
    ``count`` on.

    A matched encounter goes to the most similar member not yet a contact (the most similar
    contact if all are), a prior-contact one to a uniform contact (when the member has one in
    the group), any other to a uniform member; ties are broken at random. Only the matched
    encounters look at the whole group; the others walk the member's ties or pick by rank.
    """
    m = len(labels)
    index = np.full(len(ties.head), -1, dtype=np.int64)
    for x in range(m):
        index[attendees[x]] = x
    rank = np.empty(m, dtype=np.int64)
    for x in range(len(by_group)):
        rank[by_group[x]] = x - start[labels[by_group[x]]]
    tied = np.zeros(m, dtype=np.bool_)
    contacts = np.empty(m, dtype=np.int64)
    twins, lower, upper = _twins(profile, attendees, labels)
    options = np.empty(m, dtype=np.int64)
    for a in range(m):
        group = labels[a]
        if sizes[group] <= n_encounters + 1:
            continue
        n_contacts = _contacts_in_group(
            attendees[a], group, labels, ties.head, ties.link, ties.a, ties.b, index, tied,
            contacts,
        )
        members = by_group[start[group] : start[group + 1]]
        n_options = -1  # a's best matches, found at its first matched encounter
        for r in range(n_encounters):
            rule, which = draws[r, a, 0], draws[r, a, 1]
            if rule < matching:
                # The same for each of a's encounters (its contacts stay marked in ``tied``):
                # found once. The best score is an untied twin's (all factors equal): looked at
                # first.
                if n_options < 0:
                    n_options = 0
                    for row in range(lower[a], upper[a]):
                        n_options = _add_if(twins[row] != a and not tied[twins[row]],
                                            twins[row], options, n_options)
                    if n_options == 0:
                        n_options = _most_similar(a, members, attendees, profile, tied, options)
                b = options[int(which * n_options)]
            elif n_contacts > 0 and rule < prior:
                b = contacts[int(which * n_contacts)]
            else:
                pick = int(which * (len(members) - 1))
                b = members[pick] if pick < rank[a] else members[pick + 1]
            keys[count] = min(a, b) * m + max(a, b)
            count += 1
        for x in range(n_contacts):
            tied[contacts[x]] = False
    return count


@kernel
def _add_if(
    condition: bool, x: int, options: np.ndarray, n_options: int
) -> int:  # pragma: no cover - compiled
    """Append x to ``options`` if ``condition``; return the new count."""
    if condition:
        options[n_options] = x
        return n_options + 1
    return n_options


@inlined
def _contacts_in_group(
    peer: int,
    group: int,
    labels: np.ndarray,
    head: np.ndarray,
    link: np.ndarray,
    ends_a: np.ndarray,
    ends_b: np.ndarray,
    index: np.ndarray,
    tied: np.ndarray,
    contacts: np.ndarray,
) -> int:  # pragma: no cover - compiled; tested through encounters
    """Mark (``tied``) and list, in order, ``peer``'s contacts in its group; count them.

    Given the tie store's lists and ends (a call a member: see :func:`simulation.ties.find_in`).
    """
    n_contacts = 0
    s = head[peer]
    while s >= 0:
        k = 0 if ends_a[s] == peer else 1
        b = index[ends_b[s] if k == 0 else ends_a[s]]
        if b >= 0 and labels[b] == group:
            tied[b] = True
            contacts[n_contacts] = b
            n_contacts += 1
        s = link[s, k, 0]
    _sort_few(contacts, n_contacts)
    return n_contacts


@kernel
def _sort_few(values: np.ndarray, n: int) -> None:  # pragma: no cover - compiled
    """Sort ``values[:n]`` in place: a handful of whole numbers, by insertion.

    For a peer's contacts in a group or among those left, a handful, once a member or seat: no
    sort call for each (whole numbers sort to the same order whatever the method).
    """
    for a in range(1, n):
        value = values[a]
        b = a
        while b > 0 and values[b - 1] > value:
            values[b] = values[b - 1]
            b -= 1
        values[b] = value


@inlined
def _most_similar(
    a: int,
    members: np.ndarray,
    attendees: np.ndarray,
    profile: np.ndarray,
    tied: np.ndarray,
    options: np.ndarray,
) -> int:  # pragma: no cover - compiled; tested through encounters
    """Fill ``options`` with a's group members most similar and not yet contacts; count them."""
    best, n_options = -3.0, 0
    for b in members:
        if b == a:
            continue
        score = similarity(profile, attendees[a], attendees[b]) - 2.0 * tied[b]
        if score > best:
            best, n_options = score, 0
        if score == best:
            options[n_options] = b
            n_options += 1
    return n_options


@kernel
def _form_ties(
    i: np.ndarray,
    j: np.ndarray,
    draws: np.ndarray,
    ties: TieArrays,
    profile: np.ndarray,
    tie_formation: float,
    q: Settings,
) -> np.ndarray:  # pragma: no cover - compiled; tested through run_tools
    """Form new ties from encounters; return, per encounter, the slot of its contact or -1.

    A new tie forms with chance pi_g x s^h (``draws[0]``; pi_g the tool's ``tie_formation``),
    under contract with chance ``levers.peer_contracts`` (``draws[1]``), at trust T0 x s (T0 =
    ``levers.trust``). A contact is an encounter on an existing tie or on one just formed.
    """
    slots = np.full(len(i), -1, dtype=np.int64)
    head, link, ends_a, ends_b, degree = ties.head, ties.link, ties.a, ties.b, ties.degree
    for k in range(len(i)):
        a, b = i[k], j[k]
        s = find_in(head, link, ends_a, ends_b, degree, a, b)
        if s >= 0:
            slots[k] = s
            continue
        sim = similarity(profile, a, b)
        if draws[0, k] < tie_formation * sim**q.similarity_exponent:
            months = q.contract_months if draws[1, k] < q.peer_contracts else 0
            s = add(ties, a, b)
            ties.trust[s] = q.trust * sim
            ties.contract[s] = months
            slots[k] = s
    return slots
