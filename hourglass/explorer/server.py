"""The explorer's server: Solara's, behind a guard that lets in only the page's own origin.

A running ``hourglass explore`` must not be driven by another web page open in the same
browser: a page from ``http://evil.example`` can open a websocket to ``127.0.0.1`` (browsers do
not apply the same-origin policy to websockets), and nothing else stops it. :class:`OriginGuard`
is an ASGI middleware around Solara's Starlette app that

* refuses a websocket whose ``Origin`` is not the page's own (or is missing), and a POST (the
  close beacon) whose ``Origin`` is foreign;
* refuses a request whose ``Host`` is not a name of this server (DNS rebinding: a foreign name
  that resolves to 127.0.0.1 would otherwise count as "same origin").

The page's own origin is ``http://HOST:PORT`` for the loopback names (``127.0.0.1``,
``localhost``, ``[::1]``) and the ``--host`` it listens on. A deliberate remote deployment (a
reverse proxy serving ``https://explorer.example.org``) names its public origin with
``hourglass explore --allow-origin https://explorer.example.org`` (repeatable).

Run as ``python -m hourglass.explorer.server --host H --port P [--allow-origin O ...]``:
``hourglass explore`` does so after checking its options.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

APP = "hourglass.explorer.app"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def normalise_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, with the scheme's default port left out.

    Raises:
        ValueError: If ``origin`` is not an http(s) origin (a path, query or user is not one).
    """
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{origin!r} is not an origin like https://explorer.example.org")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{origin!r}: an origin has no path, query or user")
    default = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}"


class OriginGuard:
    """ASGI middleware: only the page's own origin (and origins allowed by name) get in.

    Args:
        app: The ASGI app to guard (Solara's Starlette app).
        host: The interface the server listens on (``--host``).
        allow_origins: Further origins allowed, e.g. a reverse proxy's public address.
    """

    def __init__(
        self, app: Any, host: str = "127.0.0.1", allow_origins: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.allow_origins = frozenset(normalise_origin(o) for o in allow_origins)
        names = set(LOOPBACK)
        if host not in ("0.0.0.0", "::", ""):  # noqa: S104 (compared, not bound)
            names.add(host.strip("[]").lower())
        names.update((urlsplit(o).hostname or "") for o in self.allow_origins)
        self.hosts = frozenset(names)

    def host_allowed(self, host: str) -> bool:
        """Whether a ``Host`` header names this server."""
        hostname = urlsplit(f"//{host}").hostname if host else None
        return hostname is not None and hostname in self.hosts

    def origin_allowed(self, origin: str | None, host: str) -> bool:
        """Whether ``origin`` is the page's own (``Host`` with a name of this server) or allowed."""
        if not origin:
            return False
        try:
            origin = normalise_origin(origin)
        except ValueError:
            return False
        if origin in self.allow_origins:
            return True
        own = {normalise_origin(f"{scheme}://{host}") for scheme in ("http", "https")}
        return self.host_allowed(host) and origin in own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse what is not let in; pass the rest to the app."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host, origin = headers.get("host", ""), headers.get("origin")
        if scope["type"] == "websocket":
            allowed = self.origin_allowed(origin, host)
        elif not self.host_allowed(host):
            allowed = False
        elif scope["method"] in SAFE_METHODS or origin is None:
            allowed = True
        else:
            allowed = self.origin_allowed(origin, host)
        if allowed:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect; closing before accepting answers HTTP 403
            await send({"type": "websocket.close", "code": 1008})
        else:
            body = b"hourglass explore: this origin or host is not allowed (see --allow-origin)\n"
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"text/plain"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


def solara_arguments(host: str, port: int) -> list[str]:
    """``solara run`` for the explorer: production mode, no browser, no version check."""
    return [
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


def main(argv: list[str] | None = None) -> int:
    """Guard Solara's app, then run ``solara run`` in this process."""
    parser = argparse.ArgumentParser(prog="python -m hourglass.explorer.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--allow-origin", action="append", default=[])
    args = parser.parse_args(argv)
    os.environ["SOLARA_APP"] = APP
    import solara.__main__ as solara_main  # noqa: PLC0415 (after SOLARA_APP is set)
    import solara.server.starlette as solara_starlette  # noqa: PLC0415

    # uvicorn imports "solara.server.starlette:app" by name: it finds the guarded app.
    solara_starlette.app = OriginGuard(solara_starlette.app, args.host, args.allow_origin)
    sys.argv = ["solara", *solara_arguments(args.host, args.port)]
    solara_main.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
