"""The ``hourglass`` command line: one subcommand per module in ``hourglass/commands``.

Bad input ends with one line on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from analysis.errors import AnalysisError
from hourglass.commands import (
    compare,
    experiment,
    explore,
    run,
    scenarios,
    sensitivity,
    sweep,
    validate,
)
from simulation.errors import HourglassError

COMMANDS = [run, scenarios, sweep, sensitivity, compare, explore, validate, experiment]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="hourglass",
        description="Peer learning in public sector reform, from events to change at scale.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        before = set(subparsers.choices)
        module.add_parser(subparsers)
        for name in set(subparsers.choices) - before:
            subparsers.choices[name].set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``hourglass`` with ``argv`` (default: the process arguments); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (HourglassError, AnalysisError) as error:
        print(f"hourglass: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hourglass: interrupted; nothing incomplete was left behind", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
