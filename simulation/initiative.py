"""The initiative a run follows: one drawn from a population like the report's, or one fixed.

The report's numbers about tools (Figure 7), selection (F4), practices (P9) and evaluation
(Figure 11) are shares of the 52 facilitated initiatives it mapped, not the intensities of one
average facilitator. With ``initiative.draw = "population"`` a run is one initiative drawn from
such a population by the run's seed: which tools it uses (each with its Figure 7 share, tools of
one cluster of ``tools.toml`` dependent through a Gaussian copula), how long its facilitator works,
whether it selects peers by matching, uses peer contracts, keeps handling logistics after events
and canvasses topics, and what its evaluation reports. With ``"fixed"`` the scenario is the one
initiative, and only what it reports is drawn.

The draws come from a stream of their own, derived from the model's seed (as background
adoption's), so that a scenario and its counterfactual without tools (same seed) are the same
initiative, and a fixed scenario's other draws do not move with them. Every draw is made whatever
the shares, so the number of draws does not depend on them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from scipy import special

from simulation.stages import is_foundational
from simulation.tools import CLUSTERS, Tool

__all__ = [
    "GATHERINGS", "REPORTED_METRICS", "Initiative", "draw_initiative", "initiative_stream",
    "record_keys", "summary_keys",
]

REPORTED_METRICS = ("activity", "impact", "training_transfer", "learning")
"""What an initiative's evaluation may report (Figure 11): events, products and attendance; overall
impact; training transfer; peer learning."""
MIN_TOOLS = 2
"""Every facilitator "uses more than one tool" (report, Figure 7's text)."""


@dataclass(frozen=True)
class Initiative:
    """The initiative one run follows.

    Attributes:
        draw: "population" (drawn) or "fixed" (the scenario's).
        intensity: (tools,) intensity of each tool of the tool table (0: not used); a drawn
            initiative uses a tool at intensity 1 (its ``uses_per_year``).
        duration: Months the facilitator runs its tools, from the start; may exceed the run.
        selection: "position" or "matched" (``facilitator.selection``).
        matching: ``levers.matching``.
        peer_contracts: ``levers.peer_contracts``.
        logistics: ``facilitator.logistics``.
        canvass_topics: ``facilitator.canvass_topics``.
        reports: Whether its evaluation reports each of :data:`REPORTED_METRICS`.
    """

    draw: str
    intensity: np.ndarray
    duration: int
    selection: str
    matching: float
    peer_contracts: float
    logistics: float
    canvass_topics: float
    reports: dict[str, bool]

    def apply(self, p: SimpleNamespace, table: tuple[Tool, ...]) -> None:
        """Write the initiative's values into the run's parameters ``p`` (read by the submodels)."""
        for tool, value in zip(table, self.intensity, strict=True):
            setattr(p.tools, tool.name, float(value))
        p.facilitator.selection = self.selection
        p.facilitator.logistics = self.logistics
        p.facilitator.canvass_topics = self.canvass_topics
        p.levers.matching = self.matching
        p.levers.peer_contracts = self.peer_contracts

    def summary(self, table: tuple[Tool, ...]) -> dict[str, float]:
        """What a run's result records of the initiative, as numbers (see :func:`summary_keys`)."""
        used = self.intensity > 0
        part = np.array([t.process_part for t in table])
        out = {
            "initiative_drawn": float(self.draw == "population"),
            "initiative_tools": float(used.sum()),
            "initiative_foundational_tools": float((used & (part == "foundational")).sum()),
            "initiative_sustained_tools": float((used & (part == "sustained")).sum()),
            "initiative_duration": float(self.duration),
            "initiative_matched": float(self.selection == "matched"),
            "initiative_peer_contracts": float(self.peer_contracts),
            "initiative_logistics": float(self.logistics),
            "initiative_canvass_topics": float(self.canvass_topics),
        }
        out.update({f"initiative_{t.name}": float(v) for t, v in zip(table, self.intensity,
                                                                      strict=True)})
        out.update({f"reports_{m}": float(self.reports[m]) for m in REPORTED_METRICS})
        return out


def summary_keys(table: tuple[Tool, ...]) -> tuple[str, ...]:
    """The keys :meth:`Initiative.summary` adds to a run's summary, in order."""
    return (
        "initiative_drawn", "initiative_tools", "initiative_foundational_tools",
        "initiative_sustained_tools", "initiative_duration", "initiative_matched",
        "initiative_peer_contracts", "initiative_logistics", "initiative_canvass_topics",
        *(f"initiative_{t.name}" for t in table),
        *(f"reports_{m}" for m in REPORTED_METRICS),
    )


GATHERINGS = ("foundational_gatherings", "sustained_gatherings")
"""Tool uses that brought peers together in the months run, by the tool's main Table 2 cell."""


def record_keys(table: tuple[Tool, ...]) -> tuple[str, ...]:
    """Every key a run's summary holds about its initiative: the initiative, then gatherings."""
    return (*summary_keys(table), *GATHERINGS)


def initiative_stream(rng: np.random.Generator, seed: int | dict | None) -> np.random.Generator:
    """The generator the initiative is drawn from: a stream of its own, off ``rng``'s path.

    For a whole-number seed it is the second stream spawned from the seed's sequence (background
    adoption has the first; spawning does not move ``rng``). A generator passed in is known by
    its starting state only, so the stream is derived from that state, salted.
    """
    if isinstance(seed, dict):
        text = json.dumps({"initiative": seed}, sort_keys=True).encode()
        return np.random.default_rng(np.frombuffer(hashlib.sha256(text).digest(), dtype=np.uint32))
    return rng.spawn(1)[0]


def draw_initiative(
    p: SimpleNamespace, table: tuple[Tool, ...], rng: np.random.Generator
) -> Initiative:
    """Draw the run's initiative from ``rng`` (see the module's docstring).

    Args:
        p: The scenario's values by section (before the initiative is applied).
        table: The tool table.
        rng: The initiative's stream (:func:`initiative_stream`).

    Returns:
        The initiative: drawn from the population, or the scenario's own with drawn reports.
    """
    share = np.array([float(getattr(p.tools, t.name)) for t in table])
    if not p.facilitator.intends_sustained_contacts:
        # Figure 14's first fork: an initiative that only convenes is drawn among the tools it
        # can run, so it always has some (simulation/convening.py takes the others off its
        # calendar too); the draws' number and order do not change.
        share = np.where([is_foundational(t) for t in table], share, 0.0)
    i = p.initiative
    latent = _tool_latents(table, float(i.tool_correlation), rng)
    duration_draw, practices, report_draws = rng.random(), rng.random(4), rng.random(4)
    if i.draw == "population":
        used = _tool_set(latent, share)
        intensity = used.astype(float)
        low, high = int(i.duration_min), int(i.duration_max)  # low <= high: scenario.py
        duration = round(float(np.exp(np.log(low) + duration_draw * (np.log(high) - np.log(low)))))
        matched = practices[0] < i.matched_selection
        selection = "matched" if matched else p.facilitator.selection
        matching = max(float(p.levers.matching), float(i.matched_grouping) if matched else 0.0)
        contracts = max(float(p.levers.peer_contracts),
                        float(i.contract_uptake) if practices[1] < i.peer_contracts else 0.0)
        logistics = max(float(p.facilitator.logistics),
                        1.0 if practices[2] < i.logistics else 0.0)
        canvass = max(float(p.facilitator.canvass_topics),
                      float(i.canvass_level) if practices[3] < i.canvass_topics else 0.0)
    else:
        intensity = share
        duration = int(i.months) if i.months > 0 else int(p.run.months)
        selection, matching = p.facilitator.selection, float(p.levers.matching)
        contracts, logistics = float(p.levers.peer_contracts), float(p.facilitator.logistics)
        canvass = float(p.facilitator.canvass_topics)
    return Initiative(
        draw=i.draw,
        intensity=intensity,
        duration=duration,
        selection=selection,
        matching=matching,
        peer_contracts=contracts,
        logistics=logistics,
        canvass_topics=canvass,
        # Training transfer's chance among those running training is Figure 11's share over the
        # share running it: of the population drawn from, or of the report's (Figure 7).
        reports=_reports(
            table, intensity,
            share if i.draw == "population" else np.array([t.figure7_share for t in table]),
            i, report_draws,
        ),
    )


def _tool_latents(table: tuple[Tool, ...], rho: float, rng: np.random.Generator) -> np.ndarray:
    """Each tool's latent propensity: standard normal, correlated rho within a cluster."""
    common = rng.standard_normal(len(CLUSTERS))
    own = rng.standard_normal(len(table))
    cluster = np.array([CLUSTERS.index(t.cluster) for t in table])
    return np.sqrt(rho) * common[cluster] + np.sqrt(1.0 - rho) * own


def _tool_set(latent: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Tools used: latent below the share's normal quantile, so each is used with its share.

    An initiative with fewer than :data:`MIN_TOOLS` also takes the unused tools closest to their
    threshold (only tools some initiatives use), without another draw.
    """
    margin = latent - special.ndtri(share)  # < 0: used; ndtri(0) = -inf, ndtri(1) = inf
    used = margin < 0
    missing = MIN_TOOLS - int(used.sum())
    if missing > 0:
        candidates = np.flatnonzero(~used & (share > 0))
        closest = candidates[np.argsort(margin[candidates], kind="stable")[:missing]]
        used[closest] = True
    return used


def _reports(
    table: tuple[Tool, ...],
    intensity: np.ndarray,
    share: np.ndarray,
    i: SimpleNamespace,
    draws: np.ndarray,
) -> dict[str, bool]:
    """What the initiative's evaluation reports (Figure 11), from four uniforms.

    Training transfer can be reported only by an initiative that runs training; its chance there
    is the Figure 11 share over the share of initiatives running training.
    """
    names = [t.name for t in table]
    training = names.index("training_sessions")
    transfer = 0.0
    if intensity[training] > 0:
        transfer = min(1.0, float(i.reports_training_transfer) / max(share[training], 1e-12))
    chances = (float(i.reports_activity), float(i.reports_impact), transfer,
               float(i.reports_learning))
    return {m: bool(d < c) for m, d, c in zip(REPORTED_METRICS, draws, chances, strict=True)}
