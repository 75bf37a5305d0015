"""Budget of the default calibration (``hourglass calibrate``): 30 minutes on 2 cores.

Usage::

    .venv/bin/python benchmarks/calibrate.py              # particle cost at prior draws
    .venv/bin/python benchmarks/calibrate.py --full       # + the default calibration, timed

Part 1 draws ``--particles`` particles from the prior (the calibration's own prior, seeded) and
judges each as the calibration does (:class:`hourglass.calibration.ParticleModel`: replicates
until 168 practical learners or 40 runs) in this one process, after one run that loads the
compiled code. It prints the CPU seconds of a run and of a particle, the runs a particle needs,
and what that leaves: how many particles fit in 2 cores x 30 minutes, the acceptance rate the
default (100 particles x 6 generations) then needs, and how many replicates a particle could have
at the default's size if its acceptance rate were 1/3.

Part 2 (``--full``) runs the default calibration on 2 local processes into a temporary
directory and prints its wall time, generations and particles simulated. On a shared machine
other work only adds time, so the measured time is an upper bound of the calibration's own.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hourglass.calibration import (  # noqa: E402
    ParticleModel,
    Settings,
    _bounds,
    as_params,
    calibrate,
    prior_space,
)
from hourglass.targets import load_targets  # noqa: E402

BUDGET_CORE_SECONDS = 2 * 30 * 60


def particle_cost(particles: int, seed: int) -> dict[str, float]:
    """CPU seconds per run and per particle at ``particles`` prior draws."""
    settings = Settings()
    bounds = _bounds(prior_space(settings.scale))
    targets = list(load_targets())
    model = ParticleModel("baseline", bounds, targets, settings, seed)
    rng = np.random.default_rng(seed)
    draws = [{name.replace(".", "__"): rng.uniform(lo, hi) for name, (lo, hi, _) in
              bounds.items()} for _ in range(particles)]
    model.statistics(as_params(draws[0], bounds))  # compiled code loaded
    cpu, runs, learners = [], [], []
    for draw in draws:
        start = time.process_time()
        stats = model.statistics(as_params(draw, bounds))
        cpu.append(time.process_time() - start)
        runs.append(stats["replicates"])
        learners.append(stats["p4_learners"])
    cpu_a, runs_a = np.array(cpu), np.array(runs)
    return {
        "particles": particles,
        "cpu_per_particle": float(cpu_a.mean()),
        "cpu_per_run": float(cpu_a.sum() / runs_a.sum()),
        "runs_per_particle": float(runs_a.mean()),
        "share_reaching_min_learners": float((np.array(learners) >= settings.min_learners).mean()),
        "learners_per_run": float(np.sum(learners) / runs_a.sum()),
    }


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="also time the default calibration")
    args = parser.parse_args()
    cost = particle_cost(args.particles, args.seed)
    settings = Settings()
    fit = BUDGET_CORE_SECONDS / cost["cpu_per_particle"]
    needed = settings.population * settings.generations
    cost.update({
        "budget_core_seconds": BUDGET_CORE_SECONDS,
        "particles_in_budget": round(fit),
        "default_accepted_particles": needed,
        "acceptance_rate_needed": round(needed / fit, 3),
        "replicates_affordable_at_acceptance_1_3": round(
            BUDGET_CORE_SECONDS / (needed * 3 * cost["cpu_per_run"]), 1),
    })
    print(json.dumps(cost, indent=2))
    if args.full:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            meta = calibrate(Path(tmp) / "cal", settings=settings, seed=args.seed, workers=2,
                             progress=True, command="benchmarks/calibrate.py --full")
            wall = time.perf_counter() - start
        print(json.dumps({"default_calibration_wall_minutes": round(wall / 60, 1),
                          "generations": len(meta["generations"]),
                          "stopped_by": meta["stopped_by"],
                          "particles_simulated": meta["simulations"],
                          "epsilons": [round(g["epsilon"], 2) for g in meta["generations"]]},
                         indent=2))


if __name__ == "__main__":
    main()
