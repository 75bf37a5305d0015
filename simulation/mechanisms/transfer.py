"""Submodel: knowledge transfer over contacted ties by learning type; the community of practice.

On each contact, in both directions and for each learning type k, a peer i whose exposure E_ik is
below the partner's level S_jk = max(K_jk, L_jk) learns with chance r_k x T^gamma_k x s^lambda_k
and then closes a share eta of the gap (Cowan & Jonard 2004). The more tacit and risky the type,
the more trust (gamma) and similarity of context (lambda) it needs (Levin & Cross 2004; Butler et
al. 2017). Updates are synchronous: a peer contacted by several partners keeps the largest gain,
so exposure never exceeds the best source.

A community of practice keeps a store, the mean of the top quarter of its members' practical
learning, and pulls members' exposure toward it (March 1991's organisational code).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from simulation.compiled import inlined, kernel
from simulation.state import Peers, State
from simulation.streams import as_generator, handle
from simulation.ties import TieArrays, equal_factors, sorted_slots
from simulation.vocabulary import N_TYPES


def exchange(state: State, p: SimpleNamespace, rng: np.random.Generator) -> np.ndarray:
    """Transfer knowledge over this month's contacts.

    Returns:
        (N,) bool: the peers whose exposure a conversation raised (a productive conversation).
    """
    return exchange_month(state.ties.arrays, state.peers, p.settings.transfer, handle(rng))


@inlined
def exchange_month(
    ties: TieArrays, peers: Peers, q: Settings, rng: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through exchange
    """The month of :func:`exchange` (``rng``: the generator's handle, ``simulation.streams``).

    Each contact's two directions, receivers first as ``a`` then as ``b``, one uniform per
    direction and learning type; nothing drawn without a contact.
    """
    n = len(ties.head)
    slots = sorted_slots(ties, n, True)  # contacted this month, in dense row order
    if len(slots) == 0:
        return np.zeros(n, dtype=np.bool_)
    i, j = ties.a[slots], ties.b[slots]
    return _learn_from_contacts(
        np.concatenate((i, j)),
        np.concatenate((j, i)),
        np.concatenate((slots, slots)),
        as_generator(rng).random((2 * len(i), N_TYPES)),
        ties,
        q,
        peers,
    )


class Settings(NamedTuple):
    """The scenario values the compiled transfer loop reads, named as in the scenario."""

    trust_sensitivity: np.ndarray  # transfer.trust_sensitivity, by learning type
    context_sensitivity: np.ndarray  # transfer.context_sensitivity, by learning type
    absorption: float  # transfer.absorption
    community_of_practice: float  # levers.community_of_practice
    socialisation: float  # turnover.socialisation

    @classmethod
    def of(cls, p: SimpleNamespace) -> Settings:
        """Read the settings from the scenario's parameters (once per run)."""
        return cls(
            trust_sensitivity=np.asarray(p.transfer.trust_sensitivity, dtype=float),
            context_sensitivity=np.asarray(p.transfer.context_sensitivity, dtype=float),
            absorption=float(p.transfer.absorption),
            community_of_practice=float(p.levers.community_of_practice),
            socialisation=float(p.turnover.socialisation),
        )


@inlined
def _learn_from_contacts(
    receiver: np.ndarray,
    giver: np.ndarray,
    slots: np.ndarray,
    draws: np.ndarray,
    ties: TieArrays,
    q: Settings,
    peers: Peers,
) -> np.ndarray:  # pragma: no cover - compiled; tested through exchange
    """Each direction of each contact, each learning type: one draw ``draws[row, k]``.

    Compiled: four scalar steps per direction and type. Gains are kept per receiver and type and
    added at the end, so every transfer reads the exposure the month started with. A tie lost
    this month after its contact has trust 0, so nothing passes over it. Returns which peers'
    exposure rose.
    """
    expertise, learning, exposure = peers.expertise, peers.learning, peers.exposure
    # s^lambda_k for each similarity s there can be (equal factors / factors), worked out once
    # a month: the same powers of the same numbers, without a pow per direction and type.
    factors = peers.profile.shape[1]
    context = np.empty((factors + 1, exposure.shape[1]))
    for equal in range(factors + 1):
        for k in range(exposure.shape[1]):
            context[equal, k] = (equal / factors) ** q.context_sensitivity[k]
    best = np.zeros_like(exposure)
    for row in range(len(receiver)):
        r, g, slot = receiver[row], giver[row], slots[row]
        t, equal = ties.trust[slot], equal_factors(peers.profile, r, g)
        for k in range(exposure.shape[1]):
            gap = max(expertise[g, k], learning[g, k]) - exposure[r, k]
            if gap <= 0.0:
                continue
            chance = ties.reach[slot, k] * t ** q.trust_sensitivity[k] * context[equal, k]
            if draws[row, k] < chance:
                best[r, k] = max(best[r, k], q.absorption * gap)
    productive = np.zeros(len(exposure), dtype=np.bool_)
    for r in range(len(exposure)):
        for k in range(exposure.shape[1]):
            raised = exposure[r, k] + best[r, k]
            productive[r] |= raised > exposure[r, k]
            exposure[r, k] = raised
    return productive


def socialise(state: State, p: SimpleNamespace) -> None:
    """Pull engaged peers' exposure toward the community of practice's store."""
    socialise_month(state.peers, p.settings.transfer)


@inlined
def socialise_month(peers: Peers, q: Settings) -> None:  # pragma: no cover - compiled
    """:func:`socialise` compiled: the store's pull, of strength kappa x socialisation."""
    strength = q.community_of_practice * q.socialisation
    if strength <= 0 or not peers.engaged.any():
        return
    _pull_toward_store(np.flatnonzero(peers.engaged), peers.learning, peers.exposure, strength)


@kernel
def _pull_toward_store(
    members: np.ndarray, learning: np.ndarray, exposure: np.ndarray, strength: float
) -> None:  # pragma: no cover - compiled; tested through socialise
    """The store is the mean of the members' learning at or above its upper quartile, by type."""
    top = learning[members]
    quartile = upper_quartile(top)
    total = np.zeros(top.shape[1])
    count = np.zeros(top.shape[1], dtype=np.int64)
    for row in range(len(members)):  # row by row, as NumPy sums along the first axis
        for k in range(top.shape[1]):
            if top[row, k] >= quartile[k]:
                total[k] += top[row, k]
                count[k] += 1
    store = total / np.maximum(count, 1)
    for i in members:
        for k in range(top.shape[1]):
            exposure[i, k] = exposure[i, k] + strength * max(store[k] - exposure[i, k], 0.0)


@kernel
def upper_quartile(values: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Column-wise 0.75 quantile, exactly as ``np.quantile(values, 0.75, axis=0)``.

    NumPy's linear method (Hyndman & Fan type 7) spelled out on a sort: the same numbers
    without ``np.quantile``'s general-purpose overhead, which dominated this submodel.
    """
    n = len(values)
    position = 0.75 * n + 0.25 - 1.0
    below = int(np.floor(position))
    gamma = position - below
    quartile = np.empty(values.shape[1])
    for k in range(values.shape[1]):
        ordered = np.sort(values[:, k])
        a, b = ordered[below], ordered[min(below + 1, n - 1)]
        diff = b - a
        quartile[k] = a + diff * gamma if gamma < 0.5 else b - diff * (1.0 - gamma)
    return quartile
