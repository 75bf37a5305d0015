"""The default Sobol' analysis against its target of 10 minutes on 2 cores.

"The default analysis" is ``hourglass sensitivity`` with every option at its default, read from
the command's own parser (base samples N, replicates, Morris trajectories, the space file), so a
change of default is measured as it is. The target concerns the Sobol' part; the Morris runs the
command adds by default are reported beside it.

The whole analysis takes tens of minutes of both cores, which a shared machine cannot give
without slowing everyone else, so by default it is EXTRAPOLATED from measured fractions:

1. The command itself runs at two small N (``--probes``, default 16 and 64) with everything else
   at its default except ``--trajectories 0``, each in a fresh process on ``--workers`` (2)
   processes, into a temporary folder. The command prints its own timings: the Sobol' runs, and
   everything (runs, indices with their bootstrap intervals, convergence, time-resolved indices
   and figures); the report is everything minus the runs.
2. Each phase is fitted as ``a + b * runs`` through the two probes (a: pool start-up and fixed
   costs; b: the cost of one more run, wall on the workers and CPU of all processes, read from
   the children's resource usage). The number of runs of a design is the engine's own
   (``analysis.designs.make_design``), times the replicates.
3. The default's runs are priced with ``b``; its report with the report's own fit (its work
   grows with N: bootstrap resamples and convergence steps).

Two extrapolations are printed: the wall time on this machine at the load measured during the
probes, and a LOWER BOUND for 2 idle cores: the CPU seconds of one run, measured in a fresh
single-threaded process on the first ``--rows`` rows of the default design with the sweep's own
parameters and seeds (the least disturbed of ``--repeats`` passes), times the default's runs
over 2 processes, plus the larger probe's start-up and report (the report's work grows with N,
so this part is a lower bound too). ``--full`` runs the whole default command instead and
prints the time measured.

Usage: ``python benchmarks/sobol.py [--probes 16 64] [--workers 2] [--rows 64] [--full]``.
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


# A fresh process: the first rows of the default Sobol' design, run as the sweep runs them (the
# sweep's parameters and common-random-number seeds, in run order) through the sweep adapter.
_CHILD = """
import json, time
from analysis.designs import make_design
from analysis.seeds import run_seed
from analysis.space import Space
from hourglass.adapter import HourglassModel
space = Space.from_toml({space!r})
design = make_design("sobol", space, {samples}, {seed})
params = [space.params(v) for v in space.values(design.unit[:{rows}])]
model = HourglassModel({scenario!r}, every={every})
model(params[0], 0)  # compiled code in
best = float("inf")
for _ in range({repeats}):
    start = time.process_time()
    for run_id in range({rows} * {replicates}):
        model(params[run_id // {replicates}], run_seed({seed}, run_id // {replicates},
                                                    run_id % {replicates}))
    best = min(best, time.process_time() - start)
