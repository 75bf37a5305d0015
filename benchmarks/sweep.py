"""Sweep throughput on the Hourglass baseline: serial vs 2 local processes vs 2 Dask workers.

Usage::

    .venv/bin/python benchmarks/sweep.py                 # fixed LHS workload, 3 executors
    .venv/bin/python benchmarks/sweep.py --sobol-full    # + the default Sobol' analysis time

The workload is an LHS over every lever and tool group (hourglass/spaces/levers.toml) of the
full baseline scenario. Each timing covers one ``run_sweep`` call (process-pool start-up
included; the Dask cluster is started before timing and its start-up printed apart).
Each executor is timed ``--repeat`` times and the fastest counts, as with ``timeit``:
other work on a shared machine only ever adds time. Results are checked bit-identical
across executors. ``--sobol-full`` measures a Sobol' sweep of the same space at a small N
on 2 processes and extrapolates linearly in the number of runs to N=1024 x 10 replicates
(labelled as extrapolated); with ``--sobol-measure`` it times the default analysis itself
(``hourglass sensitivity`` without Morris: every run, then indices and figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.executors import local_cluster  # noqa: E402
from analysis.sweep import run_sweep  # noqa: E402
from hourglass import cli  # noqa: E402
from hourglass.adapter import HourglassModel, lever_space  # noqa: E402


def _load_model(model) -> None:
    """Import the model and run it once (loads its compiled loops)."""
    model({}, 0)


def timed(label, model, space, args, executor, workers=None):
    """Time ``args.repeat`` identical sweeps; report the fastest, print every one."""
    took = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        sweep = run_sweep(model, space, "lhs", args.samples, args.replicates, seed=args.seed,
                          executor=executor, workers=workers, progress=False)
        took.append(time.perf_counter() - start)
    best = min(took)
    rate = sweep.n_runs / best
    each = ", ".join(f"{t:.2f}" for t in took)
    print(f"{label:<28} {sweep.n_runs:>6} runs  {best:8.2f} s  {rate:8.2f} runs/s   ({each} s)")
    return rate, sweep.runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples", type=int, default=2000,
        help="LHS points (default 2000: 4000 runs, a small sweep; worker start-up, about 1 s,"
             " is then a few per cent of the processes timing)",
    )
    parser.add_argument("--replicates", type=int, default=2, help="replicates (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--repeat", type=int, default=2,
        help="timings per executor; the fastest counts (default 2: the machine is shared)",
    )
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--sobol-full", action="store_true",
                        help="also time the default Sobol' analysis (N=1024, 10 replicates)")
    parser.add_argument("--sobol-measure", action="store_true",
                        help="with --sobol-full: run the whole analysis instead of extrapolating")
    parser.add_argument("--sobol-out", default="results/sensitivity",
                        help="with --sobol-measure: report directory (default results/sensitivity,"
                             " where `hourglass sensitivity` writes)")
    parser.add_argument("--sobol-probe", type=int, default=16,
                        help="N of the measured Sobol' fraction (default 16)")
    args = parser.parse_args()

    space = lever_space()
    model = HourglassModel(args.scenario)
    print(f"workload: LHS {args.samples} x {args.replicates} replicates of '{args.scenario}', "
          f"{space.dim} factors; {os.cpu_count()} cores")
    serial, runs = timed("serial", model, space, args, "serial")
    procs, runs_p = timed("processes (2 workers)", model, space, args, "processes", 2)
    start = time.perf_counter()
    client = local_cluster(n_workers=2)
    # A long-lived cluster has its workers' imports and compiled code loaded after its first
    # task; load them now, as part of the start-up timed apart.
    client.run(_load_model, model)
    print(f"{'(dask cluster start-up)':<28} {'':>6}       {time.perf_counter() - start:8.2f} s")
    try:
        dask, runs_d = timed("dask LocalCluster (2)", model, space, args, client)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    pd.testing.assert_frame_equal(runs, runs_p, check_exact=True)
    pd.testing.assert_frame_equal(runs, runs_d, check_exact=True)
    print("results bit-identical across serial, processes and dask: yes")
    print(f"speed-up on 2 workers: processes {procs / serial:.2f}, dask {dask / serial:.2f}")

    if args.sobol_full:
        n_full, r_full = 1024, 10
        full_runs = n_full * (space.dim + 2) * r_full
        if args.sobol_measure:
            # The default analysis itself: `hourglass sensitivity` without Morris, i.e. the
            # Sobol' sweep into its resumable store, then indices, convergence, time-resolved
            # indices and figures. A later `hourglass sensitivity` reuses the finished store.
            out = Path(args.sobol_out)
            start = time.perf_counter()
            status = cli.main(["sensitivity", args.scenario, "--trajectories", "0",
                               "--workers", "2", "--seed", str(args.seed), "--out", str(out)])
            took = time.perf_counter() - start
            if status:
                raise SystemExit(status)
            print(f"default Sobol' analysis (N=1024, 10 replicates, {full_runs} runs, with "
                  f"indices and figures) on 2 processes: measured {took:.0f} s "
                  f"({took / 60:.1f} min; target 30 min)")
            return
        n, r = args.sobol_probe, 2
        start = time.perf_counter()
        sweep = run_sweep(model, space, "sobol", n, r, seed=args.seed, executor="processes",
                          workers=2, progress=True)
        took = time.perf_counter() - start
        estimate = took / sweep.n_runs * full_runs
        print(f"measured: Sobol' N={n} x {r} replicates = {sweep.n_runs} runs on 2 processes "
              f"in {took:.1f} s ({sweep.n_runs / took:.1f} runs/s)")
        print(f"default Sobol' analysis (N=1024, 10 replicates, {full_runs} runs) on "
              f"2 processes: EXTRAPOLATED {estimate:.0f} s ({estimate / 60:.1f} min; "
              "--sobol-measure runs it all)")


if __name__ == "__main__":
    main()
