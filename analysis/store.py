"""Append-only, resumable, lockable result store for one sweep.

A store holds one experiment, whole: every run of one design of one space, one seed, one
model whose resolved scenario and code are recorded. Layout of a store directory::

    identity.json        what the experiment is (design spec, space, seed, replicates, model,
                         the model's fingerprint), written once when the store is made
    manifest.json        the identity again, code version of every session, output names,
                         and "complete" once every run is in
    design.parquet       the unit design matrix, one row per design row
    parts/part-<first run id>.parquet
                         one file per completed chunk: run_id, row, replicate, seed, outputs
    parts/damaged/       parts found damaged, set aside (never deleted)
    .lock                held by the one process writing the store

Guarantees:

* **One experiment.** Resuming with anything different (design, space, seed, replicates,
  model, resolved scenario, model code) is refused in one line naming what changed.
* **Whole.** Every file is written under a temporary name, flushed and synced, then renamed
  (atomic on POSIX); a run id is in a part only once the part is complete, and only once.
* **Resumable.** Resuming reads every part, skips those run ids and runs the rest. A damaged
  part (truncated, empty, garbage, runs stored twice) is set aside and its runs re-done; a
  missing or unreadable manifest is rebuilt from ``identity.json``, the design and the parts;
  a missing or unreadable ``design.parquet`` from the design spec.
* **Lockable.** One writer at a time (a file lock); a second is refused in one line, or waits.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError

FORMAT = 2
READABLE = (1, 2)
MANIFEST = "manifest.json"
IDENTITY = "identity.json"
DESIGN = "design.parquet"
PARTS = "parts"
DAMAGED = "damaged"
LOCK = ".lock"
ID_COLUMNS = ("run_id", "row", "replicate", "seed")
STORE_FILES = (MANIFEST, IDENTITY, DESIGN, PARTS, LOCK)
_FULL = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
         errno.EROFS: "read-only file system"}


def code_version() -> str:
    """``git describe`` of the working tree this code runs from, or ``unknown``."""
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- writing files whole ---------------------------------------------------------------------


def _fsync_directory(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole: temporary name, flush, fsync, rename, fsync folder.

    A failure (a full disk) leaves ``path`` as it was and no temporary file.
    """
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(path.parent)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _normalise(value: Any) -> Any:
    """JSON round trip, so tuples/lists and int/float compare as they will on disk."""
    return json.loads(json.dumps(value, sort_keys=True))


# -- identities and their differences ---------------------------------------------------------


def differences(a: Any, b: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Key paths at which ``a`` and ``b`` differ (dicts compared key by key)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b), key=str):
            sub = (*path, str(key))
            if key not in a or key not in b:
                found.append(sub)
            else:
                found.extend(differences(a[key], b[key], sub))
        return found
    return [] if a == b else [path]


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _what(path: tuple[str, ...], stored: Any, requested: Any) -> str:
    """A difference, said for a person."""
    dotted = ".".join(path) or "<root>"
    if path[:2] == ("fingerprint", "scenario") and len(path) > 2:
        return (f"the resolved scenario's {'.'.join(path[2:])} changed: stored "
                f"{_short(stored)}, requested {_short(requested)}")
    if path[:2] == ("fingerprint", "code"):
        return "the model's code or parameter tables changed since the store was made"
    if path[:1] == ("fingerprint",):
        if stored is None:
            return "the store was made before stores recorded the model's scenario and code"
        return f"the model's fingerprint ({dotted}) changed"
    return f"{dotted}: stored {_short(stored)}, requested {_short(requested)}"


def identity_difference(stored: Any, requested: Any) -> str | None:
    """One line naming what differs between two identities, or ``None`` if they agree."""
    found = differences(stored, requested)
    if not found:
        return None
    first = found[0]
    more = f" (and {len(found) - 1} more difference{'s' if len(found) > 2 else ''})" if (
        len(found) > 1) else ""
    return _what(first, _lookup(stored, first), _lookup(requested, first)) + more


# -- parts -----------------------------------------------------------------------------------


class Damaged(Exception):  # noqa: N818 - a finding, not an error of the caller
    """A part (or design) that cannot be used, with the reason."""


