"""``hourglass compare``: hourglass outcomes by default, more than two arms, paired runs kept."""

import numpy as np
import pandas as pd
from test_sweep_cli import TINY, TINY_SET

from analysis.compare import paired_summary, run_arms
from hourglass.adapter import HourglassModel
from hourglass.cli import main
from hourglass.commands.compare import HOURGLASS_OUTCOMES


def test_three_arms_each_against_the_first_with_paired_runs_saved(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "baseline", "baseline", "baseline", "--replicates", "3",
                 "--set-b", "levers.trust=0.9", "--set-c", "levers.share_forward=0.1",
                 "--seed", "5", "--out", str(out), "--workers", "1", "--no-progress", *TINY_SET])
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
