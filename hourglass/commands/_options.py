"""Options and output helpers shared by the sweep, sensitivity and compare commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from analysis.output import check_output, staged_directory
from hourglass.commands.common import parse_assignments, scheduler_type, seed_type, whole

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "add_executor_options", "add_run_options", "check_output", "executor_from", "markdown",
    "parse_assignments", "staged_directory",
]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--seed``, ``--set``, ``--workers``, ``--scheduler``, ``--no-progress``."""
    parser.add_argument("--seed", type=seed_type, default=1, help="root seed (default 1)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="fixed scenario override for every run, e.g. run.months=24 (repeatable)",
    )
    add_executor_options(parser)


def add_executor_options(parser: Any) -> None:
    """``--workers``, ``--scheduler``, ``--no-progress`` on a parser or an argument group."""
    parser.add_argument("--workers", type=whole(1), default=None,
                        help="local worker processes (default: all cores; with --scheduler "
                        "local: 2)")
    parser.add_argument("--scheduler", type=scheduler_type, default=None, metavar="ADDRESS",
                        help="run on a Dask cluster at ADDRESS, e.g. tcp://HOST:8786 ('local': "
                        "start a local one)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


@contextmanager
def executor_from(args: argparse.Namespace) -> Iterator[Any]:
    """The executor the options ask for: one pool of local processes, or a Dask client.

    The pool is shared by every fan-out of the command (e.g. sensitivity's Sobol', Morris and
    parameter-set runs): its workers start, import the model and load its compiled code once,
    not once per sweep.
    """
    from analysis.executors import ProcessExecutor, dask_client

    if args.scheduler is None:
        with ProcessExecutor(args.workers) as pool:
            yield pool
        return
    address = None if args.scheduler == "local" else args.scheduler
    if address is None and not getattr(args, "no_progress", False):
        print(f"starting {args.workers or 2} Dask workers…", file=sys.stderr, flush=True)
    with dask_client(address, n_workers=args.workers or 2) as client:
        yield client


def markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured markdown table (index included)."""
    frame = frame.reset_index()
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = []
    for row in frame.itertuples(index=False):
        cells = [f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows]) + "\n"

