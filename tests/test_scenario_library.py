"""Every scenario in scenarios/ loads, documents itself and runs."""

import pytest

from simulation import PeerLearningModel, Scenario, available_scenarios

FAST = {
    "population.home_organisations": 4,
    "population.staff_per_organisation": 40,
    "population.countries": 2,
    "run.months": 12,
}


@pytest.mark.parametrize("name", available_scenarios())
def test_scenario_loads_documents_and_runs(name):
    scenario = Scenario.load(name)
    assert scenario.description
    assert "\n" not in scenario.description
    if name != "baseline":
        assert scenario.source, f"{name} names no report passage"
        assert any(part.endswith("baseline.toml") for part in scenario.chain)
    result = PeerLearningModel(scenario.with_overrides(FAST), rng=1).run()
    assert 0.0 <= result.summary["orgs_changed"] <= 1.0
    assert result.summary["months"] == 12


def test_the_library_orders_the_cases_as_the_report_does():
    def mean_practical(name):
        s = Scenario.load(name).with_overrides({"run.months": 36})
        return sum(PeerLearningModel(s, rng=seed).run().summary["practical_learning"]
                   for seed in range(6)) / 6

    hurried = mean_practical("malawi_hurried_review")
    structured = mean_practical("south_africa_structured_review")
    assert structured > hurried
    assert mean_practical("no_peer_learning") == 0.0


POPULATION = {"baseline", "no_peer_learning", "national_programme", "toolkit_broad_cop",
              "toolkit_canvass_topics", "toolkit_joint_activities", "toolkit_peer_contracts",
              "toolkit_reflection", "toolkit_report_backs"}


@pytest.mark.parametrize("name", [n for n in available_scenarios() if n != "only_convenes"])
def test_case_studies_are_one_initiative_and_the_rest_the_population(name):
    # The baseline is the population of initiatives (Figure 7's shares); the toolkit scenarios
    # add their practice to every initiative of it; a case study is the one initiative it was.
    # (only_convenes, Figure 14's fork, is decided in its own file.)
    expected = "population" if name in POPULATION else "fixed"
    assert Scenario.load(name)["initiative.draw"] == expected
