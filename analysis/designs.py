"""Sampling designs on the unit hypercube of a :class:`~analysis.space.Space`.

Every design is a :class:`Design`: a ``rows x D`` matrix of unit values plus the
spec that regenerates it exactly (kind, sample size, seed, options). Sobol and
Morris designs come from SALib; the Latin hypercube from SciPy's ``qmc``.

Row counts:

* ``grid``: product of the levels of each factor (``levels`` for continuous ones).
* ``lhs``: ``samples``.
* ``sobol`` (Saltelli scheme): ``samples * (D + 2)``, or ``samples * (2D + 2)`` with
  second order; ``samples`` must be a power of 2 (balance of the Sobol' sequence).
* ``morris``: ``samples * (D + 1)`` (``samples`` trajectories).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from scipy.stats import qmc

from analysis.errors import AnalysisError
from analysis.seeds import design_seed
from analysis.space import Space

KINDS = ("grid", "lhs", "sobol", "morris")


@dataclass(frozen=True)
class Design:
    """A design: unit matrix plus the spec that regenerates it.

    Attributes:
        kind: One of ``grid``, ``lhs``, ``sobol``, ``morris``.
        samples: The size parameter (levels for grid, N for the others).
        seed: Root seed the design's own randomness was derived from.
        second_order: Sobol only: whether the design supports second-order indices.
        num_levels: Morris only: grid levels of the trajectories.
        unit: ``rows x D`` matrix of unit values.
    """

    kind: str
    samples: int
    seed: int
    second_order: bool
    num_levels: int
    unit: np.ndarray

    @property
    def rows(self) -> int:
        """Number of design rows."""
        return int(self.unit.shape[0])

    def spec(self) -> dict[str, Any]:
        """JSON-able spec (what the store compares to refuse a mismatched design)."""
        return {
            "kind": self.kind,
            "samples": self.samples,
            "seed": self.seed,
            "second_order": self.second_order,
            "num_levels": self.num_levels,
            "rows": self.rows,
        }


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def make_design(
    kind: str,
    space: Space,
    samples: int,
    seed: int,
    *,
    second_order: bool = False,
    num_levels: int = 4,
) -> Design:
    """Build a design.

    Args:
        kind: ``grid``, ``lhs``, ``sobol`` or ``morris``.
        space: The parameter space.
        samples: Levels per continuous factor (grid), points (lhs), base samples N
            (sobol, a power of 2) or trajectories (morris).
        seed: Root seed; the design's randomness is derived from it.
        second_order: Sobol only: add the rows needed for second-order indices.
        num_levels: Morris only: number of grid levels (even, >= 2).

    Returns:
        The design.

    Raises:
        AnalysisError: Unknown kind or a sample size the kind does not allow.
    """
    if kind not in KINDS:
        raise AnalysisError(f"design: kind {kind!r} is unknown; allowed: {', '.join(KINDS)}")
    if not isinstance(samples, int | np.integer) or isinstance(samples, bool) or samples < 1:
        raise AnalysisError(f"design {kind}: samples must be a positive integer, got {samples!r}")
    samples = int(samples)
    rng_seed = design_seed(seed)
    if kind == "grid":
        if samples < 2:
            raise AnalysisError("design grid: samples (levels per continuous factor) must be >= 2")
        unit = np.array(list(itertools.product(*space.grid_levels(samples))), dtype=float)
    elif kind == "lhs":
        unit = qmc.LatinHypercube(d=space.dim, rng=np.random.default_rng(rng_seed)).random(samples)
    elif kind == "sobol":
        if not _is_power_of_two(samples):
            lower = 1 << (samples.bit_length() - 1)
            raise AnalysisError(
                f"design sobol: samples N={samples} must be a power of 2 (e.g. {lower} or "
                f"{lower * 2}); the Sobol' sequence is balanced only at powers of 2"
            )
        unit = sobol_sample.sample(
            space.problem(), samples, calc_second_order=second_order, seed=rng_seed
        )
    else:
        if num_levels < 2 or num_levels % 2:
            raise AnalysisError(
                f"design morris: num_levels must be even and >= 2, got {num_levels}"
            )
        if samples < 2:
            raise AnalysisError("design morris: samples (trajectories) must be >= 2")
        unit = morris_sample.sample(space.problem(), samples, num_levels=num_levels, seed=rng_seed)
    return Design(
        kind=kind,
        samples=samples,
        seed=int(seed),
        second_order=bool(second_order) if kind == "sobol" else False,
        num_levels=int(num_levels) if kind == "morris" else 0,
        unit=np.ascontiguousarray(unit, dtype=float),
    )
