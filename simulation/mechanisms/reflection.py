"""Submodel: reflection on sustained contacts turns exposure into practical learning.

Practical learning comes from sustained individual contacts and reflection on them (report
Figure 13, objective 3: "Sustained individual contacts lead to practical peer learning"): a peer
who holds a sustained contact this month (``Peers.sustained_contact``, set by ``contact.py``)
reflects, L_ik <- L_ik + rho_i (E_ik - L_ik), rho_i = v_i (rho0 + rho_R,i), where v_i is
willingness to learn and rho_R the reflection tools it took part in this month (Di Stefano et al.
2014: articulating experience beats more practice).

The report allows one other path: reflection tools run at foundational meetings ("activities
that force peers to discuss what they learned", report Table 2 and its text). A peer without a
sustained contact reflects only in a month it takes part in one, at rho_i = v_i u rho_R,i, u =
``reflection.without_sustained_contact`` (0 closes the path); without either, exposure stays
exposure. What each path brought is recorded (``learned_with_contacts``, ``learned_alone``) so
the observer can say by which path a learner learned (``simulation/stages.py``). Optional
forgetting scales E and L by (1 - phi_f).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulation.state import State


def reflect(state: State, p: SimpleNamespace) -> None:
    """Reflect this month's exposure into practical learning, by path; forget."""
    peers = state.peers
    with_contact = peers.sustained_contact
    tools = state.month.reflection
    boost = np.where(
        with_contact, p.reflection.base_rate + tools, p.reflection.without_sustained_contact * tools
    )
    rate = np.minimum(1.0, peers.willingness * boost)
    before = peers.learning.sum(axis=1)
    peers.learning[...] += rate[:, None] * (peers.exposure - peers.learning)
    np.minimum(peers.learning, peers.exposure, out=peers.learning)  # rounding at rate 1
    gained = peers.learning.sum(axis=1) - before
    peers.learned_with_contacts[...] += np.where(with_contact, gained, 0.0)
    peers.learned_alone[...] += np.where(with_contact, 0.0, gained)
    if p.reflection.forgetting > 0:
        keep = 1.0 - p.reflection.forgetting
        peers.exposure[...] *= keep
        peers.learning[...] *= keep
