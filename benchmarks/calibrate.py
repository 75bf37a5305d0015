"""Budget of the default calibration (``hourglass calibrate``): 30 minutes on 2 cores.

Usage::

    .venv/bin/python benchmarks/calibrate.py              # particle cost and seed noise
    .venv/bin/python benchmarks/calibrate.py --full       # + the default calibration, timed
    .venv/bin/python benchmarks/calibrate.py --rejudge DIR   # DIR's accepted on fresh seeds

Part 1 draws ``--particles`` particles from the prior (the calibration's own prior, seeded) and
judges each as the default calibration does (:class:`hourglass.calibration.ParticleModel`: its
``replicates`` runs pooled) in this one process, after one run that loads the compiled code. It
prints the CPU seconds of a run and of a particle, the learners a run counts, and what that
leaves of the budget (2 cores x 30 minutes): how many particles fit, how many generations of the
default's population fit at an acceptance profile, and how many replicates a particle could
have if all of them were to fit. It then judges each particle a second time with another root
seed (other replicates) and compares the two distances: their spread is the seed noise of a
distance, measured, beside the bootstrap estimate the calibration reports
(:func:`hourglass.calibration.distance_sd`).

The two distances of each particle also measure what the targets can tell apart: their
covariance over the particles is the variance of a particle's expected distance over the prior
(the signal an ABC generation selects on; :func:`identification`), printed with a bootstrap
interval beside the share of acceptances the seeds decide at the calibration's cap of runs, the
runs a particle would need for them to decide at most 5 %, and the minutes of both cores a
generation would then take.

With ``--common-seeds`` part 1's particles are judged again on two seed sets that every
particle shares (common random numbers): a set's shift is then common to all distances (and to
an epsilon taken from them), and what is left to decide acceptance is each particle's own
response to the seeds (:func:`common_seeds`), priced the same way.

Part 1 also runs ``--runs`` replicates at the baseline's point values and at two prior draws and
resamples them (bootstrap) to show how the seed SD of a distance falls with the replicates a
particle pools (8 to 128).

Part 3 (``--rejudge DIR``) measures, without a model of the noise, how much the seeds decided
a finished calibration's acceptances: each particle of DIR's posterior generation is judged again
exactly as the calibration judged it (the same replicates rule, against the same final epsilon)
but on a fresh root seed, so on other replicates; the share it now rejects (weighted, with a
Clopper-Pearson interval on the count) is the share of acceptances a fresh set of seeds would
have reversed (the calibration's ``--seeds-decide`` bounds its prediction of it). DIR's
posterior generation is read (``posterior_generation``), at its own epsilon.

Part 2 (``--full``) runs the default calibration (``hourglass calibrate`` with its defaults) on 2
local processes into ``--out`` (default: a temporary directory) and prints its wall time,
generations, particles simulated, epsilons, what stopped it and its seed noise. On a shared
machine other work only adds time, so the measured time is an upper bound of the
calibration's own; the load average is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binomtest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hourglass.adapter import HourglassModel  # noqa: E402
from hourglass.calibration import (  # noqa: E402
    ParticleModel,
    Settings,
    _bounds,
    as_params,
    calibrate,
    minimum_epsilon,
    particle_seeds,
    priced,
    prior_space,
    seed_noise,
)
from hourglass.targets import distance, load_targets, pooled  # noqa: E402

BUDGET_CORE_SECONDS = 2 * 30 * 60
ACCEPTANCE = (1.0, 0.5, 0.35, 0.25, 0.18, 0.13, 0.09, 0.07, 0.05)
"""An acceptance profile for the budget: the prior sample (all kept), then generations whose
rate falls by about 0.7 each (pyabc's median epsilon keeps half of the last generation's
particles; proposals near them are accepted less often as epsilon shrinks). ``--full`` measures
the real one."""


def prior_draws(particles: int, seed: int, bounds: dict) -> list[dict[str, float]]:
    """``particles`` uniform draws from the prior's bounds, seeded (pyabc's parameter names)."""
    rng = np.random.default_rng(seed)
    return [{name.replace(".", "__"): rng.uniform(lo, hi) for name, (lo, hi, _) in
             bounds.items()} for _ in range(particles)]


def particle_cost(particles: int, seed: int, settings: Settings) -> dict[str, float]:
    """CPU seconds per run and per particle, and the seed noise of a distance."""
    bounds = _bounds(prior_space(settings.scale))
    targets = load_targets()
    model = ParticleModel("baseline", bounds, list(targets), settings, seed)
    other = ParticleModel("baseline", bounds, list(targets), settings, seed + 1000)
    draws = prior_draws(particles, seed, bounds)
    model.statistics(as_params(draws[0], bounds))  # compiled code loaded
    cpu, runs, learners, pairs, boot = [], [], [], [], []
    for draw in draws:
        params = as_params(draw, bounds)
        start = time.process_time()
        stats = model.statistics(params)
        cpu.append(time.process_time() - start)
        runs.append(stats["replicates"])
        learners.append(stats["p4_learners"])
        d1, sd = seed_noise(stats, targets)
        d2, _ = seed_noise(other.statistics(params), targets)
        pairs.append((d1, d2))
        boot.append(sd)
    cpu_a, runs_a, d = np.array(cpu), np.array(runs), np.array(pairs)
    measured = float(np.sqrt(np.mean((d[:, 0] - d[:, 1]) ** 2) / 2))
    signal = identification(d, measured, settings)
    return {
        "particles": particles,
        "cpu_per_particle": round(float(cpu_a.mean()), 3),
        "cpu_per_run": round(float(cpu_a.sum() / runs_a.sum()), 4),
        "runs_per_particle": round(float(runs_a.mean()), 1),
        "particles_counting_84_learners": round(float((np.array(learners) >= 84).mean()), 2),
        "learners_per_run": round(float(np.sum(learners) / runs_a.sum()), 2),
        "prior_distance_median": round(float(np.median(d[:, 0])), 2),
        "prior_distance_quartiles": [round(float(q), 2) for q in np.quantile(d[:, 0],
                                                                              [0.25, 0.75])],
        "distance_seed_sd_measured": round(measured, 3),
        "distance_seed_sd_bootstrap_rms": round(float(np.sqrt(np.nanmean(np.square(boot)))),
                                                3),
        **signal,
        # A generation at half acceptance: 2 x population particles at those runs each.
        "minutes_on_2_cores_per_generation_at_replicates_for_5pc": round(
            2 * settings.population * signal["replicates_for_5pc"]
            * float(cpu_a.sum() / runs_a.sum()) / 2 / 60, 1),
    }


def identification(pairs: np.ndarray, seed_sd: float, settings: Settings) -> dict[str, object]:
    """How much of a distance's spread over the prior the parameters explain, and at what cost.

    Two estimates of one particle's distance from independent seeds share only its expected
    distance, so their covariance over particles is the variance of that expectation over the
    prior (the signal an ABC generation selects on); the rest of a distance's spread is the
    seeds'. From them, as the calibration's own ``identification`` computes from its prior
    sample: the share of acceptances at a median epsilon the seeds decide at the calibration's
    cap of runs (:func:`hourglass.calibration.flipped_share`), and the runs a particle would need
    for them to decide at most 5 % (:func:`hourglass.calibration.replicates_for`); 95 %
    intervals from a bootstrap over particles.
    """
    from scipy.stats import bootstrap  # noqa: PLC0415

    def signal_sd(first: np.ndarray, second: np.ndarray, axis: int = -1) -> np.ndarray:
        a = first - first.mean(axis=axis, keepdims=True)
        b = second - second.mean(axis=axis, keepdims=True)
        cov = (a * b).sum(axis=axis) / (first.shape[axis] - 1)
        return np.sqrt(np.maximum(cov, 0.0))

    point = float(signal_sd(pairs[:, 0], pairs[:, 1]))
    interval = bootstrap((pairs[:, 0], pairs[:, 1]), signal_sd, paired=True, vectorized=True,
                         n_resamples=2000, method="percentile",
                         rng=np.random.default_rng(0)).confidence_interval
    low, high = float(interval.low), float(interval.high)
    return {
        "distance_spread_sd_over_the_prior": round(float(np.std(pairs[:, 0], ddof=1)), 3),
        "distance_signal_sd_over_the_prior": round(point, 3),
        "distance_signal_sd_95ci": [round(low, 3), round(high, 3)],
        **priced(point, (low, high), seed_sd, settings, digits=3),
    }


def common_seeds(particles: int, seed: int, settings: Settings) -> dict[str, object]:
    """The same particles as part 1, each judged on two seed sets that every particle shares.

    With common random numbers (every particle's replicates on the same seeds) a seed set moves
    every particle's distance by a shift they share, which a median epsilon of distances from
    the same seeds shares too; what is left to decide acceptance is each particle's own
    response to the seeds (the particle x seed interaction). Its standard deviation is half
    the mean square of the two sets' distances, each centred on its own mean over particles;
    the signal is their covariance, as in part 1; :func:`identification` prices both.
    """
    bounds = _bounds(prior_space(settings.scale))
    targets = load_targets()
    model = HourglassModel("baseline", every=0, overrides=dict(settings.overrides), counts=True)
    draws = prior_draws(particles, seed, bounds)  # part 1's particles
    sets = [particle_seeds(root, {}, settings.replicates) for root in (seed, seed + 1000)]

    def distance_on(params: dict, seeds: list[int]) -> float:
        runs = [model(params, s) for s in seeds]
        return distance({n: pooled(runs, n) for n in targets}, targets)

    pairs = np.array([[distance_on(params, seeds) for seeds in sets]
                      for params in (as_params(draw, bounds) for draw in draws)])
    centred = pairs - pairs.mean(axis=0)
    interaction = float(np.sqrt(np.mean((centred[:, 0] - centred[:, 1]) ** 2) / 2
                                * particles / (particles - 1)))
    shift = float(pairs[:, 0].mean() - pairs[:, 1].mean())
    return {"common_seeds": {
        "particles": particles,
        "shared_shift_between_the_two_seed_sets": round(shift, 3),
        "distance_interaction_sd": round(interaction, 3),
        **identification(pairs, interaction, settings),
    }}


def noise_by_replicates(runs: int, seed: int, settings: Settings) -> dict[str, object]:
    """Seed SD of a distance against the replicates pooled: bootstrap of ``runs`` runs."""
    bounds = _bounds(prior_space(settings.scale))
    targets = load_targets()
    rng = np.random.default_rng(seed + 5)
    sets = [{}] + [as_params({n.replace(".", "__"): rng.uniform(lo, hi)
                              for n, (lo, hi, _) in bounds.items()}, bounds) for _ in range(2)]
    model = HourglassModel("baseline", every=0, overrides=dict(settings.overrides), counts=True)
    boot = np.random.default_rng(seed)
    out: dict[str, object] = {}
    for k, params in enumerate(sets):
        results = [model(params, s) for s in particle_seeds(seed + 7, params, runs)]
        learners = np.array([r["p4_learners"] for r in results])
        row: dict[str, object] = {
            "distance_all_runs": round(distance({n: pooled(results, n) for n in targets},
                                                targets), 2),
            "learners_per_run": round(float(learners.mean()), 2),
            "runs_without_learners": round(float(np.mean(learners == 0)), 2),
        }
        for size in (8, 16, 32, 48, 64, 128):
            values = []
            for _ in range(300):
                sample = [results[i] for i in boot.integers(0, runs, size)]
                values.append(distance({n: pooled(sample, n) for n in targets}, targets))
            row[f"sd_at_{size}"] = round(float(np.std(values, ddof=1)), 2)
        out["point values" if k == 0 else f"prior draw {k}"] = row
    return out


def budget(cost: dict[str, float], settings: Settings) -> dict[str, float]:
    """What 2 cores x 30 minutes buy at this cost, for the default's size."""
    fit = BUDGET_CORE_SECONDS / cost["cpu_per_particle"]
    gens = [settings.population / a for a in ACCEPTANCE[: settings.generations + 1]]
    spent = np.cumsum(gens)
    return {
        "budget_core_seconds": BUDGET_CORE_SECONDS,
        "particles_in_budget": round(fit),
        "generations_in_budget_at_the_profile": int(np.searchsorted(spent, fit)) - 1,
        "simulations_for_all_generations_at_the_profile": round(float(spent[-1])),
        "replicates_affordable_for_all_generations": round(
            BUDGET_CORE_SECONDS / (float(spent[-1]) * cost["cpu_per_run"]), 1),
        "minimum_epsilon": round(minimum_epsilon(load_targets()), 2),
    }


def _rejudge_one(job: tuple) -> tuple[float, float, float]:
    base, bounds, names, settings, root, params, epsilon = job
    targets = {n: t for n, t in load_targets().items() if n in names}
    stats = ParticleModel(base, bounds, names, settings, root).statistics(params, epsilon)
    d, sd = seed_noise(stats, targets)
    return d, sd, stats["replicates"]


def rejudge(folder: Path, workers: int = 2, root_offset: int = 7919) -> dict[str, object]:
    """Judge ``folder``'s posterior generation again on fresh seeds: the share now rejected."""
    meta = json.loads((folder / "calibration.json").read_text())
    settings = Settings(**meta["settings"])
    bounds = _bounds(prior_space(settings.scale))
    generation = int(meta.get("posterior_generation", meta["generations"][-1]["t"]))
    epsilon = float(meta["generations"][generation]["epsilon"])
    frame = pd.read_parquet(folder / "particles.parquet")
    weights = frame.pop("weight").to_numpy(dtype=float)
    root = int(meta["seed"]) + root_offset
    jobs = [(meta["base"], bounds, list(meta["targets"]), settings, root, row, epsilon)
            for row in frame.to_dict("records")]
    start = time.perf_counter()
    with get_context("fork").Pool(workers) as pool:
        judged = np.array(pool.map(_rejudge_one, jobs, chunksize=1), dtype=float)
    rejected = judged[:, 0] > epsilon
    low, high = binomtest(int(rejected.sum()), len(rejected)).proportion_ci(0.95)
    return {
        "calibration": str(folder),
        "generation": generation,
        "epsilon": round(epsilon, 4),
        "particles": len(rejected),
        "rejected_on_fresh_seeds": int(rejected.sum()),
        "rejected_share_weighted": round(float(np.sum(weights * rejected) / weights.sum()), 4),
        "rejected_share_95ci": [round(float(low), 4), round(float(high), 4)],
        "predicted_by_the_epsilon_rule": next(
            (c.get("predicted_rejected_of_accepted") for c in
             meta.get("epsilon_rule", {}).get("chosen", []) if c["t"] == generation), None),
        "rejected_on_new_seeds_by_own_seed_sd": meta.get("seed_noise", {}).get(
            "rejected_on_new_seeds"),
        "replicates_median": float(np.median(judged[:, 2])),
        "wall_minutes": round((time.perf_counter() - start) / 60, 1),
    }


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replicates", type=int, default=None,
                        help="replicates a particle pools (default: the calibration's)")
    parser.add_argument("--runs", type=int, default=150,
                        help="runs per parameter set for the noise curve (0: skip it)")
    parser.add_argument("--common-seeds", action="store_true",
                        help="also judge part 1's particles on seed sets they all share")
    parser.add_argument("--full", action="store_true", help="also time the default calibration")
    parser.add_argument("--skip-cost", action="store_true", help="only the timed calibration")
    parser.add_argument("--out", type=Path, default=None,
                        help="where --full writes (default: a temporary directory)")
    parser.add_argument("--rejudge", type=Path, default=None, metavar="DIR",
                        help="only judge calibration DIR's posterior again on fresh seeds")
    args = parser.parse_args()
    if args.rejudge is not None:
        print(json.dumps(rejudge(args.rejudge), indent=2))
        return
    settings = Settings()
    if args.replicates:
        settings = Settings(**{**settings.__dict__, "replicates": args.replicates})
    if not args.skip_cost:
        load = os.getloadavg()[0]
        cost = particle_cost(args.particles, args.seed, settings)
        cost.update(budget(cost, settings))
        cost.update({"replicates": settings.replicates, "population": settings.population,
                     "load_average_before": round(load, 1),
                     "load_average_after": round(os.getloadavg()[0], 1)})
        print(json.dumps(cost, indent=2), flush=True)
        if args.common_seeds:
            print(json.dumps(common_seeds(args.particles, args.seed, settings), indent=2),
                  flush=True)
        if args.runs:
            print(json.dumps({"distance_seed_sd_by_replicates":
                              noise_by_replicates(args.runs, args.seed, settings)}, indent=2),
                  flush=True)
    if args.full:
        with tempfile.TemporaryDirectory() as tmp:
            out = args.out or Path(tmp) / "cal"
            load = os.getloadavg()[0]
            start = time.perf_counter()
            meta = calibrate(out, settings=settings, seed=args.seed, workers=2,
                             progress=True, command="benchmarks/calibrate.py --full")
            wall = time.perf_counter() - start
        print(json.dumps({"default_calibration_wall_minutes": round(wall / 60, 1),
                          "load_average_start_end": [round(load, 1),
                                                     round(os.getloadavg()[0], 1)],
                          "generations": len(meta["generations"]),
                          "stopped_by": meta["stopped_by"],
                          "particles_simulated": meta["simulations"],
                          "epsilons": [round(g["epsilon"], 2) for g in meta["generations"]],
                          "acceptance": [g["acceptance_rate"] for g in meta["generations"]],
                          "minimum_epsilon": meta["minimum_epsilon"],
                          "seed_noise": meta["seed_noise"],
                          "identification": meta["identification"]}, indent=2))


if __name__ == "__main__":
    main()
