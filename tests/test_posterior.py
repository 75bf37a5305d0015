"""Which parameter sets a command runs over (hourglass/posterior.py, issue 15 §3)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

import hourglass.calibration
from hourglass.posterior import (
    POINT_DEFAULTS,
    add_posterior_options,
    check,
    choose,
    describe,
    draw,
    held_keys,
)
from simulation.errors import HourglassError


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_posterior_options(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def ensemble(tmp_path):
    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"reflection.base_rate": np.linspace(0.01, 0.1, 30),
                  "contact.contract_months": np.arange(30) % 12 + 6,
                  "weight": 1.0}).to_parquet(path)
    return path


def test_draw_is_seeded_without_replacement():
    assert draw(30, 20, 1) == draw(30, 20, 1)
    assert draw(30, 20, 1) != draw(30, 20, 2)
    assert len(set(draw(30, 20, 1))) == 20
    assert list(draw(30, 20, 1)) == sorted(draw(30, 20, 1))
    assert draw(5, 20, 1) == (0, 1, 2, 3, 4)  # fewer sets than asked: all of them


def test_choose_shipped_given_or_none(ensemble, monkeypatch):
    monkeypatch.setattr(hourglass.calibration, "shipped_posterior", lambda: None)
    args = parse()
    assert choose(args, 1) is None
    assert describe(None, args, "sensitivity").startswith("sensitivity: no posterior ships yet")
    assert describe(None, parse("--point-defaults"), "x") == POINT_DEFAULTS
    monkeypatch.setattr(hourglass.calibration, "shipped_posterior", lambda: ensemble)
    shipped = choose(parse("--sets", "4"), 7)
    assert shipped.source == "shipped"
    assert shipped.rows == draw(30, 4, 7)
    assert shipped.keys == ("reflection.base_rate", "contact.contract_months")  # not "weight"
    assert choose(parse("--point-defaults"), 7) is None
    given = choose(parse("--posterior", str(ensemble)), 7, sets=3)
    assert (given.source, len(given.rows)) == ("--posterior", 3)
    assert "3 of 30 drawn from" in given.describe()


@pytest.mark.parametrize(("frame", "match"), [
    (pd.DataFrame({"weight": [1.0, 2.0]}), "no scenario-key columns"),
    (pd.DataFrame({"levers.trsut": [0.1, 0.2]}), "'levers.trsut' is not a scenario key"),
    (pd.DataFrame({"levers.trust": [0.1, np.nan]}), "missing or non-numeric"),
    (pd.DataFrame({"levers.trust": [0.1]}), "needs at least 2 parameter sets, has 1"),
])
def test_an_ensemble_that_is_not_one_is_refused_in_one_line(tmp_path, frame, match):
    path = tmp_path / "p.parquet"
    frame.to_parquet(path)
    with pytest.raises(HourglassError, match=match) as caught:
        check(path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("--posterior: ")


def test_not_parquet_or_missing(tmp_path):
    text = tmp_path / "p.parquet"
    text.write_text("not parquet")
    with pytest.raises(HourglassError, match="not a Parquet file"):
        check(text)
    with pytest.raises(HourglassError, match="no such file"):
        check(tmp_path / "none.parquet")


def test_a_scenarios_own_choices_are_held_from_the_parameter_sets(tmp_path):
    """compare baseline community_of_practice over a posterior must not compare the baseline
    with itself: the scenario's own lever is kept, the world's unknowns come from the set."""
    import json

    from hourglass.adapter import HourglassModel
    from hourglass.posterior import base_of

    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"levers.community_of_practice": [0.1, 0.2],
                  "reflection.base_rate": [0.03, 0.06]}).to_parquet(path)
    ensemble = choose(parse("--posterior", str(path)), 1)
    assert base_of(ensemble) == "baseline"
    assert held_keys(ensemble, "baseline", {}) == ()
    assert held_keys(ensemble, "community_of_practice", {}) == ("levers.community_of_practice",)
    assert held_keys(ensemble, "baseline", {"reflection.base_rate": 0.1}) == (
        "reflection.base_rate",)
    held = HourglassModel("community_of_practice", parameter_sets=path,
                          held=held_keys(ensemble, "community_of_practice", {}))
    scenario = held.scenario({"parameter_set": 1})
    assert scenario["levers.community_of_practice"] == 0.7  # the scenario's own
    assert scenario["reflection.base_rate"] == 0.06  # the set's
    plain = HourglassModel("community_of_practice", parameter_sets=path)
    assert plain.scenario({"parameter_set": 1})["levers.community_of_practice"] == 0.2
    assert held.describe()["held"] == ["levers.community_of_practice"]
    # calibrated on community_of_practice: its own lever is then the world's, not held
    (tmp_path / "calibration.json").write_text(json.dumps({"base": "community_of_practice"}))
    assert base_of(ensemble) == "community_of_practice"
    assert held_keys(ensemble, "community_of_practice", {}) == ()
