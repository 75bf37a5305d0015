"""Docking the staff-diffusion submodel against published threshold models (docs/ODD.md §7.6).

``simulation.cascade`` runs the model's own monthly contagion step (``contagion_step``) on any
graph with any thresholds and seeds. With chance 1 at the threshold and 0 below it the step is
deterministic given the graph, so the stochastic checks vary the graph (Watts-Strogatz
rewiring) and the seed node over R replicates with fixed seeds, and allow Z = 4 standard errors
of the replicate mean (a false alarm about once in 16,000 checks).
"""

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from simulation import HourglassError, PeerLearningModel, Scenario, cascade, load_tools
from simulation.mechanisms import diffusion

Z = 4.0


def complete_graph(n):
    return np.ones((n, n)) - np.eye(n)


# Granovetter, M. 1978, Threshold models of collective behavior, AJS 83(6):1420-1443.


def test_granovetter_uniform_thresholds_all_join_one_at_a_time():
    result = cascade(complete_graph(100), np.arange(100), seeds=[], rng=0)
    assert result.adopted.all()
    # The instigator (threshold 0) alone, then the one of threshold 1, and so on: one a step.
    assert result.curve.tolist() == [*range(101), 100]


def test_granovetter_raising_one_threshold_from_1_to_2_stops_the_riot_at_one():
    thresholds = np.arange(100)
    thresholds[1] = 2
    result = cascade(complete_graph(100), thresholds, seeds=[], rng=0)
    assert result.adopted.sum() == 1
    assert result.adopted[0]


def test_granovetter_in_shares_of_the_others_is_the_same_riot():
    shares = np.arange(100) / 99  # threshold k of the 99 others
    assert cascade(complete_graph(100), shares, [], rng=0, unit="share").adopted.all()
    shares[1] = 2 / 99
    assert cascade(complete_graph(100), shares, [], rng=0, unit="share").adopted.sum() == 1


@pytest.mark.parametrize("spread", [5.0, 10.0, 12.0, 15.0, 20.0])
def test_granovetter_equilibrium_is_the_first_fixed_point_of_the_threshold_cdf(spread):
    # Normal thresholds of mean 25 in a crowd of 100 (Granovetter's worked example), drawn by
    # the model's own distribution: on a complete graph the synchronous cascade must stop
    # exactly at the first fixed point of r -> #{i: theta_i <= r}.
    rng = np.random.default_rng(1978)
    for _ in range(20):
        theta = diffusion.draw_thresholds(100, 25.0, spread, "normal", "neighbours", rng)
        r = 0
        while (joined := int((theta <= r).sum())) > r:
            r = joined
        assert cascade(complete_graph(100), theta, [], rng=0).adopted.sum() == r


# Centola, D. & Macy, M. 2007, Complex contagions and the weakness of long ties,
# AJS 113(3):702-734. A ring lattice of N = 1,000 nodes, each tied to its 2 nearest neighbours
# on each side (z = 4), rewired by Watts & Strogatz's rule with probability p; the seeds are a
# node drawn at random and its neighbours; R = 20 replicates per p, each with its own graph and
# seed node (generator seeds 100..119).
N, K, R = 1000, 4, 20
REWIRING = [0.0, 0.01, 0.1, 1.0]


def ring_runs(threshold, p):
    """(share reached, steps to reach everyone or nan) for each of the R replicates."""
    reached, steps = [], []
    for replicate in range(R):
        rng = np.random.default_rng(100 + replicate)
        graph = nx.watts_strogatz_graph(N, K, p, seed=int(rng.integers(2**31)))
        focal = int(rng.integers(N))
        result = cascade(graph, threshold, [focal, *graph.neighbors(focal)], rng)
        reached.append(result.adopted.mean())
        # The last step added no one: the one before it reached everyone.
        steps.append(len(result.curve) - 2 if result.adopted.all() else math.nan)
    return np.array(reached), np.array(steps)


def mean_and_se(values):
    return values.mean(), values.std(ddof=1) / math.sqrt(len(values))


@pytest.fixture(scope="module")
def complex_runs():
    return {p: ring_runs(2, p) for p in REWIRING}


@pytest.fixture(scope="module")
def simple_runs():
    return {p: ring_runs(1, p) for p in REWIRING}


