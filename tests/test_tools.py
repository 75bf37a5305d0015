"""The tool table against the report's Table 2, and the grouped effect multipliers."""

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL

from simulation import PeerLearningModel, Scenario, load_tools
from simulation.tools import ToolArrays

# report-facts.md's Table 2 listing, word for word (the digest of the report beside the project,
# ../shared/reference/report-facts.md; checked against the file when it is there).
TABLE2 = (
    "Foundational: large and small group meetings (interaction); common assessment, external "
    "and peer-produced knowledge products, training (knowledge); expert group peer review, "
    "single- and multi-peer self-assessment (sharing); single- and multi-peer reflection "
    "(reflection). Sustained: paired engagements, online networking, virtual and "
    "telecommunication engagement (interaction); peer-produced knowledge products, site visits, "
    "joint peer activities (knowledge); community publications, site visits, joint peer "
    "activities (sharing); single- and multi-peer reflection (reflection)."
)
REPORT_FACTS = Path(__file__).resolve().parents[2] / "shared/reference/report-facts.md"
# The report's words for each tool of tools.toml (one tool may go by several).
WORDS = {
    "large group meetings": "large_group_meetings",
    "small group meetings": "small_group_meetings",
    "common assessment": "common_assessment_products",
    "external knowledge products": "external_knowledge_products",
    "peer-produced knowledge products": "peer_knowledge_products",
    "training": "training_sessions",
    "expert group peer review": "expert_group_review",
    "single-peer self-assessment": "single_peer_self_assessment",
    "multi-peer self-assessment": "multi_peer_self_assessment",
    "single-peer reflection": "single_peer_reflection",
    "multi-peer reflection": "multi_peer_reflection",
    "paired engagements": "paired_engagements",
    "online networking": "online_networking",
    "virtual engagement": "online_networking",
    "telecommunication engagement": "online_networking",
    "site visits": "site_visits",
    "joint peer activities": "joint_peer_activities",
    "community publications": "community_publications",
}


def _expand(item):
    """'large and small group meetings' -> both; 'single- and multi-peer x' -> both."""
    item = item.strip()
    shared = re.fullmatch(r"(\w+)- and (\w+)-(.+)", item)
    if shared:
        return [f"{shared[1]}-{shared[3]}", f"{shared[2]}-{shared[3]}"]
    pair = re.fullmatch(r"(\w+) and (\w+) (.+)", item)
    if pair and f"{pair[1]} {pair[3]}" in WORDS:
        return [f"{pair[1]} {pair[3]}", f"{pair[2]} {pair[3]}"]
    if item == "external and peer-produced knowledge products":
        return ["external knowledge products", "peer-produced knowledge products"]
    if item == "virtual and telecommunication engagement":
        return ["virtual engagement", "telecommunication engagement"]
    return [item]


def _cells(listing):
    """{tool: {(part, function)}} read from the listing."""
    cells = {}
    for part, text in re.findall(r"(Foundational|Sustained): (.*?)(?=Sustained:|$)", listing):
        for items, function in re.findall(r"([^;()]+?) \((\w+)\)", text):
            for item in items.split(","):
                for word in _expand(item.lstrip(" ;.")):
                    cells.setdefault(WORDS[word], set()).add((part.lower(), function))
    return cells


def test_the_listing_is_report_facts_word_for_word():
    if not REPORT_FACTS.is_file():
        pytest.skip("the reference digest is not beside this checkout")
    text = " ".join(REPORT_FACTS.read_text().split())
    assert TABLE2 in text


def test_every_tool_sits_in_the_cells_table2_gives_it():
    expected = _cells(TABLE2)
    table = {t.name: set(t.cells) for t in load_tools()}
    assert table == expected
    two = sorted(name for name, cells in table.items() if len(cells) == 2)
    assert two == ["joint_peer_activities", "multi_peer_reflection", "peer_knowledge_products",
                   "single_peer_reflection", "site_visits"]


def test_multipliers_scale_only_their_part_and_cap_chances():
    table = load_tools()
    arrays = ToolArrays.from_table(table)
    ones = {f"{p}_{e}": 1.0 for p in ("foundational", "sustained")
            for e in ("ties", "transfer", "broadcast", "reflection")}
    assert arrays.scaled(table, ones) is arrays
    scaled = arrays.scaled(table, {**ones, "sustained_transfer": 2.0, "foundational_ties": 0.5})
    sustained = np.array([t.process_part == "sustained" for t in table])
    assert np.array_equal(scaled.transfer[~sustained], arrays.transfer[~sustained])
    assert np.array_equal(scaled.transfer[sustained],
                          np.minimum(2 * arrays.transfer[sustained], 1.0))
    assert scaled.transfer.max() == 1.0
    assert np.array_equal(scaled.tie_formation[~sustained], arrays.tie_formation[~sustained] / 2)
    assert np.array_equal(scaled.tie_formation[sustained], arrays.tie_formation[sustained])


def test_without_tie_formation_a_sustaining_initiative_forms_no_ties():
    tools = {f"tools.{t.name}": 0.0 for t in load_tools()}
    scenario = Scenario.load("baseline").with_overrides({
        **SMALL, **tools, "tools.joint_peer_activities": 1.0, "tools.paired_engagements": 1.0,
        "initiative.draw": "fixed", "run.months": 12,
    })
    assert PeerLearningModel(scenario, rng=1).run().summary["ties_alive"] > 0
    off = scenario.with_overrides({"tool_effects.sustained_ties": 0.0})
    assert PeerLearningModel(off, rng=1).run().timeseries["ties_alive"].max() == 0


def test_table2s_function_sets_what_each_tool_does():
    """Table 2's function acts through the effects the tool table gives each tool.

    Reflection, application and diffusion: only its tools carry the reflection rate that turns
    exposure into practical learning (the self-assessments, sharing tools, a twentieth of it).
    Interaction facilitation: its tools make ties (by encounters or contact) and broadcast little.
    Knowledge generation and sharing: their tools move knowledge, codified or peer to peer.
    """
    tools = load_tools()
    reflective = {t.name for t in tools if t.function == "reflection"}
    assert reflective == {t.name for t in tools if t.reflection >= 0.3}
    for t in tools:
        if t.function != "reflection":
            assert t.reflection <= 0.05, t.name
        if t.function == "interaction":
            assert t.tie_formation > 0 or t.contact > 0, t.name
            assert sum(t.broadcast) <= 0.2, t.name
        if t.function in ("knowledge", "sharing"):
            assert sum(t.broadcast) + sum(t.transfer) > 0, t.name
