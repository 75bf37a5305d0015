"""The hourglass as a chain of causes (issue 14 §1): mechanisms gate, stages only observe.

A witness recomputes, from the ties and the tools each official took part in (never from the
model's own stage records), what each official has been through, and checks every month that
nobody learned practically without a path to it and nobody shared without practical learning.
"""

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import NO_TOOLS, SMALL, SUSTAINING
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation import PeerLearningModel, Scenario, stages
from simulation.mechanisms import diffusion, reflection
from simulation.stages import carried_lessons, foundational_gatherings, is_foundational
from simulation.tools import load_tools


class Witness:
    """Month observer: what each official in post has been through, from ties and tool records.

    Checks, at the end of every month, that an official who carries a practical lesson has held
    a tie at least ``observation.sustained_months`` old, or (when the reflection path is open)
    took part in a reflection tool; and that an official whose own node holds an adopted lesson
    (it shared at home) has carried a practical lesson.
    """

    def __init__(self, model):
        self.model = model
        n = model.state.peers.n
        self.person = model.state.peers.person.copy()
        self.sustained = np.zeros(n, dtype=bool)
        self.reflected = np.zeros(n, dtype=bool)
        self.carried = np.zeros(n, dtype=bool)
        self.shared = np.zeros(n, dtype=bool)
        self.reflection_bits = sum(
            1 << g for g, tool in enumerate(model.tool_table) if tool.reflection > 0
        )
        self.unengaged = []
        self.months = model.scenario["observation.sustained_months"]
        self.threshold = model.scenario["reflection.carry_threshold"]
        self.path_open = model.scenario["reflection.without_sustained_contact"] > 0
        model.month_observers.append(self.observe)

    def observe(self, record):
        state = self.model.state
        peers = state.peers
        new = record.person != self.person
        for column in (self.sustained, self.reflected, self.carried, self.shared):
            column[new] = False
        self.person = record.person.copy()
        i, j, slots = state.ties.live()
        old = state.ties.arrays.age[slots] >= self.months
        self.sustained[i[old]] = True
        self.sustained[j[old]] = True
        self.reflected |= (record.tools & self.reflection_bits) != 0
        carries = (peers.learning >= self.threshold).any(axis=1)
        self.carried |= carries
        self.shared |= state.staff.adopted[peers.staff_node].any(axis=1)
        path = self.sustained | (self.reflected if self.path_open else False)
        assert not (carries & ~path).any(), "practical learning without its path"
        assert not (self.shared & ~self.carried).any(), "shared without practical learning"
        # The observer's stages agree with the witness.
        assert np.array_equal(peers.practical, self.carried)
        assert np.array_equal(peers.applied, self.shared)
        assert np.array_equal(peers.sustained, self.sustained)
        # Stage 2 without stage 1: officials with a sustained contact in organisations not
        # engaged (stage 1's own recomputation is tested below).
        self.unengaged.append(np.mean(self.sustained & ~state.orgs.engaged[peers.org]))


def _small(name, **overrides):
    return Scenario.load(name).with_overrides({**SMALL, **overrides}, where="test")


SCENARIOS = {
    "baseline": _small("baseline"),
    "sustaining": _small("baseline", **SUSTAINING),
    "lively": _small("baseline", **SUSTAINING, **{
        "reflection.carry_threshold": 0.2, "levers.share_forward": 0.9,
        "diffusion.sharing_occasions": 1.0}),
    "path_closed": _small("baseline", **SUSTAINING, **{
        "reflection.without_sustained_contact": 0.0, "reflection.carry_threshold": 0.2}),
    "reflection_tools": _small("baseline", **{
        "tools.multi_peer_reflection": 1.0, "tools.single_peer_reflection": 1.0,
        "reflection.without_sustained_contact": 1.0, "reflection.carry_threshold": 0.2,
        "diffusion.sharing_occasions": 1.0}),
    "only_convenes": _small("only_convenes"),
}


