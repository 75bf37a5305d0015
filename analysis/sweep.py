"""Run a design x replicates sweep of a model and load it back.

A sweep evaluates ``model(params, seed) -> {output: float}`` once per (design row,
replicate). Run ids are ``row * replicates + replicate``; seeds come from
:mod:`analysis.seeds` (common random numbers by default). Results stream into a
:class:`~analysis.store.Store` as chunks complete, so an interrupted sweep resumes
where it stopped when run again with the same arguments.

With ``seed_factor=True`` the seed is one more factor of the design, :data:`CHANCE`: one run
a row, its seed taken from that column (:func:`analysis.seeds.factor_seed`), so rows that
share the column's value within a block of the design share the seed (a Sobol' base sample's
``A`` row and its ``AB_i`` rows, a Morris trajectory's steps that do not move it). The
analyses then give the seed's own indices: the share of an outcome's variance that is chance
(the seed as an input of a stochastic model: Hart, Alexanderian & Gremaud 2017, SIAM/ASA J.
Uncertainty Quantification 5, 1514-1530). Averaging replicates instead removes most of the
noise at ``replicates`` times the runs.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.designs import Design, make_design
from analysis.errors import AnalysisError, Interrupted
from analysis.executors import (
    Model,
    RunResult,
    check_chunk_size,
    check_workers,
    executor_for,
)
from analysis.grouped import GroupedSpace, index_names
from analysis.seeds import factor_seed, run_seed
from analysis.space import Space
from analysis.store import Store, read_store

ID_COLUMNS = ("run_id", "row", "replicate", "seed")

CHANCE = "chance"
"""The design column that holds the seed when it is a factor (``seed_factor=True``)."""


def model_identity(model: Any) -> Any:
    """A JSON-able description of a model, recorded in (and compared by) the store."""
    describe = getattr(model, "describe", None)
    if callable(describe):
        return describe()
    if isinstance(model, functools.partial):
        return {
            "function": model_identity(model.func),
            "args": [repr(a) for a in model.args],
            "kwargs": {k: repr(v) for k, v in sorted(model.keywords.items())},
        }
    name = getattr(model, "__qualname__", type(model).__qualname__)
    return f"{getattr(model, '__module__', '?')}.{name}"


@dataclass
class Sweep:
    """A completed or partial sweep.

    Attributes:
        space: The parameter space.
        design: The design (unit matrix and spec).
        replicates: Runs per design row.
        seed: Root seed.
        common_random_numbers: Whether replicate ``r`` shares its seed across rows.
        results: Raw stored runs: run_id, row, replicate, seed and outputs.
        manifest: The store manifest (identity, info, code version, outputs).
        path: Store directory, ``None`` for an in-memory sweep.
        seed_factor: Whether the seed is the design's last factor, :data:`CHANCE` (then
            ``space`` holds it and ``replicates`` is 1).
    """

    space: Space
    design: Design
    replicates: int
    seed: int
    common_random_numbers: bool
    results: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    seed_factor: bool = False

    @property
    def n_runs(self) -> int:
        """Runs in the full sweep (design rows x replicates)."""
        return self.design.rows * self.replicates

    @property
    def complete(self) -> bool:
        """Whether every run is stored."""
        return len(self.results) == self.n_runs

    @property
    def outputs(self) -> list[str]:
        """Output names, in the order the model returned them."""
        return [c for c in self.results.columns if c not in ID_COLUMNS]

    @cached_property
    def factors(self) -> pd.DataFrame:
        """Factor values per design row (index ``row``)."""
        frame = pd.DataFrame(self.space.values(self.design.unit), columns=self.space.names)
        frame.index.name = "row"
        return frame

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per stored run: run_id, row, replicate, seed, factor values, outputs."""
        ids = self.results[list(ID_COLUMNS)].astype("int64")
        factors = self.factors.reindex(ids["row"].to_numpy()).reset_index(drop=True)
        outputs = self.results[self.outputs].reset_index(drop=True)
        return pd.concat([ids.reset_index(drop=True), factors, outputs], axis=1)

    @cached_property
    def means(self) -> pd.DataFrame:
        """Replicate means per design row (index ``row``): factor values then outputs."""
        grouped = self.results.groupby("row", sort=True)[self.outputs].mean()
        frame = self.factors.join(grouped, how="inner")
        frame.index.name = "row"
        return frame

    def params(self, rows: Any = slice(None)) -> list[dict[str, Any]]:
        """The model's parameters of design rows ``rows`` (all by default), as run."""
        return design_params(self.space, self.design.unit[rows], seed_factor=self.seed_factor)

    def output_means(self, output: str) -> np.ndarray:
        """Replicate means of ``output`` for every design row, in design-row order.

        Rows are matched by run id (``row = run_id // replicates``), never by the
        order runs were stored.

        Raises:
            AnalysisError: Unknown output or an incomplete sweep.
        """
        if output not in self.outputs:
            raise AnalysisError(
                f"sweep: output {output!r} is unknown; allowed: {', '.join(self.outputs)}"
            )
        if not self.complete:
            raise AnalysisError(
                f"sweep {self.path or ''}: {len(self.results)} of {self.n_runs} runs stored; "
                "finish it (run the same sweep again) before analysing"
            )
        rows = self.results["run_id"].to_numpy() // self.replicates
        sums = np.zeros(self.design.rows)
        np.add.at(sums, rows, self.results[output].to_numpy(dtype=float))
        return sums / self.replicates


