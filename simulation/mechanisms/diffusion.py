"""Submodel: share forward into the home organisation, diffusion through its staff, change at scale.

A peer carries a lesson of type k when L_ik >= theta_L. Each month a carrier shares forward with
chance w_i x (time and space of the home organisation): the peer applies the lesson at work, so
the peer's own node in the staff network becomes an adopter and its colleagues see it (report
Figure 12, horizontal connections). Colleagues adopt by simple contagion, 1 - (1 - beta_o
omega)^a with a adopted neighbours, or by complex contagion, beta_o omega once a >= m and epsilon
omega below (Centola & Macy 2007; Eckles et al. 2024), omega being the organisation's openness.
An organisation changes at scale for type k when the share of its staff who adopted reaches Phi
(Centola et al. 2018); the change is institutionalised and persists.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulation.state import State


def share_forward(state: State, p: SimpleNamespace, month: int, rng: np.random.Generator) -> None:
    """Carriers share their lessons at home."""
    peers = state.peers
    carries = peers.learning >= p.reflection.carry_threshold
    carriers = carries.any(axis=1)
    if not carriers.any():
        return
    time_and_space = state.orgs.time_and_space[peers.org]
    time_and_space = time_and_space + p.facilitator.report_backs * (1.0 - time_and_space) * min(
        1.0, month / 12
    )
    under_contract = (state.ties.contract > 0).any(axis=1)
    willing = np.minimum(
        1.0, peers.share_forward + p.contact.contract_share_forward * under_contract
    )
    shares = carriers & (rng.random(peers.n) < willing * time_and_space)
    nodes = peers.staff_node[shares]
    state.staff.adopted[nodes] |= carries[shares]
    peers.applied |= shares & peers.practical


def spread(state: State, p: SimpleNamespace, rng: np.random.Generator) -> None:
    """Colleagues adopt lessons from adopted neighbours."""
    staff = state.staff
    if not staff.adopted_any().any():
        return
    neighbours = staff.adjacency @ staff.adopted.astype(np.float32)
    exposed = np.flatnonzero(neighbours.any(axis=1) & ~staff.is_peer)
    if len(exposed) == 0:
        return
    count = neighbours[exposed]
    openness = state.orgs.openness[staff.org[exposed]][:, None]
    rate = p.diffusion.adoption_rate * openness
    simple = 1.0 - (1.0 - rate) ** count
    complex_ = np.where(
        count >= p.diffusion.complex_threshold,
        rate,
        np.where(count >= 1, p.diffusion.below_threshold * openness, 0.0),
    )
    is_simple = np.array([rule == "simple" for rule in p.diffusion.contagion])
    chance = np.where(is_simple, simple, complex_)
    staff.adopted[exposed] |= rng.random(chance.shape) < chance


def adopted_share(state: State) -> np.ndarray:
    """(organisations, 4) share of each organisation's staff who adopted each type."""
    staff = state.staff
    n_orgs = len(staff.org_size)
    by_org = staff.adopted.reshape(n_orgs, -1, staff.adopted.shape[1])
    return np.count_nonzero(by_org, axis=1) / by_org.shape[1]


def change_at_scale(state: State, p: SimpleNamespace, month: int) -> None:
    """Flag organisations whose adopted share reached the change threshold."""
    orgs = state.orgs
    if not state.staff.adopted_any().any():
        return
    reached = adopted_share(state) >= p.home_organisations.change_threshold
    new = reached & ~orgs.changed
    orgs.changed_month[new] = month
    orgs.changed |= reached