def test_centola_macy_complex_contagion_saturates_the_clustered_lattice(complex_runs):
    reached, steps = complex_runs[0.0]
    assert (reached == 1.0).all()
    # Two fronts, each one node a step, and the last gap of three closes at once.
    assert (steps == (N - (K + 1)) // 2).all()


@pytest.mark.parametrize("p", [0.01, 0.1, 1.0])
def test_centola_macy_long_ties_stop_complex_contagion(complex_runs, p):
    reached, _ = complex_runs[p]
    mean, se = mean_and_se(reached)
    assert not (reached == 1.0).any()
    assert mean + Z * se < 0.5  # it dies out short of half the population


def test_centola_macy_simple_contagion_saturates_at_every_rewiring(simple_runs):
    for p in REWIRING:
        reached, _ = simple_runs[p]
        assert (reached == 1.0).all(), p


def test_centola_macy_long_ties_speed_simple_contagion(simple_runs):
    _, lattice = simple_runs[0.0]
    assert (lattice == math.ceil((N - (K + 1)) / K)).all()  # two fronts, each two nodes a step
    means = [mean_and_se(simple_runs[p][1]) for p in REWIRING]
    for (slow, se_slow), (fast, se_fast) in itertools.pairwise(means):
        assert slow - fast > Z * math.hypot(se_slow, se_fast)


def test_eckles_noise_below_the_threshold_makes_long_ties_speed_complex_contagion():
    # Eckles, Mossel, Rahimian & Sen 2024, Long ties accelerate noisy threshold-based
    # contagions, Nature Human Behaviour: with a small chance of adopting below the threshold
    # (here the model's default epsilon = 0.01 a step, with one adopted neighbour), rewiring
    # speeds complex contagion up. Same lattice, seeds and replicates as above, 600 steps each.
    means = []
    for p in (0.0, 0.1, 1.0):
        steps = []
        for replicate in range(R):
            rng = np.random.default_rng(100 + replicate)
            graph = nx.watts_strogatz_graph(N, K, p, seed=int(rng.integers(2**31)))
            focal = int(rng.integers(N))
            seeds = [focal, *graph.neighbors(focal)]
            result = cascade(graph, 2, seeds, rng, below_threshold=0.01, steps=600)
            assert result.curve[-1] == N
            steps.append(np.argmax(result.curve == N))
        means.append(mean_and_se(np.array(steps, dtype=float)))
    for (slow, se_slow), (fast, se_fast) in itertools.pairwise(means):
        assert slow - fast > Z * math.hypot(se_slow, se_fast)


def test_simple_contagion_is_threshold_one_when_adoption_is_certain():
    graph = nx.watts_strogatz_graph(300, 4, 0.1, seed=5)
    simple = cascade(graph, 7, [0, 1], rng=1, contagion="simple")
    threshold_one = cascade(graph, 1, [0, 1], rng=1)
    assert simple.curve.tolist() == threshold_one.curve.tolist()


# The thresholds' distribution in the model.


def test_default_thresholds_draw_nothing_and_are_the_complex_threshold():
    model = PeerLearningModel(Scenario.load("baseline"), rng=3)
    staff = model.state.staff
    assert (staff.threshold == 2.0).all()
    assert len(staff.spontaneous) == 0
    p = model.params
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    diffusion.colleague_thresholds(p, np.full(10, 6), rng)
    assert rng.bit_generator.state == before


def test_normal_whole_number_thresholds_have_the_rounded_truncated_mean():
    n, centre, spread = 20_000, 2.0, 1.5
    rng = np.random.default_rng(7)
    theta = diffusion.draw_thresholds(n, centre, spread, "normal", "neighbours", rng)
    assert (theta == np.round(theta)).all()
    assert theta.min() == 0
    values = np.arange(0, 20)
    # P(round(X) = v) for v >= 1, and everything below 1/2 goes to 0.
    cdf = stats.norm.cdf(values + 0.5, centre, spread)
    probability = np.diff(np.concatenate([[0.0], cdf]))
    expected = (values * probability).sum()
    assert abs(theta.mean() - expected) < Z * theta.std(ddof=1) / math.sqrt(n)
    zero_share = stats.norm.cdf(0.5, centre, spread)
    assert abs((theta == 0).mean() - zero_share) < Z * math.sqrt(zero_share * (1 - zero_share) / n)


def test_uniform_whole_number_thresholds_are_equally_likely():
    n = 20_000
    rng = np.random.default_rng(8)
    theta = diffusion.draw_thresholds(n, 3.0, 2.0, "uniform", "neighbours", rng)
    counts = np.bincount(theta.astype(int), minlength=6)
    assert counts[0] == 0
    assert counts.sum() == n
    assert stats.chisquare(counts[1:6]).pvalue > 1e-4  # 1, 2, 3, 4, 5 equally likely


def test_share_thresholds_count_the_colleagues_neighbours():
    needed = diffusion.needed_neighbours(
        np.array([0.0, 0.25, 0.25, 0.1, 0.5]), np.array([8, 8, 6, 4, 0]), "share"
    )
    assert needed.tolist() == [0.0, 2.0, 2.0, 1.0, 1.0]


def test_spontaneous_adopters_adopt_complex_lessons_without_anyone_sharing():
    scenario = Scenario.load("baseline").with_overrides(
        {
            **{f"tools.{tool.name}": 0.0 for tool in load_tools()},
            "home_organisations.background_adoption": 0.0,
            "diffusion.threshold_spread": 1.5,
            "run.months": 24,
        }
    )
    model = PeerLearningModel(scenario, rng=11)
    staff = model.state.staff
    assert len(staff.spontaneous) > 0
    model.run()
    adopted = staff.adopted
    assert adopted[:, 1:].any()  # the complex types arise from the spontaneous adopters
    assert not adopted[:, 0].any()  # simple contagion has no threshold: nothing to spread
    assert not adopted[staff.is_peer].any()
    # Without zero thresholds nobody adopts: the spread 0 default is today's model.
    quiet = PeerLearningModel(scenario.with_overrides({"diffusion.threshold_spread": 0.0}), rng=11)
    quiet.run()
    assert not quiet.state.staff.adopted.any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit": "percent"}, "unit must be"),
        ({"contagion": "viral"}, "contagion must be"),
        ({"adoption_rate": 1.5}, "adoption_rate must be in"),
        ({"seeds": [100]}, "seeds must be nodes 0..99"),
        ({"thresholds": -1}, "thresholds must be numbers >= 0"),
        ({"graph": np.ones((3, 4))}, "graph must be square"),
    ],
)
def test_cascade_refuses_bad_arguments_in_one_line(kwargs, message):
    arguments = {"graph": complete_graph(100), "thresholds": 1, "seeds": [0], "rng": 0}
    with pytest.raises(HourglassError, match=message):
        cascade(**{**arguments, **kwargs})


def test_a_fractional_threshold_in_neighbours_is_reached_at_the_next_whole_number():
    graph = nx.watts_strogatz_graph(200, 6, 0.0, seed=1)
    half = cascade(graph, 1.5, [0, 1], rng=2)
    two = cascade(graph, 2, [0, 1], rng=2)
    assert half.curve.tolist() == two.curve.tolist()
    assert half.adopted.all()
