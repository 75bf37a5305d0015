"""Calibration of the assumption parameters to the report's numbers by ABC-SMC (issue 15 §2).

Approximate Bayesian computation with sequential Monte Carlo (pyabc's ``ABCSMC``; Toni et al.
2009, Klinger et al. 2018): particles are drawn from the prior over the parameters whose source
is "assumption", each is judged on a pooled set of replicates, and the tolerance shrinks from
generation to generation (median of the last generation's distances). The distance is in units
of each target's tolerance (:func:`hourglass.targets.distance`), so a particle at distance 1 is
one tolerance (two of the report's standard errors) from the report on one target.

**Replicates.** A particle's statistics are shares of persons pooled over its replicates. It runs
replicates until it has counted ``min_learners`` practical learners (default 168, twice the
report's 84: a pooled share's seed standard error is then at most 0.71 of the report's own, and
at most 0.35 of a tolerance) or ``max_replicates`` runs (default 40: the baseline counts about
5 learners a run, so it needs about 34; ``benchmarks/calibrate.py`` measures what the budget
allows). Figure 12's share, over all participants, is then far more precise than its target.
Particles that learn little stop at the cap and are judged on fewer learners: their distance is
noisier, which the docs state.

**Seeds.** The seeds of a particle's replicates come from its own generator, seeded from the
root seed and the particle's parameter values (``numpy.random.SeedSequence``), so the same
particle gives the same statistics on any worker, in any order, after any resume.

**Resuming.** pyabc keeps every finished generation in an SQLite history (``history.db``);
``calibrate`` on the same directory loads it (``ABCSMC.load``) and runs the generations still
missing, so Ctrl-C or kill -9 loses at most the generation in progress.

**Not calibrated.** The tool table's effect sizes (``simulation/tools.toml``) are assumptions too,
but not scenario keys: the model cannot vary them per run without a change in ``simulation/``
(issue 14 §2 reworks the tools). ``observation.*`` are the stage definitions, not the world, and
are not fitted. Structural sizes (``run.*``, ``population.*``) are fixed as in
:func:`hourglass.validation.assumption_space`.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hourglass.counts import DENOMINATOR
from hourglass.targets import Target, distance, load_targets, pooled
from simulation.errors import HourglassError

if TYPE_CHECKING:
    import pandas as pd

NOT_FITTED = ("observation.",)
POSTERIOR_DIR = Path(__file__).with_name("posterior")
"""Where a shipped posterior lives (package data); empty until the lead ships one."""


@dataclass(frozen=True)
class Settings:
    """How a calibration runs (the default is the one ``benchmarks/calibrate.py`` budgets)."""

    population: int = 100
    generations: int = 6
    min_learners: int = 168
    max_replicates: int = 40
    scale: float = 0.5
    walltime_minutes: float = 25.0
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Refuse settings that cannot run, in one line naming the option."""
        for name in ("population", "generations", "min_learners", "max_replicates"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise HourglassError(
                    f"calibrate: --{name.replace('_', '-')} must be a whole number >= 1, "
                    f"got {value!r}"
                )
        if not 0 < self.scale <= 1:
            raise HourglassError(f"calibrate: --scale must be in (0, 1], got {self.scale!r}")
        if not self.walltime_minutes > 0:
            raise HourglassError(
                f"calibrate: --walltime must be > 0 minutes, got {self.walltime_minutes!r}"
            )


QUICK = Settings(population=8, generations=2, min_learners=1, max_replicates=2,
                 walltime_minutes=5.0,
                 overrides={"run.months": 48, "population.home_organisations": 10,
                            "population.staff_per_organisation": 40})
"""The form ``make test`` runs: a tiny population, 8 particles, 2 generations."""


def prior_space(scale: float = 0.5) -> Any:
    """The calibrated parameters and their prior ranges (uniform): the assumption space."""
    from analysis.space import Space  # noqa: PLC0415
    from hourglass.validation import assumption_space  # noqa: PLC0415

    space = assumption_space(scale)
    keep = {n: f for n, f in space.factors.items() if not n.startswith(NOT_FITTED)}
    specs: dict[str, object] = {}
    for name, factor in keep.items():
        if factor.kind == "int":
            specs[name] = ("int", min(factor.values), max(factor.values))
        else:
            specs[name] = (factor.lo, factor.hi)
    return Space(specs, source="calibration prior")


def _safe(name: str) -> str:
    return name.replace(".", "__")


def _scenario_key(name: str) -> str:
    return name.replace("__", ".")


def _bounds(space: Any) -> dict[str, tuple[float, float, bool]]:
    """Per parameter: prior low, high and whether it is a whole number."""
    out = {}
    for name, factor in space.factors.items():
        if factor.kind == "int":
            # Uniform over [lo - 0.5, hi + 0.5), rounded: each whole number equally likely.
            out[name] = (min(factor.values) - 0.5, max(factor.values) + 0.5, True)
        else:
            out[name] = (float(factor.lo), float(factor.hi), False)
    return out


def as_params(particle: Mapping[str, float], bounds: Mapping[str, tuple]) -> dict[str, Any]:
    """A particle's values as scenario overrides (whole numbers rounded, clipped to the prior)."""
    params: dict[str, Any] = {}
    for safe, value in particle.items():
        name = _scenario_key(safe)
        lo, hi, whole = bounds[name]
        if whole:
            params[name] = int(min(max(round(float(value)), math.ceil(lo)), math.floor(hi)))
        else:
            params[name] = float(min(max(float(value), lo), hi))
    return params


def particle_seeds(root: int, params: Mapping[str, Any], count: int) -> list[int]:
    """Seeds of a particle's replicates, from its own generator (root seed x its values)."""
    digest = hashlib.sha256(json.dumps(sorted(params.items())).encode()).digest()
    entropy = [int(root), *np.frombuffer(digest[:16], dtype=np.uint32).tolist()]
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    return rng.integers(0, 2**63 - 1, size=count, dtype=np.int64).tolist()


class ParticleModel:
    """pyabc model: a particle's values -> the targets' pooled statistics (picklable).

    Args:
        base: Base scenario.
        bounds: Prior bounds by scenario key (:func:`_bounds`).
        targets: Target names.
        settings: Replicate rule and fixed overrides.
        seed: Root seed.
    """

    def __init__(self, base: str, bounds: Mapping[str, tuple], targets: list[str],
                 settings: Settings, seed: int) -> None:
        self.base = base
        self.bounds = dict(bounds)
        self.targets = list(targets)
        self.settings = settings
        self.seed = int(seed)

    def statistics(self, params: Mapping[str, Any]) -> dict[str, float]:
        """Run replicates until enough learners are counted (or the cap); pool the shares."""
        from hourglass.adapter import HourglassModel  # noqa: PLC0415

        model = HourglassModel(self.base, every=0, overrides=dict(self.settings.overrides),
                               counts=True)
        seeds = particle_seeds(self.seed, params, self.settings.max_replicates)
        runs = []
        learners = 0.0
        for seed in seeds:
            out = model(params, seed)
            runs.append(out)
            learners += out["p4_learners"]
            if learners >= self.settings.min_learners:
                break
        stats = {name: pooled(runs, name) for name in self.targets}
        stats["replicates"] = float(len(runs))
        for den in sorted({DENOMINATOR[n] for n in self.targets}):
            stats[den] = float(sum(r[den] for r in runs))
        return stats

    def __call__(self, particle: Mapping[str, float]) -> dict[str, float]:
        """Pyabc's call: a particle in, its statistics out."""
        return self.statistics(as_params(dict(particle), self.bounds))


class TargetDistance:
    """pyabc distance: :func:`hourglass.targets.distance` (picklable)."""

    def __init__(self, targets: Mapping[str, Target]) -> None:
        self.targets = dict(targets)

    def __call__(self, x: Mapping[str, float], _observed: Mapping[str, float]) -> float:
        """Distance of simulated statistics ``x`` to the targets (``_observed`` holds the same)."""
        return distance(x, self.targets)


def _sampler(workers: int | None, scheduler: Any) -> Any:
    import pyabc  # noqa: PLC0415

    if scheduler is not None:
        return pyabc.sampler.DaskDistributedSampler(dask_client=scheduler, batch_size=1)
    if workers == 1:
        return pyabc.sampler.SingleCoreSampler()
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers)


