"""The store: streaming, resume after kill -9 or Ctrl-C, refusal of another sweep, atomic parts."""

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

from analysis.errors import AnalysisError
from analysis.store import Store
from analysis.sweep import load_sweep, run_sweep

SPACE = {"a": (0.0, 1.0), "b": (0.0, 2.0), "c": (0.0, 1.0)}
ARGS = {"design": "lhs", "samples": 30, "replicates": 4}
TESTS = Path(__file__).parent
ROOT = TESTS.parent


def _parts(path: Path) -> list[Path]:
    return sorted((path / "parts").glob("part-*.parquet"))


def test_store_round_trip(tmp_path):
    store = tmp_path / "s"
    sweep = run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, store=store, executor="serial",
                      chunk_size=7, progress=False, info={"scenario": "toy"})
    assert sweep.complete
    assert len(sweep.runs) == 120
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["identity"]["design"]["kind"] == "lhs"
    assert manifest["identity"]["seed"] == 2
    assert manifest["identity"]["model"] == "sweep_models.linear"
    assert manifest["info"] == {"scenario": "toy"}
    assert manifest["outputs"] == ["y", "z@12", "z@24", "noise"]
    assert manifest["code_version"]
    assert len(_parts(store)) == 18  # ceil(120 / 7)
    loaded = load_sweep(store)
    pd.testing.assert_frame_equal(loaded.runs, sweep.runs, check_exact=True)
    pd.testing.assert_frame_equal(loaded.means, sweep.means, check_exact=True)
    assert loaded.space == sweep.space
    # the same sweep again: nothing to do, nothing rewritten
    mtimes = [p.stat().st_mtime_ns for p in _parts(store)]
    again = run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, store=store, executor="serial",
                      progress=False)
    assert [p.stat().st_mtime_ns for p in _parts(store)] == mtimes
    pd.testing.assert_frame_equal(again.runs, sweep.runs, check_exact=True)


def test_means_are_replicate_means(tmp_path):
    sweep = run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, executor="serial",
                      progress=False)
    expected = sweep.runs.groupby("row")["noise"].mean()
    pd.testing.assert_series_equal(sweep.means["noise"], expected, check_exact=True)
    assert list(sweep.means.columns[:3]) == ["a", "b", "c"]
    assert sweep.output_means("noise").tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("change", "field"),
    [({"seed": 3}, "design.seed"), ({"samples": 31}, "design.rows"),
     ({"design": "sobol", "samples": 8}, "design.kind"), ({"replicates": 5}, "replicates"),
     ({"space": {"a": (0.0, 1.0), "b": (0.0, 3.0), "c": (0.0, 1.0)}}, "space")],
)
def test_different_sweep_refused(tmp_path, change, field):
    store = tmp_path / "s"
    run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, store=store, executor="serial",
              progress=False)
    kwargs = {"space": SPACE, **ARGS, "seed": 2, **change}
    space = kwargs.pop("space")
    with pytest.raises(AnalysisError) as err:
        run_sweep(sweep_models.linear, space, **kwargs, store=store, executor="serial",
                  progress=False)
    message = str(err.value)
    assert message.startswith(f"store {store}: holds a different sweep ({field}: stored ")
    assert message.endswith("this store is kept: give another directory to start a new one")
    assert "\n" not in message


def test_other_model_refused_and_non_store_refused(tmp_path):
    store = tmp_path / "s"
    run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, store=store, executor="serial",
              progress=False)
    with pytest.raises(AnalysisError, match=r"different sweep \(model: stored \"sweep_models"):
        run_sweep(sweep_models.slow_linear, SPACE, **ARGS, seed=2, store=store,
                  executor="serial", progress=False)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(AnalysisError, match="directory exists and is not a sweep store"):
        run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, store=other, executor="serial",
                  progress=False)
    with pytest.raises(AnalysisError, match=r"no manifest\.json; not a sweep store"):
        load_sweep(other)


def test_half_written_part_is_ignored_and_duplicates_refused(tmp_path):
    store = tmp_path / "s"
    full = run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, store=store, executor="serial",
                     chunk_size=10, progress=False)
    # simulate kill -9 in the middle of writing a part: a truncated temp file remains,
    # and the part it would have become is missing
    last = _parts(store)[-1]
    (last.parent / f".tmp-{last.name}").write_bytes(last.read_bytes()[:50])
    last.unlink()
    resumed = run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, store=store,
                        executor="serial", progress=False)
    assert not list((store / "parts").glob(".tmp-*"))
    pd.testing.assert_frame_equal(resumed.runs, full.runs, check_exact=True)
    st = Store(store, resumed.manifest["identity"], resumed.design.unit, resumed.space.names)
    with pytest.raises(AnalysisError, match="run 0 is already stored"):
        st.append(full.results.iloc[:3])


