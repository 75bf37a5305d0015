"""Submodel: observation of the stages, the true outcomes and the facilitator's reported metrics.

Recorded at the end of every month. The hourglass stages are observer thresholds defined once in
``simulation/stages.py`` (stage 1 a share of organisations and countries, stages 2 to 4 shares of
positions, with appliers by path); they read what the mechanisms did and gate nothing. Beside the
true outcomes the facilitator's
reported metrics (events held, products released, attendance) are kept, so the evaluation gap
(report Figure 11) can be measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pandas as pd

from simulation import stages
from simulation.compiled import inlined, kernel
from simulation.result import timeseries_frame
from simulation.state import Month, Organisations, Peers, StaffArrays, State
from simulation.ties import TieArrays, live_count, mean_trust
from simulation.tools import load_tools
from simulation.vocabulary import LEARNING_TYPES, STAGES

__all__ = ["COLUMNS", "STAGES", "MonthRecord", "Observer"]
COLUMNS = (
    "month",
    *stages.STAGE_COLUMNS,
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
# The columns ``_counts`` fills, in its order.
_COUNTED = np.array(
    [
        COLUMNS.index(name)
        for name in (
            "ties_alive",
            *(f"learning_{k}" for k in LEARNING_TYPES),
            *(f"staff_adopted_{k}" for k in LEARNING_TYPES),
            "staff_reached",
            *(f"orgs_changed_{k}" for k in LEARNING_TYPES),
            "orgs_changed",
            "countries_changed",
        )
    ]
)


@dataclass(frozen=True)
class MonthRecord:
    """What one month held, published to the model's month observers (the observation seam).

    Attributes:
        month: The month (1-based).
        formal: (N, N) bool, symmetric: pairs brought together by a facilitator's tool.
        informal: (N, N) bool, symmetric: pairs in self-initiated or contract contact.
        productive: (N,) bool, peers whose exposure a conversation raised (a transfer succeeded).
        codified: (N,) bool, peers whose exposure codified knowledge (a tool's broadcast) raised.
        tools: (N,) int64 bit mask over the tool table: the tools each peer took part in.
        attended: (N,) bool, took part in some tool.
        person: (N,) the Mesa id of the official in each position at the end of the month.
    """

    month: int
    formal: np.ndarray
    informal: np.ndarray
    productive: np.ndarray
    codified: np.ndarray
    tools: np.ndarray
    attended: np.ndarray
    person: np.ndarray


def informal_matrix(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """(n, n) bool, symmetric: True on the pairs (i, j) and (j, i)."""
    matrix = np.zeros((n, n), dtype=bool)
    matrix[i, j] = True
    matrix[j, i] = True
    return matrix


class Observer:
    """Collects one row per month into preallocated arrays."""

    def __init__(self, months: int) -> None:
        self.values = np.full((months, len(COLUMNS)), np.nan)
        self.table = {name: self.values[:, c] for c, name in enumerate(COLUMNS)}
        self.rows = 0
        self._events = 0
        self._products = 0
        self._invited = 0
        self._attendance = 0
        self._settings: Settings | None = None
        self._plain: tuple | None = None
        self._foundational = stages.foundational_gatherings(load_tools())
        # Where observe_month's values go: the stage columns, the counted ones, mean trust.
        self._observed_columns = np.array(
            [*(COLUMNS.index(name) for name in stages.STAGE_COLUMNS), *_COUNTED,
             COLUMNS.index("mean_trust")]
        )

    def settings(self, state: State, p: SimpleNamespace) -> Settings:
        """What the compiled observation reads of the run (fixed for the run)."""
        if self._settings is None:
            self._settings = Settings(
                foundational=np.int64(self._foundational),
                per_country=np.bincount(state.orgs.country),
                stages=stages.Settings.of(p),
                national_share=float(p.home_organisations.national_share),
                colleagues=len(state.staff.is_peer) - state.peers.n,
            )
        return self._settings

    def plain_settings(self, state: State, p: SimpleNamespace) -> tuple:
        """:meth:`settings` as a plain tuple, made once per run.

        Its stage settings are a plain tuple in it, as compiled calls take them.
        """
        if self._plain is None:
            settings = self.settings(state, p)
            self._plain = (*settings[:2], tuple(settings.stages), *settings[3:])
        return self._plain

    def observe(self, state: State, p: SimpleNamespace, month: int) -> None:
        """Record the state at the end of ``month``."""
        values = observe_month(
            state.peers, state.orgs, state.ties.arrays, state.staff.arrays(), state.month.tools,
            self.settings(state, p),
        )
        self.record(values, state.month, month)

    def record(self, values: np.ndarray, this: Month, month: int) -> None:
        """Write ``month``'s row from :func:`observe_month`'s ``values`` and the month's counts."""
        row = self.rows
        t = self.table
        self.values[row, self._observed_columns] = values
        t["month"][row] = month
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

    def ahead(self) -> tuple:
        """What a compiled run of months writes its rows through (:func:`record_month`).

        The table, the next row, where the observed values go, the columns of the month, its
        departures and the facilitator's counts, and the running totals (events, products,
        invited, attendance); :meth:`recorded` takes the totals back.
        """
        totals = np.array([self._events, self._products, self._invited, self._attendance])
        return self.values, self.rows, self._observed_columns, _MONTH_COUNT_COLUMNS, totals

    def recorded(self, rows: int, totals: np.ndarray) -> None:
        """Take back ``rows`` more rows written by :func:`record_month`, and the ``totals``."""
        self.rows += rows
        self._events, self._products, self._invited, self._attendance = map(int, totals)

    def monthly(self) -> dict[str, np.ndarray]:
        """The months observed so far: one array per column."""
        return {name: self.values[: self.rows, c].copy() for c, name in enumerate(COLUMNS)}

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


class Settings(NamedTuple):
    """What the compiled observation reads, fixed for a run."""

    foundational: np.int64  # stages.foundational_gatherings of the tool table
    per_country: np.ndarray  # (countries,) organisations in each
    stages: stages.Settings
    national_share: float  # home_organisations.national_share
    colleagues: int  # staff who are not peers


_MONTH_COUNTS = ("month", "departures", "events_held", "products_released", "attendance_rate",
                 "reported_attendance")
"""The columns :func:`record_month` writes besides the observed values, in its order."""
_MONTH_COUNT_COLUMNS = np.array([COLUMNS.index(name) for name in _MONTH_COUNTS])


@inlined
def record_month(
    ahead: tuple, row: int, values: np.ndarray, month: int, departures: int, counts: np.ndarray
) -> None:  # pragma: no cover - compiled; tested through the model (tests/test_schedule.py)
    """:meth:`Observer.record` in compiled code, into the table of :meth:`Observer.ahead`.

    ``row`` the row to write, ``values`` those of :func:`observe_month`, ``counts`` the month's
    events, products, invited and attendance (zeros without tools); adds them to the totals.
    """
    table, _, observed, columns, totals = ahead
    for k in range(len(observed)):
        table[row, observed[k]] = values[k]
    for k in range(4):
        totals[k] += counts[k]
    table[row, columns[0]] = month
    table[row, columns[1]] = departures
    table[row, columns[2]] = totals[0]
    table[row, columns[3]] = totals[1]
    table[row, columns[4]] = counts[3] / counts[2] if counts[2] else np.nan
    table[row, columns[5]] = totals[3] / totals[2] if totals[2] else 0.0


@inlined
def observe_month(
    peers: Peers,
    orgs: Organisations,
    ties: TieArrays,
    staff: StaffArrays,
    took_part: np.ndarray,
    q: Settings,
) -> np.ndarray:  # pragma: no cover - compiled; tested through observe
    """The month's observed values: the stage columns, the counted columns, mean trust."""
    stage = stages.observe_month(peers, orgs, took_part, q.foundational, q.per_country, q.stages)
    counted = _counts(
        peers, live_count(ties), orgs, q.per_country, q.national_share, staff.adopted,
        staff.is_peer, staff.adopters, q.colleagues,
    )
    out = np.empty(len(stage) + len(counted) + 1)
    out[: len(stage)] = stage
    out[len(stage) : -1] = counted
    out[-1] = mean_trust(ties)
    return out


@kernel
def _counts(
    peers: Peers, n_ties: int, orgs: Organisations, per_country: np.ndarray,
    national_share: float, adopted: np.ndarray, is_peer: np.ndarray, adopters: np.ndarray,
    colleagues: int,
) -> np.ndarray:  # pragma: no cover - compiled; tested through observe
    """The month's counts and shares, in the order of ``_COUNTED``, in one pass over each array.

    Staff shares are of colleagues (staff who are not peers), counted over the adopters only.
    """
    learning, changed, country = peers.learning, orgs.changed, orgs.country
    n, n_types = learning.shape
    out = np.zeros(4 + 3 * n_types)
    out[0] = n_ties
    total = np.zeros(n_types)
    for i in range(n):  # row by row, as NumPy sums along the first axis
        for k in range(n_types):
            total[k] += learning[i, k]
    out[1 : 1 + n_types] = total / n
    reached = 0
    by_type = np.zeros(n_types, dtype=np.int64)
    for node in adopters:
        if is_peer[node]:
            continue
        some = False
        for k in range(n_types):
            if adopted[node, k]:
                by_type[k] += 1
                some = True
        reached += some
    out[1 + n_types : 1 + 2 * n_types] = by_type / colleagues
    out[1 + 2 * n_types] = reached / colleagues
    n_orgs = len(changed)
    changed_by_type = np.zeros(n_types, dtype=np.int64)
    changed_in_country = np.zeros(len(per_country))
    n_changed = 0
    for o in range(n_orgs):
        some = False
        for k in range(n_types):
            if changed[o, k]:
                changed_by_type[k] += 1
                some = True
        n_changed += some
        changed_in_country[country[o]] += some
    out[2 + 2 * n_types : 2 + 3 * n_types] = changed_by_type / n_orgs
    out[2 + 3 * n_types] = n_changed / n_orgs
    out[3 + 3 * n_types] = (changed_in_country / per_country >= national_share).sum() / len(
        per_country
    )
    return out
