"""The model's agents: peers, their home organisations, and the facilitator.

Agents are Mesa agents and the model's vocabulary: ask a peer its stage, a home organisation
whether it changed at scale, the facilitator what it reports. Their state lives in the arrays of
``state.py`` so that a month is array arithmetic, not a loop over agents; an agent is a view on
its row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

# Mesa before SciPy and Numba: as it loads, Mesa looks its loggers' callers up by scanning every
# module imported so far, once per frame of the import (inspect.getmodule): 0.07 s of a cold
# start after them, 0.04 s before (issue 13)
from simulation.mesa_core import Agent

# isort: split
from simulation.initiative import GATHERINGS
from simulation.mechanisms.events import new_cohorts
from simulation.ties import ties_of
from simulation.vocabulary import LEARNING_TYPES, PATHS

if TYPE_CHECKING:
    from simulation.initiative import Initiative
    from simulation.model import PeerLearningModel


class Peer(Agent):
    """An individual official taking part, in one position of a home organisation.

    When the official leaves post the agent is removed and a successor, a new ``Peer`` with a new
    ``unique_id``, takes the same position.
    """

    def __init__(self, model: PeerLearningModel, position: int) -> None:
        super().__init__(model)
        self.position = position

    @property
    def home_organisation(self) -> HomeOrganisation:
        """The organisation that nominated this peer."""
        return self.model.organisations[int(self.model.state.peers.org[self.position])]

    @property
    def exposure(self) -> dict[str, float]:
        """Exposure by learning type."""
        return dict(
            zip(LEARNING_TYPES, self.model.state.peers.exposure[self.position], strict=True)
        )

    @property
    def learning(self) -> dict[str, float]:
        """Practical learning by learning type."""
        return dict(
            zip(LEARNING_TYPES, self.model.state.peers.learning[self.position], strict=True)
        )

    @property
    def stage(self) -> int:
        """The furthest hourglass stage reached (simulation/stages.py), 0 to 4.

        0 none, 1 its organisation's peer group foundational engagement is established, 2
        sustained contacts, 3 practical learning, 4 applied at home. The stages are observed,
        not imposed: a peer may learn practically by reflection tools alone, without stage 2.
        """
        peers, i = self.model.state.peers, self.position
        reached = (
            bool(self.model.state.orgs.engaged[peers.org[i]]),
            peers.sustained[i], peers.practical[i], peers.applied[i],
        )
        return max((s + 1 for s, flag in enumerate(reached) if flag), default=0)

    @property
    def path(self) -> str | None:
        """How this official learned practically: ``"contacts"`` or ``"reflection"`` (PATHS).

        The path that brought most of its practical learning; None before practical learning.
        """
        peers, i = self.model.state.peers, self.position
        if not peers.practical[i]:
            return None
        with_contacts = peers.learned_with_contacts[i] >= peers.learned_alone[i]
        return PATHS[0] if with_contacts else PATHS[1]

    @property
    def contacts(self) -> list[Peer]:
        """Peers this one has a live tie with."""
        ties = self.model.state.ties.arrays
        slots = ties_of(ties, self.position)
        partners = np.where(ties.a[slots] == self.position, ties.b[slots], ties.a[slots])
        return [self.model.peer_in(int(j)) for j in partners]


class HomeOrganisation(Agent):
    """A home organisation: its staff network, openness, and change at scale."""

    def __init__(self, model: PeerLearningModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def country(self) -> int:
        """The country or sector this organisation belongs to."""
        return int(self.model.state.orgs.country[self.index])

    @property
    def openness(self) -> float:
        """Openness of staff to returning peers' lessons."""
        return float(self.model.state.orgs.openness[self.index])

    @property
    def changed(self) -> dict[str, bool]:
        """Change at scale reached, by learning type."""
        return dict(
            zip(LEARNING_TYPES, map(bool, self.model.state.orgs.changed[self.index]), strict=True)
        )

    @property
    def staff_reached(self) -> float:
        """Share of this organisation's staff who adopted a lesson of any type."""
        staff = self.model.state.staff
        block = staff.adopted[staff.org_start[self.index] : staff.org_start[self.index + 1]]
        return float(block.any(axis=1).mean())

    @property
    def peers(self) -> list[Peer]:
        """The officials this organisation has in the initiative now."""
        positions = np.flatnonzero(self.model.state.peers.org == self.index)
        return [self.model.peer_in(int(i)) for i in positions]


class Facilitator(Agent):
    """Runs its initiative's tools on a calendar and reports what its evaluation reports.

    Attributes:
        initiative: The initiative the run follows (``simulation/initiative.py``).
        intensity: (tools,) its tool intensities.
        calendar: (months, tools) bool, which tools run in which month.
        cohorts: (tools, positions) the standing pairs and small groups of the tools serving
            sustained contacts (-1 until a tool's first use).
    """

    def __init__(
        self, model: PeerLearningModel, initiative: Initiative, calendar: np.ndarray
    ) -> None:
        super().__init__(model)
        self.initiative = initiative
        self.intensity = initiative.intensity
        self.calendar = calendar
        self.cohorts = new_cohorts(len(initiative.intensity), model.state.peers.n)
        parts = np.array([tool.process_part for tool in model.tool_table])
        self._gathers_by_part = {
            key: model.tools.gathers & (parts == key.split("_")[0]) for key in GATHERINGS
        }

    def tools_for(self, month: int) -> np.ndarray:
        """Which tools run in ``month`` (1-based), as a bool mask over the tool table."""
        return self.calendar[month - 1]

    @property
    def reported(self) -> dict[str, float]:
        """What the facilitator reports so far: events held, products released, attendance.

        The measures of activity every facilitator keeps; which of them, and of impact and
        learning, its evaluation shows is :attr:`reports` (Figure 11).
        """
        latest = self.model.observer.summary()
        keys = ("events_held", "products_released", "reported_attendance")
        return {k: latest.get(k, 0.0) for k in keys}

    @property
    def reports(self) -> dict[str, bool]:
        """Which metrics its evaluation reports (Figure 11; ``initiative.reports_*``)."""
        return dict(self.initiative.reports)

    def record(self) -> dict[str, float]:
        """The initiative and its gatherings so far, for the run's summary.

        Gatherings are tool uses that bring peers together, by the main Table 2 cell of the tool
        (foundational engagement or sustained individual contacts), in the months run.
        """
        run = self.calendar[: self.model.steps]
        return {
            **self.initiative.summary(self.model.tool_table),
            **{
                key: float(run[:, mask].sum()) for key, mask in self._gathers_by_part.items()
            },
        }
