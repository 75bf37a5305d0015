"""The calibration's model and epsilon as pyabc sees them.

pyabc asks a model for summary statistics and then accepts or rejects them against the
generation's epsilon (``Model.accept``). Here the epsilon is handed to the particle's judge
(:meth:`hourglass.calibration.ParticleModel.statistics`) so that it runs more replicates while
seed noise could still decide the verdict; pyabc's acceptor then decides on the pooled result.
The epsilon itself (:class:`NoiseEpsilon`) is chosen so that the seeds decide few acceptances.
Kept apart from :mod:`hourglass.calibration` so that importing that module does not import pyabc.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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

    Generation 0's comes from the prior sample (its distances, as measured in this process by
    ``distance``, with their seed SDs), a later generation's from the last finished one (read
    from the history by ``generation``). When the next epsilon would not be at least
    :data:`NARROWING` below the last, the targets tell the remaining particles apart no better
    than the seeds at the cap of runs: :attr:`exhausted` is set to that generation (the
    calibration stops before it) and the epsilon stays the last one.

    Args:
        distance: The calibration's :class:`~hourglass.calibration.TargetDistance`.
        generation: ``t`` -> the finished generation's distances, seed SDs, runs and weights,
            and its epsilon.
        share: ``Settings.seeds_decide``.
        cap: ``Settings.max_replicates``.
    """

    def __init__(self, distance: Any,
                 generation: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray,
                                                   np.ndarray, float]],
                 share: float, cap: int) -> None:
        super().__init__()
        self.distance, self.generation, self.share, self.cap = distance, generation, share, cap
        self.values: dict[int, float] = {}
        self.chosen: dict[int, dict[str, float]] = {}
        self.exhausted: int | None = None

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
        """Generation ``t``'s epsilon: from the prior sample (t = 0) or the history (a resume)."""
        del get_all_records, max_nr_populations, acceptor_config
        if t > 0:
            self._from_history(t)
            return
        self.distance.measured.clear()
        frame = get_weighted_distances()  # the prior sample's distances, measured here
        measured = np.array(self.distance.measured[-len(frame):], dtype=float)
        if len(measured) != len(frame) or not np.allclose(measured[:, 0],
                                                          frame["distance"].to_numpy()):
            msg = "calibrate: the prior sample's seed noise was not measured with its distances"
            raise RuntimeError(msg)
        self._set(t, measured[:, 0], measured[:, 1], measured[:, 2], frame["w"].to_numpy(),
                  None)

    def update(self, t: int, get_weighted_distances: Callable[[], Any],
               get_all_records: Callable[[], list[dict]], acceptance_rate: float,
               acceptor_config: dict) -> None:
        """Generation ``t``'s epsilon from generation t - 1 (in the history by now)."""
        del get_weighted_distances, get_all_records, acceptance_rate, acceptor_config
        self._from_history(t)

    def _from_history(self, t: int) -> None:
        d, sd, runs, w, last = self.generation(t - 1)
        self._set(t, d, sd, runs, w, last)

    def _set(self, t: int, d: np.ndarray, sd: np.ndarray, runs: np.ndarray, w: np.ndarray,
             last: float | None) -> None:
        from hourglass.calibration import noise_epsilon  # noqa: PLC0415

        at_cap = sd * np.sqrt(np.where(np.isfinite(runs), runs, self.cap) / self.cap)
        epsilon, chosen = noise_epsilon(d, sd, w, at_cap, self.share)
        if last is None and t - 1 in self.values:
            last = self.values[t - 1]
        if last is not None and epsilon > (1 - NARROWING) * last:
            self.exhausted = t
            epsilon = min(epsilon, last)
        self.values[t] = epsilon
        self.chosen[t] = {**chosen, "epsilon": epsilon}

    def __call__(self, t: int) -> float:
        """The epsilon of generation ``t`` (KeyError before it is chosen)."""
        return self.values[t]
