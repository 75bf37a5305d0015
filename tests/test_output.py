"""The one output helper: a command never deletes or changes what it did not write."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.errors import AnalysisError
from analysis.output import MARKER, Legacy, clean_stale, staged_directory

ROOT = Path(__file__).resolve().parents[1]
RUN_LEGACY = Legacy("summary.json", frozenset(
    {"summary.json", "timeseries.csv", "scenario.toml", "hourglass.png"}))


def _write(directory: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)


def _result(out: Path, command: str, files: dict[str, bytes]) -> None:
    with staged_directory(out, command) as tmp:
        _write(tmp, files)


def _snapshot(root: Path) -> dict[str, tuple]:
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        name = path.relative_to(root).as_posix()
        if stat.S_ISLNK(info.st_mode):
            found[name] = ("link", str(path.readlink()))
        elif stat.S_ISDIR(info.st_mode):
            found[name] = ("dir", stat.S_IMODE(info.st_mode))
        else:
            found[name] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return found


# -- the rules, one by one -------------------------------------------------------------------


def test_an_unrelated_directory_is_refused_and_kept(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(AnalysisError, match=r"^--out .*mine: exists and is not an hourglass "
                       r"result; .* choose another directory$"):
        _result(mine, "compare", {"compare.csv": b"x"})
    assert sorted(_snapshot(tmp_path)) == ["mine", "mine/notes.txt"]
    assert (mine / "notes.txt").read_text() == "keep me"


def test_a_file_is_refused_and_not_renamed(tmp_path):
    target = tmp_path / "f"
    target.write_text("precious")
    with pytest.raises(AnalysisError, match="is a file, not a directory"):
        _result(target, "compare", {"a": b"1"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
    assert target.read_text() == "precious"


@pytest.mark.parametrize("out", ["", ".", "..", "./", "sub/..", "CWD"])
def test_the_working_directory_and_its_parents_are_never_touched(tmp_path, monkeypatch, out):
    here = tmp_path / "here"
    here.mkdir()
    (here / "summary.json").write_text("{}")  # looked like a result to the old rule
    (here / "sub").mkdir()
    monkeypatch.chdir(here)
    before = _snapshot(tmp_path)
    target = str(here) if out == "CWD" else out
    with pytest.raises(AnalysisError, match=r"^--out .*: (empty|is the working directory)"):
        _result(target, "run", {"summary.json": b"{}"})
    assert _snapshot(tmp_path) == before


def test_replaces_only_its_own_unchanged_result_of_the_same_command(tmp_path):
    out = tmp_path / "r"
    _result(out, "compare", {"compare.csv": b"1", "fig/forest.png": b"png"})
    _result(out, "compare", {"compare.csv": b"2"})  # an earlier compare: replaced
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "compare.csv"]
    assert (out / "compare.csv").read_bytes() == b"2"
    with pytest.raises(AnalysisError, match="holds a 'compare' result, not a 'run' one"):
        _result(out, "run", {"summary.json": b"{}"})
    (out / "compare.csv").write_bytes(b"edited by the user")
    with pytest.raises(AnalysisError, match="holds files added or changed since"):
        _result(out, "compare", {"compare.csv": b"3"})
    assert (out / "compare.csv").read_bytes() == b"edited by the user"
    (out / "compare.csv").write_bytes(b"2")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(AnalysisError, match="holds files added or changed since"):
        _result(out, "compare", {"compare.csv": b"3"})
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_an_empty_directory_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    _result(out, "run", {"summary.json": b"{}"})
    assert (out / "summary.json").exists()


def test_a_result_from_before_markers_is_replaced_only_if_it_is_exactly_one(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for name in ("summary.json", "timeseries.csv", "scenario.toml", "hourglass.png"):
        (old / name).write_text("{}" if name.endswith("json") else "x")
    with staged_directory(old, "run", legacy=RUN_LEGACY) as tmp:
        (tmp / "summary.json").write_text('{"new": 1}')
    assert sorted(p.name for p in old.iterdir()) == [MARKER, "summary.json"]

    other = tmp_path / "other"
    other.mkdir()
    (other / "summary.json").write_text("{}")
    (other / "notes.txt").write_text("mine")
    with pytest.raises(AnalysisError, match="exists and is not an hourglass result"):
        _result_with_legacy(other)
    assert (other / "notes.txt").read_text() == "mine"
    (other / "notes.txt").unlink()
    (other / "summary.json").write_text("not json")  # not truly a run's summary
    with pytest.raises(AnalysisError, match="exists and is not an hourglass result"):
        _result_with_legacy(other)


def _result_with_legacy(out: Path) -> None:
    with staged_directory(out, "run", legacy=RUN_LEGACY) as tmp:
        (tmp / "summary.json").write_text("{}")


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_directories_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        _result(tmp_path / "a" / "b" / "out", "run", {"x": b"1"})
    finally:
        os.umask(old)
    for path in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "out"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o777 & ~mask, path


def test_a_failure_leaves_nothing_and_a_full_disk_is_one_line(tmp_path):
    out = tmp_path / "out"
    out = tmp_path / "new" / "out"

    def fail(error: BaseException) -> None:
        with staged_directory(out, "run") as tmp:
            (tmp / "half").write_text("x")
            raise error

    with pytest.raises(RuntimeError):
        fail(RuntimeError("boom"))
    assert list(tmp_path.iterdir()) == []  # "new" was made for out, and is gone again
    with pytest.raises(AnalysisError, match=r"^--out .*out: cannot write the result \(no space "
                       r"left on the device\); nothing was written there$"):
        fail(OSError(errno.ENOSPC, "No space left on device"))
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_parent_is_refused_before_anything(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(AnalysisError, match="cannot write in"):
            _result(locked / "out", "run", {"x": b"1"})
    finally:
        locked.chmod(0o755)


# -- kill -9: what a killed command left is cleaned on the next start -------------------------

KILLED = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from analysis.output import staged_directory
    out, when = Path(sys.argv[1]), sys.argv[2]
    def die():
        os.kill(os.getpid(), 9)
    with staged_directory(out, "run", on_swap=die if when == "swap" else None) as tmp:
        (tmp / "summary.json").write_text('{"new": true}')
        if when == "work":
            print("writing", flush=True)
            time.sleep(60)
    """
)


