"""Submodel: sustained individual contact, trust, and ties lost.

Each live tie (i, j) has self-initiated contact with chance c_self x T x sqrt(a_i a_j), and a peer
contract adds c_K; the events of the month add theirs. After canvassing for topics (c =
facilitator.canvass_topics) self-initiated contact between two peers whose problem is the
canvassed topic is x (1 + c), capped at 1: self-selected peers keep engaging (report P9). On
contact the experience is positive with chance pi+ and trust grows, T <- T + alpha (1 - T);
otherwise it falls, T <- (1 - beta) T, beta = negative_factor x alpha (Slovic 1993). Without
contact trust decays, T <- (1 - delta) T. A tie is lost with hazard h0 (1 - T)(1 - e x
embeddedness), embeddedness being the Jaccard overlap of the two peers' other contacts (Burt
2000, 2002). A tie that has lasted ``observation.sustained_months`` is a sustained individual
contact: this month both its peers hold one (``Peers.sustained_contact``), which is what lets them
turn exposure into practical learning (``reflection.py``; report Figure 13: "Sustained individual
contacts lead to practical peer learning").
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from simulation.compiled import inlined, kernel
from simulation.mechanisms.events import canvassed
from simulation.state import Peers, State
from simulation.streams import as_generator, handle
from simulation.ties import TieArrays, Ties, record, remove, sorted_slots


def live_ties(ties: Ties) -> tuple[np.ndarray, np.ndarray]:
    """Return the live ties as index pairs (i < j), in dense row order."""
    i, j, _ = ties.live()
    return i, j


def informal_contact(
    state: State, p: SimpleNamespace, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Self-initiated and contract contact on live ties; return the ties contacted (i < j)."""
    ties = state.ties.arrays
    slots = informal_month(ties, state.peers, p.settings.contact, handle(rng))
    return ties.a[slots], ties.b[slots]


