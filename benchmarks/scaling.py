"""How run time grows with peers and with staff, fitted where the growth shows.

Two sweeps of the baseline, each run in a fresh single-threaded process (CPU seconds of one run,
model creation included):

* peers from 40 to 20,000 (4 per organisation, 10 to 5,000 organisations) with the staff held at
  100,000 in all;
* staff from 10^4 to 10^7 (100 organisations of 100 to 100,000 staff) with 200 peers.

The exponent b of run time ~ size^b is a least-squares fit of log time on log size over the
upper half of each range (the points at or above the geometric middle), where fixed costs no
longer hide how the work grows; the fit over the whole range is printed beside it.
Each point is the mean over ``--seeds`` seeds (default 3) of each seed's best of
``--processes`` fresh processes (default 3): one run a point swung by half at the small sizes
between runs of the sweep, which moved the fitted exponent by 0.4, and the best of three
processes of different seeds (as before) took the cheapest seed's work, not the least noise: at
10^6 staff seed 1's run ends with 13,586 adopters, seeds 2 and 3's with 26,792 and 29,450, and
contagion's work follows the adopters. Each point's CPU time is split into user and system
time (the operating system's accounting), and the user time's exponent is fitted too: system
time is mostly the kernel handing the run fresh memory, which on a virtual machine that returns
freed memory to its host (free page reporting) costs per byte many times what memory used
before costs. The timed run follows the child's one-month warm-up run of the same size, as a
sweep worker's run follows the one before: from 2 x 10^6 staff it first collects the warm-up's
finished model (``simulation/reclaim.py``: a full collection, the warm-up being a process's
first model, about 70 ms, counted in its time) and reuses its memory; below that it does not,
and the warm-up's memory stays held until Python's collector runs. A process's first run of
any size pays for all of its memory fresh.

Usage: ``python benchmarks/scaling.py [--quick] [--processes 3] [--seeds 3]`` (``--quick``
stops at 5,000 peers and 10^6 staff).
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


def sweep(label: str, points: list[tuple[float, dict]], processes: int = 1, seeds: int = 1) -> None:
    """Time each point, print the table and fits.

    A point's time is the mean over seeds 1 to ``seeds`` of each seed's best of ``processes``
    fresh processes (the same seed, so the same work: the best takes the noise out, not the
    cheapest seed); its user and system parts are the means of those best runs' parts.
    """
    from tqdm import tqdm  # noqa: PLC0415 - imported when the sweep runs

    print(label)
    sizes, seconds, user = [], [], []
    with tqdm(total=len(points) * seeds * processes, unit="process", leave=False) as bar:
        for size, overrides in points:
            best = []
            for seed in range(1, seeds + 1):
                runs = []
                for _ in range(processes):
                    runs.append(run_in_child("baseline", overrides, seed=seed))
                    bar.update()
                best.append(min(runs, key=lambda run: run["cpu"]))
            mean = {key: float(np.mean([run[key] for run in best]))
                    for key in ("cpu", "user", "system")}
            sizes.append(size)
            seconds.append(mean["cpu"])
            user.append(max(mean["user"], 1e-3))  # the clock's 1 ms at least
            tqdm.write(
                f"  {size:>12,.0f}: {mean['cpu']:8.3f} s CPU (seeds' bests "
                f"{', '.join(f'{run['cpu']:.3f}' for run in best)}): user {mean['user']:.3f}, "
                f"system {mean['system']:.3f}; "
                f"peak {max(r['peak_bytes'] for r in best) / 2**30:.2f} GB"
            )
    print(f"  exponent, upper half of the range: {exponent(sizes, seconds, True):.2f} "
          f"(whole range: {exponent(sizes, seconds, False):.2f}; target <= 1.1)")
    print(f"  user time alone, upper half: {exponent(sizes, user, True):.2f} "
          "(system time is the kernel's: fresh pages)", flush=True)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--processes", type=int, default=3,
                        help="fresh processes per point and seed, the best taken (default 3)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="seeds per point (1, 2, ...), their bests averaged (default 3)")
    args = parser.parse_args()
    for option in ("processes", "seeds"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be a whole number of at least 1, "
                         f"not {getattr(args, option)}")
    organisations = [10, 25, 50, 125, 250, 500, 1250] + ([] if args.quick else [2500, 5000])
    sweep("run time against peers (staff 100,000 in all):", [
        (n * PEERS_PER_ORGANISATION, {
            "population.home_organisations": n,
            "population.peers_per_organisation": PEERS_PER_ORGANISATION,
            "population.staff_per_organisation": TOTAL_STAFF // n,
            "population.countries": min(5, n),
        })
        for n in organisations
    ], args.processes, args.seeds)
    per_organisation = [100, 316, 1000, 3162, 10_000] + ([] if args.quick else [31_623, 100_000])
    sweep("run time against staff (200 peers):", [
        (ORGANISATIONS_FOR_STAFF * size, {
            "population.home_organisations": ORGANISATIONS_FOR_STAFF,
            "population.staff_per_organisation": size,
        })
        for size in per_organisation
    ], args.processes, args.seeds)


if __name__ == "__main__":
    main()
