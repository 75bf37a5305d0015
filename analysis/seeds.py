"""Seeds for runs, designs and bootstraps, all derived from one root seed.

Every seed is a plain non-negative Python ``int`` below ``2**63`` (fits Parquet's
int64) drawn from ``np.random.SeedSequence(root, spawn_key=...)``. Separate spawn
keys give independent streams:

* ``(0, r)``: replicate ``r`` under common random numbers (the default): the same
  seed for replicate ``r`` in every design row and every compared scenario, so
  differences between rows are not blurred by seed noise.
* ``(1, row, r)``: independent seeds per (row, replicate).
* ``(2,)``: the design's own randomness (scrambling, LHS permutations, trajectories).
* ``(3,)``: bootstrap resampling in the analyses; ``(3, k)``: a study's own bootstraps
  (the Hourglass validation uses ``(3, 6)`` and ``(3, 9)``).
* ``(7, e)``: a study's experiment ``e``'s own draws (:func:`experiment_stream`; the
  Hourglass experiments use ``e`` = 0, 1, 2).
* ``(8,)``: the seeds of an experiment's own runs (:func:`experiment_seeds`; the Hourglass
  natural experiment's reviews).
* ``(4, b, k)``: the seed of a run whose design holds the seed as a factor
  (:func:`factor_seed`): block ``b`` of the design (a Sobol' base sample, a Morris trajectory)
  and the seed column's unit value ``u`` as ``k = floor(u * 2**53)``, so rows that share the
  column's value within a block share the seed.

Every stream is handed out here (:func:`run_seed`, :func:`factor_seed`, :func:`replicate_seeds`,
:func:`design_seed`, :func:`analysis_seed`, :func:`stream`, :func:`experiment_stream`,
:func:`experiment_seeds`); executors pass each run's seed through with its result.
"""

from __future__ import annotations

import numpy as np

_MASK63 = (1 << 63) - 1


def _derive(root: int, key: tuple[int, ...]) -> int:
    state = np.random.SeedSequence(int(root), spawn_key=key).generate_state(1, np.uint64)
    return int(state[0]) & _MASK63


def run_seed(root: int, row: int, replicate: int, *, common: bool = True) -> int:
    """The seed of one run.

    Args:
        root: The sweep's root seed.
        row: Design row.
        replicate: Replicate number.
        common: Common random numbers: replicate ``r`` gets the same seed in every row.

    Returns:
        A non-negative int below ``2**63``.
    """
    if common:
        return _derive(root, (0, int(replicate)))
    return _derive(root, (1, int(row), int(replicate)))


def factor_seed(root: int, block: int, unit: float) -> int:
    """The seed of a run when the design holds the seed as a factor.

    Args:
        root: The sweep's root seed.
        block: The run's block of design rows (rows an estimator compares with each other).
        unit: The seed column's unit value in the run's row, in ``[0, 1]``.

    Returns:
        A non-negative int below ``2**63``: equal for equal ``(block, unit)``, independent
        otherwise.
    """
    return _derive(root, (4, int(block), int(float(unit) * 2**53)))


def replicate_seeds(root: int, replicates: int) -> list[int]:
    """Common-random-number seeds of replicates ``0 .. replicates-1``."""
    return [run_seed(root, 0, r) for r in range(replicates)]


def design_seed(root: int) -> int:
    """Seed of the design's own randomness."""
    return _derive(root, (2,))


def analysis_seed(root: int) -> int:
    """Seed of bootstrap resampling (never 0: SALib ignores a zero seed)."""
    return _derive(root, (3,)) % (2**31 - 2) + 1


def stream(root: int, *key: int) -> np.random.Generator:
    """A NumPy generator on the stream ``key`` of ``root`` (keys as in the module docstring).

    Args:
        root: The root seed.
        *key: The spawn key, e.g. ``3, 9``.

    Returns:
        ``np.random.default_rng(np.random.SeedSequence(root, spawn_key=key))``.
    """
    return np.random.default_rng(np.random.SeedSequence(int(root), spawn_key=tuple(key)))


def experiment_stream(root: int, experiment: int) -> np.random.Generator:
    """The generator of experiment ``experiment``'s own draws: :func:`stream` ``(7, experiment)``.

    Independent of every run's stream, so an experiment's observation draws leave its runs as
    they would be without it.
    """
    return stream(root, 7, int(experiment))


def experiment_seeds(root: int, runs: int) -> list[int]:
    """Seeds of an experiment's ``runs`` own runs (stream ``(8,)``), each below ``2**63``.

    Args:
        root: The experiment's seed.
        runs: How many.

    Returns:
        ``runs`` seeds; the first ``k`` are the same whatever ``runs`` is.
    """
    state = np.random.SeedSequence(int(root), spawn_key=(8,)).generate_state(int(runs), np.uint64)
    return [int(s) & _MASK63 for s in state]
