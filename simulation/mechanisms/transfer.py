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

import numpy as np

from simulation.state import State


def exchange(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Transfer knowledge over this month's contacts."""
    i, j = np.nonzero(np.triu(state.month.contact, 1))
    if len(i) == 0:
        return
    peers, ties = state.peers, state.ties
    receiver = np.concatenate([i, j])
    giver = np.concatenate([j, i])
    trust = ties.trust[receiver, giver][:, None]
    similarity = ties.similarity[receiver, giver][:, None]
    reach = state.month.reach[receiver, giver]
    chance = (
        reach
        * trust ** np.asarray(p.transfer.trust_sensitivity)
        * similarity ** np.asarray(p.transfer.context_sensitivity)
    )
    source = np.maximum(peers.expertise[giver], peers.learning[giver])
    gap = source - peers.exposure[receiver]
    success = (gap > 0) & (rng.random(gap.shape) < chance)
    gain = np.where(success, p.transfer.absorption * gap, 0.0)
    best = np.zeros_like(peers.exposure)
    np.maximum.at(best, receiver, gain)
    peers.exposure += best


def socialise(state: State, p: SimpleNamespace) -> None:
    """Pull engaged peers' exposure toward the community of practice's store."""
    strength = p.levers.community_of_practice * p.turnover.socialisation
    members = state.peers.engaged
    if strength <= 0 or not members.any():
        return
    learning = state.peers.learning[members]
    top = learning >= np.quantile(learning, 0.75, axis=0)
    store = (learning * top).sum(axis=0) / np.maximum(top.sum(axis=0), 1)
    exposure = state.peers.exposure[members]
    state.peers.exposure[members] = exposure + strength * np.maximum(store - exposure, 0.0)
