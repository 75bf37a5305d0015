"""The month after the facilitator's tools, in one or two compiled calls.

Contact and trust, knowledge transfer, the community of practice, reflection, share forward,
background adoption, discontinuance, diffusion, change at scale and observation (docs/ODD.md §3)
run here in the order of the model's schedule, each submodel's compiled month called in turn, as
one compiled call: called one by one from Python, each cost more to call (its arguments checked
and converted, about 2-5 us) than its work for a typical initiative's few dozen peers (issue 13).
Where in-house sharing or dissemination events are on (drawn in Python, with NumPy's generator
methods), the month is two calls with them between.

Every draw comes from the model's generator through its handle (``simulation.streams``), in the
order the submodels run one by one (``PeerLearningModel.one_by_one``): results are those of the
submodels called one by one, bit for bit (tests/test_schedule.py).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from numba import njit

from simulation.mechanisms import contact, diffusion, evaluation, reflection, transfer
from simulation.state import Attendance, Organisations, Peers, StaffArrays, State, with_adopters
from simulation.streams import handle
from simulation.ties import TieArrays


def after_tools(
    state: State,
    p: SimpleNamespace,
    month: int,
    rng: np.random.Generator,
    background: np.ndarray,
    observer: evaluation.Observer,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the month from informal contact to observation; record it in ``observer``.

    Args:
        state: The model state, after the month's turnover and tools.
        p: Parameters, with their compiled settings (``p.settings``).
        month: The month (1-based).
        rng: The model's generator.
        background: This month's background adoptions from the background stream
            (:func:`simulation.mechanisms.diffusion.background_draws`).
        observer: The run's observer.

    Returns:
        The ties that had informal contact (their slots) and the peers a conversation taught
        (productive), for the month's observers.
    """
    q, staff, h = p.settings, state.staff, handle(rng)
    observed = observer.settings(state, p)
    if p.home_organisations.structured_sharing > 0 or p.levers.dissemination > 0:
        informal, productive, carries, sharers, staff.adopters = _first(
            state.peers, state.orgs, state.ties.arrays, staff.arrays(), state.month.arrays,
            month, q.contact, q.transfer, q.reflection, q.diffusion, h,
        )
        diffusion.sharing_at_home(state, carries, sharers, p, rng)
        staff.adopters, values = _second(
            state.peers, state.orgs, state.ties.arrays, staff.arrays(), state.month.arrays,
            month, background, q.diffusion, observed, h,
        )
    else:
        informal, productive, staff.adopters, values = _whole(
            state.peers, state.orgs, state.ties.arrays, staff.arrays(), state.month.arrays,
            month, background, q.contact, q.transfer, q.reflection, q.diffusion, observed, h,
        )
    observer.record(values, state.month, month)
    return informal, productive


@njit(cache=True)
def _first(
    peers: Peers,
    orgs: Organisations,
    ties: TieArrays,
    staff: StaffArrays,
    attendance: Attendance,
    month: int,
    q_contact: contact.Settings,
    q_transfer: transfer.Settings,
    q_reflection: reflection.Settings,
    q_diffusion: diffusion.Settings,
    rng: np.ndarray,
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """Informal contact to share forward.

    Returns the contacted slots, the productive peers, the lessons carried, the sharers and the
    adopters.
    """
    informal = contact.informal_month(ties, peers, q_contact, rng)
    contact.trust_month(ties, peers, q_contact, rng)
    productive = transfer.exchange_month(ties, peers, q_transfer, rng)
    transfer.socialise_month(peers, q_transfer)
    reflection.reflect_month(peers, attendance.reflection, q_reflection)
    carries, sharers, adopters = diffusion.share_month(
        peers, orgs, ties, staff, month, q_diffusion, rng
    )
    return informal, productive, carries, sharers, adopters


@njit(cache=True)
def _second(
    peers: Peers,
    orgs: Organisations,
    ties: TieArrays,
    staff: StaffArrays,
    attendance: Attendance,
    month: int,
    background: np.ndarray,
    q_diffusion: diffusion.Settings,
    q_observation: evaluation.Settings,
    rng: np.ndarray,
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """Background adoption to observation: the adopters and the observed values."""
    if len(background):
        staff = with_adopters(staff, diffusion.adopt_in_background(staff, background))
    staff = with_adopters(staff, diffusion.discontinue_month(staff, orgs.changed, q_diffusion, rng))
    staff = with_adopters(staff, diffusion.spread_month(staff, orgs.openness, q_diffusion, rng))
    diffusion.change_month(staff, orgs, month, q_diffusion)
    values = evaluation.observe_month(peers, orgs, ties, staff, attendance.tools, q_observation)
    return staff.adopters, values


@njit(cache=True)
def _whole(
    peers: Peers,
    orgs: Organisations,
    ties: TieArrays,
    staff: StaffArrays,
    attendance: Attendance,
    month: int,
    background: np.ndarray,
    q_contact: contact.Settings,
    q_transfer: transfer.Settings,
    q_reflection: reflection.Settings,
    q_diffusion: diffusion.Settings,
    q_observation: evaluation.Settings,
    rng: np.ndarray,
) -> tuple:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """The whole month after the tools, without sharing at home.

    :func:`_first`, then :func:`_second`.
    """
    informal, productive, _, _, adopters = _first(
        peers, orgs, ties, staff, attendance, month, q_contact, q_transfer, q_reflection,
        q_diffusion, rng,
    )
    adopters, values = _second(
        peers, orgs, ties, with_adopters(staff, adopters), attendance, month, background,
        q_diffusion, q_observation, rng,
    )
    return informal, productive, adopters, values
