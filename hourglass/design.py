"""Design search under a budget: the Pareto front of an outcome against cost.

NSGA-II (pymoo) searches a space of facilitator choices (``hourglass/spaces/design.toml``: tool
intensities and facilitator levers) for designs that maximise a robust outcome (by default the
25th percentile over replicates of ``orgs_changed``, not the mean) and minimise cost
(:mod:`hourglass.costs`). Every design is run with the same replicate seeds (common random
numbers) through the engine's executors (processes or Dask), under each of ``parameter_sets``
(dotted-key overrides: the seam for a posterior ensemble; by default the point defaults only).

Resumable: each completed chunk of runs is written to ``store`` (:class:`RunCache`) as it
finishes. NSGA-II is seeded, so a re-run replays the same generations, takes every run it
finds in the cache and runs only what is missing: an interrupted search continues where it
stopped and no run is repeated; a longer search (more generations) extends a shorter one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation import available_scenarios
from simulation.errors import HourglassError

DESIGN_SPACE = Path(__file__).with_name("spaces") / "design.toml"
"""The default search space (package data)."""

BASE = "base"
"""Cache key of the base scenario as it is (the status quo the front is compared with)."""

FORMAT = 1
RUN_KEYS = ("design", "parameter_set", "replicate", "seed")
"""The key columns of every part of a run cache (then ``u:<factor>`` coordinates, outputs)."""
PART_NAME = re.compile(r"^part-\d+-\d+-[0-9a-f]+\.parquet$")
"""A run cache's part: ``part-<runs before it>-<pid>-<hex>.parquet`` (:meth:`RunCache.add`)."""


def unfinished_parts(path: Path) -> list[Path]:
    """The parts a killed writer left half-written under ``path``: ``parts/.tmp-<part name>``.

    Only the names :meth:`RunCache.add` writes (``.tmp-`` and a :data:`PART_NAME`): a part is
    written under such a name and renamed when whole, so such a file holds no finished run.
    Any other file in ``parts/`` is not the cache's to judge.
    """
    return [stray for stray in (path / "parts").glob(".tmp-part-*.parquet")
            if PART_NAME.match(stray.name.removeprefix(".tmp-"))]


def clear_unfinished(path: Path) -> None:
    """Remove :func:`unfinished_parts`; the caller holds the cache's lock."""
    for stray in unfinished_parts(path):
        stray.unlink()


# -- the run cache --------------------------------------------------------------------------


class RunCache:
    """Every run of a design search, keyed by (design, parameter set, replicate).

    On disk (``path``) as ``manifest.json`` (the identity: model, space, seed, parameter sets)
    and ``parts/*.parquet`` (one per completed chunk, written to a temporary name and renamed,
    so a kill leaves no half part). One writer at a time (a file lock). ``path=None`` keeps runs
    in memory.

    Args:
        path: Directory, or ``None``.
        identity: What makes two searches' runs interchangeable.

    Raises:
        HourglassError: The directory holds another search's runs, is not a cache, or is in use.
    """

    def __init__(self, path: str | Path | None, identity: Mapping[str, Any]) -> None:
        self.path = Path(path) if path is not None else None
        self.identity = json.loads(json.dumps(dict(identity), sort_keys=True))
        self.runs: dict[tuple[str, int, int], dict[str, float]] = {}
        self.units: dict[str, list[float]] = {}
        self._lock: Any = None
        if self.path is None:
            return
        manifest = self.path / "manifest.json"
        if manifest.exists():
            stored = json.loads(manifest.read_text(encoding="utf-8")).get("identity")
            if stored != self.identity:
                key = _first_difference(stored, self.identity)
                raise HourglassError(
                    f"--out {self.path.parent}: its runs/ hold a different design search "
                    f"({key} differs); choose another --out"
                )
        elif self.path.exists() and any(p.name != ".lock" for p in self.path.iterdir()):
            raise HourglassError(f"{self.path}: exists and is not a design search's runs; "
                                 "choose another --out")
        self._acquire()
        if not manifest.exists():
            (self.path / "parts").mkdir(parents=True, exist_ok=True)
            _atomic_text(manifest, json.dumps({"format": FORMAT, "identity": self.identity},
                                              indent=2, sort_keys=True))
        for part in sorted((self.path / "parts").glob("part-*.parquet")):
            self._load(pd.read_parquet(part))
        clear_unfinished(self.path)  # its runs are redone

    def _acquire(self) -> None:
        from filelock import FileLock, Timeout  # noqa: PLC0415 - only on-disk caches lock

        assert self.path is not None  # noqa: S101 - on-disk only
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path / ".lock"))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise HourglassError(f"{self.path}: another hourglass design is writing here; wait "
                                 "for it or choose another --out") from None

    def close(self) -> None:
        """Release the lock."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _load(self, frame: pd.DataFrame) -> None:
        ids = set(RUN_KEYS)
        unit_cols = [c for c in frame.columns if c.startswith("u:")]
        outputs = [c for c in frame.columns if c not in ids and c not in unit_cols]
        for rec, units, outs in zip(frame[["design", "parameter_set", "replicate"]].itertuples(
                index=False), frame[unit_cols].to_numpy(), frame[outputs].to_numpy(), strict=True):
            key = (str(rec[0]), int(rec[1]), int(rec[2]))
            self.runs[key] = dict(zip(outputs, map(float, outs), strict=True))
            self.units.setdefault(key[0], [float(u) for u in units])

    def add(self, records: list[dict[str, Any]]) -> None:
        """Store completed runs in memory and, on disk, as one new part.

        Args:
            records: One dict per run: ``design``, ``parameter_set``, ``replicate``, ``seed``,
                ``u:<factor>`` unit coordinates, then the outputs.
        """
        frame = pd.DataFrame(records)
        if self.path is not None:
            name = f"part-{len(self.runs):09d}-{os.getpid()}-{secrets.token_hex(3)}.parquet"
            final = self.path / "parts" / name
            tmp = final.with_name(f".tmp-{name}")
            frame.to_parquet(tmp, index=False)
            tmp.replace(final)
        self._load(frame)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _first_difference(a: Any, b: Any, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{where}.{key}".lstrip(".")
            if a[key] != b[key]:
                return _first_difference(a[key], b[key], f"{where}.{key}")
    return where.lstrip(".") or "identity"


def design_key(unit: np.ndarray) -> str:
    """A design's cache key: a digest of its exact unit-cube coordinates."""
    return hashlib.sha1(np.ascontiguousarray(unit, dtype=np.float64).tobytes(),
                        usedforsecurity=False).hexdigest()


