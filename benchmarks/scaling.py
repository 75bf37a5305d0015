"""How run time grows with peers and with staff, fitted where the growth shows.

Two sweeps of the baseline, each run in a fresh single-threaded process (CPU seconds of one run,
model creation included):

* peers from 40 to 20,000 (4 per organisation, 10 to 5,000 organisations) with the staff held at
  100,000 in all;
* staff from 10^4 to 10^7 (100 organisations of 100 to 100,000 staff) with 200 peers.

The exponent b of run time ~ size^b is a least-squares fit of log time on log size over the
upper half of each range (the points at or above the geometric middle), where fixed costs no
longer hide how the work grows; the fit over the whole range is printed beside it.
Each point is the best of ``--processes`` fresh processes (default 3, seeds 1, 2, 3): one run
a point swung by half at the small sizes between runs of the sweep, which moved the fitted
exponent by 0.4. Each point's CPU time is split into user and system time (the operating
system's accounting), and the user time's exponent is fitted too: system time is mostly the
kernel handing the run fresh memory, which on a virtual machine that returns freed memory to
its host (free page reporting) costs per byte many times what memory used before costs, and
only above the sizes glibc keeps in the process's heap between runs.

Usage: ``python benchmarks/scaling.py [--quick] [--processes 3]`` (``--quick`` stops at 5,000
peers and 10^6 staff).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import run_in_child

PEERS_PER_ORGANISATION = 4
TOTAL_STAFF = 100_000
ORGANISATIONS_FOR_STAFF = 100


def exponent(sizes: list[float], seconds: list[float], upper_half: bool) -> float:
    """Slope of log seconds against log size (over the upper half of the range if asked)."""
    sizes_, seconds_ = np.log(sizes), np.log(seconds)
    if upper_half:
        keep = sizes_ >= (sizes_.min() + sizes_.max()) / 2
        sizes_, seconds_ = sizes_[keep], seconds_[keep]
    return float(np.polyfit(sizes_, seconds_, 1)[0])


def sweep(label: str, points: list[tuple[float, dict]], processes: int = 1) -> None:
    """Time each point (the best of ``processes`` fresh processes), print the table and fits."""
    print(label)
    sizes, seconds, user = [], [], []
    for size, overrides in points:
        runs = [run_in_child("baseline", overrides, seed=1 + k) for k in range(processes)]
        result = min(runs, key=lambda run: run["cpu"])
        sizes.append(size)
        seconds.append(result["cpu"])
        user.append(max(min(run["user"] for run in runs), 1e-3))  # the clock's 1 ms at least
        spread = (f" (of {processes}: {min(r['cpu'] for r in runs):.3f}-"
                  f"{max(r['cpu'] for r in runs):.3f})" if processes > 1 else "")
        print(f"  {size:>12,.0f}: {result['cpu']:8.3f} s CPU{spread}: user {result['user']:.3f},"
              f" system {result['system']:.3f}; peak {result['peak_bytes'] / 2**30:.2f} GB",
              flush=True)
    print(f"  exponent, upper half of the range: {exponent(sizes, seconds, True):.2f} "
          f"(whole range: {exponent(sizes, seconds, False):.2f}; target <= 1.1)")
    print(f"  user time alone (best of the processes), upper half: "
          f"{exponent(sizes, user, True):.2f} (system time is the kernel's: fresh pages)")


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--processes", type=int, default=3,
                        help="fresh processes per point, the best taken (default 3; one run each, "
                        "seeds 1, 2, ...)")
    args = parser.parse_args()
    if args.processes < 1:
        parser.error(f"--processes must be a whole number of at least 1, not {args.processes}")
    organisations = [10, 25, 50, 125, 250, 500, 1250] + ([] if args.quick else [2500, 5000])
    sweep("run time against peers (staff 100,000 in all):", [
        (n * PEERS_PER_ORGANISATION, {
            "population.home_organisations": n,
            "population.peers_per_organisation": PEERS_PER_ORGANISATION,
            "population.staff_per_organisation": TOTAL_STAFF // n,
            "population.countries": min(5, n),
        })
        for n in organisations
    ], args.processes)
    per_organisation = [100, 316, 1000, 3162, 10_000] + ([] if args.quick else [31_623, 100_000])
    sweep("run time against staff (200 peers):", [
        (ORGANISATIONS_FOR_STAFF * size, {
            "population.home_organisations": ORGANISATIONS_FOR_STAFF,
            "population.staff_per_organisation": size,
        })
        for size in per_organisation
    ], args.processes)


if __name__ == "__main__":
    main()
