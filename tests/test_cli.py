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


HEAVY = ("pandas", "mesa", "dask", "distributed", "matplotlib", "numba", "scipy", "solara")


def _heavy_after(code):
    probe = (f"import sys\n{code}\n"
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return done.stderr.split()


def test_top_level_help_imports_no_command():
    assert _heavy_after("from hourglass.cli import main\n"
                        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass") == []


@pytest.mark.parametrize("command", sorted(__import__("hourglass.cli").cli.available_commands()))
def test_parsing_a_command_imports_only_argparse_level_modules(command):
    code = f"from hourglass.cli import build_parser\nbuild_parser([{command!r}])"
    assert _heavy_after(code) == []


def test_every_registered_command_parses_and_lists(tmp_path):
    from hourglass.cli import COMMANDS, available_commands, build_parser

    listed = hourglass("--help").stdout
    for name in available_commands():
        assert name in listed
        assert build_parser([name])._subparsers._group_actions[0].choices[name] is not None
    assert {"run", "sweep", "compare", "parameters"} <= set(COMMANDS)
    assert {"discover", "design", "store"} <= set(COMMANDS)


def test_a_command_whose_module_is_absent_is_not_offered(monkeypatch):
    from hourglass import cli

    monkeypatch.setitem(cli.COMMANDS, "later", ("hourglass.commands.later", "not written yet"))
    assert "later" not in cli.available_commands()
    assert "later" not in cli.build_parser(["--help"])._subparsers._group_actions[0].choices


def test_version():
    done = hourglass("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("hourglass ")
    from importlib.metadata import version

    assert done.stdout.split()[1] == version("hourglass")


def test_parse_time_constants_match_the_modules_they_mirror():
    from analysis.designs import KINDS
    from hourglass.adapter import LEVER_SPACE
    from hourglass.commands import experiment, sensitivity, sweep
    from hourglass.experiments import EXPERIMENTS

    assert tuple(sweep.KINDS) == tuple(KINDS)
    assert LEVER_SPACE.resolve() == sensitivity.DEFAULT_SPACE
    assert tuple(experiment.EXPERIMENTS) == tuple(EXPERIMENTS)
    import inspect

    from hourglass.experiments import contact_intensity, personal_learning

    for function in (contact_intensity, personal_learning):
        months = inspect.signature(function).parameters["months"].default
        assert months == experiment.OBSERVED_MONTHS


def test_run_with_overrides_names_them_in_folder_results_and_title(tmp_path):
    done = hourglass("run", "--set", "levers.trust=0.9", "--set", "run.months=6", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = Scenario.load("baseline").with_overrides(
        {"run.months": 6, "levers.trust": 0.9}).overrides_digest()
    assert len(expected) == 6
    out = tmp_path / "results" / f"baseline-{expected}-seed1"
    assert out.is_dir(), list((tmp_path / "results").iterdir())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overrides"] == {"levers.trust": 0.9, "run.months": 6}
    assert "# override: levers.trust = 0.9" in (out / "scenario.toml").read_text()
    assert "levers.trust=0.9" in done.stdout.splitlines()[0]
    plain = hourglass("run", "--set", "run.months=6", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert len(list((tmp_path / "results").iterdir())) == 2  # another digest, another folder


def _index(directory, stem, digest):
    directory.mkdir(parents=True, exist_ok=True)
    import pickle

    (directory / f"{stem}.kernel-10.py312.nbi").write_bytes(
        pickle.dumps("0.0") + pickle.dumps((digest, {})))


def test_kernels_cached_reads_numba_index_against_the_source(tmp_path, monkeypatch):
    import hashlib

    from hourglass.commands.common import kernels_cached

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "plain.py").write_text("x = 1\n")
    source = package / "kernels.py"
    source.write_text("@njit(cache=True)\ndef kernel():\n    pass\n")
    assert not kernels_cached(package)  # cold: nothing compiled yet
    _index(package / "__pycache__", "kernels", hashlib.sha256(source.read_bytes()).digest())
    assert kernels_cached(package)
    source.write_text("@njit(cache=True)\ndef kernel():\n    return 1\n")
    assert not kernels_cached(package)  # the source changed: Numba compiles again
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert not kernels_cached(package)
    from hourglass.commands.common import _cache_dirs

    _index(_cache_dirs(source)[0], "kernels", hashlib.sha256(source.read_bytes()).digest())
    assert kernels_cached(package)
    source.write_text("@njit(cache=True)\ndef kernel():\n    return 2\n")
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")
    assert kernels_cached(package)  # interpreted: nothing to compile


def test_a_cold_cache_is_announced_once_before_the_run(tmp_path, monkeypatch, capsys):
    from hourglass import cli
    from hourglass.commands import common

    monkeypatch.setattr(common, "kernels_cached", lambda: False)
    assert cli.main(["run", "--set", "run.months=3", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert err == f"hourglass: {common.COMPILING}\n"


def test_parameters_lists_every_key_with_default_range_and_source():
    from simulation import parameter_specs

    specs = parameter_specs()
    done = hourglass("parameters")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("  ")]
    assert len(rows) == len(specs)
    trust = next(r for r in rows if r[0] == "trust")
    assert trust[1] == f"{specs['levers.trust'].default:g}"
    assert trust[2] == specs["levers.trust"].source
    assert " ".join(trust[3:]) == specs["levers.trust"].allowed()
    levers = hourglass("parameters", "levers", "--doc")
    assert levers.returncode == 0
    assert f"{len([n for n in specs if n.startswith('levers.')])} keys" in levers.stdout
    assert specs["levers.trust"].doc.split()[0] in levers.stdout
    assert "[population]" not in levers.stdout
    typo = hourglass("parameters", "lever")
    assert typo.returncode == 2
    assert typo.stderr.count("\n") == 1
    assert "did you mean 'levers'?" in typo.stderr
