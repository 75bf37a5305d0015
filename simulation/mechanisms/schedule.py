"""The month in compiled calls: the whole month in one, or the month after the tools in one or two.

Contact and trust, knowledge transfer, the community of practice, reflection, share forward,
background adoption, discontinuance, diffusion, change at scale and observation (docs/ODD.md §3)
run here in the order of the model's schedule, each submodel's compiled month called in turn, as
one compiled call: called one by one from Python, each cost more to call (its arguments checked
and converted, about 2-5 us) than its work for a typical initiative's few dozen peers (issue 13).
Where in-house sharing or dissemination events are on (drawn in Python, with NumPy's generator
methods), the month is two calls with them between. Where not, the whole month, turnover and the
month's tools first, is one call (:func:`whole_month`), unless a month observer reads what the
tools did first. A run that nothing reads between its months runs them all in one call
(:func:`run_months`).

Every draw comes from the model's generator through its handle (``simulation.streams``), in the
order the submodels run one by one (``PeerLearningModel.one_by_one``): results are those of the
submodels called one by one, bit for bit (tests/test_schedule.py).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulation import stages
from simulation.compiled import inlined, kernel
from simulation.mechanisms import (
    contact,
    diffusion,
    evaluation,
    events,
    reflection,
    transfer,
    turnover,
)
from simulation.population import PERSONAL_FACTORS
from simulation.state import (
    Attendance,
    Month,
    Organisations,
    Peers,
    StaffArrays,
    State,
    with_adopters,
)
from simulation.streams import handle
from simulation.ties import TieArrays, new_month
from simulation.tools import ToolArrays


def after_tools(
    state: State,
    p: SimpleNamespace,
    month: int,
    rng: np.random.Generator,
    background: np.ndarray,
    observer: evaluation.Observer,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the month from informal contact to observation; record it in ``observer``.

    Args:
        state: The model state, after the month's turnover and tools.
        p: Parameters, with their compiled settings (``p.settings``).
        month: The month (1-based).
        rng: The model's generator.
        background: This month's background adoptions from the background stream
            (:func:`simulation.mechanisms.diffusion.background_draws`).
        observer: The run's observer.

    Returns:
        The ties that had informal contact (their slots) and the peers a conversation taught
        (productive), for the month's observers.
    """
    q, staff, h = p.settings, state.staff, handle(rng)
    # Plain tuples: Numba checks the types of a plain tuple of arrays in C, of a NamedTuple in
    # Python (about 17 us a month against 5 for these arguments; measured). The compiled
    # functions make them NamedTuples again.
    arrays = (tuple(state.peers), tuple(state.orgs), tuple(state.ties.arrays))
    observed = observer.plain_settings(state, p)
    if shares_at_home(p):
        informal, productive, carries, sharers, staff.adopters = _first(
            *arrays, tuple(staff.arrays()), tuple(state.month.arrays), month,
            _plain_settings(p)[0], h,
        )
        diffusion.sharing_at_home(state, carries, sharers, p, rng)
        staff.adopters, values = _second(
            *arrays, tuple(staff.arrays()), tuple(state.month.arrays), month, background,
            tuple(q.diffusion), observed, h,
        )
    else:
        informal, productive, staff.adopters, values = _whole(
            *_whole_arguments(state, p, month, background, observed, h)
        )
    observer.record(values, state.month, month)
    return informal, productive


def shares_at_home(p: SimpleNamespace) -> bool:
    """Whether in-house sharing or dissemination events are on (drawn in Python, mid-month)."""
    return p.home_organisations.structured_sharing > 0 or p.levers.dissemination > 0


def _whole_arguments(
    state: State,
    p: SimpleNamespace,
    month: int,
    background: np.ndarray,
    observed: tuple,
    rng: np.ndarray,
) -> tuple:
    """The arguments of :func:`_whole`, as plain tuples; ``rng`` a handle."""
    return (
        tuple(state.peers), tuple(state.orgs), tuple(state.ties.arrays),
        tuple(state.staff.arrays()), tuple(state.month.arrays), month, background,
        _plain_settings(p)[0], observed, rng,
    )


def _plain_settings(p: SimpleNamespace) -> tuple:
    """The settings of the month after the tools, and of the events, as plain tuples.

    Made once per run and kept under ``p.settings`` (fixed for the run, like the NamedTuples
    it is made of): contact, transfer, reflection and diffusion; then the events' settings,
    logistics and canvassing for topics.
    """
    q = p.settings
    if not hasattr(q, "plain"):
        q.plain = (
            (tuple(q.contact), tuple(q.transfer), tuple(q.reflection), tuple(q.diffusion)),
            (tuple(q.events), float(p.facilitator.logistics), float(p.facilitator.canvass_topics)),
        )
    return q.plain


