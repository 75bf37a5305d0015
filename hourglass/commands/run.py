"""``hourglass run``: one run of a scenario (summary, time series, scenario and figure), or many.

With ``--replicates N`` the scenario runs at N common-random-number seeds through the engine's
fan-out (bit-identical on any worker count) and the hourglass and every output's course are
drawn as medians with 10-90 % bands; ``--counterfactual no_peer_learning`` also runs each seed
without any tool, so the change attributable to peer learning is scenario minus counterfactual,
seed by seed (:mod:`hourglass.replicates`).

Like ``compare``, the replicates run over the shipped posterior ensemble by default
(``--posterior FILE`` another, ``--point-defaults`` the scenario's point values;
docs/uncertainty.md): replicate ``r`` is parameter set ``r % K`` of the ``K`` drawn sets and its
own seed, and the counterfactual runs the same set and seed, so the attributable change is still
paired. The bands then carry both uncertainties, and ``uncertainty.csv`` splits each headline
output's variance between parameter sets (what we do not know about the world) and seeds
(chance).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from hourglass.commands._options import add_executor_options
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
from hourglass.posterior import BY, SETS, add_posterior_options, replicate_sets
from simulation.errors import HourglassError

HEADLINE = (
    "engaged", "sustained_contacts", "practical_learning", "applied",
    "staff_reached", "orgs_changed", "countries_changed", "reported_attendance",
)
COUNTERFACTUALS = ("no_peer_learning",)
"""``--counterfactual``: the same scenario with no tool used (no initiative)."""
REPLICATE_FILES = frozenset({"hourglass.png", "replicates.csv", "quantiles.csv", "scenario.toml",
                             "ensemble.json"})
ENSEMBLE_FILES = frozenset({"uncertainty.csv"})
"""Written besides :data:`REPLICATE_FILES` when the replicates run over parameter sets."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass run``."""
    parser = subparsers.add_parser(
        "run",
        help="run one scenario and write its results and figure",
        description="Run one scenario; write summary.json, timeseries.csv, scenario.toml and "
        "hourglass.png into --out.",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        default="baseline",
        help="scenario name in scenarios/ or path to a .toml file (default: baseline)",
    )
    parser.add_argument("--seed", type=seed_type, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a scenario key, e.g. --set levers.turnover=0.3 (repeatable)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: results/<scenario>-seed<N>; with --set, "
        "results/<scenario>-<digest of the overrides>-seed<N>; with --replicates R, "
        "...-seed<N>-r<R>, -no_peer_learning with that counterfactual, -point at the point "
        "values, -<K>sets with --sets K and -posterior-<digest of the file> with --posterior)",
    )
    many = parser.add_argument_group(
        "many seeds", "run the scenario at R seeds derived from --seed (common random numbers) "
        "and draw medians with 10-90 % bands; writes hourglass.png, replicates.csv (one row per "
        "seed), quantiles.csv (every output, month by month), scenario.toml and ensemble.json. "
        "By default over the shipped posterior: replicate r runs parameter set r mod K (K sets "
        "x R // K seeds, at least 2 x 2), and uncertainty.csv splits each headline output "
        "between parameter sets (the world) and seeds (chance)")
    many.add_argument("--replicates", type=whole(2), default=None, metavar="R",
                      help="seeds to run (2 or more; default: one run at --seed)")
    many.add_argument("--counterfactual", choices=COUNTERFACTUALS, default=None,
                      help="also run every seed without any tool (no_peer_learning): the figure "
                      "and tables add the counterfactual and the change attributable to peer "
                      "learning (scenario - counterfactual, seed by seed)")
    many.add_argument("--at", type=whole(1), nargs="+", default=None, metavar="MONTH",
                      help="months to print (and mark in the figure; default: the last month)")
    many.add_argument("--store", type=Path, default=None, metavar="DIR",
                      help="keep every run in DIR as it finishes; the same command run again "
                      "resumes an interrupted one (default: runs kept in memory only)")
    add_posterior_options(many)
    # None until given, so --sets without --replicates is told it applies to many seeds only
    parser.set_defaults(sets=None)
    add_executor_options(many)


def default_out(scenario: Any, seed: int) -> Path:
    """``results/<scenario>-seed<N>``, with a digest of the overrides if there are any.

    Example: ``results/baseline-seed1``; with ``--set levers.trust=0.9``,
    ``results/baseline-3f2a1c-seed1`` (summary.json and scenario.toml list the overrides).
    """
    digest = scenario.overrides_digest()
    return Path("results") / "-".join(p for p in (scenario.name, digest, f"seed{seed}") if p)


