"""What a run produces: a summary, a monthly time series, and the scenario that made them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.scenario import Scenario

INTEGER_COLUMNS = ("month", "ties_alive", "departures", "events_held", "products_released")


def timeseries_frame(monthly: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The monthly arrays as a table, one row per month, counts as integers."""
    frame = pd.DataFrame(dict(monthly))
    integer = [c for c in INTEGER_COLUMNS if c in frame.columns]
    return frame.astype(dict.fromkeys(integer, "int64"))


@dataclass(frozen=True)
class Result:
    """The outcome of one run.

    Attributes:
        summary: Final-month outcomes: the hourglass stages (``engaged``, a share of
            organisations, and ``countries_engaged``; ``sustained_contacts``,
            ``practical_learning`` and ``applied``, shares of positions, with the appliers by
            path ``applied_via_contacts`` and ``applied_via_reflection``, and
            ``sustained_unengaged``, stage 2 reached without stage 1; simulation/stages.py),
            ``participants``, ``orgs_changed``, ``staff_reached``, ``countries_changed``,
            ``reported_attendance`` and more (docs/ODD.md, Observation).
        monthly: One array per time-series column, one value per month (what sweeps read).
        scenario: The fully resolved scenario.
        seed: The seed of the run; for a run given a NumPy Generator, its bit generator's
            state at the start (a dict), from which the run can be repeated.
    """

    summary: dict[str, float]
    monthly: Mapping[str, np.ndarray]
    scenario: Scenario
    seed: int | dict | None

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """One row per month (built on first use: sweeps need only a few months of it)."""
        return timeseries_frame(self.monthly)

    def write(self, directory: Path) -> list[Path]:
        """Write ``summary.json``, ``timeseries.csv`` and ``scenario.toml`` into ``directory``.

        Returns:
            The paths written.
        """
        directory.mkdir(parents=True, exist_ok=True)
        summary = directory / "summary.json"
        summary.write_text(
            json.dumps(
                {"scenario": self.scenario.name, "seed": _json_seed(self.seed),
                 "overrides": dict(self.scenario.overrides), **self.summary},
                indent=2,
            )
            + "\n"
        )
        series = directory / "timeseries.csv"
        self.timeseries.to_csv(series, index=False)
        scenario = directory / "scenario.toml"
        scenario.write_text(self.scenario.to_toml())
        return [summary, series, scenario]


def _json_seed(seed: object) -> int | dict | None:
    """The seed as JSON can hold it: a whole number, or the starting state of a generator.

    The model records a generator passed as ``rng`` as its bit generator's state at the start
    (a dict of plain numbers, from which the run repeats); anything else is ``None``.
    """
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return int(seed)
    if isinstance(seed, dict):
        return seed
    return None
