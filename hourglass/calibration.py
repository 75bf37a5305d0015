"""Calibration of the assumption parameters to the report's numbers by ABC-SMC (issue 15 §2).

Approximate Bayesian computation with sequential Monte Carlo (pyabc's ``ABCSMC``; Toni et al.
2009, Klinger et al. 2018): particles are drawn from the prior over the parameters whose source
is "assumption" (:func:`prior_space`; the ones left out, each with its reason:
:func:`not_fitted`), each is judged on a pooled set of replicates, and the tolerance shrinks from
generation to generation only as far as the seeds allow: each epsilon is the smallest at which the
seeds are predicted to decide at most ``seeds_decide`` (5 %) of the verdicts, never below the
median of the last generation's distances (:func:`noise_epsilon`). The distance is in units
of each target's tolerance (:func:`hourglass.targets.distance`), so a particle at distance 1 is
one tolerance (two of the report's standard errors) from the report on one target.

**Replicates.** A particle's statistics are shares of persons pooled over ``replicates`` runs
(each run one initiative of the population the baseline draws). Every particle gets the same
number: a rule that stops once enough learners are counted stops just after a run rich in
learners and biases the pooled shares toward such runs. Each statistic's seed standard error is
estimated from the spread between its replicates (the ratio estimator's linearised variance,
replicates as clusters), and the seed standard deviation of the particle's distance by a
bootstrap over its replicates (:func:`distance_sd`: learners gather in a few initiatives, where
a linear approximation fails); ``calibration.json`` reports how often a fresh set of seeds would
reject an accepted particle (docs/calibration.md).

**Stopping.** After ``generations`` generations; or when the next epsilon could not be 1 %
smaller than the last without the seeds deciding more (seed noise); or when epsilon reaches
:func:`minimum_epsilon` (the distance within which a correct model's expected values fall 95 % of
the time, given the report's sampling error alone: shrinking further would reject correct
parameter values for the report's noise); or when a generation's acceptance rate falls below
``min_acceptance_rate`` (a generation is also abandoned after population / rate simulations);
or before a generation predicted to end past ``walltime_minutes`` (a generation that outruns
its prediction is dropped at the walltime: it is a bound).

**Seeds.** The seeds of a particle's replicates come from its own generator, seeded from the
root seed and the particle's parameter values (``numpy.random.SeedSequence``), so the same
particle gives the same statistics on any worker, in any order, after any resume.

**Resuming.** pyabc keeps every finished generation in an SQLite history (``history.db``);
``calibrate`` on the same directory loads it (``ABCSMC.load``) and runs the generations still
missing, so Ctrl-C or kill -9 loses at most the generation in progress.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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

POSTERIOR_DIR = Path(__file__).with_name("posterior")
"""Where the shipped posterior lives (package data): a default calibration's outputs."""

NOT_FITTED_PREFIXES = {
    "run.": "the observation horizon: a design choice of each experiment (docs/ODD.md, Run "
            "length), not a property of the world the report describes",
    "population.home_organisations": "a size of the simulated population, not of the world",
    "population.peers_per_organisation": "a size of the simulated population, not of the world",
    "population.staff_per_organisation": "a size of the simulated population, not of the world",
    "population.countries": "a size of the simulated population, not of the world",
    "observation.": "a definition of the observer's stages: fitting it would tune the observer "
                    "to the targets, not the world",
    # observation.sustained_months is fitted: since issue 14 §1 it is also a mechanism (a tie
    # of that age lets its peers turn exposure into practical learning).
    "initiative.months": "the length of a fixed initiative (initiative.draw = 'fixed'); the "
                         "baseline draws its initiatives' durations (initiative.duration_*)",
}
"""Assumption parameters left out of the prior on purpose, by key or prefix, with the reason."""

EVEN = {"home_organisations.staff_degree": 2}
"""Whole-number parameters that move in steps of more than one (Watts-Strogatz k is even)."""