# -- evaluation -----------------------------------------------------------------------------


@dataclass
class Evaluator:
    """Runs designs over replicates x parameter sets, through the cache and an executor.

    Attributes:
        model: ``HourglassModel`` (picklable ``model(params, seed)``).
        space: The design space.
        parameter_sets: Dotted-key overrides run under each design (``[{}]``: point defaults).
        seeds: Replicate seeds (common random numbers: the same for every design).
        cache: The :class:`RunCache`.
        runner: An engine executor (``analysis.executors``).
        bar: A tqdm progress bar (or ``None``).
    """

    model: Any
    space: Any
    parameter_sets: list[dict[str, Any]]
    seeds: list[int]
    cache: RunCache
    runner: Any
    bar: Any = None
    ran: int = 0

    def run(self, designs: Mapping[str, tuple[np.ndarray, dict[str, Any]]]) -> None:
        """Run every (design, set, replicate) of ``designs`` not in the cache yet.

        Args:
            designs: Key -> (unit coordinates, the model's params).
        """
        pending = []
        for key, (unit, params) in designs.items():
            for s, overrides in enumerate(self.parameter_sets):
                for r, seed in enumerate(self.seeds):
                    if (key, s, r) not in self.cache.runs:
                        pending.append((key, unit, s, r, {**overrides, **params}, seed))
        if not pending:
            return
        names = self.space.names

        def keep(results: list[Any]) -> None:
            records = []
            for result in results:
                key, unit, s, r, _, seed = pending[result.run_id]
                records.append({"design": key, "parameter_set": s, "replicate": r,
                                "seed": seed, **{f"u:{n}": float(u) for n, u in
                                                 zip(names, unit, strict=True)},
                                **result.outputs})
            self.cache.add(records)
            self.ran += len(records)
            if self.bar is not None:
                self.bar.update(len(records))

        # The search's own bar spans every generation; the fan-out draws none. On Ctrl-C the
        # fan-out hands over the runs finished so far, part-chunks included, and they are kept.
        runs = [(i, p[4], p[5]) for i, p in enumerate(pending)]
        self.runner.map_runs([(self.model, runs)], keep, progress=False)

    def values(self, key: str, output: str) -> np.ndarray:
        """Every run's ``output`` for design ``key`` (all sets and replicates)."""
        return np.array([self.cache.runs[(key, s, r)][output]
                         for s in range(len(self.parameter_sets))
                         for r in range(len(self.seeds))])


# -- the search -----------------------------------------------------------------------------