def read_part(path: Path, n_runs: int | None = None, replicates: int | None = None,
              seed_of: Callable[[int], int] | None = None) -> pd.DataFrame:
    """Read one part and check it is whole.

    Raises:
        Damaged: Unreadable, empty, missing id columns, run ids repeated or out of range,
            rows/replicates that do not follow from the run ids, or (given ``seed_of``) a run
            stored with another seed than its run id has in this experiment.
    """
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        first = str(exc).replace(str(path), path.name).splitlines()
        reason = first[0] if first else type(exc).__name__
        raise Damaged(f"unreadable: {reason[:70]}") from None
    if frame.empty:
        raise Damaged("holds no runs")
    missing = [c for c in ID_COLUMNS if c not in frame.columns]
    if missing:
        raise Damaged(f"no {missing[0]} column")
    ids = frame["run_id"].to_numpy()
    if not np.issubdtype(ids.dtype, np.integer):
        raise Damaged("run ids are not integers")
    if len(np.unique(ids)) != len(ids):
        raise Damaged("a run id is repeated")
    if n_runs is not None and (ids.min() < 0 or ids.max() >= n_runs):
        raise Damaged(f"run ids outside 0..{n_runs - 1}")
    if replicates is not None and (
        not np.array_equal(frame["row"].to_numpy(), ids // replicates)
        or not np.array_equal(frame["replicate"].to_numpy(), ids % replicates)
    ):
        raise Damaged("rows or replicates do not follow from the run ids")
    if seed_of is not None:
        for run_id, seed in zip(ids.tolist(), frame["seed"].tolist(), strict=True):
            if int(seed) != seed_of(run_id):
                raise Damaged(f"run {run_id} has seed {int(seed)}, not the seed {seed_of(run_id)} "
                              "its identity gives: another experiment's run")
    return frame


def _ranges(ids: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
    out, ids = [], sorted(ids)
    start = prev = None
    for i in [*ids, None]:
        if start is not None and (i is None or i != prev + 1):
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = None
        if i is not None and start is None:
            start = i
        prev = i
    return ", ".join(out)


def set_aside(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` under a free name; never deletes."""
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.name}.{n}"
        n += 1
    path.replace(target)
    return target


@dataclass
class Scan:
    """What is on disk in a store's ``parts/`` folder."""

    frames: list[tuple[Path, pd.DataFrame]] = field(default_factory=list)
    damaged: list[tuple[Path, str]] = field(default_factory=list)
    done: set[int] = field(default_factory=set)


def scan_parts(path: Path, n_runs: int | None, replicates: int | None,
               seed_of: Callable[[int], int] | None = None) -> Scan:
    """Read every part; damaged ones (and ones repeating stored runs) are listed, not used."""
    scan = Scan()
    for part in sorted((path / PARTS).glob("part-*.parquet")):
        try:
            frame = read_part(part, n_runs, replicates, seed_of)
        except Damaged as exc:
            scan.damaged.append((part, str(exc)))
            continue
        ids = {int(i) for i in frame["run_id"]}
        again = scan.done & ids
        if again:
            where = _ranges(list(again))
            scan.damaged.append((part, f"runs already stored in another part ({where})"))
            continue
        scan.frames.append((part, frame))
        scan.done |= ids
    return scan


def _lost_runs(damaged: list[tuple[Path, str]], parts: list[Path], done: set[int],
               n_runs: int) -> list[int]:
    """The runs a damaged part may have held: from its first run id to the next part's."""
    firsts = sorted({_first_id(p) for p in parts} | {n_runs})
    lost: set[int] = set()
    for part, _ in damaged:
        first = _first_id(part)
        if first is None or first >= n_runs:
            continue
        end = next((f for f in firsts if f is not None and f > first), n_runs)
        lost |= {i for i in range(first, end) if i not in done}
    return sorted(lost)


def _first_id(part: Path) -> int | None:
    try:
        return int(part.name.split("-", 1)[1].split(".", 1)[0])
    except (IndexError, ValueError):
        return None


# -- the store -------------------------------------------------------------------------------


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or ``None`` if missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _full_disk(path: Path | None, exc: OSError) -> AnalysisError:
    reason = _FULL.get(exc.errno, exc.strerror or str(exc))
    return AnalysisError(
        f"store {path}: cannot write ({reason}); every run stored so far is kept: make room "
        "and run the same sweep again to resume"
    )


class Store:
    """A sweep's results, on disk (``path``) or in memory (``path=None``).

    Opening a store on disk takes its lock (released by :meth:`close`), repairs what can be
    repaired (each repair said in one line) and refuses a different experiment.

    Args:
        path: Store directory, created if missing; ``None`` keeps results in memory.
        identity: What makes two sweeps the same (design spec, space, seed, replicates,
            model, the model's fingerprint). An existing store with another one is refused.
        unit: The design's unit matrix (saved as ``design.parquet``).
        factor_names: Column names of ``unit``.
        info: Extra manifest fields (scenario/base info), not part of the identity.
        wait: Wait for another writer to finish instead of refusing.
        n_runs: Runs in the whole sweep (to check run ids); ``None`` skips that check.
        replicates: Replicates per row (to check rows and replicates of parts).
        seed_of: The seed of a run id, to check stored runs when a lost manifest of an older
            store (without ``identity.json``) is rebuilt from this sweep.

    Raises:
        AnalysisError: The directory holds another experiment, is not a store, or is being
            written by another process (and ``wait`` is false).
    """

    def __init__(
        self,
        path: str | Path | None,
        identity: Mapping[str, Any],
        unit: np.ndarray,
        factor_names: list[str],
        info: Mapping[str, Any] | None = None,
        *,
        wait: bool = False,
        n_runs: int | None = None,
        replicates: int | None = None,
        seed_of: Callable[[int], int] | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self._seed_of = seed_of
        self.identity = _normalise(dict(identity))
        self._frames: list[pd.DataFrame] = []
        self._done: set[int] = set()
        self._lock: Any = None
        if self.path is None:
            self.manifest: dict[str, Any] = {"identity": self.identity, "outputs": []}
            return
        _refuse_foreign(self.path)
        made = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AnalysisError(f"store {self.path}: cannot be made ({exc.strerror})") from None
        try:
            self._lock = take_lock(self.path, wait=wait)
            self._open(unit, factor_names, info, n_runs, replicates)
        except OSError as exc:
            self.close()
            if exc.errno is not None:  # the place, not the program: one line
                raise _full_disk(self.path, exc) from None
            raise
        except BaseException:
            self.close()
            if made:
                _remove_if_empty(self.path)
            raise

    # -- opening --------------------------------------------------------------------------

    @property
    def _root(self) -> Path:
        if self.path is None:
            raise AnalysisError("store: kept in memory, it has no directory")
        return self.path

    def _open(self, unit: np.ndarray, factor_names: list[str], info: Mapping[str, Any] | None,
              n_runs: int | None, replicates: int | None) -> None:
        path = self._root
        manifest = _read_json(path / MANIFEST)
        if manifest is not None and manifest.get("format") not in READABLE:
            raise AnalysisError(f"store {path}: format {manifest.get('format')!r} is not "
                                f"supported; allowed: {', '.join(map(str, READABLE))}")
        has_data = (path / DESIGN).exists() or any((path / PARTS).glob("part-*.parquet"))
        if manifest is None and not has_data and not (path / IDENTITY).exists():
            self._create(unit, factor_names, info)
        else:
            if manifest is None:
                manifest = self._rebuild_manifest(unit, info)
            self.manifest = manifest
            diff = identity_difference(manifest.get("identity"), self.identity)
            if diff:
                raise AnalysisError(
                    f"store {path}: holds a different sweep ({diff}); this store is kept: give "
                    "another directory to start a new one"
                )
            self._check_design(unit, factor_names)
        (path / PARTS).mkdir(exist_ok=True)
        for stray in (path / PARTS).glob(".tmp-*"):
            stray.unlink()  # a part a killed writer did not finish (ours: we hold the lock)
        scan = scan_parts(path, n_runs, replicates)
        if scan.damaged:
            self._set_aside(scan, n_runs)
        for _, frame in scan.frames:
            self._frames.append(frame)
        self._done = scan.done
        if self.manifest.get("complete") and n_runs is not None and len(self._done) < n_runs:
            self.manifest["complete"] = False
            self._write_manifest()

    def _create(self, unit: np.ndarray, factor_names: list[str],
                info: Mapping[str, Any] | None) -> None:
        path = self._root
        (path / PARTS).mkdir(exist_ok=True)
        atomic_write(path / DESIGN, _parquet_bytes(pd.DataFrame(unit, columns=factor_names)))
        atomic_write(path / IDENTITY, json.dumps(
            {"format": FORMAT, "identity": self.identity}, indent=2, sort_keys=True).encode())
        self.manifest = {
            "format": FORMAT,
            "identity": self.identity,
            "info": _normalise(dict(info or {})),
            "code_version": code_version(),
            "created": _now(),
            "sessions": [],
            "outputs": [],
            "complete": False,
        }
        self._write_manifest()

    def _rebuild_manifest(self, unit: np.ndarray, info: Mapping[str, Any] | None
                          ) -> dict[str, Any]:
        """A manifest from ``identity.json``, the design and the parts.

        An older store without ``identity.json`` gets this sweep's identity if its design and
        every stored run's seed agree with it.
        """
        path = self._root
        recorded = _read_json(path / IDENTITY)
        broken = path / MANIFEST
        if broken.exists():
            set_aside(broken, path / PARTS / DAMAGED)
        if recorded is not None and isinstance(recorded.get("identity"), dict):
            identity, source = recorded["identity"], IDENTITY
        else:
            stored = _read_design(path)
            if stored is None or stored.shape != unit.shape or not np.array_equal(stored, unit):
                raise AnalysisError(
                    f"store {path}: {MANIFEST} and {IDENTITY} are missing or unreadable and the "
                    "design does not match this sweep; this store is kept: give another "
                    "directory to start a new one"
                )
            identity, source = self.identity, "this sweep's design (seeds checked per run)"
        scan = scan_parts(path, None, None)
        outputs = []
        for _, frame in scan.frames:
            outputs.extend(c for c in frame.columns if c not in ID_COLUMNS and c not in outputs)
        manifest = {
            "format": FORMAT, "identity": identity, "info": _normalise(dict(info or {})),
            "code_version": "unknown (manifest rebuilt)", "created": _now(), "sessions": [],
            "outputs": outputs, "complete": False, "rebuilt": _now(),
        }
        self.manifest = manifest
        if source != IDENTITY:
            self._check_seeds(scan)
            atomic_write(path / IDENTITY, json.dumps(
                {"format": FORMAT, "identity": identity}, indent=2, sort_keys=True).encode())
        self._write_manifest()
        _say(f"store {path}: {MANIFEST} was missing or unreadable; rebuilt from {source}, "
             f"{DESIGN} and {len(scan.frames)} parts")
        return manifest

    def _check_seeds(self, scan: Scan) -> None:
        """Every stored run has the seed this sweep gives it (else it is another sweep)."""
        if self._seed_of is None:
            raise AnalysisError(
                f"store {self.path}: {MANIFEST} and {IDENTITY} are missing or unreadable; "
                "resume the sweep with its original arguments to rebuild them"
            )
        for _, frame in scan.frames:
            for run_id, seed in zip(frame["run_id"], frame["seed"], strict=True):
                if self._seed_of(int(run_id)) != int(seed):
                    raise AnalysisError(
                        f"store {self.path}: {MANIFEST} is missing and run {int(run_id)} was "
                        "run with another seed than this sweep gives it: another sweep; this "
                        "store is kept: give another directory to start a new one"
                    )

    def _check_design(self, unit: np.ndarray, factor_names: list[str]) -> None:
        path = self._root
        stored = _read_design(path)
        if stored is None:
            if (path / DESIGN).exists():
                set_aside(path / DESIGN, path / PARTS / DAMAGED)
            atomic_write(path / DESIGN, _parquet_bytes(pd.DataFrame(unit, columns=factor_names)))
            _say(f"store {path}: {DESIGN} was missing or unreadable; rebuilt from the design "
                 "spec")
            return
        if stored.shape != unit.shape or not np.array_equal(stored, unit):
            raise AnalysisError(
                f"store {path}: design.parquet differs from the regenerated design "
                "(library versions changed?); this store is kept: give another directory"
            )

    def _set_aside(self, scan: Scan, n_runs: int | None) -> None:
        path = self._root
        for part, _ in scan.damaged:
            set_aside(part, path / PARTS / DAMAGED)
        first, reason = scan.damaged[0]
        what = f"{first.name} ({reason})" + (
            f" and {len(scan.damaged) - 1} more" if len(scan.damaged) > 1 else "")
        if n_runs is not None:
            lost = _lost_runs(scan.damaged, [p for p, _ in scan.frames], scan.done, n_runs)
            redo = f"runs {_ranges(lost)} will be run again" if lost else "no run is missing"
        else:
            redo = "their runs will be run again"
        _say(f"store {path}: set aside damaged {what} in {PARTS}/{DAMAGED}/; {redo}")

    # -- writing --------------------------------------------------------------------------

    def _write_manifest(self) -> None:
        if self.path is None:
            return
        data = json.dumps(self.manifest, indent=2, sort_keys=True).encode()
        atomic_write(self.path / MANIFEST, data)

    def begin_session(self) -> None:
        """Record this session's code version before it adds runs.

        A resume is honest about which code ran which runs: ``sessions`` lists each.
        """
        self.manifest.setdefault("sessions", []).append(
            {"code_version": code_version(), "started": _now(),
             "stored_before": len(self._done)}
        )
        self._guarded(self._write_manifest)

    @property
    def done(self) -> set[int]:
        """Run ids already stored."""
        return set(self._done)

    def append(self, frame: pd.DataFrame) -> None:
        """Store one completed chunk (columns run_id, row, replicate, seed, outputs).

        Raises:
            AnalysisError: A run id in the chunk is already stored, or the disk is full.
        """
        ids = [int(i) for i in frame["run_id"]]
        again = self._done.intersection(ids)
        if again:
            raise AnalysisError(f"store: run {min(again)} is already stored")
        frame = frame.sort_values("run_id", kind="stable").reset_index(drop=True)
        if self.path is not None:
            part = self.path / PARTS / f"part-{min(ids):010d}.parquet"
            self._guarded(lambda: atomic_write(part, _parquet_bytes(frame)))
        self._frames.append(frame)
        self._done.update(ids)
        outputs = [c for c in frame.columns if c not in ID_COLUMNS]
        new = [c for c in outputs if c not in self.manifest["outputs"]]
        if new:
            self.manifest["outputs"] = [*self.manifest["outputs"], *new]
            self._guarded(self._write_manifest)

    def mark_complete(self) -> None:
        """Record that every run is stored (written last)."""
        self.manifest["complete"] = True
        self.manifest["finished"] = _now()
        self._guarded(self._write_manifest)

    def _guarded(self, write: Callable[[], None]) -> None:
        try:
            write()
        except OSError as exc:
            if exc.errno is not None:  # the place, not the program: one line
                raise _full_disk(self.path, exc) from None
            raise

    def close(self) -> None:
        """Release the store's lock."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------

    def results(self) -> pd.DataFrame:
        """Every stored run, sorted by run id."""
        if not self._frames:
            return pd.DataFrame(columns=list(ID_COLUMNS))
        frame = pd.concat(self._frames, ignore_index=True)
        return frame.sort_values("run_id", kind="stable").reset_index(drop=True)


def take_lock(path: Path, *, wait: bool = False) -> Any:
    """The store's write lock (a ``filelock.FileLock`` held until released).

    Raises:
        AnalysisError: Another process holds it and ``wait`` is false.
    """
    from filelock import FileLock, Timeout  # noqa: PLC0415 - only writers need it

    lock = FileLock(path / LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise AnalysisError(
                f"store {path}: another process is writing this store; wait until it ends, "
                "or pass --wait to wait for it"
            ) from None
        _say(f"store {path}: another process is writing this store; waiting for it to end…")
        lock.acquire()
    return lock


def _refuse_foreign(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise AnalysisError(f"store {path}: is a file, not a directory; choose another --out")
    if not path.exists():
        return
    names = {p.name for p in path.iterdir()}
    ours = {n for n in names if n in STORE_FILES or n.startswith(".tmp-")}
    if names - ours and not ours & {MANIFEST, IDENTITY, DESIGN, PARTS}:
        raise AnalysisError(
            f"store {path}: directory exists and is not a sweep store; use a new or empty "
            "directory"
        )


def _remove_if_empty(path: Path) -> None:
    """Undo a store directory this process made, if nothing but our lock went in."""
    with contextlib.suppress(OSError):
        (path / LOCK).unlink()
        (path / PARTS).rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


def _read_design(path: Path) -> np.ndarray | None:
    frame = _read_design_frame(path)
    return frame.to_numpy(dtype=float) if frame is not None else None


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read a store's manifest (or, if it is missing or unreadable, ``identity.json``).

    Raises:
        AnalysisError: No store at ``path``, or a format this version cannot read.
    """
    path = Path(path)
    manifest = _read_json(path / MANIFEST)
    if manifest is None:
        recorded = _read_json(path / IDENTITY)
        if recorded is None:
            if (path / MANIFEST).exists():
                raise AnalysisError(
                    f"store {path}: {MANIFEST} is unreadable and there is no {IDENTITY}; "
                    "resume the sweep with its original arguments to rebuild it"
                )
            raise AnalysisError(f"store {path}: no {MANIFEST}; not a sweep store")
        manifest = {"format": recorded.get("format"), "identity": recorded.get("identity"),
                    "outputs": [], "complete": False, "info": {}}
    if manifest.get("format") not in READABLE:
        raise AnalysisError(
            f"store {path}: format {manifest.get('format')!r} is not supported; allowed: "
            f"{', '.join(map(str, READABLE))}"
        )
    return manifest


def read_store(path: str | Path) -> tuple[dict[str, Any], pd.DataFrame | None, pd.DataFrame]:
    """Read manifest, unit design (``None`` if missing or unreadable) and results of a store.

    Reading changes nothing: a damaged part is refused in one line that says how to repair.

    Raises:
        AnalysisError: No store, or a damaged part.
    """
    path = Path(path)
    manifest = read_manifest(path)
    try:
        unit = pd.read_parquet(path / DESIGN)
    except Exception:  # missing or damaged: the caller rebuilds it from the spec
        unit = None
    ident = manifest.get("identity") or {}
    replicates = ident.get("replicates")
    scan = scan_parts(path, None, replicates)
    if scan.damaged:
        part, reason = scan.damaged[0]
        raise AnalysisError(
            f"store {path}: {PARTS}/{part.name} is damaged ({reason}); `hourglass store repair "
            f"{path}` sets it aside, and resuming the sweep runs its runs again"
        )
    frames = [frame for _, frame in scan.frames]
    if frames:
        results = pd.concat(frames, ignore_index=True)
        results = results.sort_values("run_id", kind="stable").reset_index(drop=True)
    else:
        results = pd.DataFrame(columns=list(ID_COLUMNS))
    return manifest, unit, results


# -- check and repair ------------------------------------------------------------------------


def _recorded_identity(path: Path) -> dict[str, Any] | None:
    manifest = _read_json(path / MANIFEST)
    if manifest is not None and isinstance(manifest.get("identity"), dict):
        return manifest["identity"]
    recorded = _read_json(path / IDENTITY)
    if recorded is not None and isinstance(recorded.get("identity"), dict):
        return recorded["identity"]
    return None


@dataclass
class _Expected:
    """What a store's identity says it must hold.

    Attributes:
        replicates: Runs per design row.
        n_runs: Runs in the whole experiment (``None``: unknown, the design being unreadable).
        unit: The design its identity's spec makes (``None``: no spec; ``design.parquet`` is
            then not compared with one).
        names: The design's factor names.
        seed_of: A run id's seed (``None``: the identity gives no rule for it).
        stored: ``design.parquet`` as read (``None``: missing or unreadable).
    """

    replicates: int
    n_runs: int | None
    unit: np.ndarray | None
    names: list[str]
    seed_of: Callable[[int], int] | None
    stored: pd.DataFrame | None


def _read_design_frame(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_parquet(path / DESIGN)
    except Exception:  # missing or damaged: pyarrow raises several kinds
        return None


def _expected(identity: Mapping[str, Any], path: Path) -> _Expected:
    """What the store at ``path`` must hold, from its identity.

    A sweep's identity has a design spec (its design is made again and compared); a store of
    another experiment (``hourglass run --replicates --store``: one row per arm) has none: its
    rows are those of ``design.parquet``, and its seeds the replicate seeds of its root seed.

    Raises:
        AnalysisError: The identity records no replicates (not a store this module writes).
    """
    from analysis.designs import make_design  # noqa: PLC0415 - only check/repair need it
    from analysis.seeds import replicate_seeds  # noqa: PLC0415
    from analysis.space import Space  # noqa: PLC0415
    from analysis.sweep import _seeds  # noqa: PLC0415 - the sweep's own rule for seeds

    replicates = identity.get("replicates")
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise AnalysisError(
            f"store {path}: its identity records no replicates, so its runs cannot be "
            f"checked; it is not a store that analysis.store writes"
        )
    frame = _read_design_frame(path)
    seed = identity.get("seed")
    if "design" in identity:
        spec = identity["design"]
        space = Space.from_list(identity["space"], source=f"store {path}")
        design = make_design(spec["kind"], space, spec["samples"], spec["seed"],
                             second_order=spec["second_order"], num_levels=spec["num_levels"])
        seed_of = _seeds(design, space, replicates, int(seed),
                         identity.get("common_random_numbers", True),
                         identity.get("seed_factor", False))
        return _Expected(replicates, design.rows * replicates, design.unit, space.names,
                         seed_of, frame)
    seed_of = None
    if identity.get("experiment") == "replicates" and isinstance(seed, int):
        seeds = replicate_seeds(seed, replicates)  # the same seeds in every arm

        def seed_of(run_id: int) -> int:
            return seeds[run_id % replicates]

    n_runs = len(frame) * replicates if frame is not None else None
    names = [str(c) for c in frame.columns] if frame is not None else []
    return _Expected(replicates, n_runs, None, names, seed_of, frame)


def _no_spec(identity: Mapping[str, Any]) -> str:
    """The line saying the design was not compared (the identity has no spec)."""
    what = identity.get("experiment")
    kind = f"experiment {what!r}" if isinstance(what, str) else "not a sweep"
    return f"{DESIGN} not compared with a design spec: its identity ({kind}) has none"


def check_store(path: str | Path) -> tuple[list[str], list[str]]:
    """Look at a store without changing it.

    A sweep's design is made again from its spec and compared with ``design.parquet``; a store
    whose identity has no design spec (``hourglass run --replicates --store``) is checked for
    everything else, and a note says the design was not compared.

    Returns:
        ``(problems, notes)``: one line each; no problems means the store is whole.

    Raises:
        AnalysisError: ``path`` is not a store at all, or holds runs it cannot check.
    """
    path = Path(path)
    if not path.is_dir():
        raise AnalysisError(f"store {path}: no such directory")
    problems: list[str] = []
    notes: list[str] = []
    identity = _recorded_identity(path)
    manifest = _read_json(path / MANIFEST)
    if identity is None:
        if not (path / DESIGN).exists() and not (path / PARTS).exists():
            raise AnalysisError(f"store {path}: no {MANIFEST}; not a sweep store")
        problems.append(f"{MANIFEST} and {IDENTITY} are missing or unreadable: resume the sweep "
                        "with its original arguments to rebuild them")
        return problems, notes
    if manifest is None:
        problems.append(f"{MANIFEST} is missing or unreadable (repair rebuilds it from "
                        f"{IDENTITY}, the design and the parts)")
    elif manifest.get("format") not in READABLE:
        problems.append(f"format {manifest.get('format')!r} is not supported")
        return problems, notes
    if not (path / IDENTITY).exists():
        notes.append(f"no {IDENTITY} (a store from before it was written)")
    expected = _expected(identity, path)
    stored = expected.stored.to_numpy(dtype=float) if expected.stored is not None else None
    if expected.unit is None:
        notes.append(_no_spec(identity))
        if stored is None:
            problems.append(f"{DESIGN} is missing or unreadable, and its identity has no "
                            "design spec to rebuild it from: run the command that made the "
                            "store again (it rebuilds it)")
    elif stored is None:
        problems.append(f"{DESIGN} is missing or unreadable (repair rebuilds it from the spec)")
    elif stored.shape != expected.unit.shape or not np.array_equal(stored, expected.unit):
        problems.append(f"{DESIGN} differs from the design its spec makes (repair sets it aside "
                        "and rebuilds it)")
    _check_parts(path, expected, manifest, problems, notes)
    if being_written(path):
        notes.append("another process is writing it now")
    return problems, notes


def being_written(path: Path) -> bool:
    """Whether another process holds the store's lock now (probed without waiting)."""
    try:
        lock = take_lock(path, wait=False)
    except AnalysisError:
        return True
    lock.release()
    return False


def _check_parts(path: Path, expected: _Expected, manifest: dict[str, Any] | None,
                 problems: list[str], notes: list[str]) -> None:
    n_runs = expected.n_runs
    scan = scan_parts(path, n_runs, expected.replicates, expected.seed_of)
    for part, reason in scan.damaged:
        problems.append(f"{PARTS}/{part.name} is damaged ({reason}); repair sets it aside")
    if scan.damaged and n_runs is not None:
        lost = _lost_runs(scan.damaged, [p for p, _ in scan.frames], scan.done, n_runs)
        if lost:
            notes.append(f"runs {_ranges(lost)} will be run again when the sweep is resumed")
    strays = list((path / PARTS).glob(".tmp-*")) if (path / PARTS).exists() else []
    if strays:
        notes.append(f"{len(strays)} unfinished part(s) from an interrupted writer (removed on "
                     "the next resume or repair)")
    if expected.seed_of is None:
        notes.append("seeds not checked: its identity gives no rule for them")
    if n_runs is None:
        notes.append(f"{len(scan.done)} runs stored (how many it should hold is unknown "
                     f"without {DESIGN})")
        return
    if manifest is not None and manifest.get("complete") and len(scan.done) < n_runs:
        problems.append(f"marked complete but holds {len(scan.done)} of {n_runs} runs")
    notes.append(f"{len(scan.done)} of {n_runs} runs stored" + (
        "" if len(scan.done) == n_runs else "; run the same sweep again to finish it"))


def repair_store(path: str | Path, *, wait: bool = False) -> list[str]:
    """Set aside what is damaged and rebuild what can be rebuilt (never deletes a result).

    Damaged parts go to ``parts/damaged/`` (their runs are run again when the sweep is
    resumed), as do parts holding runs with another seed than the identity gives them; a
    missing or unreadable manifest is rebuilt from ``identity.json``, the design and the parts,
    and a sweep's ``design.parquet`` from its design spec. A store whose identity has no design
    spec (``hourglass run --replicates --store``) keeps its ``design.parquet`` as it is (one
    line on standard error says it was not compared).

    Returns:
        What is left to do, one line each (e.g. runs to run again).

    Raises:
        AnalysisError: Not a store, another writer (unless ``wait``), nothing to rebuild the
            identity from, or a lost design and no spec to rebuild it from.
    """
    path = Path(path)
    if not path.is_dir():
        raise AnalysisError(f"store {path}: no such directory")
    identity = _recorded_identity(path)
    if identity is None:
        raise AnalysisError(
            f"store {path}: {MANIFEST} and {IDENTITY} are missing or unreadable; resume the "
            "sweep with its original arguments to rebuild them"
        )
    expected = _expected(identity, path)
    if expected.unit is None:
        if expected.stored is None or expected.n_runs is None:
            raise AnalysisError(
                f"store {path}: {DESIGN} is missing or unreadable and its identity has no "
                "design spec to rebuild it from; run the command that made the store again "
                "(it rebuilds it)"
            )
        unit, names = expected.stored.to_numpy(dtype=float), expected.names
        _say(f"store {path}: {_no_spec(identity)}")
    else:
        unit, names = expected.unit, expected.names
        stored = expected.stored.to_numpy(dtype=float) if expected.stored is not None else None
        if stored is not None and (stored.shape != unit.shape
                                   or not np.array_equal(stored, unit)):
            (path / PARTS).mkdir(exist_ok=True)
            set_aside(path / DESIGN, path / PARTS / DAMAGED)
            _say(f"store {path}: {DESIGN} differed from its spec; set aside in "
                 f"{PARTS}/{DAMAGED}/")
    n_runs = expected.n_runs
    assert n_runs is not None  # noqa: S101 - known whenever there is a design
    with Store(path, identity, unit, names, wait=wait, n_runs=n_runs,
               replicates=expected.replicates) as store:
        # opening set aside the damaged parts; what is left damaged has another's seeds
        scan = scan_parts(path, n_runs, expected.replicates, expected.seed_of)
        if scan.damaged:
            store._set_aside(scan, n_runs)
        left = n_runs - len(scan.done)
        if left == 0 and not store.manifest.get("complete"):
            store.mark_complete()
        elif left and store.manifest.get("complete"):
            store.manifest["complete"] = False
            store._guarded(store._write_manifest)
    return [f"{left} of {n_runs} runs to run: run the same sweep again to finish it"] if left \
        else []
