"""``hourglass compare``: hourglass outcomes by default, more than two arms, paired runs kept."""

import numpy as np
import pandas as pd
import pytest
from test_sweep_cli import TINY, TINY_SET

from analysis.compare import paired_summary, run_arms
from hourglass.adapter import HourglassModel
from hourglass.cli import main
from hourglass.commands.compare import HOURGLASS_OUTCOMES


def test_three_arms_each_against_the_first_with_paired_runs_saved(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "baseline", "baseline", "baseline", "--replicates", "3",
                 "--set-b", "levers.trust=0.9", "--set-c", "levers.share_forward=0.1",
                 "--seed", "5", "--out", str(out), "--workers", "1", "--no-progress",
                 "--point-defaults", *TINY_SET])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "(B - A)" in printed
    assert "C = baseline [levers.share_forward=0.1]" in printed
    table = pd.read_csv(out / "compare.csv")
    assert list(dict.fromkeys(table["arm"])) == ["B: baseline [levers.trust=0.9]",
                                                 "C: baseline [levers.share_forward=0.1]"]
    assert list(dict.fromkeys(table["outcome"])) == list(HOURGLASS_OUTCOMES)
    assert "months" not in set(table["outcome"])
    runs = pd.read_csv(out / "runs.csv")
    assert list(dict.fromkeys(runs["arm"])) == ["A: baseline", "B: baseline [levers.trust=0.9]",
                                                "C: baseline [levers.share_forward=0.1]"]
    for _, seeds in runs.groupby("replicate")["seed"]:
        assert (seeds == seeds.iloc[0]).all()  # common random numbers: one seed per replicate
    # the saved pairs reproduce the table, and the same as the engine gives directly
    model = HourglassModel("baseline", every=0, overrides=TINY)
    runs_a, runs_c = run_arms(model, (model, {"levers.share_forward": 0.1}), 3, 5, "serial")
    direct = paired_summary(runs_a, runs_c).loc[list(HOURGLASS_OUTCOMES)]
    saved = table[table["arm"].str.startswith("C:")].set_index("outcome")
    np.testing.assert_allclose(saved["diff"], direct["diff"])
    arm_c = runs[runs["arm"].str.startswith("C:")].set_index("replicate")
    np.testing.assert_array_equal(arm_c["applied"], runs_c["applied"])
    png = (out / "forest.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_an_override_for_a_missing_arm_is_refused(tmp_path, capsys):
    code = main(["compare", "baseline", "baseline", "--set-c", "levers.trust=0.2",
                 "--out", str(tmp_path / "x")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--set-c: there is no arm C (2 scenarios given)" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_one_scenario_is_not_a_comparison(tmp_path, capsys):
    assert main(["compare", "baseline", "--out", str(tmp_path / "x")]) == 2
    assert "expected 2 to 8 scenarios, got 1" in capsys.readouterr().err


# -- over a posterior ensemble (issue 15 §3) -----------------------------------------------------


def ensemble(tmp_path, rows=4):
    """A hand-written ensemble: sets differing in how often exposure is reflected on."""
    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"reflection.base_rate": [0.0, 0.3, 0.6, 1.0][:rows],
                  "peers.willingness_to_learn": [0.4, 0.6, 0.8, 0.9][:rows]}).to_parquet(path)
    return path


def test_compare_over_a_posterior_pairs_sets_and_seeds(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "baseline", "baseline", "--set-b", "levers.trust=0.9",
                 "--replicates", "9", "--sets", "4", "--posterior", str(ensemble(tmp_path)),
                 "--seed", "3", "--out", str(out), "--workers", "1", "--no-progress", *TINY_SET])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert printed.startswith("parameter sets: 4 of 4 drawn from")
    # 9 pairs over 4 sets: 2 seeds each, 8 pairs (every set the same number)
    assert "8 paired replicates (4 parameter sets x 2 seeds" in printed
    assert "variance of B - A: between parameter sets" in printed
    runs = pd.read_csv(out / "runs.csv")
    a = runs[runs["arm"] == "A: baseline"]
    assert sorted(a["parameter_set"]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert a["seed"].nunique() == 8
    split = pd.read_csv(out / "uncertainty.csv").set_index(["arm", "quantity", "outcome"])
    assert set(split.index.get_level_values("quantity")) == {"a", "b", "diff"}
    assert set(split.index.get_level_values("outcome")) == set(HOURGLASS_OUTCOMES)
    assert {"between", "within", "share_between", "share_low", "share_high"} <= set(split)
    assert (out / "uncertainty_B.png").read_bytes().startswith(b"\x89PNG")
    # The interval is over the sets' mean differences, as the engine gives it with by=
    b = runs[runs["arm"].str.startswith("B:")]
    direct = paired_summary(a.drop(columns="arm").set_index("replicate"),
                            b.drop(columns="arm").set_index("replicate"), by="parameter_set")
    table = pd.read_csv(out / "compare.csv").set_index("outcome")
    np.testing.assert_allclose(table["ci_low"], direct.loc[table.index, "ci_low"])


def test_no_posterior_shipped_says_so_and_runs_at_the_point_values(tmp_path, capsys,
                                                                   monkeypatch):
    import hourglass.calibration

    monkeypatch.setattr(hourglass.calibration, "shipped_posterior", lambda: None)
    code = main(["compare", "baseline", "baseline", "--replicates", "2", "--out",
                 str(tmp_path / "c"), "--workers", "1", "--no-progress", *TINY_SET])
    assert code == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("compare: no posterior ships yet (")
    assert "running at the scenario's point values" in first
    assert "parameter_set" not in pd.read_csv(tmp_path / "c" / "runs.csv").columns
    assert not (tmp_path / "c" / "uncertainty.csv").exists()


def test_a_shipped_posterior_is_the_default(tmp_path, capsys, monkeypatch):
    import hourglass.calibration

    shipped = ensemble(tmp_path, rows=3)
    monkeypatch.setattr(hourglass.calibration, "shipped_posterior", lambda: shipped)
    code = main(["compare", "baseline", "baseline", "--replicates", "4", "--out",
                 str(tmp_path / "c"), "--workers", "1", "--no-progress", *TINY_SET])
    assert code == 0, capsys.readouterr().err
    assert "parameter sets: 2 of 3 drawn from" in capsys.readouterr().out  # 4 pairs: 2 x 2
    code = main(["compare", "baseline", "baseline", "--replicates", "4", "--point-defaults",
                 "--out", str(tmp_path / "d"), "--workers", "1", "--no-progress", *TINY_SET])
    assert code == 0
    assert capsys.readouterr().out.startswith("parameter sets: none (--point-defaults")


@pytest.mark.parametrize(("extra", "message"), [
    (["--replicates", "3"], "--replicates 3: over a posterior a comparison needs at least 4"),
    (["--posterior", "missing.parquet"], "--posterior: missing.parquet: no such file"),
    (["--point-defaults", "--posterior", "x.parquet"], "not allowed with argument"),
])
def test_posterior_refusals_are_one_line(tmp_path, capsys, extra, message):
    args = ["compare", "baseline", "baseline", "--posterior", str(ensemble(tmp_path)),
            "--out", str(tmp_path / "x"), *TINY_SET]
    if "--posterior" in extra:
        args = [a for a in args if a != str(ensemble(tmp_path)) and a != "--posterior"]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x").exists()
