"""Two parts of an outcome's variance: between parameter sets and between seeds (issue 15 §3).

For runs over (parameter set x seed), each outcome is read as a one-way random-effects model
(Searle, Casella & McCulloch 1992, ch. 3)::

    y_ij = mu + a_i + e_ij,    a_i ~ (0, sigma2_between),   e_ij ~ (0, sigma2_within)

where ``i`` is a parameter set (a draw from what we do not know about the world: a posterior
ensemble, a prior sample) and ``j`` a seed (chance). The ANOVA estimators are

* ``within = MSW``, the mean square within sets (chance);
* ``between = max(0, (MSB - MSW) / n0)``, the spread of the sets' true means (epistemic), with
  ``n0 = (N - sum n_i^2 / N) / (k - 1)`` seeds per set (``n`` when balanced);
* ``share_between = between / (between + within)``, the intraclass correlation.

Intervals (``level``, default 95 %): ``within`` from the chi-square law of ``SSW``;
``share_between`` from the F law of ``MSB / MSW`` (exact for balanced normal data; with
``n0`` otherwise); ``between`` and ``total`` by a bootstrap over parameter sets (sets resampled
with replacement, each with all its seeds), with a generator of its own. Everything is per
outcome; nothing here knows the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisError

COLUMNS = (
    "mean", "between", "between_low", "between_high", "within", "within_low", "within_high",
    "share_between", "share_low", "share_high", "total", "total_low", "total_high", "sets",
    "seeds_per_set",
)


def _summaries(frame: pd.DataFrame, outcome: str, by: str) -> tuple[np.ndarray, ...]:
    """Per set: count, mean and sum of squares within."""
    values = frame[outcome].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise AnalysisError(f"uncertainty: outcome {outcome!r} has missing or infinite values")
    groups = frame.groupby(by, sort=True)[outcome]
    n = groups.count().to_numpy(dtype=float)
    mean = groups.mean().to_numpy(dtype=float)
    ss = groups.agg(lambda x: float(((x - x.mean()) ** 2).sum())).to_numpy(dtype=float)
    return n, mean, ss


def _anova(n: np.ndarray, mean: np.ndarray, ss: np.ndarray) -> tuple[np.ndarray, ...]:
    """ANOVA estimates for one or many resamples (last axis: sets)."""
    k = n.shape[-1]
    total_n = n.sum(axis=-1)
    grand = (n * mean).sum(axis=-1) / total_n
    ssb = (n * (mean - grand[..., None]) ** 2).sum(axis=-1)
    ssw = ss.sum(axis=-1)
    msb = ssb / (k - 1)
    msw = ssw / (total_n - k)
    n0 = (total_n - (n**2).sum(axis=-1) / total_n) / (k - 1)
    between = np.maximum(0.0, (msb - msw) / n0)
    return grand, between, msw, msb, n0


def variance_split(
    frame: pd.DataFrame, outcome: str, by: str = "parameter_set", level: float = 0.95,
    bootstrap: int = 2000, seed: int = 0,
) -> dict[str, float]:
    """Split one outcome's variance into between parameter sets and between seeds.

    Args:
        frame: One row per run, with a column ``by`` naming the parameter set and ``outcome``.
        outcome: The column to split.
        by: The parameter-set column.
        level: Interval level.
        bootstrap: Resamples of parameter sets for the interval of ``between`` and ``total``.
        seed: Seed of the bootstrap's generator.

    Returns:
        The :data:`COLUMNS` for this outcome (the shares are NaN when it does not vary at all).

    Raises:
        AnalysisError: Fewer than 2 sets, a set with fewer than 2 seeds, a bad level or
            missing values.
    """
    if not 0 < level < 1:
        raise AnalysisError(f"uncertainty: level must be in (0, 1), got {level!r}")
    if by not in frame.columns or outcome not in frame.columns:
        missing = by if by not in frame.columns else outcome
        raise AnalysisError(f"uncertainty: no column {missing!r} in the runs")
    n, mean, ss = _summaries(frame, outcome, by)
    k = len(n)
    if k < 2 or (n < 2).any():
        raise AnalysisError(
            f"uncertainty: need >= 2 parameter sets with >= 2 seeds each; got {k} sets, "
            f"fewest seeds {int(n.min()) if k else 0}"
        )
    grand, between, msw, msb, n0 = _anova(n, mean, ss)
    alpha = 1 - level
    df_b, df_w = k - 1, n.sum() - k
    ssw = ss.sum()
    within_low = ssw / stats.chi2.ppf(1 - alpha / 2, df_w)
    within_high = ssw / stats.chi2.ppf(alpha / 2, df_w)
    ratio = msb / msw if msw > 0 else np.inf
    f_low = ratio / stats.f.ppf(1 - alpha / 2, df_b, df_w)
    f_high = ratio / stats.f.ppf(alpha / 2, df_b, df_w)
    share_low = max(0.0, (f_low - 1) / (f_low + n0 - 1)) if np.isfinite(f_low) else 1.0
    share_high = min(1.0, (f_high - 1) / (f_high + n0 - 1)) if np.isfinite(f_high) else 1.0
    share_high = max(share_high, 0.0)
    if msb == 0 and msw == 0:  # the outcome does not vary at all: no share to estimate
        share_low = share_high = np.nan
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 15, 3]))
    pick = rng.integers(0, k, size=(int(bootstrap), k))
    _, b_between, b_within, _, _ = _anova(n[pick], mean[pick], ss[pick])
    lo_q, hi_q = 100 * alpha / 2, 100 * (1 - alpha / 2)
    total = float(between + msw)
    boot_total = b_between + b_within
    share = float(between / total) if total > 0 else np.nan
    return {
        "mean": float(grand), "between": float(between),
        "between_low": float(np.percentile(b_between, lo_q)),
        "between_high": float(np.percentile(b_between, hi_q)),
        "within": float(msw), "within_low": float(within_low), "within_high": float(within_high),
        "share_between": share, "share_low": float(share_low), "share_high": float(share_high),
        "total": total, "total_low": float(np.percentile(boot_total, lo_q)),
        "total_high": float(np.percentile(boot_total, hi_q)),
        "sets": float(k), "seeds_per_set": float(n0),
    }


def decompose(
    frame: pd.DataFrame, outcomes: Sequence[str] | None = None, by: str = "parameter_set",
    level: float = 0.95, bootstrap: int = 2000, seed: int = 0,
) -> pd.DataFrame:
    """:func:`variance_split` for every outcome: one row each, indexed by outcome.

    ``outcomes`` defaults to every numeric column but ``by`` and ``seed``.
    """
    if outcomes is None:
        outcomes = [c for c in frame.columns if c not in (by, "seed", "replicate")
                    and pd.api.types.is_numeric_dtype(frame[c])]
    rows = {name: variance_split(frame, name, by, level, bootstrap, seed) for name in outcomes}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "outcome"
    return table


def run_ensemble(
    model: Any, sets: Sequence[Any], replicates: int, *, by: str = "parameter_set",
    outcomes: Sequence[str] | None = None, seed: int = 1, executor: Any = "processes",
    workers: int | None = None, progress: bool | None = None, store: str | Path | None = None,
    level: float = 0.95, desc: str = "ensemble",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``model`` ``replicates`` times for each of ``sets``; split every outcome's variance.

    The model receives ``{by: set}`` (e.g. a row number of a posterior ensemble). The runs are a
    grid over the sets through :func:`analysis.sweep.run_sweep` (resumable in ``store``, any
    executor) with **independent seeds for every (set, replicate)**: a seed shared by every set
    would remove the seeds' own spread from the differences between set means, so the between
    part would be underestimated by the seed variance over the replicates.

    Args:
        model: ``model(params, seed) -> {output: float}``, taking the parameter ``by``.
        sets: The set identifiers (at least 2, distinct).
        replicates: Seeds per set (at least 2).
        by: The parameter naming the set.
        outcomes: Outcomes to split (default: every output not of the ``name@month`` form).
        seed: Root seed of the runs and of the bootstrap.
        executor: ``"serial"``, ``"processes"``, a Dask client or an executor.
        workers: Process count for ``"processes"``.
        progress: A bar with time left (``None``: when standard error is a terminal).
        store: Directory the runs stream into (resumable), or ``None``.
        level: Interval level of the split.
        desc: The progress bar's label.

    Returns:
        The :func:`decompose` table (one row per outcome) and the runs (one row per run, with
        ``by``, ``seed`` and the outputs).

    Raises:
        AnalysisError: Fewer than 2 distinct sets or replicates, or an unknown outcome.
    """
    from analysis.space import Space  # noqa: PLC0415 - the sweep engine only when running
    from analysis.sweep import run_sweep  # noqa: PLC0415

    chosen = [v.item() if hasattr(v, "item") else v for v in sets]
    if len(set(chosen)) != len(chosen) or len(chosen) < 2:
        raise AnalysisError(
            f"uncertainty: need >= 2 distinct parameter sets, got {len(set(chosen))}")
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 2:
        raise AnalysisError(
            f"uncertainty: need >= 2 replicates per parameter set, got {replicates!r}")
    space = Space({by: chosen}, source="parameter sets")
    sweep = run_sweep(model, space, "grid", 2, replicates, seed=seed, executor=executor,
                      workers=workers, progress=progress, store=store,
                      common_random_numbers=False, desc=desc)
    runs = sweep.runs.drop(columns=["run_id", "row", "replicate"])
    names = list(outcomes) if outcomes is not None else [
        c for c in sweep.outputs if "@" not in c]
    unknown = [o for o in names if o not in sweep.outputs]
    if unknown:
        raise AnalysisError(f"uncertainty: outcome {unknown[0]!r} is unknown; allowed: "
                            f"{', '.join(sweep.outputs)}")
    return decompose(runs, names, by=by, level=level, seed=seed), runs