@dataclass(frozen=True)
class Settings:
    """How a calibration runs (the default is the one ``benchmarks/calibrate.py`` budgets)."""

    population: int = 50
    generations: int = 8
    replicates: int = 48
    max_replicates: int = 192
    scale: float = 0.5
    walltime_minutes: float = 26.0
    min_acceptance_rate: float = 0.1
    minimum_epsilon: float | None = None
    # Stop once more than this share of a generation's weight is on particles the seeds left
    # undecided at max_replicates runs: a further generation, its epsilon the median of these
    # distances, would select on the seeds more than on the parameters (1: never).
    max_undecided: float = 0.5
    # Stop once a generation's importance weights leave fewer effective particles than this
    # share of the population; the posterior is then the last generation with enough (0: never).
    min_ess: float = 0.5
    # Each generation's epsilon is the smallest at which the seeds are predicted to decide at
    # most this share of the verdicts (:func:`noise_epsilon`), never below the median of the
    # distances of the particles it judges; 1: pyabc's MedianEpsilon, whatever the seeds decide.
    seeds_decide: float = 0.05
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Refuse settings that cannot run, in one line naming the option."""
        for name in ("population", "generations", "replicates", "max_replicates"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise HourglassError(
                    f"calibrate: --{name.replace('_', '-')} must be a whole number >= 1, "
                    f"got {value!r}"
                )
        if self.max_replicates < self.replicates:
            raise HourglassError(
                f"calibrate: --max-replicates must be >= --replicates ({self.replicates}), "
                f"got {self.max_replicates!r}"
            )
        if not 0 < self.scale <= 1:
            raise HourglassError(f"calibrate: --scale must be in (0, 1], got {self.scale!r}")
        if not self.walltime_minutes > 0:
            raise HourglassError(
                f"calibrate: --walltime must be > 0 minutes, got {self.walltime_minutes!r}"
            )
        if not 0 < self.seeds_decide <= 1:
            raise HourglassError(
                f"calibrate: --seeds-decide must be in (0, 1], got {self.seeds_decide!r}"
            )
        if not 0 <= self.min_ess <= 1:
            raise HourglassError(f"calibrate: --min-ess must be in [0, 1], got {self.min_ess!r}")
        if not 0 < self.max_undecided <= 1:
            raise HourglassError(
                f"calibrate: --max-undecided must be in (0, 1], got {self.max_undecided!r}"
            )
        if not 0 <= self.min_acceptance_rate < 1:
            raise HourglassError(
                "calibrate: --min-acceptance-rate must be in [0, 1), got "
                f"{self.min_acceptance_rate!r}"
            )


STOPPING = ("generations", "walltime_minutes", "min_acceptance_rate", "minimum_epsilon",
            "max_undecided", "min_ess")
"""Settings that may change on a resume (stopping rules); the others may not."""

QUICK = Settings(population=8, generations=2, replicates=2, max_replicates=4,
                 walltime_minutes=5.0, min_acceptance_rate=0.0, minimum_epsilon=0.0,
                 max_undecided=1.0, seeds_decide=1.0, min_ess=0.0,
                 overrides={"run.months": 48, "population.home_organisations": 10,
                            "population.staff_per_organisation": 40})
"""The form ``make test`` runs: a tiny population, 8 particles, 2 generations (a test of the
machinery, not a fit: no floor on epsilon, and at 2-4 runs a particle the seeds decide nearly
everything, so no stop on seed noise and pyabc's median epsilon)."""


FITTED_DESPITE_PREFIX = ("observation.sustained_months",)
"""Keys under a left-out prefix that are fitted: they act on the world as well as define a
stage (a tie this old is a sustained contact, and only such a contact turns exposure into
practical learning)."""


def _left_out(name: str) -> str | None:
    if name in FITTED_DESPITE_PREFIX:
        return None
    for prefix, reason in NOT_FITTED_PREFIXES.items():
        if name == prefix or (prefix.endswith(".") and name.startswith(prefix)):
            return reason
    return None


def not_fitted() -> dict[str, str]:
    """Every assumption parameter the prior leaves out, with the reason (issue 15 §2).

    Besides :data:`NOT_FITTED_PREFIXES`: parameters that are not one number (a list per
    learning type, a choice, a flag) cannot be a column of the posterior ensemble, whose columns
    are numeric scenario keys (:func:`hourglass.posterior.check`).
    """
    from simulation import parameter_specs  # noqa: PLC0415

    out = {}
    for name, spec in parameter_specs().items():
        if spec.source != "assumption":
            continue
        reason = _left_out(name)
        if reason is None and spec.kind not in ("float", "int"):
            reason = (f"not one number (kind {spec.kind}): the posterior's columns are numeric "
                      "scenario keys, so it is not fitted")
        if reason is not None:
            out[name] = reason
    return out


def prior_space(scale: float = 0.5) -> Any:
    """The calibrated parameters and their uniform prior ranges.

    Every numeric scenario key whose source is "assumption", except :func:`not_fitted`: over
    default x (1 -+ ``scale``) within its allowed range, or over [0, ``scale`` x its range] when
    the default is 0. Whole numbers over the whole numbers from the floor of the low end to the
    ceiling of the high end (as :func:`hourglass.validation.assumption_space`), even ones
    (:data:`EVEN`) over the even numbers within the range.
    """
    from analysis.space import Space  # noqa: PLC0415
    from simulation import parameter_specs  # noqa: PLC0415

    left_out = not_fitted()
    specs: dict[str, object] = {}
    for name, spec in parameter_specs().items():
        if spec.source != "assumption" or name in left_out:
            continue
        default = float(spec.default)
        if default == 0:
            lo, hi = 0.0, scale * (spec.high - spec.low)
        else:
            lo, hi = default * (1 - scale), default * (1 + scale)
        lo, hi = max(lo, spec.low), min(hi, spec.high)
        if spec.kind == "int":
            step = EVEN.get(name, 1)
            if step == 1:  # the whole numbers around the range, as the assumption space has
                ilo, ihi = math.floor(lo), math.ceil(hi)
            else:  # the multiples of step within it
                ilo, ihi = step * math.ceil(lo / step), step * math.floor(hi / step)
            specs[name] = range(ilo, ihi + 1, step)
        else:
            specs[name] = (lo, hi)
    return Space(specs, source="calibration prior")


def _safe(name: str) -> str:
    return name.replace(".", "__")


def _scenario_key(name: str) -> str:
    return name.replace("__", ".")


def _bounds(space: Any) -> dict[str, tuple[float, float, float]]:
    """Per parameter: prior low, high and step (0: continuous; whole numbers: their step).

    A whole-number parameter is drawn uniform over [first - step/2, last + step/2) and rounded
    to its grid, so each of its values is equally likely.
    """
    out = {}
    for name, factor in space.factors.items():
        if factor.kind == "int":
            values = sorted(factor.values)
            step = float(values[1] - values[0]) if len(values) > 1 else 1.0
            out[name] = (values[0] - step / 2, values[-1] + step / 2, step)
        else:
            out[name] = (float(factor.lo), float(factor.hi), 0.0)
    return out


def as_params(particle: Mapping[str, float], bounds: Mapping[str, tuple]) -> dict[str, Any]:
    """A particle's values as scenario overrides (whole numbers rounded, clipped to the prior)."""
    params: dict[str, Any] = {}
    for safe, value in particle.items():
        name = _scenario_key(safe)
        lo, hi, step = bounds[name]
        if step:
            first, last = lo + step / 2, hi - step / 2
            k = round((float(value) - first) / step)
            params[name] = int(min(max(first + k * step, first), last))
        else:
            params[name] = float(min(max(float(value), lo), hi))
    return params


def to_values(particle: Mapping[str, float], bounds: Mapping[str, tuple]) -> dict[str, float]:
    """A particle in pyabc's coordinates (logits) as values in the prior's ranges.

    pyabc samples each parameter as z ~ Logistic(0, 1), the value being
    lo + (hi - lo) / (1 + exp(-z)): uniform on [lo, hi], as the prior says, but with a density
    that is nowhere zero. On the box itself, pyabc's normal transition kernel proposed almost
    only points outside it in 53 dimensions (0 of 34 inside, 0.3 s each, after generation 0:
    a generation then took most of an hour), and each one outside is drawn again.
    """
    out = {}
    for safe, z in particle.items():
        lo, hi, _ = bounds[_scenario_key(safe)]
        out[safe] = lo + (hi - lo) * 0.5 * (1.0 + math.tanh(float(z) / 2.0))
    return out


def particle_seeds(root: int, params: Mapping[str, Any], count: int) -> list[int]:
    """Seeds of a particle's replicates, from its own generator (root seed x its values)."""
    digest = hashlib.sha256(json.dumps(sorted(params.items())).encode()).digest()
    entropy = [int(root), *np.frombuffer(digest[:16], dtype=np.uint32).tolist()]
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    return rng.integers(0, 2**63 - 1, size=count, dtype=np.int64).tolist()


def pooled_se(runs: list[Mapping[str, float]], name: str) -> float:
    """Seed standard error of a pooled share, from the spread between replicates.

    The pooled share is a ratio of sums, r = sum(y) / sum(n), over replicates that are
    clusters of persons (one run's persons share its initiative and its history). Its
    linearised variance (Cochran 1977, §6.11, with replicates as clusters) is
    R / (R - 1) x sum((y_j - r n_j)^2) / (sum n)^2. NaN with fewer than two replicates or
    nobody counted.
    """
    den = DENOMINATOR[name]
    n = np.array([float(r[den]) for r in runs])
    y = np.array([float(r[name]) * float(r[den]) if float(r[den]) > 0 else 0.0 for r in runs])
    count = len(runs)
    if count < 2 or n.sum() == 0:
        return math.nan
    ratio = y.sum() / n.sum()
    return float(math.sqrt(count / (count - 1) * np.sum((y - ratio * n) ** 2)) / n.sum())


def se_key(name: str) -> str:
    """The statistic holding the seed standard error of target ``name``."""
    return f"se_{name}"


def distance_sd(runs: list[Mapping[str, float]], targets: Mapping[str, Target],
                seed: int, draws: int = 200) -> float:
    """Seed standard deviation of a particle's distance: a bootstrap over its replicates.

    The replicates are resampled with replacement ``draws`` times (a generator of its own,
    seeded by the particle's first seed) and the distance of each resample's pooled statistics
    computed. NaN with fewer than two replicates.
    """
    if len(runs) < 2:
        return math.nan
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, 15, 3]))
    picks = rng.integers(0, len(runs), (draws, len(runs)))
    total = np.zeros(draws)
    for name, target in targets.items():
        # pooled() over each resample at once: a ratio of sums over the persons counted.
        den = np.array([float(r[DENOMINATOR[name]]) for r in runs])
        num = np.array([float(r[name]) * d if d > 0 else 0.0
                        for r, d in zip(runs, den, strict=True)])
        n, y = den[picks].sum(axis=1), num[picks].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            deviation = np.where(n > 0, y / n - target.value, target.worst())
        total += (deviation / target.tolerance) ** 2
    return float(np.std(np.sqrt(total), ddof=1))


class Stopped(SystemExit):
    """The watcher's stop (walltime, seed noise), raised between two of a particle's runs.

    A SystemExit, so that nothing in pyabc's sampling catches it as an error, and a forked
    worker process leaves quietly with :data:`STOPPED_CODE` (the parent then sees a worker
    gone and stops waiting). Raised only while a calibration's watcher asks for the stop.
    """

    def __init__(self) -> None:
        super().__init__(STOPPED_CODE)


STOPPED_CODE = 75
"""Exit code of a worker process that left on the watcher's stop."""


