"""Grouped Sobol' indices (analysis.grouped) and the assumption groups (issue 15 §3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sweep_models as m
from test_sweep_cli import TINY_SET

from analysis.errors import AnalysisError
from analysis.grouped import GroupedSpace, index_names
from analysis.sensitivity import convergence, morris, sobol
from analysis.space import Discrete
from analysis.sweep import run_sweep
from hourglass.assumptions import (
    PREFIX,
    assumption_factors,
    load_groups,
    members,
)
from hourglass.calibration import prior_space
from hourglass.cli import main
from hourglass.posterior import Ensemble
from simulation import parameter_specs

PI = (-np.pi, np.pi)


def test_grouped_ishigami_matches_the_closed_form(tmp_path):
    """x1 and x3 as one group: its first-order index is S1 + S3 + S13 = 1 - S2 = 0.5576 and,
    x2 acting alone, so is its total; x2's are 0.4424 (Ishigami's closed form, sweep_models)."""
    space = GroupedSpace({"x1": PI, "x2": PI, "x3": PI}, {"x1": "x13", "x3": "x13"})
    sweep = run_sweep(m.ishigami, space, "sobol", 1024, 1, executor="serial", progress=False,
                      store=tmp_path / "s")
    assert sweep.design.rows == 1024 * (2 + 2)  # G + 2 rows a base point, not D + 2
    table = sobol(sweep, "y")
    assert list(table.index) == ["x13", "x2"] == index_names(space)
    group = 1 - m.ISHIGAMI_S1[1]
    assert table.loc["x13", "S1"] == pytest.approx(group, abs=0.04)
    assert table.loc["x13", "ST"] == pytest.approx(group, abs=0.04)
    assert table.loc["x2", "S1"] == pytest.approx(m.ISHIGAMI_S1[1], abs=0.04)
    assert set(convergence(sweep, "y")["parameter"]) == {"x13", "x2"}
    screening = run_sweep(m.ishigami, space, "morris", 4, 1, executor="serial", progress=False)
    with pytest.raises(AnalysisError, match="the space is grouped"):
        morris(screening, "y")
    # The grouping is part of the sweep's identity: another grouping is another sweep.
    other = GroupedSpace({"x1": PI, "x2": PI, "x3": PI}, {"x1": "x12", "x2": "x12"})
    with pytest.raises(AnalysisError, match="holds a different sweep"):
        run_sweep(m.ishigami, other, "sobol", 1024, 1, executor="serial", progress=False,
                  store=tmp_path / "s")


def test_grouped_space_refusals():
    with pytest.raises(AnalysisError, match="group of 'x9', which is not a factor"):
        GroupedSpace({"x1": PI}, {"x9": "g"})
    with pytest.raises(AnalysisError, match="group label 'x2' is also a factor's name"):
        GroupedSpace({"x1": PI, "x2": PI}, {"x1": "x2"})


def test_every_calibrated_guess_is_in_exactly_one_group_by_section():
    groups = load_groups()
    sections = {k.split(".", 1)[0] for k in parameter_specs()}
    named = [s for ss in groups.values() for s in ss]
    assert set(named) <= sections
    assert len(named) == len(set(named))
    grouped = members()
    keys = [k for ks in grouped.values() for k in ks]
    assert len(keys) == len(set(keys))
    assert set(keys) == {k for k in prior_space().names if not k.startswith("levers.")}
    for group, ks in grouped.items():
        owners = groups.get(group, [group])  # an unnamed section is a group of its own
        assert {k.split(".", 1)[0] for k in ks} <= set(owners)


def test_a_section_no_group_names_becomes_its_own_group(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('[groups.people]\nsections = ["peers"]\n')
    grouped = members(path)
    assert grouped["people"] == [k for k in prior_space().names if k.startswith("peers.")]
    assert "contact" in grouped  # not named in the file: its own group
    path.write_text('[groups.x]\nsections = ["nowhere"]\n')
    with pytest.raises(Exception, match="'nowhere' is not a section"):
        load_groups(path)


def test_ranges_come_from_the_prior_or_the_ensembles_5_to_95_percent(tmp_path):
    specs, labels = assumption_factors()
    prior = prior_space().factors
    assert specs["reflection.base_rate"] == prior["reflection.base_rate"]
    assert labels["reflection.base_rate"] == PREFIX + "learning"
    values = np.linspace(0.02, 0.08, 21)
    path = tmp_path / "p.parquet"
    pd.DataFrame({"reflection.base_rate": values,
                  "contact.contract_months": np.r_[[6] * 11, [9] * 10]}).to_parquet(path)
    ensemble = Ensemble(path=path, rows=tuple(range(21)), size=21,
                        keys=("reflection.base_rate",), source="test")
    specs, _ = assumption_factors(ensemble)
    lo, hi = specs["reflection.base_rate"]
    assert (lo, hi) == (pytest.approx(np.quantile(values, 0.05)),
                        pytest.approx(np.quantile(values, 0.95)))
    assert specs["contact.contract_months"] == Discrete("int", (6, 7, 8, 9))
    assert specs["peers.expertise_a"] == prior["peers.expertise_a"]  # not in the ensemble


def test_sensitivity_assumptions_reports_groups_beside_the_levers(tmp_path, capsys):
    out = tmp_path / "sa"
    argv = ["sensitivity", "--assumptions", "--point-defaults", "--samples", "4",
            "--replicates", "1", "--resamples", "20", "--out", str(out), "--workers", "2",
            "--no-progress", "--outputs", "applied", "--set", "reflection.base_rate=0.05",
            *TINY_SET]
    assert main(argv) == 0, capsys.readouterr().err
    report = out / "report"
    table = pd.read_csv(report / "sobol.csv")
    groups = [p for p in table["parameter"] if p.startswith(PREFIX)]
    assert PREFIX + "learning" in groups
    assert "levers.trust" in set(table["parameter"])
    assert (report / "levers_and_assumptions.png").read_bytes().startswith(b"\x89PNG")
    assert not (report / "morris.csv").exists()
    readme = (report / "README.md").read_text()
    assert "assumption groups (grouped Sobol'; ranges the calibration prior's)" in readme
    # a key fixed with --set stays fixed: not in its group
    assert "reflection.base_rate" not in readme.split("assumption groups")[1].split("- Sobol'")[0]
    assert "levers.trust" not in readme.split("assumption groups")[1].split("- Sobol'")[0]


def test_sensitivity_over_a_posterior_adds_the_parameter_set_and_the_split(tmp_path, capsys):
    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"reflection.base_rate": [0.0, 0.5, 1.0],
                  "peers.willingness_to_learn": [0.3, 0.6, 0.9]}).to_parquet(path)
    out = tmp_path / "sa"
    argv = ["sensitivity", "--posterior", str(path), "--samples", "4", "--replicates", "2",
            "--trajectories", "0", "--resamples", "20", "--out", str(out), "--workers", "2",
            "--no-progress", "--outputs", "engaged", "practical_learning", *TINY_SET,
            "--set", "peers.willingness_to_learn=0.6"]
    assert main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert printed.startswith("parameter sets: 3 of 3 drawn from")
    # a key fixed with --set is the user's: the parameter sets leave it
    assert ("kept as baseline or --set sets them (not from the parameter sets): "
            "peers.willingness_to_learn") in printed.splitlines()[0]
    assert "between parameter sets (what we do not know about the world)" in printed
    report = out / "report"
    table = pd.read_csv(report / "sobol.csv")
    assert "parameter_set" in set(table["parameter"])
    split = pd.read_csv(report / "uncertainty.csv", index_col="outcome")
    assert list(split.index) == ["engaged", "practical_learning"]
    runs = pd.read_csv(report / "ensemble_runs.csv")
    assert sorted(runs["parameter_set"]) == [0, 0, 1, 1, 2, 2]
    assert runs["seed"].nunique() == 6
    for name in ("uncertainty.png", "uncertainty_shares.png", "levers_and_assumptions.png"):
        assert (report / name).read_bytes().startswith(b"\x89PNG")
    assert (out / "runs" / "ensemble").is_dir()  # resumable like the sweeps


@pytest.mark.parametrize("command", [
    ["sensitivity", "--samples", "4", "--trajectories", "0"],
    ["experiment", "contact-intensity", "baseline"],
])
def test_a_bad_parameter_set_anywhere_is_refused_before_any_run(tmp_path, capsys, command):
    """The middle set is out of range: checking the first and last (the design's corners) is not
    enough."""
    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"reflection.base_rate": [0.1, 5.0, 0.2]}).to_parquet(path)
    out = tmp_path / "x"
    assert main([*command, "--posterior", str(path), "--out", str(out), *TINY_SET]) == 2
    err = capsys.readouterr().err
    assert "reflection.base_rate" in err
    assert err.count("\n") == 1
    assert not out.exists()
