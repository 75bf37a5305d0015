"""``hourglass compare A B [C ...]``: paired comparison of scenarios with common random numbers.

Every arm runs the same replicate seeds; each arm after the first is compared with the first
(A). Per outcome the table gives the mean paired difference (arm - A), its 95 % t interval and
Cohen's d_z (mean / sd of the paired differences); see :mod:`analysis.compare`. By default the
outcomes are the hourglass's levels. Writes ``compare.csv``/``.md``, ``forest.png`` (a panel
per outcome, each in its own unit) and ``runs.csv``: every arm's per-replicate outputs, paired
by replicate and seed, for re-analysis.

Over a posterior ensemble (the default; docs/uncertainty.md) a pair is one parameter set and one
seed, the interval comes from the sets' mean differences, and ``uncertainty.csv`` and
``uncertainty_X.png`` split each arm's outcome and each difference between parameter sets and
seeds.
"""

from __future__ import annotations

import argparse
import os
import string
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
from hourglass.posterior import BY, add_posterior_options
from simulation.errors import HourglassError

SHOWN = ["mean_a", "mean_b", "diff", "ci_low", "ci_high", "d_z", "p_value"]
HOURGLASS_OUTCOMES = ("engaged", "sustained_contacts", "practical_learning", "applied",
                      "staff_reached", "orgs_changed")
"""The default outcomes: the hourglass's levels, from engagement to organisations changed."""
LETTERS = string.ascii_lowercase[:8]
"""Arms are lettered A, B, C, ... (up to 8 arms); ``--set-c`` sets arm C only."""


def add_parser(subparsers: Any) -> None:
    """Register ``compare``."""
    parser = subparsers.add_parser(
        "compare", help="paired comparison of scenarios against the first (common random numbers)",
        description="Run scenarios A, B, ... with the same seeds and report each one's paired "
        "differences from A.",
    )
    parser.add_argument("arms", nargs="+", metavar="SCENARIO",
                        help=f"scenario A, then B, C, ... (names or paths; 2 to {len(LETTERS)}; "
                        "the same scenario may appear twice with different --set-X)")
    parser.add_argument("--replicates", type=whole(2), default=100,
                        help="paired replicates (default 100)")
    shown = {"a": "override for arm A only (repeatable)",
             "b": "override for arm B only (repeatable; --set-c, --set-d ... for further arms)"}
    for letter in LETTERS:
        parser.add_argument(f"--set-{letter}", action="append", default=[], metavar="KEY=VALUE",
                            help=shown.get(letter, argparse.SUPPRESS))
    parser.add_argument("--outputs", nargs="+", default=None, metavar="OUTPUT",
                        help=f"outcomes to report (default: {', '.join(HOURGLASS_OUTCOMES)}); "
                        "hourglass parameters lists the scenario keys, docs/ODD.md the outputs")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for tables, figure and runs (default "
                        "results/compare-A-vs-B[-vs-C...])")
    add_run_options(parser)
    add_posterior_options(parser)


def _label(name: str, sets: dict[str, Any]) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in sets.items())
    return f"{Path(name).stem}" + (f" [{extra}]" if extra else "")


