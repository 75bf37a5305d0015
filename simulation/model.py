"""The Mesa model of the hourglass: the monthly schedule, and nothing else.

Each step is one month: turnover, then the facilitator's tools, contact and trust, knowledge
transfer, reflection, share forward and diffusion with change at scale, then observation
(docs/ODD.md §3). The submodels live in ``simulation/mechanisms/``.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np

from simulation.agents import Facilitator, HomeOrganisation, Peer
from simulation.convening import only_convenes
from simulation.errors import HourglassError
from simulation.initiative import draw_initiative, initiative_stream
from simulation.mechanisms import (
    contact,
    diffusion,
    events,
    reflection,
    schedule,
    transfer,
    turnover,
)
from simulation.mechanisms.evaluation import MonthRecord, Observer, informal_matrix
from simulation.mesa_core import Model
from simulation.population import initial_state
from simulation.reclaim import collect_earlier, remember
from simulation.result import Result
from simulation.scenario import Scenario
from simulation.state import Month
from simulation.tools import ToolArrays, load_tools


def _namespace(scenario: Scenario) -> SimpleNamespace:
    """The scenario's values by section (``p.contact.trust_decay``)."""
    return SimpleNamespace(
        **{section: SimpleNamespace(**keys) for section, keys in scenario.sections.items()}
    )


def _settings(p: SimpleNamespace) -> SimpleNamespace:
    """Under ``p.settings``, the NamedTuples of ``p`` each compiled submodel reads.

    Built once per run, after the initiative is applied, and named as in the scenario.
    """
    p.settings = SimpleNamespace(
        events=events.Settings.of(p),
        contact=contact.Settings.of(p),
        transfer=transfer.Settings.of(p),
        reflection=reflection.Settings.of(p),
        turnover=turnover.Settings.of(p),
        diffusion=diffusion.Settings.of(p),
    )
    return p


def _kind(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _seed(rng: object) -> int | dict | None:
    """What a result records of ``rng``: the seed, or a generator's state before the run.

    Raises:
        HourglassError: ``rng`` is not None, a whole number >= 0 or a NumPy Generator.
    """
    if rng is None:
        return None
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool | np.bool_) and rng >= 0:
        return int(rng)
    if isinstance(rng, np.random.Generator):
        # The state it starts from reproduces the run (set it on a new bit generator of the
        # same kind); arrays in it (MT19937's key) become lists, so it can be written as JSON.
        return _plain(rng.bit_generator.state)
    raise HourglassError(
        f"model: rng must be a whole number >= 0 or a numpy.random.Generator, not {_kind(rng)}"
    )


def _background_stream(rng: np.random.Generator, seed: int | dict | None) -> np.random.Generator:
    """The generator background adoption draws from: a stream of its own, off ``rng``'s path.

    For a whole-number seed it is spawned from the seed's sequence (spawning does not move
    ``rng``). A generator passed in is known only by its state, which does not hold the seed
    sequence it may spawn from (a generator rebuilt from the recorded state has another one), so
    its stream is derived from that starting state instead: the same state, the same run.
    """
    if isinstance(seed, dict):
        digest = hashlib.sha256(json.dumps(seed, sort_keys=True).encode()).digest()
        return np.random.default_rng(np.frombuffer(digest, dtype=np.uint32))
    return rng.spawn(1)[0]


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value.tolist() if isinstance(value, np.ndarray | np.generic) else value