def _versions() -> dict[str, str]:
    from importlib.metadata import version  # noqa: PLC0415

    out = {"python": platform.python_version()}
    for lib in ("pyabc", "numpy", "pandas", "scipy", "mesa", "numba", "hourglass"):
        try:
            out[lib] = version(lib)
        except Exception:
            out[lib] = "unknown"
    return out


def calibrate(
    out: str | Path,
    base: str = "baseline",
    settings: Settings | None = None,
    seed: int = 1,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    command: str = "",
    on_generation: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) ABC-SMC into ``out``; write the posterior ensemble beside its provenance.

    Writes ``history.db`` (pyabc's), ``particles.parquet`` (the last generation, weighted),
    ``posterior.parquet`` (an equally weighted ensemble resampled from it, one parameter set a
    row: the ``parameter_sets`` seam of :class:`hourglass.adapter.HourglassModel`),
    ``predictive.parquet`` (each particle's statistics) and ``calibration.json`` (command,
    prior, targets, settings, library versions, generations and their tolerances).

    Returns:
        The provenance written to ``calibration.json``.
    """
    import pyabc  # noqa: PLC0415
    from tqdm.auto import tqdm  # noqa: PLC0415

    settings = settings or Settings()
    settings.check()
    out = Path(out)
    space = prior_space(settings.scale)
    bounds = _bounds(space)
    targets = load_targets()
    from hourglass.adapter import HourglassModel  # noqa: PLC0415

    HourglassModel(base, every=0, overrides=dict(settings.overrides)).check({})
    if out.is_dir() and any(out.iterdir()) and not (out / "identity.json").is_file():
        raise HourglassError(
            f"calibrate: {out} holds files that are not a calibration; choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    # Stopping rules (generations, walltime) may change on a resume; nothing else may.
    fixed = {k: v for k, v in _settings_dict(settings).items()
             if k not in ("generations", "walltime_minutes")}
    identity = {"base": base, "seed": int(seed), "settings": fixed,
                "prior": {n: list(b) for n, b in bounds.items()},
                "targets": {n: t.__dict__ for n, t in targets.items()}}
    _check_identity(out, identity)
    prior = pyabc.Distribution(**{
        _safe(n): pyabc.RV("uniform", lo, hi - lo) for n, (lo, hi, _) in bounds.items()
    })
    model = ParticleModel(base, bounds, list(targets), settings, seed)
    observed = {n: t.value for n, t in targets.items()}
    # pyabc draws its particles from NumPy's global generator; seeded, a single-process
    # calibration proposes the same particles again.
    np.random.seed(seed % 2**32)  # noqa: NPY002
    db_file = out / "history.db"
    db = "sqlite:///" + str(db_file.resolve())
    done = _generations_done(db_file)
    # pyabc starts every run from the initial calibration sample's epsilon; a resumed run
    # starts from the median of the last generation's distances instead, as if never stopped.
    eps = pyabc.MedianEpsilon(initial_epsilon=_last_median(db) if done else "from_sample")
    abc = pyabc.ABCSMC(model, prior, TargetDistance(targets),
                       population_size=settings.population,
                       sampler=_sampler(workers, scheduler), eps=eps)
    history = abc.load(db, 1) if db_file.exists() else abc.new(db, observed)
    started = time.monotonic()
    stopped = "generations"
    if done < settings.generations:
        bar = tqdm(total=settings.generations, initial=done, desc="calibrate (generations)",
                   unit="gen",
                   disable=not (sys.stderr.isatty() if progress is None else progress))
        watcher = _Watcher(db_file, bar, on_generation,
                           deadline=started + 60 * settings.walltime_minutes)
        try:
            with watcher:
                history = abc.run(max_nr_populations=settings.generations - done,
                                  max_walltime=timedelta(minutes=settings.walltime_minutes))
        except KeyboardInterrupt:
            if not watcher.stopping:
                raise
            history = abc.history  # the finished generations; the one just begun is dropped
        bar.close()
        if history.max_t + 1 < settings.generations:
            stopped = "walltime"
    return _write(out, history, bounds, targets, settings, seed, command, stopped,
                  time.monotonic() - started)


def _generations_done(db_file: Path) -> int:
    """Generations (t >= 0) finished in a history file (0 if there is none)."""
    import sqlite3  # noqa: PLC0415

    if not db_file.exists():
        return 0
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as con:
        try:
            row = con.execute("SELECT COUNT(*) FROM populations WHERE t >= 0").fetchone()
        except sqlite3.OperationalError:  # created, no table yet: nothing finished
            return 0
    return int(row[0])


def _last_median(db: str) -> float:
    """Weighted median of the last finished generation's distances."""
    import pyabc  # noqa: PLC0415

    history = pyabc.History(db)
    frame = history.get_weighted_distances(t=history.max_t)
    order = np.argsort(frame["distance"].to_numpy())
    d = frame["distance"].to_numpy()[order]
    w = frame["w"].to_numpy()[order]
    return float(d[np.searchsorted(np.cumsum(w) / w.sum(), 0.5)])


class _Watcher:
    """A thread that follows the history file and moves the progress bar (time left: tqdm)."""

    def __init__(self, db_file: Path, bar: Any, on_generation: Callable[[int], None] | None,
                 deadline: float = float("inf")) -> None:
        import threading  # noqa: PLC0415

        self.db_file, self.bar, self.on_generation = db_file, bar, on_generation
        self.deadline = deadline
        self.stopping = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)

    def _follow(self) -> None:
        import os  # noqa: PLC0415
        import signal  # noqa: PLC0415

        seen = self.bar.n
        last, before = time.monotonic(), None
        while not self.stop.wait(0.5):
            done = _generations_done(self.db_file)
            if done > seen:
                now = time.monotonic()
                self.bar.update(done - seen)
                seen, took, last = done, now - last, now
                if self.on_generation is not None:
                    self.on_generation(done)
                # Generations slow down as epsilon shrinks: the next is predicted to take the
                # last one's time, grown by the last growth.
                growth = max(1.0, took / before) if before else 1.0
                before = took
                if now + took * growth > self.deadline and done < self.bar.total:
                    # The next generation would end past the walltime: stop now (pyabc checks
                    # its own walltime only after a generation). A real SIGINT wakes the main
                    # thread from waiting on the workers.
                    self.stopping = True
                    os.kill(os.getpid(), signal.SIGINT)
                    return

    def __enter__(self) -> _Watcher:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def _check_identity(out: Path, identity: dict[str, Any]) -> None:
    """Record what a calibration in ``out`` is, or refuse a resume that differs from it."""
    ident_file = out / "identity.json"
    if ident_file.exists():
        before = json.loads(ident_file.read_text())
        if before != json.loads(json.dumps(identity)):
            changed = sorted(k for k in identity if before.get(k) != json.loads(
                json.dumps(identity[k])))
            raise HourglassError(
                f"calibrate: {out} holds a calibration with other {', '.join(changed)}; "
                "resume with the same options or choose another --out"
            )
    else:
        ident_file.write_text(json.dumps(identity, indent=2))


