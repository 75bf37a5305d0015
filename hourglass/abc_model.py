"""The calibration's model and epsilon as pyabc sees them.

pyabc asks a model for summary statistics and then accepts or rejects them against the
generation's epsilon (``Model.accept``). Here the epsilon is handed to the particle's judge
(:meth:`hourglass.calibration.ParticleModel.statistics`) so that it runs more replicates while
seed noise could still decide the verdict; pyabc's acceptor then decides on the pooled result.
The epsilon itself (:class:`NoiseEpsilon`) is chosen so that the seeds decide few acceptances.
Kept apart from :mod:`hourglass.calibration` so that importing that module does not import pyabc.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyabc
from pyabc.model import ModelResult

NARROWING = 0.01
"""A generation's epsilon must be at least this share below the last one's, or there is nothing
more the seeds leave to select on (:attr:`NoiseEpsilon.exhausted`)."""


class SequentialModel(pyabc.Model):
    """A :class:`~hourglass.calibration.ParticleModel` with sequential replicates (picklable).

    Args:
        particle_model: Judges a particle given its values and an epsilon.
    """

    def __init__(self, particle_model: Any) -> None:
        super().__init__(name="hourglass")
        self.particle_model = particle_model

    def sample(self, pars: Any) -> dict[str, float]:
        """One batch of replicates (the prior sample, before any epsilon is known)."""
        return self.particle_model(pars)

    def accept(self, t: int, pars: Any, sum_stat_calculator: Any, distance_calculator: Any,
               eps_calculator: Any, acceptor: Any, x_0: dict) -> ModelResult:
        """Judge the particle with as many replicates as its verdict needs, then accept."""
        try:
            epsilon = float(eps_calculator(t))
        except (TypeError, ValueError, KeyError):  # not known yet: one batch
            epsilon = math.inf
        stats = self.particle_model.judge(pars, epsilon)
        result = ModelResult(sum_stat=sum_stat_calculator(stats))
        verdict = acceptor(distance_function=distance_calculator, eps=eps_calculator,
                           x=result.sum_stat, x_0=x_0, t=t, par=pars)
        result.distance = verdict.distance
        result.accepted = verdict.accept
        result.weight = verdict.weight
        return result


class NoiseEpsilon(pyabc.epsilon.Epsilon):
    """Each generation's epsilon from :func:`hourglass.calibration.noise_epsilon` (picklable).

    Generation 0's comes from the prior sample (its distances, seed SDs and runs as measured in
    this process by ``distance``); a later generation's from every particle the last one judged,
    accepted or rejected (the lines ``log`` gained since: what the next generation proposes,
    not selected on its distances), or, where the log lacks them (workers on other machines),
    from the last generation's accepted particles in the history (``generation``). Each choice
    is appended to ``record`` (one JSON line); a resume takes the epsilon recorded for the
    generation it starts, so it goes on exactly as the interrupted session would have. When the
    next epsilon would not be at least :data:`NARROWING` below the last, the targets tell the
    particles apart no better than the seeds allow: :attr:`exhausted` is set to that generation
    (the calibration stops before it) and the epsilon stays the last one.

    Args:
        distance: The calibration's :class:`~hourglass.calibration.TargetDistance`.
        log: Its log of every judged particle's distance, seed SD and runs.
        record: Where each choice is appended.
        generation: ``t`` -> the finished generation's accepted distances, seed SDs, runs,
            weights and its epsilon (from the history).
        share: ``Settings.seeds_decide``.
        cap: ``Settings.max_replicates``.
    """

    def __init__(self, distance: Any, log: str, record: str,
                 generation: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray,
                                                   np.ndarray, float]],
                 share: float, cap: int) -> None:
        super().__init__()
        self.distance, self.log, self.record = distance, Path(log), Path(record)
        self.generation, self.share, self.cap = generation, share, cap
        self.values: dict[int, float] = {}
        self.exhausted: int | None = None
        self.mark = 0  # lines of the log before the generation being sampled

    def requires_calibration(self) -> bool:
        """Generation 0's epsilon needs the prior sample."""
        return True

    def is_adaptive(self) -> bool:
        """It follows the particles."""
        return True

    def get_config(self) -> dict:
        """What pyabc records of it."""
        return {**super().get_config(), "seeds_decide": self.share, "cap": self.cap}

    def initialize(self, t: int, get_weighted_distances: Callable[[], Any],
                   get_all_records: Callable[[], list[dict]], max_nr_populations: int,
                   acceptor_config: dict) -> None:
        """Generation ``t``'s epsilon: from the prior sample (t = 0), or as recorded (a resume)."""
        del get_all_records, max_nr_populations, acceptor_config
        if t > 0:
            self._resume(t)
            return
        self.distance.measured.clear()
        frame = get_weighted_distances()  # the prior sample's distances, measured here
        measured = np.array(self.distance.measured[-len(frame):], dtype=float)
        if len(measured) != len(frame) or not np.allclose(measured[:, 0],
                                                          frame["distance"].to_numpy()):
            msg = "calibrate: the prior sample's seed noise was not measured with its distances"
            raise RuntimeError(msg)
        self._choose(t, measured[:, 0], measured[:, 1], measured[:, 2], None)

    def update(self, t: int, get_weighted_distances: Callable[[], Any],
               get_all_records: Callable[[], list[dict]], acceptance_rate: float,
               acceptor_config: dict) -> None:
        """Generation ``t``'s epsilon from the particles generation t - 1 judged."""
        del get_weighted_distances, get_all_records, acceptance_rate, acceptor_config
        judged = self._judged()
        if len(judged) >= 3:
            d, sd, runs = judged[:, 0], judged[:, 1], judged[:, 2]
        else:  # not in the log: the accepted ones (selected on their distances) must do
            d, sd, runs, _, _ = self.generation(t - 1)
        self._choose(t, d, sd, runs, self.values.get(t - 1))

    def _judged(self) -> np.ndarray:
        """(distance, seed SD, runs) of each line the log gained since the mark."""
        lines = self._lines()[self.mark:]
        rows = [line.split() for line in lines]
        return np.array([[float(x) for x in r[:3]] for r in rows if len(r) >= 3],
                        dtype=float).reshape(-1, 3)

    def _lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.is_file() else []

    def _resume(self, t: int) -> None:
        recorded = {}
        if self.record.is_file():
            for line in self.record.read_text().splitlines():
                entry = json.loads(line)
                recorded[int(entry["t"])] = entry
        self.values.update({k: float(e["epsilon"]) for k, e in recorded.items() if k <= t})
        if t in recorded:
            self.exhausted = t if recorded[t]["exhausted"] else None
            self.mark = len(self._lines())
            return
        d, sd, runs, _, last = self.generation(t - 1)
        self._choose(t, d, sd, runs, self.values.get(t - 1, last))

    def _choose(self, t: int, d: np.ndarray, sd: np.ndarray, runs: np.ndarray,
                last: float | None) -> None:
        from hourglass.calibration import noise_epsilon  # noqa: PLC0415

        at_cap = sd * np.sqrt(np.where(np.isfinite(runs), runs, self.cap) / self.cap)
        epsilon, chosen = noise_epsilon(d, sd, at_cap, self.share)
        exhausted = last is not None and epsilon > (1 - NARROWING) * last
        if exhausted:
            self.exhausted = t
            epsilon = min(epsilon, last)
        self.values[t] = epsilon
        self.mark = len(self._lines())
        entry = {"t": t, "epsilon": epsilon, "exhausted": bool(exhausted),
                 **{k: round(float(v), 4) for k, v in chosen.items()}}
        with self.record.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def __call__(self, t: int) -> float:
        """The epsilon of generation ``t`` (KeyError before it is chosen)."""
        return self.values[t]