def whole_month(
    state: State,
    p: SimpleNamespace,
    month: int,
    rng: np.random.Generator,
    background: np.ndarray,
    observer: evaluation.Observer,
    used: np.ndarray,
    tools: ToolArrays,
    cohorts: np.ndarray,
) -> np.ndarray:
    """The whole month, from turnover to observation, in one compiled call; returns the leavers.

    For a month with nothing drawn in Python mid-month (no sharing at home) and no month
    observer: the month's turnover (:func:`simulation.mechanisms.turnover.leave`), its tools
    (:func:`simulation.mechanisms.events.run_tools`) and :func:`after_tools`, with the same draws
    in the same order as those calls. Starts the month (``state.month``). ``background``, the
    observer, the month's ``used`` tools, the tool arrays and the cohorts as in those calls; the
    model replaces the leavers' agents after it.
    """
    uses = events.tool_uses(state, used, tools)  # grows the tie store first, if it must
    state.month = Month(state.ties, forget=False)  # the compiled call forgets last month's
    turn = _turnover_arguments(state, p)
    whole = _whole_arguments(state, p, month, background, observer.plain_settings(state, p),
                             handle(rng))
    if len(uses):
        leavers, counts, _, _, state.staff.adopters, values = _month_with_tools(
            turn, (uses, tuple(tools), _plain_settings(p)[1], cohorts), whole
        )
        events.add_counts(state.month, counts)
    else:  # fewer arrays to pass than with the tools' (each costs its type check)
        leavers, _, _, state.staff.adopters, values = _month_without_tools(turn, whole)
    state.month.departures = len(leavers)
    observer.record(values, state.month, month)
    return leavers


def _turnover_arguments(state: State, p: SimpleNamespace) -> tuple:
    """Turnover's settings, the personal factors and the focus profile, for a compiled month."""
    return (tuple(p.settings.turnover), PERSONAL_FACTORS, state.focus)


def run_months(
    state: State,
    p: SimpleNamespace,
    months: range,
    rng: np.random.Generator,
    background: list[np.ndarray],
    observer: evaluation.Observer,
    calendar: np.ndarray,
    tools: ToolArrays,
    cohorts: np.ndarray,
) -> list[np.ndarray]:
    """The ``months`` (1-based, consecutive) as :func:`whole_month` runs each, in one compiled call.

    For a run that nothing reads between its months (``PeerLearningModel.run`` with no month
    observer, no patch and no sharing at home): the months need not come back to Python, each
    return costing more than a typical initiative's month of work (issue 13). ``background``
    holds each month's background draws, ``calendar`` the facilitator's (months, tools) plan;
    the rest as :func:`whole_month` takes it. A month whose tools need more room in the tie store
    ends the call; the store grows as :func:`simulation.mechanisms.events.tool_uses` grows it,
    and the next call goes on from that month. Returns each month's leavers, for the model to
    replace their agents month by month; ``state.month`` is the last month's.
    """
    drawn = np.concatenate([np.zeros(0, dtype=np.int64), *background])
    bounds = np.cumsum([0, *map(len, background)])
    plain = (tuple(tools), _plain_settings(p)[1], cohorts)
    leavers: list[np.ndarray] = []
    month = months.start
    while month < months.stop:
        state.month = Month(state.ties, forget=False)  # the compiled call forgets last month's
        turn = _turnover_arguments(state, p)
        whole = _whole_arguments(state, p, month, drawn, observer.plain_settings(state, p),
                                 handle(rng))
        ahead = observer.ahead()
        first = month - months.start
        reached, need, gone, ends, state.staff.adopters, counts = _months(
            turn, plain, whole, calendar, months.stop, bounds[first:] - bounds[first],
            drawn[bounds[first]:], ahead,
        )
        observer.recorded(reached - month, ahead[-1])
        if reached > month:
            leavers += [gone[ends[k] : ends[k + 1]] for k in range(len(ends) - 1)]
            state.month.departures = len(leavers[-1])
            events.add_counts(state.month, counts)
        if reached < months.stop:
            state.ties.reserve(need)
        month = reached
    return leavers


