"""The Mesa model of the hourglass: the monthly schedule, and nothing else.

Each step is one month: turnover, then the facilitator's tools, contact and trust, knowledge
transfer, reflection, share forward and diffusion with change at scale, then observation
(docs/ODD.md §3). The submodels live in ``simulation/mechanisms/``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import mesa
import numpy as np

from simulation.agents import Facilitator, HomeOrganisation, Peer
from simulation.mechanisms import contact, diffusion, events, reflection, transfer, turnover
from simulation.mechanisms.evaluation import MonthRecord, Observer, informal_matrix
from simulation.population import initial_state
from simulation.result import Result
from simulation.scenario import Scenario
from simulation.state import Month
from simulation.tools import ToolArrays, load_tools


def _namespace(scenario: Scenario) -> SimpleNamespace:
    """The scenario's values by section (``p.contact.trust_decay``).

    Under ``p.settings``, the NamedTuples of them each compiled submodel reads, built once per
    run and named as in the scenario.
    """
    p = SimpleNamespace(
        **{section: SimpleNamespace(**keys) for section, keys in scenario.to_dict().items()}
    )
    p.settings = SimpleNamespace(
        events=events.Settings.of(p),
        contact=contact.Settings.of(p),
        transfer=transfer.Settings.of(p),
        turnover=turnover.Settings.of(p),
        diffusion=diffusion.Settings.of(p),
    )
    return p


class PeerLearningModel(mesa.Model):
    """Peer learning from facilitated events to change at scale (Andrews & Manning 2015).

    Args:
        scenario: The scenario to run; the baseline (the typical initiative) if omitted.
        rng: Seed of the model's random generator. Every draw comes from it, so the same seed
            gives bit-identical results.

    Example:
        >>> from simulation import Scenario, PeerLearningModel
        >>> result = PeerLearningModel(Scenario.load("baseline"), rng=7).run()
        >>> result.summary["orgs_changed"]  # doctest: +SKIP
    """

    def __init__(self, scenario: Scenario | None = None, *, rng: int | None = None) -> None:
        super().__init__(rng=rng)
        self.hourglass_scenario = scenario if scenario is not None else Scenario.load("baseline")
        self.seed = rng
        self.params = _namespace(self.hourglass_scenario)
        self.months = self.params.run.months
        self.tool_table = load_tools()
        self.tools = ToolArrays.from_table(self.tool_table)
        self.state = initial_state(self.params, self.rng)
        # Background adoption draws from a stream of its own (spawning does not move self.rng).
        self.background_rng = self.rng.spawn(1)[0]
        intensity = np.array([getattr(self.params.tools, tool.name) for tool in self.tool_table])
        calendar = events.plan_calendar(intensity, self.tools, self.months, self.rng)
        self.facilitator = Facilitator(self, intensity, calendar)
        self.organisations = [
            HomeOrganisation(self, j) for j in range(self.params.population.home_organisations)
        ]
        self._peers = [Peer(self, i) for i in range(self.state.peers.n)]
        self.state.peers.person[:] = [peer.unique_id for peer in self._peers]
        self.observer = Observer(self.months)
        self.month_observers: list[Callable[[MonthRecord], None]] = []

    def peer_in(self, position: int) -> Peer:
        """The official now in ``position``."""
        return self._peers[position]

    @property
    def month(self) -> int:
        """Months completed."""
        return self.steps

    def step(self) -> None:
        """Advance one month."""
        p, rng, state, month = self.params, self.rng, self.state, self.steps
        state.month = Month.empty(state.peers.n)
        for position in turnover.officials_leave(state, p, rng):
            self._peers[position].remove()
            self._peers[position] = Peer(self, int(position))
            state.peers.person[position] = self._peers[position].unique_id
        turnover.colleagues_leave(state, p, rng)
        events.run_tools(
            state, self.facilitator.tools_for(month), self.tool_table, self.tools, p, rng
        )
        formal = state.month.contact.copy() if self.month_observers else None
        informal = contact.informal_contact(state, p, rng)
        contact.update_trust(state, p, rng)
        productive = transfer.exchange(state, p, rng)
        transfer.socialise(state, p)
        reflection.reflect(state, p)
        diffusion.share_forward(state, p, month, rng)
        diffusion.background_adoption(state, p, self.background_rng)
        diffusion.discontinue(state, p, rng)
        diffusion.spread(state, p, rng)
        diffusion.change_at_scale(state, p, month)
        self.observer.observe(state, p, month)
        if self.month_observers:
            record = MonthRecord(
                month=month,
                formal=formal,
                informal=informal_matrix(state.peers.n, *informal),
                productive=productive,
                tools=state.month.tools.copy(),
                attended=state.month.attended.copy(),
                person=state.peers.person.copy(),
            )
            for observe in self.month_observers:
                observe(record)
        if month >= self.months:
            self.running = False

    def run(self) -> Result:
        """Run the remaining months and return the result."""
        while self.steps < self.months:
            self.step()
        return self.result()

    def result(self) -> Result:
        """The result so far: summary and monthly time series."""
        return Result(
            summary=self.observer.summary(),
            monthly=self.observer.monthly(),
            scenario=self.hourglass_scenario,
            seed=self.seed,
        )
