r"""``hourglass design``: the Pareto front of change at scale (or another outcome) against cost.

NSGA-II (pymoo) over the facilitator's choices (``hourglass/spaces/design.toml``: every tool's
intensity and the facilitator levers), each design run on the same replicate seeds, scored by a
robust quantile over its runs (default the 25th percentile) and costed with
``hourglass/costs.toml`` (``--costs FILE`` for your own)::

    hourglass design                                   # baseline, orgs_changed, full search
    hourglass design --objective practical_learning --quick --out results/design-quick

Writes ``--out``/``runs`` (every run, as it completes: re-running the same command continues an
interrupted search and repeats no run) and ``--out``/``report``: ``front.png`` (cost against the
score, with each front point's interquartile band), ``front.csv``/``.md``, ``evaluated.csv``,
``summary.json``, ``README.md`` and ``scenarios/point-NN.toml``, one scenario file per front point
(``hourglass run``, ``hourglass compare``, the explorer).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from hourglass.commands._options import add_run_options, executor_from, parse_assignments
from simulation.errors import HourglassError

QUICK = {"population": 8, "generations": 3, "replicates": 3, "months": 36}
FULL = {"population": 32, "generations": 20, "replicates": 10}


def add_parser(subparsers: Any) -> None:
    """Register ``design``."""
    parser = subparsers.add_parser(
        "design", help="search tool mixes and facilitator choices for the outcome-cost front",
        description="NSGA-II search of tool intensities and facilitator levers for the Pareto "
        "front of a robust outcome (a quantile over replicates) against cost. Resumable: run "
        "the same command again to continue.",
    )
    parser.add_argument("scenario", nargs="?", default="baseline",
                        help="base scenario (default baseline)")
    parser.add_argument("--objective", default="orgs_changed",
                        help="output to maximise (default orgs_changed: change at scale; e.g. "
                        "practical_learning)")
    parser.add_argument("--quantile", type=float, default=0.25,
                        help="score = this quantile of the objective over a design's runs "
                        "(default 0.25: robust, not the mean)")
    parser.add_argument("--space", type=Path, default=None,
                        help="TOML space of choices (default hourglass/spaces/design.toml)")
    parser.add_argument("--costs", type=Path, default=None,
                        help="cost table (default hourglass/costs.toml)")
    parser.add_argument("--population", type=int, default=None,
                        help=f"NSGA-II population (default {FULL['population']}, --quick "
                        f"{QUICK['population']})")
    parser.add_argument("--generations", type=int, default=None,
                        help=f"generations (default {FULL['generations']}, --quick "
                        f"{QUICK['generations']})")
    parser.add_argument("--replicates", type=int, default=None,
                        help=f"seeds per design, the same for every design (default "
                        f"{FULL['replicates']}, --quick {QUICK['replicates']})")
    parser.add_argument("--parameter-sets", type=Path, default=None, metavar="FILE",
                        help="CSV or Parquet of parameter sets (columns: dotted scenario keys, "
                        "one set per row, e.g. a posterior ensemble); every design runs under "
                        "each (default: the point defaults)")
    parser.add_argument("--quick", action="store_true",
                        help=f"small search: population {QUICK['population']}, "
                        f"{QUICK['generations']} generations, {QUICK['replicates']} seeds, "
                        f"run.months={QUICK['months']}")
    parser.add_argument("--out", type=Path, default=Path("results/design"),
                        help="directory: runs/ (resumable) and report/ (default results/design)")
    add_run_options(parser)


def read_parameter_sets(path: Path | None) -> list[dict[str, Any]] | None:
    """Parameter sets from a CSV or Parquet file: one row per set, columns are scenario keys.

    Raises:
        HourglassError: A missing or unreadable file, or one with no rows.
    """
    if path is None:
        return None
    import pandas as pd

    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except FileNotFoundError:
        raise HourglassError(f"--parameter-sets {path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise HourglassError(f"--parameter-sets {path}: cannot read ({exc})") from None
    if frame.empty or frame.shape[1] == 0:
        raise HourglassError(f"--parameter-sets {path}: no parameter sets in it")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


def main(args: argparse.Namespace) -> int:
    """Search, then write the report and one scenario file per front point."""
    from analysis.output import check_output
    from analysis.space import Space
    from hourglass.adapter import HourglassModel
    from hourglass.commands.common import check_memory, check_scheduler, run_bytes
    from hourglass.costs import load_costs
    from hourglass.design import DESIGN_SPACE, check_costed, check_search, search

    preset = QUICK if args.quick else FULL
    population = args.population or preset["population"]
    generations = args.generations or preset["generations"]
    replicates = args.replicates or preset["replicates"]
    check_search(population, generations, replicates, args.quantile)
    costs = load_costs(args.costs)
    space_file = args.space or DESIGN_SPACE
    space = Space.from_toml(space_file)
    check_costed(space, costs)
    sets = read_parameter_sets(args.parameter_sets)
    overrides = parse_assignments(args.overrides, "--set")
    if args.quick:
        overrides.setdefault("run.months", QUICK["months"])
    model = HourglassModel(args.scenario, every=0, overrides=overrides)
    check_scheduler(args)
    concurrent = args.workers or os.cpu_count() or 1
    check_memory(concurrent * run_bytes(model.scenario().values, many=True),
                 f"{concurrent} runs at a time")
    report = args.out / "report"
    check_output(report, "design")
    started = time.perf_counter()
    with executor_from(args) as executor:
        result = search(
            model, space, costs, objective=args.objective, quantile=args.quantile,
            population=population, generations=generations, replicates=replicates,
            seed=args.seed, parameter_sets=sets, store=args.out / "runs", executor=executor,
            workers=args.workers, progress=not args.no_progress,
        )
    _write(result, report, args, space_file)
    _print(result, report, time.perf_counter() - started)
    return 0


def _write(result: Any, report: Path, args: argparse.Namespace, space_file: Path) -> None:
    from analysis import plots
    from analysis.output import staged_directory
    from hourglass.commands._options import markdown
    from hourglass.design import front_figure, front_table, scenario_text

    table = front_table(result)
    with staged_directory(report, "design") as tmp:
        plots.save(front_figure(result), tmp / "front.png")
        table.to_csv(tmp / "front.csv")
        (tmp / "front.md").write_text(markdown(table.set_index("point")), encoding="utf-8")
        result.evaluated.to_csv(tmp / "evaluated.csv")
        scenarios = tmp / "scenarios"
        scenarios.mkdir()
        names = []
        for point, key in enumerate(result.front.index, start=1):
            name = f"point-{point:02d}.toml"
            (scenarios / name).write_text(scenario_text(result, key, point, str(args.out)),
                                          encoding="utf-8")
            names.append(name)
        summary = {
            "scenario": args.scenario, "objective": result.objective,
            "quantile": result.quantile, "runs_per_design": result.runs_per_design,
            "designs_evaluated": len(result.evaluated), "seed": args.seed,
            "space": str(space_file), "costs": result.costs.path,
            "currency": result.costs.currency, "overrides": result.model.overrides,
            "command": "design " + " ".join(sys.argv[2:]),
            "base": result.base.reset_index().to_dict(orient="records")[0],
            "front": table.reset_index().assign(scenario=names).to_dict(orient="records"),
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str),
                                          encoding="utf-8")
        (tmp / "README.md").write_text(_readme(result, table, names, args, space_file),
                                       encoding="utf-8")


def _readme(result: Any, table: Any, names: list[str], args: argparse.Namespace,
            space_file: Path) -> str:
    from hourglass.commands._options import markdown

    base = result.base.iloc[0]
    q = f"{result.quantile:g} quantile"
    shown = table.set_index("point")[["cost", "facilitator_time", "venues", "travel", "score",
                                      "q25", "median", "q75"]].copy()
    money = ["cost", "facilitator_time", "venues", "travel"]
    shown[money] = shown[money].round().astype("int64")  # whole currency units
    return "\n".join([
        f"# Design search: {result.objective} against cost",
        "",
        f"- base scenario {args.scenario}, fixed overrides {result.model.overrides}",
        f"- choices searched ({space_file}): {', '.join(result.space.names)}",
        f"- costs: {result.costs.path} ({result.costs.currency}, over the run)",
        f"- score: the {q} of {result.objective} over {result.runs_per_design} runs per design "
        f"(the same seeds for every design); {len(result.evaluated)} designs evaluated by NSGA-II",
        f"- {args.scenario} as it is: cost {base['cost']:,.0f}, score {base['score']:.3g} "
        f"(interquartile {base['q25']:.3g}-{base['q75']:.3g})",
        "",
        "## The front (cheapest first)",
        "",
        markdown(shown),
        "",
        "Each point is a scenario file in scenarios/ (" + ", ".join(names) + "): run it with "
        "`hourglass run scenarios/point-01.toml`, compare two with `hourglass compare`, or load "
        "it in the explorer. The full design of each point is in front.csv.",
        "",
    ])


def _print(result: Any, report: Path, took: float) -> None:
    base = result.base.iloc[0]
    print(f"{len(result.evaluated)} designs, {result.runs_per_design} runs each "
          f"({result.ran} run this session); score = {result.quantile:g} quantile of "
          f"{result.objective}")
    print(f"{Path(result.model.base).stem} as it is: cost {base['cost']:,.0f} "
          f"{result.costs.currency}, score {base['score']:.3g}")
    for point, (_, row) in enumerate(result.front.iterrows(), start=1):
        print(f"  point {point:2d}: cost {row['cost']:>13,.0f}  score {row['score']:.3g} "
              f"(interquartile {row['q25']:.3g}-{row['q75']:.3g})")
    print(f"written to {report} [{took:.1f} s]")