@kernel
def _months(
    turn: tuple,
    tools: tuple,
    whole: tuple,
    calendar: np.ndarray,
    stop: int,
    bounds: np.ndarray,
    drawn: np.ndarray,
    ahead: tuple,
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """:func:`run_months`' months from ``whole``'s month to before ``stop``, in order.

    ``tools``: the tool arrays, the events' settings with logistics and canvassing for topics,
    and the cohorts; ``bounds`` where each month's background draws start in ``drawn``;
    ``ahead``: :meth:`simulation.mechanisms.evaluation.Observer.ahead`. Each month is
    :func:`_month_with_tools` or :func:`_month_without_tools` with its row recorded. Returns the
    month reached (``stop``, or the first whose tools need more room in the tie store), the room
    it needs, the leavers of the months run, where each month's start (and the end), the staff's
    adopters and the last month's tool counts.
    """
    arrays, q, cohorts = tools
    peers, orgs, ties, staff, attendance, first, _, settings, observed, rng = whole
    tool_arrays, t, a = ToolArrays(*arrays), TieArrays(*ties), Attendance(*attendance)
    n = len(peers[0])
    adopters = staff[8]
    gone = np.empty(n * (stop - first), dtype=np.int64)
    ends = np.zeros(stop - first + 1, dtype=np.int64)
    counts = np.zeros(4, dtype=np.int64)
    for month in range(first, stop):
        k = month - first
        uses = np.flatnonzero(calendar[month - 1])
        need = n * tool_arrays.encounters[uses].sum()
        if len(uses) and len(t.a) - t.meta[0] + t.meta[1] < need:  # ties.room
            return month, need, gone[: ends[k]], ends[: k + 1], adopters, counts
        if k > 0:  # a new month's attendance, as Month makes it
            a.reflection[:] = 0.0
            a.attended[:] = False
            a.tools[:] = 0
            a.codified[:] = False
        now = staff[:8] + (adopters,) + staff[9:]  # noqa: RUF005 - what Numba compiles
        this = (peers, orgs, ties, now, attendance, month, drawn[bounds[k] : bounds[k + 1]],
                settings, observed, rng)
        if len(uses):
            leavers, counts, _, _, adopters, values = _month_with_tools(
                turn, (uses, arrays, q, cohorts), this
            )
        else:
            leavers, _, _, adopters, values = _month_without_tools(turn, this)
            counts = np.zeros(4, dtype=np.int64)
        evaluation.record_month(ahead, ahead[1] + k, values, month, len(leavers), counts)
        gone[ends[k] : ends[k] + len(leavers)] = leavers
        ends[k + 1] = ends[k] + len(leavers)
    return stop, 0, gone[: ends[stop - first]], ends[: stop - first + 1], adopters, counts


@inlined
def _month_with_tools(
    turn: tuple, tools: tuple, whole: tuple
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """:func:`whole_month` with tool uses, on plain tuples (see :func:`after_tools`).

    ``turn``: the turnover settings, the personal factors and the focus profile; ``tools``: the
    month's uses, the tool arrays, the events' settings with logistics and canvassing for
    topics, and the cohorts; ``whole``: :func:`_whole`'s arguments. Returns the leavers, the
    tools' counts, then what :func:`_whole` returns.
    """
    leavers, staff = _turnover_first(turn, whole)
    uses, arrays, q, cohorts = tools
    peers, orgs, ties, _, attendance = whole[:5]
    counts = events.run_month(
        uses, ToolArrays(*arrays), events.Settings(*q[0]), Peers(*peers), Organisations(*orgs),
        TieArrays(*ties), Attendance(*attendance), cohorts, whole[-1], q[1], q[2],
    )
    informal, productive, adopters, values = _after(staff, whole)
    return leavers, counts, informal, productive, adopters, values


@inlined
def _month_without_tools(
    turn: tuple, whole: tuple
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """:func:`whole_month` with no tool used: turnover, then :func:`_whole`'s month.

    Returns the leavers, then what :func:`_whole` returns.
    """
    leavers, staff = _turnover_first(turn, whole)
    informal, productive, adopters, values = _after(staff, whole)
    return leavers, informal, productive, adopters, values


@inlined
def _turnover_first(
    turn: tuple, whole: tuple
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """Forget last month's contacts, then the month's turnover; the leavers and the staff after.

    ``turn`` and ``whole`` as :func:`_month_with_tools` takes them.
    """
    peers, _, ties, staff = whole[:4]
    new_month(TieArrays(*ties))
    leavers, adopters = turnover.turnover_month(
        whole[-1], turn[0], turn[1], turn[2], peers, staff, ties
    )
    return leavers, with_adopters(StaffArrays(*staff), adopters)


@kernel
def _first(
    peers: tuple,
    orgs: tuple,
    ties: tuple,
    staff: tuple,
    attendance: tuple,
    month: int,
    settings: tuple,
    rng: np.ndarray,
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """Informal contact to share forward.

    Returns the contacted slots, the productive peers, the lessons carried, the sharers and the
    adopters. Arguments are plain tuples (see :func:`after_tools`); ``settings`` holds the
    contact, transfer, reflection and diffusion settings.
    """
    return _first_month(
        Peers(*peers), Organisations(*orgs), TieArrays(*ties), StaffArrays(*staff),
        Attendance(*attendance), month, contact.Settings(*settings[0]),
        transfer.Settings(*settings[1]), reflection.Settings(*settings[2]),
        diffusion.Settings(*settings[3]), rng,
    )


@inlined
def _first_month(
    peers: Peers,
    orgs: Organisations,
    ties: TieArrays,
    staff: StaffArrays,
    attendance: Attendance,
    month: int,
    q_contact: contact.Settings,
    q_transfer: transfer.Settings,
    q_reflection: reflection.Settings,
    q_diffusion: diffusion.Settings,
    rng: np.ndarray,
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """:func:`_first` on the NamedTuples."""
    informal = contact.informal_month(ties, peers, q_contact, rng)
    contact.trust_month(ties, peers, q_contact, rng)
    productive = transfer.exchange_month(ties, peers, q_transfer, rng)
    transfer.socialise_month(peers, q_transfer)
    reflection.reflect_month(peers, attendance.reflection, q_reflection)
    carries, sharers, adopters = diffusion.share_month(
        peers, orgs, ties, staff, month, q_diffusion, rng
    )
    return informal, productive, carries, sharers, adopters


@kernel
def _second(
    peers: tuple,
    orgs: tuple,
    ties: tuple,
    staff: tuple,
    attendance: tuple,
    month: int,
    background: np.ndarray,
    q_diffusion: tuple,
    q_observation: tuple,
    rng: np.ndarray,
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """Background adoption to observation: the adopters and the observed values.

    Arguments are plain tuples (see :func:`after_tools`).
    """
    return _second_month(
        Peers(*peers), Organisations(*orgs), TieArrays(*ties), StaffArrays(*staff),
        Attendance(*attendance), month, background, diffusion.Settings(*q_diffusion),
        _observation(q_observation), rng,
    )


@inlined
def _observation(q: tuple) -> evaluation.Settings:  # pragma: no cover - compiled
    """The observation settings from their plain tuple (the stage settings a tuple in it)."""
    return evaluation.Settings(q[0], q[1], stages.Settings(*q[2]), q[3], q[4])


@inlined
def _second_month(
    peers: Peers,
    orgs: Organisations,
    ties: TieArrays,
    staff: StaffArrays,
    attendance: Attendance,
    month: int,
    background: np.ndarray,
    q_diffusion: diffusion.Settings,
    q_observation: evaluation.Settings,
    rng: np.ndarray,
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """:func:`_second` on the NamedTuples."""
    if len(background):
        staff = with_adopters(staff, diffusion.adopt_in_background(staff, background))
    staff = with_adopters(staff, diffusion.discontinue_month(staff, orgs.changed, q_diffusion, rng))
    staff = with_adopters(staff, diffusion.spread_month(staff, orgs.openness, q_diffusion, rng))
    diffusion.change_month(staff, orgs, month, q_diffusion)
    values = evaluation.observe_month(peers, orgs, ties, staff, attendance.tools, q_observation)
    return staff.adopters, values


@kernel
def _whole(
    peers: tuple,
    orgs: tuple,
    ties: tuple,
    staff: tuple,
    attendance: tuple,
    month: int,
    background: np.ndarray,
    settings: tuple,
    q_observation: tuple,
    rng: np.ndarray,
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """The whole month after the tools, without sharing at home.

    :func:`_first`, then :func:`_second`, on plain tuples (see :func:`after_tools`).
    """
    return _after(
        StaffArrays(*staff),
        (peers, orgs, ties, staff, attendance, month, background, settings, q_observation, rng),
    )


@inlined
def _after(
    staff: StaffArrays, whole: tuple
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """:func:`_whole` on its arguments (``whole``), with the staff as they are now (``staff``)."""
    peers, orgs, ties, _, attendance, month, background, settings, q_observation, rng = whole
    p, o, t, a = Peers(*peers), Organisations(*orgs), TieArrays(*ties), Attendance(*attendance)
    q_diffusion = diffusion.Settings(*settings[3])
    informal, productive, _, _, adopters = _first_month(
        p, o, t, staff, a, month, contact.Settings(*settings[0]),
        transfer.Settings(*settings[1]), reflection.Settings(*settings[2]), q_diffusion, rng,
    )
    adopters, values = _second_month(
        p, o, t, with_adopters(staff, adopters), a, month, background,
        q_diffusion, _observation(q_observation), rng,
    )
    return informal, productive, adopters, values
