"""Figure 11's evaluation gap, measured by ``hourglass validate`` over the base arm."""

import json

import numpy as np
import pandas as pd

from hourglass.cli import main as cli
from hourglass.validation import evaluation_gap_of
from simulation.evaluation_gap import evaluation_gap


def _frame():
    return pd.DataFrame({
        "base.reports_activity": [1.0, 1.0, 0.0, 1.0],
        "base.reports_impact": [1.0, 0.0, 0.0, 1.0],
        "base.reports_training_transfer": [0.0, 0.0, 0.0, 1.0],
        "base.reports_learning": [0.0, 0.0, 0.0, 1.0],
        "base.practical_learning": [0.1, 0.3, 0.0, 0.1],
        "base.orgs_changed": [0.2, 0.5, 0.1, 0.3],
        "cf.orgs_changed": [0.1, 0.1, 0.1, 0.1],
        "base.reported.events_held": [10.0, 20.0, 5.0, 30.0],
        "base.reported.reported_attendance": [0.5, 0.6, 0.4, 0.7],
    })


def test_the_gap_reads_the_base_arm_and_counts_attributable_change():
    gap = evaluation_gap_of(_frame())
    # learning assessed only by the last initiative: 0.4 of the 0.5 learnt goes unseen
    assert gap["learning_unseen"] == np.float64(0.4 / 0.5)
    # attributable change 0.1, 0.4, 0.0, 0.2; impact unreported in the 2nd and 3rd
    assert np.isclose(gap["change_unseen"], 0.4 / 0.7)
    assert gap["reports_activity"] == 0.75
    rows = [{"reports_activity": 1.0, "reports_impact": 1.0, "reports_training_transfer": 0.0,
             "reports_learning": 0.0, "practical_learning": 0.1, "orgs_changed": 0.1,
             "events_held": 10.0, "reported_attendance": 0.5}]
    assert evaluation_gap(rows)["learning_unseen"] == 1.0


def test_validate_writes_the_gap(tmp_path, capsys):
    out = tmp_path / "validation"
    assert cli(["validate", "--point-defaults", "--quick", "--replicates", "4", "--out", str(out),
                "--workers", "1", "--no-progress", "--set", "run.months=24"]) == 0
    printed = capsys.readouterr().out
    assert "evaluation gap (Figure 11): evaluations report activity" in printed
    summary = json.loads((out / "summary.json").read_text())
    runs = pd.read_csv(out / "replicates.csv")
    expected = evaluation_gap_of(runs)
    for key, value in summary["evaluation_gap"].items():
        if value is None:
            assert np.isnan(expected[key])
        else:
            assert np.isclose(value, expected[key], atol=5e-5)
    assert "The evaluation gap (Figure 11)" in (out / "validation.md").read_text()
