"""The calibration targets (``targets.toml``, package data) and the distance to them.

Targets are the report's numbers (issue 15 §1), two-sided with a tolerance from the report's own
sample (two binomial standard errors); they were chosen, and committed, before any fitting. A
model's value is pooled over replicates as a ratio of sums over the persons each share counts
(:data:`hourglass.counts.DENOMINATOR`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hourglass.counts import DENOMINATOR

TARGETS_FILE = Path(__file__).with_name("targets.toml")
KINDS = ("verification", "held-out", "calibration", "retired")


@dataclass(frozen=True)
class Target:
    """One number of the report the model is fitted to."""

    name: str
    pattern: str
    text: str
    value: float
    n: int
    tolerance: float
    source: str

    def worst(self) -> float:
        """The largest deviation a value can have (used when the model counts nobody).

        A share lies in [0, 1]; the mean number of tools in [1, number of tools in the table]
        (a peer learner attended some tool). Counting nobody must be at least as far as
        any count, or the fit would prefer particles in which nobody learns.
        """
        low, high = self.bounds()
        return max(self.value - low, high - self.value)

    def bounds(self) -> tuple[float, float]:
        """The range the model's value can take."""
        if self.name == "p4_mean_tools":
            from simulation import load_tools  # noqa: PLC0415

            return 1.0, float(len(load_tools()))
        return 0.0, 1.0


def load_targets(path: str | Path = TARGETS_FILE) -> dict[str, Target]:
    """The targets by output name."""
    with Path(path).open("rb") as handle:
        data = tomllib.load(handle)
    return {name: Target(name=name, **spec) for name, spec in data.items()
            if name != "classification"}


def classification(path: str | Path = TARGETS_FILE) -> dict[str, str]:
    """How each validation criterion (``"P4:mean_tools"``) counts: one of :data:`KINDS`."""
    with Path(path).open("rb") as handle:
        return dict(tomllib.load(handle)["classification"])


def pooled(runs: Sequence[Mapping[str, float]], name: str) -> float:
    """A share over replicates: the ratio of sums over the persons it counts (NaN: nobody)."""
    den = DENOMINATOR[name]
    total = sum(float(r[den]) for r in runs)
    if total == 0:
        return math.nan
    return sum(float(r[name]) * float(r[den]) for r in runs if float(r[den]) > 0) / total


def distance(stats: Mapping[str, float], targets: Mapping[str, Target]) -> float:
    """Root of the summed squared deviations, each in units of its target's tolerance.

    A target the model cannot count (no peer learner, no participant) counts as its worst
    deviation, so a particle that learns nothing is far from every share of learners.
    """
    total = 0.0
    for name, target in targets.items():
        value = float(stats[name])
        deviation = target.worst() if math.isnan(value) else value - target.value
        total += (deviation / target.tolerance) ** 2
    return math.sqrt(total)
