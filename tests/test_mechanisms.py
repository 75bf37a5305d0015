"""Verification of each submodel against closed forms and limiting cases (docs/ODD.md §7).

Stochastic checks use fixed seeds; each tolerance is a number of binomial standard errors of the
estimate, computed from the number of trials, plus, where the reference is a mean-field
recursion, the stated allowance for its bias.
"""

import math

import numpy as np
import pytest
from conftest import NO_TOOLS, SMALL
from scipy import sparse

from simulation import PeerLearningModel, Scenario
from simulation.mechanisms import contact, diffusion, turnover
from simulation.population import staff_network
from simulation.state import Month
from simulation.ties import record

Z = 4.0  # standard errors allowed: a false alarm about once in 16,000 checks


def quiet_model(peers=200, **overrides):
    """A model with no tools, so that only the mechanism under test acts."""
    scenario = Scenario.load("baseline").with_overrides(
        {
            **SMALL,
            **NO_TOOLS,
            "population.home_organisations": peers // 2,
            "population.peers_per_organisation": 2,
            "population.countries": 1,
            **overrides,
        }
    )
    return PeerLearningModel(scenario, rng=11)


def pair_ties(model, trust):
    """Tie disjoint pairs (0,1), (2,3), ... at the given trust; no shared contacts."""
    ties = model.state.ties
    i = np.arange(0, model.state.peers.n, 2)
    j = i + 1
    for a, b in zip(i, j, strict=True):
        ties.connect(int(a), int(b), trust)
    return i, j


def test_trust_under_constant_positive_contact_follows_closed_form():
    alpha, t0 = 0.1, 0.2
    model = quiet_model(**{"contact.positive_experience": 1.0, "contact.tie_hazard": 0.0})
    i, j = pair_ties(model, t0)
    for n in range(1, 25):
        model.state.month = Month.empty(model.state.ties)
        _, _, slots = model.state.ties.live()
        record(model.state.ties.arrays, slots, alpha, np.zeros(4))
        contact.update_trust(model.state, model.params, model.rng)
        expected = 1 - (1 - t0) * (1 - alpha) ** n
        np.testing.assert_allclose(model.state.ties.trust[i, j], expected, rtol=1e-12)


def test_trust_without_contact_decays_geometrically():
    delta, t0 = 0.03, 0.8
    model = quiet_model(**{"contact.trust_decay": delta, "contact.tie_hazard": 0.0})
    i, j = pair_ties(model, t0)
    for n in range(1, 25):
        model.state.month = Month.empty(model.state.ties)
        contact.update_trust(model.state, model.params, model.rng)
        np.testing.assert_allclose(model.state.ties.trust[i, j], t0 * (1 - delta) ** n, rtol=1e-12)


def test_tie_survival_without_contact_matches_binomial():
    h0, trust, months = 0.2, 0.2, 12
    expected = (1 - h0 * (1 - trust)) ** months  # 0.123 (Burt 2002: nine in ten bridges gone)
    survived, total = 0, 0
    for seed in range(10):
        model = quiet_model(**{"contact.trust_decay": 0.0, "contact.tie_hazard": h0})
        model.rng = np.random.default_rng(seed)
        i, j = pair_ties(model, trust)
        for _ in range(months):
            model.state.month = Month.empty(model.state.ties)
            contact.update_trust(model.state, model.params, model.rng)
        survived += model.state.ties.alive[i, j].sum()
        total += len(i)
    se = math.sqrt(expected * (1 - expected) / total)
    assert abs(survived / total - expected) < Z * se


def test_survival_in_post_follows_one_minus_tau_to_the_t():
    tau, months = 0.3, 24
    remaining, total = 0, 0
    for seed in range(5):
        scenario = quiet_model(**{"levers.turnover": tau, "run.months": months}).hourglass_scenario
        model = PeerLearningModel(scenario, rng=seed)
        first = model.state.peers.person.copy()
        model.run()
        remaining += (model.state.peers.person == first).sum()
        total += len(first)
    expected = (1 - tau) ** (months / 12)
    se = math.sqrt(expected * (1 - expected) / total)
    assert abs(remaining / total - expected) < Z * se


def test_monthly_turnover_keeps_annual_survival():
    assert (1 - turnover.monthly(0.15)) ** 12 == pytest.approx(0.85, rel=1e-12)
    assert turnover.monthly(0.0) == 0.0


