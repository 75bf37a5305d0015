"""Shared helpers for the benchmarks: CPU time of a run in a fresh process, peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# Run in a child process: build the model, run it, print CPU seconds (with the user and system
# parts of the fastest run) and peak resident memory.
_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from simulation import PeerLearningModel, Scenario
scenario = Scenario.load({scenario!r}).with_overrides(json.loads({overrides!r}))
PeerLearningModel(scenario.with_overrides({{"run.months": 1}}), rng=0).run()  # compiled code in
times, walls, parts = [], [], []
for repeat in range({repeats}):
    start, wall = time.process_time(), time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    PeerLearningModel(scenario, rng={seed} + repeat).run()  # new seed: no network remembered
    after = resource.getrusage(resource.RUSAGE_SELF)
    times.append(time.process_time() - start)
    walls.append(time.perf_counter() - wall)
    parts.append((after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
user, system = parts[times.index(min(times))]
print(json.dumps({{"cpu": min(times), "wall": min(walls), "user": user, "system": system,
                  "peak_bytes": peak}}))
"""


def run_in_child(
    scenario: str,
    overrides: dict | None = None,
    repeats: int = 1,
    seed: int = 1,
    root: Path = ROOT,
) -> dict[str, float]:
    """CPU and wall seconds (best of ``repeats``, seeds ``seed``, ``seed + 1``, ...) of one run,
    the user and system seconds of the fastest (``user``, ``system``: the operating system's
    accounting, to the 1-10 ms it keeps), and the child's peak memory.

    The child imports the model from ``root`` (another checkout can be timed the same way),
    loads the compiled code with a one-month run first, and is single-threaded.
    """
    code = _CHILD.format(
        root=str(root), scenario=scenario, overrides=json.dumps(overrides or {}),
        repeats=repeats, seed=seed,
    )
    return last_json_line(code, root)


def last_json_line(code: str, root: Path = ROOT) -> object:
    """Run ``code`` in a fresh single-threaded child importing from ``root``; its last line, read
    as JSON (what the child printed last)."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    out = subprocess.run(  # noqa: S603 - our own interpreter on our own code
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env,
        cwd=str(root),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# A child that runs the scenario at the seeds of each line read from standard input (a first
# seed and how many), printing their CPU seconds on one line.
_SERVER = """
import json, sys, time
sys.path.insert(0, {root!r})
from simulation import PeerLearningModel, Scenario
scenario = Scenario.load({scenario!r})
PeerLearningModel(scenario.with_overrides({{"run.months": 1}}), rng=0).run()  # compiled code in
PeerLearningModel(scenario, rng=0).run()  # and every compiled month a full run loads
print("ready", flush=True)
for line in sys.stdin:
    first, count = map(int, line.split())
    times = []
    for seed in range(first, first + count):
        start = time.process_time()
        PeerLearningModel(scenario, rng=seed).run()
        times.append(time.process_time() - start)
    print(" ".join(map(repr, times)), flush=True)
"""


def paired_runs(
    scenario: str, roots: tuple[Path, Path], seeds: range, progress: object = None,
    block: int = 1,
) -> tuple[list[float], list[float]]:
    """CPU seconds of one run per seed in each of two checkouts, in turns of ``block`` seeds.

    Each checkout runs in a single-threaded child of its own, kept for all ``seeds``; for each
    ``block`` of seeds both run them, in turn, the first going first on every other block, so
    that a change of the machine's speed falls on both alike. A block of one pairs seed by seed;
    a longer one lets each checkout's runs follow its own, as a sweep's worker runs them (a run
    after the other checkout's finds its caches cold, which costs the faster code most).
    ``progress`` (a tqdm bar or None) is advanced once a seed. A child's own speed (where its
    memory landed) stays with it for all its runs, which pairing cannot cancel: call this for
    several groups of seeds, each with fresh children.
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
        for turn, first in enumerate(range(seeds.start, seeds.stop, block)):
            count = min(block, seeds.stop - first)
            for k in (0, 1) if turn % 2 == 0 else (1, 0):
                children[k].stdin.write(f"{first} {count}\n")
                children[k].stdin.flush()
                times[k].extend(map(float, children[k].stdout.readline().split()))
            if progress is not None:
                progress.update(count)
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


def round_ratio(
    before: list[float], now: list[float], statistic: Callable[[np.ndarray], float],
    resamples: int = 2000, seed: int = 0,
) -> tuple[float, float, float]:
    """``statistic(before) / statistic(now)`` with a 95 % interval from a bootstrap over rounds.

    ``before[k]`` and ``now[k]`` were measured in round k, close in time: a resample draws whole
    rounds, with replacement, so the machine's speed in a round stays with both of its figures
    (percentile interval, ``resamples`` resamples from a generator seeded with ``seed``).
    """
    import numpy as np  # noqa: PLC0415 - only summaries need it

    then, this = np.asarray(before, dtype=float), np.asarray(now, dtype=float)
    if len(then) != len(this) or len(then) == 0:
        raise ValueError("round_ratio: before and now need one figure per round, as many each")
    draw = np.random.default_rng(seed)
    picks = draw.integers(0, len(then), (resamples, len(then)))
    ratios = [statistic(then[k]) / statistic(this[k]) for k in picks]
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(statistic(then) / statistic(this)), float(low), float(high)


def series_in_child(scenario: str, seeds: int, root: Path = ROOT) -> list[float]:
    """CPU seconds of each run at seeds 1..``seeds``, run back to back in one fresh process.

    What a sweep's worker does: one run after another, in a single-threaded child that imports
    the model from ``root``.
    """
    return last_json_line(_SERIES.format(root=str(root), scenario=scenario, seeds=seeds), root)
