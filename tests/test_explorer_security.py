"""What the explorer lets in: its port, scenario names, websocket origins (issue 11 §3, 12)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def test_explore_on_a_port_in_use_is_one_line_exit_2():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "hourglass.cli", "explore", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert f"--port {port}: already in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Hourglass explorer on" not in done.stdout  # refused before announcing a server


# -- scenario names: the server accepts only the library's, whatever the browser sends -----------


def recorded_reads(monkeypatch) -> list:
    """Every scenario file the loader opens from now on."""
    import simulation.scenario as loader

    reads = []
    real = loader._read_toml

    def spy(path):
        reads.append(Path(path))
        return real(path)

    monkeypatch.setattr(loader, "_read_toml", spy)
    return reads


def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.toml"
    path.write_text('description = "SECRET server file"\n[levers]\ntrust = 0.9\n')
    return path


def new_session():
    import solara

    from hourglass.explorer.app import DEFAULT_SCENARIO, STATUS_QUO, Session

    return Session(
        start=solara.reactive(DEFAULT_SCENARIO),
        uploaded=solara.reactive({}),
        overrides=solara.reactive({"levers.trust": 0.9}),
        against=solara.reactive(STATUS_QUO),
        seeds=solara.reactive(40),
        problem=solara.reactive(""),
        generation=solara.reactive(0),
    )


@pytest.mark.parametrize("where", ["absolute", "relative", "name"])
def test_a_replayed_picker_message_with_a_path_loads_no_file(tmp_path, monkeypatch, where):
    secret = secret_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    sent = {"absolute": str(secret), "relative": "secret.toml", "name": "../secret"}[where]
    session = new_session()
    reads = recorded_reads(monkeypatch)
    session.pick_start(sent)  # what the server does with the start picker's message
    session.pick_against(sent)  # and with the other picker's
    assert secret.resolve() not in [p.resolve() for p in reads]
    assert session.start.value == "baseline"
    assert session.against.value != sent
    assert session.overrides.value == {"levers.trust": 0.9}  # the design is kept
    assert "not in the library" in session.problem.value
    assert "SECRET" not in session.problem.value


def test_library_names_are_accepted_and_start_the_design_over():
    session = new_session()
    session.pick_start("malawi_hurried_review")
    assert session.start.value == "malawi_hurried_review"
    assert session.overrides.value == {}
    assert session.base().name == "malawi_hurried_review"
    session.pick_against("baseline")
    assert session.against.value == "baseline"
    assert session.problem.value == ""


# -- uploads: checked by the scenario loader, extending library scenarios only --------------------


def test_an_uploaded_design_is_loaded_and_becomes_the_start():
    from hourglass.explorer.runs import design_toml, library_scenario

    base = library_scenario("baseline")
    design = base.with_overrides({"levers.trust": 0.95, "tools.site_visits": 0.7})
    text = design_toml(design, {"levers.trust": 0.95, "tools.site_visits": 0.7}, "baseline")
    session = new_session()
    session.upload({"name": "my design.toml", "data": text.encode()})
    assert session.problem.value == ""
    assert session.start.value == "my_design (uploaded)"
    assert dict(session.base().values) == dict(design.values)
    assert session.overrides.value == {}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('extends = "/etc/hostname"\n', "extend a library scenario by name only"),
        ('extends = "../secret.toml"\n', "extend a library scenario by name only"),
        ("[levers]\ntrust = 7\n", "levers.trust"),
        ("[levers]\ntrusst = 0.5\n", "trusst"),
        ("[levers\n", "malformed TOML"),
    ],
)
def test_a_bad_upload_is_refused_in_one_line(content, expected, tmp_path, monkeypatch):
    secret_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    session = new_session()
    reads = recorded_reads(monkeypatch)
    session.upload({"name": "bad.toml", "data": content.encode()})
    assert expected in session.problem.value
    assert "\n" not in session.problem.value
    assert "bad.toml" in session.problem.value
    assert "hourglass-upload-" not in session.problem.value  # no server temporary path
    assert session.start.value == "baseline"
    assert all(p.name != "secret.toml" for p in reads)


def test_upload_size_and_encoding_are_checked():
    from hourglass.explorer.runs import MAX_UPLOAD

    session = new_session()
    session.upload({"name": "big.toml", "data": b"#" * (MAX_UPLOAD + 1)})
    assert "at most" in session.problem.value
    session.upload({"name": "latin.toml", "data": 'description = "\xe9"\n'.encode("latin-1")})
    assert "not UTF-8" in session.problem.value


# -- websocket origins: only the page's own (and origins allowed by name) ----------------------


def guarded(scope_type: str, headers: dict[str, str], method: str = "GET", **options) -> str:
    """Pass one request through the guard; return ``"app"`` or what the guard answered."""
    import asyncio

    from hourglass.explorer.server import OriginGuard

    answered = []

    async def app(scope, receive, send):
        answered.append("app")

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        answered.append(message.get("status") or message.get("code"))

    scope = {
        "type": scope_type,
        "method": method,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(OriginGuard(app, **options)(scope, receive, send))
    return answered[0]


@pytest.mark.parametrize(
    ("headers", "verdict"),
    [
        ({"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765"}, "app"),
        ({"host": "localhost:8765", "origin": "http://localhost:8765"}, "app"),
        ({"host": "127.0.0.1:8765", "origin": "http://evil.example"}, 1008),
        ({"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:9999"}, 1008),
        ({"host": "127.0.0.1:8765", "origin": "null"}, 1008),
        ({"host": "127.0.0.1:8765"}, 1008),  # browsers always send an Origin with a websocket
        # DNS rebinding: a foreign name resolving to 127.0.0.1 is "same origin" to the browser
        ({"host": "evil.example:8765", "origin": "http://evil.example:8765"}, 1008),
    ],
)
def test_websocket_origins(headers, verdict):
    assert guarded("websocket", headers) == verdict


def test_http_hosts_and_foreign_posts():
    own = {"host": "127.0.0.1:8765"}
    assert guarded("http", own) == "app"
    assert guarded("http", {"host": "evil.example:8765"}) == 403  # DNS rebinding
    assert guarded("http", {**own, "origin": "http://evil.example"}, method="POST") == 403
    assert guarded("http", {**own, "origin": "http://127.0.0.1:8765"}, method="POST") == "app"


def test_an_allowed_origin_gets_in_for_a_deliberate_deployment():
    headers = {"host": "explorer.example.org", "origin": "https://explorer.example.org"}
    assert guarded("websocket", headers) == 1008
    allowed = guarded("websocket", headers, allow_origins=["https://Explorer.example.org/"])
    assert allowed == "app"
    assert (
        guarded(
            "http", {"host": "explorer.example.org"}, allow_origins=["https://explorer.example.org"]
        )
        == "app"
    )


def test_a_bad_allow_origin_is_one_line_exit_2(capsys):
    from hourglass.cli import main

    assert main(["explore", "--allow-origin", "explorer.example.org/path"]) == 2
    err = capsys.readouterr().err
    assert "--allow-origin" in err
    assert err.strip().count("\n") == 0


@pytest.mark.slow
def test_a_real_server_refuses_a_foreign_websocket_and_serves_its_page():
    import urllib.request
    import uuid

    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from hourglass.explorer.browser import explorer_process

    with explorer_process(extra_args=("--allow-origin", "http://friend.example"), timeout=120) as (
        url,
        _process,
    ):
        with urllib.request.urlopen(url, timeout=30) as page:  # noqa: S310 (http)
            assert page.status == 200
            assert b"solara" in page.read().lower()
        kernel = f"{url.replace('http', 'ws')}jupyter/api/kernels/{uuid.uuid4()}/channels"
        socket_url = f"{kernel}?session_id={uuid.uuid4()}"
        for origin in ("http://evil.example", None):
            with pytest.raises(InvalidStatus) as refused:
                connect(socket_url, origin=origin, open_timeout=30).close()
            assert refused.value.response.status_code == 403
        for origin in (url.rstrip("/"), "http://friend.example"):
            with connect(socket_url, origin=origin, open_timeout=30) as accepted:
                assert accepted.protocol.state.name == "OPEN"


def test_a_hourglass_design_result_uploads():
    # The format hourglass/design.py `scenario_text` writes for a front point.
    text = (
        "# Written by hourglass design: point 3 of the\n"
        "# front. Run it with `hourglass run FILE`, compare it with `hourglass compare`.\n"
        'extends = "baseline"\n'
        'description = "Design 3 of the change-cost front: cost 120,000 EUR over the run"\n'
        'source = "hourglass design: NSGA-II over tools.site_visits, levers.peer_contracts"\n'
        "\n[tools]\nsite_visits = 0.8\n\n[levers]\npeer_contracts = 0.4\n"
    )
    session = new_session()
    session.upload({"name": "design-point-3.toml", "data": text.encode()})
    assert session.problem.value == ""
    scenario = session.base()
    assert scenario["tools.site_visits"] == 0.8
    assert scenario["levers.peer_contracts"] == 0.4
    assert scenario.description.startswith("Design 3")


def test_port_zero_is_resolved_before_the_server_starts():
    from hourglass.commands.explore import check_port

    port = check_port("127.0.0.1", 0)
    assert 0 < port < 65536  # the address printed is the one served, not ":0"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with pytest.raises(Exception, match=f"--port {taken}: already in use"):
            check_port("127.0.0.1", taken)


def test_an_upload_can_be_the_other_design_too():
    session = new_session()
    session.upload({"name": "ours.toml", "data": b'extends = "baseline"\n[levers]\ntrust = 0.2\n'})
    session.pick_start("baseline")
    session.pick_against("ours (uploaded)")
    assert session.against.value == "ours (uploaded)"
    assert session.problem.value == ""
