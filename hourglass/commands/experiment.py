"""``hourglass experiment NAME SCENARIO``: the report's experiments, run on the model.

NAME is ``contact-intensity`` (the 6x6 contact heat map from twice-weekly reports over three
months), ``personal-learning`` (the weekly "productive conversation?" heat map) or ``natural``
(involved officials against similar colleagues who were not involved). See
:mod:`hourglass.experiments` and docs/validation.md for the design and the time resolution.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hourglass.commands.common import (
    announce_compilation,
    check_memory,
    check_writable,
    load_scenario,
    parse_assignments,
    peer_matrix_bytes,
    run_bytes,
    seed_type,
    whole,
)
from simulation.errors import HourglassError

# The names of hourglass.experiments.EXPERIMENTS (a test keeps them equal): parsing does not
# import the experiments.
EXPERIMENTS = ("contact-intensity", "personal-learning", "natural")
OBSERVED_MONTHS = 3
"""Months contact-intensity and personal-learning observe (their ``months`` default; a test
keeps them equal): the window is checked before any run."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass experiment``."""
    parser = subparsers.add_parser(
        "experiment",
        help="run one of the report's experiments on a scenario",
        description="Run a report experiment (section 'Learning from experiments') on the model; "
        "write tables, a figure and summary.json into --out.",
    )
    parser.add_argument("name", choices=EXPERIMENTS, help="the experiment")
    parser.add_argument("scenario", help="scenario name in scenarios/ or path to a .toml file")
    parser.add_argument("--seed", type=seed_type, default=1, help="random seed (default: 1)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: results/experiment-NAME-SCENARIO-seedN)")
    parser.add_argument("--set", action="append", dest="overrides", metavar="KEY=VALUE",
                        help="override a scenario key (repeatable)")
    parser.add_argument("--start", type=whole(0), default=12,
                        help="contact-intensity, personal-learning: months before observation "
                        "starts (default 12)")
    parser.add_argument("--reviews", type=whole(1), default=8,
                        help="natural: reviews (runs) whose officials are contacted (default 8)")
    parser.add_argument("--per-review", type=whole(1), default=8,
                        help="natural: officials contacted per review (default 8)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (months or runs done, time left)")


def main(args: argparse.Namespace) -> int:
    """Run the experiment and write its outputs."""
    from analysis.output import check_output, result_files, staged_directory
    from hourglass.experiments import run_experiment

    scenario = load_scenario(args.scenario, parse_assignments(args.overrides))
    check_memory(run_bytes(scenario.values, many=args.name == "natural")
                 + peer_matrix_bytes(scenario.values),
                 f"the {args.name} experiment on {scenario.name}")
    if args.name == "natural":
        options = {"reviews": args.reviews, "per_review": args.per_review}
    else:
        options = {"start": args.start}
        if args.start + OBSERVED_MONTHS > scenario["run.months"]:
            raise HourglassError(
                f"experiment: --start {args.start} + {OBSERVED_MONTHS} observed months exceeds "
                f"run.months = {scenario['run.months']} of scenario '{scenario.name}'"
            )
    out = args.out or Path("results") / f"experiment-{args.name}-{scenario.name}-seed{args.seed}"
    check_output(out, "experiment")
    check_writable(out)
    announce_compilation()
    with staged_directory(out, "experiment") as staging:
        result = run_experiment(args.name, scenario, args.seed, staging,
                                progress=not args.no_progress, **options)
        written = result_files(staging)
    if args.name == "contact-intensity":
        print(f"participants (positions): {list(result['participants']['position'])}")
        print("informal contact, reports per pair:")
        print(result["informal"])
        print("formal contact, reports per pair:")
        print(result["formal"])
    elif args.name == "personal-learning":
        weekly = result["weekly"]
        print(f"{len(weekly)} participants, {weekly.shape[1]} weeks; share of weeks with a "
              f"productive conversation: {weekly.to_numpy().mean():.3f}")
    else:
        print(result["table"].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(result["contrasts"].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {out}/: {' '.join(written)}")
    return 0