def main(args: argparse.Namespace) -> int:
    """Run the scenario and write the results."""
    if args.replicates is None:
        alone = [flag for flag, value in (
            ("--counterfactual", args.counterfactual), ("--at", args.at),
            ("--store", args.store), ("--posterior", args.posterior),
            ("--point-defaults", args.point_defaults), ("--sets", args.sets),
            ("--workers", args.workers), ("--scheduler", args.scheduler),
            ("--no-progress", args.no_progress)) if value]
        if alone:
            raise HourglassError(f"{alone[0]}: applies to many seeds only; add --replicates R "
                                 "(2 or more)")
    else:
        return _main_replicates(args)
    from hourglass.commands._collector import paused_collector

    with paused_collector():  # start-up: module state, not garbage
        from analysis.output import Legacy, check_output, staged_directory
        from simulation import PeerLearningModel
        from simulation.compiled import load_implementations

        load_implementations()

    scenario = load_scenario(args.scenario, parse_assignments(args.overrides))
    check_memory(run_bytes(scenario.values), f"one run of {scenario.name}")
    out = args.out or default_out(scenario, args.seed)
    # a result of hourglass before results carried a marker: exactly these files
    legacy = Legacy("summary.json", frozenset(
        {"summary.json", "timeseries.csv", "scenario.toml", "hourglass.png"}))
    check_output(out, "run", legacy=legacy)
    check_writable(out)
    announce_compilation()
    started = time.perf_counter()
    result = PeerLearningModel(scenario, rng=args.seed).run()
    # matplotlib after the model: Mesa's module loggers look their callers up among the modules
    # imported so far (inspect.getmodule), fewer before matplotlib's
    with paused_collector():
        from hourglass.figures import plot_hourglass

    with staged_directory(out, "run", legacy=legacy) as staging:
        plot_hourglass(result, staging / "hourglass.png",
                       title=f"Hourglass: scenario {scenario.label()}, seed {args.seed}")
        result.write(staging)
    elapsed = time.perf_counter() - started
    print(
        f"scenario {scenario.label()}, seed {args.seed}, {scenario['run.months']} months "
        f"({elapsed:.2f} s)"
    )
    for key in HEADLINE:
        print(f"  {key:<22} {result.summary[key]:.3f}")
    print(f"wrote {out}/: summary.json timeseries.csv scenario.toml hourglass.png")
    sys.stdout.flush()
    return 0


def _main_replicates(args: argparse.Namespace) -> int:
    """Run the scenario (and its counterfactual) at ``--replicates`` seeds; write bands and CSVs.

    Over an ensemble replicate ``r`` runs parameter set ``rows[r % K]`` at seed ``r`` in every
    arm, and each headline output's variance is split between parameter sets and seeds.
    """
    import os

    from analysis.output import check_output
    from hourglass.commands._options import executor_from
    from hourglass.commands.common import check_scheduler

    check_scheduler(args)
    overrides = parse_assignments(args.overrides)
    scenario = load_scenario(args.scenario, overrides)
    months = int(scenario["run.months"])
    at = tuple(dict.fromkeys(args.at or (months,)))
    late = [m for m in at if m > months]
    if late:
        raise HourglassError(f"--at {late[0]}: the run lasts {months} months (run.months); "
                             f"allowed: 1 to {months}")
    ensemble, shared = replicate_sets(args, args.replicates, args.sets or SETS,
                                      "the replicates need at least 4")
    replicates = len(shared) if shared else args.replicates
    concurrent = args.workers or os.cpu_count() or 1
    arms = 2 if args.counterfactual else 1
    # every run's monthly outputs are held until the end: about 30 columns a month
    held = replicates * arms * (months + 1) * 30 * 8 * 4
    check_memory(concurrent * run_bytes(scenario.values, many=True) + held,
                 f"{replicates} runs of {scenario.name} ({concurrent} at a time)",
                 "fewer replicates or a smaller population")
    single = default_out(scenario, args.seed)
    out = args.out or single.with_name(
        f"{single.name}-r{args.replicates}"
        + (f"-{args.counterfactual}" if args.counterfactual else "")
        + _ensemble_suffix(args, ensemble))
    check_output(out, "run")
    check_writable(out)
    if args.store is not None:
        _check_store(args.store, out)
    models, keep = _models(args, scenario, overrides, ensemble)
    lines = _sets_lines(args, scenario, ensemble, keep)
    print("\n".join(lines), flush=True)
    announce_compilation()
    started = time.perf_counter()
    from hourglass.replicates import attributable, quantiles, run_replicates, variance_table

    with executor_from(args) as executor:
        runs = run_replicates(models, replicates, args.seed, executor,
                              workers=args.workers, progress=not args.no_progress,
                              store=args.store, replicate_params=shared)
    if args.counterfactual:
        runs["attributable"] = attributable(runs["scenario"], runs["counterfactual"])
    table = quantiles(runs)
    split = None
    if ensemble is not None:
        split = variance_table({arm: runs[arm] for arm in ("scenario", "attributable")
                                if arm in runs}, HEADLINE, at, by=BY, seed=args.seed)
    what = _replicates_line(replicates, ensemble)
    record = {"parameter_sets": lines,
              "ensemble": ensemble.as_dict() if ensemble is not None else None,
              "replicates": replicates,
              "seeds_per_set": replicates // len(ensemble.rows) if ensemble else None,
              "held": {arm: list(keys) for arm, keys in keep.items()}}
    _write_replicates(out, args, scenario, runs, table, at, split, record, what)
    elapsed = time.perf_counter() - started
    print(f"scenario {scenario.label()}, {what} from root seed {args.seed}, "
          f"{months} months ({elapsed:.1f} s)")
    print(_at_table(table, at, over_sets=ensemble is not None))
    if split is not None:
        print(_split_table(split, at))
    written = REPLICATE_FILES | (ENSEMBLE_FILES if split is not None else frozenset())
    print(f"wrote {out}/: {' '.join(sorted(written))}"
          + (f"; every run is kept in {args.store}/" if args.store else ""))
    sys.stdout.flush()
    return 0


