"""The calibration's epsilon: the seeds decide at most a stated share of acceptances (issue 15).

hourglass.calibration.noise_epsilon chooses each generation's epsilon from the particles the last
one judged; hourglass.abc_model.NoiseEpsilon is that rule as pyabc's epsilon, and stops the
calibration when it cannot shrink.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np
import pytest
from scipy.stats import norm

from hourglass.calibration import (
    QUICK,
    Settings,
    calibrate,
    flipped_share,
    noise_epsilon,
    noise_model,
    predicted_rejections,
    seeds_decide_share,
)
from hourglass.cli import main

CASES = [(7.0, 0.5, 0.37), (8.0, 0.5, 0.37), (7.5, 0.0, 0.4), (6.5, 1.0, 0.2), (9.0, 0.3, 0.75)]


@pytest.mark.parametrize(("epsilon", "signal", "seed"), CASES)
def test_the_shares_are_what_the_seeds_decide(epsilon, signal, seed):
    """Against simulation: expected distances normal about 7, two independent estimates each.
    The share of verdicts on the first estimate that differ from the verdict on the expected
    distance, and the share of the first's acceptances the second rejects. Tolerance: four
    binomial standard errors at the count each share is of."""
    rng = np.random.default_rng(20261202)
    n = 400_000
    mu = 7.0 + signal * rng.standard_normal(n)
    first = mu + seed * rng.standard_normal(n)
    fresh = mu + seed * rng.standard_normal(n)
    decided = float(np.mean((first <= epsilon) != (mu <= epsilon)))
    se = math.sqrt(decided * (1 - decided) / n)
    assert seeds_decide_share(epsilon, 7.0, signal, seed) == pytest.approx(decided,
                                                                          abs=4 * se + 1e-4)
    accepted = first <= epsilon
    rejected = float(np.mean(fresh[accepted] > epsilon))
    se = math.sqrt(rejected * (1 - rejected) / accepted.sum())
    predicted = predicted_rejections(epsilon, 7.0, signal, seed)
    assert predicted == pytest.approx(rejected, abs=4 * se + 1e-4)


def test_at_the_median_the_seeds_decide_what_identification_prices():
    for signal, seed in ((0.5, 0.37), (0.28, 0.75), (1.0, 0.1)):
        assert seeds_decide_share(7.0, 7.0, signal, seed) == pytest.approx(
            flipped_share(seed, signal), abs=1e-3)


def test_no_seed_noise_decides_nothing_and_no_signal_is_the_seeds_alone():
    assert seeds_decide_share(6.0, 7.0, 0.5, 0.0) == 0.0
    assert predicted_rejections(6.0, 7.0, 0.5, 0.0) == 0.0
    # Every particle alike at 7: a verdict at 7.4 is the seeds' for those their noise rejects.
    assert seeds_decide_share(7.4, 7.0, 0.0, 0.4) == pytest.approx(norm.sf(1.0))


def test_after_a_generation_the_particles_are_those_it_would_accept():
    """Over the next generation's particles (expected distances weighted by their chance of
    acceptance at the last epsilon), against simulation: particles kept by a first estimate
    at ``last``, then judged on a second at ``epsilon``."""
    rng = np.random.default_rng(7)
    n = 800_000
    mu = 7.0 + 0.8 * rng.standard_normal(n)
    kept = mu + 0.35 * rng.standard_normal(n) <= 8.0
    mu = mu[kept]
    first = mu + 0.35 * rng.standard_normal(len(mu))
    decided = float(np.mean((first <= 7.8) != (mu <= 7.8)))
    se = math.sqrt(decided * (1 - decided) / len(mu))
    assert seeds_decide_share(7.8, 7.0, 0.8, 0.35, last=8.0) == pytest.approx(
        decided, abs=4 * se + 1e-4)


MODEL = {"mean": 7.0, "signal_sd": 0.9, "seed_sd_at_cap": 0.35}


def test_the_epsilon_is_the_smallest_at_which_the_seeds_decide_at_most_the_share():
    epsilon, chosen = noise_epsilon(MODEL, 0.05)
    assert chosen["predicted_seeds_decide"] <= 0.05
    # A little smaller and the seeds would decide more (the grid's step is below 0.01 here).
    assert seeds_decide_share(epsilon - 0.02, 7.0, 0.9, 0.35) > 0.05
    assert epsilon >= chosen["median"]
    assert chosen["median"] == pytest.approx(7.0, abs=0.01)
    assert 0.5 < chosen["predicted_accepted"] < 1
    # A looser share allows a smaller epsilon; a share of 1 is the median itself.
    assert noise_epsilon(MODEL, 0.2)[0] < epsilon
    assert noise_epsilon(MODEL, 1.0)[0] == pytest.approx(7.0, abs=0.01)
    # After a generation at that epsilon the next may be smaller, never larger.
    following = noise_epsilon(MODEL, 0.05, last=epsilon)[0]
    assert following <= epsilon


def test_a_clear_signal_lets_the_epsilon_fall_to_the_median():
    """Particles far apart against their seed noise: the median decides little by chance."""
    epsilon, chosen = noise_epsilon({"mean": 7.0, "signal_sd": 5.0, "seed_sd_at_cap": 0.05},
                                    0.05)
    assert epsilon == pytest.approx(chosen["median"], abs=0.03)
    assert chosen["predicted_seeds_decide"] <= 0.05


def test_the_noise_model_is_the_prior_samples_moments_with_an_upper_signal():
    rng = np.random.default_rng(3)
    d = 7.0 + 0.5 * rng.standard_normal(200) + 0.75 * rng.standard_normal(200)
    sd, runs = np.full(200, 0.75), np.full(200, 48.0)
    model = noise_model(d, sd, runs, 192)
    assert model["mean"] == pytest.approx(float(np.mean(d)))
    assert model["signal_sd_point"] == pytest.approx(
        math.sqrt(max(np.var(d, ddof=1) - 0.75**2, 0)))
    assert model["signal_sd"] > model["signal_sd_point"]  # the bootstrap's upper end
    assert model["seed_sd_at_cap"] == pytest.approx(0.375)
    assert model["particles"] == 200
    assert noise_model(d, sd, runs, 192) == model  # seeded


class _Measured:
    """A TargetDistance stand-in: what the main process measured of the prior sample."""

    def __init__(self, rows):
        self.rows = rows
        self.measured = []

    def frame(self):
        import pandas as pd

        self.measured.extend(self.rows)
        return pd.DataFrame({"distance": [r[0] for r in self.rows], "w": 1.0})


def _prior_sample(n: int = 50):
    rng = np.random.default_rng(11)
    d = 7.0 + 0.8 * rng.standard_normal(n) + 0.7 * rng.standard_normal(n)
    return [(float(x), 0.7, 48.0) for x in d]


def test_the_epsilon_narrows_until_it_cannot_and_a_resume_reads_it_back(tmp_path):
    """From the prior sample's noise model: each generation's epsilon at most the last one's;
    once the next would not be 1 % smaller the generation is exhausted and the epsilon stays.
    Every choice is recorded; a resume takes the recorded epsilon and the model."""
    from hourglass.abc_model import NoiseEpsilon

    measured = _Measured(_prior_sample())
    record = tmp_path / "epsilons.jsonl"
    eps = NoiseEpsilon(measured, str(record), 0.05, 192)
    eps.initialize(0, measured.frame, None, 8, {})
    d = np.array([r[0] for r in measured.rows])
    assert eps.model == noise_model(d, np.full(len(d), 0.7), np.full(len(d), 48.0), 192)
    assert eps(0) == noise_epsilon(eps.model, 0.05)[0]
    t = 0
    while eps.exhausted is None:
        t += 1
        eps.update(t, None, None, 0.5, {})
        assert eps(t) <= eps(t - 1)
        assert t < 20
    assert eps(t) == eps(t - 1)
    # The schedule depends only on the noise model: it was known after generation 0.
    assert eps.expected_generations == t
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert [x["t"] for x in lines] == list(range(t + 1))
    assert [x["exhausted"] for x in lines] == [False] * t + [True]
    assert lines[0]["model"] == eps.model
    resumed = NoiseEpsilon(None, str(record), 0.05, 192)
    resumed.initialize(t, None, None, 8, {})
    assert (resumed.exhausted, resumed(t), resumed.model) == (t, eps(t), eps.model)
    assert resumed.expected_generations == t
    # A resume of a generation not chosen yet chooses it as the session would have.
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(record.read_text().splitlines()[:2]) + "\n")
    again = NoiseEpsilon(None, str(partial), 0.05, 192)
    again.initialize(2, None, None, 8, {})
    assert again(2) == eps(2)


def test_a_resume_without_the_record_is_refused(tmp_path):
    from hourglass.abc_model import NoiseEpsilon

    eps = NoiseEpsilon(None, str(tmp_path / "epsilons.jsonl"), 0.05, 192)
    with pytest.raises(RuntimeError, match="lacks the epsilons before generation 3"):
        eps.initialize(3, None, None, 8, {})


def test_a_calibration_stops_when_its_epsilon_cannot_shrink(tmp_path, monkeypatch):
    """A tiny calibration with the rule on: each epsilon is at or above its median and none
    grows; it stops on seed noise (or runs out of generations), and a resume with the same
    rule stays stopped."""
    from hourglass import calibration

    judge = calibration.ParticleModel.statistics

    def slow(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.4)  # generations long enough for the watcher's half-second look
        return judge(self, *args, **kwargs)

    monkeypatch.setattr(calibration.ParticleModel, "statistics", slow)
    settings = Settings(**{**QUICK.__dict__, "generations": 4, "replicates": 4,
                           "max_replicates": 8, "seeds_decide": 0.05})
    out = tmp_path / "cal"
    meta = calibrate(out, settings=settings, workers=1, progress=False)
    epsilons = [g["epsilon"] for g in meta["generations"]]
    assert epsilons == sorted(epsilons, reverse=True)
    chosen = meta["epsilon_rule"]["chosen"]
    assert {c["t"] for c in chosen} >= {g["t"] for g in meta["generations"]}
    for c in chosen:
        assert c["epsilon"] >= c["median"] - 1e-4
        assert c["predicted_seeds_decide"] <= 0.05 or c["exhausted"]
    assert "5%" in meta["epsilon_rule"]["rule"]
    if len(epsilons) < settings.generations:
        t = len(epsilons)
        assert meta["stopped_by"] == (
            f"seed noise (generation {t}'s epsilon could not be smaller than generation "
            f"{t - 1}'s with the seeds deciding at most 5% of verdicts)")
        monkeypatch.undo()
        again = calibrate(out, settings=settings, workers=1, progress=False)
        assert again["stopped_by"] == meta["stopped_by"]
        assert len(again["generations"]) == len(epsilons)
    else:
        assert meta["stopped_by"] == "generations"


@pytest.mark.parametrize(("option", "value", "allowed"), [("--seeds-decide", "0", "(0, 1]"),
                                                         ("--min-ess", "1.5", "[0, 1]")])
def test_the_options_are_checked_in_one_line(tmp_path, capsys, option, value, allowed):
    out = tmp_path / "cal"
    assert main(["calibrate", "--quick", option, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"hourglass: error: calibrate: {option} must be in {allowed}, "
                   f"got {float(value)!r}"]
    assert not out.exists()


def test_the_effective_sample_size_is_read_from_the_history(tmp_path):
    import sqlite3

    from hourglass.calibration import effective_size

    db = tmp_path / "history.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE populations (id INTEGER, t INTEGER)")
        con.execute("CREATE TABLE models (id INTEGER, population_id INTEGER)")
        con.execute("CREATE TABLE particles (id INTEGER, model_id INTEGER, w REAL)")
        con.executemany("INSERT INTO populations VALUES (?, ?)", [(1, 0), (2, 1)])
        con.executemany("INSERT INTO models VALUES (?, ?)", [(1, 1), (2, 2)])
        con.executemany("INSERT INTO particles VALUES (?, ?, ?)",
                        [(k, 1, 0.25) for k in range(4)] + [(4, 2, 0.7), (5, 2, 0.1),
                                                            (6, 2, 0.1), (7, 2, 0.1)])
    assert effective_size(db, 0) == pytest.approx(4.0)
    assert effective_size(db, 1) == pytest.approx(1.0 / (0.49 + 3 * 0.01))


def test_the_posterior_is_the_last_generation_with_enough_effective_particles(tmp_path):
    """Two generations on one process: with no bound on the weights the posterior is the last
    one; asking for 99 % of the population effective, generation 1's uneven importance weights
    rule it out and the posterior is generation 0, the prior's particles."""
    import pandas as pd

    from hourglass.calibration import effective_size

    loose = calibrate(tmp_path / "loose", settings=QUICK, workers=1, progress=False)
    assert loose["posterior_generation"] == 1
    strict = Settings(**{**QUICK.__dict__, "min_ess": 0.99})
    meta = calibrate(tmp_path / "strict", settings=strict, workers=1, progress=False)
    sizes = [g["effective_sample_size"] for g in meta["generations"]]
    assert sizes[0] == pytest.approx(QUICK.population)
    assert sizes[1] < 0.99 * QUICK.population
    assert sizes[1] == pytest.approx(effective_size(tmp_path / "strict" / "history.db", 1),
                                     abs=0.05)
    assert meta["posterior_generation"] == 0
    assert meta["seed_noise"]["epsilon"] == pytest.approx(meta["generations"][0]["epsilon"],
                                                          abs=1e-4)
    particles = pd.read_parquet(tmp_path / "strict" / "particles.parquet")
    weights = particles["weight"].to_numpy()
    assert np.allclose(weights, weights[0])  # the prior's particles, equally weighted


def test_the_progress_bar_counts_only_the_generations_the_epsilon_allows(tmp_path):
    """Once generation 0's epsilon is chosen its schedule is known: the bar's total (and so
    its time left) counts the generations it allows, not all of --generations."""
    from hourglass.calibration import _Watcher

    class Bar:
        total, n, postfix = 0, 0, ""

        def set_postfix_str(self, text: str, refresh: bool = False) -> None:
            del refresh
            self.postfix = text

        def refresh(self) -> None:
            pass

    class Eps:
        def __init__(self, allowed: int | None) -> None:
            self.expected_generations = allowed

        def __call__(self, t: int) -> float:
            return 8.0

    totals = {}
    for allowed in (2, None):
        abc = type("ABC", (), {"eps": Eps(allowed)})()
        bar = Bar()
        watcher = _Watcher(tmp_path / "history.db", tmp_path / "d.log", tmp_path / "p.log",
                           bar, abc, Settings(), 0, None)
        watcher._show(1, [54], False, 10, 9, 114)
        totals[allowed] = bar.total
        assert bar.postfix.startswith(f"generation 2 of {allowed or Settings().generations}")
    assert totals[2] < totals[None]
