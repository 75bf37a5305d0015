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
from typing import NamedTuple

import numpy as np

from simulation.compiled import inlined, kernel
from simulation.state import Peers, State


class Settings(NamedTuple):
    """The scenario values the compiled reflection reads, named as in the scenario."""

    base_rate: float  # reflection.base_rate
    without_sustained_contact: float  # reflection.without_sustained_contact
    forgetting: float  # reflection.forgetting

    @classmethod
    def of(cls, p: SimpleNamespace) -> Settings:
        """Read the settings from the scenario's parameters (once per run)."""
        r = p.reflection
        return cls(
            base_rate=float(r.base_rate),
            without_sustained_contact=float(r.without_sustained_contact),
            forgetting=float(r.forgetting),
        )


def reflect(state: State, p: SimpleNamespace) -> None:
    """Reflect this month's exposure into practical learning, by path; forget."""
    reflect_month(state.peers, state.month.reflection, Settings.of(p))


@inlined
def reflect_month(
    peers: Peers, tools: np.ndarray, q: Settings
) -> None:  # pragma: no cover - compiled; tested through reflect
    """:func:`reflect` compiled; ``tools``: the reflection rate the month's tools added."""
    _reflect(
        peers.sustained_contact,
        tools,
        peers.willingness,
        peers.exposure,
        peers.learning,
        peers.learned_with_contacts,
        peers.learned_alone,
        q.base_rate,
        q.without_sustained_contact,
        q.forgetting,
    )


@kernel
def _reflect(
    with_contact: np.ndarray,
    tools: np.ndarray,
    willingness: np.ndarray,
    exposure: np.ndarray,
    learning: np.ndarray,
    learned_with_contacts: np.ndarray,
    learned_alone: np.ndarray,
    base_rate: float,
    without_sustained_contact: float,
    forgetting: float,
) -> None:  # pragma: no cover - compiled; tested through reflect
    """The month's reflection, peer by peer, in one compiled call instead of a dozen array ones.

    The arithmetic of the array version element by element and in its order (a row's four
    learning types summed left to right, as NumPy sums a row), so the results are equal to the
    last bit.
    """
    keep = 1.0 - forgetting
    for i in range(len(willingness)):
        contact = with_contact[i]
        boost = base_rate + tools[i] if contact else without_sustained_contact * tools[i]
        rate = willingness[i] * boost
        rate = rate if rate < 1.0 else 1.0
        before = 0.0
        for k in range(learning.shape[1]):
            before += learning[i, k]
        after = 0.0
        for k in range(learning.shape[1]):
            value = learning[i, k] + rate * (exposure[i, k] - learning[i, k])
            learning[i, k] = value if value < exposure[i, k] else exposure[i, k]
            after += learning[i, k]
        gained = after - before
        learned_with_contacts[i] += gained if contact else 0.0
        learned_alone[i] += 0.0 if contact else gained
        if forgetting > 0:
            for k in range(learning.shape[1]):
                exposure[i, k] *= keep
                learning[i, k] *= keep
