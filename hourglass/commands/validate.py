"""``hourglass validate``: the report's patterns P1-P9 as criteria, over the posterior predictive.

By default every parameter set of the shipped posterior ensemble
(:func:`hourglass.calibration.shipped_posterior`) runs every arm with seeds of its own; each
criterion is tested over the parameter sets, its per-run variance split between parameter sets
and seeds, and the held-out criteria corrected together (Holm). ``--posterior FILE`` picks
another ensemble; ``--point-defaults`` keeps the scenario's point defaults (replicates of one
parameter set). While no posterior ships, validate says so in one line and runs at the point
defaults.

Prints one row per criterion and the replicate counts a power calculation asks for, and writes
``validation.csv``, ``validation.md``, ``validation.png``, ``replicates.csv`` and
``summary.json`` into ``--out``. ``--filter`` adds the pattern-oriented filtering of a Latin
hypercube over the assumption parameters (``filter_points.csv``, ``filter_ranges.csv``/``.md``,
``filter_pass_rates.csv``). See docs/validation.md.
"""

from __future__ import annotations

import argparse
import json
import math
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
from hourglass.posterior import add_posterior_options

# How a criterion counts (hourglass/targets.toml [classification]; docs/validation.md): only
# held-out criteria are validation.
KINDS = ("held-out", "verification", "calibration", "retired")
QUICK = {"replicates": 12, "seeds_per_set": 2, "sets": 8,
         "filter_samples": 8, "filter_replicates": 2}
# a result of hourglass before results carried a marker: only these files
LEGACY = Legacy("summary.json", frozenset({
    "summary.json", "validation.csv", "validation.md", "validation.png", "replicates.csv",
    "p6_scenarios.csv", "filter_points.csv", "filter_ranges.csv", "filter_ranges.md",
    "filter_pass_rates.csv"}))
