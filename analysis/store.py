"""Append-only, resumable result store for a sweep.

Layout of a store directory::

    manifest.json        identity of the sweep (design, space, seed, replicates, model),
                         code version, output names, and "complete" once every run is in
    design.parquet       the unit design matrix, one row per design row
    parts/part-<first run id>.parquet
                         one file per completed chunk: run_id, row, replicate, seed, outputs

Every file is written to a hidden temporary name in the same directory and moved
into place with ``os.replace`` (atomic on POSIX), so a ``kill -9`` mid-write leaves
at worst a stray ``.tmp-*`` file, which the next open deletes. A run id is in a part
file only once that part is complete; resuming reads every part, skips those run ids
and runs the rest, so no run is lost or done twice.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError

FORMAT = 1
MANIFEST = "manifest.json"
DESIGN = "design.parquet"
PARTS = "parts"


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


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_bytes(data)
    tmp.replace(path)


def _atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def _normalise(value: Any) -> Any:
    """JSON round trip, so tuples/lists and int/float compare as they will on disk."""
    return json.loads(json.dumps(value, sort_keys=True))


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return sub
            found = _first_difference(a[key], b[key], sub)
            if found:
                return found
        return None
    return None if a == b else path or "<root>"


def _describe(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


class Store:
    """A sweep's results, on disk (``path``) or in memory (``path=None``).

    Args:
        path: Store directory, created if missing; ``None`` keeps results in memory.
        identity: What makes two sweeps the same (design spec, space, seed,
            replicates, model). An existing store with a different identity is refused.
        unit: The design's unit matrix (saved as ``design.parquet``).
        factor_names: Column names of ``unit``.
        info: Extra manifest fields (scenario/base info), not part of the identity.

    Raises:
        AnalysisError: The directory holds a different sweep or is not a store.
    """

    def __init__(
        self,
        path: str | Path | None,
        identity: Mapping[str, Any],
        unit: np.ndarray,
        factor_names: list[str],
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.identity = _normalise(dict(identity))
        self._frames: list[pd.DataFrame] = []
        self._done: set[int] = set()
        if self.path is None:
            self.manifest: dict[str, Any] = {"identity": self.identity, "outputs": []}
            return
        manifest_path = self.path / MANIFEST
        if manifest_path.exists():
            self.manifest = read_manifest(self.path)
            diff = _first_difference(self.manifest.get("identity"), self.identity)
            if diff:
                old = _lookup(self.manifest.get("identity"), diff)
                new = _lookup(self.identity, diff)
                raise AnalysisError(
                    f"store {self.path}: holds a different sweep ({diff}: stored "
                    f"{_describe(old)}, requested {_describe(new)}); use a new directory or "
                    "delete this one"
                )
            stored = pd.read_parquet(self.path / DESIGN).to_numpy(dtype=float)
            if stored.shape != unit.shape or not np.array_equal(stored, unit):
                raise AnalysisError(
                    f"store {self.path}: design.parquet differs from the regenerated design "
                    "(library versions changed?); use a new directory"
                )
        else:
            if self.path.exists() and any(p.name != PARTS for p in self.path.iterdir()):
                raise AnalysisError(
                    f"store {self.path}: directory exists and is not a sweep store; "
                    "use a new or empty directory"
                )
            (self.path / PARTS).mkdir(parents=True, exist_ok=True)
            _atomic_write_parquet(
                self.path / DESIGN, pd.DataFrame(unit, columns=factor_names)
            )
            self.manifest = {
                "format": FORMAT,
                "identity": self.identity,
                "info": _normalise(dict(info or {})),
                "code_version": code_version(),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "outputs": [],
                "complete": False,
            }
            self._write_manifest()
        (self.path / PARTS).mkdir(exist_ok=True)
        for stray in (self.path / PARTS).glob(".tmp-*"):
            stray.unlink()
        for part in sorted((self.path / PARTS).glob("part-*.parquet")):
            frame = pd.read_parquet(part)
            self._frames.append(frame)
            self._done.update(int(i) for i in frame["run_id"])

    # -- writing -------------------------------------------------------------------------

    def _write_manifest(self) -> None:
        if self.path is None:
            return
        data = json.dumps(self.manifest, indent=2, sort_keys=True).encode()
        _atomic_write_bytes(self.path / MANIFEST, data)

    @property
    def done(self) -> set[int]:
        """Run ids already stored."""
        return set(self._done)

    def append(self, frame: pd.DataFrame) -> None:
        """Store one completed chunk (columns run_id, row, replicate, seed, outputs).

        Raises:
            AnalysisError: A run id in the chunk is already stored.
        """
        ids = [int(i) for i in frame["run_id"]]
        again = self._done.intersection(ids)
        if again:
            raise AnalysisError(f"store: run {min(again)} is already stored")
        frame = frame.sort_values("run_id", kind="stable").reset_index(drop=True)
        if self.path is not None:
            _atomic_write_parquet(self.path / PARTS / f"part-{min(ids):010d}.parquet", frame)
        self._frames.append(frame)
        self._done.update(ids)
        outputs = [c for c in frame.columns if c not in ("run_id", "row", "replicate", "seed")]
        new = [c for c in outputs if c not in self.manifest["outputs"]]
        if new:
            self.manifest["outputs"] = [*self.manifest["outputs"], *new]
            if self.path is not None:
                self._write_manifest()

    def mark_complete(self) -> None:
        """Record that every run is stored (written last)."""
        self.manifest["complete"] = True
        self.manifest["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        if self.path is not None:
            self._write_manifest()

    # -- reading -------------------------------------------------------------------------

    def results(self) -> pd.DataFrame:
        """Every stored run, sorted by run id."""
        if not self._frames:
            return pd.DataFrame(columns=["run_id", "row", "replicate", "seed"])
        frame = pd.concat(self._frames, ignore_index=True)
        return frame.sort_values("run_id", kind="stable").reset_index(drop=True)


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read a store's manifest.

    Raises:
        AnalysisError: No store at ``path`` or an unreadable manifest.
    """
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnalysisError(f"store {path}: no {MANIFEST}; not a sweep store") from None
    except json.JSONDecodeError as exc:
        raise AnalysisError(f"store {path}: {MANIFEST} is not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise AnalysisError(
            f"store {path}: format {manifest.get('format')!r} is not supported; allowed: {FORMAT}"
        )
    return manifest


def read_store(path: str | Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Read manifest, unit design (one column per factor) and results of a store."""
    path = Path(path)
    manifest = read_manifest(path)
    unit = pd.read_parquet(path / DESIGN)
    parts = sorted((path / PARTS).glob("part-*.parquet"))
    if parts:
        results = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        results = results.sort_values("run_id", kind="stable").reset_index(drop=True)
    else:
        results = pd.DataFrame(columns=["run_id", "row", "replicate", "seed"])
    if results["run_id"].duplicated().any():
        dup = int(results.loc[results["run_id"].duplicated(), "run_id"].iloc[0])
        raise AnalysisError(f"store {path}: run {dup} is stored twice; the store is corrupt")
    return manifest, unit, results
