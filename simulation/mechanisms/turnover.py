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

import numpy as np
from numba import njit

from simulation.state import (
    N_FACTORS,
    PERSONAL_FACTORS,
    State,
    closest_to_focus,
    draw_personal,
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
    candidates = np.repeat(peers.profile[leavers][None], draws, axis=0)
    fresh = rng.integers(0, p.population.profile_categories, (draws, len(leavers), N_FACTORS))
    candidates[..., PERSONAL_FACTORS] = fresh[..., PERSONAL_FACTORS]
    peers.profile[leavers] = closest_to_focus(candidates, state.focus)
    peers.exposure[leavers] = 0.0
    peers.learning[leavers] = 0.0
    for flag in (peers.engaged, peers.sustained, peers.practical, peers.applied):
        flag[leavers] = False
    state.staff.adopted[peers.staff_node[leavers]] = False

    leaving = np.zeros(peers.n, dtype=bool)
    leaving[leavers] = True
    _leave_ties(
        leaving,
        rng.random((peers.n, peers.n)),
        ties.alive,
        ties.trust,
        ties.age,
        ties.contract,
        float(p.levers.community_of_practice),
        float(p.turnover.inherited_trust),
    )
    equal = peers.profile[leavers][:, None, :] == peers.profile[None, :, :]
    new_similarity = equal.sum(axis=2) / N_FACTORS
    ties.similarity[leavers] = new_similarity
    ties.similarity[:, leavers] = new_similarity.T
    return leavers


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
    leaving: np.ndarray,
    draws: np.ndarray,
    alive: np.ndarray,
    trust: np.ndarray,
    age: np.ndarray,
    contract: np.ndarray,
    inherit: float,
    inherited_trust: float,
) -> None:  # pragma: no cover - compiled; tested through officials_leave
    """Ties of leavers are lost, or inherited by their successors.

    Each is inherited with chance kappa (``draws`` above the diagonal, one per pair) at trust
    psi x T; either way it starts afresh: no age, no contract.
    """
    n = len(leaving)
    for a in range(n):
        for b in range(a + 1, n):
            if not (leaving[a] or leaving[b]):
                continue
            kept = alive[a, b] and draws[a, b] < inherit
            alive[a, b] = alive[b, a] = kept
            trust[a, b] = trust[b, a] = inherited_trust * trust[a, b] if kept else 0.0
            age[a, b] = age[b, a] = 0
            contract[a, b] = contract[b, a] = 0
