"""Compare scenarios or parameter sets with common random numbers.

Every arm runs replicates ``0 .. R-1`` with the *same* seeds (:func:`replicate_seeds`),
so each replicate gives a paired difference ``d_r = B_r - A_r`` in which the shared
seed noise largely cancels. :func:`compare` compares two arms; :func:`compare_arms` any
number, each with the first, in one fan-out, and keeps the paired runs. For each outcome we
report:

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
from dataclasses import dataclass
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


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) if i < 26 else f"arm{i + 1}" for i in range(n)]


def run_all_arms(
    arms: Sequence[Arm] | Mapping[str, Arm],
    replicates: int = 100,
    seed: int = 1,
    executor: Any = "processes",
    *,
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    replicate_params: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every arm with the same replicate seeds, all in one fan-out.

    Args:
        arms: Models or ``(model, params)`` pairs; a mapping gives them labels (default A, B,
            C, ...).
        replicates: Replicates per arm (>= 2).
        seed: Root seed of the shared replicate seeds.
        executor: ``"serial"``, ``"processes"``, a ``dask.distributed.Client`` or an executor.
        workers: Process count for ``"processes"``.
        chunk_size: Runs per task (default: shrinking tasks).
        progress: A bar with time left (``None``: when standard error is a terminal).
        replicate_params: Params of each replicate, the same in every arm (e.g.
            ``{"parameter_set": k}``: a pair is then one parameter set and one seed), applied
            before each arm's own params; one mapping per replicate.

    Returns:
        Label -> frame indexed by replicate, with the ``seed`` each replicate ran with, the
        replicate params and the outputs.

    Raises:
        AnalysisError: Fewer than two arms, a malformed arm, too few replicates or replicate
            params of another length.
    """
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 2:
        raise AnalysisError(f"compare: replicates must be an integer >= 2, got {replicates!r}")
    labelled = dict(arms) if isinstance(arms, Mapping) else dict(
        zip(_letters(len(arms)), arms, strict=True))
    if len(labelled) < 2:
        raise AnalysisError(f"compare: needs at least two arms, got {len(labelled)}")
    resolved = [_arm(arm, label) for label, arm in labelled.items()]
    shared = replicate_params_of(replicate_params, replicates, "compare")
    for model, params in resolved:
        check_params(model, shared, params)
    seeds = replicate_seeds(seed, replicates)
    groups = [
        (model, [(arm * replicates + r, {**shared[r], **params}, seeds[r])
                 for r in range(replicates)])
        for arm, (model, params) in enumerate(resolved)
    ]
    results: dict[int, RunResult] = {}

    def keep(chunk: list[RunResult]) -> None:
        results.update((r.run_id, r) for r in chunk)

    with executor_for(executor, workers) as runner:
        runner.map_runs(groups, keep, chunk_size=chunk_size, progress=progress, desc="compare")
    frames = {}
    for arm, label in enumerate(labelled):
        done = [results[arm * replicates + r] for r in range(replicates)]
        frame = pd.DataFrame([r.outputs for r in done], dtype=float)
        frame.insert(0, "seed", np.array([r.seed for r in done], dtype=np.int64))
        for k, key in enumerate(sorted({k for p in shared for k in p})):
            frame.insert(1 + k, key, [p.get(key) for p in shared])
        frame.index.name = "replicate"
        frames[label] = frame
    return frames


def replicate_params_of(params: Sequence[Mapping[str, Any]] | None, replicates: int,
                        where: str) -> list[dict[str, Any]]:
    """One plain dict of params per replicate; ``None`` gives empty ones.

    NumPy scalars become Python values: the params may enter a store's identity.

    Raises:
        AnalysisError: Another count than ``replicates`` (the message starts with ``where``).
    """
    if params is None:
        return [{} for _ in range(replicates)]
    shared = [{str(k): v.item() if isinstance(v, np.generic) else v for k, v in p.items()}
              for p in params]
    if len(shared) != replicates:
        raise AnalysisError(f"{where}: replicate_params has {len(shared)} entries for "
                            f"{replicates} replicates")
    return shared


