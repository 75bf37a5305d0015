"""``hourglass compare A B``: paired comparison of two scenarios with common random numbers.

Each replicate runs A and B with the same seed; the table gives, per outcome, the mean
difference B - A, its 95 % t interval and Cohen's d_z (mean / sd of the paired
differences); see :mod:`analysis.compare`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from hourglass.commands._options import add_run_options, parse_assignments
from hourglass.commands.common import (
    announce_compilation,
    check_memory,
    check_outputs,
    check_scheduler,
    check_writable,
    load_scenario,
    run_bytes,
    whole,
)

SHOWN = ["mean_a", "mean_b", "diff", "ci_low", "ci_high", "d_z", "p_value"]


def add_parser(subparsers: Any) -> None:
    """Register ``compare``."""
    parser = subparsers.add_parser(
        "compare", help="paired comparison of two scenarios (common random numbers)",
        description="Run scenarios A and B with the same seeds and report paired differences.",
    )
    parser.add_argument("a", help="scenario A (name or path)")
    parser.add_argument("b", help="scenario B (name or path; may equal A with --set-b)")
    parser.add_argument("--replicates", type=whole(2), default=100,
                        help="paired replicates (default 100)")
    parser.add_argument("--set-a", action="append", default=[], metavar="KEY=VALUE",
                        help="override for A only (repeatable)")
    parser.add_argument("--set-b", action="append", default=[], metavar="KEY=VALUE",
                        help="override for B only (repeatable)")
    parser.add_argument("--outputs", nargs="+", default=None, metavar="OUTPUT",
                        help="outcomes to report (default: all summary outcomes)")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for table and figure (default results/compare-A-vs-B)")
    add_run_options(parser)


def _label(name: str, sets: dict[str, Any]) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in sets.items())
    return f"{Path(name).stem}" + (f" [{extra}]" if extra else "")


def main(args: argparse.Namespace) -> int:
    """Run the comparison, print the table, write table and forest plot."""
    from analysis import plots
    from analysis.compare import compare
    from hourglass.adapter import HourglassModel
    from hourglass.commands._options import (
        check_output,
        executor_from,
        markdown,
        staged_directory,
    )

    check_scheduler(args)
    common = parse_assignments(args.overrides, "--set")
    set_a = parse_assignments(args.set_a, "--set-a")
    set_b = parse_assignments(args.set_b, "--set-b")
    outputs = check_outputs(args.outputs, "--outputs") or None
    arms = [load_scenario(args.a, common).with_overrides(set_a, where="--set-a"),
            load_scenario(args.b, common).with_overrides(set_b, where="--set-b")]
    model_a = HourglassModel(args.a, every=0, overrides=common)
    model_b = HourglassModel(args.b, every=0, overrides=common)
    out = args.out or Path("results") / f"compare-{Path(args.a).stem}-vs-{Path(args.b).stem}"
    check_output(out, "compare")  # before the runs, not after
    check_writable(out)
    concurrent = args.workers or os.cpu_count() or 1
    check_memory(concurrent * max(run_bytes(arm.values) for arm in arms),
                 f"{concurrent} runs at a time")
    announce_compilation()
    with executor_from(args) as executor:
        table = compare((model_a, set_a), (model_b, set_b), args.replicates, args.seed, executor,
                        outcomes=outputs, workers=args.workers,
                        progress=not args.no_progress)
    label_a, label_b = _label(args.a, set_a), _label(args.b, set_b)
    with staged_directory(out, "compare") as tmp:
        table.to_csv(tmp / "compare.csv")
        (tmp / "compare.md").write_text(
            f"B - A with common random numbers: A = {label_a}, B = {label_b}, "
            f"{args.replicates} paired replicates, seed {args.seed}\n\n" + markdown(table),
            encoding="utf-8",
        )
        plots.save(plots.forest(table, f"{label_b} vs {label_a}", ("A", "B")), tmp / "forest.png")
    print(f"A = {label_a}; B = {label_b}; {args.replicates} paired replicates (B - A)")
    print(table[SHOWN].to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"written to {out}")
    return 0
