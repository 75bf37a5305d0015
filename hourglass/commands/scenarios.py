"""``hourglass scenarios``: the scenarios shipped in scenarios/, one line each."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass scenarios``."""
    subparsers.add_parser("scenarios", help="list the scenarios with a one-line description")


def main(args: argparse.Namespace) -> int:
    """Print each scenario's name and description."""
    from simulation.scenario import Scenario, available_scenarios

    names = available_scenarios()
    width = max(map(len, names), default=0)
    for name in names:
        print(f"{name:<{width}}  {Scenario.load(name).description}")
    return 0
