"""One scenario over many seeds, month by month: what ``hourglass run --replicates`` computes.

A scenario runs at the common-random-number seeds of :func:`analysis.seeds.replicate_seeds`
(replicate ``r`` gets the same seed whatever else runs), through the engine's fan-out
(:meth:`analysis.executors.Executor.map_runs`), so the numbers are bit-identical on any executor
or worker count. With a counterfactual (the same scenario with no tool used,
:func:`hourglass.experiments.no_peer_learning`) every seed runs twice, and the change
attributable to peer learning is the scenario minus its counterfactual, seed by seed.

What is known is summarised month by month as the median with a 10-90 % band over the seeds
(:data:`hourglass.explorer.runs.BAND`, the explorer's bands: the spread of initiatives) and the
mean with a 95 % t interval (how well the replicates pin the mean down).

Over a posterior ensemble each replicate is one parameter set and one seed (``replicate_params``,
e.g. ``{"parameter_set": row}``, the same in every arm, so the counterfactual runs in the same
world at the same seed), and :func:`variance_table` splits each output's variance at chosen months
between parameter sets (what we do not know about the world) and seeds (chance) with
:func:`analysis.uncertainty.decompose`.

Long work can keep every run as it finishes in a store (:class:`analysis.store.Store`, one row
per arm) and resume after an interruption.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.compare import check_params, replicate_params_of
from analysis.errors import AnalysisError, Interrupted
from analysis.executors import RunResult, executor_for
from analysis.seeds import replicate_seeds
from analysis.store import Store
from analysis.sweep import ID_COLUMNS, model_fingerprint, model_identity
from analysis.uncertainty import COLUMNS as SPLIT_COLUMNS
from analysis.uncertainty import decompose
from hourglass.explorer.runs import BAND, bands

ARMS = ("scenario", "counterfactual", "attributable")
"""The arms of :func:`quantiles`: the scenario, its counterfactual, and their paired difference."""
CONFIDENCE = 0.95
"""Level of the interval around each mean."""
QUANTILE_COLUMNS = ("mean", "ci_low", "ci_high", f"p{BAND[0]}", "median", f"p{BAND[1]}")
"""The statistics of each arm, output and month in :func:`quantiles`."""


@dataclass(frozen=True)
class Replicates:
    """One arm run at many seeds.

    Attributes:
        seeds: The seeds, in replicate order.
        summary: One row per replicate (index ``replicate``): ``seed``, then the columns
            ``params`` names, then every summary output of the final month.
        course: For each monthly output, an array ``(replicates, months)``; column ``m - 1`` is
            month ``m``.
        params: The replicate params' keys, columns of ``summary`` after ``seed`` (e.g.
            ``("parameter_set",)`` over an ensemble; none at the point values).
    """

    seeds: tuple[int, ...]
    summary: pd.DataFrame
    course: Mapping[str, np.ndarray]
    params: tuple[str, ...] = ()

    @property
    def months(self) -> np.ndarray:
        """Month numbers of the course arrays (1, 2, ...)."""
        return np.arange(1, next(iter(self.course.values())).shape[1] + 1)


def run_replicates(
    models: Mapping[str, Any],
    replicates: int,
    seed: int,
    executor: Any = "processes",
    *,
    workers: int | None = None,
    progress: bool | None = None,
    store: str | Path | None = None,
    wait: bool = False,
    replicate_params: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Replicates]:
    """Run each model at the same ``replicates`` seeds, all in one fan-out.

    Args:
        models: Arm name -> model ``model(params, seed) -> {output: float}`` returning the
            summary and ``name@month`` for every month (a
            :class:`~hourglass.adapter.HourglassModel` with ``every=1``).
        replicates: Seeds per arm (>= 1).
        seed: Root seed of the replicate seeds.
        executor: ``"serial"``, ``"processes"``, a ``dask.distributed.Client`` or an executor.
        workers: Process count for ``"processes"``.
        progress: A bar with time left (``None``: when standard error is a terminal).
        store: A directory keeping every run as it finishes (an :class:`analysis.store.Store`,
            row = arm): run again with the same arguments, an interrupted call resumes; a store
            of other models, seeds or code is refused and kept. ``None``: in memory.
        wait: If another process is writing ``store``, wait for it instead of refusing.
        replicate_params: Params of each replicate, one mapping per replicate, applied in every
            arm (e.g. ``{"parameter_set": row}``: replicate ``r`` of every arm then runs in the
            same world at the same seed, as :func:`analysis.compare.run_all_arms` pairs them).
            Part of the store's identity. ``None``: no params.

    Returns:
        Arm name -> its replicates, in the order of ``models``.

    Raises:
        AnalysisError: ``store`` holds something else or is being written by another process,
            or ``replicate_params`` has another length than ``replicates``.
        Interrupted: Ctrl-C with a store (the message says how many runs it kept).
    """
    shared = replicate_params_of(replicate_params, replicates, "replicates")
    seeds = replicate_seeds(seed, replicates)
    names = list(models)
    total = len(names) * replicates
    identity = {
        "experiment": "replicates",
        "arms": names,
        "models": [model_identity(models[n]) for n in names],
        "fingerprints": [model_fingerprint(models[n]) for n in names],
        "replicates": replicates,
        "seed": int(seed),
    }
    if replicate_params is not None:
        # only when given, so a store written before this option keeps its identity; runs of
        # other parameter sets are other runs, refused like another seed
        identity["replicate_params"] = shared
    for name in names:  # a bad parameter set is refused before any run, not in a worker
        check_params(models[name], shared)
    unit = np.arange(len(names), dtype=float).reshape(-1, 1)
    with Store(store, identity, unit, ["arm"], wait=wait, n_runs=total, replicates=replicates,
               seed_of=lambda run_id: seeds[run_id % replicates]) as kept:
        done = kept.done
        groups = [(models[name], [(arm * replicates + r, dict(shared[r]), seeds[r])
                                  for r in range(replicates) if arm * replicates + r not in done])
                  for arm, name in enumerate(names)]
        if any(runs for _, runs in groups):
            kept.begin_session()
            try:
                with executor_for(executor, workers) as runner:
                    runner.map_runs([g for g in groups if g[1]],
                                    lambda chunk: kept.append(_frame(chunk, replicates)),
                                    progress=progress, desc="replicates",
                                    initial=len(done))
            except KeyboardInterrupt:
                if kept.path is None:
                    raise
                raise Interrupted(f"{len(kept.done)} of {total} runs stored in {kept.path}; "
                                  "run the same command again to resume") from None
        if kept.path is not None and not kept.manifest.get("complete"):
            kept.mark_complete()
        frame = kept.results()
    return {name: _with_params(_arm(frame[frame["row"] == arm]), shared)
            for arm, name in enumerate(names)}


def _with_params(runs: Replicates, shared: list[dict[str, Any]]) -> Replicates:
    """``runs`` with each replicate's params as columns of its summary, after ``seed``."""
    keys = tuple(sorted({k for p in shared for k in p}))
    if not keys:
        return runs
    summary = runs.summary.copy()
    for k, key in enumerate(keys):
        summary.insert(1 + k, key, [p.get(key) for p in shared])
    return Replicates(seeds=runs.seeds, summary=summary, course=runs.course, params=keys)


