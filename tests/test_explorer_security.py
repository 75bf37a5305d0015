"""What the explorer lets in: its port, scenario names, websocket origins (issue 11 §3, 12)."""

from __future__ import annotations

import socket
import subprocess
import sys


def test_explore_on_a_port_in_use_is_one_line_exit_2():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "hourglass.cli", "explore", "--port", str(port)],
            capture_output=True, text=True, timeout=120, check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert f"--port {port}: already in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Hourglass explorer on" not in done.stdout  # refused before announcing a server
