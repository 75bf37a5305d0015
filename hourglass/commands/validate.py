"""``hourglass validate``: the report's patterns P1-P9 as criteria over replicates of a scenario.

Prints one row per criterion (pattern, criterion, value with 95 % interval, holds or not) and
writes ``validation.csv``, ``validation.md``, ``validation.png``, ``replicates.csv`` and
``summary.json`` into ``--out``. ``--filter`` adds the pattern-oriented filtering of a Latin
hypercube over the assumption parameters (``filter_points.csv``, ``filter_ranges.csv``/``.md``,
``filter_pass_rates.csv``). See docs/validation.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from analysis.output import Legacy, check_output, staged_directory
from hourglass.commands._options import markdown
from hourglass.commands.common import (
    announce_compilation,
    check_memory,
    check_writable,
    load_scenario,
    parse_assignments,
    run_bytes,
    seed_type,
    whole,
)

# How a criterion counts (hourglass/targets.toml [classification]; docs/validation.md): only
# held-out criteria are validation.
KINDS = ("held-out", "verification", "calibration", "retired")
QUICK = {"replicates": 12, "proxy_samples": 24, "proxy_replicates": 2,
         "filter_samples": 8, "filter_replicates": 2}
# a result of hourglass before results carried a marker: only these files
LEGACY = Legacy("summary.json", frozenset({
    "summary.json", "validation.csv", "validation.md", "validation.png", "replicates.csv",
    "p6_scenarios.csv", "filter_points.csv", "filter_ranges.csv", "filter_ranges.md",
    "filter_pass_rates.csv"}))
FULL = {"replicates": 200, "proxy_samples": 128, "proxy_replicates": 3,
        "filter_samples": 96, "filter_replicates": 4}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass validate``."""
    parser = subparsers.add_parser(
        "validate", help="check the report's patterns P1-P9 over replicates of a scenario",
        description="Run the pattern-oriented validation (docs/validation.md).",
    )
    parser.add_argument("scenario", nargs="?", default="baseline",
                        help="scenario to validate (default: baseline, the typical initiative)")
    parser.add_argument("--replicates", type=whole(2), default=None,
                        help=f"replicates (default {FULL['replicates']}, --quick "
                        f"{QUICK['replicates']})")
    parser.add_argument("--quick", action="store_true", help="reduced form: few replicates")
    parser.add_argument("--filter", action="store_true",
                        help="also filter a Latin hypercube over the assumption parameters")
    parser.add_argument("--samples", type=whole(2), default=None,
                        help="--filter: design points (default 96, --quick 8)")
    parser.add_argument("--filter-replicates", type=whole(1), default=None,
                        help="--filter: replicates per design point (default 4, --quick 2)")
    parser.add_argument("--seed", type=seed_type, default=1, help="root seed (default 1)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="fixed override for every run (repeatable)")
    parser.add_argument("--workers", type=whole(1), default=None,
                        help="worker processes (default: all cores)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default results/validation)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars (runs done, time left)")


def _check(out: Path, scenario: Any, workers: int | None) -> None:
    """Refuse, before any run, an output or a size that would fail; say if kernels compile."""
    check_output(out, "validate", legacy=LEGACY)
    check_writable(out)
    check_memory((workers or os.cpu_count() or 1) * run_bytes(scenario.values, many=True),
                 f"runs of {scenario.name}, one per worker")
    announce_compilation()


def main(args: argparse.Namespace) -> int:
    """Run the validation and write the table and figure."""
    import pandas as pd

    from analysis.plots import save
    from hourglass.figures import validation_figure
    from hourglass.validation import (
        PatternModel,
        attendance_proxy,
        evaluate,
        filter_assumptions,
        run_replicates,
    )

    preset = QUICK if args.quick else FULL
    replicates = args.replicates if args.replicates is not None else preset["replicates"]
    overrides = parse_assignments(args.overrides, "--set")
    scenario = load_scenario(args.scenario, overrides)
    model = PatternModel(args.scenario, overrides)
    out = args.out or Path("results") / "validation"
    _check(out, scenario, args.workers)
    started = time.perf_counter()
    progress = not args.no_progress
    frame = run_replicates(model, replicates, args.seed, workers=args.workers,
                           progress=progress)
    table = evaluate(frame, scenario, args.seed)
    proxy, proxy_means = attendance_proxy(
        preset["proxy_samples"], preset["proxy_replicates"], args.seed, args.scenario,
        workers=args.workers, overrides=overrides, progress=progress,
    )
    table = pd.concat([table, proxy], ignore_index=True)
    table = table.sort_values("pattern", kind="stable").reset_index(drop=True)
    table["threshold"] = table["criterion"].map(_thresholds(scenario))
    table.insert(2, "kind", kinds_of(table))
    filtered = None
    if args.filter:
        samples = args.samples or preset["filter_samples"]
        reps = args.filter_replicates or preset["filter_replicates"]
        filtered = filter_assumptions(samples, reps, args.seed, args.scenario,
                                      workers=args.workers, overrides=overrides,
                                      progress=progress)
    took = time.perf_counter() - started
    shown = table[["pattern", "criterion", "kind", "value", "ci_low", "ci_high", "holds"]]
    with staged_directory(out, "validate", legacy=LEGACY) as tmp:
        table.to_csv(tmp / "validation.csv", index=False)
        frame.to_csv(tmp / "replicates.csv")
        proxy_means.to_csv(tmp / "p6_scenarios.csv")
        (tmp / "validation.md").write_text(
            f"Validation of '{scenario.name}': {replicates} replicates (common random numbers), "
            f"seed {args.seed}; {tally(table)}.\n\n"
            + markdown(table.set_index(["pattern", "criterion"])[
                ["kind", "text", "value", "ci_low", "ci_high", "holds"]], digits=4),
            encoding="utf-8",
        )
        save(validation_figure(table, f"Patterns P1-P9: {scenario.name}, {replicates} replicates"),
             tmp / "validation.png")
        summary = {"scenario": scenario.name, "replicates": replicates, "seed": args.seed,
                   "criteria": len(table), "hold": int(table["holds"].sum()),
                   **{f"{kind}_criteria": int((table["kind"] == kind).sum())
                      for kind in KINDS},
                   **{f"{kind}_hold": int(table.loc[table["kind"] == kind, "holds"].sum())
                      for kind in KINDS},
                   "seconds": round(took, 1)}
        if filtered is not None:
            filtered["points"].to_csv(tmp / "filter_points.csv")
            filtered["ranges"].to_csv(tmp / "filter_ranges.csv", index=False)
            filtered["pass_rates"].to_csv(tmp / "filter_pass_rates.csv")
            (tmp / "filter_ranges.md").write_text(
                markdown(filtered["ranges"].set_index("parameter"), digits=4), encoding="utf-8")
            summary["filter_points"] = len(filtered["points"])
            summary["filter_accepted"] = int(filtered["points"]["accepted"].sum())
            summary["scenario_inside_accepted"] = bool(filtered["ranges"]["inside"].all())
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    with pd.option_context("display.width", 140):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"{tally(table)} ({replicates} replicates, {took:.0f} s)")
    if filtered is not None:
        print(f"filter: {summary['filter_accepted']} of {summary['filter_points']} design points "
              f"meet every criterion; scenario inside the accepted ranges: "
              f"{summary['scenario_inside_accepted']}")
    print(f"written to {out}")
    return 0