# Replicates at the point defaults; over a posterior, parameter sets (every set of a default
# calibration's 100) and seeds per set: see docs/validation.md "How many replicates" (the power
# calculation validate prints).
FULL = {"replicates": 400, "seeds_per_set": 4, "sets": 100,
        "filter_samples": 96, "filter_replicates": 4}


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass validate``."""
    from hourglass import validation_stats as vs

    parser = subparsers.add_parser(
        "validate", help="check the report's patterns P1-P9 over the posterior predictive",
        description="Run the pattern-oriented validation (docs/validation.md).",
    )
    parser.add_argument("scenario", nargs="?", default="baseline",
                        help="scenario to validate (default: baseline, the typical initiative)")
    add_posterior_options(parser, sets=FULL["sets"])
    parser.add_argument("--replicates", type=whole(2), default=None,
                        help=f"replicates at the point defaults (default {FULL['replicates']}, "
                        f"--quick {QUICK['replicates']}); seeds per parameter set over an "
                        f"ensemble (default {FULL['seeds_per_set']}, --quick "
                        f"{QUICK['seeds_per_set']})")
    parser.add_argument("--quick", action="store_true", help="reduced form: few replicates")
    parser.add_argument("--effect", type=_positive, default=vs.EFFECT,
                        help="power calculation: smallest margin beyond a threshold worth "
                        f"detecting (default {vs.EFFECT})")
    parser.add_argument("--power", type=_fraction, default=vs.POWER,
                        help=f"power calculation: wanted power (default {vs.POWER})")
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

    from hourglass.posterior import choose, describe, held_keys, held_line
    from hourglass.validation import (
        calibration_targets,
        check_rows,
        correct,
        evaluate,
        evaluation_gap_of,
        filter_assumptions,
    )

    preset = QUICK if args.quick else FULL
    overrides = parse_assignments(args.overrides, "--set")
    scenario = load_scenario(args.scenario, overrides)
    out = args.out or Path("results") / "validation"
    # --quick draws fewer sets unless --sets asks for another number than the default
    quick_sets = args.quick and args.sets == FULL["sets"]
    ensemble = choose(args, args.seed, sets=QUICK["sets"] if quick_sets else None)
    # keys the scenario sets to its own values or --set fixes stay as chosen (hourglass.posterior)
    held = held_keys(ensemble, args.scenario, overrides)
    if ensemble is not None:
        check_rows(ensemble.path, ensemble.rows, args.scenario, overrides, held)
    _check(out, scenario, args.workers)
    # after every check: refused input prints nothing but its one line
    print(describe(ensemble, args, "validate"), flush=True)
    if held:
        print(held_line(held, f"{args.scenario} or --set"), flush=True)
    started = time.perf_counter()
    frame, design, facts = _run(args, preset, overrides, ensemble, held)
    table = evaluate(frame, scenario, args.seed)
    table = correct(table, kinds_of(table), effect=args.effect, power=args.power)
    # the report's patterns P1-P9 in order, then its case studies
    table = table.sort_values(
        "pattern", key=lambda p: (~p.str.match(r"P\d")).astype(int).astype(str) + p,
        kind="stable").reset_index(drop=True)
    filtered = None
    if args.filter:
        filtered = filter_assumptions(
            args.samples or preset["filter_samples"],
            args.filter_replicates or preset["filter_replicates"], args.seed, args.scenario,
            workers=args.workers, overrides=overrides, progress=not args.no_progress)
    needed = power_line(table, args.effect, args.power, ensemble is not None)
    targets = calibration_targets(frame)
    gap = evaluation_gap_of(frame)
    summary = {"scenario": scenario.name, "seed": args.seed, **facts, "runs": len(frame),
               "criteria": len(table), "hold": int(table["holds"].sum()),
               **{f"{kind}_criteria": int((table["kind"] == kind).sum()) for kind in KINDS},
               **{f"{kind}_hold": int(table.loc[table["kind"] == kind, "holds"].sum())
                  for kind in KINDS},
               "holm_alpha": _alpha(), "effect": args.effect, "power": args.power,
               "power_calculation": needed,
               "seconds": round(time.perf_counter() - started, 1)}
    summary["calibration_targets_within_tolerance"] = int(targets["within"].sum())
    summary["calibration_targets"] = len(targets)
    summary["evaluation_gap"] = {k: (None if math.isnan(v) else round(v, 4))
                                 for k, v in gap.items()}
    _write(out, scenario.name, frame, (table, targets), filtered, summary,
           f"Validation of '{scenario.name}', {design}, seed {args.seed}; {tally(table)}.")
    shown = ["pattern", "criterion", "kind", "value", "ci_low", "ci_high", "p_holm", "holds"]
    if ensemble is not None:
        shown += ["between", "within"]
    with pd.option_context("display.width", 160):
        print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    with pd.option_context("display.width", 160):
        print(targets[["pattern", "target", "report", "tolerance", "model", "deviation"]]
              .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"calibration targets (not validation): {int(targets['within'].sum())} of "
          f"{len(targets)} within the report's tolerance")
    print(gap_line(gap))
    print(f"{tally(table)} ({design}; {summary['seconds']:.0f} s)")
    print(needed)
    if filtered is not None:
        print(f"filter: {summary['filter_accepted']} of {summary['filter_points']} design points "
              f"meet every criterion; scenario inside the accepted ranges: "
              f"{summary['scenario_inside_accepted']}")
    print(f"written to {out}")
    return 0


def _run(args: argparse.Namespace, preset: dict[str, Any], overrides: dict[str, Any],
         ensemble: Any, held: tuple[str, ...] = ()) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """The runs: over the ensemble's parameter sets, or replicates of the point defaults."""
    from hourglass.validation import PatternModel, run_ensemble, run_replicates

    progress = not args.no_progress
    if ensemble is None:
        seeds = args.replicates or preset["replicates"]
        model = PatternModel(args.scenario, overrides)
        frame = run_replicates(model, seeds, args.seed, workers=args.workers, progress=progress)
        return (frame, f"point defaults: {seeds} replicates (common random numbers)",
                {"mode": "point defaults", "posterior": None, "parameter_sets": 1,
                 "replicates": seeds})
    seeds = args.replicates or preset["seeds_per_set"]
    sets = list(ensemble.rows)
    model = PatternModel(args.scenario, overrides, parameter_sets=ensemble.path, held=held)
    frame = run_ensemble(model, sets, seeds, args.seed, workers=args.workers, progress=progress)
    return (frame, f"posterior predictive of {ensemble.path}: {len(sets)} of its "
            f"{ensemble.size} parameter sets x {seeds} seeds each",
            {"mode": "posterior", "posterior": str(ensemble.path), "parameter_sets": len(sets),
             "replicates": seeds, "ensemble": ensemble.as_dict(), "held": list(held)})


