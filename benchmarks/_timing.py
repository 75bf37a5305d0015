"""Shared helpers for the benchmarks: CPU time of a run in a fresh process, peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in a child process: build the model, run it, print CPU seconds and peak resident memory.
_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from simulation import PeerLearningModel, Scenario
scenario = Scenario.load({scenario!r}).with_overrides(json.loads({overrides!r}))
PeerLearningModel(scenario.with_overrides({{"run.months": 1}}), rng=0).run()  # compiled code in
times, walls = [], []
for repeat in range({repeats}):
    start, wall = time.process_time(), time.perf_counter()
    PeerLearningModel(scenario, rng={seed} + repeat).run()  # new seed: no network remembered
    times.append(time.process_time() - start)
    walls.append(time.perf_counter() - wall)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"cpu": min(times), "wall": min(walls), "peak_bytes": peak}}))
"""


def run_in_child(
    scenario: str,
    overrides: dict | None = None,
    repeats: int = 1,
    seed: int = 1,
    root: Path = ROOT,
) -> dict[str, float]:
    """CPU and wall seconds (best of ``repeats``, seeds ``seed``, ``seed + 1``, ...) of one run,
    and the child's peak memory.

    The child imports the model from ``root`` (another checkout can be timed the same way),
    loads the compiled code with a one-month run first, and is single-threaded.
    """
    code = _CHILD.format(
        root=str(root), scenario=scenario, overrides=json.dumps(overrides or {}),
        repeats=repeats, seed=seed,
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    out = subprocess.run(  # noqa: S603 - our own interpreter on our own code
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env,
        cwd=str(root),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# A child that runs the scenario once per seed read from standard input, printing CPU seconds.
_SERVER = """
import json, sys, time
sys.path.insert(0, {root!r})
from simulation import PeerLearningModel, Scenario
scenario = Scenario.load({scenario!r})
PeerLearningModel(scenario.with_overrides({{"run.months": 1}}), rng=0).run()  # compiled code in
PeerLearningModel(scenario, rng=0).run()  # and every compiled month a full run loads
print("ready", flush=True)
for line in sys.stdin:
    start = time.process_time()
    PeerLearningModel(scenario, rng=int(line)).run()
    print(time.process_time() - start, flush=True)
"""


def paired_runs(
    scenario: str, roots: tuple[Path, Path], seeds: range, progress: object = None
) -> tuple[list[float], list[float]]:
    """CPU seconds of one run per seed in each of two checkouts, the two runs back to back.

    Each checkout runs in a single-threaded child of its own, kept for all ``seeds``; for each
    seed both run, in turn, the first going first on odd seeds, so that a change of the
    machine's speed falls on both runs of a pair alike. ``progress`` (a tqdm bar or None) is
    advanced once a seed. A child's own speed (where its memory landed) stays with it for all
    its runs, which pairing cannot cancel: call this for several groups of seeds, each with
    fresh children.
    """
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    children = [
        subprocess.Popen(  # noqa: S603 - our own interpreter on our own code
            [sys.executable, "-c", _SERVER.format(root=str(root), scenario=scenario)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(root),
            env={**env, "PYTHONPATH": str(root)},
        )
        for root in roots
    ]
    times: tuple[list[float], list[float]] = ([], [])
    try:
        for child in children:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"paired_runs: a child for {scenario} did not start")
        for seed in seeds:
            order = (0, 1) if seed % 2 else (1, 0)
            for k in order:
                children[k].stdin.write(f"{seed}\n")
                children[k].stdin.flush()
                times[k].append(float(children[k].stdout.readline()))
            if progress is not None:
                progress.update()
    finally:
        for child in children:
            child.stdin.close()
            child.wait()
    return times


# A child that runs the scenario at seeds 1..n back to back, printing each run's CPU seconds.
_SERIES = """
import json, sys, time
sys.path.insert(0, {root!r})
from simulation import PeerLearningModel, Scenario
scenario = Scenario.load({scenario!r})
PeerLearningModel(scenario, rng=0).run()  # compiled code in
times = []
for seed in range(1, {seeds} + 1):
    start = time.process_time()
    PeerLearningModel(scenario, rng=seed).run()
    times.append(time.process_time() - start)
print(json.dumps(times))
"""


def series_in_child(scenario: str, seeds: int, root: Path = ROOT) -> list[float]:
    """CPU seconds of each run at seeds 1..``seeds``, run back to back in one fresh process.

    What a sweep's worker does: one run after another, in a single-threaded child that imports
    the model from ``root``.
    """
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    out = subprocess.run(  # noqa: S603 - our own interpreter on our own code
        [sys.executable, "-c", _SERIES.format(root=str(root), scenario=scenario, seeds=seeds)],
        check=True, capture_output=True, text=True, env=env, cwd=str(root),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
