"""Compare two scenarios or parameter sets with common random numbers.

Both arms run replicates ``0 .. R-1`` with the *same* seeds (:func:`replicate_seeds`),
so each replicate gives a paired difference ``d_r = B_r - A_r`` in which the shared
seed noise largely cancels. For each outcome we report:

* ``mean_a``, ``mean_b``: arm means; ``diff`` = mean of ``d_r`` (B minus A);
* ``ci_low``, ``ci_high``: 95 % t interval of the mean difference,
  ``diff ± t(0.975, R-1) · sd(d) / sqrt(R)``;
* ``sd_diff``: standard deviation of the paired differences (ddof 1);
* ``d_z``: Cohen's d for paired data, ``diff / sd(d)`` (the standardised mean
  difference of the pairs; it grows as common random numbers remove noise, so it
  measures how reliably B differs from A run by run, not the size of the gap relative
  to the spread of outcomes, for which ``d_av = diff / mean(sd_a, sd_b)`` is given too);
* ``p_value``: two-sided paired t-test.

When every paired difference is equal (e.g. an outcome B does not change),
``sd_diff`` is 0, the interval collapses to ``diff`` and ``d_z``/``p_value`` are NaN
unless ``diff`` is 0 (then ``d_z`` is 0 and ``p_value`` 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisError
from analysis.executors import Model, RunResult, executor_for
from analysis.seeds import replicate_seeds

COLUMNS = [
    "mean_a", "mean_b", "diff", "ci_low", "ci_high", "sd_diff", "d_z", "d_av", "p_value", "n",
]

Arm = Model | tuple[Model, Mapping[str, Any]]


def _arm(arm: Arm, label: str) -> tuple[Model, dict[str, Any]]:
    if isinstance(arm, tuple):
        if len(arm) != 2 or not callable(arm[0]) or not isinstance(arm[1], Mapping):
            raise AnalysisError(f"compare: arm {label} must be a model or (model, params)")
        return arm[0], dict(arm[1])
    if not callable(arm):
        raise AnalysisError(f"compare: arm {label} must be a model or (model, params)")
    return arm, {}


def run_arms(
    a: Arm,
    b: Arm,
    replicates: int = 100,
    seed: int = 1,
    executor: Any = "processes",
    *,
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run both arms with the same replicate seeds.

    Returns:
        Two DataFrames (A, B) indexed by replicate with a ``seed`` column and outputs.
    """
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 2:
        raise AnalysisError(f"compare: replicates must be an integer >= 2, got {replicates!r}")
    seeds = replicate_seeds(seed, replicates)
    arms = [_arm(a, "A"), _arm(b, "B")]
    for model, params in arms:
        check = getattr(model, "check", None)
        if callable(check):
            check(params)
    groups = [
        (model, [(arm * replicates + r, params, seeds[r]) for r in range(replicates)])
        for arm, (model, params) in enumerate(arms)
    ]
    results: dict[int, RunResult] = {}

    def keep(chunk: list[RunResult]) -> None:
        results.update((r.run_id, r) for r in chunk)

    with executor_for(executor, workers) as runner:
        runner.map_runs(groups, keep, chunk_size=chunk_size, progress=progress, desc="compare")
    frames = []
    for arm in (0, 1):
        done = [results[arm * replicates + r] for r in range(replicates)]
        frame = pd.DataFrame([r.outputs for r in done], dtype=float)
        frame.insert(0, "seed", np.array([r.seed for r in done], dtype=np.int64))
        frame.index.name = "replicate"
        frames.append(frame)
    return frames[0], frames[1]


def paired_summary(
    runs_a: pd.DataFrame, runs_b: pd.DataFrame, conf_level: float = 0.95
) -> pd.DataFrame:
    """Paired differences B - A per outcome (see the module docstring).

    Args:
        runs_a: Arm A, one row per replicate, aligned with ``runs_b`` by index.
        runs_b: Arm B.
        conf_level: Level of the t interval.

    Returns:
        DataFrame indexed by outcome with columns mean_a, mean_b, diff, ci_low,
        ci_high, sd_diff, d_z, d_av, p_value, n.
    """
    if not runs_a.index.equals(runs_b.index):
        raise AnalysisError("compare: arms A and B have different replicates")
    outcomes = [c for c in runs_a.columns if c != "seed" and c in runs_b.columns]
    rows = []
    for name in outcomes:
        ya = runs_a[name].to_numpy(dtype=float)
        yb = runs_b[name].to_numpy(dtype=float)
        d = yb - ya
        n = len(d)
        diff = float(d.mean())
        sd = float(d.std(ddof=1))
        t = float(stats.t.ppf(0.5 + conf_level / 2, n - 1))
        half = t * sd / np.sqrt(n)
        if sd > 0:
            d_z = diff / sd
            p = float(2 * stats.t.sf(abs(diff) / (sd / np.sqrt(n)), n - 1))
        else:
            d_z, p = (0.0, 1.0) if diff == 0 else (np.nan, np.nan)
        spread = (float(ya.std(ddof=1)) + float(yb.std(ddof=1))) / 2
        d_av = diff / spread if spread > 0 else (0.0 if diff == 0 else np.nan)
        rows.append([float(ya.mean()), float(yb.mean()), diff, diff - half, diff + half,
                     sd, d_z, d_av, p, n])
    frame = pd.DataFrame(rows, columns=COLUMNS, index=pd.Index(outcomes, name="outcome"))
    return frame.astype({"n": int})


def compare(
    a: Arm,
    b: Arm,
    replicates: int = 100,
    seed: int = 1,
    executor: Any = "processes",
    *,
    outcomes: Sequence[str] | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Compare two arms with common random numbers.

    Args:
        a: Arm A: a model, or ``(model, params)``.
        b: Arm B, likewise (e.g. another base scenario or other parameter values).
        replicates: Paired replicates (>= 2).
        seed: Root seed of the shared replicate seeds.
        executor: ``"serial"``, ``"processes"`` or a ``dask.distributed.Client``.
        outcomes: Outcomes to keep (default: every output both arms return).
        workers: Process count for ``"processes"``.
        progress: Show a progress bar.

    Returns:
        The :func:`paired_summary` table (B minus A).
    """
    runs_a, runs_b = run_arms(a, b, replicates, seed, executor, workers=workers, progress=progress)
    table = paired_summary(runs_a, runs_b)
    if outcomes is not None:
        unknown = [o for o in outcomes if o not in table.index]
        if unknown:
            raise AnalysisError(
                f"compare: outcome {unknown[0]!r} is unknown; allowed: {', '.join(table.index)}"
            )
        table = table.loc[list(outcomes)]
    return table