print(json.dumps(best / ({rows} * {replicates})))
"""


def run_cpu(default: argparse.Namespace, rows: int, repeats: int) -> float:
    """CPU seconds of one run of the default design in a fresh single-threaded process."""
    code = _CHILD.format(
        space=str(default.space),
        samples=default.samples,
        seed=default.seed,
        rows=rows,
        scenario=default.scenario,
        every=default.every,
        replicates=default.replicates,
        repeats=repeats,
    )
    env = {
        **os.environ,
        "NUMBA_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter on our own code
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
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


def design_runs(space_file: Path, kind: str, samples: int, replicates: int) -> int:
    """Runs of a ``kind`` design of ``samples`` over the space, as the engine builds it."""
    from analysis.designs import make_design  # noqa: PLC0415
    from analysis.space import Space  # noqa: PLC0415

    if samples == 0:
        return 0
    design = make_design(kind, Space.from_toml(space_file), samples, seed=1)
    return design.rows * replicates


def probe(samples: int, workers: int, folder: Path) -> dict[str, float]:
    """Run the default command at ``samples`` without Morris; its timings and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    env = {
        **os.environ,
        "NUMBA_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    start = time.perf_counter()
    out = subprocess.run(  # noqa: S603 - the hourglass command of this environment
        [
            *hourglass_command(),
            "sensitivity",
            "--samples",
            str(samples),
            "--trajectories",
            "0",
            "--workers",
            str(workers),
            "--no-progress",
            "--out",
            str(folder / f"n{samples}"),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = TIMINGS.search(out.stdout)
    if found is None:
        raise SystemExit(f"hourglass sensitivity printed no timings:\n{out.stdout[-2000:]}")
    runs_s, _, everything_s = (float(x) for x in found.groups())
    return {
        "wall": wall,  # the whole process: start-up and imports included
        "runs": runs_s,
        "report": everything_s - runs_s,
        "fixed": wall - everything_s,  # start-up, imports and checks before the runs
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "load": (load + os.getloadavg()[0]) / 2,
    }


def line(x: tuple[float, float], y: tuple[float, float]) -> tuple[float, float]:
    """Intercept and slope of the line through two points."""
    slope = (y[1] - y[0]) / (x[1] - x[0])
    return y[0] - slope * x[0], slope


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
        "--rows", type=int, default=64, help="design rows of the per-run CPU measure (default 64)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="passes of the per-run CPU measure; the least disturbed counts",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="run the whole default analysis instead of extrapolating",
    )
    args = parser.parse_args()
    default = defaults()
    space = Path(default.space)
    sobol_runs = design_runs(space, "sobol", default.samples, default.replicates)
    morris_runs = design_runs(space, "morris", default.trajectories, default.replicates)
    print(
        f"default analysis: Sobol' N={default.samples} x {default.replicates} replicates = "
        f"{sobol_runs:,} runs; Morris {default.trajectories} trajectories = {morris_runs:,} "
        f"runs; {args.workers} processes, {os.cpu_count()} cores"
    )

    with tempfile.TemporaryDirectory() as folder:
        if args.full:
            measured = probe(default.samples, args.workers, Path(folder))
            print(
                f"MEASURED whole Sobol' analysis: {measured['wall']:.0f} s wall "
                f"({measured['wall'] / 60:.1f} min; runs {measured['runs']:.0f} s, report "
                f"{measured['report']:.0f} s), {measured['cpu']:.0f} CPU-s, load "
                f"{measured['load']:.1f}: {measured['wall'] / TARGET_SECONDS:.2f} x the "
                "10-minute target"
            )
            return
        small, large = (probe(n, args.workers, Path(folder)) for n in args.probes)
    runs = tuple(design_runs(space, "sobol", n, default.replicates) for n in args.probes)
    for n, count, found in zip(args.probes, runs, (small, large), strict=True):
        print(
            f"probe N={n}: {count:,} runs; runs {found['runs']:.1f} s, report "
            f"{found['report']:.1f} s, start-up {found['fixed']:.1f} s; {found['cpu']:.1f} "
            f"CPU-s in all processes; load average {found['load']:.1f}"
        )
    runs_fixed, runs_each = line(runs, (small["runs"], large["runs"]))
    report_fixed, report_each = line(runs, (small["report"], large["report"]))
    print(
        f"fitted through the probes: {runs_each * 1000:.2f} ms wall per run on "
        f"{args.workers} processes ({1 / runs_each:.0f} runs/s)"
    )
    report = max(large["report"], report_fixed + report_each * sobol_runs)
    here = large["fixed"] + runs_fixed + runs_each * sobol_runs + report
    print(
        f"default Sobol' analysis, EXTRAPOLATED at this load: {here:.0f} s ({here / 60:.1f} "
        f"min; report {report:.0f} s)"
    )

    each = run_cpu(default, args.rows, args.repeats)
    idle = large["fixed"] + each * sobol_runs / args.workers + large["report"]
    print(
        f"one run of the default design: {each * 1000:.2f} CPU-ms (first {args.rows} rows x "
        f"{default.replicates} replicates, best of {args.repeats} passes, fresh process)"
    )
    print(
        f"default Sobol' analysis on {args.workers} idle cores, LOWER BOUND: {idle:.0f} s "
        f"({idle / 60:.1f} min: runs {each * sobol_runs / args.workers:.0f} s, start-up "
        f"{large['fixed']:.0f} s, report at least {large['report']:.0f} s): "
        f"{idle / TARGET_SECONDS:.2f} x the 10-minute target "
        f"({'not ruled out' if idle <= TARGET_SECONDS else 'NOT met'})"
    )
    print(
        f"Morris (the command's default {default.trajectories} trajectories) adds at least "
        f"{each * morris_runs / args.workers:.0f} s on {args.workers} idle cores"
    )


if __name__ == "__main__":
    main()