@settings(max_examples=30, deadline=None, derandomize=True)
@given(name=st.sampled_from(sorted(SCENARIOS)), seed=st.integers(0, 2**31 - 1))
def test_no_practical_learning_without_its_path_and_no_applier_without_it(name, seed):
    model = PeerLearningModel(SCENARIOS[name], rng=seed)
    witness = Witness(model)
    result = model.run()
    series = result.timeseries
    assert (series["applied"] <= series["practical_learning"]).all()
    assert np.allclose(series["applied_via_contacts"] + series["applied_via_reflection"],
                       series["applied"])
    np.testing.assert_allclose(series["sustained_unengaged"], witness.unengaged)


def test_the_witness_has_something_to_check():
    """On a run where officials learn and share, the witness's checks are not vacuous."""
    model = PeerLearningModel(SCENARIOS["lively"], rng=3)
    witness = Witness(model)
    model.run()
    assert witness.shared.any()
    assert witness.carried.any()
    assert witness.sustained.any()


@pytest.mark.parametrize("plant", ["learning", "sharing"])
def test_the_witness_fails_on_a_planted_violation(plant):
    """A lesson carried without a path, or shared without being carried, is caught."""
    model = PeerLearningModel(SCENARIOS["baseline"], rng=1)
    witness = Witness(model)
    records = []
    model.month_observers.append(records.append)
    model.step()
    peers = model.state.peers
    i = int(np.flatnonzero(~witness.sustained & ~witness.reflected & ~witness.carried)[0])
    if plant == "learning":
        peers.learning[i, 0] = 1.0
        message = "practical learning without its path"
    else:
        model.state.staff.adopted[peers.staff_node[i], 0] = True
        message = "shared without practical learning"
    with pytest.raises(AssertionError, match=message):
        witness.observe(records[-1])


def test_stage_two_without_stage_one_is_measured():
    """Sustaining tools alone form sustained contacts in organisations never engaged."""
    scenario = _small("baseline", **{**NO_TOOLS, "tools.paired_engagements": 1.0,
                                     "initiative.draw": "fixed"})
    result = PeerLearningModel(scenario, rng=2).run()
    assert result.summary["engaged"] == 0.0
    assert result.summary["sustained_contacts"] > 0
    assert result.summary["sustained_unengaged"] == result.summary["sustained_contacts"]


# With no tie ever old enough to be a sustained contact, the only path is reflection tools.
NO_SUSTAINED = {
    **NO_TOOLS,
    "observation.sustained_months": 120,
    "tools.small_group_meetings": 1.0,
    "tools.multi_peer_reflection": 1.0,
    "tools.single_peer_reflection": 1.0,
    "reflection.carry_threshold": 0.2,
    "diffusion.sharing_occasions": 1.0,
}


@pytest.mark.parametrize("seed", range(3))
def test_closing_the_reflection_path_leaves_no_practical_learning_without_contacts(seed):
    open_path = PeerLearningModel(_small("baseline", **NO_SUSTAINED, **{
        "reflection.without_sustained_contact": 1.0}), rng=seed)
    result = open_path.run()
    peers = open_path.state.peers
    assert peers.exposure.max() >= 0.2  # there is something to reflect on
    assert result.summary["practical_learning"] > 0
    assert result.summary["sustained_contacts"] == 0
    assert result.summary["applied"] == result.summary["applied_via_reflection"] > 0
    assert not peers.learned_with_contacts.any()
    closed = PeerLearningModel(_small("baseline", **NO_SUSTAINED, **{
        "reflection.without_sustained_contact": 0.0}), rng=seed)
    result = closed.run()
    assert closed.state.peers.exposure.max() >= 0.2
    assert not closed.state.peers.learning.any()
    assert result.summary["practical_learning"] == 0
    assert (result.timeseries["applied"] == 0).all()