def _settings_dict(settings: Settings) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in settings.__dict__.items()}


def _write(out: Path, history: Any, bounds: Mapping[str, tuple], targets: Mapping[str, Target],
           settings: Settings, seed: int, command: str, stopped: str,
           seconds: float) -> dict[str, Any]:
    import pandas as pd  # noqa: PLC0415 - parsing the command line does not load pandas

    frame, weights = history.get_distribution(m=0, t=history.max_t)
    frame = frame.rename(columns=_scenario_key)
    params = pd.DataFrame([as_params({_safe(k): v for k, v in row.items()}, bounds)
                           for row in frame.to_dict("records")], index=frame.index)
    particles = params.copy()
    particles["weight"] = weights
    _atomic_parquet(particles.reset_index(drop=True), out / "particles.parquet")
    # An equally weighted ensemble: systematic resampling with a generator of its own.
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 15, 2]))
    cum = np.cumsum(weights / weights.sum())
    points = (rng.random() + np.arange(len(weights))) / len(weights)
    chosen = np.minimum(np.searchsorted(cum, points), len(weights) - 1)
    posterior = params.iloc[chosen].reset_index(drop=True)
    _atomic_parquet(posterior, out / "posterior.parquet")
    stats_w, stats = history.get_weighted_sum_stats(t=history.max_t)
    predictive = pd.DataFrame([{k: float(v) for k, v in s.items()} for s in stats])
    predictive["weight"] = stats_w
    _atomic_parquet(predictive, out / "predictive.parquet")
    pops = history.get_all_populations()
    provenance = {
        "command": command, "base": None, "seed": int(seed),
        "settings": _settings_dict(settings),
        "prior": {n: {"low": lo, "high": hi, "whole": whole, "distribution": "uniform"}
                  for n, (lo, hi, whole) in bounds.items()},
        "targets": {n: t.__dict__ for n, t in targets.items()},
        "versions": _versions(),
        "generations": [{"t": int(r.t), "epsilon": float(r.epsilon),
                         "samples": int(r.samples)} for r in pops.itertuples() if r.t >= 0],
        "simulations": int(history.total_nr_simulations),
        "stopped_by": stopped,
        "seconds_this_session": round(seconds, 1),
        "not_fitted": ["simulation/tools.toml effect sizes (not scenario keys)",
                       "observation.* (stage definitions)", "run.*, population.* (sizes)"],
    }
    provenance["base"] = json.loads((out / "identity.json").read_text())["base"]
    (out / "calibration.json.tmp").write_text(json.dumps(provenance, indent=2, default=str))
    (out / "calibration.json.tmp").replace(out / "calibration.json")
    return provenance


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def shipped_posterior() -> Path | None:
    """The posterior ensemble shipped with the package, or None (point defaults) for now."""
    path = POSTERIOR_DIR / "posterior.parquet"
    return path if path.is_file() else None


