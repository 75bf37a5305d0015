"""The calibration's epsilon: the seeds decide at most a stated share of acceptances (issue 15).

hourglass.calibration.noise_epsilon chooses each generation's epsilon from the particles the last
one judged; hourglass.abc_model.NoiseEpsilon is that rule as pyabc's epsilon, and stops the
calibration when it cannot shrink.
"""

from __future__ import annotations

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


def _sample(seed: int = 3, n: int = 200, signal: float = 0.5, noise: float = 0.75):
    rng = np.random.default_rng(seed)
    d = 7.0 + signal * rng.standard_normal(n) + noise * rng.standard_normal(n)
    return d, np.full(n, noise), np.full(n, noise / 2)


def test_the_epsilon_is_the_smallest_at_which_the_seeds_decide_at_most_the_share():
    d, sd, cap = _sample()
    epsilon, chosen = noise_epsilon(d, sd, cap, 0.05)
    assert chosen["predicted_seeds_decide"] <= 0.05
    # A little smaller and the seeds would decide more (the grid's step is below 0.01 here).
    below = seeds_decide_share(epsilon - 0.02, chosen["mean"], chosen["signal_sd"],
                               chosen["seed_sd_at_cap"])
    assert below > 0.05
    assert epsilon >= np.median(d)
    # The method of moments: the spread of the distances less the seeds' variance.
    assert chosen["signal_sd"] == pytest.approx(math.sqrt(max(np.var(d, ddof=1) - 0.75**2, 0)))
    assert chosen["seed_sd_at_cap"] == pytest.approx(0.375)
    assert chosen["particles"] == len(d)
    # A looser share allows a smaller epsilon; a share of 1 is the median itself.
    assert noise_epsilon(d, sd, cap, 0.2)[0] < epsilon
    assert noise_epsilon(d, sd, cap, 1.0)[0] == np.median(d)


def test_a_clear_signal_lets_the_epsilon_fall_to_the_median():
    """Particles far apart against their seed noise: the median decides little by chance."""
    d, sd, cap = _sample(signal=5.0, noise=0.05)
    epsilon, chosen = noise_epsilon(d, sd, cap, 0.05)
    assert epsilon == pytest.approx(np.median(d))
    assert chosen["predicted_seeds_decide"] <= 0.05


def _epsilon(tmp_path, lines, generation=None):
    from hourglass.abc_model import NoiseEpsilon

    log = tmp_path / "distances.log"
    if lines:
        log.write_text("".join(f"{d:.6g} {s:.6g} {r:.6g}\n" for d, s, r in lines))
    return NoiseEpsilon(None, str(log), str(tmp_path / "epsilons.jsonl"), generation,
                        0.05, 192)


def test_the_epsilon_reads_every_particle_the_last_generation_judged(tmp_path):
    """From the log's lines since the last choice (accepted and rejected alike); a choice is
    recorded, and a resume takes the recorded epsilon of the generation it starts."""
    import json

    d, sd, _ = _sample()
    eps = _epsilon(tmp_path, [(7.0, 0.5, 48)] * 5)  # lines of an earlier generation
    eps.mark = 5
    eps.values[0] = 100.0
    with (tmp_path / "distances.log").open("a") as log:
        log.write("".join(f"{x:.6g} {s:.6g} 48\n" for x, s in zip(d, sd, strict=True)))
    eps.update(1, None, None, 0.5, {})
    written = np.array([float(f"{x:.6g}") for x in d])  # as the log holds them
    expected = noise_epsilon(written, sd, sd / 2, 0.05)[0]
    assert eps(1) == pytest.approx(expected, rel=1e-4)
    assert eps.exhausted is None
    assert eps.mark == 5 + len(d)
    entry = json.loads((tmp_path / "epsilons.jsonl").read_text().splitlines()[-1])
    assert (entry["t"], entry["exhausted"], entry["particles"]) == (1, False, len(d))
    resumed = _epsilon(tmp_path, [])
    resumed.initialize(1, None, None, 8, {})
    assert resumed(1) == eps(1)
    with pytest.raises(KeyError):
        resumed(2)


def test_the_epsilon_stops_when_it_cannot_shrink(tmp_path):
    """When the next epsilon would not be 1 % below the last it stays, and marks the generation
    exhausted; a resume reads the mark."""
    d, sd, _ = _sample()
    eps = _epsilon(tmp_path, [(x, s, 192) for x, s in zip(d, sd, strict=True)])
    eps.values[2] = float(np.median(d))
    eps.update(3, None, None, 0.5, {})
    assert eps.exhausted == 3
    assert eps(3) == float(np.median(d))
    resumed = _epsilon(tmp_path, [])
    resumed.initialize(3, None, None, 8, {})
    assert resumed.exhausted == 3


def test_without_the_log_the_last_accepted_particles_are_read(tmp_path):
    d, sd, _ = _sample()
    calls = []

    def generation(t):
        calls.append(t)
        return d, sd, np.full(len(d), 192.0), np.ones(len(d)), 50.0

    eps = _epsilon(tmp_path, [], generation)
    eps.initialize(4, None, None, 8, {})  # a resume with nothing recorded
    assert calls == [3]
    assert eps(4) == pytest.approx(noise_epsilon(d, sd, sd, 0.05)[0])


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


def test_the_share_option_is_checked_in_one_line(tmp_path, capsys):
    out = tmp_path / "cal"
    assert main(["calibrate", "--quick", "--seeds-decide", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["hourglass: error: calibrate: --seeds-decide must be in (0, 1], got 0.0"]
    assert not out.exists()