class ParticleModel:
    """pyabc model: a particle's values -> the targets' pooled statistics (picklable).

    Args:
        base: Base scenario.
        bounds: Prior bounds by scenario key (:func:`_bounds`).
        targets: Target names.
        settings: Replicates and fixed overrides.
        seed: Root seed.
        log: A file that gains one line per particle judged (the progress bar counts them;
            pyabc's prior sample computes no distance while it runs), or None.
        stop: A file whose existence asks the calibration to stop (:class:`Stopped` is raised
            before the next run), or None.
    """

    def __init__(self, base: str, bounds: Mapping[str, tuple], targets: list[str],
                 settings: Settings, seed: int, log: str | None = None,
                 stop: str | Path | None = None) -> None:
        self.base = base
        self.bounds = dict(bounds)
        self.targets = list(targets)
        self.settings = settings
        self.seed = int(seed)
        self.log = log
        self.stop = None if stop is None else Path(stop)
        self._loaded: dict[str, Target] | None = None

    def _targets(self) -> dict[str, Target]:
        """The targets, read once per process (not once per particle)."""
        if self._loaded is None:
            self._loaded = {n: t for n, t in load_targets().items() if n in self.targets}
        return self._loaded

    def statistics(self, params: Mapping[str, Any],
                   epsilon: float = math.inf) -> dict[str, float]:
        """Run the particle's replicates; pool the shares; their seed errors and noise.

        Replicates come in batches of ``settings.replicates`` until the particle is decided:
        its distance lies more than :data:`DECIDED_SDS` seed standard deviations from
        ``epsilon`` (so a fresh set of seeds would not change its acceptance), or it has
        ``settings.max_replicates``. Without an epsilon (the prior sample) one batch is run.
        ``undecided`` (1.0) marks a particle still within that band at the cap: the seeds
        decided its acceptance.
        """
        from hourglass.adapter import HourglassModel  # noqa: PLC0415

        model = HourglassModel(self.base, every=0, overrides=dict(self.settings.overrides),
                               counts=True)
        targets = self._targets()
        batch = self.settings.replicates
        cap = max(self.settings.max_replicates, batch)
        # A prefix of the same stream: the first batch is the same whatever the cap.
        seeds = particle_seeds(self.seed, params, cap)
        runs: list[dict[str, float]] = []
        while True:
            for seed in seeds[len(runs):len(runs) + batch]:
                if self.stop is not None and self.stop.exists():
                    raise Stopped
                runs.append(model(params, seed))
            stats = self._pooled(runs, targets, seeds[0])
            undecided = _undecided(stats, targets, epsilon)
            if not undecided or len(runs) >= cap:
                break
        stats["undecided"] = float(undecided)
        if self.log is not None:
            _append_line(self.log, "1\n")
        return stats

    def _pooled(self, runs: list[dict[str, float]], targets: Mapping[str, Target],
                seed: int) -> dict[str, float]:
        stats = {name: pooled(runs, name) for name in self.targets}
        stats.update({se_key(name): pooled_se(runs, name) for name in self.targets})
        stats["distance_sd"] = distance_sd(runs, targets, seed)
        stats["replicates"] = float(len(runs))
        for den in sorted({DENOMINATOR[n] for n in self.targets}):
            stats[den] = float(sum(r[den] for r in runs))
        return stats

    def __call__(self, particle: Mapping[str, float]) -> dict[str, float]:
        """Pyabc's call: a particle in, its statistics out (one batch of replicates)."""
        return self.judge(particle, math.inf)

    def judge(self, particle: Mapping[str, float], epsilon: float) -> dict[str, float]:
        """A particle in (pyabc's logit values), its statistics against ``epsilon`` out."""
        return self.statistics(as_params(to_values(dict(particle), self.bounds), self.bounds),
                               epsilon)


DECIDED_SDS = 2.0
"""A particle is decided when its distance is this many seed standard deviations from epsilon
(a fresh set of seeds would then flip its acceptance less than 2.3 % of the time)."""


def _undecided(stats: Mapping[str, float], targets: Mapping[str, Target],
               epsilon: float) -> bool:
    """Whether seed noise could still decide the particle's acceptance at ``epsilon``."""
    if not math.isfinite(epsilon):
        return False
    d, sd = seed_noise(stats, targets)
    return math.isfinite(sd) and abs(d - epsilon) < DECIDED_SDS * sd


class TargetDistance:
    """pyabc distance: :func:`hourglass.targets.distance` (picklable).

    Args:
        targets: The targets.
        log: A file each distance is appended to as it is computed, with its seed standard
            deviation (one line a simulated particle: the prior sample's give
            :func:`identification`), or None. Written only where its folder exists (a Dask
            worker on another machine writes nothing).
    """

    def __init__(self, targets: Mapping[str, Target], log: str | None = None) -> None:
        self.targets = dict(targets)
        self.log = log
        # What this process measured, in order: (distance, seed SD, runs) of each particle. The
        # main process measures the prior sample's distances, so the epsilon reads them here.
        self.measured: list[tuple[float, float, float]] = []

    def __call__(self, x: Mapping[str, float], _observed: Mapping[str, float]) -> float:
        """Distance of simulated statistics ``x`` to the targets (``_observed`` holds the same)."""
        d, sd = seed_noise(x, self.targets)
        self.measured.append((d, sd, float(x.get("replicates", math.nan))))
        if self.log is not None:
            _append_line(self.log, f"{d:.6g} {float(x.get('distance_sd', math.nan)):.6g} "
                                   f"{float(x.get('replicates', math.nan)):.6g}\n")
        return d


def _append_line(path: str, line: str) -> None:
    if not Path(path).parent.is_dir():
        return
    # One write of a short line with O_APPEND: lines from several processes do not interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def minimum_epsilon(targets: Mapping[str, Target], quantile: float = 0.95) -> float:
    """The distance a correct model's expected values stay within with chance ``quantile``.

    If the model were right, each target's deviation would be the report's sampling error
    alone (a tolerance is two of its standard errors: 0.5 tolerance each), and the distance
    the root of a sum of chi-squares: sqrt(chi2_k(quantile)) / 2 for k targets, computed
    from 400,000 draws of a fixed generator (not the model's: no model run is involved). A
    particle's own seed noise only adds to a correct model's distance, so this floor errs
    toward going on, never toward stopping early.
    """
    rng = np.random.default_rng(np.random.SeedSequence([15, 2, 7]))
    sd = np.full(len(targets), 0.5)
    z = rng.standard_normal((400_000, len(sd))) * sd
    return float(np.quantile(np.sqrt((z**2).sum(axis=1)), quantile))


def seed_noise(stats: Mapping[str, float], targets: Mapping[str, Target]) -> tuple[float, float]:
    """A particle's distance and its seed standard deviation.

    The bootstrap's (``stats["distance_sd"]``, :func:`distance_sd`) when the particle has it;
    otherwise the delta method: with z_i the deviation of target i in tolerances and s_i its
    seed standard error in tolerances, D = sqrt(sum z_i^2) has standard deviation
    sqrt(sum (z_i / D)^2 s_i^2) (a target nobody was counted for, or with one replicate, adds
    no noise).
    """
    d = distance(stats, targets)
    if math.isfinite(float(stats.get("distance_sd", math.nan))):
        return d, float(stats["distance_sd"])
    if d == 0:
        return d, 0.0
    var = 0.0
    for name, target in targets.items():
        value, se = float(stats[name]), float(stats.get(se_key(name), math.nan))
        if math.isnan(value) or math.isnan(se):
            continue
        z = (value - target.value) / target.tolerance
        var += (z / d) ** 2 * (se / target.tolerance) ** 2
    return d, math.sqrt(var)


def _transition(bounds: Mapping[str, tuple]) -> Any:
    """The proposal kernel: one normal kernel per parameter (its density factorises).

    A joint normal kernel needs the particles' covariance in all 53 dimensions, singular with
    fewer particles than parameters (50) and so ill-conditioned with few more that its density
    underflowed to 0 (a division by zero in pyabc's weights). Per parameter, each marginal gets
    its own bandwidth (Silverman's) and the weights stay exact; the kernel no longer follows
    correlations between parameters, which with 6 targets and 53 parameters are weak anyway.
    """
    import pyabc  # noqa: PLC0415

    return pyabc.AggregatedTransition(
        mapping={_safe(n): pyabc.MultivariateNormalTransition() for n in bounds})


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
    for lib in ("pyabc", "numpy", "pandas", "scipy", "mesa", "numba", "pyarrow", "hourglass"):
        try:
            out[lib] = version(lib)
        except Exception:
            out[lib] = "unknown"
    return out