def check_params(model: Any, shared: Sequence[Mapping[str, Any]],
                 own: Mapping[str, Any] | None = None) -> None:
    """Let the model refuse bad params before any run (each distinct replicate's params once).

    A model with a ``check(params)`` method (e.g. :class:`hourglass.adapter.HourglassModel`)
    gets each replicate's params with ``own`` (an arm's params) on top; one without is trusted.
    """
    check = getattr(model, "check", None)
    if callable(check):
        for extra in {repr(p): p for p in shared}.values():
            check({**extra, **(own or {})})


def run_arms(
    a: Arm,
    b: Arm,
    replicates: int = 100,
    seed: int = 1,
    executor: Any = "processes",
    *,
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool | None = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run both arms with the same replicate seeds (:func:`run_all_arms` for two arms).

    Returns:
        Two DataFrames (A, B) indexed by replicate with a ``seed`` column and outputs.
    """
    frames = run_all_arms([a, b], replicates, seed, executor, workers=workers,
                          chunk_size=chunk_size, progress=progress)
    return frames["A"], frames["B"]


def paired_summary(
    runs_a: pd.DataFrame, runs_b: pd.DataFrame, conf_level: float = 0.95,
    by: str | None = None,
) -> pd.DataFrame:
    """Paired differences B - A per outcome (see the module docstring).

    With ``by`` (a column naming each pair's parameter set, the same in both arms) the pairs
    are clustered: pairs of one set share what the set does to the difference. The interval and
    p-value then come from the sets' mean differences (t with ``sets - 1`` degrees of freedom),
    which carries both the variance between sets and the seeds' (their mean is ``diff``, each
    set weighted equally); a t interval over the pairs would count a set's seeds as independent
    draws of the world and be too narrow.

    Args:
        runs_a: Arm A, one row per replicate, aligned with ``runs_b`` by index.
        runs_b: Arm B.
        conf_level: Level of the t interval.
        by: The parameter-set column, or ``None`` (independent pairs).

    Returns:
        DataFrame indexed by outcome with columns mean_a, mean_b, diff, ci_low,
        ci_high, sd_diff, d_z, d_av, p_value, n.
    """
    if not runs_a.index.equals(runs_b.index):
        raise AnalysisError("compare: arms A and B have different replicates")
    keys = {"seed", "parameter_set"} | ({by} if by else set())
    if by is not None and (by not in runs_a.columns
                           or not runs_a[by].equals(runs_b.get(by, pd.Series(dtype=float)))):
        raise AnalysisError(f"compare: column {by!r} must name the same set in both arms")
    outcomes = [c for c in runs_a.columns if c not in keys and c in runs_b.columns]
    rows = []
    for name in outcomes:
        ya = runs_a[name].to_numpy(dtype=float)
        yb = runs_b[name].to_numpy(dtype=float)
        d = yb - ya
        n = len(d)
        sd = float(d.std(ddof=1))
        units = d if by is None else pd.Series(d).groupby(runs_a[by].to_numpy()).mean().to_numpy()
        diff = float(units.mean())
        spread = float(units.std(ddof=1))
        m = len(units)
        t = float(stats.t.ppf(0.5 + conf_level / 2, m - 1))
        half = t * spread / np.sqrt(m)
        if spread > 0:
            d_z = diff / sd
            p = float(2 * stats.t.sf(abs(diff) / (spread / np.sqrt(m)), m - 1))
        else:
            d_z, p = (0.0, 1.0) if diff == 0 else (np.nan, np.nan)
        spread = (float(ya.std(ddof=1)) + float(yb.std(ddof=1))) / 2
        d_av = diff / spread if spread > 0 else (0.0 if diff == 0 else np.nan)
        rows.append([float(ya.mean()), float(yb.mean()), diff, diff - half, diff + half,
                     sd, d_z, d_av, p, n])
    frame = pd.DataFrame(rows, columns=COLUMNS, index=pd.Index(outcomes, name="outcome"))
    return frame.astype({"n": int})


def paired_split(
    runs_a: pd.DataFrame, runs_b: pd.DataFrame, by: str = "parameter_set",
    outcomes: Sequence[str] | None = None, level: float = 0.95, seed: int = 0,
) -> pd.DataFrame:
    """Each outcome's variance between parameter sets and between seeds, per arm and paired.

    Args:
        runs_a: Arm A's runs with the column ``by``.
        runs_b: Arm B's runs, the same pairs (same seeds and sets, row by row).
        by: The parameter-set column.
        outcomes: Outcomes (default: every column both arms have but ``seed`` and ``by``).
        level: Interval level.
        seed: Seed of the bootstrap.

    Returns:
        :func:`analysis.uncertainty.decompose` rows indexed by (``quantity``, ``outcome``),
        quantity ``a`` (arm A's outcome), ``b`` (arm B's) and ``diff`` (B - A, pair by pair:
        its between part is how much the effect depends on what we do not know about the
        world, its within part the chance left after common random numbers).
    """
    from analysis.uncertainty import decompose  # noqa: PLC0415

    paired_summary(runs_a.head(2), runs_b.head(2), by=by)  # the same pairs, by name
    names = list(outcomes) if outcomes is not None else [
        c for c in runs_a.columns if c not in ("seed", by) and c in runs_b.columns]
    diff = runs_b[names] - runs_a[names]
    diff[by] = runs_a[by]
    frames = {
        "a": decompose(runs_a, names, by=by, level=level, seed=seed),
        "b": decompose(runs_b, names, by=by, level=level, seed=seed),
        "diff": decompose(diff, names, by=by, level=level, seed=seed),
    }
    return pd.concat(frames, names=["quantity", "outcome"])


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


@dataclass(frozen=True)
class Comparison:
    """Several arms, each compared with the first.

    Attributes:
        table: :func:`paired_summary` rows indexed by (``arm``, ``outcome``), for every arm
            after the first (``mean_a`` is the first arm's mean, ``mean_b`` this arm's).
        runs: Every run, indexed by (``arm``, ``replicate``): the ``seed`` (the same for a
            replicate in every arm) and the outputs, for re-analysis of the pairs.
        reference: The first arm's label.
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    reference: str


def compare_arms(
    arms: Sequence[Arm] | Mapping[str, Arm],
    replicates: int = 100,
    seed: int = 1,
    executor: Any = "processes",
    *,
    outcomes: Sequence[str] | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
) -> Comparison:
    """Compare every arm after the first with the first, with common random numbers.

    All arms run in one fan-out over the same replicate seeds; each arm's paired differences
    from the first are summarised as in :func:`compare`.

    Args:
        arms: Two or more models or ``(model, params)`` pairs; a mapping labels them
            (default A, B, C, ...).
        replicates: Paired replicates (>= 2).
        seed: Root seed of the shared replicate seeds.
        executor: ``"serial"``, ``"processes"``, a ``dask.distributed.Client`` or an executor.
        outcomes: Outcomes to keep (default: every output all arms return).
        workers: Process count for ``"processes"``.
        chunk_size: Runs per task.
        progress: A bar with time left (``None``: when standard error is a terminal).

    Returns:
        The :class:`Comparison`: the table with an ``arm`` level and the paired runs.

    Raises:
        AnalysisError: Bad arms, replicates or an unknown outcome.
    """
    frames = run_all_arms(arms, replicates, seed, executor, workers=workers,
                          chunk_size=chunk_size, progress=progress)
    labels = list(frames)
    reference = frames[labels[0]]
    tables = {label: paired_summary(reference, frames[label]) for label in labels[1:]}
    if outcomes is not None:
        known = [o for o in tables[labels[1]].index if all(o in t.index for t in tables.values())]
        unknown = [o for o in outcomes if o not in known]
        if unknown:
            raise AnalysisError(
                f"compare: outcome {unknown[0]!r} is unknown; allowed: {', '.join(known)}"
            )
        tables = {label: t.loc[list(outcomes)] for label, t in tables.items()}
    table = pd.concat(tables, names=["arm", "outcome"])
    runs = pd.concat(frames, names=["arm", "replicate"])
    return Comparison(table=table, runs=runs, reference=labels[0])
