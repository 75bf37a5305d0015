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


def _exhausted(following: float, last: float) -> bool:
    """Whether an epsilon fails to narrow on the last one by :data:`NARROWING`."""
    return following > (1 - NARROWING) * last


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

    The noise model (:func:`hourglass.calibration.noise_model`) comes from the prior sample,
    every particle of which is judged on the same runs: its distances, seed SDs and runs as
    measured in this process by ``distance``. Generation 0's epsilon is chosen over the prior,
    each later one over the particles proposed around the last generation's posterior. Each
    choice is appended to ``record`` (one JSON line; generation 0's with the noise model), and a
    resume reads them back, so it goes on exactly as the interrupted session would have. When
    the next epsilon would not be at least :data:`NARROWING` below the last, :attr:`exhausted`
    is set to that generation (the calibration stops before it) and the epsilon stays the last.

    Args:
        distance: The calibration's :class:`~hourglass.calibration.TargetDistance`.
        record: Where each choice is appended.
        share: ``Settings.seeds_decide``.
        cap: ``Settings.max_replicates``.
    """

    def __init__(self, distance: Any, record: str, share: float, cap: int) -> None:
        super().__init__()
        self.distance, self.record, self.share, self.cap = distance, Path(record), share, cap
        self.values: dict[int, float] = {}
        self.model: dict[str, float] | None = None
        self.exhausted: int | None = None
        # The generations the epsilon allows before it is exhausted: the schedule depends only
        # on the noise model, so it is known once generation 0's epsilon is (the progress bar's
        # estimate of the time left uses it).
        self.expected_generations: int | None = None

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
        from hourglass.calibration import noise_model  # noqa: PLC0415

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
        self.model = noise_model(measured[:, 0], measured[:, 1], measured[:, 2], self.cap)
        self._choose(0)
        self._project()

    def update(self, t: int, get_weighted_distances: Callable[[], Any],
               get_all_records: Callable[[], list[dict]], acceptance_rate: float,
               acceptor_config: dict) -> None:
        """Generation ``t``'s epsilon, over the particles proposed after generation t - 1."""
        del get_weighted_distances, get_all_records, acceptance_rate, acceptor_config
        self._choose(t)

    def _resume(self, t: int) -> None:
        from hourglass.calibration import recorded_epsilons  # noqa: PLC0415

        if t in self.values:  # read already (the calibration looks before pyabc does)
            return
        recorded = recorded_epsilons(self.record)
        if 0 not in recorded or t - 1 not in recorded:
            msg = (f"calibrate: {self.record} lacks the epsilons before generation {t}; "
                   "start this calibration afresh in another --out")
            raise RuntimeError(msg)
        self.model = recorded[0]["model"]
        self.values.update({k: float(e["epsilon"]) for k, e in recorded.items() if k <= t})
        if t in recorded:
            self.exhausted = t if recorded[t]["exhausted"] else None
        else:
            self._choose(t)
        self._project()

    def _project(self) -> None:
        """Count the generations before the epsilon is exhausted (:func:`_choose`'s rule)."""
        from hourglass.calibration import noise_epsilon  # noqa: PLC0415

        last, count = self.values[0], 1
        while count < 64:
            following = noise_epsilon(self.model, self.share, last)[0]
            if _exhausted(following, last):
                break
            last, count = following, count + 1
        self.expected_generations = count

    def _choose(self, t: int) -> None:
        from hourglass.calibration import noise_epsilon  # noqa: PLC0415

        last = self.values.get(t - 1)
        epsilon, chosen = noise_epsilon(self.model, self.share, last)
        exhausted = last is not None and _exhausted(epsilon, last)
        if exhausted:
            self.exhausted = t
            epsilon = last
        self.values[t] = epsilon
        entry = {"t": t, "epsilon": epsilon, "exhausted": bool(exhausted),
                 **{k: round(float(v), 4) for k, v in chosen.items()}}
        if t == 0:
            entry["model"] = self.model
        with self.record.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def __call__(self, t: int) -> float:
        """The epsilon of generation ``t`` (KeyError before it is chosen)."""
        return self.values[t]
