"""The evaluation gap (report Figure 11, P6), measured on a population of initiatives.

Facilitators' evaluations mostly show events, products and attendance (over 80 % of the 34 with
documents), some overall impact (about 60 %), seldom training transfer (about 20 %) and hardly
ever learning. Over the runs of a population (one drawn initiative per run, each summary holding
what its evaluation reports, ``reports_*``, beside the true outcomes), this module measures how
little of the learning and change the reports see, and how weakly what they show follows them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from simulation.initiative import REPORTED_METRICS

__all__ = ["evaluation_gap"]


def evaluation_gap(
    summaries: Sequence[Mapping[str, float]],
    learning: str = "practical_learning",
    change: str = "orgs_changed",
) -> dict[str, float]:
    """What the population's evaluations report, and what they miss.

    Args:
        summaries: One run summary per initiative (``Result.summary``, or rows of a sweep).
        learning: The summary key of the true learning outcome.
        change: The summary key of the true change at scale.

    Returns:
        ``reports_<metric>``: share of initiatives whose evaluation reports it (Figure 11);
        ``learning_unseen``: share of all learning (summed over initiatives) in initiatives whose
        evaluation does not assess learning; ``change_unseen``: the same for change at scale
        and evaluations without overall impact (NaN when there is none);
        ``rho_<reported>_<outcome>``: Spearman rank correlation, over the initiatives that
        report activity, of ``events_held`` and ``reported_attendance`` with the learning and
        change outcomes (NaN when fewer than 3 such initiatives or a constant column).
    """
    rows = list(summaries)
    out: dict[str, float] = {}
    flags = {m: np.array([bool(r[f"reports_{m}"]) for r in rows]) for m in REPORTED_METRICS}
    for m in REPORTED_METRICS:
        out[f"reports_{m}"] = float(flags[m].mean()) if rows else float("nan")
    truth = {
        "learning": np.array([float(r[learning]) for r in rows]),
        "change": np.array([float(r[change]) for r in rows]),
    }
    out["learning_unseen"] = _unseen(truth["learning"], flags["learning"])
    out["change_unseen"] = _unseen(truth["change"], flags["impact"])
    active = flags["activity"]
    for shown in ("events_held", "reported_attendance"):
        values = np.array([float(r[shown]) for r in rows])
        for outcome, true in truth.items():
            out[f"rho_{shown}_{outcome}"] = _spearman(values[active], true[active])
    return out


def _unseen(true: np.ndarray, seen: np.ndarray) -> float:
    total = true.sum()
    return float(true[~seen].sum() / total) if total > 0 else float("nan")


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)