def test_incomplete_sweep_cannot_be_analysed(tmp_path):
    store = tmp_path / "s"
    run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, store=store, executor="serial",
              chunk_size=10, progress=False)
    for part in _parts(store)[:2]:
        part.unlink()
    partial = load_sweep(store)
    assert not partial.complete
    assert len(partial.runs) == 100
    with pytest.raises(AnalysisError, match="100 of 120 runs stored; finish it"):
        partial.output_means("y")


KILLED_SWEEP = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import sweep_models
    from analysis.sweep import run_sweep
    run_sweep(sweep_models.slow_linear, {space!r}, "lhs", 30, 4, seed=5, store={store!r},
              executor="processes", workers=2, chunk_size=4, progress=False)
    """
)


def _wait_for_parts(proc: subprocess.Popen, store: Path, n: int) -> None:
    """Wait until the running sweep has stored n parts; fail if it ended first."""
    deadline = time.monotonic() + 60
    while len(_parts(store)) < n:
        assert proc.poll() is None, "the sweep ended before it could be stopped"
        assert time.monotonic() < deadline, "no part files appeared"
        time.sleep(0.02)


def test_resume_after_kill_9(tmp_path, monkeypatch):
    store = tmp_path / "killed"
    script = KILLED_SWEEP.format(tests=str(TESTS), space=SPACE, store=str(store))
    env = {**os.environ, "SWEEP_TEST_DELAY": "0.05", "PYTHONPATH": str(ROOT)}
    # 120 runs x 50 ms on 2 workers ~ 3 s of work; kill once a few parts exist
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT,
                            start_new_session=True)
    try:
        _wait_for_parts(proc, store, 3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes
        proc.wait()
    before = {p.name: p.read_bytes() for p in _parts(store)}
    assert 3 <= len(before) < 30, "killed mid-way"
    assert not json.loads((store / "manifest.json").read_text())["complete"]
    monkeypatch.setenv("SWEEP_TEST_DELAY", "0")  # same results, no need to wait in-process
    resumed = run_sweep(sweep_models.slow_linear, SPACE, "lhs", 30, 4, seed=5, store=store,
                        executor="serial", chunk_size=16, progress=False)
    # parts written before the kill are kept as they were (their runs were not redone)
    assert {p.name: p.read_bytes() for p in _parts(store) if p.name in before} == before
    runs = resumed.runs
    assert runs["run_id"].is_unique
    assert list(runs["run_id"]) == list(range(120))
    assert sum(len(pd.read_parquet(p)) for p in _parts(store)) == 120  # none stored twice
    uninterrupted = run_sweep(sweep_models.slow_linear, SPACE, "lhs", 30, 4, seed=5,
                              executor="serial", progress=False)
    pd.testing.assert_frame_equal(runs, uninterrupted.runs, check_exact=True)
    assert json.loads((store / "manifest.json").read_text())["complete"] is True


def test_resume_after_ctrl_c_from_the_command_line(tmp_path):
    """Ctrl-C (SIGINT to the process group) stops a sweep with one line; a rerun resumes."""
    # 1,000 runs (250 parts, a few seconds on 2 workers): long enough that the sweep cannot
    # finish while this polling process waits for a core behind the two busy workers.
    command = [
        sys.executable, "-m", "hourglass.cli", "sweep", "baseline", "--design", "lhs",
        "--samples", "500", "--replicates", "2", "--seed", "3", "--vary", "levers.trust=0:1",
        "--set", "run.months=24", "--workers", "2", "--chunk-size", "4", "--no-progress",
    ]
    store = tmp_path / "interrupted"
    proc = subprocess.Popen([*command, "--out", str(store)], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_parts(proc, store, 3)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert "interrupted" in err
    kept = {p.name: p.read_bytes() for p in _parts(store)}
    assert 3 <= len(kept) < 250, "interrupted mid-way"
    assert not json.loads((store / "manifest.json").read_text())["complete"]

    resumed = subprocess.run([*command, "--out", str(store)], cwd=ROOT, capture_output=True,
                             text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert {p.name: p.read_bytes() for p in _parts(store) if p.name in kept} == kept
    whole = tmp_path / "whole"
    subprocess.run([*command, "--out", str(whole)], cwd=ROOT, capture_output=True, check=True)
    runs = load_sweep(store).runs
    assert list(runs["run_id"]) == list(range(1000))
    pd.testing.assert_frame_equal(runs, load_sweep(whole).runs, check_exact=True)
