"""The default Sobol' analysis against its target of 10 minutes on 2 cores.

"The default analysis" is ``hourglass sensitivity`` with every option at its default (base
samples N, replicates, Morris trajectories, the space, the parameter sets it runs over: the
shipped posterior when there is one, else the point defaults it falls back to), so a change of
default is measured as it is. The target concerns the Sobol' part; the Morris runs the command
adds by default are reported beside it.

The whole analysis takes tens of minutes of both cores, which a shared machine cannot give
without slowing everyone else, so by default it is EXTRAPOLATED from measured fractions:

1. The command itself runs at two small N (``--probes``, default 16 and 64) with everything else
   at its default except ``--trajectories 0``, each in a fresh process on ``--workers`` (2)
   processes, into a temporary folder. The command prints its own timings: the Sobol' runs, all
   runs (with the parameter sets' own runs, when it runs over an ensemble: a number that does
   not grow with N), and everything (with indices and their bootstrap intervals, convergence,
   time-resolved indices and figures: the report).
2. The number of runs is read from the probes' stores (design rows x replicates), so the design
   is the command's own (with the parameter set as a factor over an ensemble); rows grow in
   proportion to N. Each phase is fitted as ``a + b * runs`` through the two probes, and the
   default's Sobol' runs are priced with ``b`` at the load measured during the probes.
3. A LOWER BOUND for 2 idle cores: the CPU seconds of one run, measured in a fresh
   single-threaded process re-running ``--rows`` design rows of the larger probe's store, spread
   evenly over the whole design (their parameters and seeds, through the store's own model),
   the least disturbed of ``--repeats`` passes; times the default's runs over 2 processes, plus
   the larger probe's start-up, parameter-set runs and report (the report's work grows with N,
   so a lower bound). The rows are spread because a run's cost depends on where it is: over the
   posterior the parameter set is a factor, and the first rows of a Saltelli design hold only
   its first two or three base points (13 + 2 rows each), so two or three parameter sets.

``--full`` runs the whole default command instead and prints the time measured.

Usage: ``python benchmarks/sobol.py [--probes 16 64] [--workers 2] [--rows 32] [--full]``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 600.0
TIMINGS = re.compile(
    r"time this session: Sobol' runs ([\d.]+) s, all runs ([\d.]+) s, everything ([\d.]+) s"
)
SINGLE_THREADED = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

# A fresh process: rows spread evenly over a probe's Sobol' design run again as the sweep ran
# them (the store's model, each run's parameters and seed, in run order).
_CHILD = """
import json, time
import numpy as np
from analysis.sweep import load_sweep
from hourglass.adapter import HourglassModel
sweep = load_sweep({store!r})
identity = sweep.manifest["identity"]["model"]
model = HourglassModel(identity["base"], every=identity["every"],
                       overrides=identity["overrides"], counts=identity.get("counts", False),
                       parameter_sets=identity.get("parameter_sets"))
picked = np.unique(np.linspace(0, sweep.design.rows - 1,
                               min({rows}, sweep.design.rows)).round().astype(int))
params = sweep.params(picked)  # the seed's column, if any, is the run's seed, not a key
seeds = dict(zip(sweep.results["run_id"], sweep.results["seed"]))
runs = [(values, int(seeds[row * sweep.replicates + replicate]))
        for row, values in zip(picked, params) for replicate in range(sweep.replicates)]
model(*runs[0])  # compiled code in
best = float("inf")
for _ in range({repeats}):
    start = time.process_time()
    for values, seed in runs:
        model(values, seed)
    best = min(best, time.process_time() - start)
print(json.dumps(best / len(runs)))
"""


def run_cpu(store: Path, rows: int, repeats: int) -> float:
    """CPU seconds of one run of a store's design in a fresh single-threaded process."""
    code = _CHILD.format(store=str(store), rows=rows, repeats=repeats)
    out = subprocess.run(  # noqa: S603 - our own interpreter on our own code
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **SINGLE_THREADED},
    )
    return float(out.stdout.strip().splitlines()[-1])


def hourglass_command() -> list[str]:
    """The installed ``hourglass`` script beside this Python, else ``python -m hourglass.cli``."""
    script = Path(sys.executable).with_name("hourglass")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "hourglass.cli"]


def defaults() -> argparse.Namespace:
    """``hourglass sensitivity``'s options with nothing given (its parser's defaults)."""
    from hourglass.commands import sensitivity  # noqa: PLC0415 - the command measured

    parser = argparse.ArgumentParser()
    sensitivity.add_parser(parser.add_subparsers())
    return parser.parse_args(["sensitivity"])


def probe(samples: int, workers: int, folder: Path, trajectories: int = 0) -> dict:
    """Run the default command at ``samples`` (no Morris): its timings, CPU and design."""
    from analysis.sweep import load_sweep  # noqa: PLC0415

    out = folder / f"n{samples}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - the hourglass command of this environment
        [
            *hourglass_command(),
            "sensitivity",
            "--samples",
            str(samples),
            "--trajectories",
            str(trajectories),
            "--workers",
            str(workers),
            "--no-progress",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **SINGLE_THREADED},
        cwd=folder,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = TIMINGS.search(done.stdout)
    if found is None:
        raise SystemExit(f"hourglass sensitivity printed no timings:\n{done.stdout[-2000:]}")
    sobol_s, runs_s, everything_s = (float(x) for x in found.groups())
    sweep = load_sweep(out / "runs" / "sobol")
    return {
        "wall": wall,  # the whole process: start-up and imports included
        "sobol": sobol_s,
        "others": runs_s - sobol_s,  # the parameter sets' own runs (and Morris, if asked)
        "report": everything_s - runs_s,
        "fixed": wall - everything_s,  # start-up, imports and checks before the runs
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "load": (load + os.getloadavg()[0]) / 2,
        "runs": sweep.n_runs,
        "rows_per_n": sweep.design.rows / samples,
        "factors": sweep.space.dim,
        "store": out / "runs" / "sobol",
        "sets": done.stdout.splitlines()[0],
    }