def _killed(out: Path, when: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(out), when], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    if when == "work":
        assert proc.stdout.readline() == "writing\n"
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def test_kill_9_while_writing_leaves_a_partial_that_the_next_start_removes(tmp_path):
    out = tmp_path / "out"
    foreign = tmp_path / ".out.partial-someone-else"  # not ours: no marker
    foreign.mkdir()
    _killed(out, "work")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2, left
    assert left[0].startswith(".out.partial-"), left
    _result(out, "run", {"summary.json": b"{}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [foreign.name, "out"]


def test_kill_9_in_the_swap_puts_the_earlier_result_back(tmp_path):
    out = tmp_path / "out"
    _result(out, "run", {"summary.json": b'{"old": true}'})
    before = _snapshot(out)
    _killed(out, "swap")
    assert not out.exists()  # killed between setting the old result aside and moving in
    assert clean_stale(out)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_live_writers_partial_is_left_alone(tmp_path):
    out = tmp_path / "out"
    busy = tmp_path / f".out.partial-{os.getpid()}-live"
    busy.mkdir()
    (busy / MARKER).write_text(json.dumps({"command": "run", "pid": os.getpid(),
                                           "complete": False}))
    assert clean_stale(out) == []
    assert busy.exists()


# -- the commands -------------------------------------------------------------------------


def _hourglass(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "hourglass.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize("command", [
    ["compare", "baseline", "baseline", "--replicates", "2"],
    ["sensitivity", "--samples", "2", "--trajectories", "0", "--replicates", "1"],
    ["run", "--set", "run.months=2"],
])
def test_commands_refuse_an_unrelated_out_at_once(tmp_path, command):
    mine = tmp_path / "mine"
    target = mine
    if command[0] == "sensitivity":
        target = mine / "report"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("keep me")
    before = _snapshot(tmp_path)
    started = time.monotonic()
    done = _hourglass(*command, "--out", str(mine), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"--out {target}: exists and is not an hourglass result" in done.stderr
    assert _snapshot(tmp_path) == before
    assert time.monotonic() - started < 60  # refused before the runs (they would take minutes)


def test_run_out_dot_keeps_the_working_directory(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    before = _snapshot(tmp_path)
    for out in (".", ""):
        done = _hourglass("run", "--set", "run.months=2", "--out", out, cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr.startswith("hourglass: error: --out ")
        assert done.stderr.count("\n") == 1
    assert _snapshot(tmp_path) == before


# -- a property: nothing the helper did not write is removed or changed -----------------------

NAMES = st.sampled_from(["a", "b", "out", "summary.json", "notes.txt", MARKER])
CONTENT = st.binary(max_size=8)
TREE = st.dictionaries(st.lists(NAMES, min_size=1, max_size=3).map("/".join), CONTENT,
                       max_size=6)
OUTS = st.sampled_from(["", ".", "..", "out", "a", "a/out", "here/out", "../out", "b/b",
                        "summary.json", "a/summary.json", "CWD", "/"])


def _plant(root: Path, tree: dict[str, bytes]) -> None:
    for name, data in tree.items():
        path = root / name
        inside = [p for p in path.parents if p.is_relative_to(root)]
        if path.exists() or any(p.exists() and not p.is_dir() for p in inside):
            continue  # a file where a folder would go, or planted already
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tree=TREE,
    out=OUTS,
    command=st.sampled_from(["run", "compare"]),
    earlier=st.sampled_from([None, "run", "compare"]),
    tamper=st.sampled_from([None, "add", "edit"]),
    writes=st.dictionaries(st.sampled_from(["x", "y.csv", "d/z.csv", "d/e/w.png"]), CONTENT,
                           max_size=3),
    fail=st.booleans(),
)
def test_nothing_it_did_not_write_is_removed_or_changed(
    tree, out, command, earlier, tamper, writes, fail
):
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        here = world / "here"
        here.mkdir(parents=True)
        _plant(world, tree)
        _plant(here, tree)
        saved = Path.cwd()
        os.chdir(here)
        try:
            target = str(here) if out == "CWD" else out
            ours = False  # target holds an unchanged earlier result of this command
            if earlier and target not in ("", ".", "..", "/", "CWD", str(here)):
                path = Path(target)
                free = not path.exists() or (path.is_dir() and not any(path.iterdir()))
                if free and not any(p.exists() and not p.is_dir() for p in path.parents):
                    _result(path, earlier, {"old.csv": b"old"})
                    if tamper == "add":
                        (path / "notes.txt").write_bytes(b"user")
                    elif tamper == "edit":
                        (path / "old.csv").write_bytes(b"user")
                    ours = earlier == command and tamper is None
            before = _snapshot(world)
            resolved = (here / target).resolve() if target else None
            empty = resolved is not None and resolved.is_dir() and not any(resolved.iterdir())
            try:
                with staged_directory(target, command) as staging:
                    _write(staging, writes)
                    if fail:
                        raise RuntimeError("the command failed")
                outcome = "written"
            except (AnalysisError, RuntimeError):
                outcome = "refused"
            after = _snapshot(world)
        finally:
            os.chdir(saved)
        if outcome == "refused":
            assert after == before
            return
        assert resolved is not None
        assert ours or empty or not resolved.exists() or resolved.is_dir()
        inside = resolved.relative_to(world).as_posix()
        for name, entry in before.items():
            if name == inside or name.startswith(f"{inside}/"):
                assert ours or empty or name != inside, "replaced what was not ours"
                continue
            assert after.get(name) == entry, f"{name} changed"
        new = {n for n in after if n not in before}
        assert all(n == inside or n.startswith(f"{inside}/") or Path(inside).is_relative_to(n)
                   for n in new), new
        got = {n.removeprefix(f"{inside}/"): e[1] for n, e in after.items()
               if n.startswith(f"{inside}/") and e[0] == "file"}
        assert json.loads(got.pop(MARKER))["command"] == command
        assert got == writes
