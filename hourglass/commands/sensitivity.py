"""``hourglass sensitivity``: the default sensitivity analysis of a scenario.

With no arguments: every lever and tool group of the baseline (``hourglass/spaces/levers.toml``),
a Sobol' sweep (N=1024) and a Morris screening (64 trajectories), each with the run's seed as one
more factor, ``chance`` (one run a design row; its indices are the share of an outcome's variance
that is chance). ``--replicates R`` averages R seeds a row instead (common random numbers;
indices on replicate means, R times the runs). Writes to ``--out`` (default
``results/sensitivity``):

* ``runs/sobol``, ``runs/morris``: the resumable sweep stores;
* ``report/``: ``sobol.csv``/``.md``, ``morris.csv``/``.md``, ``convergence.csv``,
  ``time_resolved.csv`` and figures (Sobol' bars with intervals per outcome, Morris
  mu*-sigma, levers x outcomes heat maps, time-resolved indices, convergence).

The report is written to a hidden directory and renamed into place when complete.

Over a posterior ensemble (the default; docs/uncertainty.md) the parameter set is one more
factor, and ``runs/ensemble`` and ``report/uncertainty.*`` split each outcome's variance at the
scenario's levers between parameter sets and seeds. ``--assumptions`` adds the assumption groups
(``hourglass/spaces/assumptions.toml``) as grouped Sobol' factors (``runs/sobol_assumptions``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hourglass.commands._options import add_run_options, check_output, parse_assignments
from hourglass.commands.common import (
    announce_compilation,
    check_outputs,
    check_space,
    check_sweep_memory,
    check_writable,
    load_scenario,
    power_of_two,
    whole,
)
from hourglass.posterior import BY, add_posterior_options

CHANCE = "chance"  # analysis.sweep.CHANCE (a test keeps them equal): parsing imports no engine

if TYPE_CHECKING:
    import pandas as pd

    from analysis.sweep import Sweep

# hourglass.adapter.LEVER_SPACE (a test keeps them equal): parsing does not import the adapter.
DEFAULT_SPACE = Path(__file__).resolve().parents[1] / "spaces" / "levers.toml"

DEFAULT_OUTCOMES = (
    "engaged", "sustained_contacts", "practical_learning", "applied", "orgs_changed",
    "staff_reached", "reported_attendance",
)


def add_parser(subparsers: Any) -> None:
    """Register ``sensitivity``."""
    parser = subparsers.add_parser(
        "sensitivity", help="Sobol' + Morris analysis of all levers and tool groups",
        description="Sobol' and Morris sensitivity analysis of a scenario's levers and tool "
        "groups, with the run's seed as one more factor (chance; --replicates R: on means of R "
        "seeds instead). Interrupted runs resume from --out/runs.",
    )
    parser.add_argument("scenario", nargs="?", default="baseline",
                        help="base scenario (default baseline)")
    parser.add_argument("--space", type=Path, default=DEFAULT_SPACE,
                        help="TOML space file (default hourglass/spaces/levers.toml)")
    parser.add_argument("--samples", type=power_of_two, default=1024,
                        help="Sobol' base samples N, a power of 2 (default 1024)")
    parser.add_argument("--replicates", type=whole(1), default=None,
                        help="seeds per design row, averaged (default: none averaged; the "
                        "run's seed is one more factor, 'chance', with one run a row)")
    parser.add_argument("--trajectories", type=whole(2, or_zero=True), default=64,
                        help="Morris trajectories (default 64; 0 skips Morris)")
    parser.add_argument("--outputs", nargs="+", default=None, metavar="OUTPUT",
                        help=f"outcomes to report (default: {', '.join(DEFAULT_OUTCOMES)})")
    parser.add_argument("--every", type=whole(0), default=12,
                        help="months between time-resolved indices (default 12)")
    parser.add_argument("--resamples", type=whole(2), default=1000,
                        help="bootstrap resamples (default 1000)")
    parser.add_argument("--out", type=Path, default=Path("results/sensitivity"),
                        help="output directory (default results/sensitivity)")
    parser.add_argument("--assumptions", action="store_true",
                        help="also vary the calibrated assumptions, in the groups of "
                        "hourglass/spaces/assumptions.toml (ranges: the posterior's 5-95 %% "
                        "or the prior's), and report grouped Sobol' indices beside the levers "
                        "(Morris is skipped)")
    add_run_options(parser)
    add_posterior_options(parser)


def _long(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    return pd.concat(frames, names=["output"])


def main(args: argparse.Namespace) -> int:
    """Check everything, run both sweeps, compute indices and write the report."""
    from analysis.space import Space
    from analysis.sweep import run_sweep
    from analysis.uncertainty import run_ensemble
    from hourglass.adapter import HourglassModel
    from hourglass.commands._options import executor_from
    from hourglass.posterior import choose, describe, held_keys, held_line

    levers = Space.from_toml(args.space)
    overrides = parse_assignments(args.overrides, "--set")
    ensemble = choose(args, args.seed)
    held = held_keys(ensemble, args.scenario, overrides)
    space, labels = _space(args, levers, ensemble)
    path = ensemble.path if ensemble is not None and not args.assumptions else None
    model = HourglassModel(args.scenario, every=args.every, overrides=overrides,
                           parameter_sets=path, held=held if path else ())
    outcomes = _check(args, model, space, levers)
    trajectories = 0 if args.assumptions else args.trajectories
    sets_line = "; ".join(filter(None, [describe(ensemble, args, "sensitivity"),
                                        held_line(held, f"{args.scenario} or --set")]))
    print(sets_line, flush=True)
    announce_compilation()
    info = {"scenario": args.scenario, "space_file": str(args.space)}
    start = time.perf_counter()
    split = runs = None
    with executor_from(args) as executor:
        common = {"seed": args.seed, "executor": executor, "workers": args.workers,
                  "progress": not args.no_progress, "info": info,
                  "seed_factor": args.replicates is None}
        sobol_sweep = run_sweep(model, space, "sobol", args.samples, args.replicates or 1,
                                store=args.out / "runs" / _sobol_store(args), **common)
        sobol_took = time.perf_counter() - start
        morris_sweep = None
        if trajectories:
            morris_sweep = run_sweep(model, space, "morris", trajectories, args.replicates or 1,
                                     store=args.out / "runs" / "morris", **common)
        if ensemble is not None:
            point = HourglassModel(args.scenario, every=0, overrides=overrides,
                                   parameter_sets=ensemble.path, held=held)
            split, runs = run_ensemble(
                point, ensemble.rows, _ensemble_seeds(args), outcomes=outcomes,
                seed=args.seed, executor=executor, workers=args.workers,
                progress=not args.no_progress, store=args.out / "runs" / "ensemble",
                desc="parameter sets x seeds")
    took = time.perf_counter() - start
    report = args.out / "report"
    sob_long = _report(args, space, sobol_sweep, morris_sweep, outcomes, report,
                       (sets_line, labels, split, runs))
    print(sob_long.round(3).to_string())
    for note in _notes(sob_long, args.samples):
        print(f"note: {note}")
    if split is not None:
        print(f"variance of each outcome at {args.scenario}'s levers: between parameter sets "
              "(what we do not know about the world) and between seeds (chance)")
        print(split[SPLIT_SHOWN].to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"report in {report}")
    print(f"time this session: Sobol' runs {sobol_took:.1f} s, all runs {took:.1f} s, "
          f"everything {time.perf_counter() - start:.1f} s")
    return 0


def _notes(sob_long: pd.DataFrame, samples: int) -> list[str]:
    """A line per outcome that is constant (no indices) or has intervals too wide to read."""
    from analysis.sensitivity import interval_note

    notes = []
    for output in dict.fromkeys(sob_long.index.get_level_values("output")):
        note = interval_note(sob_long.loc[output], samples)
        if note:
            notes.append(f"{output}: {note}")
    return notes


SPLIT_SHOWN = ["mean", "between", "within", "share_between", "share_low", "share_high"]

ENSEMBLE_SEEDS = 10
"""Seeds a parameter set runs at the scenario's own levers when no --replicates is given."""


