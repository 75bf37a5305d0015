r"""``hourglass discover``: under which conditions is a target met? (scenario discovery).

Over any sweep store the engine wrote (``hourglass sweep``, ``hourglass sensitivity``'s
``runs/``, ``analysis.run_sweep``), or over one it runs first with ``--sweep`` (resumable)::

    hourglass discover runs/levers --outcome orgs_changed --target '>=0.05'
    hourglass discover runs/levers --sweep --samples 256 --replicates 10   # run, then discover

Each design row's outcome is the share of its replicates meeting the target, with a Wilson
(or Clopper-Pearson) interval; PRIM boxes (EMA Workbench) and a CART tree (scikit-learn) are
found on those shares (see :mod:`hourglass.discovery`). Writes into ``--out``: ``README.md``
(the boxes in words), ``summary.json``, ``boxes.csv``/``.md``, ``trajectory.csv``,
``shares.csv``, ``tree.txt``, ``tree_leaves.csv``/``.md`` and the figures ``tradeoff.png``,
``limits.png`` and ``tree.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from hourglass.commands._options import add_run_options, executor_from, parse_assignments
from simulation.errors import HourglassError

QUICK = {"samples": 48, "replicates": 4, "months": 24}
FULL = {"samples": 256, "replicates": 10}


def add_parser(subparsers: Any) -> None:
    """Register ``discover``."""
    parser = subparsers.add_parser(
        "discover", help="find the lever regions where change at scale happens (PRIM + CART)",
        description="Scenario discovery over a sweep store: PRIM boxes and a CART tree for the "
        "share of replicates meeting a target. With --sweep, runs (or resumes) the sweep into "
        "STORE first.",
    )
    parser.add_argument("store", type=Path, help="sweep store directory")
    parser.add_argument("--outcome", default="orgs_changed",
                        help="output judged (default orgs_changed; e.g. practical_learning, "
                        "orgs_changed@24)")
    parser.add_argument("--target", default=">=0.05",
                        help="condition a run must meet, e.g. '>=0.05' (default), '>0', '<0.2'")
    parser.add_argument("--factors", nargs="+", default=None, metavar="FACTOR",
                        help="factors to search (default: all of the sweep's)")
    parser.add_argument("--boxes", type=int, default=1, help="PRIM boxes to find (default 1)")
    parser.add_argument("--min-coverage", type=float, default=0.5,
                        help="each box: the densest on its trajectory with at least this "
                        "coverage (default 0.5)")
    parser.add_argument("--peel-alpha", type=float, default=0.05, help="PRIM peeling step")
    parser.add_argument("--mass-min", type=float, default=0.05,
                        help="smallest box (share of rows) and CART leaf (share of runs)")
    parser.add_argument("--significance", type=float, default=0.05,
                        help="drop box restrictions with a larger quasi p-value (default 0.05; "
                        "1 keeps all)")
    parser.add_argument("--depth", type=int, default=3, help="CART depth (default 3)")
    parser.add_argument("--level", type=float, default=0.95, help="interval level (0.95)")
    parser.add_argument("--interval", choices=("wilson", "clopper-pearson"), default="wilson",
                        help="binomial interval over replicates (default wilson)")
    parser.add_argument("--out", type=Path, default=None,
                        help="report directory (default results/discover-STORE-OUTCOME)")
    sweep = parser.add_argument_group("running the sweep first (--sweep)")
    sweep.add_argument("--sweep", action="store_true",
                       help="run (or resume) a Latin hypercube sweep into STORE first")
    sweep.add_argument("--scenario", default="baseline", help="base scenario (default baseline)")
    sweep.add_argument("--space", type=Path, default=None,
                       help="TOML space file (default hourglass/spaces/levers.toml)")
    sweep.add_argument("--samples", type=int, default=None,
                       help=f"design rows (default {FULL['samples']}, --quick {QUICK['samples']})")
    sweep.add_argument("--replicates", type=int, default=None,
                       help=f"seeds per row (default {FULL['replicates']}, --quick "
                       f"{QUICK['replicates']})")
    sweep.add_argument("--quick", action="store_true",
                       help=f"small sweep: {QUICK['samples']} rows x {QUICK['replicates']} seeds, "
                       f"run.months={QUICK['months']}")
    add_run_options(parser)


def _run_sweep(args: argparse.Namespace) -> Any:
    """Run or resume the sweep ``--sweep`` asks for; return it."""
    from analysis.space import Space
    from analysis.sweep import run_sweep
    from hourglass.adapter import LEVER_SPACE, HourglassModel
    from hourglass.commands.common import check_scheduler, check_sweep_memory

    preset = QUICK if args.quick else FULL
    samples = args.samples or preset["samples"]
    replicates = args.replicates or preset["replicates"]
    for flag, value in (("--samples", samples), ("--replicates", replicates)):
        if value < 1:
            raise HourglassError(f"{flag} {value}: must be a whole number >= 1")
    overrides = parse_assignments(args.overrides, "--set")
    if args.quick:
        overrides.setdefault("run.months", QUICK["months"])
    space_file = args.space or LEVER_SPACE
    space = Space.from_toml(space_file)
    model = HourglassModel(args.scenario, every=12, overrides=overrides)
    check_scheduler(args)
    check_sweep_memory(model, space, [("lhs", samples)], replicates, args.workers)
    with executor_from(args) as executor:
        return run_sweep(
            model, space, "lhs", samples, replicates, seed=args.seed, store=args.store,
            executor=executor, workers=args.workers, progress=not args.no_progress,
            info={"scenario": args.scenario, "space_file": str(space_file),
                  "command": "discover " + " ".join(sys.argv[2:])},
        )


def main(args: argparse.Namespace) -> int:
    """Load (or run) the sweep, discover, write the report."""
    from analysis.output import check_output
    from analysis.sweep import load_sweep
    from hourglass.discovery import (
        check_settings,
        parse_target,
        proportion_interval,
    )

    target = parse_target(args.target)
    check_settings(args.boxes, args.min_coverage, args.peel_alpha, args.mass_min, args.depth)
    proportion_interval(0, 1, args.level, args.interval)  # refuses a bad --level now
    if not 0 < args.significance <= 1:
        raise HourglassError(f"--significance {args.significance}: must be in (0, 1]")
    out = args.out or Path("results") / f"discover-{args.store.name}-{args.outcome}"
    check_output(out, "discover")
    started = time.perf_counter()
    if args.sweep:
        sweep = _run_sweep(args)
    else:
        if not (args.store / "manifest.json").is_file():
            raise HourglassError(
                f"{args.store}: no sweep store here; run one with hourglass sweep, or add --sweep"
            )
        sweep = load_sweep(args.store)
    found = _discover(sweep, target, args)
    _write(found, sweep, out, args)
    _print(found, out, time.perf_counter() - started)
    return 0


def _discover(sweep: Any, target: Any, args: argparse.Namespace) -> Any:
    from hourglass.discovery import discover

    return discover(
        sweep, args.outcome, target, factors=args.factors, boxes=args.boxes,
        min_coverage=args.min_coverage, peel_alpha=args.peel_alpha, mass_min=args.mass_min,
        significance=None if args.significance >= 1 else args.significance,
        max_depth=args.depth, level=args.level, method=args.interval,
    )


def _write(found: Any, sweep: Any, out: Path, args: argparse.Namespace) -> None:
    from analysis import plots
    from analysis.output import staged_directory
    from hourglass.commands._options import markdown
    from hourglass.discovery import limits_figure, tradeoff_figure, tree_figure

    boxes = found.box_table()
    with staged_directory(out, "discover") as tmp:
        (tmp / "summary.json").write_text(
            json.dumps({"store": str(args.store), **found.summary()}, indent=2, default=float),
            encoding="utf-8")
        found.shares.to_csv(tmp / "shares.csv")
        boxes.to_csv(tmp / "boxes.csv")
        limits = [b.limits.assign(box=b.number) for b in found.boxes]
        trajectories = [b.trajectory.assign(box=b.number) for b in found.boxes]
        if trajectories:
            import pandas as pd

            pd.concat(trajectories).to_csv(tmp / "trajectory.csv")
            pd.concat(limits).to_csv(tmp / "limits.csv")
        (tmp / "boxes.md").write_text(markdown(boxes), encoding="utf-8")
        (tmp / "tree.txt").write_text(found.tree.text, encoding="utf-8")
        found.tree.leaves.to_csv(tmp / "tree_leaves.csv")
        (tmp / "tree_leaves.md").write_text(markdown(found.tree.leaves), encoding="utf-8")
        plots.save(tradeoff_figure(found), tmp / "tradeoff.png")
        plots.save(limits_figure(found, sweep.space), tmp / "limits.png")
        plots.save(tree_figure(found), tmp / "tree.png")
        (tmp / "README.md").write_text(_readme(found, sweep, args), encoding="utf-8")


def _readme(found: Any, sweep: Any, args: argparse.Namespace) -> str:
    from hourglass.commands._options import markdown

    o = found.overall()
    pct = f"{found.level:.0%}"
    lines = [
        f"# Scenario discovery: {found.outcome} {found.target}",
        "",
        f"- store: {args.store} ({sweep.design.rows} rows x {sweep.replicates} replicates, "
        f"{sweep.design.kind} design, seed {sweep.seed})",
        f"- factors searched: {', '.join(found.factors)}",
        f"- all runs: {o['hits']} of {o['runs']} meet the target ({o['share']:.3f}, "
        f"{pct} {found.method} interval {o['low']:.3f}-{o['high']:.3f})",
        "",
        "## PRIM boxes",
        "",
    ]
    for b in found.boxes:
        s = b.stats
        lines += [
            f"**Box {b.number}: {b.words}.** Inside it {s['hits']} of {s['runs']} runs "
            f"({s['rows']} design rows) meet the target: density {s['density']:.3f} "
            f"({pct} interval {s['low']:.3f}-{s['high']:.3f}); coverage {s['coverage']:.3f} "
            f"of all runs meeting it; mass {s['mass']:.3f}.",
            "",
        ]
    lines += ["Restrictions with their replicate-aware quasi p-values:", "",
              markdown(_all_limits(found)), "",
              "## CART leaves (best first)", "", markdown(found.tree.leaves), "",
              "Figures: tradeoff.png (coverage vs density along each box's trajectory, "
              "density intervals as bars), limits.png, tree.png.", ""]
    return "\n".join(lines)


def _all_limits(found: Any) -> Any:
    import pandas as pd

    frames = [b.limits.assign(box=b.number).reset_index() for b in found.boxes]
    if not frames:
        return pd.DataFrame(columns=["box", "factor", "low", "high", "values", "quasi_p"])
    return pd.concat(frames)[["box", "factor", "low", "high", "values", "quasi_p"]].set_index("box")


def _print(found: Any, out: Path, took: float) -> None:
    o = found.overall()
    print(f"{found.outcome} {found.target}: {o['hits']} of {o['runs']} runs "
          f"({o['share']:.3f} [{o['low']:.3f}, {o['high']:.3f}])")
    for b in found.boxes:
        s = b.stats
        print(f"box {b.number}: {b.words}")
        print(f"       density {s['density']:.3f} [{s['low']:.3f}, {s['high']:.3f}], coverage "
              f"{s['coverage']:.3f}, {s['rows']} rows, {s['runs']} runs")
    best = found.tree.leaves.iloc[0]
    print(f"CART best leaf: {best['conditions']}: {best['share']:.3f} "
          f"[{best['low']:.3f}, {best['high']:.3f}] over {best['runs']} runs")
    print(f"written to {out} [{took:.1f} s]")
