"""Submodel: officials leave post and successors arrive; colleagues come and go.

Each month a participating official leaves with chance 1 - (1 - tau)^(1/12), tau the annual
turnover. The successor takes the same position (home organisation, problems, goals, tasks,
standing, career level) but is a new person: new education, willingness, time to engage,
share-forward willingness and expertise; no exposure, no practical learning, no stage reached.
The leaver's ties leave too, unless a community of practice keeps them: each is inherited with
chance kappa = ``levers.community_of_practice``, at trust psi x T (report F5). Colleagues leave
at the annual rate ``home_organisations.staff_turnover``; a newcomer has adopted nothing. An
organisation's change at scale, once institutionalised, stays (Carley 1992).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
from numba import njit

from simulation.population import PERSONAL_FACTORS, draw_personal
from simulation.state import Peers, State, Ties
from simulation.vocabulary import N_FACTORS


class Settings(NamedTuple):
    """The scenario values the compiled succession loop reads, named as in the scenario."""

    community_of_practice: float  # levers.community_of_practice: chance a tie is inherited
    inherited_trust: float  # turnover.inherited_trust

    @classmethod
    def of(cls, p: SimpleNamespace) -> Settings:
        """Read the settings from the scenario's parameters (once per run)."""
        return cls(
            community_of_practice=float(p.levers.community_of_practice),
            inherited_trust=float(p.turnover.inherited_trust),
        )


def monthly(annual: float) -> float:
    """Convert an annual probability to the monthly one with the same survival over a year."""
    return 1.0 - (1.0 - annual) ** (1.0 / 12.0)


def officials_leave(state: State, p: SimpleNamespace, rng: np.random.Generator) -> np.ndarray:
    """Replace the officials who leave post this month; return their positions."""
    peers, ties = state.peers, state.ties
    leavers = np.flatnonzero(rng.random(peers.n) < monthly(p.levers.turnover))
    state.month.departures = len(leavers)
    if len(leavers) == 0:
        return leavers

    personal = draw_personal(p, rng, len(leavers))
    peers.willingness[leavers] = personal["willingness"]
    peers.time_to_engage[leavers] = personal["time_to_engage"]
    peers.share_forward[leavers] = personal["share_forward"]
    peers.expertise[leavers] = personal["expertise"]
    draws = p.facilitator.candidates if p.facilitator.selection == "matched" else 1
    fresh = rng.integers(0, p.population.profile_categories, (draws, len(leavers), N_FACTORS))
    _succeed(
        leavers,
        fresh,
        PERSONAL_FACTORS,
        state.focus,
        rng.random((peers.n, peers.n)),
        p.settings.turnover,
        peers,
        state.staff.adopted,
        ties,
    )
    for flag in (peers.engaged, peers.sustained, peers.practical, peers.applied):
        flag[leavers] = False
    return leavers


@njit(cache=True)
def _succeed(
    leavers: np.ndarray,
    fresh: np.ndarray,
    personal: np.ndarray,
    focus: np.ndarray,
    draws: np.ndarray,
    q: Settings,
    peers: Peers,
    adopted: np.ndarray,
    ties: Ties,
) -> None:  # pragma: no cover - compiled; tested through officials_leave
    """Successors take the leavers' positions.

    The profile keeps the position's factors and takes the person's from the candidate (of
    ``fresh``) sharing most factors with ``focus`` (the first best); exposure, learning and the
    staff node's adoptions are cleared; the leavers' ties are lost or inherited (``draws`` above
    the diagonal); similarity to everyone is recomputed.
    """
    profile, similarity = peers.profile, ties.similarity
    n, n_factors = profile.shape
    leaving = np.zeros(n, dtype=np.bool_)
    for row in range(len(leavers)):
        position = leavers[row]
        leaving[position] = True
        best, best_shared = 0, -1
        for candidate in range(fresh.shape[0]):
            shared = 0
            for f in range(n_factors):
                value = fresh[candidate, row, f] if personal[f] else profile[position, f]
                shared += value == focus[f]
            if shared > best_shared:
                best, best_shared = candidate, shared
        for f in range(n_factors):
            if personal[f]:
                profile[position, f] = fresh[best, row, f]
        peers.exposure[position] = 0.0
        peers.learning[position] = 0.0
        adopted[peers.staff_node[position]] = False
    _leave_ties(leaving, draws, ties, q)
    for position in leavers:
        for other in range(n):
            equal = 0
            for f in range(n_factors):
                equal += profile[position, f] == profile[other, f]
            similarity[position, other] = similarity[other, position] = equal / n_factors


def colleagues_leave(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Colleagues who leave take what they adopted with them."""
    staff = state.staff
    rate = monthly(p.home_organisations.staff_turnover)
    if rate <= 0:
        return
    # Only adopters' departures change anything (a newcomer has adopted nothing, like one who
    # never had), so only they draw: the cost follows the adopters, not the size of the staff.
    adopters = np.flatnonzero(staff.adopted_any() & ~staff.is_peer)
    if len(adopters):
        staff.adopted[adopters[rng.random(len(adopters)) < rate]] = False


@njit(cache=True)
def _leave_ties(
    leaving: np.ndarray, draws: np.ndarray, ties: Ties, q: Settings
) -> None:  # pragma: no cover - compiled; tested through officials_leave
    """Ties of leavers are lost, or inherited by their successors.

    Each is inherited with chance kappa = ``levers.community_of_practice`` (``draws`` above the
    diagonal, one per pair) at trust psi x T (psi = ``turnover.inherited_trust``); either way it
    starts afresh: no age, no contract.
    """
    alive, trust, age, contract = ties.alive, ties.trust, ties.age, ties.contract
    n = len(leaving)
    for a in range(n):
        for b in range(a + 1, n):
            if not (leaving[a] or leaving[b]):
                continue
            kept = alive[a, b] and draws[a, b] < q.community_of_practice
            alive[a, b] = alive[b, a] = kept
            trust[a, b] = trust[b, a] = q.inherited_trust * trust[a, b] if kept else 0.0
            age[a, b] = age[b, a] = 0
            contract[a, b] = contract[b, a] = 0
