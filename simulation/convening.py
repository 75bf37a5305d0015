"""Figure 14's first fork: an initiative "not intended to ... achieve sustained contacts".

The report: "not all 'peer group engagement' is intended to lead to 'peer learning'" (OECD public
governance peer reviews, the Pacific Forum Compact Peer Reviews, the Open Government Partnership,
PISA: engagements of agencies or countries with "no stated intention to link this to
skill-building at the individual level"). With ``facilitator.intends_sustained_contacts`` false
the initiative only convenes, and its tools are designed for that, not its outcome zeroed:

* it runs no tool that Table 2 puts only in the sustained-contacts part (paired engagements,
  online networking, site visits, joint activities, community publications): their months are
  taken off the calendar after it is drawn, so every other draw is as it would have been;
* its gatherings meet in plenary, one group of all who attend (no breakouts, pairs or standing
  groups), where each attendee has at most ``facilitator.margin_encounters`` encounters, partners
  chosen as at any gathering. Ties can still form there and last ("although it might"): how many
  sustained contacts result is an outcome of contact, trust and tie loss.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulation.stages import is_foundational
from simulation.tools import Tool, ToolArrays


def only_convenes(
    calendar: np.ndarray, tools: ToolArrays, table: tuple[Tool, ...], p: SimpleNamespace
) -> tuple[np.ndarray, ToolArrays]:
    """The calendar and tool arrays of an initiative that only convenes.

    Args:
        calendar: (months, tools) bool, the drawn calendar (not changed).
        tools: The tool arrays (not changed).
        table: The tool table.
        p: Parameters (``facilitator.margin_encounters``).

    Returns:
        The calendar without the sustained-contacts-only tools, and the tools as plenaries.
    """
    keeps = np.array([is_foundational(tool) for tool in table])
    calendar = calendar & keeps
    margin = int(p.facilitator.margin_encounters)
    plenary = tools.gathers
    changes = {
        "group_size": np.where(plenary, 0, tools.group_size),
        "encounters": np.where(plenary, np.minimum(tools.encounters, margin), tools.encounters),
    }
    if "sustains" in tools._fields:  # tools that keep their groups keep none in a plenary
        changes["sustains"] = np.zeros_like(tools.sustains)
    return calendar, tools._replace(**changes)
