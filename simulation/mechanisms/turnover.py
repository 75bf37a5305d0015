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

from simulation.compiled import kernel
from simulation.population import PERSONAL_FACTORS, draw_personal
from simulation.state import Peers, StaffArrays, State, staff_changed
from simulation.ties import TieArrays, remove, ties_of_group
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
    draws = p.facilitator.candidates if p.facilitator.selection == "matched" else 1
    fresh = rng.integers(0, p.population.profile_categories, (draws, len(leavers), N_FACTORS))
    # One uniform per pair of peers (a, b), a < b, as an N x N matrix drawn row by row would
    # give it, read only where a leaver has a tie (see matrix_uniforms). The compiled calls take
    # plain tuples (simulation/mechanisms/schedule.py says why).
    arrays = tuple(ties.arrays)
    cells, slots = _leavers_ties_of_tuple(arrays, leavers)
    uniforms = matrix_uniforms(rng, peers.n * peers.n, cells)
    state.staff.adopters = _succession(
        leavers,
        (personal["willingness"], personal["time_to_engage"], personal["share_forward"],
         personal["expertise"]),
        fresh,
        PERSONAL_FACTORS,
        state.focus,
        slots,
        uniforms,
        tuple(p.settings.turnover),
        tuple(peers),
        tuple(state.staff.arrays()),
        arrays,
    )
    return leavers


@kernel
def _leavers_ties_of_tuple(
    ties: tuple, leavers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled; tested through officials_leave
    """:func:`_leavers_ties` of the store as a plain tuple."""
    t = TieArrays(*ties)
    return _leavers_ties(t, len(t.head), leavers)


@kernel
def _succession(
    leavers: np.ndarray,
    personal: tuple,
    fresh: np.ndarray,
    factors: np.ndarray,
    focus: np.ndarray,
    slots: np.ndarray,
    uniforms: np.ndarray,
    q: tuple,
    peers: tuple,
    staff: tuple,
    ties: tuple,
) -> np.ndarray:  # pragma: no cover - compiled; tested through officials_leave
    """Successors take the leavers' positions with their ``personal`` traits (:func:`_succeed`).

    The records of the official in post start afresh. Returns the staff's adopters after.
    ``personal``: willingness, time to engage, share forward and expertise of the successors;
    the tuples are the settings, peers, staff and tie store as plain tuples.
    """
    p, s = Peers(*peers), StaffArrays(*staff)
    willingness, time_to_engage, share_forward, expertise = personal
    for row in range(len(leavers)):
        x = leavers[row]
        p.willingness[x] = willingness[row]
        p.time_to_engage[x] = time_to_engage[row]
        p.share_forward[x] = share_forward[row]
        p.expertise[x] = expertise[row]
    _succeed(leavers, fresh, factors, focus, slots, uniforms, Settings(*q), p, s.adopted,
             TieArrays(*ties))
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
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled; tested through officials_leave
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
) -> None:  # pragma: no cover - compiled; tested through officials_leave
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


def colleagues_leave(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Colleagues who leave take what they adopted with them."""
    staff = state.staff
    rate = monthly(p.home_organisations.staff_turnover)
    if rate <= 0:
        return
    # Only adopters' departures change anything (a newcomer has adopted nothing, like one who
    # never had), so only they draw: the cost follows the adopters, not the size of the staff.
    adopters = staff.adopters[~staff.is_peer[staff.adopters]]
    if len(adopters):
        leaving = adopters[rng.random(len(adopters)) < rate]
        staff.adopted[leaving] = False
        staff.changed(leaving)


@kernel
def _leave_ties(
    slots: np.ndarray, draws: np.ndarray, ties: TieArrays, q: Settings
) -> None:  # pragma: no cover - compiled; tested through officials_leave
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


def matrix_uniforms(rng: np.random.Generator, size: int, cells: np.ndarray) -> np.ndarray:
    """The values ``rng.random(size)`` would hold at the flat positions ``cells``.

    The generator is left where drawing all ``size`` values would leave it, so every later draw
    is what it was when the N x N matrix of succession uniforms was drawn in full; only the
    few values read are generated. PCG64 (NumPy's default) jumps ahead in O(log size) steps;
    each double takes one 64-bit output. Any other bit generator draws all ``size`` values.
    """
    cells = np.asarray(cells, dtype=np.int64)
    bit = rng.bit_generator
    if type(bit) is not np.random.PCG64:
        return rng.random(size)[cells]
    # The generator itself jumps from cell to cell and on to the end: the jumps add up to
    # ``size`` draws, as one jump would. A jump clears the buffered 32-bit half-word, which
    # the full draw would have kept, so it is put back (read from the state before).
    start = bit.state
    values = np.empty(len(cells))
    position = 0
    for k in np.argsort(cells):
        bit.advance(int(cells[k]) - position)
        values[k] = rng.random()
        position = int(cells[k]) + 1
    bit.advance(size - position)
    if start["has_uint32"]:
        end = bit.state
        end["has_uint32"], end["uinteger"] = start["has_uint32"], start["uinteger"]
        bit.state = end
    return values
