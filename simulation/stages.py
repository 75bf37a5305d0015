"""The hourglass stages: observer thresholds on what the mechanisms did, defined here once.

The mechanisms make each step cause the next (docs/ODD.md, Emergence): ties form only at the
facilitator's gatherings; a tie that lasts is a sustained contact (``contact.py``); practical
learning grows only by reflecting with a sustained contact, or by reflection tools alone where
``reflection.without_sustained_contact`` > 0 (``reflection.py``); what a peer shares at home is
only what it carries as practical learning (``diffusion.py``). The stages read those records and
change nothing:

1. ``engaged`` — peer group foundational engagement established (report Figures 13 and 14: "the
   primary unit of analysis is the agency or the country"): an organisation is engaged once its
   officials have taken part in ``observation.foundational_uses`` uses of a foundational gathering
   (Table 2's foundational part) that brought together officials of at least two organisations;
   a country (or sector) is engaged when at least ``home_organisations.national_share`` of its
   organisations are. Shares of organisations and of countries.
2. ``sustained_contacts`` — the official in post has held a sustained contact: a live tie at
   least ``observation.sustained_months`` old.
3. ``practical_learning`` — the official's practical learning of some type has reached
   ``reflection.carry_threshold`` (:func:`carried_lessons`: the lessons it can share).
4. ``applied`` — the official has shared a lesson at home at least once.

Stages 2 to 4 are shares of positions, cumulative for the official in post. An applier's *path*
is the one that brought most of its practical learning: with sustained contacts
(``applied_via_contacts``) or by reflection tools alone (``applied_via_reflection``); the two sum
to ``applied``. ``participants`` is the share of positions whose official took part in some
gathering (the attendance a facilitator sees), no longer a stage. ``sustained_unengaged`` measures
the one way stage 2 is reached without stage 1 (no rule makes engagement a condition of a tie):
the share of positions whose official has held a sustained contact while its organisation is not
engaged, through tools that pair peers or keep small groups without a foundational gathering of
two organisations.
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from simulation.compiled import inlined, kernel
from simulation.state import Organisations, Peers, State
from simulation.tools import Tool

STAGE_COLUMNS = (
    "engaged",
    "countries_engaged",
    "participants",
    "sustained_contacts",
    "practical_learning",
    "applied",
    "applied_via_contacts",
    "applied_via_reflection",
    "sustained_unengaged",
)
"""The observer's columns this module fills, in this order."""
_N_COLUMNS = len(STAGE_COLUMNS)

GROUP = 2
"""Organisations that must be present for a gathering to be a peer *group* engagement.

Source: derived from the report's unit ("groups of organisations or countries"; "the primary unit
of analysis is the agency or the country"): a group of peers spans more than one organisation.
Not a scenario key, because no other value reads the report."""


@kernel
def carried_lessons(
    learning: np.ndarray, carry_threshold: float
) -> np.ndarray:  # pragma: no cover - compiled; tested directly and through observe
    """(N, 4) bool: the lessons each peer carries, its practical learning at the threshold.

    The one definition of practical learning: diffusion shares these lessons, the observer's
    stage 3 is reached with any of them (both compiled, both calling this).
    """
    return learning >= carry_threshold


def is_foundational(tool: Tool) -> bool:
    """Whether Table 2 puts the tool in the foundational part (its main cell or another)."""
    cells = getattr(tool, "cells", ((tool.process_part, tool.function),))
    return any(part == "foundational" for part, _ in cells)


@cache
def foundational_gatherings(table: tuple[Tool, ...]) -> int:
    """Bit mask over the tool table of the foundational tools that bring peers together."""
    mask = 0
    for g, tool in enumerate(table):
        if is_foundational(tool) and tool.gathers_peers:
            mask |= 1 << g
    return mask


class Settings(NamedTuple):
    """The scenario values the compiled stage observation reads, named as in the scenario."""

    foundational_uses: int  # observation.foundational_uses
    carry_threshold: float  # reflection.carry_threshold
    national_share: float  # home_organisations.national_share

    @classmethod
    def of(cls, p: SimpleNamespace) -> Settings:
        """Read the settings from the scenario's parameters (once per run)."""
        return cls(
            foundational_uses=int(p.observation.foundational_uses),
            carry_threshold=float(p.reflection.carry_threshold),
            national_share=float(p.home_organisations.national_share),
        )


def observe(
    state: State, q: Settings, foundational: int, per_country: np.ndarray
) -> np.ndarray:
    """Update the stage flags from this month's records; return the :data:`STAGE_COLUMNS`.

    Args:
        state: The model state at the end of the month (read; only stage flags are written).
        q: The stage settings.
        foundational: :func:`foundational_gatherings` of the tool table.
        per_country: (countries,) organisations in each country.
    """
    return observe_month(
        state.peers, state.orgs, state.month.tools, np.int64(foundational), per_country, q
    )


@inlined
def observe_month(
    peers: Peers,
    orgs: Organisations,
    took_part: np.ndarray,
    foundational: np.int64,
    per_country: np.ndarray,
    q: Settings,
) -> np.ndarray:  # pragma: no cover - compiled; tested through observe
    """One pass over the positions, and one per foundational tool used this month."""
    n = len(peers.org)
    out = np.zeros(_N_COLUMNS)
    _count_group_gatherings(peers.org, orgs, took_part, foundational)
    engaged_in_country = np.zeros(len(per_country))
    for o in range(len(orgs.country)):
        orgs.engaged[o] |= orgs.foundational[o] >= q.foundational_uses
        out[0] += orgs.engaged[o]
        engaged_in_country[orgs.country[o]] += orgs.engaged[o]
    out[0] /= len(orgs.country)
    out[1] = (engaged_in_country / per_country >= q.national_share).sum() / len(per_country)
    # Stages 2 to 4, per official in post.
    carried = carried_lessons(peers.learning, q.carry_threshold)
    for i in range(n):
        peers.sustained[i] |= peers.sustained_contact[i]
        carries = False
        for k in range(carried.shape[1]):
            carries |= carried[i, k]
        peers.practical[i] |= carries
        peers.applied[i] |= peers.shares[i] > 0
        out[2] += peers.engaged[i]
        out[3] += peers.sustained[i]
        if peers.sustained[i] and not orgs.engaged[peers.org[i]]:
            out[8] += 1
        out[4] += peers.practical[i]
        if peers.applied[i]:
            out[5] += 1
            if peers.learned_with_contacts[i] >= peers.learned_alone[i]:
                out[6] += 1
            else:
                out[7] += 1
    out[2:] /= n
    return out


@kernel
def _count_group_gatherings(
    org: np.ndarray, orgs: Organisations, took_part: np.ndarray, foundational: np.int64
) -> None:  # pragma: no cover - compiled; tested through observe
    """Count, for each organisation, this month's foundational uses it took part in as a group.

    A use counts for the organisations whose officials took part in it when they are at least
    :data:`GROUP` organisations. Each tool runs at most once a month (its calendar is by month).
    """
    used = np.int64(0)
    for i in range(len(org)):
        used |= took_part[i] & foundational
    stamp = np.full(len(orgs.country), -1, dtype=np.int64)
    present = np.empty(len(orgs.country), dtype=np.int64)
    g = 0
    while used >> g:
        if (used >> g) & 1:
            count = 0
            for i in range(len(org)):
                o = org[i]
                if (took_part[i] >> g) & 1 and stamp[o] != g:
                    stamp[o] = g
                    present[count] = o
                    count += 1
            if count >= GROUP:
                for x in range(count):
                    orgs.foundational[present[x]] += 1
        g += 1
