"""``hourglass run``: one run of a scenario: summary, time series, scenario and figure."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from hourglass.commands.common import (
    announce_compilation,
    check_memory,
    check_writable,
    load_scenario,
    parse_assignments,
    run_bytes,
    seed_type,
)

HEADLINE = (
    "engaged", "sustained_contacts", "practical_learning", "applied",
    "staff_reached", "orgs_changed", "countries_changed", "reported_attendance",
)


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
        "results/<scenario>-<digest of the overrides>-seed<N>)",
    )


def default_out(scenario: Any, seed: int) -> Path:
    """``results/<scenario>-seed<N>``, with a digest of the overrides if there are any.

    Example: ``results/baseline-seed1``; with ``--set levers.trust=0.9``,
    ``results/baseline-3f2a1c-seed1`` (summary.json and scenario.toml list the overrides).
    """
    digest = scenario.overrides_digest()
    return Path("results") / "-".join(p for p in (scenario.name, digest, f"seed{seed}") if p)


def main(args: argparse.Namespace) -> int:
    """Run the scenario and write the results."""
    from analysis.output import Legacy, check_output, staged_directory
    from hourglass.figures import plot_hourglass
    from simulation import PeerLearningModel

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
