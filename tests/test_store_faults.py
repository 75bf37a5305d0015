"""A store holds one experiment, whole: edits, a second writer, damage, a full disk."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import sweep_models

import analysis.store as store_module
from analysis.errors import AnalysisError
from analysis.store import check_store, repair_store
from analysis.sweep import load_sweep, run_sweep
from hourglass.adapter import HourglassModel

SPACE = {"a": (0.0, 1.0), "b": (0.0, 2.0), "c": (0.0, 1.0)}
ARGS = {"design": "lhs", "samples": 30, "replicates": 4}
TESTS = Path(__file__).parent
ROOT = TESTS.parent
TINY = """extends = "baseline"
description = "a tiny scenario for store tests"

[population]
home_organisations = {orgs}
peers_per_organisation = 3
staff_per_organisation = 30
countries = 2

[run]
months = 6

[levers]
share_forward = {share}
"""


def _parts(path: Path) -> list[Path]:
    return sorted((path / "parts").glob("part-*.parquet"))


def _sweep(store: Path | None, model=sweep_models.linear, **kwargs):
    return run_sweep(model, SPACE, **ARGS, seed=2, store=store, executor="serial",
                     progress=False, **{"chunk_size": 10, **kwargs})


@pytest.fixture(scope="module")
def whole():
    return _sweep(None).runs


# -- one experiment -------------------------------------------------------------------------


def test_an_edited_scenario_file_is_refused_naming_the_change(tmp_path):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY.format(orgs=6, share=0.2))
    store = tmp_path / "s"
    space = {"levers.trust": (0.0, 1.0)}
    run_sweep(HourglassModel(scenario, every=0), space, "lhs", 2, 1, store=store,
              executor="serial", progress=False)
    scenario.write_text(TINY.format(orgs=6, share=0.9))
    with pytest.raises(AnalysisError) as err:
        run_sweep(HourglassModel(scenario, every=0), space, "lhs", 2, 1, store=store,
                  executor="serial", progress=False)
    assert str(err.value) == (
        f"store {store}: holds a different sweep (the resolved scenario's "
        "levers.share_forward changed: stored 0.2, requested 0.9); this store is kept: give "
        "another directory to start a new one"
    )
    scenario.write_text(TINY.format(orgs=5, share=0.9))
    with pytest.raises(AnalysisError, match=r"levers.share_forward changed: stored 0.2, "
                       r"requested 0.9 \(and 1 more difference\)"):
        run_sweep(HourglassModel(scenario, every=0), space, "lhs", 2, 1, store=store,
                  executor="serial", progress=False)
    assert len(load_sweep(store).runs) == 2  # nothing mixed in


def test_changed_model_code_is_refused(tmp_path, monkeypatch):
    store = tmp_path / "s"
    model = HourglassModel("baseline", every=0, overrides={"run.months": 3})
    manifest = {}
    for digest in ("before", "after"):
        monkeypatch.setattr("hourglass.adapter.code_digest", lambda d=digest: d)
        if digest == "before":
            run_sweep(model, {"levers.trust": (0.0, 1.0)}, "lhs", 2, 1, store=store,
                      executor="serial", progress=False)
            manifest = json.loads((store / "manifest.json").read_text())
        else:
            with pytest.raises(AnalysisError, match="the model's code or parameter tables "
                               "changed since the store was made"):
                run_sweep(model, {"levers.trust": (0.0, 1.0)}, "lhs", 2, 1, store=store,
                          executor="serial", progress=False)
    assert manifest["identity"]["fingerprint"]["code"] == "before"
    assert manifest["sessions"][0]["code_version"]  # which code ran which runs


def test_a_store_from_before_fingerprints_is_refused_in_one_line(tmp_path):
    store = tmp_path / "s"
    _sweep(store)
    for name in ("manifest.json", "identity.json"):
        data = json.loads((store / name).read_text())
        del data["identity"]["fingerprint"]
        (store / name).write_text(json.dumps(data))
    with pytest.raises(AnalysisError, match="made before stores recorded the model's scenario"):
        _sweep(store)


# -- one writer -------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import sweep_models
    from analysis.sweep import run_sweep
    run_sweep(sweep_models.slow_linear, {space!r}, "lhs", 30, 4, seed=2, store={store!r},
              executor="serial", chunk_size=4, progress=False)
    """
)