def _git_commit() -> str | None:
    """The checkout's commit, when the package runs from one (the model that was fitted)."""
    import subprocess  # noqa: PLC0415

    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,  # noqa: S607
                          text=True, check=False)
    return done.stdout.strip() or None


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
    ``predictive.parquet`` (each particle's statistics, seed errors and distance),
    ``distances.log`` (every simulated particle's distance, its seed SD and runs, as computed),
    ``epsilons.jsonl`` (how each generation's epsilon was chosen: :func:`noise_epsilon`),
    ``particles.log`` (a line per particle judged: the progress bar's count) and
    ``calibration.json`` (command, prior, targets, settings, library versions, generations and
    their tolerances, seed noise, what is not fitted).

    Returns:
        The provenance written to ``calibration.json``.
    """
    import pyabc  # noqa: PLC0415

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
    # Stopping rules may change on a resume; nothing else may.
    fixed = {k: v for k, v in _settings_dict(settings).items() if k not in STOPPING}
    identity = {"base": base, "seed": int(seed), "settings": fixed,
                "prior": {n: list(b) for n, b in bounds.items()}, "coordinates": "logit",
                "targets": {n: t.__dict__ for n, t in targets.items()}}
    _check_identity(out, identity)
    # Uniform on each range, sampled through logits (to_values): see there why.
    prior = pyabc.Distribution(**{_safe(n): pyabc.RV("logistic", 0, 1) for n in bounds})
    log, ticks = out / "distances.log", out / "particles.log"
    # Local processes stop between runs when this file appears (the watcher writes it); Dask's
    # workers may not see the folder, and there the main thread, which only waits on them, is
    # interrupted instead.
    # The session's own name: a file left by a session killed after its stop is never read (and
    # never deleted: only the session that wrote a stop file removes it).
    stop = None if scheduler is not None else out / stop_file_name()
    model = ParticleModel(base, bounds, list(targets), settings, seed,
                          log=str(ticks.resolve()), stop=stop and stop.resolve())
    observed = {n: t.value for n, t in targets.items()}
    # pyabc draws its particles from NumPy's global generator; seeded, a single-process
    # calibration proposes the same particles again.
    np.random.seed(seed % 2**32)  # noqa: NPY002
    db_file = out / "history.db"
    db = "sqlite:///" + str(db_file.resolve())
    done = _generations_done(db_file)
    from hourglass.abc_model import SequentialModel  # noqa: PLC0415

    measure = TargetDistance(targets, str(log.resolve()))
    eps = _epsilon(settings, measure, db, targets, done)
    abc = pyabc.ABCSMC(SequentialModel(model), prior, measure,
                       population_size=settings.population, transitions=_transition(bounds),
                       sampler=_sampler(workers, scheduler), eps=eps)
    history = abc.load(db, 1) if db_file.exists() else abc.new(db, observed)
    floor = (minimum_epsilon(targets)
             if settings.minimum_epsilon is None else settings.minimum_epsilon)
    # The model this session fits is the commit at its start (HEAD may move while it runs).
    started, commit = time.monotonic(), _git_commit()
    predicted = ""  # why the watcher stopped it mid-run (walltime, seed noise), if it did
    resumed_stop = _resumed_stop(db_file, done, settings, eps)
    if resumed_stop:  # a resume after a stop on the weights or the seeds: it stays stopped
        predicted = resumed_stop
    elif done < settings.generations and not _floor_reached(db_file, floor):
        try:
            history, predicted = _run(abc, settings, done, floor, db_file=db_file, log=log,
                                      ticks=ticks, on_generation=on_generation,
                                      progress=progress, stop=stop,
                                      deadline=started + 60 * settings.walltime_minutes)
        finally:
            if stop is not None:
                stop.unlink(missing_ok=True)
    if history.max_t < 0:
        raise HourglassError(
            f"calibrate: no generation finished in {out} (its first generation needed more "
            f"than population / --min-acceptance-rate = "
            f"{settings.population / max(settings.min_acceptance_rate, 1e-12):.0f} "
            "simulations or --walltime); nothing to write"
        )
    stopped = _stopped_by(history, settings, floor, time.monotonic() - started, predicted)
    # The posterior is the last generation fit to be one (enough effective particles, the seeds
    # not deciding most of its weight); generation 0, the prior's particles, if none is.
    usable = [t for t in range(history.max_t + 1) if not _unusable(db_file, t, settings)]
    return _write(out, history, bounds, targets, settings, seed, command, stopped,
                  time.monotonic() - started, floor, commit, max(usable, default=0))


def _epsilon(settings: Settings, measure: TargetDistance, db: str,
             targets: Mapping[str, Target], done: int) -> Any:
    """The calibration's epsilon schedule (see ``Settings.seeds_decide``)."""
    import pyabc  # noqa: PLC0415

    from hourglass.abc_model import NoiseEpsilon  # noqa: PLC0415

    if settings.seeds_decide < 1:
        # Each generation's epsilon from the last one's particles (a resume's from the history).
        return NoiseEpsilon(measure, str(Path(measure.log).with_name(EPSILONS)),
                            settings.seeds_decide, settings.max_replicates)
    # pyabc starts every run from the initial calibration sample's epsilon; a resumed run
    # starts from the median of the last generation's distances instead.
    return pyabc.MedianEpsilon(initial_epsilon=_last_median(db) if done else "from_sample")


def stop_file_name() -> str:
    """A calibration session's stop file: its own process and a random token in the name.

    The session's watcher writes it in the calibration's folder: the local processes' cue to stop.
    """
    import secrets  # noqa: PLC0415

    return f"stop-{os.getpid()}-{secrets.token_hex(4)}.request"


def _run(abc: Any, settings: Settings, done: int, floor: float, *, db_file: Path, log: Path,
         ticks: Path, on_generation: Callable[[int], None] | None, progress: bool | None,
         stop: Path | None, deadline: float) -> tuple[Any, str]:
    """Run pyabc's generations under the watcher; the history and why the watcher stopped it.

    The watcher stops the run by writing ``stop`` (each particle looks for it before each of
    its runs), or, with no such file (Dask), by a SIGINT to the main thread waiting on the
    workers.
    """
    import multiprocessing  # noqa: PLC0415

    from tqdm.auto import tqdm  # noqa: PLC0415

    bar = tqdm(total=1, desc="calibrate", unit="particle",
               disable=not (sys.stderr.isatty() if progress is None else progress))
    watcher = _Watcher(db_file, log, ticks, bar, abc, settings, done, on_generation,
                       deadline=deadline, stop=stop)
    # One BLAS thread: pyabc's kernel takes an SVD of the particles' covariance for every
    # proposal, and OpenBLAS's threads spin against busy cores (287 ms an SVD of 53 x 53
    # with 2 threads on the loaded machine, 1.7 ms with one). Forked workers inherit it.
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    before = set(multiprocessing.active_children())  # not the session's workers
    try:
        with watcher, _interruptible(stop is None), threadpool_limits(limits=1):
            history = abc.run(max_nr_populations=settings.generations - done,
                              minimum_epsilon=floor,
                              min_acceptance_rate=settings.min_acceptance_rate,
                              max_walltime=timedelta(minutes=settings.walltime_minutes))
    except BaseException as exc:
        return _after_interrupt(exc, abc, watcher, db_file, before), watcher.stopping
    finally:
        bar.close()
    return history, ""


def _after_interrupt(exc: BaseException, abc: Any, watcher: _Watcher, db_file: Path,
                     before: set[Any]) -> Any:
    """The finished generations after the watcher's stop; anything else is raised again.

    The watcher's stop arrives as :class:`Stopped` (a particle in this process), as pyabc's
    ProcessError (a worker process that left on it) or, with Dask, as a KeyboardInterrupt.
    A SIGINT that lands in one of pyabc's database writes surfaces as SQLAlchemy's
    PendingRollbackError with the KeyboardInterrupt as its context; SQLite rolls the write
    back once the session is, so the finished generations are intact either way. ``before``:
    the processes this one had started before the calibration (not its workers).
    """
    from multiprocessing import ProcessError  # noqa: PLC0415

    import pyabc  # noqa: PLC0415

    ours = watcher.stopping and (isinstance(exc, (Stopped, ProcessError)) or _interrupted(exc))
    if not ours and not _interrupted(exc):
        raise exc
    _release(abc)
    if ours and isinstance(exc, ProcessError):
        _await_workers(before)
    if not ours:  # the user's Ctrl-C
        raise KeyboardInterrupt(
            f"the finished generations are kept in {db_file}; the same command "
            "resumes") from None
    # The finished generations, read afresh (the one begun is dropped).
    return pyabc.History("sqlite:///" + str(db_file.resolve()), _id=1)


def _await_workers(before: set[Any], timeout: float = 60.0) -> None:
    """Wait for pyabc's worker processes to leave on the stop file (before it is removed).

    Its workers are the child processes started since the calibration began (``before``: the
    ones there already, left alone). Each leaves before its next run; one still there after
    ``timeout`` (blocked writing to the queue nobody reads now) is terminated: its generation
    is being dropped.
    """
    import multiprocessing  # noqa: PLC0415

    end = time.monotonic() + timeout
    workers = [c for c in multiprocessing.active_children() if c not in before]
    for worker in workers:
        worker.join(max(end - time.monotonic(), 0.0))
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
            worker.join()


@contextmanager
def _interruptible(needed: bool = True) -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in the main thread while a Dask calibration runs.

    A process started in the background by a non-interactive shell (``cmd &`` in a script, CI)
    inherits SIGINT ignored, and then the watcher's stop of a Dask calibration (a SIGINT to
    itself) would do nothing: the run went on past --walltime (seen in a background probe).
    The previous handler is put back afterwards. Local processes stop on the watcher's file
    instead and keep the handler they were given (``needed`` False). Outside the main thread
    nothing changes (pyabc's own walltime, checked after each generation, still bounds the run).
    """
    import signal  # noqa: PLC0415

    if not needed:
        yield
        return
    try:
        before = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was raised while handling, a KeyboardInterrupt."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _stopped_by(history: Any, settings: Settings, floor: float, seconds: float,
                predicted: str) -> str:
    """Which stopping rule ended the calibration."""
    pops = history.get_all_populations()
    pops = pops[pops.t >= 0]
    last = pops.iloc[-1]
    if last.epsilon <= floor:
        return "minimum epsilon"
    if len(pops) >= settings.generations:
        return "generations"
    if settings.min_acceptance_rate and (
            settings.population / last.samples < settings.min_acceptance_rate):
        return "acceptance rate"
    # Seed noise or a generation predicted to end past the walltime (the watcher), after a
    # generation that ended past it (pyabc), or a generation abandoned at population /
    # min_acceptance_rate simulations.
    if predicted:
        return predicted
    if seconds >= 60 * settings.walltime_minutes:
        return "walltime (a generation ended past it)"
    return "acceptance rate (a generation abandoned)"


def _floor_reached(db_file: Path, floor: float) -> bool:
    """Whether the last finished generation's epsilon is already at the floor."""
    import sqlite3  # noqa: PLC0415

    if not db_file.exists():
        return False
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as con:
        try:
            row = con.execute("SELECT epsilon FROM populations WHERE t >= 0 ORDER BY t DESC "
                              "LIMIT 1").fetchone()
        except sqlite3.OperationalError:
            return False
    return row is not None and float(row[0]) <= floor


def _generations_done(db_file: Path) -> int:
    """Generations (t >= 0) finished in a history file (0 if there is none)."""
    return len(_generation_samples(db_file))


def _noise_stop(share: float, t: int) -> str:
    return f"seed noise ({share:.0%} of generation {t}'s weight undecided at the cap of runs)"


def _resumed_stop(db_file: Path, done: int, settings: Settings, eps: Any) -> str:
    """Why a resume after ``done`` generations must not run another, or ""."""
    if not done:
        return ""
    if settings.seeds_decide < 1:  # the epsilon recorded for the next generation, exhausted?
        eps.initialize(done, lambda: None, list, settings.generations, {})
    unusable = _unusable(db_file, done - 1, settings)
    if unusable:
        return unusable
    exhausted = getattr(eps, "exhausted", None)
    return _exhausted_stop(exhausted, settings.seeds_decide) if exhausted is not None else ""


def _unusable(db_file: Path, t: int, settings: Settings, timeout: float = 60.0) -> str:
    """Why generation ``t`` is no posterior (its weights or its seeds), or "" if it is one."""
    ess = effective_size(db_file, t, timeout)
    if ess < settings.min_ess * settings.population:
        return (f"importance weights (generation {t}'s effective sample size {ess:.1f}, below "
                f"{settings.min_ess:g} of the population)")
    share = undecided_share(db_file, t, timeout)
    return _noise_stop(share, t) if share > settings.max_undecided else ""


def effective_size(db_file: Path, t: int, timeout: float = 60.0) -> float:
    """Generation ``t``'s effective sample size, (sum w)^2 / sum w^2 (pyabc's file)."""
    import sqlite3  # noqa: PLC0415

    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=timeout)
    try:
        rows = con.execute(
            "SELECT p.w FROM populations po JOIN models m ON m.population_id = po.id "
            "JOIN particles p ON p.model_id = m.id WHERE po.t = ?", (int(t),)).fetchall()
    finally:
        con.close()
    w = np.array([float(r[0]) for r in rows])
    return float(w.sum() ** 2 / np.sum(w**2)) if len(w) and np.sum(w**2) > 0 else 0.0


def _exhausted_stop(t: int, share: float) -> str:
    return (f"seed noise (generation {t}'s epsilon could not be smaller than generation "
            f"{t - 1}'s with the seeds deciding at most {share:.0%} of verdicts)")


def undecided_share(db_file: Path, t: int, timeout: float = 60.0) -> float:
    """The weighted share of generation ``t``'s particles marked ``undecided`` (pyabc's file).

    pyabc stores each summary statistic as a NumPy array's bytes (``np.save``).
    """
    import io  # noqa: PLC0415
    import sqlite3  # noqa: PLC0415

    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=timeout)
    try:
        rows = con.execute(
            "SELECT p.w, ss.value FROM populations po "
            "JOIN models m ON m.population_id = po.id JOIN particles p ON p.model_id = m.id "
            "JOIN samples s ON s.particle_id = p.id "
            "JOIN summary_statistics ss ON ss.sample_id = s.id "
            "WHERE po.t = ? AND ss.name = 'undecided'", (int(t),)).fetchall()
    finally:
        con.close()
    if not rows:
        return 0.0
    w = np.array([float(r[0]) for r in rows])
    flags = np.array([float(np.load(io.BytesIO(r[1]), allow_pickle=False)) for r in rows])
    return float(np.sum(w * flags) / np.sum(w)) if np.sum(w) > 0 else 0.0


def _generation_samples(db_file: Path, timeout: float = 60.0) -> list[int]:
    """Particles simulated in each finished generation (t >= 0), in order.

    Raises:
        sqlite3.OperationalError: the file stayed locked by a writer for ``timeout`` seconds
            (read as "nothing finished" it once made an interrupted run look empty).
    """
    import sqlite3  # noqa: PLC0415

    if not db_file.exists():
        return []
    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=timeout)
    try:
        rows = con.execute("SELECT nr_samples FROM populations WHERE t >= 0 "
                           "ORDER BY t").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # created, no table yet: nothing finished
            return []
        raise
    finally:
        con.close()
    return [int(r[0]) for r in rows]


def _release(abc: Any) -> None:
    """Roll back and close pyabc's database session after an interrupt.

    A KeyboardInterrupt that lands inside one of pyabc's writes leaves its SQLAlchemy session
    in a transaction that may hold SQLite's lock; until the session is closed every other
    reader of the history (the resumed run, ``_generations_done``) waits on it.
    """
    history = getattr(abc, "history", None)
    session = getattr(history, "_session", None)
    if session is None:
        return
    try:
        session.rollback()
    finally:
        history._close_session()  # pyabc has no public close


def _last_median(db: str) -> float:
    """Weighted median of the last finished generation's distances."""
    import pyabc  # noqa: PLC0415

    history = pyabc.History(db)
    frame = history.get_weighted_distances(t=history.max_t)
    return weighted_median(frame["distance"].to_numpy(), frame["w"].to_numpy())


class _Watcher:
    """A thread that follows the calibration and moves the progress bar.

    The bar counts simulated particles (lines of ``particles.log``). Its total is re-estimated
    as the calibration goes: the generation in progress needs population / its acceptance so
    far (a particle is accepted when its distance is within the generation's epsilon), each
    later one population / an acceptance rate that falls by the last generations' ratio (0.7
    before two are known), and at most what the session's rate fits before the walltime, so
    tqdm's time left follows the rate of the last particles.
    """

    def __init__(self, db_file: Path, log: Path, ticks: Path, bar: Any, abc: Any,
                 settings: Settings, done: int, on_generation: Callable[[int], None] | None,
                 deadline: float = float("inf"), stop: Path | None = None) -> None:
        import threading  # noqa: PLC0415

        self.db_file, self.log, self.ticks, self.bar, self.abc = db_file, log, ticks, bar, abc
        self.stop_file = stop
        self.population, self.generations = settings.population, settings.generations
        self.on_generation = on_generation
        self.deadline = deadline
        self.settings = settings
        self.first = done  # generations finished before this session
        self.started = time.monotonic()
        self.stopping = ""  # why the watcher stopped the run (walltime, seed noise), if it did
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)

    def _epsilon(self, t: int) -> float:
        try:
            value = self.abc.eps(t)
            # Before generation 0's epsilon is computed pyabc holds a placeholder
            # ('from_sample'): not known yet either.
            return math.inf if value is None else float(value)
        except Exception:  # not known yet (the calibration sample is running)
            return math.inf

    def _unusable(self, t: int) -> str:
        """Why generation ``t`` is no posterior (:func:`_unusable`), or "".

        "" if the file stays busy: the rules are then looked at after the next generation.
        """
        import sqlite3  # noqa: PLC0415

        try:
            return _unusable(self.db_file, t, self.settings, timeout=5.0)
        except sqlite3.OperationalError:
            return ""

    def _predicted_rates(self, samples: list[int], count: int) -> list[float]:
        rates = [self.population / s for s in samples if s]
        ratio = min(max(rates[-1] / rates[-2], 0.3), 1.0) if len(rates) > 1 else 0.7
        last = rates[-1] if rates else 0.5 / ratio
        return [last * ratio ** (k + 1) for k in range(count)]

    def _follow(self) -> None:
        import sqlite3  # noqa: PLC0415

        distances = _Lines(self.log)
        particles = _Lines(self.ticks)
        seen = self.first
        # A fresh calibration begins with pyabc's prior sample: population particles, all kept,
        # whose distances pyabc computes together after it (skipped here: not generation 0's).
        calibrating = self.first == 0
        skip = self.population if calibrating else 0
        phase_sims, phase_acc, phase_start = 0, 0, time.monotonic()
        sims_total = 0
        while not self.stop.wait(0.5):
            exhausted = getattr(self.abc.eps, "exhausted", None)
            if exhausted is not None:  # the epsilon has nothing left to select on
                self.stopping = _exhausted_stop(exhausted, self.settings.seeds_decide)
                self._interrupt()
                return
            new = len(particles.read())
            sims_total += new
            phase_sims += new
            if calibrating and phase_sims >= self.population:
                calibrating = False
                phase_sims -= self.population
                phase_start = time.monotonic()
            lines = distances.read()
            dropped = min(skip, len(lines))
            skip -= dropped
            eps = math.inf if calibrating else self._epsilon(seen)
            phase_acc += sum(float(x.split()[0]) <= eps for x in lines[dropped:])
            try:
                samples = _generation_samples(self.db_file, timeout=0.2)
            except sqlite3.OperationalError:  # pyabc is writing: look again next tick
                continue
            if len(samples) > seen:
                now = time.monotonic()
                took, sims = now - phase_start, max(samples[-1], 1)
                seen = len(samples)
                phase_sims, phase_acc, phase_start = 0, 0, now
                if self.on_generation is not None:
                    self.on_generation(seen)
                # The next generation is predicted to need population / its predicted rate
                # simulations at this generation's speed; if it would end past the walltime,
                # stop now (pyabc checks its own walltime only after a generation). A real
                # SIGINT wakes the main thread from waiting on the workers.
                unusable = self._unusable(seen - 1) if seen < self.generations else ""
                if unusable:
                    self.stopping = unusable
                    self._interrupt()
                    return
                rate = self._predicted_rates(samples, 1)[0]
                if (now + took / sims * self.population / rate > self.deadline
                        and seen < self.generations):
                    self.stopping = "walltime (the next generation was predicted to end past it)"
                    self._interrupt()
                    return
            if seen >= 1 and time.monotonic() > self.deadline:
                # A generation that outran its prediction: the walltime is a bound, so it is
                # dropped and the finished ones are written.
                self.stopping = "walltime (the generation in progress passed it and was dropped)"
                self._interrupt()
                return
            self._show(seen, samples, calibrating, phase_sims, phase_acc, sims_total)

    def _interrupt(self) -> None:
        """Ask the calibration to stop: the stop file, or (Dask) SIGINT to this process.

        The file is looked for before each of a particle's runs, so the stop lands between
        runs, never inside a database write or a file being opened (a SIGINT raised its
        KeyboardInterrupt wherever the main thread was: between a file's open and its
        ``with``, or in a garbage-collection callback, where it was swallowed). With Dask the
        main thread only waits on the workers; the SIGINT is sent again each second (at most
        ten times) until the watcher is told to stop, as the main thread leaves the
        calibration's ``with``.
        """
        import signal  # noqa: PLC0415

        if self.stop_file is not None:
            self.stop_file.write_text("stop\n")
            return
        for _ in range(10):
            os.kill(os.getpid(), signal.SIGINT)
            if self.stop.wait(1.0):
                return

    def _show(self, seen: int, samples: list[int], calibrating: bool, phase_sims: int,
              phase_acc: int, sims_total: int) -> None:
        """Move the bar: particles so far, the total re-estimated, the generation's state."""
        # No more generations than the epsilon allows, once that is known (NoiseEpsilon).
        allowed = getattr(self.abc.eps, "expected_generations", None) or self.generations
        left = min(self.generations, allowed) - seen
        rates = self._predicted_rates(samples, max(left, 0))
        if calibrating:
            current = self.population - phase_sims
            future = sum(self.population / r for r in rates)
        elif not rates:  # the last generation is written: nothing left
            current, future = 0.0, 0.0
        else:
            current = ((self.population - phase_acc) * phase_sims / phase_acc if phase_acc
                       else self.population / rates[0] - phase_sims)
            future = sum(self.population / r for r in rates[1:])
        remaining = max(current, 0) + future
        elapsed = time.monotonic() - self.started
        if sims_total and elapsed > 0:  # no more than fit before the walltime stops it
            remaining = min(remaining, sims_total / elapsed
                            * max(self.deadline - time.monotonic(), 0))
        self.bar.total = max(sims_total + round(remaining), sims_total, 1)
        self.bar.n = sims_total
        gen = ("prior sample" if calibrating
               else f"generation {seen + 1} of {min(self.generations, allowed)}")
        eps = self._epsilon(seen) if not calibrating else math.inf
        self.bar.set_postfix_str(
            f"{gen}, accepted {phase_acc}/{self.population} at epsilon {eps:.3g}"
            if not calibrating else gen, refresh=False)
        self.bar.refresh()

    def __enter__(self) -> _Watcher:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


