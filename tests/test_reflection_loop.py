"""Reflection's compiled loop equals the array arithmetic it replaced, to the last bit."""

from types import SimpleNamespace

import numpy as np
import pytest

from simulation.mechanisms.reflection import _reflect


def _arrays(peers, tools, p):
    """The array version (before the loop): the witness."""
    with_contact = peers.sustained_contact
    boost = np.where(with_contact, p.base_rate + tools, p.without_sustained_contact * tools)
    rate = np.minimum(1.0, peers.willingness * boost)
    before = peers.learning.sum(axis=1)
    peers.learning[...] += rate[:, None] * (peers.exposure - peers.learning)
    np.minimum(peers.learning, peers.exposure, out=peers.learning)
    gained = peers.learning.sum(axis=1) - before
    peers.learned_with_contacts[...] += np.where(with_contact, gained, 0.0)
    peers.learned_alone[...] += np.where(with_contact, 0.0, gained)
    if p.forgetting > 0:
        keep = 1.0 - p.forgetting
        peers.exposure[...] *= keep
        peers.learning[...] *= keep


def _peers(rng, n):
    exposure = rng.random((n, 4)) * rng.choice([1e-9, 1.0, 1e6], (n, 4))
    return SimpleNamespace(
        sustained_contact=rng.random(n) < 0.5,
        willingness=rng.random(n) * 3,  # some rates reach 1
        exposure=exposure,
        learning=exposure * rng.random((n, 4)),
        learned_with_contacts=rng.random(n),
        learned_alone=rng.random(n),
    )


@pytest.mark.parametrize("forgetting", [0.0, 0.05])
@pytest.mark.parametrize("seed", range(3))
def test_the_loop_is_the_array_arithmetic(seed, forgetting):
    rng = np.random.default_rng(seed)
    n = 500
    tools = rng.random(n) * (rng.random(n) < 0.3)
    p = SimpleNamespace(base_rate=0.2, without_sustained_contact=0.5, forgetting=forgetting)
    witness, looped = _peers(np.random.default_rng(seed), n), _peers(np.random.default_rng(seed), n)
    for _ in range(3):  # months in a row
        _arrays(witness, tools, p)
        _reflect(
            looped.sustained_contact,
            tools,
            looped.willingness,
            looped.exposure,
            looped.learning,
            looped.learned_with_contacts,
            looped.learned_alone,
            p.base_rate,
            p.without_sustained_contact,
            p.forgetting,
        )
    for name in ("exposure", "learning", "learned_with_contacts", "learned_alone"):
        np.testing.assert_array_equal(getattr(looped, name), getattr(witness, name))