def _frame(results: list[RunResult], replicates: int) -> pd.DataFrame:
    """One chunk as the store keeps it: run_id, row (the arm), replicate, seed, outputs."""
    ids = np.array([r.run_id for r in results], dtype=np.int64)
    frame = pd.DataFrame({"run_id": ids, "row": ids // replicates, "replicate": ids % replicates,
                          "seed": np.array([r.seed for r in results], dtype=np.int64)})
    return pd.concat([frame, pd.DataFrame([r.outputs for r in results], dtype=float)], axis=1)


def _arm(frame: pd.DataFrame) -> Replicates:
    """One arm's runs (rows of a store's results) as its summaries and monthly courses."""
    frame = frame.sort_values("replicate", kind="stable")
    months: dict[str, int] = {}
    for key in frame.columns:
        name, at, month = str(key).partition("@")
        if at:
            months[name] = max(months.get(name, 0), int(month))
    summary = frame[[c for c in frame.columns if c not in ID_COLUMNS and "@" not in str(c)]]
    summary = summary.astype(float).reset_index(drop=True)
    summary.insert(0, "seed", frame["seed"].to_numpy(dtype=np.int64))
    summary.index.name = "replicate"
    # C order whatever pandas' blocks were (they depend on how runs were chunked): a mean over
    # replicates then adds in the same order on any worker count, to the last bit
    course = {name: np.ascontiguousarray(
                  frame[[f"{name}@{m}" for m in range(1, last + 1)]].to_numpy(dtype=float))
              for name, last in months.items()}
    return Replicates(seeds=tuple(int(s) for s in frame["seed"]), summary=summary, course=course)


def attributable(scenario: Replicates, counterfactual: Replicates) -> Replicates:
    """The scenario minus its counterfactual, seed by seed.

    Over an ensemble the two ran each replicate in the same parameter set too, and the
    difference keeps the set's column.

    Raises:
        ValueError: If the two were not run at the same seeds or replicate params.
    """
    if scenario.seeds != counterfactual.seeds:
        raise ValueError("attributable: the scenario and its counterfactual ran at different seeds")
    keys = ["seed", *scenario.params]
    if (scenario.params != counterfactual.params
            or not scenario.summary[keys].equals(counterfactual.summary[keys])):
        raise ValueError("attributable: the scenario and its counterfactual ran in different "
                         "parameter sets")
    outputs = [c for c in scenario.summary.columns if c not in keys]
    summary = scenario.summary[outputs] - counterfactual.summary[outputs]
    for k, key in enumerate(keys):
        summary.insert(k, key, scenario.summary[key])
    course = {k: scenario.course[k] - counterfactual.course[k] for k in scenario.course}
    return Replicates(seeds=scenario.seeds, summary=summary, course=course,
                      params=scenario.params)