@dataclass
class DesignSearch:
    """The result of :func:`search`.

    Attributes:
        evaluated: One row per design evaluated (index: design key): the generation it was
            first asked for, factor values, cost components and ``cost``, and the objective's
            robust ``score`` (the chosen quantile), ``q25``, ``median``, ``q75``, ``mean``.
        front: The non-dominated designs of ``evaluated`` (highest score for the cost), by cost.
        base: The base scenario as it is, costed and run on the same seeds (one row).
        objective: The output optimised.
        quantile: The quantile over runs that is the robust score.
        runs_per_design: Replicates x parameter sets.
        ran: Runs evaluated in this session (the rest came from the cache).
        costs: The cost table used.
        space: The design space.
        model: The model.
        seeds: The replicate seeds.
    """

    evaluated: pd.DataFrame
    front: pd.DataFrame
    base: pd.DataFrame
    objective: str
    quantile: float
    runs_per_design: int
    ran: int
    costs: Any
    space: Any
    model: Any
    seeds: list[int] = field(default_factory=list)


def _stats(values: np.ndarray, quantile: float) -> dict[str, float]:
    q25, median, q75, score = np.quantile(values, [0.25, 0.5, 0.75, quantile])
    return {"score": float(score), "q25": float(q25), "median": float(median),
            "q75": float(q75), "mean": float(values.mean())}


