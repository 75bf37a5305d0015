"""Drive the explorer in a real headless browser: start the server, open Chromium, take pictures.

Used by ``tests/test_explorer.py`` and by ``python -m hourglass.explorer.browser docs/explorer.png``
(``make explorer-screenshot``), which writes the README's screenshot. Chromium is Debian's
(``apt-get install -y chromium``), driven by the PyPI ``playwright`` package; Playwright's own
browser download is not used (it needs internet access).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from simulation.errors import HourglassError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1600, "height": 1100}
SCREENSHOT = {"width": 1500, "height": 1450}
"""The README's picture: tall enough for both figures (the page scrolls inside its panes)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def explorer_process(
    port: int | None = None,
    host: str = "127.0.0.1",
    timeout: float = 60.0,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``hourglass explore`` in a child process; yield its URL and process once it answers.

    Args:
        port: Port to serve on (default: a free one).
        host: Interface to listen on.
        timeout: Seconds to wait for the server to answer.
        extra_args: More options for ``hourglass explore`` (e.g. ``--allow-origin``).
        env: Extra environment variables for the server.

    Yields:
        The page's URL and the server process (whose memory a benchmark can read).

    Raises:
        HourglassError: If the server exits or does not answer in time (with its output).
    """
    port = port or free_port(host)
    command = [
        sys.executable,
        "-m",
        "hourglass.cli",
        "explore",
        "--host",
        host,
        "--port",
        str(port),
        *extra_args,
    ]
    process = subprocess.Popen(  # noqa: S603 (fixed argument list)
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://{host}:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise HourglassError(f"explorer server exited ({process.returncode}):\n{output}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise HourglassError(f"explorer server did not answer at {url} in {timeout:g} s")
            time.sleep(0.25)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


@contextmanager
def explorer_server(
    port: int | None = None, host: str = "127.0.0.1", timeout: float = 60.0
) -> Iterator[str]:
    """Run ``hourglass explore`` in a child process; yield its URL once it answers.

    Args:
        port: Port to serve on (default: a free one).
        host: Interface to listen on.
        timeout: Seconds to wait for the server to answer.

    Yields:
        The page's URL.

    Raises:
        HourglassError: If the server exits or does not answer in time (with its output).
    """
    with explorer_process(port, host, timeout) as (url, _process):
        yield url


def require_chromium() -> Path:
    """Debian's Chromium binary.

    Raises:
        HourglassError: If it is not installed, saying how to install it.
    """
    if not CHROMIUM.exists():
        raise HourglassError(
            f"{CHROMIUM} not found: the explorer's browser tests drive Debian's Chromium; "
            "install it with `apt-get update && apt-get install -y chromium` (or `make test`, "
            "which does so)"
        )
    return CHROMIUM


@contextmanager
def chromium() -> Iterator[Browser]:
    """Launch headless Chromium through Playwright; yield the browser."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (optional dependency)

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def open_explorer(
    browser: Browser, url: str, timeout: float = 60.0, requests: list[str] | None = None
) -> Page:
    """Open the explorer in a new browser context (a new session) and wait for its first answer.

    Args:
        browser: The browser.
        url: The explorer's address.
        timeout: Seconds to wait for the first answer.
        requests: If given, every URL the page requests is appended to it (to check that the
            page fetches nothing from elsewhere: it works offline).

    Returns:
        The page, showing the first comparison of the two designs with both figures.
    """
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    if requests is not None:
        page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    wait_for_update(page, 1, timeout)
    return page


def update_number(page: Page) -> int:
    """How many answers the page has shown (the status line's ``update N``)."""
    text = page.locator(".hourglass-status").inner_text()
    return int(text.split("update ", 1)[1].split(".", 1)[0].split()[0])


def wait_for_update(page: Page, number: int, timeout: float = 60.0) -> None:
    """Wait until the page shows answer ``number`` (or a later one) over all its seeds.

    A change first shows an answer over a few seeds, then the full one: this waits for the full
    one, with both figures.
    """
    page.wait_for_function(
        """n => {
            const status = document.querySelector('.hourglass-status');
            if (!status) return false;
            const found = status.innerText.match(/update (\\d+)\\./);
            return found !== null && Number(found[1]) >= n && !status.innerText.includes('coming');
        }""",
        arg=number,
        timeout=timeout * 1000,
    )
    page.locator("img.hourglass-comparison, .hourglass-comparison img").first.wait_for(
        timeout=timeout * 1000
    )


def move_slider(page: Page, label: str, key: str = "End") -> None:
    """Move the slider labelled ``label`` with a key (``End``: its maximum, ``Home``: minimum)."""
    thumb = page.locator(".hourglass-input", has_text=label).locator(".v-slider__thumb-container")
    thumb.focus()
    thumb.press(key)


def screenshot(path: Path | str, lever: str = "Share forward") -> Path:
    """Serve the explorer, move one lever to its maximum and save a full-page screenshot.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with explorer_server() as url, chromium() as browser:
        page = open_explorer(browser, url, timeout=180)
        page.set_viewport_size(SCREENSHOT)
        number = update_number(page)
        move_slider(page, lever)
        wait_for_update(page, number + 1, timeout=180)
        page.locator(".hourglass-status").click()  # the slider's value bubble closes
        page.wait_for_timeout(1500)  # let the last images arrive
        page.screenshot(path=str(path), full_page=True)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m hourglass.explorer.browser OUT.png [--months N]``."""
    parser = argparse.ArgumentParser(description="Save a screenshot of the explorer.")
    parser.add_argument("out", type=Path, help="PNG to write, e.g. docs/explorer.png")
    parser.add_argument(
        "--lever", default="Share forward", help="lever moved to its maximum before the picture"
    )
    args = parser.parse_args(argv)
    written = screenshot(args.out, args.lever)
    print(f"wrote {written} ({written.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