@inlined
def informal_month(
    ties: TieArrays, peers: Peers, q: Settings, rng: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through informal_contact
    """The month's informal contact (:func:`informal_contact`); returns the slots contacted.

    ``rng`` is the model generator's handle (``simulation.streams``): one uniform per live tie,
    in dense row order, none when there is no tie.
    """
    slots = sorted_slots(ties, len(ties.head), False)
    if len(slots) == 0:
        return slots
    interested = canvassed(peers.profile) if q.canvass_topics > 0 else peers.engaged
    draws = as_generator(rng).random(len(slots))
    return slots[_informal(slots, draws, ties, peers.time_to_engage, interested, q)]


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
    sustained_months: int  # observation.sustained_months: a tie this old is a sustained contact

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


@inlined
def _informal(
    slots: np.ndarray,
    draws: np.ndarray,
    ties: TieArrays,
    time_to_engage: np.ndarray,
    interested: np.ndarray,
    q: Settings,
) -> np.ndarray:  # pragma: no cover - compiled; tested through informal_contact
    """Contact with chance 1 - (1 - c_self T sqrt(a_i a_j)) (1 - c_K [under contract]).

    Returns which of the ties in ``slots`` had contact.
    """
    canvass = q.canvass_topics
    touched = np.zeros(len(slots), dtype=np.bool_)
    for k in range(len(slots)):
        s = slots[k]
        a, b = ties.a[s], ties.b[s]
        own = q.self_contact * ties.trust[s] * np.sqrt(time_to_engage[a] * time_to_engage[b])
        if canvass > 0:
            own = min(1.0, own * (1.0 + canvass if interested[a] and interested[b] else 1.0))
        by_contract = q.contract_contact * (1.0 if ties.contract[s] > 0 else 0.0)
        touched[k] = draws[k] < 1.0 - (1.0 - own) * (1.0 - by_contract)
    record(ties, slots[touched], q.informal_trust_gain, q.informal)
    return touched


def update_trust(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Trust grows or falls on contact and decays without; ties are lost; ties age.

    Afterwards ``peers.sustained_contact`` holds who has a live tie at least
    ``observation.sustained_months`` old.
    """
    trust_month(state.ties.arrays, state.peers, p.settings.contact, handle(rng))


@inlined
def trust_month(
    ties: TieArrays, peers: Peers, q: Settings, rng: np.ndarray
) -> None:  # pragma: no cover - compiled; tested through update_trust
    """The month of :func:`update_trust`: two uniforms per live tie (``rng``: a handle)."""
    peers.sustained_contact[:] = False
    slots = sorted_slots(ties, len(ties.head), False)
    if len(slots) == 0:
        return
    _tie_month(slots, as_generator(rng).random((2, len(slots))), ties, peers, q)


@inlined
def _tie_month(
    slots: np.ndarray, draws: np.ndarray, ties: TieArrays, peers: Peers, q: Settings
) -> None:  # pragma: no cover - compiled; tested through update_trust
    """One month of every live tie, in ``slots`` (dense row order).

    A loop over ties compiled, because per tie it is a dozen scalar steps that NumPy would spend
    a dozen passes on. ``draws[0]`` decides whether a contact is a positive experience,
    ``draws[1]`` whether the tie is lost; embeddedness is read before any tie is lost. Both
    peers of a surviving tie of age ``sustained_months`` or more hold a sustained contact.
    """
    holds = peers.sustained_contact
    protection = np.ones(len(slots), dtype=np.float32)
    if q.embeddedness > 0:
        # Jaccard overlap of the two peers' other contacts, in float32 (exact for counts),
        # from walking the two peers' ties.
        mark = np.zeros(len(ties.head), dtype=np.bool_)
        head, link, ends_a, ends_b = ties.head, ties.link, ties.a, ties.b
        for k in range(len(slots)):
            a, b = ends_a[slots[k]], ends_b[slots[k]]
            _mark(head, link, ends_a, ends_b, a, mark, True)
            common = 0
            s = head[b]
            while s >= 0:
                side = 0 if ends_a[s] == b else 1
                common += mark[ends_b[s] if side == 0 else ends_a[s]]
                s = link[s, side, 0]
            _mark(head, link, ends_a, ends_b, a, mark, False)
            union = np.float32(ties.degree[a]) + np.float32(ties.degree[b]) - np.float32(2.0)
            union -= np.float32(common)
            share = np.float32(common) / union if union > 0 else np.float32(0.0)
            protection[k] = np.float32(1.0) - np.float32(q.embeddedness) * share
    for k in range(len(slots)):
        s = slots[k]
        a, b = ties.a[s], ties.b[s]
        t = ties.trust[s]
        if ties.contact[s]:
            alpha = ties.trust_gain[s]
            if draws[0, k] < q.positive_experience:
                t = t + alpha * (1.0 - t)
            else:
                t = t * (1.0 - min(1.0, q.negative_factor * alpha))
        else:
            t = t * (1.0 - q.trust_decay)
        if draws[1, k] < q.tie_hazard * (1.0 - t) * protection[k]:
            remove(ties, s)
            continue
        ties.trust[s] = t
        months = ties.age[s] + 1
        ties.age[s] = months
        ties.contract[s] = max(ties.contract[s] - 1, 0)
        if months >= q.sustained_months:
            holds[a] = True
            holds[b] = True


@kernel
def _mark(
    head: np.ndarray, link: np.ndarray, ends_a: np.ndarray, ends_b: np.ndarray, x: int,
    mark: np.ndarray, value: bool,
) -> None:  # pragma: no cover - compiled
    """Set ``mark`` of x's partners to ``value``.

    Given the tie store's lists and ends, not the store: called twice a tie a month, and each
    array passed costs an atomic reference count in and out.
    """
    s = head[x]
    while s >= 0:
        side = 0 if ends_a[s] == x else 1
        mark[ends_b[s] if side == 0 else ends_a[s]] = value
        s = link[s, side, 0]
