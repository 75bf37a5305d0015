"""``hourglass store check|repair DIR``: look at a sweep store, or set right what can be.

``check`` changes nothing: it lists problems (damaged parts, a missing manifest or design, a
"complete" store missing runs) and notes (runs stored, another writer), and exits with status
1 if there are problems. ``repair`` sets damaged parts aside in ``parts/damaged/`` (never
deletes them), rebuilds the manifest from ``identity.json``, the design and the parts, and the
design from its spec; running the same sweep again then re-runs the runs that were lost. See
docs/store.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass store`` with its actions ``check`` and ``repair``."""
    parser = subparsers.add_parser(
        "store", help="check or repair a sweep store",
        description="Check a sweep store (changes nothing) or repair it (sets damaged parts "
        "aside, rebuilds the manifest and design). See docs/store.md.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="list a store's problems; exit 1 if any")
    check.add_argument("dir", type=Path, help="the store directory (a sweep's --out)")
    repair = actions.add_parser("repair", help="set damaged parts aside, rebuild what is lost")
    repair.add_argument("dir", type=Path, help="the store directory (a sweep's --out)")
    repair.add_argument("--wait", action="store_true",
                        help="wait for a sweep writing the store instead of refusing")


def main(args: argparse.Namespace) -> int:
    """Check or repair the store; print one line per finding."""
    from analysis.store import check_store, repair_store

    if args.action == "check":
        problems, notes = check_store(args.dir)
        for line in problems:
            print(f"problem: {line}")
        for line in notes:
            print(f"note: {line}")
        verdict = f"{len(problems)} problem(s); run: hourglass store repair {args.dir}" if \
            problems else "whole"
        print(f"store {args.dir}: {verdict}")
        return 1 if problems else 0
    left = repair_store(args.dir, wait=args.wait)
    for line in left:
        print(line)
    print(f"store {args.dir}: repaired" if left else f"store {args.dir}: whole and complete")
    return 0
