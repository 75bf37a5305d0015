"""Seeds for runs, designs and bootstraps, all derived from one root seed.

Every seed is a plain non-negative Python ``int`` below ``2**63`` (fits Parquet's
int64) drawn from ``np.random.SeedSequence(root, spawn_key=...)``. Separate spawn
keys give independent streams:

* ``(0, r)``: replicate ``r`` under common random numbers (the default): the same
  seed for replicate ``r`` in every design row and every compared scenario, so
  differences between rows are not blurred by seed noise.
* ``(1, row, r)``: independent seeds per (row, replicate).
* ``(2,)``: the design's own randomness (scrambling, LHS permutations, trajectories).
* ``(3,)``: bootstrap resampling in the analyses.
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


def replicate_seeds(root: int, replicates: int) -> list[int]:
    """Common-random-number seeds of replicates ``0 .. replicates-1``."""
    return [run_seed(root, 0, r) for r in range(replicates)]


def design_seed(root: int) -> int:
    """Seed of the design's own randomness."""
    return _derive(root, (2,))


def analysis_seed(root: int) -> int:
    """Seed of bootstrap resampling (never 0: SALib ignores a zero seed)."""
    return _derive(root, (3,)) % (2**31 - 2) + 1
