"""``hourglass explore``: serve the browser explorer on localhost (works offline)."""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import socket
import sys

from simulation.errors import HourglassError

SERVER = "hourglass.explorer.server"
NEEDED = ("solara", "solara_assets", "ipyvuetify")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass explore``."""
    parser = subparsers.add_parser(
        "explore",
        help="compare designs in a browser, over many seeds (a page on localhost)",
        description="Serve the explorer: start from a scenario (or upload one), move levers, "
        "the facilitator's choices and the tool mix, and see your design against another over "
        "many seeds at once: the hourglass and organisations changed as medians with bands, "
        "and the paired difference with its interval. Each browser tab has its own state. "
        "Stop with Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0: any)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages from ORIGIN (e.g. https://explorer.example.org, a reverse proxy's "
        "public address) drive the explorer; by default only the page's own origin on this "
        "machine may (repeatable; see docs/explorer.md)",
    )


def server_command(
    host: str, port: int, allow_origins: list[str] | tuple[str, ...] = ()
) -> list[str]:
    """The explorer's server command line: Solara's server behind the origin guard."""
    command = [sys.executable, "-m", SERVER, "--host", host, "--port", str(port)]
    for origin in allow_origins:
        command += ["--allow-origin", origin]
    return command


SESSION_TIMEOUT = "2m"
"""How long the server keeps a tab's session after its connection drops without the tab saying
goodbye (a crashed tab, a laptop put to sleep): long enough to reconnect after a blip, short
enough that closed tabs do not pile up (Solara's own default is 24 h, about 10 MB a tab)."""


def server_environment() -> dict[str, str]:
    """The process environment: telemetry off (the explorer runs offline), memory given back.

    Sessions whose tab vanished are culled after :data:`SESSION_TIMEOUT`. Each session's runs
    happen in a thread of their own, and glibc gives every such thread a malloc arena that keeps
    its freed memory: with two arenas, what a closed tab used is reused by the next
    (``benchmarks/explorer.py memory``: from +9.4 to +2.8 MB per closed tab over 3 rounds of 8,
    and under 1 MB after the first round). ``SOLARA_KERNEL_CULL_TIMEOUT`` and
    ``MALLOC_ARENA_MAX`` set by the user win.
    """
    return {
        "SOLARA_KERNEL_CULL_TIMEOUT": SESSION_TIMEOUT,
        "MALLOC_ARENA_MAX": "2",
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_TELEMETRY_SENTRY_ENABLE": "False",
    }


def check_port(host: str, port: int) -> int:
    """Refuse, before the server starts, a port that another program already listens on.

    Binding a throw-away socket with ``SO_REUSEADDR`` (as uvicorn does) tells a port in use
    from one merely in ``TIME_WAIT`` after a previous explorer stopped.

    Returns:
        The port: ``port``, or for ``0`` the free port the system chose (so that the address
        printed is the one served).

    Raises:
        HourglassError: If ``host`` cannot be bound at ``port``, in one line naming both.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise HourglassError(f"--host {host}: not an interface here ({error.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise HourglassError(
                    f"--port {port}: already in use on {host} (another explorer?); choose "
                    "another port, or --port 0 for any free one"
                ) from None
            raise HourglassError(
                f"--host {host} --port {port}: cannot listen there ({error.strerror})"
            ) from None
        return int(probe.getsockname()[1])


def main(args: argparse.Namespace) -> int:
    """Replace this process with the Solara server, which runs until interrupted.

    ``exec`` rather than a child process: Ctrl-C and ``kill`` reach the server itself, and no
    orphaned server is left holding the port.
    """
    if not 0 <= args.port <= 65535:
        raise HourglassError(f"--port {args.port}: expected a port number in [0, 65535]")
    missing = [name for name in NEEDED if importlib.util.find_spec(name.split(".")[0]) is None]
    if missing:
        raise HourglassError(
            f"explore needs {', '.join(missing)}; install with: pip install -e '.[explore]'"
        )
    from hourglass.explorer.server import normalise_origin

    for origin in args.allow_origin:
        try:
            normalise_origin(origin)
        except ValueError as error:
            raise HourglassError(f"--allow-origin {error}") from None
    port = check_port(args.host, args.port)
    print(f"Hourglass explorer on http://{args.host}:{port} (Ctrl-C to stop)", flush=True)
    command = server_command(args.host, port, args.allow_origin)
    os.execve(command[0], command, server_environment())  # noqa: S606 (fixed argument list)
    return 0  # not reached: execve does not return