def _models(args: argparse.Namespace, scenario: Any, overrides: dict[str, Any], ensemble: Any
            ) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
    """The scenario's model (and its counterfactual's) over the ensemble, and the keys each holds.

    A key the scenario, ``--set`` or the counterfactual's "no tool" chooses on purpose is kept
    from the parameter sets (:func:`hourglass.posterior.held_keys`): a set must not undo it.
    """
    from hourglass.adapter import HourglassModel
    from hourglass.experiments import no_peer_learning
    from hourglass.posterior import held_keys

    path = ensemble.path if ensemble is not None else None
    keep = {"scenario": held_keys(ensemble, args.scenario, overrides)}
    models = {"scenario": HourglassModel(args.scenario, every=1, overrides=overrides,
                                         parameter_sets=path, held=keep["scenario"])}
    if args.counterfactual:
        cf = dict(no_peer_learning(scenario).overrides)
        keep["counterfactual"] = held_keys(ensemble, args.scenario, cf)
        models["counterfactual"] = HourglassModel(args.scenario, every=1, overrides=cf,
                                                  parameter_sets=path,
                                                  held=keep["counterfactual"])
    return models, keep


def _sets_lines(args: argparse.Namespace, scenario: Any, ensemble: Any,
                keep: dict[str, tuple[str, ...]]) -> list[str]:
    """What runs over which parameter sets, printed before the runs (and kept in ensemble.json).

    The counterfactual's held keys are named only where they differ from the scenario's.
    """
    from hourglass.posterior import describe, held_line

    lines = [describe(ensemble, args, "run")]
    if keep["scenario"]:
        lines.append(f"scenario: {held_line(keep['scenario'], f'{scenario.name} or --set')}")
    if keep.get("counterfactual", keep["scenario"]) != keep["scenario"]:
        lines.append("counterfactual: " + held_line(
            keep["counterfactual"], f"{scenario.name}, --set or no_peer_learning"))
    return lines


def _ensemble_suffix(args: argparse.Namespace, ensemble: Any) -> str:
    """What the default folder adds for the parameter sets, so two kinds of run never share it.

    Nothing for the shipped posterior's default draw; ``-point`` at the point values (asked for,
    or because none ships); ``-posterior-<digest of the file>`` for another ensemble;
    ``-<K>sets`` for another ``--sets``.
    """
    import hashlib

    if ensemble is None:
        return "-point"
    suffix = ""
    if ensemble.source == "--posterior":
        digest = hashlib.sha256(Path(ensemble.path).read_bytes()).hexdigest()[:6]
        suffix += f"-posterior-{digest}"
    if args.sets not in (None, SETS):
        suffix += f"-{args.sets}sets"
    return suffix