class _Lines:
    """Whole lines appended to a file since the last read (from its size at the start)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def read(self) -> list[bytes]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        cut = chunk.rfind(b"\n") + 1
        self.offset += cut
        return chunk[:cut].splitlines()


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
           seconds: float, floor: float, commit: str | None, generation: int) -> dict[str, Any]:
    import pandas as pd  # noqa: PLC0415 - parsing the command line does not load pandas

    frame, weights = history.get_distribution(m=0, t=generation)
    frame = frame.rename(columns=_scenario_key)
    params = pd.DataFrame([as_params(to_values({_safe(k): v for k, v in row.items()}, bounds),
                                     bounds) for row in frame.to_dict("records")],
                          index=frame.index)
    params = params[list(bounds)]
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
    stats_w, stats = history.get_weighted_sum_stats(t=generation)
    predictive = pd.DataFrame([{k: float(v) for k, v in s.items()} for s in stats])
    noise = [seed_noise(s, targets) for s in stats]
    predictive["distance"] = [d for d, _ in noise]
    predictive["distance_sd"] = [sd for _, sd in noise]
    predictive["weight"] = stats_w
    _atomic_parquet(predictive, out / "predictive.parquet")
    pops = history.get_all_populations()
    db_file = out / "history.db"
    gens = [{"t": int(r.t), "epsilon": float(r.epsilon), "samples": int(r.samples),
             "acceptance_rate": round(settings.population / max(int(r.samples), 1), 4),
             "effective_sample_size": round(effective_size(db_file, int(r.t)), 1)}
            for r in pops.itertuples() if r.t >= 0]
    provenance = {
        "command": command, "base": None, "seed": int(seed),
        "settings": _settings_dict(settings),
        "prior": {n: {"low": lo, "high": hi, "step": step, "whole": bool(step),
                      "distribution": "uniform" if not step else "uniform over the values",
                      "sampled_as": "logit: value = low + (high - low) / (1 + exp(-z)), "
                                    "z ~ Logistic(0, 1)"}
                  for n, (lo, hi, step) in bounds.items()},
        "targets": {n: t.__dict__ for n, t in targets.items()},
        "versions": _versions(),
        "model_commit": commit,
        "generations": gens,
        # The generation the posterior is (the last fit to be one: see calibrate).
        "posterior_generation": int(generation),
        "simulations": int(history.total_nr_simulations),
        "stopped_by": stopped,
        "minimum_epsilon": round(floor, 4),
        # How each epsilon was chosen (noise_epsilon, recorded as it was): from what sample,
        # and the shares of verdicts the seeds were predicted to decide.
        "epsilon_rule": {
            "rule": ("the smallest epsilon at which the seeds are predicted to decide at most "
                     f"{settings.seeds_decide:.0%} of verdicts, not below the median"
                     if settings.seeds_decide < 1 else "the median of the last distances"),
            "chosen": list(recorded_epsilons(out / EPSILONS).values()),
        },
        "seed_noise": _noise_summary(predictive, gens[generation]["epsilon"]),
        "identification": identification(out / "distances.log", settings),
        "seconds_this_session": round(seconds, 1),
        "not_fitted": {**not_fitted(),
                       "simulation/tools.toml effect sizes (one by one)":
                       "fitted in groups: the tool_effects.* multipliers, where the model has "
                       "them (they are scenario keys)"},
    }
    provenance["base"] = json.loads((out / "identity.json").read_text())["base"]
    (out / "calibration.json.tmp").write_text(json.dumps(provenance, indent=2, default=str))
    (out / "calibration.json.tmp").replace(out / "calibration.json")
    return provenance


EPSILONS = "epsilons.jsonl"
"""Beside the history: how each generation's epsilon was chosen (one JSON line each)."""