def statistics(values: np.ndarray, clusters: np.ndarray | None = None
               ) -> dict[str, np.ndarray]:
    """The :data:`QUANTILE_COLUMNS` of ``values`` over its first axis (the replicates).

    A mean whose replicates all agree has an interval of zero width; one replicate gives its
    value as every statistic.

    Args:
        values: ``(replicates, ...)``.
        clusters: Each replicate's parameter set, or ``None`` (independent replicates). The
            seeds of one set share what the set does, so the interval of the mean is then the
            t interval over the sets' means (``sets - 1`` degrees of freedom), which carries
            both the variance between sets and the seeds', as ``compare`` gives it
            (:func:`analysis.compare.paired_summary` with ``by``); a t interval over the
            replicates would count a set's seeds as independent draws of the world and be too
            narrow. The mean and the bands are over every replicate either way.
    """
    values = np.asarray(values, dtype=float)
    mean = values.mean(axis=0)
    units = values
    if clusters is not None:
        clusters = np.asarray(clusters)
        units = np.stack([values[clusters == c].mean(axis=0) for c in np.unique(clusters)])
    n = units.shape[0]
    if n > 1:
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * units.std(axis=0, ddof=1) / np.sqrt(n)
    else:
        half = np.zeros_like(mean)
    median, low, high = bands(values)
    return dict(zip(QUANTILE_COLUMNS, (mean, mean - half, mean + half, low, median, high),
                    strict=True))


def quantiles(arms: Mapping[str, Replicates], by: str = "parameter_set") -> pd.DataFrame:
    """Every arm's monthly statistics, one row per arm, output and month.

    Args:
        arms: Arm name -> its replicates (e.g. ``scenario``, ``counterfactual``, and
            :func:`attributable` of the two).
        by: The replicate param naming a parameter set: an arm run over sets has the intervals
            of its means over the sets' means (:func:`statistics`).

    Returns:
        Columns ``arm``, ``output``, ``month``, ``replicates`` and :data:`QUANTILE_COLUMNS`.
    """
    frames = []
    for arm, runs in arms.items():
        clusters = runs.summary[by].to_numpy() if by in runs.params else None
        for output, values in runs.course.items():
            frame = pd.DataFrame(statistics(values, clusters))
            frame.insert(0, "replicates", values.shape[0])
            frame.insert(0, "month", runs.months)
            frame.insert(0, "output", output)
            frame.insert(0, "arm", arm)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def at_months(table: pd.DataFrame, outputs: tuple[str, ...], months: tuple[int, ...]
              ) -> pd.DataFrame:
    """The rows of :func:`quantiles` for ``outputs`` at ``months``, ordered as given."""
    rows = table[table["output"].isin(outputs) & table["month"].isin(months)].copy()
    rows["_o"] = rows["output"].map({o: i for i, o in enumerate(outputs)})
    rows["_a"] = rows["arm"].map({a: i for i, a in enumerate(ARMS)})
    return rows.sort_values(["_a", "_o", "month"]).drop(columns=["_o", "_a"]).reset_index(
        drop=True)


def variance_table(arms: Mapping[str, Replicates], outputs: Sequence[str],
                   months: Sequence[int], by: str = "parameter_set", seed: int = 0
                   ) -> pd.DataFrame:
    """Each output's variance at each month, split between parameter sets and seeds.

    Each arm's value of ``output`` at ``month`` over its replicates is read as
    :func:`analysis.uncertainty.decompose` reads runs over (parameter set x seed): ``between``
    is what we do not know about the world, ``within`` is chance. For the attributable change
    the between part is how much the effect of peer learning depends on the world.

    Args:
        arms: Arm name -> its replicates, run with the replicate param ``by``.
        outputs: Monthly outputs to split.
        months: Months to split them at (1 = the first month).
        by: The replicate param naming the parameter set.
        seed: Seed of the bootstrap intervals.

    Returns:
        One row per arm, output and month (in that order, as given): ``arm``, ``output``,
        ``month``, then :data:`analysis.uncertainty.COLUMNS`.

    Raises:
        AnalysisError: An arm not run over parameter sets, or with fewer than 2 sets of at
            least 2 seeds each.
    """
    frames = []
    for arm, runs in arms.items():
        if by not in runs.params:
            raise AnalysisError(f"replicates: arm {arm!r} was not run over parameter sets "
                                f"({by!r} is not one of its replicate params)")
        columns = {f"{output}@{month}": runs.course[output][:, month - 1]
                   for output in outputs for month in months}
        frame = pd.DataFrame({by: runs.summary[by].to_numpy(), **columns})
        table = decompose(frame, list(columns), by=by, seed=seed).reset_index(drop=True)
        table.insert(0, "month", [m for _ in outputs for m in months])
        table.insert(0, "output", [o for o in outputs for _ in months])
        table.insert(0, "arm", arm)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)[["arm", "output", "month", *SPLIT_COLUMNS]]