def _ensemble_seeds(args: argparse.Namespace) -> int:
    """Seeds per parameter set of the variance split (at least 2: within needs two)."""
    return ENSEMBLE_SEEDS if args.replicates is None else max(2, args.replicates)


def _sobol_store(args: argparse.Namespace) -> str:
    """The Sobol' store's name: a grouped design is another sweep, kept apart."""
    return "sobol_assumptions" if args.assumptions else "sobol"


def _space(args: argparse.Namespace, levers: Any, ensemble: Any) -> tuple[Any, dict[str, str]]:
    """The analysed space: the levers, plus the parameter set or the assumption groups.

    Over an ensemble (and without ``--assumptions``) the parameter set is one more factor: its
    Sobol' indices are the share of the variance that what we do not know about the world
    carries, beside each lever's. With ``--assumptions`` each calibrated key is a factor of its
    own, analysed in its group (grouped Sobol').
    """
    from analysis.space import Discrete, Space

    factors = dict(levers.factors)
    if args.assumptions:
        from analysis.grouped import GroupedSpace
        from hourglass.assumptions import assumption_factors

        specs, labels = assumption_factors(ensemble)
        overrides = parse_assignments(args.overrides, "--set")
        # A lever of the space stays a lever; a key fixed with --set stays fixed.
        fixed = [k for k in specs if k in levers.keys or k in overrides]
        for key in fixed:
            specs.pop(key)
            labels.pop(key)
        factors.update(specs)
        return GroupedSpace(factors, labels, source="levers and assumption groups"), labels
    if ensemble is not None:
        factors[BY] = Discrete("choice", tuple(ensemble.rows))
        return Space(factors, source=f"{args.space} and parameter sets"), {}
    return levers, {}