def line(x: tuple[float, float], y: tuple[float, float]) -> tuple[float, float]:
    """Intercept and slope of the line through two points."""
    slope = (y[1] - y[0]) / (x[1] - x[0])
    return y[0] - slope * x[0], slope


def minutes(seconds: float) -> str:
    """``1234 s (20.6 min)``."""
    return f"{seconds:.0f} s ({seconds / 60:.1f} min)"


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--probes",
        type=int,
        nargs=2,
        default=(16, 64),
        metavar="N",
        help="the two small N measured (powers of 2; default 16 64)",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument(
        "--rows", type=int, default=32, help="design rows of the per-run CPU measure (default 32)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="passes of the per-run CPU measure; the least disturbed counts (default 3)",
    )
    parser.add_argument(
        "--full", action="store_true", help="run the whole default analysis instead"
    )
    args = parser.parse_args()
    default = defaults()
    # No --replicates: the seed is a factor of the design, one run a row.
    per_row = default.replicates or 1
    print(
        f"default analysis: Sobol' N={default.samples} x "
        + (f"{default.replicates} replicates" if default.replicates else
           "one run a row (the seed a factor)")
        + f", Morris {default.trajectories} trajectories; {args.workers} processes, "
        f"{os.cpu_count()} cores"
    )

    with tempfile.TemporaryDirectory() as folder:
        if args.full:
            whole = probe(default.samples, args.workers, Path(folder), default.trajectories)
            print(whole["sets"])
            print(
                f"MEASURED whole default analysis ({whole['runs']:,} Sobol' runs): "
                f"{minutes(whole['wall'])} wall (Sobol' runs {whole['sobol']:.0f} s, other runs "
                f"{whole['others']:.0f} s, report {whole['report']:.0f} s), "
                f"{whole['cpu']:.0f} CPU-s, load {whole['load']:.1f}: Sobol' part "
                f"{(whole['wall'] - whole['others']) / TARGET_SECONDS:.2f} x the 10-minute target"
            )
            return
        small, large = (probe(n, args.workers, Path(folder)) for n in args.probes)
        each = run_cpu(large["store"], args.rows, args.repeats)
    print(large["sets"])
    for n, found in zip(args.probes, (small, large), strict=True):
        print(
            f"probe N={n}: {found['runs']:,} Sobol' runs in {found['sobol']:.1f} s, other runs "
            f"{found['others']:.1f} s, report {found['report']:.1f} s, start-up "
            f"{found['fixed']:.1f} s; {found['cpu']:.1f} CPU-s in all processes; load average "
            f"{found['load']:.1f}"
        )
    sobol_runs = round(large["rows_per_n"] * default.samples) * per_row
    morris_runs = default.trajectories * (large["factors"] + 1) * per_row
    print(
        f"default design: {sobol_runs:,} Sobol' runs ({large['factors']} factors); Morris "
        f"{morris_runs:,} runs"
    )
    runs = (small["runs"], large["runs"])
    sobol_fixed, sobol_each = line(runs, (small["sobol"], large["sobol"]))
    report_fixed, report_each = line(runs, (small["report"], large["report"]))
    report = max(large["report"], report_fixed + report_each * sobol_runs)
    here = large["fixed"] + sobol_fixed + sobol_each * sobol_runs + large["others"] + report
    print(
        f"fitted through the probes: {sobol_each * 1000:.2f} ms wall per run on "
        f"{args.workers} processes ({1 / sobol_each:.0f} runs/s)"
    )
    print(
        f"default Sobol' analysis, EXTRAPOLATED at this load: {minutes(here)}: "
        f"{here / TARGET_SECONDS:.2f} x the 10-minute target"
    )
    idle_runs = each * sobol_runs / args.workers
    idle = large["fixed"] + idle_runs + large["others"] + large["report"]
    print(
        f"one run of the default design: {each * 1000:.2f} CPU-ms ({args.rows} rows spread over "
        f"the design x "
        f"{per_row} run(s) a row, best of {args.repeats} passes, fresh process)"
    )
    print(
        f"default Sobol' analysis on {args.workers} idle cores, LOWER BOUND: {minutes(idle)} "
        f"(runs {idle_runs:.0f} s, start-up {large['fixed']:.0f} s, parameter sets' runs "
        f"{large['others']:.0f} s, report at least {large['report']:.0f} s): "
        f"{idle / TARGET_SECONDS:.2f} x the 10-minute target"
        + (" (NOT met)" if idle > TARGET_SECONDS else "")
    )
    print(
        f"Morris (the command's default {default.trajectories} trajectories) adds at least "
        f"{each * morris_runs / args.workers:.0f} s on {args.workers} idle cores"
    )


if __name__ == "__main__":
    main()