def recorded_epsilons(path: Path) -> dict[int, dict[str, Any]]:
    """The choices recorded in ``path`` by generation, the last for each (a resume may repeat)."""
    if not path.is_file():
        return {}
    last = {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        last[int(entry["t"])] = entry
    return dict(sorted(last.items()))


def _noise_summary(predictive: pd.DataFrame, epsilon: float) -> dict[str, float]:
    """How much the seeds decide acceptance in the last generation.

    ``rejected_on_new_seeds``: the weighted mean, over its accepted particles, of the chance
    that a fresh set of seeds puts the particle's distance past epsilon (normal, with the
    particle's seed standard deviation).
    """
    from scipy.stats import norm  # noqa: PLC0415

    d = predictive["distance"].to_numpy(dtype=float)
    sd = predictive["distance_sd"].to_numpy(dtype=float)
    w = predictive["weight"].to_numpy(dtype=float)
    w = w / w.sum()
    ok = np.isfinite(sd) & (sd > 0)
    flip = np.where(ok, norm.sf((epsilon - d) / np.where(ok, sd, 1.0)), 0.0)
    return {
        "epsilon": round(float(epsilon), 4),
        "distance_median": round(float(np.median(d)), 4),
        "distance_sd_median": round(float(np.median(sd[ok])), 4) if ok.any() else math.nan,
        "rejected_on_new_seeds": round(float(np.sum(w * flip)), 4),
        "replicates": float(np.median(predictive["replicates"])),
        "replicates_max": float(np.max(predictive["replicates"])),
        "undecided_at_the_cap": (round(float(np.sum(w * predictive["undecided"])), 4)
                                 if "undecided" in predictive else math.nan),
        "learners_median": float(np.median(predictive["p4_learners"])),
    }


FLIPPED_SHARE = 0.05
"""The share of particles whose acceptance the seeds may decide for them not to decide it: what
:func:`identification` prices in replicates."""


def flipped_share(seed_sd: float, signal_sd: float) -> float:
    """Share of particles whose acceptance at a median epsilon the seeds decide.

    With expected distances normal about epsilon with SD ``signal_sd`` and a particle's
    estimate off by normal seed noise of SD ``seed_sd``, the estimate falls on the other side of
    epsilon than the expectation with probability arctan(seed_sd / signal_sd) / pi (two
    correlated normals' signs disagree with probability arccos(rho) / pi).
    """
    if signal_sd <= 0:
        return 0.5
    return math.atan(seed_sd / signal_sd) / math.pi


def replicates_for(share: float, seed_sd: float, replicates: int, signal_sd: float) -> float:
    """Replicates for the seeds to decide at most ``share`` of acceptances (:func:`flipped_share`).

    ``seed_sd`` is the seed SD at ``replicates`` runs; it falls as 1 / sqrt(runs).
    """
    if signal_sd <= 0:
        return math.inf
    ratio = math.tan(math.pi * share)
    return replicates * (seed_sd / (ratio * signal_sd)) ** 2


def _grid(mean: float, signal_sd: float, last: float | None, seed_sd: float
          ) -> tuple[np.ndarray, np.ndarray]:
    """Expected distances mu on a grid, and their weights.

    Normal (``mean``, ``signal_sd``), times the chance of acceptance at ``last`` when the
    particles are the next generation's (proposed around the last generation's posterior).
    """
    from scipy.stats import norm  # noqa: PLC0415

    z = np.linspace(-8.0, 8.0, 3201)
    mu = mean + signal_sd * z
    density = norm.pdf(z)
    if last is not None and seed_sd > 0:
        density = density * norm.cdf((last - mu) / seed_sd)
    return mu, density / density.sum()


def _shares(epsilons: np.ndarray, mean: float, signal_sd: float, seed_sd: float,
            last: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At each of ``epsilons``: P(d <= epsilon), the share the seeds decide, P(d <= epsilon < d').

    Under :func:`seeds_decide_share`'s model, d' a fresh estimate; by quadrature over mu, every
    epsilon at once (without seed noise every verdict is its expected distance's).
    """
    from scipy.stats import norm  # noqa: PLC0415

    if signal_sd <= 0:  # every particle alike: the last acceptance does not change them
        mu, density = np.array([mean]), np.array([1.0])
    else:
        mu, density = _grid(mean, signal_sd, last, seed_sd)
    eps = np.atleast_1d(np.asarray(epsilons, dtype=float))[:, None]
    inside = (norm.cdf((eps - mu[None, :]) / seed_sd) if seed_sd > 0
              else (eps >= mu[None, :]).astype(float))
    decided = np.where(mu[None, :] <= eps, 1.0 - inside, inside)
    return inside @ density, decided @ density, (inside * (1.0 - inside)) @ density


def _verdicts(epsilon: float, mean: float, signal_sd: float, seed_sd: float,
              last: float | None = None) -> tuple[float, float, float]:
    """:func:`_shares` at one epsilon."""
    accepted, decided, rejected = _shares(np.array([epsilon]), mean, signal_sd, seed_sd, last)
    return float(accepted[0]), float(decided[0]), float(rejected[0])


def seeds_decide_share(epsilon: float, mean: float, signal_sd: float, seed_sd: float,
                       last: float | None = None) -> float:
    """Share of the particles judged at ``epsilon`` whose verdict the seeds decide.

    Expected distances mu are normal (``mean``, ``signal_sd``) over the prior, and over the
    particles of a generation proposed after one accepted at ``last`` that normal times the
    chance of acceptance there; a particle's estimate d is mu plus normal seed noise of SD
    ``seed_sd``. The seeds decide a verdict when d and mu fall on different sides of epsilon:
    P(d <= epsilon < mu) + P(mu <= epsilon < d), accepted and rejected particles alike. At a
    median epsilon over the prior it is :func:`flipped_share`'s arctan(seed_sd / signal_sd) /
    pi; far above the median it falls to the few particles near epsilon.
    """
    if seed_sd <= 0:
        return 0.0
    return _verdicts(epsilon, mean, signal_sd, seed_sd, last)[1]


def predicted_rejections(epsilon: float, mean: float, signal_sd: float, seed_sd: float,
                         last: float | None = None) -> float:
    """Share of the particles accepted at ``epsilon`` that a fresh set of seeds would reject.

    P(d <= epsilon < d') / P(d <= epsilon), d' a second estimate with its own seeds, under
    :func:`seeds_decide_share`'s model: what ``benchmarks/calibrate.py --rejudge`` measures by
    judging the accepted particles again.
    """
    if seed_sd <= 0:
        return 0.0
    accepted, _, rejected = _verdicts(epsilon, mean, signal_sd, seed_sd, last)
    return rejected / accepted if accepted > 0 else 1.0


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The weighted median (pyabc's MedianEpsilon: the first value at half the weight)."""
    order = np.argsort(values)
    cum = np.cumsum(np.asarray(weights, dtype=float)[order])
    return float(np.asarray(values, dtype=float)[order][np.searchsorted(cum / cum[-1], 0.5)])


def noise_model(distances: np.ndarray, seed_sds: np.ndarray, runs: np.ndarray, cap: int,
                seed: int = 0) -> dict[str, float]:
    """How the prior sample's particles differ, and how much of it is the seeds'.

    The prior sample is every particle judged on the same runs, not selected on its distance.
    Its expected distances are taken as normal: the mean of the distances, and a signal SD whose
    square is their variance less the mean seed variance (method of moments, as
    :func:`identification`), taken at the upper end of its 95 % bootstrap interval (seeded):
    the larger the spread, the higher the epsilon that keeps the seeds out, so the upper bound
    errs toward keeping them out. The seed SD is the median at the cap of runs (a particle near
    epsilon runs the cap).
    """
    from scipy.stats import bootstrap  # noqa: PLC0415

    d = np.asarray(distances, dtype=float)
    sd = np.asarray(seed_sds, dtype=float)
    ok = np.isfinite(d) & np.isfinite(sd)
    d, sd, n = d[ok], sd[ok], np.asarray(runs, dtype=float)[ok]

    def signal(dist: np.ndarray, noise: np.ndarray, axis: int = -1) -> np.ndarray:
        spread = np.var(dist, axis=axis, ddof=1)
        return np.sqrt(np.maximum(spread - np.mean(np.square(noise), axis=axis), 0.0))

    point = float(signal(d, sd))
    upper = float(bootstrap((d, sd), signal, paired=True, vectorized=True, n_resamples=2000,
                            method="percentile",
                            rng=np.random.default_rng(seed)).confidence_interval.high)
    at_cap = sd * np.sqrt(np.where(np.isfinite(n), n, cap) / cap)
    return {"particles": int(ok.sum()), "mean": float(np.mean(d)),
            "signal_sd_point": point, "signal_sd": max(upper, point),
            "seed_sd_at_cap": float(np.median(at_cap))}


def noise_epsilon(model: Mapping[str, float], share: float, last: float | None = None
                  ) -> tuple[float, dict[str, float]]:
    """The next epsilon: the smallest at which the seeds decide at most ``share`` of verdicts.

    ``model`` is :func:`noise_model` of the prior sample. Generation 0's particles come from
    the prior; a later generation's are proposed around the last one's posterior, the prior
    times the chance of acceptance at ``last`` (:func:`seeds_decide_share`). The epsilon is the
    smallest on a fine grid above which the predicted share stays at most ``share``, and never
    below the median of those particles' distances (no faster than pyabc's median epsilon).

    Returns:
        The epsilon, and the predicted shares at it: of verdicts the seeds decide, of the
        accepted a fresh set of seeds would reject, of the particles accepted; and the median.
    """
    mean, signal, seed = model["mean"], model["signal_sd"], model["seed_sd_at_cap"]
    mu, density = _grid(mean, max(signal, 1e-9), last, seed)
    spread = math.sqrt(float(np.sum(density * (mu - mean) ** 2)) + seed**2)
    top = float(np.sum(density * mu))
    grid = np.linspace(top - 4 * spread, top + 6 * spread, 2001)
    accepted, decided, _ = _shares(grid, mean, signal, seed, last)
    median = float(grid[np.searchsorted(accepted, 0.5)])
    epsilon = median
    if share < 1 and seed > 0:
        bad = np.flatnonzero((grid >= median) & (decided > share))
        epsilon = float(grid[bad[-1] + 1]) if len(bad) and bad[-1] + 1 < len(grid) else \
            float(grid[-1]) if len(bad) else median
    return epsilon, {
        "median": median,
        "predicted_seeds_decide": seeds_decide_share(epsilon, mean, signal, seed, last),
        "predicted_rejected_of_accepted": predicted_rejections(epsilon, mean, signal, seed,
                                                               last),
        "predicted_accepted": _verdicts(epsilon, mean, signal, seed, last)[0],
    }


def priced(signal: float, interval: tuple[float, float], seed_sd: float,
           settings: Settings, digits: int = 4) -> dict[str, Any]:
    """What a signal SD (with its 95 % interval) against a seed SD at ``replicates`` runs costs.

    The share of acceptances at a median epsilon the seeds decide at ``replicates`` and at
    ``max_replicates`` runs (:func:`flipped_share`; the seed SD falls as 1 / sqrt(runs)), and
    the runs a particle would need for them to decide at most :data:`FLIPPED_SHARE`
    (:func:`replicates_for`), each bound of the interval priced alike. Used by
    :func:`identification` and by ``benchmarks/calibrate.py``.
    """
    low, high = interval
    at_cap = seed_sd * math.sqrt(settings.replicates / max(settings.max_replicates,
                                                           settings.replicates))

    def runs(value: float) -> float:
        needed = replicates_for(FLIPPED_SHARE, seed_sd, settings.replicates, value)
        return round(needed) if math.isfinite(needed) else math.inf

    return {
        "seeds_decide_at_replicates": round(flipped_share(seed_sd, signal), digits),
        "seeds_decide_at_max_replicates": round(flipped_share(at_cap, signal), digits),
        "seeds_decide_at_max_replicates_95ci": [round(flipped_share(at_cap, high), digits),
                                                round(flipped_share(at_cap, low), digits)],
        "replicates_for_5pc": runs(signal),
        "replicates_for_5pc_95ci": [runs(high), runs(low)],
    }


def identification(log: Path, settings: Settings) -> dict[str, Any]:
    """Whether the targets tell the prior's particles apart beyond the seeds' noise.

    A fresh calibration's first ``population`` particles are pyabc's prior sample, each judged
    on ``replicates`` runs; ``distances.log`` holds their distances and seed standard deviations
    (bootstrap, :func:`distance_sd`). Their spread has two parts: how far the particles'
    expected distances lie apart (the signal that ABC selects on) and the seeds' noise. By the
    method of moments, signal variance = variance of the distances - mean seed variance. From
    them: the share of acceptances the seeds decide (:func:`flipped_share`) at ``replicates``
    and at ``max_replicates`` runs, and the runs a particle would need for them to decide at
    most :data:`FLIPPED_SHARE` (:func:`replicates_for`); each with a 95 % percentile interval
    from a seeded bootstrap over the prior sample's particles. NaN when the log lacks the prior
    sample or its seed SDs (a calibration begun before they were logged).
    """
    keys = ("prior_sample", "distance_spread_sd", "seed_sd_rms", "signal_sd", "signal_sd_95ci",
            "signal_share", "seeds_decide_at_replicates", "seeds_decide_at_max_replicates",
            "seeds_decide_at_max_replicates_95ci", "replicates_for_5pc",
            "replicates_for_5pc_95ci")
    empty: dict[str, Any] = dict.fromkeys(keys, math.nan)
    lines = log.read_text().splitlines()[: settings.population] if log.is_file() else []
    rows = [line.split() for line in lines]
    if len(rows) < max(settings.population, 3) or any(len(r) < 2 for r in rows):
        return empty
    d = np.array([float(r[0]) for r in rows])
    sd = np.array([float(r[1]) for r in rows])
    ok = np.isfinite(d) & np.isfinite(sd)
    if ok.sum() < 3:
        return empty
    from scipy.stats import bootstrap  # noqa: PLC0415

    def signal_sd(dist: np.ndarray, seed_sd: np.ndarray, axis: int = -1) -> np.ndarray:
        spread = np.var(dist, axis=axis, ddof=1)
        return np.sqrt(np.maximum(spread - np.mean(np.square(seed_sd), axis=axis), 0.0))

    spread = float(np.var(d[ok], ddof=1))
    noise = math.sqrt(float(np.mean(np.square(sd[ok]))))
    signal = float(signal_sd(d[ok], sd[ok]))
    # A 50-particle prior sample estimates the signal roughly: a bootstrap over its particles.
    low, high = (float(x) for x in bootstrap(
        (d[ok], sd[ok]), signal_sd, paired=True, vectorized=True, n_resamples=2000,
        method="percentile", rng=np.random.default_rng(0)).confidence_interval)
    return {
        "prior_sample": int(ok.sum()),
        "distance_spread_sd": round(math.sqrt(spread), 4),
        "seed_sd_rms": round(noise, 4),
        "signal_sd": round(signal, 4),
        "signal_sd_95ci": [round(low, 4), round(high, 4)],
        "signal_share": round(signal**2 / spread, 4) if spread > 0 else math.nan,
        **priced(signal, (low, high), noise, settings),
    }


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def shipped_posterior() -> Path | None:
    """The posterior ensemble shipped with the package (``hourglass/posterior/``), or None.

    A default calibration's ``posterior.parquet`` (equally weighted parameter sets, one a row,
    columns numeric scenario keys), with its ``calibration.json`` (command, prior, targets,
    library versions, generations) beside it; None when the package ships none.
    """
    path = POSTERIOR_DIR / "posterior.parquet"
    return path if path.is_file() else None


SHIPPED = ("posterior.parquet", "particles.parquet", "predictive.parquet", "calibration.json")
"""What :func:`ship` copies into the package: the ensemble and what it came from."""
FIGURES = ("prior_posterior.png", "pairs.png", "predictive.png")


def ship(source: str | Path, dest: str | Path = POSTERIOR_DIR,
         figures: str | Path | None = None) -> list[Path]:
    """Make a finished calibration the package's default posterior (``make calibration``).

    Copies :data:`SHIPPED` from ``source`` into ``dest`` (package data) and, with ``figures``,
    its figures as ``calibration-<name>.png`` there (docs/figures). Each file is written beside
    its target and renamed into place.

    Raises:
        HourglassError: ``source`` lacks one of the files (one line naming it), before any copy.
    """
    import shutil  # noqa: PLC0415

    source, dest = Path(source), Path(dest)
    wanted = [(source / n, dest / n) for n in SHIPPED]
    if figures is not None:
        wanted += [(source / n, Path(figures) / f"calibration-{n}") for n in FIGURES]
    missing = [str(a) for a, _ in wanted if not a.is_file()]
    if missing:
        raise HourglassError(f"ship: {missing[0]} is missing (run hourglass calibrate --out "
                             f"{source} to the end first)")
    done = []
    for a, b in wanted:
        b.parent.mkdir(parents=True, exist_ok=True)
        tmp = b.with_name(b.name + ".tmp")
        shutil.copyfile(a, tmp)
        tmp.replace(b)
        done.append(b)
    return done


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
