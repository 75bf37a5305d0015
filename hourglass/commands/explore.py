"""``hourglass explore``: serve the browser explorer on localhost (works offline)."""

from __future__ import annotations

import argparse
import importlib.util
import os
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
    print(f"Hourglass explorer on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    command = server_command(args.host, args.port)
    os.execve(command[0], command, server_environment())  # noqa: S606 (fixed argument list)
    return 0  # not reached: execve does not return
