"""``hourglass experiment NAME SCENARIO``: the report's experiments, run on the model.

NAME is ``contact-intensity`` (the 6x6 contact heat map from twice-weekly reports over three
months), ``personal-learning`` (the weekly "productive conversation?" heat map) or ``natural``
(involved officials against similar colleagues who were not involved). See
:mod:`hourglass.experiments` and docs/validation.md for the design and the time resolution.

Over a posterior ensemble (the default; docs/uncertainty.md) the tables are one study (the first
set drawn) and the experiment's findings over the drawn sets x ``--replicates`` seeds are split
between parameter sets and seeds (:mod:`hourglass.experiment_ensemble`).
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
from hourglass.posterior import BY, add_posterior_options
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
    parser.add_argument("--replicates", type=whole(2), default=2,
                        help="over a posterior: seeds per parameter set (default 2)")
    parser.add_argument("--workers", type=whole(1), default=None,
                        help="over a posterior: local worker processes (default: all cores)")
    add_posterior_options(parser, sets=10)


def main(args: argparse.Namespace) -> int:
    """Run the experiment and write its outputs."""
    from analysis.output import check_output, result_files, staged_directory
    from hourglass.experiments import run_experiment
    from hourglass.posterior import choose, describe, held_keys, held_line

    overrides = parse_assignments(args.overrides)
    scenario = load_scenario(args.scenario, overrides)
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
    ensemble = choose(args, args.seed)
    held = held_keys(ensemble, args.scenario, overrides)
    model = None
    if ensemble is not None:
        from hourglass.experiment_ensemble import ExperimentModel

        model = ExperimentModel(args.name, args.scenario, overrides, ensemble.path, options,
                                held)
        for row in ensemble.rows:  # every drawn set, before any run
            model.check({BY: row})
        # The tables and figure show one study: the first parameter set drawn, at --seed.
        scenario = model._model().scenario({BY: ensemble.rows[0]})
    sets_line = "; ".join(filter(None, [describe(ensemble, args, "experiment"),
                                        held_line(held, f"{scenario.name} or --set")]))
    print(sets_line, flush=True)
    announce_compilation()
    with staged_directory(out, "experiment") as staging:
        result = run_experiment(args.name, scenario, args.seed, staging,
                                progress=not args.no_progress, **options)
        split = None
        if model is not None:
            split = _over_ensemble(args, model, ensemble, staging)
        _record(staging, sets_line, ensemble, split)
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
    if split is not None:
        print(f"{args.name} over {len(ensemble.rows)} parameter sets x {args.replicates} seeds "
              f"(the tables above: parameter set {ensemble.rows[0]}, seed {args.seed}); variance "
              "between parameter sets (what we do not know about the world) and between seeds "
              "(chance):")
        print(split[SPLIT_SHOWN].to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {out}/: {' '.join(written)}")
    return 0


SPLIT_SHOWN = ["mean", "between", "within", "share_between", "share_low", "share_high"]


def _over_ensemble(args: argparse.Namespace, model: object, ensemble: object,
                   staging: Path) -> object:
    """Run the experiment for each drawn set x ``--replicates`` seeds; write, return the split."""
    from analysis.plots import save
    from analysis.uncertainty import run_ensemble
    from analysis.uncertainty_plots import ensemble_figure
    from hourglass.commands._options import markdown

    split, runs = run_ensemble(model, ensemble.rows, args.replicates, seed=args.seed,
                               workers=args.workers, progress=not args.no_progress,
                               desc=f"{args.name} over parameter sets")
    split.to_csv(staging / "uncertainty.csv")
    (staging / "uncertainty.md").write_text(markdown(split), encoding="utf-8")
    runs.to_csv(staging / "ensemble_runs.csv", index=False)
    save(ensemble_figure(runs, split, f"{args.name}: findings by parameter set"),
         staging / "uncertainty.png")
    return split


def _record(staging: Path, sets_line: str, ensemble: object, split: object) -> None:
    """Add the parameter sets and the variance split to ``summary.json``."""
    import json
    import math

    path = staging / "summary.json"
    summary = json.loads(path.read_text())
    summary["parameter_sets"] = sets_line if ensemble is None else ensemble.as_dict()
    if ensemble is not None:
        summary["tables_from_parameter_set"] = ensemble.rows[0]
    if split is not None:
        summary["variance_split"] = {
            name: {k: (None if math.isnan(v) else v) for k, v in row.items()}  # not JSON: NaN
            for name, row in split[SPLIT_SHOWN].to_dict("index").items()}
    path.write_text(json.dumps(summary, indent=2) + "\n")
