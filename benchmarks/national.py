"""The national scenario: 5,000 peers in 500 organisations of heavy-tailed sizes, 1,000,000 staff.

Runs ``simulation/scenarios/national_programme.toml`` (60 months) in a fresh single-threaded
process and prints the CPU seconds of one run (model creation included; best of ``--repeats``)
and the process's peak resident memory, against the targets of 5 s on one core and 2 GB.
Usage: ``python benchmarks/national.py [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import run_in_child


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    result = run_in_child("national_programme", repeats=args.repeats)
    print("national_programme: 5,000 peers, 500 organisations (Zipf sizes), 1,000,000 staff, "
          "60 months")
    print(f"  CPU per run: {result['cpu']:.2f} s (target <= 5 s on one core); "
          f"wall {result['wall']:.2f} s")
    print(f"  peak memory of the process: {result['peak_bytes'] / 2**30:.2f} GB (target <= 2 GB)")


if __name__ == "__main__":
    main()
