"""How fast the command line answers: ``hourglass --help`` against a bare ``import numpy``.

Both are fresh processes, timed from start to exit, interleaved and taken at their best of
``--repeats`` (the run least disturbed by other work on the machine). The target (issue 12) is a
ratio of at most 3. Also times ``hourglass CMD --help`` for every command, which imports only
that command's parser. Usage: ``python benchmarks/cli.py [--repeats 9]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

TARGET = 3.0


def hourglass_command() -> list[str]:
    """The installed ``hourglass`` script beside this Python, else ``python -m hourglass.cli``."""
    script = Path(sys.executable).with_name("hourglass")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "hourglass.cli"]


def wall(command: list[str]) -> float:
    """Seconds from starting ``command`` to its exit."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - fixed commands
    return time.perf_counter() - start


def best(commands: dict[str, list[str]], repeats: int) -> dict[str, float]:
    """Best wall time of each command over ``repeats`` interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            times[name].append(wall(command))
    return {name: min(found) for name, found in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="rounds (default 9)")
    args = parser.parse_args()
    from hourglass.cli import available_commands  # noqa: PLC0415 - after parsing, like the CLI

    hourglass = hourglass_command()
    commands = {
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
        "hourglass --help": [*hourglass, "--help"],
        **{f"hourglass {name} --help": [*hourglass, name, "--help"]
           for name in available_commands()},
    }
    found = best(commands, args.repeats)
    numpy = found["python -c 'import numpy'"]
    for name, seconds in found.items():
        print(f"{name:<36} {seconds * 1000:7.1f} ms  {seconds / numpy:5.2f} x numpy")
    ratio = found["hourglass --help"] / numpy
    verdict = "meets" if ratio <= TARGET else "MISSES"
    print(f"hourglass --help / import numpy = {ratio:.2f} ({verdict} the target of {TARGET:g})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