def variance_over_ensemble(
    parameter_sets: str | Path, replicates: int, base: str = "baseline",
    overrides: Mapping[str, Any] | None = None, outcomes: list[str] | None = None,
    seed: int = 1, executor: Any = "processes", workers: int | None = None,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every parameter set of a Parquet ensemble ``replicates`` times; split the variance.

    The sweep engine runs a grid over the row numbers (``HourglassModel(parameter_sets=...)``),
    with independent seeds per set (not common random numbers: a seed shared by every set would
    move between-set differences into the within part). :func:`analysis.uncertainty.decompose`
    then splits each outcome's variance between parameter sets (epistemic) and seeds (chance).

    Returns:
        The split (one row per outcome) and the runs it was computed from.
    """
    import pandas as pd  # noqa: PLC0415

    from analysis.space import Space  # noqa: PLC0415
    from analysis.sweep import run_sweep  # noqa: PLC0415
    from analysis.uncertainty import decompose  # noqa: PLC0415
    from hourglass.adapter import HourglassModel  # noqa: PLC0415

    count = len(pd.read_parquet(parameter_sets))
    if count < 2:
        raise HourglassError(f"{parameter_sets}: needs at least 2 parameter sets, has {count}")
    model = HourglassModel(base, every=0, overrides=overrides, parameter_sets=parameter_sets)
    space = Space({"parameter_set": ("int", 0, count - 1)}, source="parameter sets")
    sweep = run_sweep(model, space, "grid", 2, replicates, seed=seed, executor=executor,
                      workers=workers, progress=progress, common_random_numbers=False)
    runs = sweep.runs
    chosen = outcomes or [c for c in sweep.outputs if "@" not in c]
    return decompose(runs, chosen, by="parameter_set", seed=seed), runs