def simple_contagion_on_complete_graph(n, beta, seeds, start, months):
    """Run the staff-diffusion submodel on one complete graph; return adopters per month."""
    model = quiet_model(
        peers=2,
        **{
            "population.staff_per_organisation": n,
            "population.home_organisations": 1,
            "home_organisations.staff_degree": 2,
            "home_organisations.staff_turnover": 0.0,
            "diffusion.contagion": ["simple"] * 4,
            "diffusion.adoption_rate": beta,
        },
    )
    staff = model.state.staff
    staff.adjacency = sparse.csr_array(
        np.ones((n, n), dtype=np.float32) - np.eye(n, dtype=np.float32)
    )
    staff.is_peer[:] = False
    model.state.orgs.openness[:] = 1.0
    runs = np.zeros((len(seeds), months + 1))
    for r, seed in enumerate(seeds):
        staff.adopted[:] = False
        staff.adopted[:start, 0] = True
        staff.recount()  # adopted was edited by hand
        rng = np.random.default_rng(seed)
        runs[r, 0] = start
        for t in range(1, months + 1):
            diffusion.spread(model.state, model.params, rng)
            runs[r, t] = staff.adopted[:, 0].sum()
    return runs


def test_simple_contagion_on_complete_graph_tracks_its_recursion():
    n, beta, start, months = 100, 0.01, 2, 20
    runs = simple_contagion_on_complete_graph(n, beta, range(300), start, months)
    recursion = [float(start)]
    for _ in range(months):
        i = recursion[-1]
        recursion.append(i + (n - i) * (1 - (1 - beta) ** i))
    mean = runs.mean(axis=0)
    se = runs.std(axis=0, ddof=1) / math.sqrt(len(runs))
    # Mean-field recursions are not the exact expectation (Jensen): allow 5% of N on top.
    assert np.all(np.abs(mean - recursion) < Z * se + 0.05 * n)
    assert mean[-1] > 0.9 * n  # the logistic saturates


def test_staff_network_is_watts_strogatz_shaped():
    rng = np.random.default_rng(3)
    adjacency = staff_network(n_orgs=5, size=200, degree=6, rewiring=0.1, rng=rng)
    degree = adjacency.sum(axis=1)
    assert adjacency.shape == (1000, 1000)
    assert (adjacency != adjacency.T).nnz == 0
    assert adjacency.diagonal().sum() == 0
    assert abs(degree.mean() - 6) < 0.05
    rows, cols = adjacency.nonzero()
    assert np.all(rows // 200 == cols // 200)  # no tie crosses organisations


def test_no_ties_when_no_tool_is_used(small):
    model = PeerLearningModel(small.with_overrides(NO_TOOLS), rng=4)
    result = model.run()
    assert (result.timeseries["ties_alive"] == 0).all()
    assert not model.state.peers.exposure.any()
    assert not model.state.peers.learning.any()
    assert result.summary["engaged"] == 0.0


def test_codified_knowledge_alone_never_makes_practical_learning(small):
    knowledge_only = {
        **NO_TOOLS,
        "tools.external_knowledge_products": 1.0,
        "tools.training_sessions": 0.0,
        "tools.common_assessment_products": 1.0,
    }
    model = PeerLearningModel(small.with_overrides(knowledge_only), rng=4)
    result = model.run()
    peers = model.state.peers
    assert peers.exposure[:, 0].max() > 0  # it reached them...
    assert peers.exposure.max() <= small["transfer.broadcast_ceiling"]
    assert peers.learning[:, 2:].max() == 0.0  # ...but tacit lessons need peers
    assert result.summary["practical_learning"] == 0.0


def test_no_reflection_means_no_practical_learning(lively):
    model = PeerLearningModel(
        lively.with_overrides(
            {
                "reflection.base_rate": 0.0,
                "tools.multi_peer_reflection": 0.0,
                "tools.single_peer_reflection": 0.0,
                "tools.multi_peer_self_assessment": 0.0,
                "tools.single_peer_self_assessment": 0.0,
            }
        ),
        rng=2,
    )
    model.run()
    assert model.state.peers.exposure.max() > 0
    assert model.state.peers.learning.max() == 0.0


def test_discontinuance_is_geometric_and_spares_institutionalised_change():
    d, months = 0.1, 10
    model = quiet_model(peers=2, **{"population.home_organisations": 2,
                                    "population.peers_per_organisation": 1,
                                    "population.staff_per_organisation": 2000,
                                    "diffusion.discontinuance": d})
    staff, orgs = model.state.staff, model.state.orgs
    staff.adopted[~staff.is_peer, 0] = True
    staff.recount()  # adopted was edited by hand
    orgs.changed[1, 0] = True  # the second organisation has institutionalised it
    for _ in range(months):
        diffusion.discontinue(model.state, model.params, model.rng)
    first = (staff.org == 0) & ~staff.is_peer
    kept = staff.adopted[first, 0].mean()
    expected = (1 - d) ** months
    se = math.sqrt(expected * (1 - expected) / first.sum())
    assert abs(kept - expected) < Z * se
    assert staff.adopted[(staff.org == 1) & ~staff.is_peer, 0].all()
    assert np.array_equal(staff.adopters, np.flatnonzero(staff.adopted.any(axis=1)))