def _replicates_line(replicates: int, ensemble: Any) -> str:
    """How many runs an arm has and, over an ensemble, how they divide into sets and seeds."""
    if ensemble is None:
        return f"{replicates} seeds"
    k = len(ensemble.rows)
    return f"{replicates} replicates ({k} parameter sets x {replicates // k} seeds)"


def _check_store(store: Path, out: Path) -> None:
    """Refuse a --store that cannot be written or that overlaps --out, before any run."""
    check_writable(store, "--store", store=True)
    a, b = store.resolve(), out.resolve()
    if a == b or a.is_relative_to(b) or b.is_relative_to(a):
        raise HourglassError(f"--store {store}: must be outside --out {out} (the result folder "
                             "is written whole at the end)")


def _at_table(table: Any, at: tuple[int, ...], over_sets: bool = False) -> str:
    """The headline outputs at the months ``at``.

    The scenario (and counterfactual) as median [band over seeds]; the attributable change as
    mean [95 % CI of the mean] (over an ensemble, ``over_sets``: over the sets' means).
    """
    from hourglass.replicates import at_months

    rows = at_months(table, HEADLINE, at)
    low, high = (c for c in rows.columns if c.startswith("p") and c[1:].isdigit())
    lines = []
    for arm, part in rows.groupby("arm", sort=False):
        effect = arm == "attributable"
        what = (f"mean [95 % CI{' over the parameter sets' if over_sets else ''}]" if effect
                else f"median [{low[1:]}-{high[1:]} % of "
                f"{'runs over sets and seeds' if over_sets else 'seeds'}]")
        lines.append(f"  {arm}: {what}")
        lines += _month_grid(part, at, lambda c, effect=effect: (
            f"{c['mean']:.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}]" if effect
            else f"{c['median']:.3f} [{c[low]:.3f}, {c[high]:.3f}]"))
    return "\n".join(lines)


def _month_grid(part: Any, at: tuple[int, ...], text: Any) -> list[str]:
    """One arm's table: a header of months, then a line per output with ``text(row)`` a cell."""
    lines = ["    " + f"{'month':<20}" + "".join(f"{m:>24}" for m in at)]
    for output, group in part.groupby("output", sort=False):
        cells = group.set_index("month").loc[list(at)]
        lines.append("    " + f"{output:<20}"
                     + "".join(f"{text(c):>24}" for _, c in cells.iterrows()))
    return lines


def _split_table(split: Any, at: tuple[int, ...]) -> str:
    """The share of each headline output's variance between parameter sets, one line an output.

    The rest is between seeds (chance); ``uncertainty.csv`` has both parts and their intervals.
    """
    import numpy as np

    lines = ["share of the variance between parameter sets (what we do not know about the "
             "world) [95 %]; the rest is between seeds (chance)"]
    for arm, part in split.groupby("arm", sort=False):
        lines.append(f"  {arm}:")
        lines += _month_grid(part, at, lambda c: (
            "does not vary" if np.isnan(c["share_between"]) else
            f"{c['share_between']:.2f} [{c['share_low']:.2f}, {c['share_high']:.2f}]"))
    return "\n".join(lines)


def _write_replicates(out: Path, args: argparse.Namespace, scenario: Any, runs: dict[str, Any],
                      table: Any, at: tuple[int, ...], split: Any, record: dict[str, Any],
                      what: str) -> None:
    """hourglass.png, the CSVs, scenario.toml and ensemble.json, staged into ``out``.

    ``uncertainty.csv`` only over an ensemble (``split`` not ``None``).
    """
    import json

    import pandas as pd

    from analysis.output import staged_directory
    from hourglass.figures import replicates_figure

    per_seed = pd.concat({arm: runs[arm].summary for arm in runs if arm != "attributable"},
                         names=["arm"]).reset_index()
    with staged_directory(out, "run") as staging:
        per_seed.to_csv(staging / "replicates.csv", index=False)
        table.to_csv(staging / "quantiles.csv", index=False)
        if split is not None:
            split.to_csv(staging / "uncertainty.csv", index=False)
        (staging / "scenario.toml").write_text(scenario.to_toml(), encoding="utf-8")
        (staging / "ensemble.json").write_text(json.dumps(record, indent=2) + "\n",
                                               encoding="utf-8")
        title = f"{scenario.label()}: {what} (root seed {args.seed})"
        if args.counterfactual:
            title += f", against {args.counterfactual}"
        fig = replicates_figure(table, HEADLINE, f"Hourglass: {title}", marks=at)
        fig.savefig(staging / "hourglass.png", dpi=110)
