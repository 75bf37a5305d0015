"""``hourglass explore``: serve the browser explorer on localhost (works offline)."""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import socket
import sys

from simulation.errors import HourglassError

APP = "hourglass.explorer.app"
NEEDED = ("solara", "solara_assets", "ipyvuetify", "mesa.visualization")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass explore``."""
    parser = subparsers.add_parser(
        "explore",
        help="explore the model in a browser (Mesa SolaraViz page on localhost)",
        description="Serve the explorer: pick a scenario, move levers and tools, step or play "
        "the model and watch the peer network, the hourglass, organisations changed and the "
        "contact heat map. Each browser tab gets its own model. Stop with Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0: any)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)"
    )


def server_command(host: str, port: int) -> list[str]:
    """The Solara server command line for the explorer."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
        "--log-level",
        "warning",
    ]


def server_environment() -> dict[str, str]:
    """The process environment with Solara's telemetry off (the explorer runs offline)."""
    return {
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_TELEMETRY_SENTRY_ENABLE": "False",
    }


def check_port(host: str, port: int) -> None:
    """Refuse, before the server starts, a port that another program already listens on.

    Binding a throw-away socket with ``SO_REUSEADDR`` (as uvicorn does) tells a port in use
    from one merely in ``TIME_WAIT`` after a previous explorer stopped.

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
    check_port(args.host, args.port)
    print(f"Hourglass explorer on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    command = server_command(args.host, args.port)
    os.execve(command[0], command, server_environment())  # noqa: S606 (fixed argument list)
    return 0  # not reached: execve does not return
