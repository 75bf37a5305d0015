"""Scenarios: loading, extends, overrides, and bad input refused with one clear line."""

import pytest

from simulation import HourglassError, Scenario, parameter_specs
from simulation.tools import load_tools


def write(path, text):
    path.write_text(text)
    return path


def test_baseline_is_the_documented_defaults_with_figure7_tool_mix():
    baseline = Scenario.load("baseline")
    defaults = Scenario.default()
    assert dict(baseline.values) == dict(defaults.values)
    for tool in load_tools():
        assert baseline[f"tools.{tool.name}"] == tool.figure7_share


def test_every_parameter_names_its_source():
    for spec in parameter_specs().values():
        assert spec.source in {"report", "literature", "derived", "assumption"}, spec.name
        assert spec.doc, spec.name


def test_levers_and_tools_have_the_public_names():
    names = set(parameter_specs())
    for lever in (
        "trust",
        "turnover",
        "share_forward",
        "home_openness",
        "matching",
        "peer_contracts",
        "community_of_practice",
    ):
        assert f"levers.{lever}" in names
    for tool in (
        "large_group_meetings",
        "site_visits",
        "joint_peer_activities",
        "paired_engagements",
        "online_networking",
        "multi_peer_reflection",
    ):
        assert f"tools.{tool}" in names


def test_extends_by_name_and_by_relative_path(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "parent.toml", 'extends = "baseline"\n[levers]\ntrust = 0.9\n')
    child = write(
        tmp_path / "sub" / "child.toml", 'extends = "../parent.toml"\n[levers]\nturnover = 0.4\n'
    )
    scenario = Scenario.load(child)
    assert scenario["levers.trust"] == 0.9
    assert scenario["levers.turnover"] == 0.4
    assert scenario["tools.site_visits"] == Scenario.load("baseline")["tools.site_visits"]


def test_overrides_return_a_new_scenario():
    base = Scenario.load("baseline")
    changed = base.with_overrides({"levers.turnover": 0.3})
    assert changed["levers.turnover"] == 0.3
    assert base["levers.turnover"] == 0.15


def test_resolved_toml_round_trips(tmp_path):
    scenario = Scenario.load("baseline").with_overrides({"levers.matching": 0.7})
    again = Scenario.load(write(tmp_path / "resolved.toml", scenario.to_toml()))
    assert dict(again.values) == dict(scenario.values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[levers]\ntrusst = 0.3\n", "unknown key 'levers.trusst' (did you mean 'levers.trust'?)"),
        ("[leverz]\ntrust = 0.3\n", "unknown key 'leverz'"),
        (
            '[levers]\ntrust = "high"\n',
            "levers.trust = 'high' is not allowed; expected a number in [0, 1]",
        ),
        (
            "[levers]\nturnover = 1.5\n",
            "levers.turnover = 1.5 is not allowed; expected a number in [0, 0.99]",
        ),
        ("[run]\nmonths = 2.5\n", "run.months = 2.5 is not allowed; expected a whole number"),
        ('[facilitator]\nselection = "lottery"\n', "expected one of 'position', 'matched'"),
        ("[levers\ntrust = 0.3\n", "malformed TOML"),
        ('extends = "no-such-scenario"\n', "scenario 'no-such-scenario' not found"),
        ('extends = "missing.toml"\n', "scenario file not found"),
        ("[population]\ncountries = 50\n", "expected at most population.home_organisations"),
    ],
)
def test_bad_input_is_one_line_naming_file_and_key(tmp_path, text, expected):
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(HourglassError) as caught:
        Scenario.load(path)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    if "not found" not in message:
        assert str(path) in message


def test_cyclic_extends_is_refused(tmp_path):
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(HourglassError, match=r"extends: cycle a.toml -> b.toml -> a.toml"):
        Scenario.load(tmp_path / "a.toml")


def test_override_errors_name_the_key():
    with pytest.raises(HourglassError, match=r"overrides: unknown key 'levers.nope'"):
        Scenario.load("baseline").with_overrides({"levers.nope": 1})
    with pytest.raises(HourglassError, match=r"levers.trust = -0.1 is not allowed"):
        Scenario.load("baseline").with_overrides({"levers.trust": -0.1})