def _check(args: argparse.Namespace, model: Any, space: Any, levers: Any) -> list[str]:
    """Refuse, before any run, what would fail after the sweeps; return the outcomes."""
    outcomes = check_outputs(args.outputs, "--outputs") or list(DEFAULT_OUTCOMES)
    overrides = parse_assignments(args.overrides, "--set")
    check_space(load_scenario(args.scenario, overrides), levers, str(args.space))
    if BY in space.factors:  # every drawn set, before any run
        for row in space.factors[BY].values:  # noqa: PD011 - a factor's values, not pandas
            model.check({BY: row})
    check_output(args.out / "report", "sensitivity")
    check_writable(args.out)
    check_sweep_memory(model, space, [("sobol", args.samples), ("morris", args.trajectories)],
                       args.replicates or 1, args.workers)
    return outcomes


def _report(args: argparse.Namespace, space: Any, sobol_sweep: Sweep, morris_sweep: Sweep | None,
            outcomes: list[str], report: Path, extra: tuple) -> pd.DataFrame:
    """Write the report directory; return the Sobol' table."""
    import pandas as pd

    from analysis import plots
    from analysis.sensitivity import convergence, monthly_outputs, morris, sobol, time_resolved
    from hourglass.commands._options import markdown, staged_directory

    sets_line, labels, split, runs = extra
    opts = {"num_resamples": args.resamples}
    with staged_directory(report, "sensitivity") as tmp:
        head = _uncertainty(tmp, args, space, sets_line, labels, split, runs)
        sob = {o: sobol(sobol_sweep, o, **opts) for o in outcomes}
        sob_long = _long(sob)
        sob_long.to_csv(tmp / "sobol.csv")
        (tmp / "sobol.md").write_text(markdown(sob_long), encoding="utf-8")
        for o, frame in sob.items():
            plots.save(plots.sobol_bars(frame, f"Sobol' indices: {o}"), tmp / f"sobol_{o}.png")
        st = pd.DataFrame({o: f["ST"] for o, f in sob.items()})
        plots.save(plots.heatmap(st, "Total-order Sobol' index ST", "ST"), tmp / "heatmap_ST.png")
        conv = _long({o: convergence(sobol_sweep, o, **opts).set_index(["n", "parameter"])
                      for o in outcomes})
        conv.to_csv(tmp / "convergence.csv")
        for o in outcomes:
            frame = conv.loc[o].reset_index()
            plots.save(plots.convergence_lines(frame, "ST", f"Convergence of ST: {o}"),
                       tmp / f"convergence_{o}.png")
        timed = {o: time_resolved(sobol_sweep, o, **opts).set_index(["month", "parameter"])
                 for o in outcomes if monthly_outputs(sobol_sweep, o)}
        if timed:
            _long(timed).to_csv(tmp / "time_resolved.csv")
            for o, frame in timed.items():
                plots.save(plots.time_lines(frame.reset_index(), "ST", f"ST by month: {o}"),
                           tmp / f"time_{o}.png")
        if morris_sweep is not None:
            mor = {o: morris(morris_sweep, o, **opts) for o in outcomes}
            mor_long = _long(mor)
            mor_long.to_csv(tmp / "morris.csv")
            (tmp / "morris.md").write_text(markdown(mor_long), encoding="utf-8")
            for o, frame in mor.items():
                plots.save(plots.morris_scatter(frame, f"Morris: {o}"), tmp / f"morris_{o}.png")
            mu = pd.DataFrame({o: f["mu_star"] for o, f in mor.items()})
            plots.save(plots.heatmap(mu, "Morris mu* (per unit range)", "mu*"),
                       tmp / "heatmap_mu_star.png")
        if labels or BY in space.factors or sobol_sweep.seed_factor:
            from analysis.uncertainty_plots import kind_bars

            kinds = {name: _kind(name, labels) for name in sob_long.index.unique("parameter")}
            beside = [("assumption groups" if labels else
                       "the parameter set" if BY in space.factors else ""),
                      "chance" if sobol_sweep.seed_factor else ""]
            plots.save(kind_bars(sob_long, kinds, "Total-order Sobol' index ST: levers, "
                                 + ", ".join(filter(None, beside))),
                       tmp / "levers_and_assumptions.png")
        (tmp / "README.md").write_text(
            f"# Sensitivity analysis of '{args.scenario}'\n\n"
            f"- space: {args.space} ({sobol_sweep.space.dim} factors: "
            f"{', '.join(sobol_sweep.space.names)})\n"
            + head
            + f"- Sobol': N={args.samples}, {_runs_line(args, sobol_sweep)}, "
            f"{args.resamples} bootstrap resamples, 95 % intervals\n"
            + (f"- Morris: {args.trajectories} trajectories, {_runs_line(args, morris_sweep)}\n"
               if morris_sweep is not None else "")
            + ("- Morris: skipped (--assumptions: grouped indices are Sobol' only)\n"
               if args.assumptions else "")
            + f"- seed {args.seed}; fixed overrides {parse_assignments(args.overrides, '--set')}\n"
            f"- code version {sobol_sweep.manifest.get('code_version', 'unknown')}\n"
            + "".join(f"- note: {note}\n" for note in _notes(sob_long, args.samples))
            + "\n## Sobol'\n\n" + markdown(sob_long)
            + ("" if split is None else "\n## Variance between parameter sets and seeds\n\n"
               f"At {args.scenario}'s own levers, {runs[BY].nunique()} parameter "
               f"sets x {_ensemble_seeds(args)} seeds (runs/ensemble): between = what we do "
               "not know about the world, within = chance.\n\n" + markdown(split)),
            encoding="utf-8",
        )
    return sob_long


