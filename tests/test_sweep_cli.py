"""The Hourglass adapter and the sweep / sensitivity / compare commands (tiny scenarios)."""

import json
import pickle
from pathlib import Path

import pandas as pd
import pytest

from analysis import load_sweep
from analysis.space import Group
from analysis.sweep import run_sweep
from hourglass import hourglass_model
from hourglass.adapter import HourglassModel, lever_keys, lever_space, tool_groups
from hourglass.cli import main
from simulation.errors import HourglassError

ROOT = Path(__file__).resolve().parents[1]
TINY = {"population.home_organisations": 4, "population.countries": 2,
        "population.staff_per_organisation": 20, "run.months": 24}
TINY_SET = [arg for k, v in TINY.items() for arg in ("--set", f"{k}={v}")]


def test_adapter_outputs_and_determinism():
    model = HourglassModel("baseline", every=12, overrides=TINY)
    out = model({"levers.trust": 0.6}, seed=7)
    assert all(type(v) is float for v in out.values())
    for name in ("engaged", "sustained_contacts", "applied", "orgs_changed", "staff_reached"):
        assert name in out
        assert f"{name}@12" in out
        assert f"{name}@24" in out
    assert not any(k.endswith("@0") or k.endswith("@36") for k in out)
    assert out["engaged@24"] == out["engaged"]  # the summary is the last month
    assert model({"levers.trust": 0.6}, seed=7) == out
    assert pickle.loads(pickle.dumps(model)) == model  # noqa: S301 - our own bytes
    assert HourglassModel(every=0, overrides=TINY)({}, 7).keys() <= out.keys()
    assert hourglass_model.describe() == {"model": "hourglass", "base": "baseline", "every": 12,
                                          "overrides": {}}


def test_adapter_refuses_unknown_or_out_of_range_before_running(tmp_path):
    model = HourglassModel(overrides=TINY)
    with pytest.raises(HourglassError, match=r"levers\.trus") as err:
        run_sweep(model, {"levers.trus": (0.0, 1.0)}, "lhs", 4, 1, executor="serial",
                  store=tmp_path / "s", progress=False)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "s").exists()  # refused before a store was made
    with pytest.raises(HourglassError, match=r"levers\.turnover = 1\.0 is not allowed"):
        run_sweep(model, {"levers.turnover": (0.0, 1.0)}, "lhs", 4, 1, executor="serial",
                  progress=False)


def test_levers_toml_covers_every_lever_and_tool_group():
    space = lever_space()
    groups = {n.removeprefix("group."): list(f.keys) for n, f in space.factors.items()
              if isinstance(f, Group)}
    assert groups == tool_groups()
    assert [n for n in space.names if n.startswith("levers.")] == lever_keys()


def test_sweep_command_and_resume(tmp_path, capsys):
    out = tmp_path / "sw"
    argv = ["sweep", "baseline", "--design", "lhs", "--samples", "8", "--replicates", "2",
            "--seed", "9", "--vary", "levers.trust=0:1", "--vary", "levers.share_forward=0:1",
            "--out", str(out), "--workers", "1", "--no-progress", *TINY_SET]
    assert main(argv) == 0
    assert "sweep complete: 16 runs (8 rows x 2 replicates" in capsys.readouterr().out
    sweep = load_sweep(out)
    assert sweep.complete
    assert list(sweep.runs.columns[4:6]) == ["levers.trust", "levers.share_forward"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["identity"]["model"]["overrides"]["run.months"] == 24
    assert manifest["info"]["scenario"] == "baseline"
    # a different design into the same store: one line, exit 2
    argv2 = [a if a != "9" else "10" for a in argv]
    assert main(argv2) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hourglass: error: store {out}: holds a different sweep (design.seed")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--vary", "levers.trust=1:0"], "levers.trust: bounds reversed or empty (1.0 >= 0.0)"),
     (["--vary", "levers.trust"], "--vary 'levers.trust': expected KEY=lo:hi"),
     (["--vary", "levers.trust=a:b"], "bounds must be numbers"),
     (["--vary", "levers.nope=0:1"], "levers.nope"),
     (["--vary", "levers.trust=0:1", "--design", "sobol", "--samples", "12"],
      "samples N=12 must be a power of 2"),
     ([], "nothing to vary; give --vary KEY=lo:hi or --space FILE"),
     (["--space", "sweeps/missing.toml"], "sweeps/missing.toml: no such space file"),
     (["--vary", "levers.trust=0:1", "--chunk-size", "0"],
      "--chunk-size: expected a whole number >= 1, got '0'"),
     (["--vary", "levers.trust=0:1", "--chunk-size", "-3"], "got '-3'")],
)
def test_sweep_command_refusals(tmp_path, capsys, args, message):
    code = main(["sweep", "baseline", "--out", str(tmp_path / "x"), "--no-progress", *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x").exists()  # nothing that could pass for a (complete) store


def test_sensitivity_command_tiny(tmp_path, capsys):
    out = tmp_path / "sa"
    argv = ["sensitivity", "--samples", "4", "--replicates", "1", "--trajectories", "2",
            "--resamples", "20", "--out", str(out), "--workers", "2", "--no-progress",
            "--outputs", "engaged", "applied", "--point-defaults", *TINY_SET]
    assert main(argv) == 0
    report = out / "report"
    names = {p.name for p in report.iterdir()}
    for name in ("sobol.csv", "sobol.md", "morris.csv", "morris.md", "convergence.csv",
                 "time_resolved.csv", "README.md", "sobol_engaged.png", "morris_applied.png",
                 "heatmap_ST.png", "heatmap_mu_star.png", "time_engaged.png",
                 "convergence_engaged.png"):
        assert name in names, name
    table = pd.read_csv(report / "sobol.csv")
    assert list(table.columns) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert len(table) == 2 * lever_space().dim
    assert not list(out.glob(".*partial"))
    assert "report in" in capsys.readouterr().out
    # N not a power of 2 is refused with one line
    assert main([*argv[:2], "6", *argv[3:]]) == 2
    assert "--samples: expected a power of 2 such as 4 or 8, got '6'" in capsys.readouterr().err


def test_compare_command_tiny(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "baseline", "baseline", "--replicates", "4", "--set-b",
                 "levers.trust=0.9", "--out", str(out), "--workers", "1", "--no-progress",
                 "--outputs", "engaged", "applied", *TINY_SET])
    assert code == 0
    printed = capsys.readouterr().out
    assert "B = baseline [levers.trust=0.9]" in printed
    assert {"compare.csv", "compare.md", "forest.png", "runs.csv"} <= {
        p.name for p in out.iterdir()}
    table = pd.read_csv(out / "compare.csv", index_col="outcome")
    assert list(table.index) == ["engaged", "applied"]
    assert set(table["arm"]) == {"B: baseline [levers.trust=0.9]"}
    assert main(["compare", "baseline", "nowhere", "--replicates", "4", "--no-progress",
                 "--out", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()
