"""Memory and CPU of large runs one after another in one process, as a sweep's worker runs them.

Runs the baseline with 100 organisations of ``--staff / 100`` staff at seeds 1, 2, ... in one
fresh single-threaded process, twice: as the model is, and with ``simulation/reclaim.py`` turned
off (its ``LARGE_STAFF`` set above any population), so that a finished model is freed only when
Python's cycle collector runs of itself. Prints each run's CPU and system seconds and the
process's resident memory after it, then the process's peak.

Usage: ``python benchmarks/memory.py [--staff 10000000] [--runs 6]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import ROOT, last_json_line

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from simulation import PeerLearningModel, Scenario, reclaim
if not {reclaim}:
    reclaim.LARGE_STAFF = 2**62
scenario = Scenario.load("baseline").with_overrides({{
    "population.home_organisations": 100, "population.staff_per_organisation": {per}}})
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()
runs = []
for seed in range(1, {runs} + 1):
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
    PeerLearningModel(scenario, rng=seed).run()
    after = resource.getrusage(resource.RUSAGE_SELF)
    runs.append((time.process_time() - start, after.ru_stime - before.ru_stime, resident()))
print(json.dumps({{"runs": runs,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


def series(staff: int, runs: int, reclaim: bool) -> dict:
    """The child's runs (CPU s, system s, resident bytes after) and its peak resident bytes."""
    return last_json_line(_CHILD.format(root=str(ROOT), reclaim=reclaim, per=staff // 100,
                                        runs=runs))


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=10_000_000,
                        help="staff in all, 100 organisations (default 10,000,000)")
    parser.add_argument("--runs", type=int, default=6, help="runs in a row (default 6)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be a whole number of at least 1, not {args.runs}")
    sys.path.insert(0, str(ROOT))
    from simulation import Scenario  # noqa: PLC0415 - once the options are read

    degree = Scenario.load("baseline").sections["home_organisations"]["staff_degree"]
    if args.staff < 100 * (degree + 1):
        parser.error(f"--staff must be a whole number of at least {100 * (degree + 1)} (100 "
                     f"organisations, each above the staff network's degree {degree}), "
                     f"not {args.staff}")
    for reclaim in (True, False):
        result = series(args.staff, args.runs, reclaim)
        label = "as the model is" if reclaim else "reclaim off     "
        cells = "  ".join(f"{cpu:.2f} s ({system:.2f} sys) {resident / 2**30:.2f} GB"
                          for cpu, system, resident in result["runs"])
        print(f"{args.staff:,} staff, {label}: {cells}; peak {result['peak'] / 2**30:.2f} GB",
              flush=True)


if __name__ == "__main__":
    main()
