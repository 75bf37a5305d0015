"""Shared fixtures: small scenarios that run in milliseconds."""

import signal

import pytest

from simulation import Scenario

# A suite started in the background (``nohup make test &``) inherits SIGINT ignored, and so would
# the commands the Ctrl-C tests start: an ignored SIGINT is passed on through exec, a handled one
# is not. Handling it here lets those children get Ctrl-C as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The summary keys the issue and the README promise.
DOCUMENTED_OUTPUTS = ("engaged", "sustained_contacts", "practical_learning", "applied",
                      "orgs_changed", "staff_reached", "reported_attendance")
SMALL = {
    "population.home_organisations": 6,
    "population.peers_per_organisation": 4,
    "population.staff_per_organisation": 60,
    "population.countries": 2,
    "run.months": 36,
}
# Tools that sustain contact and reflection: the intervention the report recommends.
SUSTAINING = {
    "tools.joint_peer_activities": 1.0,
    "tools.multi_peer_reflection": 0.8,
    "tools.paired_engagements": 0.5,
}
NO_TOOLS = {f"tools.{name}": 0.0 for name in Scenario.load("baseline").to_dict()["tools"]}


@pytest.fixture
def small():
    """A small baseline: 24 peers in 6 organisations of 60 staff, 36 months."""
    return Scenario.load("baseline").with_overrides(SMALL)


@pytest.fixture
def lively(small):
    """A small scenario in which organisations do change at scale, for invariants to bite on."""
    return small.with_overrides(
        {
            **SUSTAINING,
            "levers.share_forward": 0.9,
            "levers.home_openness": 0.9,
            "levers.turnover": 0.0,
            "run.months": 48,
            # Only peer learning changes organisations here, so the zero-lever tests can bite.
            "home_organisations.background_adoption": 0.0,
        }
    )