def _state(scenario, n=4, learning=0.0, exposure=0.5):
    """A hand-set month for ``n`` peers, in the real Peers tuple the compiled step takes.

    The fields reflection does not read keep a real run's arrays (and so its dtypes).
    """
    peers = PeerLearningModel(scenario, rng=0).state.peers._replace(
        willingness=np.ones(n), exposure=np.full((n, 4), exposure),
        learning=np.full((n, 4), learning), sustained_contact=np.zeros(n, dtype=bool),
        learned_with_contacts=np.zeros(n), learned_alone=np.zeros(n),
    )
    return SimpleNamespace(peers=peers, month=SimpleNamespace(reflection=np.zeros(n)))


def _params(base_rate=0.1, alone=0.5):
    return SimpleNamespace(reflection=SimpleNamespace(
        base_rate=base_rate, without_sustained_contact=alone, forgetting=0.0))


def test_reflection_needs_a_sustained_contact_or_a_reflection_tool(small):
    state = _state(small)
    state.peers.sustained_contact[0] = True  # peer 0: a sustained contact
    state.month.reflection[1] = 0.3  # peer 1: a reflection tool, no sustained contact
    state.month.reflection[2] = 0.3  # peer 2: both
    state.peers.sustained_contact[2] = True
    reflection.reflect(state, _params())
    learned = state.peers.learning[:, 0]
    assert learned == pytest.approx([0.1 * 0.5, 0.5 * 0.3 * 0.5, 0.4 * 0.5, 0.0])
    assert state.peers.learned_with_contacts == pytest.approx([0.2, 0, 0.8, 0])
    assert state.peers.learned_alone == pytest.approx([0, 0.3, 0, 0])


def test_nothing_to_share_without_practical_learning(small):
    model = PeerLearningModel(small.with_overrides({
        "diffusion.sharing_occasions": 1.0, "levers.share_forward": 1.0,
        "home_organisations.time_and_space": 1.0}), rng=0)
    state, p = model.state, model.params
    theta = p.reflection.carry_threshold
    state.peers.share_forward[:] = 1.0
    state.orgs.time_and_space[:] = 1.0
    state.peers.exposure[:] = 1.0
    state.peers.learning[:] = np.nextafter(theta, 0)  # just below: nothing practical
    diffusion.share_forward(state, p, 12, model.rng)
    assert not state.staff.adopted.any()
    assert not state.peers.shares.any()
    state.peers.learning[3, 1] = theta  # one practical lesson, of one type
    diffusion.share_forward(state, p, 12, model.rng)
    node = state.peers.staff_node[3]
    assert state.staff.adopted[node].tolist() == [False, True, False, False]
    assert state.staff.adopted.sum() == 1
    assert state.peers.shares.tolist() == [0, 0, 0, 1] + [0] * (state.peers.n - 4)
    assert carried_lessons(state.peers.learning, theta).sum() == 1


def test_foundational_gatherings_are_table_2s_foundational_tools_that_gather():
    table = load_tools()
    mask = foundational_gatherings(table)
    names = {tool.name for g, tool in enumerate(table) if mask >> g & 1}
    assert {"large_group_meetings", "small_group_meetings", "training_sessions"} <= names
    assert not names & {"external_knowledge_products", "joint_peer_activities",
                        "paired_engagements", "site_visits"}
    assert all(is_foundational(tool) and tool.gathers_peers
               for tool in table if tool.name in names)


