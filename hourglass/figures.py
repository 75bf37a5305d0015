"""Figures of single runs: the hourglass, from engagement to change at scale."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from simulation.result import Result

# Top to bottom, the hourglass of report Figures 1 and 14.
LEVELS = (
    ("engaged", "Peers engaged\n(foundational engagement)"),
    ("sustained_contacts", "Sustained individual\ncontacts"),
    ("practical_learning", "Practical peer\nlearning"),
    ("applied", "Learning applied\nat home"),
    ("staff_reached", "Colleagues who\nadopted a lesson"),
    ("orgs_changed", "Organisations changed\nat scale"),
)
COLOURS = ("#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd")


def plot_hourglass(result: Result, path: Path | str, title: str | None = None) -> Path:
    """Draw the hourglass of one run and its course over the months.

    Left: the share reaching each level at the end, drawn as centred bars, so the figure narrows
    where the path stalls and widens where learning reaches scale. Right: the same shares month
    by month.

    Args:
        result: A run's result.
        path: Where to write the PNG.
        title: Figure title (default: the scenario name and seed).

    Returns:
        The path written.
    """
    series = result.timeseries
    fig, (shape, course) = plt.subplots(
        1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1, 1.4]}
    )
    _draw_shape(shape, result.summary)
    _draw_course(course, series)
    fig.suptitle(title or f"Hourglass: scenario '{result.scenario.name}', seed {result.seed}")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _draw_shape(ax: plt.Axes, summary: dict[str, float]) -> None:
    rows = range(len(LEVELS))
    for row, ((key, _label), colour) in enumerate(zip(LEVELS, COLOURS, strict=True)):
        share = summary[key]
        ax.barh(row, share, left=-share / 2, color=colour, height=0.7)
        ax.text(0.55, row, f"{share:.0%}", va="center", ha="left")
    ax.set_yticks(list(rows), [label for _, label in LEVELS])
    ax.invert_yaxis()
    ax.set_xlim(-0.55, 0.7)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title("Share reaching each level, final month")


def _draw_course(ax: plt.Axes, series: pd.DataFrame) -> None:
    for (key, label), colour in zip(LEVELS, COLOURS, strict=True):
        ax.plot(series["month"], series[key], color=colour, label=label.replace("\n", " "))
    ax.set_xlabel("month")
    ax.set_ylabel("share of peers, staff or organisations")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    ax.set_title("Over time")
