"""Submodel: observation of the stages, the true outcomes and the facilitator's reported metrics.

Recorded at the end of every month. Stage shares are of the positions whose official in post has
reached the stage (cumulative for that official; stages are nested: engaged, then sustained
contacts, then practical learning, then applied). Beside the true outcomes the facilitator's
reported metrics (events held, products released, attendance) are kept, so the evaluation gap
(report Figure 11) can be measured.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from simulation.result import timeseries_frame
from simulation.state import State
from simulation.tools import LEARNING_TYPES

STAGES = ("engaged", "sustained_contacts", "practical_learning", "applied")
COLUMNS = (
    "month",
    *STAGES,
    "ties_alive",
    "mean_trust",
    *(f"learning_{k}" for k in LEARNING_TYPES),
    "staff_reached",
    *(f"staff_adopted_{k}" for k in LEARNING_TYPES),
    "orgs_changed",
    *(f"orgs_changed_{k}" for k in LEARNING_TYPES),
    "countries_changed",
    "departures",
    "events_held",
    "products_released",
    "attendance_rate",
    "reported_attendance",
)
# Summary keys that are the final month's value of a time-series column.
SUMMARY_FROM_FINAL_MONTH = tuple(c for c in COLUMNS if c not in ("month", "attendance_rate"))


class Observer:
    """Collects one row per month into preallocated arrays."""

    def __init__(self, months: int) -> None:
        self.table = {name: np.full(months, np.nan) for name in COLUMNS}
        self.rows = 0
        self._events = 0
        self._products = 0
        self._invited = 0
        self._attendance = 0
        self._upper: np.ndarray | None = None
        self._per_country: np.ndarray | None = None

    def observe(self, state: State, p: SimpleNamespace, month: int) -> None:
        """Record the state at the end of ``month``."""
        peers, ties, orgs, this = state.peers, state.ties, state.orgs, state.month
        row = self.rows
        t = self.table
        n = peers.n
        t["month"][row] = month
        # Counts over sizes rather than .mean(): the same numbers at a fraction of the overhead,
        # which matters at sixty observations a run and thousands of runs a sweep.
        t["engaged"][row] = np.count_nonzero(peers.engaged) / n
        t["sustained_contacts"][row] = np.count_nonzero(peers.sustained) / n
        t["practical_learning"][row] = np.count_nonzero(peers.practical) / n
        t["applied"][row] = np.count_nonzero(peers.applied) / n
        if self._upper is None:
            self._upper = np.triu(np.ones((n, n), dtype=bool), 1)
            self._per_country = np.bincount(orgs.country)
        upper = ties.alive & self._upper
        n_ties = np.count_nonzero(upper)
        t["ties_alive"][row] = n_ties
        t["mean_trust"][row] = ties.trust[upper].sum() / n_ties if n_ties else 0.0
        mean_learning = np.add.reduce(peers.learning, axis=0) / n
        n_orgs = len(orgs.changed)
        changed_by_type = np.add.reduce(orgs.changed, axis=0, dtype=np.int64) / n_orgs
        adopted_by_type, reached = self._colleagues_adopted(state)
        for k, name in enumerate(LEARNING_TYPES):
            t[f"learning_{name}"][row] = mean_learning[k]
            t[f"staff_adopted_{name}"][row] = adopted_by_type[k]
            t[f"orgs_changed_{name}"][row] = changed_by_type[k]
        t["staff_reached"][row] = reached
        changed = orgs.changed.view(np.uint32)[:, 0] != 0
        t["orgs_changed"][row] = np.count_nonzero(changed) / n_orgs
        by_country = np.bincount(orgs.country, weights=changed) / self._per_country
        t["countries_changed"][row] = np.count_nonzero(
            by_country >= p.home_organisations.national_share
        ) / len(by_country)
        t["departures"][row] = this.departures
        self._events += this.events
        self._products += this.products
        self._invited += this.invited
        self._attendance += this.attendance
        t["events_held"][row] = self._events
        t["products_released"][row] = self._products
        t["attendance_rate"][row] = this.attendance / this.invited if this.invited else np.nan
        t["reported_attendance"][row] = self._attendance / self._invited if self._invited else 0.0
        self.rows += 1

    @staticmethod
    def _colleagues_adopted(state: State) -> tuple[np.ndarray, float]:
        """Share of colleagues (staff who are not peers) who adopted each type, and any type."""
        staff = state.staff
        n_types = staff.adopted.shape[1]
        peer_nodes = state.peers.staff_node
        colleagues = len(staff.org) - len(peer_nodes)
        any_type = staff.adopted_any()
        reached = np.count_nonzero(any_type)
        if reached == 0:
            return np.zeros(n_types), 0.0
        # Count everyone, then take the few peers' own nodes off: no copy of the staff array.
        counts = np.add.reduce(staff.adopted_by_org(), axis=0, dtype=np.int64)
        counts -= np.add.reduce(staff.adopted[peer_nodes], axis=0, dtype=np.int64)
        reached -= np.count_nonzero(any_type[peer_nodes])
        return counts / colleagues, reached / colleagues

    def monthly(self) -> dict[str, np.ndarray]:
        """The months observed so far: one array per column."""
        return {name: values[: self.rows].copy() for name, values in self.table.items()}

    def timeseries(self) -> pd.DataFrame:
        """The months observed so far, one row each."""
        return timeseries_frame(self.monthly())

    def summary(self) -> dict[str, float]:
        """The final month's outcomes, with totals over the run."""
        if self.rows == 0:
            return {}
        last = {name: float(self.table[name][self.rows - 1]) for name in SUMMARY_FROM_FINAL_MONTH}
        rates = self.table["attendance_rate"][: self.rows]
        last["months"] = float(self.rows)
        last["departures"] = float(np.nansum(self.table["departures"][: self.rows]))
        last["mean_attendance_rate"] = float(np.nanmean(rates)) if np.isfinite(rates).any() else 0.0
        return last