def kinds_of(table: pd.DataFrame) -> list[str]:
    """Each criterion's kind from ``hourglass/targets.toml``: only held-out ones are validation.

    Raises:
        HourglassError: A criterion the classification does not name (it must be decided, not
            defaulted).
    """
    from hourglass.targets import classification
    from simulation.errors import HourglassError

    kinds = classification()
    names = [f"{p}:{c}" for p, c in zip(table["pattern"], table["criterion"], strict=True)]
    missing = [name for name in names if name not in kinds]
    if missing:
        raise HourglassError(
            f"hourglass/targets.toml: [classification] does not name {missing[0]!r}; each "
            "criterion must be classed as verification, held-out, calibration or retired"
        )
    return [kinds[name] for name in names]


def tally(table: pd.DataFrame) -> str:
    """One line: held-out validation first, then what does not count as validation."""
    def part(kind: str) -> tuple[int, int]:
        rows = table[table["kind"] == kind]
        return int(rows["holds"].sum()), len(rows)

    held, checks, fitted, retired = (part(k) for k in KINDS)
    return (f"held-out validation: {held[0]} of {held[1]} criteria hold; verification checks "
            f"(true by construction, not validation): {checks[0]} of {checks[1]}; replaced by "
            f"calibration targets: {fitted[1]}; retired: {retired[1]}")


def _thresholds(scenario: object) -> dict[str, float]:
    from hourglass.validation import criteria

    found = {c.name: c.threshold for c in criteria(scenario)}
    found.update({"attendance_weak_proxy": 0.3, "learning_better_proxy": 0.0})
    return found
