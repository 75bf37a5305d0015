"""The ``hourglass`` command line: one subcommand per module in ``hourglass/commands``.

Parsing is argparse alone: ``hourglass --help`` imports no command, and ``hourglass CMD ...``
imports only CMD's module, whose ``main`` imports what the work needs when it runs. Bad input
ends with one line on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from analysis.errors import AnalysisError
from simulation.errors import HourglassError

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("hourglass.commands.run", "run one scenario and write its results and figure"),
    "scenarios": ("hourglass.commands.scenarios", "list the scenarios with a one-line description"),
    "parameters": ("hourglass.commands.parameters",
                   "list every scenario key with its range, default and source"),
    "sweep": ("hourglass.commands.sweep",
              "run a parameter sweep of a scenario into a resumable store"),
    "sensitivity": ("hourglass.commands.sensitivity",
                    "Sobol' + Morris analysis of all levers and tool groups"),
    "compare": ("hourglass.commands.compare",
                "paired comparison of scenarios against the first (common random numbers)"),
    "explore": ("hourglass.commands.explore",
                "compare designs in a browser, over many seeds (a page on localhost)"),
    "validate": ("hourglass.commands.validate",
                 "check the report's patterns P1-P9 over replicates of a scenario"),
    "experiment": ("hourglass.commands.experiment",
                   "run one of the report's experiments on a scenario"),
    "discover": ("hourglass.commands.discover",
                 "find the lever regions where change at scale happens (scenario discovery)"),
    "calibrate": ("hourglass.commands.calibrate",
                  "fit the assumption parameters to the report's numbers (ABC-SMC)"),
    "design": ("hourglass.commands.design",
               "search lever settings that trade outcomes against effort (multi-objective)"),
    "store": ("hourglass.commands.store", "check or repair a sweep store"),
}
"""Command name -> (module, one-line help). A module may be absent (work in progress): its
command is then not offered."""

_COMMAND_DIR = Path(__file__).with_name("commands")


def available_commands() -> dict[str, tuple[str, str]]:
    """The registered commands whose module exists in this installation."""
    return {name: entry for name, entry in COMMANDS.items()
            if (_COMMAND_DIR / f"{entry[0].rsplit('.', 1)[1]}.py").is_file()}


def one_line(text: str) -> str:
    """``text`` with line breaks and control characters (ANSI escapes) shown escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE`` as one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``: looks the installed version up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:  # noqa: A002
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            found = version("hourglass")
        except PackageNotFoundError:
            found = "unknown (not installed)"
        print(f"hourglass {found}")
        parser.exit(0)


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the top level has no option that takes a value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The argument parser; only the subcommand named in ``argv`` gets its full options.

    Other subcommands are registered by name and help alone, so that parsing imports no
    command module but the one that runs.
    """
    parser = Parser(
        prog="hourglass",
        description="Peer learning in public sector reform, from events to change at scale.",
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen(argv)
    for name, (module_name, help_text) in available_commands().items():
        if name != chosen:
            subparsers.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        module.add_parser(subparsers)
        subparsers.choices[name].set_defaults(handler=module.main)
    return parser


def _quiet_stdout() -> None:
    """Point standard output at /dev/null (the reader, e.g. ``head``, has gone)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _one_blas_thread() -> None:
    """One OpenBLAS thread per process, unless the environment says otherwise; before NumPy loads.

    NumPy and SciPy each bring their own OpenBLAS, which starts a thread per core as it loads,
    and each started thread spins, waiting for work, before it sleeps: measured, 0.15-0.2 s of
    CPU in a cold ``hourglass run baseline`` on 2 cores (issue 13), for linear algebra nothing
    here does at a size worth threads. The commands that run many models run a process per
    core, where threaded BLAS would only compete with them; workers inherit the setting.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    """Run ``hourglass`` with ``argv`` (default: the process arguments); return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    _one_blas_thread()
    try:
        args = build_parser(argv).parse_args(argv)
    except SystemExit as done:  # --help, --version or a parse error (already printed)
        return done.code if isinstance(done.code, int) else 2
    try:
        status = args.handler(args)
        sys.stdout.flush()
    except (HourglassError, AnalysisError) as error:
        print(f"hourglass: error: {one_line(str(error))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt as stop:  # an analysis.errors.Interrupted says what was kept
        kept = one_line(str(stop)) or "nothing incomplete was left behind"
        print(f"hourglass: interrupted; {kept}", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
