"""``hourglass run`` and ``hourglass scenarios`` as a user calls them."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import DOCUMENTED_OUTPUTS

from simulation import Scenario


def hourglass(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "hourglass.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_run_writes_results_and_figure(tmp_path):
    out = tmp_path / "baseline"
    done = hourglass(
        "run",
        "baseline",
        "--seed",
        "3",
        "--set",
        "levers.turnover=0.3",
        "--set",
        "run.months=24",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    for key in DOCUMENTED_OUTPUTS:
        assert 0.0 <= summary[key] <= 1.0
    assert summary["seed"] == 3
    series = pd.read_csv(out / "timeseries.csv")
    assert list(series["month"]) == list(range(1, 25))
    resolved = Scenario.load(out / "scenario.toml")
    assert resolved["levers.turnover"] == 0.3
    png = (out / "hourglass.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 10_000
    assert not list(tmp_path.glob(".*partial*"))


def test_same_seed_same_files(tmp_path):
    for name in ("a", "b"):
        assert (
            hourglass("run", "--set", "run.months=12", "--out", str(tmp_path / name)).returncode
            == 0
        )
    for file in ("summary.json", "timeseries.csv", "scenario.toml"):
        assert (tmp_path / "a" / file).read_text() == (tmp_path / "b" / file).read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "no-such"], "scenario 'no-such' not found"),
        (["run", "--set", "levers.trust=2"], "levers.trust = 2 is not allowed"),
        (["run", "--set", "levers.trsut=0.2"], "did you mean 'levers.trust'?"),
        (["run", "--set", "trust"], "expected KEY=VALUE"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, args, expected):
    out = tmp_path / "out"
    done = hourglass(*args, "--out", str(out))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_malformed_scenario_file_is_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[levers\n")
    done = hourglass("run", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert f"{bad}: malformed TOML" in done.stderr
    assert not (tmp_path / "out").exists()


def test_refuses_to_overwrite_a_directory_that_is_not_a_result(tmp_path):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    done = hourglass("run", "--set", "run.months=6", "--out", str(precious))
    assert done.returncode == 2
    assert (precious / "notes.txt").read_text() == "keep me"


def test_scenarios_lists_baseline():
    done = hourglass("scenarios")
    assert done.returncode == 0
    assert done.stdout.startswith("baseline") or "\nbaseline " in done.stdout
