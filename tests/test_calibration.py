"""Calibration targets (hourglass/targets.toml) and `hourglass calibrate` (issue 15 §1-2)."""

from __future__ import annotations

import math

import pytest

from hourglass.targets import KINDS, classification, distance, load_targets, pooled
from hourglass.validation import criteria
from simulation import Scenario


def test_targets_are_two_sided_with_the_reports_sampling_tolerance():
    targets = load_targets()
    assert set(targets) == {"p4_multi_tool", "p4_mean_tools", "p4_weeks", "p4_year",
                            "f2_matched", "p8_share_nothing"}
    for t in targets.values():
        assert t.source
        if t.name == "p4_mean_tools":
            expected = 2 * math.sqrt(t.value / t.n)  # Poisson spread (assumed)
        else:
            expected = 2 * math.sqrt(t.value * (1 - t.value) / t.n)
        assert t.tolerance == pytest.approx(expected, abs=0.002)
    assert {t.n for t in targets.values()} <= {84, 52, 5}


def test_every_validation_criterion_is_classified():
    """The 24 per-scenario criteria and P6's two cross-scenario ones: 26, each with a kind."""
    kinds = classification()
    names = {f"{c.pattern}:{c.name}" for c in criteria(Scenario.load("baseline"))}
    names |= {"P6:attendance_weak_proxy", "P6:learning_better_proxy"}
    assert len(names) == 26
    assert set(kinds) == names
    assert set(kinds.values()) <= set(KINDS)
    # Inputs checked against themselves and nested flags are verification, not validation.
    assert kinds["P1:foundational_over_sustained"] == "verification"
    assert kinds["P2:sustained_over_practical"] == "verification"


def test_pooled_is_a_ratio_of_sums_and_distance_in_tolerances():
    runs = [{"p4_learners": 1.0, "f2_matched": 1.0}, {"p4_learners": 3.0, "f2_matched": 0.0},
            {"p4_learners": 0.0, "f2_matched": math.nan}]
    assert pooled(runs, "f2_matched") == 0.25
    assert math.isnan(pooled([{"p4_learners": 0.0, "f2_matched": math.nan}], "f2_matched"))
    targets = {"f2_matched": load_targets()["f2_matched"]}
    t = targets["f2_matched"]
    assert distance({"f2_matched": t.value + t.tolerance}, targets) == pytest.approx(1.0)
    assert distance({"f2_matched": math.nan}, targets) == pytest.approx(0.6 / t.tolerance)
