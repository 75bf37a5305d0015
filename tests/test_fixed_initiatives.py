"""A fixed initiative states its whole tool set: none of its tools is the population's share.

In a population scenario (``initiative.draw = "population"``, the baseline) ``tools.*`` are
Figure 7's shares of initiatives using each tool; in a fixed one (a case study) they are that one
initiative's intensities. A case that extends the baseline and leaves a tool unset would run the
population's share as its own intensity: the "one average facilitator" the baseline no longer is.
So every tool key of a fixed scenario must be set by the file itself or by a fixed scenario it
extends, never by a population scenario or the defaults (which are Figure 7's shares too).
"""

import tomllib
from pathlib import Path

import pytest

from simulation import Scenario, available_scenarios
from simulation.tools import load_tools

TOOLS = tuple(tool.name for tool in load_tools())


def _own_tools(path: str) -> set[str]:
    """The tool keys the file at ``path`` sets itself (its ``[tools]`` table), not inherited."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    return set(data.get("tools", {}))


def inherited_from_population(scenario: Scenario) -> list[str]:
    """Tools of fixed ``scenario`` that no fixed file of its ``extends`` chain sets."""
    stated: set[str] = set()
    for path in reversed(scenario.chain):  # the file itself first, then what it extends
        if Scenario.load(path)["initiative.draw"] != "fixed":
            break  # a population scenario: its tools are shares, not this initiative's
        stated |= _own_tools(path)
    return [name for name in TOOLS if name not in stated]


FIXED = [n for n in available_scenarios() if Scenario.load(n)["initiative.draw"] == "fixed"]


def test_the_library_has_fixed_initiatives():
    assert len(FIXED) >= 9  # the case studies and archetypes; none is skipped by accident


@pytest.mark.parametrize("name", FIXED)
def test_a_fixed_scenario_sets_every_tool_itself(name):
    missing = inherited_from_population(Scenario.load(name))
    assert not missing, (
        f"{name} (initiative.draw = 'fixed') leaves {len(missing)} of {len(TOOLS)} tools to a "
        f"population scenario's shares: {', '.join(missing)}; set each in its [tools] (0 if the "
        "case does not mention it)"
    )


def test_the_check_finds_a_tool_left_to_the_population(tmp_path):
    (tmp_path / "case.toml").write_text(
        'extends = "baseline"\n[initiative]\ndraw = "fixed"\n[tools]\nsite_visits = 1.0\n'
    )
    (tmp_path / "child.toml").write_text(
        'extends = "case.toml"\n[tools]\n' + "".join(f"{t} = 0.0\n" for t in TOOLS[:3])
    )
    case = Scenario.load(tmp_path / "case.toml")
    assert inherited_from_population(case) == [t for t in TOOLS if t != "site_visits"]
    child = Scenario.load(tmp_path / "child.toml")
    assert inherited_from_population(child) == [t for t in TOOLS[3:] if t != "site_visits"]
    whole = tmp_path / "whole.toml"
    whole.write_text(
        'extends = "baseline"\n[initiative]\ndraw = "fixed"\n[tools]\n'
        + "".join(f"{t} = 0.0\n" for t in TOOLS)
    )
    assert inherited_from_population(Scenario.load(whole)) == []