class PeerLearningModel(Model):
    """Peer learning from facilitated events to change at scale (Andrews & Manning 2015).

    Args:
        scenario: The scenario to run; the baseline (the typical initiative) if omitted. It is
            ``model.scenario`` (where Mesa keeps a model's scenario).
        rng: Seed of the model's random generator (a whole number >= 0, NumPy's included), or a
            NumPy ``Generator``, which the model then draws from. Every draw comes from it, so
            the same seed, or a generator in the same state, gives bit-identical results.

    Raises:
        HourglassError: ``scenario`` is not a Scenario, or ``rng`` is none of the above.

    Example:
        >>> from simulation import Scenario, PeerLearningModel
        >>> result = PeerLearningModel(Scenario.load("baseline"), rng=7).run()
        >>> result.summary["orgs_changed"]  # doctest: +SKIP
    """

    def __init__(
        self, scenario: Scenario | None = None, *, rng: int | np.random.Generator | None = None
    ) -> None:
        if scenario is not None and not isinstance(scenario, Scenario):
            raise HourglassError(
                f"model: scenario must be a Scenario (Scenario.load(name)), not {_kind(scenario)}"
            )
        self.seed = _seed(rng)
        # Mesa seeds Python's own generator too, which takes a Python int, not a NumPy one.
        super().__init__(rng=self.seed if isinstance(self.seed, int) else rng)
        self.scenario = scenario if scenario is not None else Scenario.load("baseline")
        self.params = _namespace(self.scenario)
        self.months = self.params.run.months
        self.tool_table = load_tools()
        # The initiative is drawn first, from a stream of its own (simulation/initiative.py),
        # and written into the parameters every submodel reads.
        self.background_rng = _background_stream(self.rng, self.seed)
        initiative = draw_initiative(
            self.params, self.tool_table, initiative_stream(self.rng, self.seed)
        )
        initiative.apply(self.params, self.tool_table)
        _settings(self.params)
        self.tools = ToolArrays.from_table(self.tool_table).scaled(
            self.tool_table, vars(self.params.tool_effects)
        )
        collect_earlier()  # a finished large run's arrays, before this run takes its own
        self.state = initial_state(self.params, self.rng)
        remember(self, len(self.state.staff.org))
        calendar = events.plan_calendar(
            initiative.intensity, self.tools, self.months, self.rng, initiative.duration
        )
        if not self.params.facilitator.intends_sustained_contacts:  # Figure 14's first fork
            calendar, self.tools = only_convenes(calendar, self.tools, self.tool_table, self.params)
        self.facilitator = Facilitator(self, initiative, calendar)
        self.organisations = [
            HomeOrganisation(self, j) for j in range(self.params.population.home_organisations)
        ]
        self._peers = [Peer(self, i) for i in range(self.state.peers.n)]
        self.state.peers.person[:] = [peer.unique_id for peer in self._peers]
        self.observer = Observer(self.months)
        self.month_observers: list[Callable[[MonthRecord], None]] = []
        # True: the submodels after the tools run one by one from Python (the reference the
        # compiled month, simulation/mechanisms/schedule.py, is tested equal to).
        self.one_by_one = False
        # Leavers of months run() ran ahead in one compiled call, for Mesa's steps to replace
        # their agents month by month.
        self._ahead: deque[np.ndarray] = deque()

    @property
    def scenario(self) -> Scenario:
        """The scenario this model runs."""
        return self._scenario

    @scenario.setter
    def scenario(self, scenario: Scenario) -> None:
        # Mesa's __init__ first sets a placeholder scenario of its own and ties it to the model;
        # a hourglass Scenario is immutable and shared between runs, so it is only kept.
        self._scenario = scenario

    @property
    def hourglass_scenario(self) -> Scenario:
        """Deprecated alias of :attr:`scenario` (kept for one release)."""
        return self._scenario

    def peer_in(self, position: int) -> Peer:
        """The official now in ``position``."""
        return self._peers[position]

    @property
    def month(self) -> int:
        """Months completed."""
        return self.steps

    def _wrapped_step(self) -> None:
        # Mesa's step (time, then this model's step); refused once the run is over, because the
        # time series holds run.months rows.
        if self.steps >= self.months:
            raise HourglassError(
                f"model: the run is over ({self.months} months of run.months stepped); "
                "create a new model to run again"
            )
        super()._wrapped_step()

    def step(self) -> None:
        """Advance one month."""
        p, rng, state, month = self.params, self.rng, self.state, self.steps
        if self._ahead:  # run() ran this month ahead: only its successors' agents are new
            self._succeed(self._ahead.popleft())
            if month >= self.months:
                self.running = False
            return
        # Background adoption draws from a stream of its own and reads nothing of the state, so
        # it may draw before the month.
        background = diffusion.background_draws(
            state.staff.adopted.size, p.home_organisations.background_adoption,
            self.background_rng,
        )
        used = self.facilitator.tools_for(month)
        if not self._runs_whole():
            state.month = Month.empty(state.ties)
            self._succeed(turnover.leave(state, p, rng))
            self._seen_month(month, used, background)
        else:  # the whole month, turnover to observation, in one compiled call
            self._succeed(schedule.whole_month(
                state, p, month, rng, background, self.observer, used, self.tools,
                self.facilitator.cohorts,
            ))
        if month >= self.months:
            self.running = False

    def _runs_whole(self) -> bool:
        """Whether the month runs whole, turnover to observation, in one compiled call.

        Not for patches of the submodels (``one_by_one``), month observers (who see the month
        after its tools) or sharing at home (drawn in Python mid-month).
        """
        return not (self.one_by_one or self.month_observers or schedule.shares_at_home(self.params))

    def _succeed(self, leavers: np.ndarray) -> None:
        """New ``Peer`` agents for the successors in the leavers' positions."""
        for position in leavers:
            self._peers[position].remove()
            self._peers[position] = Peer(self, int(position))
            self.state.peers.person[position] = self._peers[position].unique_id

    def _seen_month(self, month: int, used: np.ndarray, background: np.ndarray) -> None:
        """The month from the tools on in separate calls.

        For month observers, patches of the submodels and sharing at home (drawn in Python
        mid-month). The tools run first, then the rest (one by one where asked); the month's
        record goes to each month observer. The draws and results are those of the single call.
        """
        p, rng, state = self.params, self.rng, self.state
        events.run_tools(state, used, self.tool_table, self.tools, p, rng, self.facilitator.cohorts)
        formal = state.month.contact if self.month_observers else None
        if self.one_by_one:
            informal, productive = self._one_by_one(month, background)
        else:
            slots, productive = schedule.after_tools(
                state, p, month, rng, background, self.observer
            )
            informal = (state.ties.arrays.a[slots], state.ties.arrays.b[slots])
        if self.month_observers:
            record = MonthRecord(
                month=month,
                formal=formal,
                informal=informal_matrix(state.peers.n, *informal),
                productive=productive,
                codified=state.month.codified.copy(),
                tools=state.month.tools.copy(),
                attended=state.month.attended.copy(),
                person=state.peers.person.copy(),
            )
            for observe in self.month_observers:
                observe(record)

    def _one_by_one(
        self, month: int, background: np.ndarray
    ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """The month after the tools, each submodel called from Python in turn."""
        p, rng, state = self.params, self.rng, self.state
        informal = contact.informal_contact(state, p, rng)
        contact.update_trust(state, p, rng)
        productive = transfer.exchange(state, p, rng)
        transfer.socialise(state, p)
        reflection.reflect(state, p)
        diffusion.share_forward(state, p, month, rng)
        if len(background):
            state.staff.adopters = diffusion.adopt_in_background(state.staff.arrays(), background)
        diffusion.discontinue(state, p, rng)
        diffusion.spread(state, p, rng)
        diffusion.change_at_scale(state, p, month)
        self.observer.observe(state, p, month)
        return informal, productive

    def run(self) -> Result:
        """Run the remaining months and return the result.

        Where each month would run whole in one compiled call, the remaining months run ahead
        in one (:func:`simulation.mechanisms.schedule.run_months`: the same draws in the same
        order, so the same results), and Mesa's steps then replace each month's leavers' agents
        in turn, as the steps would have. The state is read month by month through
        ``month_observers`` (the observation seam) or by stepping (:meth:`step`): with neither,
        anything else Mesa runs between the steps sees the state as the run leaves it.
        """
        if self.steps < self.months and self._runs_whole():
            months = range(self.steps + 1, self.months + 1)
            hazard = self.params.home_organisations.background_adoption
            background = [
                diffusion.background_draws(
                    self.state.staff.adopted.size, hazard, self.background_rng
                )
                for _ in months
            ]
            self._ahead.extend(schedule.run_months(
                self.state, self.params, months, self.rng, background, self.observer,
                self.facilitator.calendar, self.tools, self.facilitator.cohorts,
            ))
        while self.steps < self.months:
            self.step()
        return self.result()

    def result(self) -> Result:
        """The result so far: summary and monthly time series."""
        return Result(
            summary={**self.observer.summary(), **self.facilitator.record()},
            monthly=self.observer.monthly(),
            scenario=self.scenario,
            seed=self.seed,
        )
