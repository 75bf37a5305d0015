"""Generated command lines: each one is refused in one line before the work, or reaches the work.

Every command that runs the model calls ``announce_compilation`` just before its work starts;
the test replaces it with a sentinel. A generated command line must then either exit with
status 2 and one line on standard error (no traceback), exit 0 (``--help``), or reach the
sentinel; and in every case nothing is left in the working directory.
"""

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hourglass import cli
from hourglass.commands import compare, experiment, run, sensitivity, sweep, validate


class WorkStarted(Exception):  # noqa: N818 - a sentinel, not an error
    pass


def _start():
    raise WorkStarted


KEYS = ["levers.trust", "levers.turnover", "run.months", "population.home_organisations",
        "population.peers_per_organisation", "transfer.informal", "facilitator.selection",
        "trust", "levers.trsut", "", "levers.tr\nust", "\x1b[1mx", "levers..trust"]
VALUES = ["0.5", "2", "-1", "1e9", "nan", "inf", "true", "[0.1, 0.2, 0.3, 0.4]", "[1]",
          "'matched'", "matched", "", "0x10", "5000", "100", "1_000"]
OUT = ["out", "/proc/hg-out", "file.txt", "file.txt/sub", "", "."]
NUMBERS = ["0", "1", "2", "3", "-1", "8", "1000000000", "x", "1.5", ""]
SCENARIOS = ["baseline", "no-such", "latin1.toml", "missing.toml", "spaces", "bom.toml"]
VARY = ["levers.trust=0:1", "levers.trust=0.1,0.2", "levers.trust=1:0", "levers.nope=0:1",
        "levers.trust", "run.months=int:1:12", "levers.trust=a:b", "facilitator.selection=bool"]


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(["run", "sweep", "compare", "sensitivity", "validate",
                                    "experiment"]))
    argv = [command]
    if command == "experiment":
        argv.append(draw(st.sampled_from(["natural", "nope"])))
    if command in ("run", "sweep", "experiment", "validate", "sensitivity"):
        argv.append(draw(st.sampled_from(SCENARIOS)))
    if command == "compare":
        argv.extend(draw(st.lists(st.sampled_from(SCENARIOS), min_size=1, max_size=3)))
    options = {
        "--seed": st.sampled_from(NUMBERS),
        "--set": st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS),
                           st.sampled_from(VALUES)),
        "--out": st.sampled_from(OUT),
    }
    if command in ("sweep", "compare", "sensitivity", "validate"):
        options["--replicates"] = st.sampled_from(NUMBERS)
        options["--workers"] = st.sampled_from(NUMBERS)
    if command in ("sweep", "compare", "sensitivity"):
        options["--scheduler"] = st.sampled_from(["local", "notaurl", "tcp://127.0.0.1:1"])
    if command == "sweep":
        options["--vary"] = st.sampled_from(VARY)
        options["--samples"] = st.sampled_from(NUMBERS)
        options["--design"] = st.sampled_from(["lhs", "grid", "sobol", "morris", "lsh"])
        options["--space"] = st.sampled_from(["spaces", "space.toml", "missing.toml"])
    if command == "sensitivity":
        options["--trajectories"] = st.sampled_from(NUMBERS)
        options["--resamples"] = st.sampled_from(NUMBERS)
        options["--samples"] = st.sampled_from(["4", "6", "0"])
    if command in ("compare", "sensitivity"):
        options["--outputs"] = st.sampled_from(["engaged", "engagd", "applied@12", "months"])
    if command == "compare":
        options["--set-b"] = options["--set"]
        options["--set-c"] = options["--set"]
    chosen = draw(st.lists(st.sampled_from(sorted(options)), max_size=6))
    for option in chosen:
        argv.extend([option, draw(options[option])])
    if command == "sweep" and "--out" not in chosen:
        argv.extend(["--out", "store"])
    return argv


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    here = tmp_path_factory.mktemp("cli-properties")
    (here / "latin1.toml").write_bytes("description = \"\u00e9t\u00e9\"\n".encode("latin-1"))
    (here / "bom.toml").write_text('extends = "baseline"\n', encoding="utf-8-sig")
    (here / "space.toml").write_text('[parameters]\n"levers.trust" = [0.0, 1.0]\n')
    (here / "spaces").mkdir()
    (here / "file.txt").write_text("mine\n")
    return here


def listing(directory):
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob("*"))


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_a_command_line_is_refused_in_one_line_or_reaches_the_work(workdir, monkeypatch, argv):
    for module in (run, sweep, compare, sensitivity, validate, experiment):
        monkeypatch.setattr(module, "announce_compilation", _start, raising=False)
    before = listing(workdir)
    err = io.StringIO()
    here = Path.cwd()
    os.chdir(workdir)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = cli.main(argv)
    except WorkStarted:
        status = None
    finally:
        os.chdir(here)
    text = err.getvalue()
    event(f"status {status}")
    if status is not None:
        assert status in (0, 2), (argv, text)
    if status == 2:
        assert text.count("\n") == 1, (argv, text)
        assert text.startswith("hourglass"), (argv, text)
        assert "\x1b" not in text
    assert "Traceback" not in text
    assert listing(workdir) == before, argv
