r"""``hourglass sweep``: run (or resume) a design x replicates sweep of a scenario.

Example::

    hourglass sweep baseline --design lhs --samples 64 --replicates 3 --seed 9 \\
        --vary levers.trust=0:1 --vary levers.share_forward=0:1 --out runs/trust
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hourglass.commands._options import add_run_options, executor_from, parse_assignments
from hourglass.commands.common import (
    announce_compilation,
    check_design,
    check_scheduler,
    check_space,
    check_sweep_memory,
    check_writable,
    load_scenario,
    parse_value,
    whole,
)
from simulation.errors import HourglassError

if TYPE_CHECKING:
    from analysis.space import Space

# analysis.designs.KINDS (a test keeps them equal): parsing does not import the designs.
KINDS = ("grid", "lhs", "sobol", "morris")


def add_parser(subparsers: Any) -> None:
    """Register ``sweep``."""
    parser = subparsers.add_parser(
        "sweep", help="run a parameter sweep of a scenario into a resumable store",
        description="Run a design x replicates sweep of a scenario. Results stream into --out; "
        "running the same command again resumes an interrupted sweep.",
    )
    parser.add_argument("scenario", help="base scenario name (scenarios/) or path to a .toml")
    parser.add_argument("--design", choices=KINDS, default="lhs", help="design (default lhs)")
    parser.add_argument("--samples", type=whole(1), default=64,
                        help="lhs points, sobol N (power of 2), morris trajectories or grid "
                        "levels (default 64)")
    parser.add_argument("--replicates", type=whole(1), default=None,
                        help="runs per design row (default 10)")
    parser.add_argument("--seed-factor", action="store_true",
                        help="the run's seed as one more factor of the design, 'chance': one "
                        "run a row, and indices for chance (not with --replicates or a grid)")
    parser.add_argument("--vary", action="append", default=[], metavar="KEY=SPEC",
                        help="vary KEY: lo:hi (continuous), int:lo:hi, a,b,c (choices, read as "
                        "TOML values: 0.1,0.2 are numbers) or bool; once per KEY")
    parser.add_argument("--space", type=Path, default=None,
                        help="TOML space file (e.g. hourglass/spaces/levers.toml); --vary adds to "
                        "it")
    parser.add_argument("--second-order", action="store_true", help="sobol: second-order rows")
    parser.add_argument("--every", type=whole(0), default=12,
                        help="months between time-resolved outputs (0: none; default 12)")
    parser.add_argument("--chunk-size", type=whole(1), default=None, help="runs per task")
    parser.add_argument("--out", type=Path, required=True, help="store directory")
    parser.add_argument("--wait", action="store_true",
                        help="if another sweep is writing --out, wait for it instead of refusing")
    add_run_options(parser)


def parse_vary(item: str) -> tuple[str, object]:
    """Parse one ``--vary KEY=SPEC``.

    Raises:
        HourglassError: A malformed spec.
    """
    key, sep, spec = item.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key or not spec:
        raise HourglassError(
            f"--vary {item!r}: expected KEY=lo:hi, KEY=int:lo:hi, KEY=a,b or KEY=bool"
        )
    try:
        if spec == "bool":
            return key, bool
        if spec.startswith("int:"):
            lo, hi = spec[4:].split(":")
            return key, ("int", int(lo), int(hi))
        if ":" in spec:
            lo, hi = spec.split(":")
            return key, (float(lo), float(hi))
    except ValueError:
        raise HourglassError(
            f"--vary {item!r}: bounds must be numbers, e.g. {key}=0:1 or {key}=int:2:8"
        ) from None
    if "," in spec:
        return key, [parse_value(s.strip()) for s in spec.split(",")]
    raise HourglassError(
        f"--vary {item!r}: expected KEY=lo:hi, KEY=int:lo:hi, KEY=a,b or KEY=bool"
    )


def build_space(args: argparse.Namespace) -> Space:
    """The space from ``--space`` and ``--vary``.

    Raises:
        HourglassError: Neither given, or a bad spec.
    """
    from analysis.space import Space

    specs: dict[str, object] = {}
    if args.space is not None:
        specs.update(Space.from_toml(args.space).factors)
    varied: set[str] = set()
    for item in args.vary:
        key, spec = parse_vary(item)
        if key in varied:
            raise HourglassError(f"--vary {_quote(key)} is given twice; give each key once")
        varied.add(key)
        specs[key] = spec
    if not specs:
        raise HourglassError("sweep: nothing to vary; give --vary KEY=lo:hi or --space FILE")
    return Space(specs, source="--vary/--space")


def main(args: argparse.Namespace) -> int:
    """Check everything, run the sweep; print where the results are."""
    from analysis.sweep import run_sweep
    from hourglass.adapter import HourglassModel

    check_scheduler(args)
    _check_seed_factor(args)
    space = build_space(args)
    overrides = parse_assignments(args.overrides, "--set")
    check_space(load_scenario(args.scenario, overrides), space, "--vary/--space")
    model = HourglassModel(args.scenario, every=args.every, overrides=overrides)
    check_design(args.design, args.samples)
    check_writable(args.out, store=True)
    check_sweep_memory(model, space, [(args.design, args.samples)], args.replicates,
                       args.workers, second_order=args.second_order)
    announce_compilation()
    start = time.perf_counter()
    with executor_from(args) as executor:
        sweep = run_sweep(
            model, space, args.design, args.samples, args.replicates, seed=args.seed,
            store=args.out, executor=executor, workers=args.workers, chunk_size=args.chunk_size,
            progress=not args.no_progress, second_order=args.second_order,
            info={"scenario": args.scenario, "command": " ".join(sys.argv[1:])},
            wait=args.wait, seed_factor=args.seed_factor,
        )
    took = time.perf_counter() - start
    rows = (f"{sweep.design.rows} rows, the seed a factor" if sweep.seed_factor
            else f"{sweep.design.rows} rows x {sweep.replicates} replicates")
    print(
        f"sweep complete: {sweep.n_runs} runs ({rows}, {len(sweep.outputs)} outputs) in "
        f"{args.out} [{took:.1f} s this session]"
    )
    print(f"load with: analysis.load_sweep({str(args.out)!r})")
    return 0


DEFAULT_REPLICATES = 10


def _check_seed_factor(args: argparse.Namespace) -> None:
    """Refuse --seed-factor with what it cannot go with; settle --replicates.

    Raises:
        HourglassError: --seed-factor with --replicates or a grid design.
    """
    if not args.seed_factor:
        args.replicates = args.replicates or DEFAULT_REPLICATES
        return
    if args.replicates is not None:
        raise HourglassError(f"--seed-factor: each design row is one run; drop --replicates "
                             f"{args.replicates}")
    if args.design == "grid":
        raise HourglassError("--seed-factor: needs a sobol, morris or lhs design, not grid (a "
                             "grid would repeat a few seeds)")
    args.replicates = 1


def _quote(key: str) -> str:
    return f"'{key}'" if key.isprintable() else repr(key)
