"""The explorer's memory per closed browser session and its response time, in real Chromium.

    .venv/bin/python benchmarks/explorer.py memory [--rounds 4] [--sessions 8] [--abrupt]
    .venv/bin/python benchmarks/explorer.py step [--months 6]

``memory``: the server's resident memory (RSS) idle, then after each round of ``--sessions``
browser sessions opened (each shows its first results) and closed. A tab closed the way a user
closes it sends Solara's close beacon; ``--abrupt`` closes without it (a crashed tab, a laptop
that sleeps), which leaves the session to the server's cull timeout.

``step``: seconds from a click to the page showing its answer (the old page: Step; the new one:
a lever moved), as the user waits for it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request

import psutil

from hourglass.explorer.browser import chromium, explorer_process, open_explorer


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB."""
    return psutil.Process(pid).memory_info().rss / 1e6


def settle(pid: int, seconds: float = 8.0) -> float:
    """RSS once the server has had ``seconds`` to close sessions and collect garbage."""
    time.sleep(seconds)
    return rss_mb(pid)


def memory(
    rounds: int, sessions: int, abrupt: bool, env: dict[str, str], wait: float = 8.0
) -> list[float]:
    """RSS idle and after each round of opened-and-closed sessions (MB)."""
    with explorer_process(timeout=120, env=env) as (url, process), chromium() as browser:
        warm = open_explorer(browser, url, timeout=120)  # imports and compiled kernels: not a leak
        close(warm, abrupt=False)
        readings = [settle(process.pid, wait)]
        print(f"after one warm-up session: {readings[0]:.0f} MB", flush=True)
        for round_ in range(1, rounds + 1):
            pages = [open_explorer(browser, url, timeout=120) for _ in range(sessions)]
            for page in pages:
                close(page, abrupt=abrupt)
            readings.append(settle(process.pid, wait))
            growth = (readings[-1] - readings[0]) / (round_ * sessions)
            print(
                f"round {round_}: {readings[-1]:.0f} MB "
                f"({growth:+.2f} MB per closed session since the warm-up); {kernels(url)}",
                flush=True,
            )
    return readings


def kernels(url: str) -> str:
    """Solara's own count of live sessions (kernels) and threads, from its /resourcez page."""
    with urllib.request.urlopen(url + "resourcez", timeout=30) as response:  # noqa: S310 (http)
        data = json.load(response)
    return f"{data['kernels']['total']} kernels, {data['threads']['active']} threads"


def close(page: object, abrupt: bool) -> None:
    """Close a tab as a user does (unload handlers run: Solara's close beacon) or abruptly."""
    context = page.context
    page.close(run_before_unload=not abrupt)
    context.close()


def main(argv: list[str] | None = None) -> int:
    """Run one of the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    mem = sub.add_parser("memory")
    mem.add_argument("--rounds", type=int, default=4)
    mem.add_argument("--sessions", type=int, default=8)
    mem.add_argument("--abrupt", action="store_true")
    mem.add_argument("--cull", default=None, help="SOLARA_KERNEL_CULL_TIMEOUT for the server")
    mem.add_argument("--wait", type=float, default=8.0, help="seconds to wait before reading")
    args = parser.parse_args(argv)
    if args.what == "memory":
        env = {"SOLARA_KERNEL_CULL_TIMEOUT": args.cull} if args.cull else {}
        memory(args.rounds, args.sessions, args.abrupt, env, args.wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
