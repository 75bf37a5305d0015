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

from simulation.beta_inversion import beta_traits
from simulation.compiled import inlined, kernel
from simulation.population import PERSONAL_FACTORS
from simulation.state import Peers, StaffArrays, State, staff_changed, with_adopters
from simulation.streams import JUMP, as_generator, handle, jump
from simulation.ties import TieArrays, remove, ties_of_group
from simulation.vocabulary import N_FACTORS, N_TYPES


class Settings(NamedTuple):
    """The scenario values the compiled turnover reads, named as in the scenario."""

    turnover: float  # levers.turnover, as the monthly chance of leaving post (see monthly)
    community_of_practice: float  # levers.community_of_practice: chance a tie is inherited
    inherited_trust: float  # turnover.inherited_trust
    expertise_a: float  # peers.expertise_a
    expertise_b: float  # peers.expertise_b
    profile_categories: int  # population.profile_categories
    candidates: int  # facilitator.candidates under matched selection, else 1
    staff_turnover: float  # home_organisations.staff_turnover, as the monthly chance
    willingness_to_learn: float  # peers.willingness_to_learn: a successor's traits' means ...
    time_to_engage: float  # peers.time_to_engage
    share_forward: float  # levers.share_forward
    trait_concentration: float  # population.trait_concentration: ... and their concentration

    @classmethod
    def of(cls, p: SimpleNamespace) -> Settings:
        """Read the settings from the scenario's parameters (once per run)."""
        return cls(
            turnover=monthly(p.levers.turnover),
            community_of_practice=float(p.levers.community_of_practice),
            inherited_trust=float(p.turnover.inherited_trust),
            expertise_a=float(p.peers.expertise_a),
            expertise_b=float(p.peers.expertise_b),
            profile_categories=int(p.population.profile_categories),
            candidates=int(p.facilitator.candidates) if p.facilitator.selection == "matched" else 1,
            staff_turnover=monthly(p.home_organisations.staff_turnover),
            willingness_to_learn=float(p.peers.willingness_to_learn),
            time_to_engage=float(p.peers.time_to_engage),
            share_forward=float(p.levers.share_forward),
            trait_concentration=float(p.population.trait_concentration),
        )


def monthly(annual: float) -> float:
    """Convert an annual probability to the monthly one with the same survival over a year."""
    return 1.0 - (1.0 - annual) ** (1.0 / 12.0)


def leave(state: State, p: SimpleNamespace, rng: np.random.Generator) -> np.ndarray:
    """The month's turnover: officials leave post and successors arrive, then colleagues leave.

    Returns the positions whose officials left (their successors are new people).
    """
    # The draws are those of NumPy's Generator methods called in turn from Python (leavers,
    # the successors' trait uniforms, expertise, candidate profiles, the succession uniforms,
    # then the colleagues'), drawn in one compiled call with the traits' beta inversion (SciPy's
    # own function, simulation/beta_inversion.py).
    leavers, state.staff.adopters = turnover_month(
        handle(rng), tuple(p.settings.turnover), PERSONAL_FACTORS, state.focus,
        tuple(state.peers), tuple(state.staff.arrays()), tuple(state.ties.arrays),
    )
    state.month.departures = len(leavers)
    return leavers


