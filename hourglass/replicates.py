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

Long work can keep every run as it finishes in a store (:class:`analysis.store.Store`, one row
per arm) and resume after an interruption.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import Interrupted
from analysis.executors import RunResult, executor_for
from analysis.seeds import replicate_seeds
from analysis.store import Store
from analysis.sweep import ID_COLUMNS, model_fingerprint, model_identity
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
        summary: One row per replicate (index ``replicate``): ``seed``, then every summary
            output of the final month.
        course: For each monthly output, an array ``(replicates, months)``; column ``m - 1`` is
            month ``m``.
    """

    seeds: tuple[int, ...]
    summary: pd.DataFrame
    course: Mapping[str, np.ndarray]

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

    Returns:
        Arm name -> its replicates, in the order of ``models``.

    Raises:
        AnalysisError: ``store`` holds something else or is being written by another process.
        Interrupted: Ctrl-C with a store (the message says how many runs it kept).
    """
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
    unit = np.arange(len(names), dtype=float).reshape(-1, 1)
    with Store(store, identity, unit, ["arm"], wait=wait, n_runs=total, replicates=replicates,
               seed_of=lambda run_id: seeds[run_id % replicates]) as kept:
        done = kept.done
        groups = [(models[name], [(arm * replicates + r, {}, seeds[r]) for r in range(replicates)
                                  if arm * replicates + r not in done])
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
    return {name: _arm(frame[frame["row"] == arm]) for arm, name in enumerate(names)}


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

    Raises:
        ValueError: If the two were not run at the same seeds.
    """
    if scenario.seeds != counterfactual.seeds:
        raise ValueError("attributable: the scenario and its counterfactual ran at different seeds")
    outputs = [c for c in scenario.summary.columns if c != "seed"]
    summary = scenario.summary[outputs] - counterfactual.summary[outputs]
    summary.insert(0, "seed", scenario.summary["seed"])
    course = {k: scenario.course[k] - counterfactual.course[k] for k in scenario.course}
    return Replicates(seeds=scenario.seeds, summary=summary, course=course)


def statistics(values: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`QUANTILE_COLUMNS` of ``values`` over its first axis (the replicates).

    A mean whose replicates all agree has an interval of zero width; one replicate gives its
    value as every statistic.
    """
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    mean = values.mean(axis=0)
    if n > 1:
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * values.std(axis=0, ddof=1) / np.sqrt(n)
    else:
        half = np.zeros_like(mean)
    median, low, high = bands(values)
    return dict(zip(QUANTILE_COLUMNS, (mean, mean - half, mean + half, low, median, high),
                    strict=True))


def quantiles(arms: Mapping[str, Replicates]) -> pd.DataFrame:
    """Every arm's monthly statistics, one row per arm, output and month.

    Args:
        arms: Arm name -> its replicates (e.g. ``scenario``, ``counterfactual``, and
            :func:`attributable` of the two).

    Returns:
        Columns ``arm``, ``output``, ``month``, ``replicates`` and :data:`QUANTILE_COLUMNS`.
    """
    frames = []
    for arm, runs in arms.items():
        for output, values in runs.course.items():
            frame = pd.DataFrame(statistics(values))
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
