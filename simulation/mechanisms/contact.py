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
from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.mechanisms.events import canvassed_interest
from simulation.state import Contacts, Peers, State, Ties, record_contacts, upper_triangle


def live_ties(ties: Ties) -> tuple[np.ndarray, np.ndarray]:
    """Return the live ties as index pairs (i < j)."""
    return np.nonzero(ties.alive & upper_triangle(len(ties.alive)))


def informal_contact(
    state: State, p: SimpleNamespace, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Self-initiated and contract contact on live ties; return the ties contacted (i < j)."""
    i, j = live_ties(state.ties)
    if len(i) == 0:
        return i, j
    q = p.settings.contact
    interested = canvassed_interest(state) if q.canvass_topics > 0 else state.peers.engaged
    touched = _informal(
        i, j, rng.random(len(i)), state.ties, state.peers.time_to_engage, interested, q,
        state.month.arrays,
    )
    return i[touched], j[touched]


class Settings(NamedTuple):
    """The scenario values the compiled contact and trust loops read, named as in the scenario."""

    canvass_topics: float  # facilitator.canvass_topics
    self_contact: float  # contact.self_contact
    contract_contact: float  # contact.contract_contact
    informal_trust_gain: float  # contact.informal_trust_gain
    informal: np.ndarray  # transfer.informal, by learning type
    embeddedness: float  # contact.embeddedness
    positive_experience: float  # contact.positive_experience
    negative_factor: float  # contact.negative_factor
    trust_decay: float  # contact.trust_decay
    tie_hazard: float  # contact.tie_hazard
    sustained_months: int  # observation.sustained_months

    @classmethod
    def of(cls, p: SimpleNamespace) -> Settings:
        """Read the settings from the scenario's parameters (once per run)."""
        c = p.contact
        return cls(
            canvass_topics=float(p.facilitator.canvass_topics),
            self_contact=float(c.self_contact),
            contract_contact=float(c.contract_contact),
            informal_trust_gain=float(c.informal_trust_gain),
            informal=np.asarray(p.transfer.informal, dtype=float),
            embeddedness=float(c.embeddedness),
            positive_experience=float(c.positive_experience),
            negative_factor=float(c.negative_factor),
            trust_decay=float(c.trust_decay),
            tie_hazard=float(c.tie_hazard),
            sustained_months=int(p.observation.sustained_months),
        )


@njit(cache=True)
def _informal(
    i: np.ndarray,
    j: np.ndarray,
    draws: np.ndarray,
    ties: Ties,
    time_to_engage: np.ndarray,
    interested: np.ndarray,
    q: Settings,
    month: Contacts,
) -> np.ndarray:  # pragma: no cover - compiled; tested through informal_contact
    """Contact with chance 1 - (1 - c_self T sqrt(a_i a_j)) (1 - c_K [under contract]).

    Returns which of the ties (i, j) had contact.
    """
    canvass = q.canvass_topics
    touched = np.zeros(len(i), dtype=np.bool_)
    for k in range(len(i)):
        a, b = i[k], j[k]
        own = q.self_contact * ties.trust[a, b] * np.sqrt(time_to_engage[a] * time_to_engage[b])
        if canvass > 0:
            own = min(1.0, own * (1.0 + canvass if interested[a] and interested[b] else 1.0))
        by_contract = q.contract_contact * (1.0 if ties.contract[a, b] > 0 else 0.0)
        touched[k] = draws[k] < 1.0 - (1.0 - own) * (1.0 - by_contract)
    record_contacts(i[touched], j[touched], q.informal_trust_gain, q.informal, month)
    return touched


def update_trust(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Trust grows or falls on contact and decays without; ties are lost; ties age."""
    ties, month = state.ties, state.month
    i, j = live_ties(ties)
    if len(i) == 0:
        return
    _tie_month(i, j, rng.random((2, len(i))), month.arrays, ties, state.peers, p.settings.contact)


@njit(cache=True)
def _tie_month(
    i: np.ndarray,
    j: np.ndarray,
    draws: np.ndarray,
    month: Contacts,
    ties: Ties,
    peers: Peers,
    q: Settings,
) -> None:  # pragma: no cover - compiled; tested through update_trust
    """One month of every live tie (i < j), both directions written alike.

    A loop over ties compiled, because per tie it is a dozen scalar steps that NumPy would spend
    a dozen passes on. ``draws[0]`` decides whether a contact is a positive experience,
    ``draws[1]`` whether the tie is lost; embeddedness is read before any tie is lost.
    """
    alive, trust, age, contract = ties.alive, ties.trust, ties.age, ties.contract
    contact, trust_gain = month.contact, month.trust_gain
    engaged, sustained = peers.engaged, peers.sustained
    protection = np.ones(len(i), dtype=np.float32)
    if q.embeddedness > 0:
        # Jaccard overlap of the two peers' other contacts, in float32 (exact for counts).
        degree = np.zeros(len(alive), dtype=np.int64)
        for a in range(len(alive)):
            for b in range(len(alive)):
                degree[a] += alive[a, b]
        for k in range(len(i)):
            a, b = i[k], j[k]
            common = 0
            for c in range(len(alive)):
                common += alive[a, c] and alive[b, c]
            union = np.float32(degree[a]) + np.float32(degree[b]) - np.float32(2.0)
            union -= np.float32(common)
            share = np.float32(common) / union if union > 0 else np.float32(0.0)
            protection[k] = np.float32(1.0) - np.float32(q.embeddedness) * share
    for k in range(len(i)):
        a, b = i[k], j[k]
        t = trust[a, b]
        if contact[a, b]:
            alpha = trust_gain[a, b]
            if draws[0, k] < q.positive_experience:
                t = t + alpha * (1.0 - t)
            else:
                t = t * (1.0 - min(1.0, q.negative_factor * alpha))
        else:
            t = t * (1.0 - q.trust_decay)
        if draws[1, k] < q.tie_hazard * (1.0 - t) * protection[k]:
            alive[a, b] = alive[b, a] = False
            trust[a, b] = trust[b, a] = 0.0
            age[a, b] = age[b, a] = 0
            contract[a, b] = contract[b, a] = 0
            continue
        trust[a, b] = trust[b, a] = t
        months = age[a, b] + 1
        age[a, b] = age[b, a] = months
        left = max(contract[a, b] - 1, 0)
        contract[a, b] = contract[b, a] = left
        if months >= q.sustained_months:
            sustained[a] |= engaged[a]
            sustained[b] |= engaged[b]
