"""Interrupts with real processes: workers end with their parent; Ctrl-C keeps finished runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import sweep_models

from analysis.sweep import load_sweep, run_sweep

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SPACE = {"a": (0.0, 1.0), "b": (0.0, 2.0), "c": (0.0, 1.0)}

SWEEP = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import sweep_models
    from analysis.errors import Interrupted
    from analysis.sweep import run_sweep
    try:
        run_sweep(sweep_models.{model}, {space!r}, "lhs", 30, 4, seed=5, store={store!r},
                  executor="processes", workers=2, chunk_size={chunk}, progress=False)
    except Interrupted as stop:
        print(f"interrupted: {{stop}}", file=sys.stderr)
        sys.exit(130)
    """
)


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _parts(store: Path) -> list[Path]:
    return sorted((store / "parts").glob("part-*.parquet"))


def _start(tmp_path: Path, model: str, chunk: int, delay: str) -> tuple[subprocess.Popen, Path]:
    store = tmp_path / "store"
    script = SWEEP.format(tests=str(TESTS), model=model, space=SPACE, store=str(store),
                          chunk=chunk)
    env = {**os.environ, "SWEEP_TEST_DELAY": delay, "PYTHONPATH": str(ROOT),
           "SWEEP_TEST_LOG": str(tmp_path / "finished.log")}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT,
                            start_new_session=True, stderr=subprocess.PIPE, text=True)
    return proc, store


def _wait_for_parts(proc: subprocess.Popen, store: Path, n: int) -> None:
    deadline = time.monotonic() + 120
    while len(_parts(store)) < n:
        assert proc.poll() is None, "the sweep ended before it could be stopped"
        assert time.monotonic() < deadline, "no part files appeared"
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_end_when_their_parent_is_killed(tmp_path, sig):
    proc, store = _start(tmp_path, "slow_linear", 4, "0.05")
    try:
        _wait_for_parts(proc, store, 1)
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers  # the two workers (and multiprocessing's tracker)
        proc.send_signal(sig)  # the parent alone, as `kill` does
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _running(w)], "workers outlived their parent"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stderr.close()


def test_sigint_to_the_parent_stops_at_once_and_keeps_every_finished_run(tmp_path,
                                                                         monkeypatch):
    # chunks of 20 runs x 0.1 s: a worker is 2 s into a chunk at most; stopping between runs
    # keeps what it finished of it (the old pool waited for whole chunks and dropped them)
    proc, store = _start(tmp_path, "logged_linear", 20, "0.1")
    try:
        _wait_for_parts(proc, store, 1)
        time.sleep(0.5)
        asked = time.monotonic()
        proc.send_signal(signal.SIGINT)  # the main process only, not its workers
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - asked
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert took < 8, f"stopping took {took:.1f} s"
    finished = (tmp_path / "finished.log").read_text().splitlines()
    stored = load_sweep(store).runs
    assert 20 <= len(stored) < 120
    assert len(stored) == len(finished), "a run a worker finished was not stored"
    assert f"interrupted: {len(stored)} of 120 runs stored in {store}" in err
    assert not json.loads((store / "manifest.json").read_text())["complete"]

    monkeypatch.setenv("SWEEP_TEST_DELAY", "0")
    monkeypatch.setenv("SWEEP_TEST_LOG", str(tmp_path / "resumed.log"))
    resumed = run_sweep(sweep_models.logged_linear, SPACE, "lhs", 30, 4, seed=5, store=store,
                        executor="serial", progress=False)
    assert len((tmp_path / "resumed.log").read_text().splitlines()) == 120 - len(stored)
    whole = run_sweep(sweep_models.linear, SPACE, "lhs", 30, 4, seed=5, executor="serial",
                      progress=False)
    pd.testing.assert_frame_equal(resumed.runs, whole.runs, check_exact=True)


def test_ctrl_c_while_workers_start_prints_one_line(tmp_path):
    """SIGINT to the whole process group (as a terminal sends it) while workers import."""
    store = tmp_path / "s"
    command = [sys.executable, "-m", "hourglass.cli", "sweep", "baseline", "--design", "lhs",
               "--samples", "20", "--replicates", "2", "--vary", "levers.trust=0:1",
               "--set", "run.months=24", "--workers", "2", "--no-progress", "--out", str(store)]
    proc = subprocess.Popen(command, cwd=ROOT, start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (store / "manifest.json").exists():  # the store is made just before workers
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        workers = []
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = [w for w in _children(proc.pid) if _running(w)]
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert all(line.startswith("hourglass: ") for line in lines), err  # nothing from workers
    assert [line for line in lines if "interrupted" in line] == [
        f"hourglass: interrupted; 0 of 40 runs stored in {store}; run the same sweep again to "
        "resume"
    ]
    time.sleep(1)
    assert not [w for w in workers if _running(w)]