def _write(out: Path, name: str, frame: pd.DataFrame,
           tables: tuple[pd.DataFrame, pd.DataFrame],
           filtered: dict[str, pd.DataFrame] | None, summary: dict[str, Any],
           headline: str) -> None:
    """Write every output into ``out`` at once (staged: a failure leaves ``out`` as it was)."""
    from analysis.plots import save
    from hourglass.figures import validation_figure

    table, targets = tables
    with staged_directory(out, "validate", legacy=LEGACY) as tmp:
        table.to_csv(tmp / "validation.csv", index=False)
        targets.to_csv(tmp / "targets.csv", index=False)
        frame.to_csv(tmp / "replicates.csv")
        (tmp / "validation.md").write_text(
            f"{headline}\n\n{summary['power_calculation']}\n\n"
            + markdown(table.set_index(["pattern", "criterion"])[
                ["kind", "text", "value", "ci_low", "ci_high", "p_value", "p_holm", "holds",
                 "between", "within", "units_needed"]], digits=4)
            + "\n\nCalibration targets (two-sided; not validation):\n\n"
            + markdown(targets.set_index(["pattern", "target"])[
                ["report", "tolerance", "model", "deviation", "within"]], digits=4)
            + "\n\nThe evaluation gap (Figure 11) over the base arm's initiatives:\n\n"
            + gap_line(summary["evaluation_gap"]) + "\n",
            encoding="utf-8",
        )
        # each row labelled with its kind: only held-out rows are validation (Holm's verdict)
        labelled = table.assign(criterion=table["criterion"] + " [" + table["kind"] + "]")
        title = (f"Patterns P1-P9 and a case study: {name}, {summary['mode']}, "
                 f"{summary['runs']} runs")
        save(validation_figure(labelled, title), tmp / "validation.png")
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


def gap_line(gap: dict[str, Any]) -> str:
    """Figure 11's evaluation gap in one line: what evaluations report and what they miss."""
    def pct(key: str) -> str:
        value = gap.get(key)
        return "n/a" if value is None or math.isnan(value) else f"{100 * value:.0f} %"

    return (f"evaluation gap (Figure 11): evaluations report activity {pct('reports_activity')}, "
            f"impact {pct('reports_impact')}, training transfer "
            f"{pct('reports_training_transfer')}, learning {pct('reports_learning')} of "
            f"initiatives; {pct('learning_unseen')} of practical learning lies in initiatives "
            f"whose evaluation never assesses learning, {pct('change_unseen')} of attributable "
            "change at scale in those that do not report impact")


def _alpha() -> float:
    from hourglass.validation_stats import ALPHA

    return ALPHA


def power_line(table: pd.DataFrame, effect: float, power: float, ensemble: bool) -> str:
    """One line: the units the held-out tests need (power calculation) against those used."""
    import numpy as np

    held = table[table["kind"] == "held-out"]
    unit = "parameter sets" if ensemble else "replicates"
    if held.empty or not np.isfinite(held["units_needed"].to_numpy(dtype=float)).any():
        return f"replicates: no held-out criterion with a spread to plan from ({unit})"
    worst = held.loc[held["units_needed"].astype(float).idxmax()]
    used = int(held["units"].max())
    covered = int((held["units_needed"].astype(float) <= used).sum())
    line = (f"replicates (power): a margin of {effect:g} beyond a held-out threshold, tested "
            f"at Holm's strictest level {_alpha():g}/{len(held)}, is detected with power "
            f"{power:g} by {covered} of {len(held)} held-out tests with the {used} {unit} "
            f"used; the most demanding ({worst['pattern']}:{worst['criterion']}) needs "
            f"{_count(worst['units_needed'], 'more than 10^6')}")
    if ensemble:
        best = held["seeds_per_set"].astype(float).dropna()
        if len(best):
            median = _count(best.median(), "unbounded: no variance between sets found")
            line += ("; seeds per parameter set that make the most of a run budget "
                     f"(sqrt(within/between), Cochran): median {median} over "
                     f"the {len(best)} held-out criteria with both parts")
    return line


def _count(value: float, infinite: str) -> str:
    import math

    return infinite if math.isinf(value) else f"{int(value)}"


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
    return (f"held-out validation: {held[0]} of {held[1]} criteria hold after Holm's "
            f"correction; verification checks (true by construction, not validation): "
            f"{checks[0]} of {checks[1]}; replaced by calibration targets: {fitted[1]}; "
            f"retired: {retired[1]}")
