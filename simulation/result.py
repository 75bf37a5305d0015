"""What a run produces: a summary, a monthly time series, and the scenario that made them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simulation.scenario import Scenario


@dataclass(frozen=True)
class Result:
    """The outcome of one run.

    Attributes:
        summary: Final-month outcomes: stage shares (``engaged``, ``sustained_contacts``,
            ``practical_learning``, ``applied``), ``orgs_changed``, ``staff_reached``,
            ``countries_changed``, ``reported_attendance`` and more (docs/ODD.md, Observation).
        timeseries: One row per month.
        scenario: The fully resolved scenario.
        seed: The seed of the run.
    """

    summary: dict[str, float]
    timeseries: pd.DataFrame
    scenario: Scenario
    seed: int | None

    def write(self, directory: Path) -> list[Path]:
        """Write ``summary.json``, ``timeseries.csv`` and ``scenario.toml`` into ``directory``.

        Returns:
            The paths written.
        """
        directory.mkdir(parents=True, exist_ok=True)
        summary = directory / "summary.json"
        summary.write_text(
            json.dumps(
                {"scenario": self.scenario.name, "seed": self.seed, **self.summary}, indent=2
            )
            + "\n"
        )
        series = directory / "timeseries.csv"
        self.timeseries.to_csv(series, index=False)
        scenario = directory / "scenario.toml"
        scenario.write_text(self.scenario.to_toml())
        return [summary, series, scenario]
