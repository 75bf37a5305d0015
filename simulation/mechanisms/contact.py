"""Submodel: sustained individual contact, trust, and ties lost.

Each live tie (i, j) has self-initiated contact with chance c_self x T x sqrt(a_i a_j), and a peer
contract adds c_K; the events of the month add theirs. After canvassing for topics (c =
facilitator.canvass_topics) self-initiated contact between two peers whose problem is the
canvassed topic is x (1 + c), capped at 1: self-selected peers keep engaging (report P9). On
contact the experience is positive with chance pi+ and trust grows, T <- T + alpha (1 - T);
otherwise it falls, T <- (1 - beta) T, beta = negative_factor x alpha (Slovic 1993). Without
contact trust decays, T <- (1 - delta) T. A tie is lost with hazard h0 (1 - T)(1 - e x
embeddedness), embeddedness being the Jaccard overlap of the two peers' other contacts (Burt
2000, 2002).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulation.mechanisms.events import canvassed_interest, mark_contact
from simulation.state import State, Ties


def live_ties(ties: Ties) -> tuple[np.ndarray, np.ndarray]:
    """Return the live ties as index pairs (i < j)."""
    return np.nonzero(np.triu(ties.alive, 1))


def embeddedness(alive: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Jaccard overlap of the contacts of i and j, each other excluded."""
    adjacency = alive.astype(np.float32)
    common = (adjacency[i] * adjacency[j]).sum(axis=1)
    degree = adjacency.sum(axis=1)
    union = degree[i] + degree[j] - 2.0 - common
    return np.divide(common, union, out=np.zeros_like(common), where=union > 0)


def informal_contact(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Self-initiated and contract contact on live ties."""
    i, j = live_ties(state.ties)
    if len(i) == 0:
        return
    peers = state.peers
    trust = state.ties.trust[i, j]
    own = (
        p.contact.self_contact * trust * np.sqrt(peers.time_to_engage[i] * peers.time_to_engage[j])
    )
    canvass = p.facilitator.canvass_topics
    if canvass > 0:
        interested = canvassed_interest(state)
        own = np.minimum(1.0, own * np.where(interested[i] & interested[j], 1.0 + canvass, 1.0))
    contract = p.contact.contract_contact * (state.ties.contract[i, j] > 0)
    chance = 1.0 - (1.0 - own) * (1.0 - contract)
    touch = rng.random(len(i)) < chance
    mark_contact(
        state, i[touch], j[touch], p.contact.informal_trust_gain, np.asarray(p.transfer.informal)
    )


def update_trust(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Trust grows or falls on contact and decays without; ties are lost; ties age."""
    ties, month = state.ties, state.month
    i, j = live_ties(ties)
    if len(i) == 0:
        return
    trust = ties.trust[i, j]
    touched = month.contact[i, j]
    alpha = month.trust_gain[i, j]
    positive = rng.random(len(i)) < p.contact.positive_experience
    after_contact = np.where(
        positive,
        trust + alpha * (1.0 - trust),
        trust * (1.0 - np.minimum(1.0, p.contact.negative_factor * alpha)),
    )
    trust = np.where(touched, after_contact, trust * (1.0 - p.contact.trust_decay))

    if p.contact.embeddedness > 0:
        protection = 1.0 - p.contact.embeddedness * embeddedness(ties.alive, i, j)
    else:
        protection = 1.0
    lost = rng.random(len(i)) < p.contact.tie_hazard * (1.0 - trust) * protection

    age = ties.age[i, j] + 1
    contract = np.maximum(ties.contract[i, j] - 1, 0)
    keep = ~lost
    for a, b in ((i, j), (j, i)):
        ties.alive[a, b] = keep
        ties.trust[a, b] = np.where(keep, trust, 0.0)
        ties.age[a, b] = np.where(keep, age, 0)
        ties.contract[a, b] = np.where(keep, contract, 0)

    sustained = keep & (age >= p.observation.sustained_months)
    peers = state.peers
    for a in (i[sustained], j[sustained]):
        peers.sustained[a] |= peers.engaged[a]
