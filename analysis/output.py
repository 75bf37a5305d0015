"""Write a command's result so that it never deletes or changes what it did not write.

Every command writes its result with :func:`staged_directory`: into a hidden directory beside
``out``, moved into place only when complete. Inside each result, a marker file
(``.hourglass-result``) names the command that wrote it and the digest of every file it
wrote. An existing ``out`` is replaced only if

* it is an empty directory, or
* it carries the marker of the same command and holds exactly the files that marker lists,
  unchanged (a file the user added or edited makes it theirs, and it is refused).

``out`` is never the working directory, a parent of it, ``''``, a file or a symbolic link.
Refusals are one :class:`~analysis.errors.AnalysisError` line naming the option.

A staging directory carries the marker too, with the writing process's id and
``complete: false``; one left by a killed command (its process has ended) is removed the next
time a command writes beside it. Directories are created with the user's umask.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError

MARKER = ".hourglass-result"
# Errors that mean "this place cannot hold the result": said in one line, never a traceback.
_PLACE_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


@dataclass(frozen=True)
class Legacy:
    """What a result written before markers existed looks like, for one command.

    Attributes:
        required: A file every such result holds (e.g. ``summary.json``), a JSON object.
        files: Every name such a result may hold; anything else makes the directory foreign.
    """

    required: str
    files: frozenset[str]

    def matches(self, directory: Path) -> bool:
        """Whether ``directory`` is such a result (and nothing else)."""
        try:
            names = {p.name for p in directory.iterdir()}
            if self.required not in names or not names <= self.files:
                return False
            if any(not (directory / n).is_file() or (directory / n).is_symlink() for n in names):
                return False
            return isinstance(json.loads((directory / self.required).read_text("utf-8")), dict)
        except (OSError, ValueError):
            return False


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _read_marker(directory: Path) -> dict[str, Any] | None:
    """The marker of ``directory``, or ``None`` if it has none (or an unreadable one)."""
    path = directory / MARKER
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("command"), str) else None


def _write_marker(directory: Path, data: dict[str, Any]) -> None:
    path = directory / MARKER
    tmp = directory / f"{MARKER}.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _files(directory: Path) -> dict[str, Path]:
    """Every entry below ``directory`` except the marker, by relative POSIX name."""
    found = {}
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if name != MARKER:
            found[name] = path
    return found


def _own_files(directory: Path, command: str, legacy: Legacy | None) -> list[str] | None:
    """The names of what ``command`` wrote in ``directory``, if it holds nothing else.

    Returns ``None`` when the directory is not wholly an earlier result of ``command``.
    """
    marker = _read_marker(directory)
    if marker is None:
        if legacy is not None and legacy.matches(directory):
            return sorted(p.name for p in directory.iterdir())
        return None
    listed = marker.get("files")
    if marker.get("command") != command or not marker.get("complete") or not isinstance(
        listed, dict
    ):
        return None
    present = _files(directory)
    dirs = {n for n, p in present.items() if p.is_dir() and not p.is_symlink()}
    files = {n: p for n, p in present.items() if n not in dirs}
    whole = (
        set(files) == set(listed)
        # every directory leads to a listed file (no folder the user made)
        and all(any(f.startswith(f"{d}/") for f in files) for d in dirs)
        and all(not p.is_symlink() and p.is_file() and _digest(p) == listed[n]
                for n, p in files.items())
    )
    if not whole:
        return None
    return [*sorted(files), *sorted(dirs, key=lambda d: -d.count("/"))]


def _describe(directory: Path, command: str) -> str:
    marker = _read_marker(directory)
    if marker is None:
        return "exists and is not an hourglass result"
    if marker.get("command") != command:
        return f"holds a '{marker['command']}' result, not a '{command}' one"
    if not marker.get("complete"):
        return "holds an unfinished result"
    return "holds files added or changed since hourglass wrote it"


def _is_protected(out: Path) -> bool:
    """``out`` is the working directory or one of its parents (or the root)."""
    here = Path.cwd().resolve()
    target = out.resolve()
    return here == target or here.is_relative_to(target)


def check_output(
    out: Path | str, command: str, *, option: str = "--out", legacy: Legacy | None = None
) -> Path:
    """Refuse an ``out`` that :func:`staged_directory` may not write, without writing anything.

    Call it before long work so that a bad ``--out`` is said at once.

    Args:
        out: The target directory.
        command: The command whose result goes there (e.g. ``"run"``).
        option: The option named in refusals.
        legacy: How an unmarked result of an older version of ``command`` looks.

    Returns:
        ``out`` as a :class:`~pathlib.Path`.

    Raises:
        AnalysisError: ``out`` may not be written (see the module docstring) or its nearest
            existing parent is not a writable directory.
    """
    if isinstance(out, str) and not out.strip():
        raise AnalysisError(f"{option} {out!r}: empty; name a directory for the results")
    out = Path(out)
    if str(out) in ("", ".") or _is_protected(out):
        raise AnalysisError(
            f"{option} {out}: is the working directory or one of its parents; name a new "
            "directory for the results"
        )
    if out.is_symlink():
        raise AnalysisError(f"{option} {out}: is a symbolic link; name a directory")
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise AnalysisError(f"{option} {out}: is a file, not a directory; choose another")
        if os.path.ismount(out):
            raise AnalysisError(f"{option} {out}: is a mount point; name a directory inside it")
        try:
            empty = not any(out.iterdir())
        except OSError as exc:
            raise AnalysisError(f"{option} {out}: cannot be read ({exc.strerror})") from None
        if not empty and _own_files(out, command, legacy) is None:
            raise AnalysisError(
                f"{option} {out}: {_describe(out, command)}; hourglass replaces only its "
                f"own unchanged '{command}' results: choose another directory"
            )
    parent = out.parent
    while not parent.exists():
        if parent.is_symlink() or parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise AnalysisError(f"{option} {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise AnalysisError(f"{option} {out}: cannot write in {parent} (permission denied or "
                            "read-only)")
    return out


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: Path | str) -> list[Path]:
    """Remove staging directories beside ``out`` that a killed command of ours left.

    Only ``.<name>.partial-*`` and ``.<name>.old-*`` directories that carry our marker and
    whose writing process has ended are touched. A ``.old`` directory is the previous result,
    set aside in the instant of a swap: it is put back if ``out`` is missing, else removed.

    Returns:
        The directories removed or put back.
    """
    out = Path(out)
    handled = []
    try:
        siblings = list(out.parent.glob(f".{out.name}.*"))
    except OSError:
        return handled
    for path in siblings:
        kind = path.name[len(out.name) + 2 :].split("-", 1)[0]
        if kind not in ("partial", "old") or path.is_symlink() or not path.is_dir():
            continue
        marker = _read_marker(path)
        if marker is None or _alive(marker.get("pid" if kind == "partial" else "swapped_by")):
            continue
        if kind == "old" and not out.exists() and not out.is_symlink():
            path.replace(out)
            _write_marker(out, {k: v for k, v in marker.items() if k != "swapped_by"})
        elif kind == "old":
            _remove_result(path, marker.get("command", ""), None)
        else:
            shutil.rmtree(path, ignore_errors=True)
        handled.append(path)
    return handled


def _remove_result(directory: Path, command: str, legacy: Legacy | None) -> None:
    """Delete what ``command`` wrote in ``directory`` (nothing else), then the directory."""
    own = _own_files(directory, command, legacy)
    if own is None:
        print(f"hourglass: kept {directory}: it holds files hourglass did not write",
              file=sys.stderr)
        return
    for name in own:
        path = directory / name
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink()
    with contextlib.suppress(FileNotFoundError):
        (directory / MARKER).unlink()
    directory.rmdir()


def _place_error(option: str, out: Path, exc: OSError) -> AnalysisError:
    reason = _PLACE_ERRORS.get(exc.errno, exc.strerror or str(exc))
    return AnalysisError(f"{option} {out}: cannot write the result ({reason}); nothing was "
                         "written there")


@contextmanager
def staged_directory(
    out: Path | str,
    marker: str,
    *,
    option: str = "--out",
    legacy: Legacy | None = None,
    on_swap: Callable[[], None] | None = None,
) -> Iterator[Path]:
    """Yield a fresh directory beside ``out``; move it to ``out`` only if the block succeeds.

    A failure or interruption leaves ``out`` as it was. See the module docstring for what may
    be replaced.

    Args:
        out: The result directory.
        marker: The command writing it (recorded in, and compared with, the marker).
        option: The option named in refusals.
        legacy: How an unmarked result of an older version of the command looks.
        on_swap: Called between setting the old result aside and moving the new one in
            (for tests of interruptions).

    Yields:
        The staging directory to write into.

    Raises:
        AnalysisError: ``out`` may not be written (checked before and after the block), or
            the device is full, read-only or not writable.
    """
    out = check_output(out, marker, option=option, legacy=legacy)
    clean_stale(out)
    name = f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    made = [p for p in out.parents if not p.exists() and not p.is_symlink()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.parent / name
        staging.mkdir()  # the user's umask, unlike tempfile.mkdtemp's 0700
        _write_marker(staging, {"command": marker, "pid": os.getpid(), "complete": False})
    except OSError as exc:
        _remove_empty(made)
        raise _place_error(option, out, exc) from None
    try:
        yield staging
        files = {n: _digest(p) for n, p in _files(staging).items() if p.is_file()}
        _write_marker(staging, {
            "command": marker, "complete": True, "files": files,
            "written": datetime.now(UTC).isoformat(timespec="seconds"),
        })
        _swap(staging, out, marker, option, legacy, on_swap)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(made)
        if exc.errno in _PLACE_ERRORS:
            raise _place_error(option, out, exc) from None
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(made)
        raise


def _remove_empty(made: list[Path]) -> None:
    """Remove the folders made for ``out`` (innermost first) if nothing else went in."""
    for path in made:
        try:
            path.rmdir()
        except OSError:
            return


def _swap(
    staging: Path, out: Path, command: str, option: str, legacy: Legacy | None,
    on_swap: Callable[[], None] | None,
) -> None:
    """Move ``staging`` to ``out``, setting an earlier result of ``command`` aside first."""
    check_output(out, command, option=option, legacy=legacy)  # again: it may have changed
    if out.exists() and any(out.iterdir()):
        old = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
        marker = _read_marker(out)
        if marker is not None:  # an interrupted swap is undone by clean_stale
            _write_marker(out, {**marker, "swapped_by": os.getpid()})
        out.replace(old)
        if on_swap is not None:
            on_swap()
        staging.replace(out)
        if marker is not None:
            _write_marker(old, marker)
        _remove_result(old, command, legacy)
    else:
        staging.replace(out)  # over an empty directory, or into a free name


def result_files(directory: Path | str) -> list[str]:
    """The files a result directory holds, without its marker."""
    return sorted(n for n, p in _files(Path(directory)).items() if p.is_file())


__all__ = ["MARKER", "Legacy", "check_output", "clean_stale", "result_files", "staged_directory"]