def _runs_line(args: argparse.Namespace, sweep: Sweep) -> str:
    """How a sweep's rows became runs, for the report."""
    if sweep.seed_factor:
        return (f"{sweep.design.rows} rows, one run each = {sweep.n_runs} runs; the run's seed "
                f"is the factor {CHANCE!r} (its indices: the share that is chance)")
    return (f"{sweep.design.rows} rows x {args.replicates} replicates = {sweep.n_runs} runs; "
            "indices on replicate means")


def _kind(name: str, labels: dict[str, str]) -> str:
    """What an index row is: lever, tool group, assumption group, parameter set or seed."""
    if name == BY:
        return "parameter set (posterior)"
    if name == CHANCE:
        return "chance (the run's seed)"
    if name in set(labels.values()):
        return "assumption group"
    return "tool group" if name.startswith("group.") else "lever"


def _uncertainty(tmp: Path, args: argparse.Namespace, space: Any, sets_line: str,
                 labels: dict[str, str], split: pd.DataFrame | None,
                 runs: pd.DataFrame | None) -> str:
    """Write the variance split and the assumption groups; return the README's lines.

    ``split`` is computed exactly when the command runs over an ensemble.
    """
    import json

    from analysis import plots
    from analysis.uncertainty_plots import ensemble_figure, split_bars
    from hourglass.assumptions import describe as group_lines
    from hourglass.commands._options import markdown

    lines = f"- {sets_line}\n"
    if BY in space.factors:
        lines += (f"- {BY}: the posterior's parameter set as one more factor: its indices are "
                  "what we do not know about the world, beside the levers\n")
    if labels:
        groups = group_lines(labels)
        (tmp / "assumption_groups.json").write_text(
            json.dumps({g.split(": ")[0]: g.split(": ")[1].split(", ") for g in groups},
                       indent=2) + "\n", encoding="utf-8")
        lines += ("- assumption groups (grouped Sobol'; ranges "
                  + ("the ensemble's 5-95 %" if split is not None
                     else "the calibration prior's") + "):\n"
                  + "".join(f"  - {g}\n" for g in groups))
    if split is not None:
        split.to_csv(tmp / "uncertainty.csv")
        (tmp / "uncertainty.md").write_text(markdown(split), encoding="utf-8")
        runs.to_csv(tmp / "ensemble_runs.csv", index=False)
        plots.save(ensemble_figure(runs, split, f"{args.scenario}: outcomes by parameter set"),
                   tmp / "uncertainty.png")
        plots.save(split_bars(split, f"{args.scenario}: where the variance lies"),
                   tmp / "uncertainty_shares.png")
    return lines
