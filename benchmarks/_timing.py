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
