"""``hourglass store check|repair DIR``: look at a store, or set right what can be.

``check`` changes nothing: it lists problems (damaged parts, a missing manifest or design, a
"complete" store missing runs) and notes (runs stored, another writer), and exits with status
1 if there are problems. ``repair`` sets damaged parts aside in ``parts/damaged/`` (never
deletes them), rebuilds the manifest from ``identity.json``, the design and the parts, and the
design from its spec; running the same sweep again then re-runs the runs that were lost. See
docs/store.md.

Every store the project writes is understood: a sweep's (``hourglass sweep --out``,
``hourglass sensitivity``'s ``runs/``), ``hourglass run --replicates --store``'s (no design
spec: its design is not compared, everything else is; :mod:`analysis.store`) and a design
search's run cache (``hourglass design``'s ``OUT/runs``, :class:`hourglass.design.RunCache`:
runs keyed by design, parameter set and replicate, checked here).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass store`` with its actions ``check`` and ``repair``."""
    parser = subparsers.add_parser(
        "store", help="check or repair a sweep store",
        description="Check a store (changes nothing) or repair it (sets damaged parts "
        "aside, rebuilds the manifest and design): a sweep's, a `run --replicates --store` "
        "one or a design search's runs/. See docs/store.md.",
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

    cache = _run_cache(args.dir)
    if args.action == "check":
        problems, notes = check_run_cache(args.dir, cache) if cache is not None else \
            check_store(args.dir)
        for line in problems:
            print(f"problem: {line}")
        for line in notes:
            print(f"note: {line}")
        verdict = f"{len(problems)} problem(s); run: hourglass store repair {args.dir}" if \
            problems else "whole"
        print(f"store {args.dir}: {verdict}")
        return 1 if problems else 0
    left = repair_run_cache(args.dir, cache, wait=args.wait) if cache is not None else \
        repair_store(args.dir, wait=args.wait)
    for line in left:
        print(line)
    whole = "whole" if cache is not None else "whole and complete"  # a search's size is open
    print(f"store {args.dir}: repaired" if left else f"store {args.dir}: {whole}")
    return 0


# -- a design search's run cache --------------------------------------------------------------


def _run_cache(path: Path) -> dict[str, Any] | None:
    """``{"identity": ...}`` of a design search's run cache at ``path``, or ``None``.

    A cache's identity has parameter sets and no replicates (a sweep's has replicates); one
    whose manifest is lost is known by its parts' names (``part-<runs>-<pid>-<hex>``), and
    gives ``{"identity": None}``.
    """
    if not path.is_dir():
        return None
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if isinstance(manifest, dict):
        identity = manifest.get("identity")
        if isinstance(identity, dict) and "parameter_sets" in identity \
                and "replicates" not in identity:
            return {"format": manifest.get("format"), "identity": identity}
        return None
    from hourglass.design import PART_NAME

    parts = path / "parts"
    if not (path / "identity.json").exists() and parts.is_dir() and any(
            PART_NAME.match(p.name) for p in parts.glob("part-*.parquet")):
        return {"identity": None}
    return None


def _cache_part(part: Path, identity: dict[str, Any], seed_of: Any) -> Any:
    """One part of a run cache, checked: its keys, seeds and design keys.

    Raises:
        analysis.store.Damaged: Unreadable, empty, a key column missing, a parameter set out
            of range, a run stored twice, a seed its replicate does not give, or a design key
            that is not the digest of its unit coordinates.
    """
    import numpy as np
    import pandas as pd

    from analysis.store import Damaged
    from hourglass.design import BASE, RUN_KEYS, design_key

    try:
        frame = pd.read_parquet(part)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        first = str(exc).replace(str(part), part.name).splitlines()
        raise Damaged(f"unreadable: {(first[0] if first else type(exc).__name__)[:70]}"
                      ) from None
    if frame.empty:
        raise Damaged("holds no runs")
    units = [f"u:{factor['name']}" for factor in identity["space"]]
    missing = [c for c in (*RUN_KEYS, *units) if c not in frame.columns]
    if missing:
        raise Damaged(f"no {missing[0]} column")
    sets = len(identity["parameter_sets"])
    keys = list(zip(frame["design"].astype(str), frame["parameter_set"].astype(int),
                    frame["replicate"].astype(int), strict=True))
    if len(set(keys)) != len(keys):
        raise Damaged("a run is stored twice")
    coordinates = frame[units].to_numpy(dtype=float)
    for (key, s, r), seed, unit in zip(keys, frame["seed"].astype(int), coordinates,
                                       strict=True):
        if not 0 <= s < sets:
            raise Damaged(f"parameter set {s} outside 0..{sets - 1}")
        if r < 0 or seed != seed_of(r):
            raise Damaged(f"replicate {r} has seed {seed}, not the seed its search gives")
        if key != (BASE if np.isnan(unit).all() else design_key(unit)):
            raise Damaged(f"design {key[:12]} is not the digest of its coordinates")
    return keys


def _scan_cache(path: Path, identity: dict[str, Any]) -> tuple[set, list[tuple[Path, str]]]:
    """Runs stored (their keys) and damaged parts, with the reason, of a run cache."""
    import functools

    from analysis.seeds import run_seed
    from analysis.store import Damaged

    # the replicate seeds (analysis.seeds.replicate_seeds), common to every design
    seed_of = functools.cache(functools.partial(run_seed, int(identity["seed"]), 0))

    done: set = set()
    damaged = []
    for part in sorted((path / "parts").glob("part-*.parquet")):
        try:
            keys = set(_cache_part(part, identity, seed_of))
        except Damaged as exc:
            damaged.append((part, str(exc)))
            continue
        if done & keys:
            damaged.append((part, "runs already stored in another part"))
            continue
        done |= keys
    return done, damaged


def _cache_refusal(path: Path, cache: dict[str, Any]) -> str | None:
    from hourglass.design import FORMAT

    if cache["identity"] is None:
        return ("manifest.json of a design search's run cache is missing or unreadable; its "
                "identity cannot be rebuilt from the parts: run the search again under "
                "another --out")
    if cache["format"] != FORMAT:
        return f"format {cache['format']!r} is not supported; allowed: {FORMAT}"
    return None


def check_run_cache(path: Path, cache: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Look at a design search's run cache without changing it.

    Returns:
        ``(problems, notes)``, one line each, as :func:`analysis.store.check_store`.
    """
    from analysis.store import being_written
    from hourglass.design import unfinished_parts

    refusal = _cache_refusal(path, cache)
    if refusal is not None:
        return [refusal], []
    problems, notes = [], []
    done, damaged = _scan_cache(path, cache["identity"])
    for part, reason in damaged:
        problems.append(f"parts/{part.name} is damaged ({reason}); repair sets it aside, and "
                        "the search runs its runs again")
    strays = unfinished_parts(path)
    if strays:
        notes.append(f"{len(strays)} unfinished part(s) from an interrupted writer (removed on "
                     "the next search or repair)")
    designs = len({key for key, _, _ in done})
    notes.append(f"a design search's run cache: {len(done)} runs of {designs} designs stored; "
                 "how many it should hold follows from the search's --population and "
                 "--generations (running it again runs what is missing)")
    if being_written(path):
        notes.append("another process is writing it now")
    return problems, notes


def repair_run_cache(path: Path, cache: dict[str, Any], *, wait: bool = False) -> list[str]:
    """Set aside a run cache's damaged parts in ``parts/damaged/`` (the search re-runs them).

    Returns:
        What is left to do, one line (nothing if no part was damaged).

    Raises:
        HourglassError: A lost manifest or an unknown format (nothing to repair it from).
        AnalysisError: Another process is writing it (unless ``wait``).
    """
    from analysis.store import set_aside, take_lock
    from hourglass.design import clear_unfinished
    from simulation.errors import HourglassError

    refusal = _cache_refusal(path, cache)
    if refusal is not None:
        raise HourglassError(f"store {path}: {refusal}")
    lock = take_lock(path, wait=wait)
    try:
        clear_unfinished(path)  # we hold the lock
        _, damaged = _scan_cache(path, cache["identity"])
        for part, reason in damaged:
            set_aside(part, path / "parts" / "damaged")
            print(f"store {path}: set aside damaged {part.name} ({reason}) in parts/damaged/",
                  file=sys.stderr, flush=True)
    finally:
        lock.release()
    return [f"{len(damaged)} part(s) set aside: run the same hourglass design again to run "
            "their runs"] if damaged else []
