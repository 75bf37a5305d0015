"""Same seed, same results: serial, local processes (1 and 2) and a real Dask cluster."""

import os

import pandas as pd
import pytest
import sweep_models

from analysis.errors import AnalysisError
from analysis.executors import (
    DaskExecutor,
    ProcessExecutor,
    RunResult,
    SerialExecutor,
    chunked,
    evaluate_chunk,
    executor_for,
    get_executor,
    local_cluster,
)
from analysis.sweep import run_sweep

SPACE = {"a": (0.0, 1.0), "b": (0.0, 2.0), "c": (0.0, 1.0)}


def _sweep(executor, workers=None):
    return run_sweep(sweep_models.linear, SPACE, "lhs", 24, 3, seed=11, executor=executor,
                     workers=workers, chunk_size=5, progress=False).runs


@pytest.fixture(scope="module")
def serial_runs():
    return _sweep("serial")


@pytest.mark.parametrize("workers", [1, 2])
def test_processes_bit_identical(serial_runs, workers):
    pd.testing.assert_frame_equal(_sweep("processes", workers), serial_runs, check_exact=True)


def _worker_config() -> tuple[object, object]:
    import dask

    return (
        dask.config.get("distributed.worker.profile.enabled"),
        dask.config.get("distributed.admin.tick.interval"),
    )


def test_dask_local_cluster_bit_identical(serial_runs):
    client = local_cluster(n_workers=2)
    try:
        assert len(client.scheduler_info()["workers"]) == 2
        # workers keep glibc's dynamic malloc thresholds (see local_cluster), and the nanny's
        # environment leak into this process is undone
        envs = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        assert set(envs.values()) == {None}
        assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
        # and their event loops leave the GIL to the model (no profiler, a 1 s tick)
        quiet = client.run(_worker_config)
        assert set(quiet.values()) == {(False, "1s")}
        runs = _sweep(client)
        pd.testing.assert_frame_equal(runs, serial_runs, check_exact=True)
        # pure=False: identical stochastic tasks are all run, not deduplicated
        task = [(0, {"a": 0.5, "b": 0.5, "c": 0.5}, 1)]
        results = []
        DaskExecutor(client).map_runs([(sweep_models.linear, task)] * 3, results.extend,
                                      progress=False)
        assert len(results) == 3
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def test_replicates_and_rows_get_the_right_seeds(serial_runs):
    # common random numbers: replicate r has one seed in every row
    assert serial_runs.groupby("replicate")["seed"].nunique().eq(1).all()
    assert serial_runs["seed"].nunique() == 3
    assert list(serial_runs["run_id"]) == list(range(24 * 3))
    assert (serial_runs["run_id"] == serial_runs["row"] * 3 + serial_runs["replicate"]).all()


def test_evaluate_chunk_and_chunking():
    (one,) = evaluate_chunk(sweep_models.linear, [(7, {"a": 1.0, "b": 0.0, "c": 0.0}, 3)])
    # each result carries its run id and the seed it ran with
    assert one.run_id == 7
    assert one.seed == 3
    assert set(one.outputs) == {"y", "z@12", "z@24", "noise"}
    assert one == RunResult(7, 3, sweep_models.linear({"a": 1.0, "b": 0.0, "c": 0.0}, 3))
    assert [len(c) for c in chunked(list(range(11)), 4)] == [4, 4, 3]
    for bad in (0, -3, 2.5, True):
        with pytest.raises(AnalysisError, match="chunk_size: must be an integer >= 1"):
            chunked(list(range(11)), bad)


@pytest.mark.parametrize(("n", "workers"), [(0, 2), (3, 8), (100, 2), (2400, 2), (143_360, 2)])
def test_default_tasks_shrink_as_the_work_runs_out(n, workers):
    runs = list(range(n))
    chunks = chunked(runs, workers=workers)
    assert [r for c in chunks for r in c] == runs  # every run once, in order
    sizes = [len(c) for c in chunks]
    assert all(1 <= s <= 500 for s in sizes)
    assert sizes == sorted(sizes, reverse=True)
    if n >= 2400:
        # the last task of each worker is a small part of its share: the workers end together
        assert max(sizes[-workers:]) <= max(1, n // (64 * workers)) + 1
        assert len(chunks) <= n / 500 + 32 * workers  # few tasks: little overhead


def test_unknown_executor():
    with pytest.raises(AnalysisError, match="executor: 'threads' is unknown; allowed: 'serial'"):
        get_executor("threads")
    with pytest.raises(AnalysisError, match="workers: must be an integer >= 1"):
        get_executor("processes", 0)


RUNS = [(i, {"a": i / 20, "b": 0.5, "c": 0.0}, 100 + i) for i in range(20)]


@pytest.mark.parametrize("make", [SerialExecutor, lambda: ProcessExecutor(2)])
def test_one_fan_out_with_a_callback(make):
    """map_runs: every run once, with its seed, per-group models, chunks of one group only."""
    got: list[list[RunResult]] = []
    with make() as runner:
        handed = runner.map_runs([(sweep_models.linear, RUNS[:12]),
                                  (sweep_models.scaled_noise, RUNS[12:])],
                                 got.append, chunk_size=5, progress=False)
    assert handed == 20
    assert sorted(len(c) for c in got) == [2, 3, 5, 5, 5]  # 12 = 5+5+2, 8 = 5+3
    flat = {r.run_id: r for c in got for r in c}
    assert sorted(flat) == list(range(20))
    for run_id, params, seed in RUNS:
        model = sweep_models.linear if run_id < 12 else sweep_models.scaled_noise
        assert flat[run_id] == RunResult(run_id, seed, model(params, seed))


def test_executor_for_closes_only_what_it_started():
    runner = ProcessExecutor(1)
    with executor_for(runner) as same:
        assert same is runner
        same.map_runs([(sweep_models.linear, RUNS[:2])], lambda _: None, progress=False)
    assert runner._pool is not None  # still the caller's
    runner.close()
    with executor_for("processes", 1) as made:
        made.map_runs([(sweep_models.linear, RUNS[:2])], lambda _: None, progress=False)
    assert made._pool is None


def test_progress_says_that_workers_are_starting(capsys):
    with ProcessExecutor(2) as runner:
        runner.map_runs([(sweep_models.linear, RUNS)], lambda _: None, progress=True,
                        desc="test")
        err = capsys.readouterr().err
        assert "starting 2 worker processes…" in err
        assert "test: 100%" in err
        runner.map_runs([(sweep_models.linear, RUNS)], lambda _: None, progress=True)
        assert "starting" not in capsys.readouterr().err  # up already
    with SerialExecutor() as runner:
        runner.map_runs([(sweep_models.linear, RUNS)], lambda _: None, progress=False)
    assert capsys.readouterr().err == ""