def test_a_second_writer_is_refused_or_waits(tmp_path, whole):
    store = tmp_path / "s"
    env = {**os.environ, "SWEEP_TEST_DELAY": "0.03", "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(
        [sys.executable, "-c", WRITER.format(tests=str(TESTS), space=SPACE, store=str(store))],
        env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not _parts(store):
            assert first.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with pytest.raises(AnalysisError, match=r"^store .*: another process is writing this "
                           r"store; wait until it ends, or pass --wait to wait for it$"):
            _sweep(store, model=sweep_models.slow_linear)
        waited = _sweep(store, model=sweep_models.slow_linear, wait=True)
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0
    assert sum(len(pd.read_parquet(p)) for p in _parts(store)) == 120  # none stored twice
    pd.testing.assert_frame_equal(waited.runs, whole, check_exact=True)


def test_workers_0_is_refused_before_a_store_exists(tmp_path):
    with pytest.raises(AnalysisError, match="workers: must be an integer >= 1"):
        run_sweep(sweep_models.linear, SPACE, **ARGS, store=tmp_path / "s", executor="processes",
                  workers=0, progress=False)
    assert not (tmp_path / "s").exists()


# -- damage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "twice"])
def test_a_damaged_part_is_set_aside_and_its_runs_redone(tmp_path, capsys, whole, damage):
    store = tmp_path / "s"
    _sweep(store)
    part = _parts(store)[3]  # runs 30-39
    original = part.read_bytes()
    if damage == "truncated":
        part.write_bytes(original[: len(original) // 2])
    elif damage == "empty":
        part.write_bytes(b"")
    elif damage == "garbage":
        part.write_bytes(os.urandom(len(original)))
    else:  # a part repeating runs of another (two writers before stores were locked)
        # the later of the two (part-30, whose runs part-25 repeats) is the one set aside
        _parts(store)[2].with_name("part-0000000025.parquet").write_bytes(original)
    with pytest.raises(AnalysisError, match=r"is damaged .*hourglass store repair"):
        load_sweep(store)
    problems, _ = check_store(store)
    assert part.name in problems[0]
    if damage != "twice":  # then no run is missing
        assert problems[1:] == ["marked complete but holds 110 of 120 runs"]
    capsys.readouterr()
    resumed = _sweep(store)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"set aside damaged {part.name}" in err[0]
    expected = "no run is missing" if damage == "twice" else "runs 30-39 will be run again"
    assert err[0].endswith(expected)
    kept = store / "parts" / "damaged" / part.name
    assert kept.exists()  # set aside, never deleted
    pd.testing.assert_frame_equal(resumed.runs, whole, check_exact=True)
    pd.testing.assert_frame_equal(load_sweep(store).runs, whole, check_exact=True)
    assert check_store(store)[0] == []


@pytest.mark.parametrize("how", ["missing", "corrupt"])
def test_a_lost_manifest_is_rebuilt(tmp_path, capsys, whole, how):
    store = tmp_path / "s"
    _sweep(store)
    _parts(store)[-1].unlink()  # and the sweep was not finished
    if how == "missing":
        (store / "manifest.json").unlink()
    else:
        (store / "manifest.json").write_text('{"format": 2, "ident')
    assert load_sweep(store).complete is False  # read from identity.json, nothing changed
    capsys.readouterr()
    resumed = _sweep(store)
    assert "manifest.json was missing or unreadable; rebuilt from identity.json" in \
        capsys.readouterr().err
    pd.testing.assert_frame_equal(resumed.runs, whole, check_exact=True)
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["outputs"] == ["y", "z@12", "z@24", "noise"]
    if how == "corrupt":
        assert (store / "parts" / "damaged" / "manifest.json").exists()


def test_an_older_store_without_identity_is_rebuilt_only_for_the_same_sweep(tmp_path, whole):
    store = tmp_path / "s"
    _sweep(store)
    (store / "manifest.json").unlink()
    (store / "identity.json").unlink()
    with pytest.raises(AnalysisError, match="run 0 was run with another seed"):
        run_sweep(sweep_models.linear, SPACE, **ARGS, seed=2, store=store, executor="serial",
                  progress=False, common_random_numbers=False)
    pd.testing.assert_frame_equal(_sweep(store).runs, whole, check_exact=True)


@pytest.mark.parametrize("how", ["missing", "corrupt"])
def test_a_lost_design_is_rebuilt_from_its_spec(tmp_path, whole, how):
    store = tmp_path / "s"
    _sweep(store)
    before = (store / "design.parquet").read_bytes()
    if how == "missing":
        (store / "design.parquet").unlink()
    else:
        (store / "design.parquet").write_bytes(b"PAR1 not really")
    pd.testing.assert_frame_equal(load_sweep(store).runs, whole, check_exact=True)
    assert check_store(store)[0] == [
        "design.parquet is missing or unreadable (repair rebuilds it from the spec)"]
    assert repair_store(store) == []
    assert (store / "design.parquet").read_bytes() == before
    assert check_store(store)[0] == []


# -- a full disk ----------------------------------------------------------------------------


def test_a_full_disk_is_one_line_and_resumes_cleanly(tmp_path, monkeypatch, whole):
    store = tmp_path / "s"
    real = os.write
    calls = {"n": 0}

    def write(fd, data):
        calls["n"] += 1
        if calls["n"] > 8:  # the store is made, a few parts are in, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(store_module.os, "write", write)
    with pytest.raises(AnalysisError) as err:
        _sweep(store)
    assert str(err.value) == (
        f"store {store}: cannot write (no space left on the device); every run stored so far "
        "is kept: make room and run the same sweep again to resume"
    )
    assert not list(store.rglob(".tmp-*"))
    kept = len(load_sweep(store).runs)
    assert 0 < kept < 120
    monkeypatch.setattr(store_module.os, "write", real)
    pd.testing.assert_frame_equal(_sweep(store).runs, whole, check_exact=True)


# -- the command line -----------------------------------------------------------------------


def _hourglass(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hourglass.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_store_check_and_repair_from_the_command_line(tmp_path, whole):
    store = tmp_path / "s"
    _sweep(store)
    done = _hourglass("store", "check", str(store))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"store {store}: whole"
    part = _parts(store)[5]
    part.write_bytes(b"")
    done = _hourglass("store", "check", str(store))
    assert done.returncode == 1
    assert f"problem: parts/{part.name} is damaged (unreadable: " in done.stdout
    assert "note: runs 50-59 will be run again when the sweep is resumed" in done.stdout
    done = _hourglass("store", "repair", str(store))
    assert done.returncode == 0, done.stderr
    assert f"set aside damaged {part.name}" in done.stderr
    assert "10 of 120 runs to run: run the same sweep again to finish it" in done.stdout
    assert (store / "parts" / "damaged" / part.name).exists()
    assert _hourglass("store", "check", str(store)).returncode == 0
    pd.testing.assert_frame_equal(_sweep(store).runs, whole, check_exact=True)
    done = _hourglass("store", "check", str(tmp_path / "nothing"))
    assert done.returncode == 2
    assert done.stderr == f"hourglass: error: store {tmp_path / 'nothing'}: no such directory\n"


def test_a_folder_holding_only_a_lock_from_a_failed_start_is_used(tmp_path, whole):
    store = tmp_path / "s"
    store.mkdir()
    (store / ".lock").touch()
    pd.testing.assert_frame_equal(_sweep(store).runs, whole, check_exact=True)


def test_a_store_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    real = os.write

    def denied(fd, data):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(store_module.os, "write", denied)
    with pytest.raises(AnalysisError, match=r"^store .*: cannot write \(Permission denied\); "):
        _sweep(tmp_path / "s")
    monkeypatch.setattr(store_module.os, "write", real)


# -- every store the project writes ------------------------------------------------------------


def _arm(params, seed):
    """A cheap model for run_replicates: one output, a function of the seed."""
    return {"y": float(seed % 1000) + params.get("shift", 0.0)}


def _shifted(params, seed):
    return _arm({"shift": 1.0}, seed)


def test_a_replicates_store_is_checked_and_repaired_without_a_design_spec(tmp_path, capsys):
    from hourglass.replicates import run_replicates

    store = tmp_path / "r"
    models = {"scenario": _arm, "counterfactual": _shifted}
    whole = run_replicates(models, 3, 2, "serial", store=store, progress=False)
    problems, notes = check_store(store)
    assert problems == []
    assert notes[0] == ("design.parquet not compared with a design spec: its identity "
                        "(experiment 'replicates') has none")
    assert "6 of 6 runs stored" in notes
    # a part holding another experiment's runs (other seeds) is found and set aside
    part = _parts(store)[0]
    frame = pd.read_parquet(part)
    frame["seed"] += 1
    frame.to_parquet(part, index=False)
    problems, _ = check_store(store)
    assert len(problems) == 2
    assert problems[0].startswith(f"parts/{part.name} is damaged (run 0 has seed ")
    assert problems[1] == f"marked complete but holds {6 - len(frame)} of 6 runs"
    capsys.readouterr()
    assert repair_store(store) == [f"{len(frame)} of 6 runs to run: run the same sweep again "
                                   "to finish it"]
    err = capsys.readouterr().err
    assert "design.parquet not compared with a design spec" in err
    assert f"set aside damaged {part.name}" in err
    assert (store / "parts" / "damaged" / part.name).exists()
    again = run_replicates(models, 3, 2, "serial", store=store, progress=False)
    for arm in models:
        pd.testing.assert_frame_equal(again[arm].summary, whole[arm].summary, check_exact=True)
    assert check_store(store)[0] == []
    done = _hourglass("store", "check", str(store))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"store {store}: whole"
    done = _hourglass("store", "repair", str(store))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"store {store}: whole and complete"
    (store / "design.parquet").unlink()
    with pytest.raises(AnalysisError, match=r"design.parquet is missing or unreadable and its "
                       r"identity has no design spec to rebuild it from; run the command"):
        repair_store(store)


def test_a_design_search_run_cache_is_checked_and_repaired(tmp_path):
    from analysis.space import Space
    from hourglass.costs import load_costs
    from hourglass.design import search

    store = tmp_path / "runs"
    model = HourglassModel("baseline", every=0, overrides={
        "population.home_organisations": 4, "population.countries": 2,
        "population.staff_per_organisation": 20, "run.months": 6})
    settings = {"population": 4, "generations": 1, "replicates": 2, "seed": 5,
                "executor": "serial", "progress": False}
    space = Space({"levers.dissemination": (0.0, 1.0)})
    first = search(model, space, load_costs(), store=store, **settings)
    done = _hourglass("store", "check", str(store))
    assert done.returncode == 0, done.stderr
    assert "note: a design search's run cache: " in done.stdout
    assert done.stdout.splitlines()[-1] == f"store {store}: whole"
    part = _parts(store)[1]
    part.write_bytes(os.urandom(200))
    done = _hourglass("store", "check", str(store))
    assert done.returncode == 1
    assert f"problem: parts/{part.name} is damaged (unreadable: " in done.stdout
    done = _hourglass("store", "repair", str(store))
    assert done.returncode == 0, done.stderr
    assert f"set aside damaged {part.name}" in done.stderr
    assert (store / "parts" / "damaged" / part.name).exists()
    assert _hourglass("store", "check", str(store)).returncode == 0
    again = search(model, space, load_costs(), store=store, **settings)  # runs what was lost
    assert again.ran > 0
    pd.testing.assert_frame_equal(again.evaluated, first.evaluated, check_exact=True)
    (store / "manifest.json").unlink()
    done = _hourglass("store", "repair", str(store))
    assert done.returncode == 2
    assert done.stderr == (f"hourglass: error: store {store}: manifest.json of a design "
                           "search's run cache is missing or unreadable; its identity cannot be "
                           "rebuilt from the parts: run the search again under another --out\n")