def test_an_organisation_is_engaged_after_enough_foundational_group_gatherings():
    """Stage 1 recomputed by hand: uses of a foundational gathering with two organisations."""
    scenario = _small("baseline", **{**NO_TOOLS, "tools.large_group_meetings": 1.0,
                                     "tools.joint_peer_activities": 1.0,
                                     "observation.foundational_uses": 3})
    model = PeerLearningModel(scenario, rng=5)
    peers, orgs = model.state.peers, model.state.orgs
    large = next(g for g, t in enumerate(model.tool_table) if t.name == "large_group_meetings")
    counted = np.zeros(len(orgs.country), dtype=int)
    seen_engaged_below = False
    records = []
    model.month_observers.append(records.append)
    while model.steps < model.months:
        model.step()
        present = np.unique(peers.org[(records[-1].tools >> large & 1) == 1])
        if len(present) >= 2:
            counted[present] += 1
        assert np.array_equal(orgs.engaged, counted >= 3)
        seen_engaged_below |= bool((peers.engaged & ~orgs.engaged[peers.org]).any())
    assert orgs.engaged.any()
    assert seen_engaged_below  # attending once is not foundational engagement


def test_sustaining_tools_alone_engage_officials_but_no_peer_group():
    only_joint = _small("baseline", **{**NO_TOOLS, "tools.joint_peer_activities": 1.0})
    result = PeerLearningModel(only_joint, rng=1).run()
    assert result.summary["participants"] > 0.5
    assert result.summary["engaged"] == 0.0
    assert result.summary["countries_engaged"] == 0.0


def test_only_convenes_engages_groups_but_few_sustained_contacts_by_its_tools():
    """Figure 14's first fork, against the same scenario intending sustained contacts."""
    convenes = Scenario.load("only_convenes")
    intends = convenes.with_overrides({"facilitator.intends_sustained_contacts": True})
    sustained_only = [g for g, t in enumerate(load_tools()) if not is_foundational(t)]
    totals = {"convenes": np.zeros(4), "intends": np.zeros(4)}
    for seed in range(8):
        for arm, scenario in (("convenes", convenes), ("intends", intends)):
            model = PeerLearningModel(scenario, rng=seed)
            result = model.run()
            if arm == "convenes":
                assert not model.facilitator.calendar[:, sustained_only].any()
                assert (model.tools.group_size[model.tools.gathers] == 0).all()
            totals[arm] += [result.summary["engaged"], result.summary["sustained_contacts"],
                            result.summary["practical_learning"],
                            result.monthly["ties_alive"].max()]
    engaged, sustained, practical, ties = totals["convenes"] / 8
    assert engaged > 0.5  # the peer group is engaged ...
    assert ties > 0  # ... ties do form at its plenaries ...
    assert sustained < 0.5 * totals["intends"][1] / 8  # ... but few last
    assert practical <= totals["intends"][2] / 8


def test_a_gathering_of_one_organisation_is_not_a_peer_group():
    model = PeerLearningModel(_small("baseline", **{"observation.foundational_uses": 1}), rng=0)
    state = model.state
    large = next(g for g, t in enumerate(model.tool_table) if t.name == "large_group_meetings")
    q = stages.Settings.of(model.params)
    mask = foundational_gatherings(model.tool_table)
    per_country = np.bincount(state.orgs.country)
    took_part = state.month.tools
    took_part[:] = 0
    took_part[state.peers.org == 0] = 1 << large  # organisation 0 alone
    stages.observe(state, q, mask, per_country)
    assert not state.orgs.foundational.any()
    assert not state.orgs.engaged.any()
    took_part[state.peers.org == 1] = 1 << large  # now with organisation 1
    out = stages.observe(state, q, mask, per_country)
    assert state.orgs.foundational.tolist() == [1, 1, 0, 0, 0, 0]
    assert out[stages.STAGE_COLUMNS.index("engaged")] == pytest.approx(2 / 6)


def test_an_initiative_that_only_convenes_is_drawn_among_the_tools_it_can_run():
    """Figure 14's fork: every drawn initiative that only convenes has tools it runs (two)."""
    convenes = Scenario.load("only_convenes").with_overrides(SMALL, where="test")
    table = load_tools()
    for seed in range(40):
        summary = PeerLearningModel(convenes, rng=seed).run().summary
        used = [t for t in table if summary[f"initiative_{t.name}"] > 0]
        assert len(used) >= 2, seed
        assert all(is_foundational(t) for t in used), seed
