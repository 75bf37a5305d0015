"""The calibration's model as pyabc sees it: replicates in batches until acceptance is decided.

pyabc asks a model for summary statistics and then accepts or rejects them against the
generation's epsilon (``Model.accept``). Here the epsilon is handed to the particle's judge
(:meth:`hourglass.calibration.ParticleModel.statistics`) so that it runs more replicates while
seed noise could still decide the verdict; pyabc's acceptor then decides on the pooled result.
Kept apart from :mod:`hourglass.calibration` so that importing that module does not import pyabc.
"""

from __future__ import annotations

import math
from typing import Any

import pyabc
from pyabc.model import ModelResult


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