@inlined
def turnover_month(
    rng: np.ndarray,
    q: tuple,
    factors: np.ndarray,
    focus: np.ndarray,
    peers: tuple,
    staff: tuple,
    ties: tuple,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled; tested through leave
    """The month's turnover on plain tuples (simulation/mechanisms/schedule.py says why).

    The positions whose officials leave (one uniform each); when any do, their successors'
    trait uniforms, (3, k), inverted as :func:`simulation.population.personal_traits` does,
    then :func:`_succession`; then the colleagues leave (:func:`_colleagues_leave`). Returns the
    leavers and the staff's adopters after.
    """
    generator, settings = as_generator(rng), Settings(*q)
    p, s = Peers(*peers), StaffArrays(*staff)
    leavers = np.flatnonzero(generator.random(len(p.org)) < settings.turnover)
    if len(leavers) == 0:
        return leavers, _colleagues_leave(s, settings.staff_turnover, rng)
    means = np.array([settings.willingness_to_learn, settings.time_to_engage,
                      settings.share_forward])
    traits = beta_traits(
        means, settings.trait_concentration, generator.random((3, len(leavers)))
    )
    adopters = _succession(
        leavers, traits, factors, focus, settings, p, s, TieArrays(*ties), rng
    )
    return leavers, _colleagues_leave(with_adopters(s, adopters), settings.staff_turnover, rng)


@inlined
def _succession(
    leavers: np.ndarray,
    traits: np.ndarray,
    factors: np.ndarray,
    focus: np.ndarray,
    q: Settings,
    p: Peers,
    s: StaffArrays,
    t: TieArrays,
    rng: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; tested through leave
    """Successors take the leavers' positions with their ``traits`` (:func:`_succeed`).

    Draws their expertise, the candidate profiles and one uniform per pair of peers (a, b),
    a < b, as an N x N matrix drawn row by row would give it, read only where a leaver has a
    tie (:func:`uniforms_at`). The records of the official in post start afresh. Returns the
    staff's adopters after. ``traits``: (3, k) willingness, time to engage and share forward of
    the successors.
    """
    generator = as_generator(rng)
    expertise = generator.beta(q.expertise_a, q.expertise_b, (len(leavers), N_TYPES))
    fresh = generator.integers(0, q.profile_categories, (q.candidates, len(leavers), N_FACTORS))
    cells, slots = _leavers_ties(t, len(t.head), leavers)
    uniforms = uniforms_at(rng, len(p.org) ** 2, cells)
    for row in range(len(leavers)):
        x = leavers[row]
        p.willingness[x] = traits[0, row]
        p.time_to_engage[x] = traits[1, row]
        p.share_forward[x] = traits[2, row]
        p.expertise[x] = expertise[row]
    _succeed(leavers, fresh, factors, focus, slots, uniforms, q, p, s.adopted, t)
    adopters = staff_changed(s, p.staff_node[leavers])
    for x in leavers:
        p.engaged[x] = False
        p.sustained[x] = False
        p.practical[x] = False
        p.applied[x] = False
        p.sustained_contact[x] = False
        p.learned_with_contacts[x] = 0.0
        p.learned_alone[x] = 0.0
        p.shares[x] = 0
    return adopters


@kernel
def _leavers_ties(
    ties: TieArrays, n: int, leavers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled; tested through leave
    """The live ties of the leavers in dense row order: their cells ``a * n + b``, and slots.

    Read from the leavers' own lists (a tie between two leavers is on both, and kept once), so
    the cost follows the leavers' ties, not all the ties (:func:`simulation.ties.ties_of_group`).
    """
    return ties_of_group(ties, leavers, False)


@kernel
def _succeed(
    leavers: np.ndarray,
    fresh: np.ndarray,
    personal: np.ndarray,
    focus: np.ndarray,
    slots: np.ndarray,
    draws: np.ndarray,
    q: Settings,
    peers: Peers,
    adopted: np.ndarray,
    ties: TieArrays,
) -> None:  # pragma: no cover - compiled; tested through leave
    """Successors take the leavers' positions.

    The profile keeps the position's factors and takes the person's from the candidate (of
    ``fresh``) sharing most factors with ``focus`` (the first best); exposure, learning and the
    staff node's adoptions are cleared; the leavers' ties (``slots``) are lost or inherited
    (one uniform each, ``draws``). Similarity is read from the profiles, so it follows.
    """
    profile = peers.profile
    n_factors = profile.shape[1]
    for row in range(len(leavers)):
        position = leavers[row]
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
    _leave_ties(slots, draws, ties, q)


@inlined
def _colleagues_leave(
    s: StaffArrays, chance: float, rng: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through leave
    """Each adopter who is not a peer leaves with ``chance``, taking its adoptions.

    One uniform each, in node order; nothing is drawn at a chance of 0. Returns the adopters
    after. Only adopters' departures change anything (a newcomer has adopted nothing, like one
    who never had), so only they draw: the cost follows the adopters, not the size of the staff.
    """
    if chance <= 0:
        return s.adopters
    adopters = s.adopters[~s.is_peer[s.adopters]]
    if len(adopters) == 0:
        return s.adopters
    leaving = adopters[as_generator(rng).random(len(adopters)) < chance]
    for node in leaving:
        s.adopted[node] = False
    return staff_changed(s, leaving)


@kernel
def _leave_ties(
    slots: np.ndarray, draws: np.ndarray, ties: TieArrays, q: Settings
) -> None:  # pragma: no cover - compiled; tested through leave
    """Ties of leavers are lost, or inherited by their successors.

    Each is inherited with chance kappa = ``levers.community_of_practice`` (its uniform in
    ``draws``) at trust psi x T (psi = ``turnover.inherited_trust``); either way it starts
    afresh: no age, no contract.
    """
    for k in range(len(slots)):
        s = slots[k]
        if draws[k] < q.community_of_practice:
            ties.trust[s] = q.inherited_trust * ties.trust[s]
            ties.age[s] = 0
            ties.contract[s] = 0
        else:
            remove(ties, s)


@kernel
def uniforms_at(
    rng: np.ndarray, size: int, cells: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tests/test_ties.py
    """The values ``rng.random(size)`` would hold at the flat positions ``cells`` (distinct).

    ``rng`` is a generator's handle (:func:`simulation.streams.handle`). The generator is left
    where drawing all ``size`` values would leave it; only the values read are generated:
    NumPy's PCG64 (the default) jumps from cell to cell and on to the end
    (:func:`simulation.streams.jump`), each double one 64-bit output, so every later draw is
    what it was when the N x N matrix of succession uniforms was drawn in full. Any other bit
    generator draws all ``size`` values.
    """
    generator = as_generator(rng)
    if rng[JUMP] == 0:
        return generator.random(size)[cells]
    values = np.empty(len(cells))
    position = 0
    for k in np.argsort(cells):
        jump(rng, cells[k] - position)
        values[k] = generator.random()
        position = cells[k] + 1
    jump(rng, size - position)
    return values
