"""The explorer's memory per closed browser session and its response time, in real Chromium.

    .venv/bin/python benchmarks/explorer.py memory [--rounds 4] [--sessions 8] [--abrupt]
    .venv/bin/python benchmarks/explorer.py response [--changes 8]

``memory``: the server's resident memory (RSS) idle, then after each round of ``--sessions``
browser sessions opened (each shows its first results) and closed. A tab closed the way a user
closes it sends Solara's close beacon; ``--abrupt`` closes without it (a crashed tab, a laptop
that sleeps), which leaves the session to the server's cull timeout.

``response``: seconds from a lever moved to the page showing both designs re-run at every seed
and redrawn, as the user waits for it (the page also says how long the runs and the drawing
took on the server).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request

import psutil

from hourglass.explorer.browser import (
    chromium,
    explorer_process,
    move_slider,
    open_explorer,
    update_number,
    wait_for_update,
)


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


def response(changes: int) -> list[float]:
    """Seconds from a lever moved to the page showing both designs re-run and redrawn."""
    times, firsts = [], []
    with explorer_process(timeout=180) as (url, _process), chromium() as browser:
        started = time.perf_counter()
        page = open_explorer(browser, url, timeout=180)
        print(
            f"first answer (both designs at 40 seeds): {time.perf_counter() - started:.2f} s",
            flush=True,
        )
        keys = ["End", "Home"] + ["PageUp"] * changes  # each a new value: nothing cached
        for change in range(changes):
            number = update_number(page)
            started = time.perf_counter()
            move_slider(page, "Trust", keys[change])
            page.wait_for_function(
                "n => { const m = document.querySelector('.hourglass-status').innerText"
                ".match(/update (\\d+)\\./); return m && Number(m[1]) > n; }",
                arg=number,
                timeout=180_000,
            )
            first = time.perf_counter() - started
            wait_for_update(page, number + 1, timeout=180)
            times.append(time.perf_counter() - started)
            ran = page.locator(".hourglass-status").inner_text().split("ran in ", 1)[1]
            print(
                f"lever change {change + 1}: first answer {first:.2f} s, all seeds "
                f"{times[-1]:.2f} s on the page (ran in {ran.split(' · ')[0]})",
                flush=True,
            )
            firsts.append(first)
    firsts.sort()
    print(f"median first answer {firsts[len(firsts) // 2]:.2f} s", flush=True)
    times.sort()
    print(f"median with all seeds {times[len(times) // 2]:.2f} s", flush=True)
    return times


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
    step = sub.add_parser("response")
    step.add_argument("--changes", type=int, default=8)
    args = parser.parse_args(argv)
    if args.what == "response":
        response(args.changes)
    if args.what == "memory":
        env = {"SOLARA_KERNEL_CULL_TIMEOUT": args.cull} if args.cull else {}
        memory(args.rounds, args.sessions, args.abrupt, env, args.wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
