"""The report's experiments over an ensemble of parameter sets: what each finds, in numbers.

:class:`ExperimentModel` runs one experiment (:mod:`hourglass.experiments`) as a sweep model,
``model({"parameter_set": row}, seed) -> {finding: float}``, so the engine can run it for every
parameter set of a posterior with seeds of their own (:func:`analysis.uncertainty.run_ensemble`)
and split each finding's variance between parameter sets and seeds. The findings are the numbers
the experiment reports (:func:`findings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def findings(name: str, result: Mapping[str, Any]) -> dict[str, float]:
    """The numbers an experiment's result reports.

    * contact-intensity: pairs of the six with informal and with formal contact, and how many of
      the other five a participant contacted in a report, on average;
    * personal-learning: participants, and the share of their weeks with a productive
      conversation;
    * natural: every contrast's difference (``learned: involved - colleague``, ...).
    """
    if name == "contact-intensity":
        return {
            "pairs_with_informal_contact": float((np.triu(result["informal"], 1) > 0).sum()),
            "pairs_with_formal_contact": float((np.triu(result["formal"], 1) > 0).sum()),
            "contacted_per_report": float(result["per_report"].to_numpy().mean()),
        }
    if name == "personal-learning":
        return {"participants": float(len(result["weekly"])),
                "share_of_weeks_productive": float(result["weekly"].to_numpy().mean())}
    return {f"{row.outcome}: {row.contrast}": float(row.diff)
            for row in result["contrasts"].itertuples()}


class ExperimentModel:
    """One experiment as a sweep model over parameter sets (picklable: plain attributes).

    Args:
        name: The experiment (``contact-intensity``, ``personal-learning``, ``natural``).
        base: Scenario name or path.
        overrides: Fixed overrides, applied before the parameter set.
        parameter_sets: The Parquet ensemble (the ``parameter_sets`` seam of
            :class:`hourglass.adapter.HourglassModel`).
        options: The experiment's options (``start``; ``reviews``, ``per_review``).
        held: Keys the parameter sets leave as the scenario or ``--set`` has them.
    """

    def __init__(self, name: str, base: str, overrides: Mapping[str, Any],
                 parameter_sets: str | Path, options: Mapping[str, Any],
                 held: tuple[str, ...] = ()) -> None:
        self.name = name
        self.base = str(base)
        self.overrides = dict(overrides)
        self.parameter_sets = str(parameter_sets)
        self.options = dict(options)
        self.held = tuple(held)

    def _model(self) -> Any:
        from hourglass.adapter import HourglassModel  # noqa: PLC0415

        return HourglassModel(self.base, every=0, overrides=self.overrides,
                              parameter_sets=self.parameter_sets, held=self.held)

    def describe(self) -> dict[str, Any]:
        """Identity recorded in sweep stores."""
        return {"experiment": self.name, "options": dict(sorted(self.options.items())),
                **self._model().describe()}

    def fingerprint(self) -> dict[str, Any]:
        """The resolved scenario and the code's digest (as the hourglass model's)."""
        return self._model().fingerprint()

    def check(self, params: Mapping[str, Any]) -> None:
        """Refuse a parameter set the scenario does not allow (one line)."""
        self._model().check(params)

    def __call__(self, params: Mapping[str, Any], seed: int) -> dict[str, float]:
        """Run the experiment on the parameter set in ``params`` with ``seed``; its findings."""
        from hourglass.experiments import (  # noqa: PLC0415
            contact_intensity,
            natural,
            personal_learning,
        )

        run = {"contact-intensity": contact_intensity, "personal-learning": personal_learning,
               "natural": natural}[self.name]
        result = run(self._model().scenario(params), int(seed), progress=False, **self.options)
        return findings(self.name, result)