def _check_model(model: Model, space: Space) -> None:
    """Let a model refuse the space before any run (``model.check(params)``).

    The all-lows and all-highs corners are checked, which covers unknown keys and
    out-of-range bounds.
    """
    check = getattr(model, "check", None)
    if not callable(check):
        return
    for corner in space.values(np.array([np.zeros(space.dim), np.ones(space.dim)])):
        check(space.params(corner))


def run_sweep(
    model: Model,
    space: Space | Mapping[str, object],
    design: str = "sobol",
    samples: int = 1024,
    replicates: int = 10,
    *,
    seed: int = 1,
    store: str | Path | None = None,
    executor: Any = "processes",
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool | None = True,
    second_order: bool = False,
    num_levels: int = 4,
    common_random_numbers: bool = True,
    seed_factor: bool = False,
    info: Mapping[str, Any] | None = None,
    wait: bool = False,
    desc: str | None = None,
) -> Sweep:
    """Run (or resume) a sweep.

    Args:
        model: Picklable ``model(params, seed) -> {output: float}``.
        space: A :class:`Space` or the mapping to build one.
        design: ``sobol``, ``lhs``, ``morris`` or ``grid``.
        samples: N (sobol, a power of 2), points (lhs), trajectories (morris) or
            levels per continuous factor (grid).
        replicates: Runs per design row (different seeds).
        seed: Root seed of the design and every run.
        store: Directory to stream results into (resumable); ``None`` keeps them in
            memory.
        executor: ``"serial"``, ``"processes"`` or a ``dask.distributed.Client``.
        workers: Process count for ``"processes"`` (default: all cores).
        chunk_size: Runs per task (default: shrinking tasks, see :func:`chunked`).
        progress: Show a tqdm progress bar (rate and time left); ``None``: when standard
            error is a terminal.
        second_order: Sobol only: sample for second-order indices too.
        num_levels: Morris only: grid levels.
        common_random_numbers: Replicate ``r`` uses the same seed in every row.
        seed_factor: The seed is one more factor of the design, :data:`CHANCE` (see the
            module docstring); ``replicates`` must then be 1.
        info: Extra manifest fields (e.g. base scenario), not compared on resume.
        wait: If another process is writing ``store``, wait for it instead of refusing.
        desc: The progress bar's label (default ``"sweep DESIGN"``).

    Returns:
        The completed :class:`Sweep`.

    Raises:
        AnalysisError: Bad space/design, a model that refuses the space, or a store
            holding a different sweep.
    """
    if not isinstance(space, Space):
        space = Space(space)
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise AnalysisError(f"sweep: replicates must be a positive integer, got {replicates!r}")
    model_space = space
    if seed_factor:
        space = _with_chance(space, replicates, design)
    check_chunk_size(chunk_size)  # before the store exists: a bad size must leave nothing
    if executor == "processes":
        check_workers(workers)
    the_design = make_design(
        design, space, samples, seed, second_order=second_order, num_levels=num_levels
    )
    _check_model(model, model_space)
    identity = {
        "design": the_design.spec(),
        "space": space.to_list(),
        "replicates": replicates,
        "seed": int(seed),
        "common_random_numbers": common_random_numbers,
        "model": model_identity(model),
        "fingerprint": model_fingerprint(model),
    }
    if seed_factor:  # only then: stores written before the option keep their identity
        identity["seed_factor"] = True
    total = the_design.rows * replicates
    seed_of = _seeds(the_design, space, replicates, seed, common_random_numbers,
                     seed_factor)

    with Store(store, identity, the_design.unit, space.names, info=info, wait=wait,
               n_runs=total, replicates=replicates, seed_of=seed_of) as the_store:
        done = the_store.done
        params = design_params(space, the_design.unit, seed_factor=seed_factor)
        pending = [(run_id, params[run_id // replicates], seed_of(run_id))
                   for run_id in range(total) if run_id not in done]
        if pending:
            _run_pending(model, pending, the_store, executor, workers, chunk_size, progress,
                         desc=desc or f"sweep {design}", total=total, replicates=replicates)
        if len(the_store.done) == total and not the_store.manifest.get("complete"):
            the_store.mark_complete()
        results, manifest = the_store.results(), the_store.manifest
    return Sweep(
        space=space,
        design=the_design,
        replicates=replicates,
        seed=int(seed),
        common_random_numbers=common_random_numbers,
        results=results,
        manifest=manifest,
        path=Path(store) if store is not None else None,
        seed_factor=seed_factor,
    )


def design_params(space: Space, unit: np.ndarray, *,
                  seed_factor: bool = False) -> list[dict[str, Any]]:
    """The model's parameters for each row of a unit matrix (the seed's column left out).

    Args:
        space: The design's space (with :data:`CHANCE` when ``seed_factor``).
        unit: Rows of the design's unit matrix.
        seed_factor: Whether the last column is the seed (it is the run's seed, not a key).
    """
    params = [space.params(v) for v in space.values(unit)]
    if seed_factor:
        params = [{k: v for k, v in p.items() if k != CHANCE} for p in params]
    return params


def _with_chance(space: Space, replicates: int, design: str) -> Space:
    """The space with the seed as its last factor, :data:`CHANCE`."""
    if replicates != 1:
        raise AnalysisError(
            f"sweep: with the seed as a factor each row is one run; replicates must be 1, "
            f"got {replicates}"
        )
    if design == "grid":
        raise AnalysisError("sweep: the seed as a factor needs a sobol, morris or lhs design, "
                            "not grid (a grid would repeat a few seeds)")
    if CHANCE in space.names or CHANCE in space.keys:
        raise AnalysisError(f"sweep: the space already has a factor {CHANCE!r}; the seed as a "
                            "factor needs that name")
    factors = {**space.factors, CHANCE: (0.0, 1.0)}
    if isinstance(space, GroupedSpace):  # the seed is a group of its own
        return GroupedSpace(factors, dict(zip(space.names, space.groups, strict=True)),
                            source="space and the seed")
    return Space(factors, source="space and the seed")


def _block_rows(design: Design, space: Space) -> int:
    """Rows an estimator compares with each other (a block of the design).

    A Sobol' base sample's ``k + 2`` (``2k + 2`` with second order), a Morris trajectory's
    ``k + 1`` (``k`` the design's factors or groups), else one row.
    """
    k = len(index_names(space))
    if design.kind == "sobol":
        return 2 * k + 2 if design.second_order else k + 2
    if design.kind == "morris":
        return k + 1
    return 1


def _seeds(design: Design, space: Space, replicates: int, root: int, common: bool,
           seed_factor: bool) -> Any:
    """A run id's seed: from the seed column (the seed as a factor) or from row and replicate."""
    if seed_factor:
        block, column = _block_rows(design, space), design.unit[:, -1]

        def from_column(run_id: int) -> int:
            return factor_seed(root, run_id // block, column[run_id])

        return from_column

    def from_replicate(run_id: int) -> int:
        return run_seed(root, run_id // replicates, run_id % replicates, common=common)

    return from_replicate


def _run_pending(
    model: Model, pending: list[Any], the_store: Store, executor: Any, workers: int | None,
    chunk_size: int | None, progress: bool | None, *, desc: str, total: int, replicates: int,
) -> None:
    """Run the pending runs into the store; a Ctrl-C keeps what finished and says so."""
    the_store.begin_session()

    def keep(results: list[RunResult]) -> None:
        the_store.append(_frame(results, replicates))

    try:
        with executor_for(executor, workers) as runner:
            runner.map_runs([(model, pending)], keep, chunk_size=chunk_size, progress=progress,
                            desc=desc, initial=total - len(pending))
    except KeyboardInterrupt:
        if the_store.path is None:
            raise
        raise Interrupted(
            f"{len(the_store.done)} of {total} runs stored in {the_store.path}; run the same "
            "sweep again to resume"
        ) from None


def model_fingerprint(model: Any) -> dict[str, Any]:
    """What a store compares besides the model's description: its resolved inputs and code.

    A model may say it with ``model.fingerprint()`` (the Hourglass model gives its resolved
    scenario and a digest of the simulation package's sources and tables). Otherwise: a digest
    of the source file that defines the model (its module), which catches an edited model
    function but not an edited module it imports.
    """
    fingerprint = getattr(model, "fingerprint", None)
    if callable(fingerprint):
        return dict(fingerprint())
    target = model.func if isinstance(model, functools.partial) else model
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        target = type(target)
    try:
        source = inspect.getsourcefile(target)
        data = Path(source).read_bytes() if source else None
    except (OSError, TypeError):
        data = None
    return {"code": hashlib.sha256(data).hexdigest()} if data is not None else {}


def _frame(results: list[RunResult], replicates: int) -> pd.DataFrame:
    """One chunk's results as a frame: run_id, row, replicate, seed (as run), outputs."""
    ids = np.array([r.run_id for r in results], dtype=np.int64)
    frame = pd.DataFrame({"run_id": ids, "row": ids // replicates, "replicate": ids % replicates})
    frame["seed"] = np.array([r.seed for r in results], dtype=np.int64)
    outputs = pd.DataFrame([r.outputs for r in results], dtype=float)
    return pd.concat([frame, outputs], axis=1)


def _design_from_spec(spec: Mapping[str, Any], space: Space) -> Design:
    return make_design(spec["kind"], space, spec["samples"], spec["seed"],
                       second_order=spec["second_order"], num_levels=spec["num_levels"])


def load_sweep(path: str | Path) -> Sweep:
    """Load a sweep from its store directory (complete or not).

    Raises:
        AnalysisError: No store at ``path``.
    """
    path = Path(path)
    manifest, unit, results = read_store(path)
    ident = manifest["identity"]
    spec = ident["design"]
    space = Space.from_list(ident["space"], source=f"store {path}")
    if unit is None:  # missing or unreadable: the spec makes the same design
        design = _design_from_spec(spec, space)
    else:
        if list(unit.columns) != space.names:
            raise AnalysisError(f"store {path}: design.parquet columns do not match the manifest")
        design = Design(
            kind=spec["kind"],
            samples=spec["samples"],
            seed=spec["seed"],
            second_order=spec["second_order"],
            num_levels=spec["num_levels"],
            unit=unit.to_numpy(dtype=float),
        )
    return Sweep(
        space=space,
        design=design,
        replicates=ident["replicates"],
        seed=ident["seed"],
        common_random_numbers=ident["common_random_numbers"],
        results=results,
        manifest=manifest,
        path=path,
        seed_factor=bool(ident.get("seed_factor", False)),
    )