def check_search(population: int, generations: int, replicates: int, quantile: float) -> None:
    """Refuse search settings outside their ranges, before any work.

    Raises:
        HourglassError: One line naming the option and what is allowed.
    """
    for flag, value, low in (("--population", population, 4), ("--generations", generations, 1),
                             ("--replicates", replicates, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise HourglassError(f"{flag} {value!r}: must be a whole number >= {low}")
    if not 0 < quantile < 1:
        raise HourglassError(f"--quantile {quantile}: must be between 0 and 1 (0.25: the 25th "
                             "percentile over replicates)")


def check_costed(space: Any, costs: Any) -> None:
    """Refuse a space with a key the cost table does not price.

    Raises:
        HourglassError: One line naming the key.
    """
    for key in space.keys:
        tool = key.removeprefix("tools.")
        if (key.startswith("tools.") and tool in costs.tools) or key in costs.levers:
            continue
        raise HourglassError(
            f"--space: {key} has no cost in {costs.path}; the search would set it to its best "
            "value for free. Add it under [levers] of a cost table (--costs), or leave it out"
        )


def search(
    model: Any,
    space: Any,
    costs: Any,
    *,
    objective: str = "orgs_changed",
    quantile: float = 0.25,
    population: int = 32,
    generations: int = 20,
    replicates: int = 10,
    seed: int = 1,
    parameter_sets: Sequence[Mapping[str, Any]] | None = None,
    store: str | Path | None = None,
    executor: Any = "processes",
    workers: int | None = None,
    progress: bool = True,
) -> DesignSearch:
    """NSGA-II search for the front of a robust outcome against cost (resumable).

    Args:
        model: An ``HourglassModel`` (``every=0`` is enough).
        space: The design space (:class:`analysis.space.Space`).
        costs: A :class:`hourglass.costs.CostTable` pricing every key of ``space``.
        objective: The output maximised.
        quantile: The quantile of the objective over runs that is maximised (0.25: robust).
        population: NSGA-II population (and offspring per generation).
        generations: Generations, the first being the random initial population.
        replicates: Seeds per design and parameter set (the same seeds for every design).
        seed: Root seed of the replicate seeds and of NSGA-II.
        parameter_sets: Dotted-key overrides to run every design under (e.g. a posterior
            ensemble); ``None``: the point defaults only.
        store: Run cache directory (resumable); ``None`` keeps runs in memory.
        executor: ``"serial"``, ``"processes"`` or a ``dask.distributed.Client``.
        workers: Local processes for ``"processes"``.
        progress: Show a progress bar with the time left.

    Returns:
        The :class:`DesignSearch`.

    Raises:
        HourglassError: Bad settings, a key without a cost, an unknown objective, or a store
            holding another search.
    """
    from analysis.executors import get_executor  # noqa: PLC0415 - loaded with the search
    from analysis.seeds import replicate_seeds  # noqa: PLC0415

    check_search(population, generations, replicates, quantile)
    check_costed(space, costs)
    sets = [dict(s) for s in (parameter_sets or [{}])]
    _check_model(model, space, sets, objective)
    seeds = replicate_seeds(seed, replicates)
    identity = {"model": model.describe(), "space": space.to_list(), "seed": int(seed),
                "parameter_sets": sets}
    cache = RunCache(store, identity)
    try:
        runner = get_executor(executor, workers)
        per_design = len(sets) * replicates
        total = (population * generations + 1) * per_design
        with _bar(total, len(cache.runs), progress) as bar:
            evaluator = Evaluator(model, space, sets, seeds, cache, runner, bar)
            try:
                evaluated = _nsga2(evaluator, costs, objective, quantile, population,
                                   generations, seed)
                evaluator.run({BASE: (np.full(space.dim, np.nan), {})})
            except KeyboardInterrupt:
                where = f" in {store}" if store is not None else ""
                print(f"\ninterrupted: {len(cache.runs)} runs stored{where}; run the same "
                      "search again to continue", file=sys.stderr)
                raise
            finally:
                runner.close()
    finally:
        cache.close()
    base_cost = costs.cost(model.scenario({}).values)
    base = pd.DataFrame([{**base_cost, "cost": base_cost["total"],
                          **_stats(evaluator.values(BASE, objective), quantile)}],
                        index=pd.Index([BASE], name="design"))
    return DesignSearch(evaluated, pareto_front(evaluated), base, objective, quantile,
                        per_design, evaluator.ran, costs, space, model, seeds)


@contextmanager
def _bar(total: int, initial: int, progress: bool) -> Iterator[Any]:
    from analysis.executors import progress_bar  # noqa: PLC0415 - loaded with the search

    bar = progress_bar(max(total, initial), initial=min(initial, total), desc="design search",
                       progress=progress)
    try:
        yield bar
    finally:
        bar.close()


def _check_model(model: Any, space: Any, sets: list[dict[str, Any]], objective: str) -> None:
    """Let the model refuse the space's corners and each parameter set, and check the objective."""
    corners = space.values(np.array([np.zeros(space.dim), np.ones(space.dim)]))
    for corner in corners:
        for overrides in sets:
            model.check({**overrides, **space.params(corner)})
    probe = type(model)(model.base, every=0, overrides={**model.overrides, "run.months": 1})
    outputs = probe({}, 0)
    if objective not in outputs:
        raise HourglassError(f"--objective {objective!r}: not an output of the model; allowed: "
                             f"{', '.join(sorted(outputs))}")


def _nsga2(
    evaluator: Evaluator, costs: Any, objective: str, quantile: float, population: int,
    generations: int, seed: int,
) -> pd.DataFrame:
    """Run NSGA-II through the evaluator; one row per distinct design asked for."""
    from pymoo.algorithms.moo.nsga2 import NSGA2  # noqa: PLC0415 - loaded with the search
    from pymoo.core.evaluator import Evaluator as PymooEvaluator  # noqa: PLC0415
    from pymoo.core.problem import Problem  # noqa: PLC0415
    from pymoo.problems.static import StaticProblem  # noqa: PLC0415

    from analysis.seeds import design_seed  # noqa: PLC0415

    space, model = evaluator.space, evaluator.model
    problem = Problem(n_var=space.dim, n_obj=2, xl=0.0, xu=1.0)
    # A uniform random start, with the design that uses nothing (every choice at its lowest) in
    # it: the front then reaches down to cost 0, and NSGA-II keeps that end (its crowding
    # distance is infinite) while it explores between.
    initial = np.random.default_rng(design_seed(seed)).random((population, space.dim))
    initial[0] = 0.0
    algorithm = NSGA2(pop_size=population, sampling=initial)
    algorithm.setup(problem, termination=("n_gen", generations), seed=int(seed), verbose=False)
    rows: dict[str, dict[str, Any]] = {}
    generation = 0
    while algorithm.has_next():
        generation += 1
        pop = algorithm.ask()
        unit = np.clip(pop.get("X"), 0.0, 1.0)
        values = space.values(unit)
        designs = {}
        for u, v in zip(unit, values, strict=True):
            designs[design_key(u)] = (u, space.params(v))
        evaluator.run(designs)
        for u, v in zip(unit, values, strict=True):
            key = design_key(u)
            if key not in rows:
                cost = costs.cost(model.scenario(designs[key][1]).values)
                rows[key] = {"generation": generation, **v, **cost, "cost": cost["total"],
                             **_stats(evaluator.values(key, objective), quantile)}
        f = np.array([[-rows[design_key(u)]["score"], rows[design_key(u)]["cost"]]
                      for u in unit])
        PymooEvaluator().eval(StaticProblem(problem, F=f), pop)
        algorithm.tell(infills=pop)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "design"
    return frame


def pareto_front(evaluated: pd.DataFrame) -> pd.DataFrame:
    """The designs no other design beats on both score (higher) and cost (lower), by cost.

    Of designs with the same score and cost, the first evaluated is kept.
    """
    order = evaluated.sort_values(["cost", "score"], ascending=[True, False], kind="stable")
    keep, best = [], -math.inf
    for key, row in order.iterrows():
        if row["score"] > best:
            keep.append(key)
            best = row["score"]
    return evaluated.loc[keep]


# -- outputs --------------------------------------------------------------------------------


def front_figure(result: DesignSearch) -> Any:
    """Cost against the robust score: every design, the front with its interquartile band."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - figures only when asked for

    scale = 1e3
    fig = Figure(figsize=(7.2, 4.8))
    ax = fig.subplots()
    ev, fr, base = result.evaluated, result.front, result.base.iloc[0]
    ax.scatter(ev["cost"] / scale, ev["score"], s=10, color="0.75", label="designs evaluated")
    ax.vlines(fr["cost"] / scale, fr["q25"], fr["q75"], color="tab:blue", lw=3, alpha=0.35,
              label="front: interquartile range over runs")
    ax.step(fr["cost"] / scale, fr["score"], where="post", color="tab:blue", lw=1)
    ax.scatter(fr["cost"] / scale, fr["score"], s=30, color="tab:blue", zorder=3,
               label=f"front: {_q(result.quantile)} (the score)")
    ax.scatter(fr["cost"] / scale, fr["median"], s=18, marker="_", color="navy", zorder=3,
               label="front: median")
    ax.errorbar([base["cost"] / scale], [base["score"]],
                yerr=[[base["score"] - base["q25"]], [base["q75"] - base["score"]]],
                fmt="*", ms=12, color="crimson", zorder=4,
                label=f"{Path(result.model.base).stem} as it is")
    for i, (_, row) in enumerate(fr.iterrows(), start=1):
        ax.annotate(str(i), (row["cost"] / scale, row["score"]), textcoords="offset points",
                    xytext=(4, -10), fontsize=7, color="tab:blue")
    ax.set_xlabel(f"cost over the run (thousand {result.costs.currency})")
    ax.set_ylabel(f"{result.objective}: {_q(result.quantile)} over runs")
    ax.set_title(f"Designs: {result.objective} against cost ({result.runs_per_design} runs "
                 "per design, common seeds)", fontsize=11)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _q(quantile: float) -> str:
    pct = quantile * 100
    return f"{pct:g}th percentile" if pct != 50 else "median"


def front_table(result: DesignSearch) -> pd.DataFrame:
    """The front, numbered by cost: cost components, score and spread, design values."""
    fr = result.front.copy()
    fr.insert(0, "point", range(1, len(fr) + 1))
    first = ["point", "cost", "facilitator_time", "venues", "travel", "score", "q25", "median",
             "q75", "mean", "generation"]
    return fr[first + [c for c in result.space.names if c in fr.columns]]


def scenario_text(result: DesignSearch, key: str, point: int, where: str = "") -> str:
    """A front design as a scenario file (``Scenario.load`` reads it; ``hourglass run`` runs it).

    It extends the base scenario and sets the search's fixed overrides and the design's keys.
    """
    model, row = result.model, result.front.loc[key]
    params = result.space.params({n: _plain(row[n]) for n in result.space.names})
    values = {**model.overrides, **params}
    base = model.base if model.base in available_scenarios() else str(Path(model.base).resolve())
    description = (
        f"Design {point} of the {result.objective}-cost front: cost {row['cost']:,.0f} "
        f"{result.costs.currency} over the run; {result.objective} {_q(result.quantile)} "
        f"{row['score']:.3g} (median {row['median']:.3g}, interquartile {row['q25']:.3g}-"
        f"{row['q75']:.3g}) over {result.runs_per_design} runs."
    )
    lines = [
        f"# Written by hourglass design{f' ({where})' if where else ''}: point {point} of the",
        "# front. Run it with `hourglass run FILE`, compare it with `hourglass compare`.",
        f"extends = {_toml(base)}",
        f"description = {_toml(description)}",
        f"source = {_toml('hourglass design: NSGA-II over ' + ', '.join(result.space.names))}",
    ]
    sections: dict[str, list[str]] = {}
    for dotted, value in values.items():
        section, name = dotted.split(".", 1)
        sections.setdefault(section, []).append(f"{name} = {_toml(value)}")
    for section, entries in sections.items():
        lines += ["", f"[{section}]", *entries]
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _toml(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)
