"""Submodel: reflection turns exposure into practical learning.

L_ik <- L_ik + rho_i (E_ik - L_ik), rho_i = v_i (rho0 + rho_R), where v_i is willingness to learn
and rho_R the reflection tools a peer took part in this month (Di Stefano et al.: articulating
experience beats more practice). Optional forgetting scales E and L by (1 - phi_f). A peer in post
who has sustained contacts reaches practical learning when some L_ik >= theta_L.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulation.state import State


def reflect(state: State, p: SimpleNamespace) -> None:
    """Reflect this month's exposure into practical learning; forget; update the stage."""
    peers = state.peers
    rate = np.minimum(1.0, peers.willingness * (p.reflection.base_rate + state.month.reflection))
    peers.learning[...] += rate[:, None] * (peers.exposure - peers.learning)
    np.minimum(peers.learning, peers.exposure, out=peers.learning)  # rounding at rate 1
    if p.reflection.forgetting > 0:
        keep = 1.0 - p.reflection.forgetting
        peers.exposure[...] *= keep
        peers.learning[...] *= keep
    carries = (peers.learning >= p.reflection.carry_threshold).any(axis=1)
    peers.practical[...] |= peers.sustained & carries