def main(args: argparse.Namespace) -> int:
    """Check everything, run the arms, print the tables, write tables, figure and runs."""
    from analysis.compare import paired_split, paired_summary, run_all_arms
    from hourglass.adapter import HourglassModel
    from hourglass.commands._options import check_output, executor_from
    from hourglass.posterior import describe, held_keys, held_line, replicate_sets

    if not 2 <= len(args.arms) <= len(LETTERS):
        raise HourglassError(
            f"compare: expected 2 to {len(LETTERS)} scenarios, got {len(args.arms)}")
    letters = LETTERS[: len(args.arms)]
    unused = [f"--set-{x}" for x in LETTERS[len(args.arms):] if getattr(args, f"set_{x}")]
    if unused:
        raise HourglassError(f"{unused[0]}: there is no arm {unused[0][-1].upper()} "
                             f"({len(args.arms)} scenarios given)")
    check_scheduler(args)
    common = parse_assignments(args.overrides, "--set")
    sets = [parse_assignments(getattr(args, f"set_{x}"), f"--set-{x}") for x in letters]
    outputs = check_outputs(args.outputs, "--outputs") or list(HOURGLASS_OUTCOMES)
    scenarios = [load_scenario(name, common).with_overrides(own, where=f"--set-{x}")
                 for name, own, x in zip(args.arms, sets, letters, strict=True)]
    out = args.out or Path("results") / "compare-{}".format(
        "-vs-".join(Path(name).stem for name in args.arms))
    check_output(out, "compare")  # before the runs, not after
    check_writable(out)
    concurrent = args.workers or os.cpu_count() or 1
    check_memory(concurrent * max(run_bytes(s.values, many=True) for s in scenarios),
                 f"{concurrent} runs at a time")
    ensemble, shared = replicate_sets(args, args.replicates, args.sets,
                                      "a comparison needs at least 4 pairs")
    replicates = len(shared) if shared else args.replicates
    path = ensemble.path if ensemble is not None else None
    held = [held_keys(ensemble, name, common) for name in args.arms]
    models = [(HourglassModel(name, every=0, overrides=common, parameter_sets=path, held=keep),
               own) for name, own, keep in zip(args.arms, sets, held, strict=True)]
    labels = [f"{x.upper()}: {_label(name, own)}"
              for x, name, own in zip(letters, args.arms, sets, strict=True)]
    lines = [describe(ensemble, args, "compare")] + [
        f"{x.upper()}: {held_line(keep, Path(name).stem + ' or --set')}"
        for x, name, keep in zip(letters, args.arms, held, strict=True) if keep]
    print("\n".join(lines), flush=True)
    announce_compilation()
    with executor_from(args) as executor:  # every arm in one fan-out, on the same seeds
        runs = run_all_arms(dict(zip(labels, models, strict=True)), replicates, args.seed,
                            executor, workers=args.workers, progress=not args.no_progress,
                            replicate_params=shared)
    by = BY if ensemble is not None else None
    tables = {label: paired_summary(runs[labels[0]], runs[label], by=by).loc[outputs]
              for label in labels[1:]}
    splits = {} if ensemble is None else {
        label: paired_split(runs[labels[0]], runs[label], by=BY, outcomes=outputs,
                            seed=args.seed) for label in labels[1:]}
    pairs = _pairs_line(replicates, ensemble)
    _write(out, args, labels, tables, runs, splits, pairs, "\n\n".join(lines))
    for k, (label, table) in enumerate(tables.items(), start=1):
        print(f"A = {labels[0][3:]}; {letters[k].upper()} = {label[3:]}; {pairs} "
              f"({letters[k].upper()} - A)")
        print(table[SHOWN].to_string(float_format=lambda v: f"{v:.4g}"))
        if label in splits:
            print(f"variance of {letters[k].upper()} - A: between parameter sets (what we do "
                  "not know about the world) and between seeds (chance)")
            print(splits[label].loc["diff", SPLIT_SHOWN].to_string(
                float_format=lambda v: f"{v:.4g}"))
    print(f"written to {out}")
    return 0


SPLIT_SHOWN = ["mean", "between", "within", "share_between", "share_low", "share_high"]


def _pairs_line(replicates: int, ensemble: Any) -> str:
    if ensemble is None:
        return f"{replicates} paired replicates"
    k = len(ensemble.rows)
    return (f"{replicates} paired replicates ({k} parameter sets x {replicates // k} seeds; "
            "intervals over the sets' mean differences)")


def _write(out: Path, args: argparse.Namespace, labels: list[str], tables: dict[str, Any],
           runs: dict[str, Any], splits: dict[str, Any], pairs: str, sets_line: str) -> None:
    """The tables, the figures and every arm's per-replicate runs, into ``out``."""
    import pandas as pd

    from analysis import plots
    from analysis.uncertainty_plots import ensemble_figure
    from hourglass.commands._options import markdown, staged_directory

    long = pd.concat(tables, names=["arm", "outcome"])
    paired = pd.concat(runs, names=["arm"])
    with staged_directory(out, "compare") as tmp:
        long.to_csv(tmp / "compare.csv")
        text = (f"Each arm - A with common random numbers: A = {labels[0]}; {pairs}, seed "
                f"{args.seed}\n\n{sets_line}\n\n" + markdown(long))
        if splits:
            split = pd.concat(splits, names=["arm"])
            split.to_csv(tmp / "uncertainty.csv")
            text += ("\n## Variance between parameter sets (world) and between seeds (chance)"
                     "\n\nquantity a: arm A's outcome, b: this arm's, diff: this arm - A, pair "
                     "by pair\n\n" + markdown(split[SPLIT_SHOWN]))
            for label, table in splits.items():
                a, b = runs[labels[0]], runs[label]
                diff = b[list(table.loc["diff"].index)] - a[list(table.loc["diff"].index)]
                diff[BY] = a[BY]
                plots.save(ensemble_figure(diff, table.loc["diff"],
                                           f"{label[:1]} - A by parameter set"),
                           tmp / f"uncertainty_{label[:1]}.png")
        (tmp / "compare.md").write_text(text, encoding="utf-8")
        title = f"{' / '.join(labels[1:])} vs {labels[0]} ({pairs.split(' (', maxsplit=1)[0]})"
        plots.save(plots.forest_panels(tables, title, reference="A"), tmp / "forest.png")
        paired.to_csv(tmp / "runs.csv")
