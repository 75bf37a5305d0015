"""Every figure of the study, in one place.

* The hourglass of one run (:func:`plot_hourglass`, ``hourglass run``'s ``hourglass.png``), drawn
  from :func:`draw_shape` and :func:`draw_course`, which the explorer uses too.
* The validation figure (:func:`validation_figure`, ``hourglass validate``).
* The report's experiments (:func:`contact_figure`, :func:`learning_figure`,
  :func:`natural_figure`, ``hourglass experiment``).

The explorer's own views (network, organisations, contact heat map, and the comparison of two
designs over many seeds) live in :mod:`hourglass.explorer.figures` and draw the hourglass with
the functions here. Functions that return a :class:`~matplotlib.figure.Figure` touch no pyplot
state, so they can be drawn from several threads or browser sessions at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from simulation.result import Result

# Top to bottom, the hourglass of report Figures 1 and 14.
LEVELS = (
    # Stage 1 is a share of organisations (peer group foundational engagement established),
    # stages 2 to 4 shares of positions: the hourglass goes from groups to individuals and back.
    ("engaged", "Organisations engaged\n(foundational engagement)"),
    ("sustained_contacts", "Sustained individual\ncontacts"),
    ("practical_learning", "Practical peer\nlearning"),
    ("applied", "Learning applied\nat home"),
    ("staff_reached", "Colleagues who\nadopted a lesson"),
    ("orgs_changed", "Organisations changed\nat scale"),
)
COLOURS = ("#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd")


# -- the hourglass -----------------------------------------------------------------------------


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
    # a Figure of its own, not pyplot's: no pyplot state, and a cold ``hourglass run`` does not
    # import pyplot and its backend machinery
    fig = Figure(figsize=(12, 5))
    shape, course = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    draw_shape(shape, result.summary)
    shape.set_title("Share reaching each level, final month")
    draw_course(course, series)
    course.set_ylabel("share of peers, staff or organisations")
    course.legend(fontsize=8, loc="center right")
    course.set_title("Over time")
    fig.suptitle(title or f"Hourglass: scenario '{result.scenario.name}', seed {result.seed}")
    # Margins fixed rather than fitted (tight_layout): the labels that need room are the
    # levels' names, always the same; fitting them took 0.06 s of a cold ``hourglass run``'s 1.5
    fig.subplots_adjust(left=0.185, right=0.9875, top=0.86, bottom=0.115, wspace=0.18)
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def draw_shape(
    ax: Axes,
    shares: Mapping[str, float],
    *,
    fontsize: float | None = None,
    right: float = 0.7,
    bands: Mapping[str, tuple[float, float]] | None = None,
) -> None:
    """The hourglass as centred bars, one per level, top to bottom, with the share written beside.

    Args:
        ax: Where to draw.
        shares: The share reaching each level, keyed as :data:`LEVELS` (over many runs: the
            median).
        fontsize: Size of the level labels and shares (default: matplotlib's).
        right: Right end of the x axis (room for the written shares).
        bands: Over many runs, a ``(low, high)`` band per level: drawn as whiskers on both edges
            of the bar and written beside the share.
    """
    rows = range(len(LEVELS))
    for row, ((key, _label), colour) in enumerate(zip(LEVELS, COLOURS, strict=True)):
        share = float(shares[key])
        ax.barh(row, share, left=-share / 2, color=colour, height=0.7)
        text = f"{share:.0%}"
        if bands is not None:
            low, high = (float(v) for v in bands[key])
            for side in (-1, 1):
                ax.plot([side * low / 2, side * high / 2], [row, row], color="#222222", lw=1.5)
                ax.plot(
                    [side * low / 2] * 2 + [np.nan] + [side * high / 2] * 2,
                    [row - 0.2, row + 0.2, np.nan, row - 0.2, row + 0.2],
                    color="#222222",
                    lw=1.2,
                )
            text += f"\n({low:.0%}-{high:.0%})"
        ax.text(0.55, row, text, va="center", ha="left", fontsize=fontsize)
    ax.set_yticks(list(rows), [label for _, label in LEVELS], fontsize=fontsize)
    ax.invert_yaxis()
    ax.set_xlim(-0.55, right)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)


def draw_course(ax: Axes, series: pd.DataFrame, *, fontsize: float | None = None) -> None:
    """The share reaching each level month by month (no legend: callers place their own).

    Args:
        ax: Where to draw.
        series: A run's time series (``month`` and one column per level).
        fontsize: Size of the axis labels (default: matplotlib's).
    """
    for (key, label), colour in zip(LEVELS, COLOURS, strict=True):
        ax.plot(series["month"], series[key], color=colour, label=label.replace("\n", " "))
    ax.set_xlabel("month", fontsize=fontsize)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)


# -- one scenario over many seeds --------------------------------------------------------------

# Outputs beyond the hourglass's levels continue the palette of COLOURS.
_MORE_COLOURS = ("#937860", "#da8bc3", "#8c8c8c", "#4c4c4c")
_MORE_LABELS = {
    "countries_changed": "Countries changed at scale",
    "reported_attendance": "Attendance (what facilitators report)",
}


def replicates_figure(
    table: pd.DataFrame, outputs: tuple[str, ...], title: str, *, marks: tuple[int, ...] = ()
) -> Figure:
    """The hourglass and every output's course over many seeds: medians with 10-90 % bands.

    Left: the hourglass at the last month (the scenario's medians, whiskers at the band). Right:
    one panel per output, each on its own scale: the scenario, its counterfactual (if run) and
    the change attributable to peer learning (scenario minus counterfactual, seed by seed; not
    drawn where it equals the scenario, i.e. the counterfactual is zero at every seed).

    Args:
        table: :func:`hourglass.replicates.quantiles` (columns ``arm``, ``output``, ``month``,
            ``median`` and the band's two percentiles ``p10`` and ``p90``); arm ``scenario``
            must hold every level of :data:`LEVELS`.
        outputs: The outputs to draw, one panel each.
        title: Figure title.
        marks: Months marked by a dotted line in every panel (the horizons findings are stated
            at).

    Returns:
        The figure.
    """
    low_col, high_col = (c for c in table.columns if c.startswith("p") and c[1:].isdigit())
    columns = -(-len(outputs) // 2)
    fig = Figure(figsize=(4.0 + 3.3 * columns, 6.6), layout="constrained")
    grid = fig.add_gridspec(2, columns + 1, width_ratios=[1.5] + [1] * columns)
    scenario = table[table["arm"] == "scenario"]
    last = scenario[scenario["month"] == scenario["month"].max()].set_index("output")
    shape = fig.add_subplot(grid[:, 0])
    draw_shape(
        shape,
        last["median"].to_dict(),
        fontsize=8,
        right=0.95,
        bands={k: (r[low_col], r[high_col]) for k, r in last.iterrows()},
    )
    shape.set_title(
        f"Month {int(scenario['month'].max())}: median ({low_col[1:]}-{high_col[1:]} %)", fontsize=9
    )
    labels = {**dict(LEVELS), **_MORE_LABELS}
    palette = dict(zip([k for k, _ in LEVELS], COLOURS, strict=True))
    extra = iter(_MORE_COLOURS)
    labelled: set[str] = set()  # each arm once in the legend
    styles = {
        "scenario": ("-", 0.22, None),
        "counterfactual": ("--", 0.15, "#7f7f7f"),
        "attributable": (":", 0.12, "#222222"),
    }
    names = {
        "scenario": "scenario",
        "counterfactual": "counterfactual (no tool used)",
        "attributable": "attributable (scenario - counterfactual)",
    }
    for index, output in enumerate(outputs):
        ax = fig.add_subplot(grid[index // columns, 1 + index % columns])
        colour = palette.get(output) or next(extra, "#4c4c4c")
        for arm, (line, alpha, fixed) in styles.items():
            rows = table[(table["arm"] == arm) & (table["output"] == output)]
            if rows.empty or (arm == "attributable" and _same(rows, scenario, output)):
                continue
            c = fixed or colour
            ax.fill_between(
                rows["month"], rows[low_col], rows[high_col], color=c, alpha=alpha, linewidth=0
            )
            ax.plot(
                rows["month"],
                rows["median"],
                line,
                color=c,
                lw=1.6,
                label=None if arm in labelled else names[arm],
            )
            labelled.add(arm)
        for month in marks:
            ax.axvline(month, color="#555555", lw=0.8, ls=(0, (1, 2)))
        ax.set_title(labels.get(output, output.replace("_", " ")).replace("\n", " "), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_xlim(0, scenario["month"].max())
        ax.grid(alpha=0.3)
        if index // columns == 1 or index + columns >= len(outputs):
            ax.set_xlabel("month", fontsize=8)
    fig.legend(
        loc="outside lower center",
        ncols=3,
        fontsize=8,
        title=f"median and {low_col[1:]}-{high_col[1:]} % band over runs (seeds; over a posterior, "
        "parameter sets too)"
        + (f"; dotted: months {', '.join(map(str, marks))}" if marks else ""),
        title_fontsize=8,
    )
    fig.suptitle(title, fontsize=11)
    return fig


def _same(rows: pd.DataFrame, scenario: pd.DataFrame, output: str) -> bool:
    """Whether an arm's statistics of ``output`` equal the scenario's at every month."""
    mine = scenario[scenario["output"] == output]
    columns = [c for c in rows.columns if c not in ("arm", "output")]
    return len(rows) == len(mine) and bool(
        (rows[columns].to_numpy() == mine[columns].to_numpy()).all()
    )


# -- validation --------------------------------------------------------------------------------


def validation_figure(table: pd.DataFrame, title: str) -> Figure:
    """One row per criterion: the value, its interval and the threshold, green if it holds."""
    fig = Figure(figsize=(9, 0.32 * len(table) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(table))[::-1]
    labels = [f"{p} {c}" for p, c in zip(table["pattern"], table["criterion"], strict=True)]
    columns = ["value", "ci_low", "ci_high", "threshold"]
    scale = np.maximum(1e-9, np.abs(table[columns].astype(float)).max(axis=1, skipna=True))
    for yi, (_, row), s in zip(y, table.iterrows(), scale, strict=True):
        colour = "#55a868" if row["holds"] else "#c44e52"
        threshold = row.get("threshold", 0.0)
        ax.errorbar(
            row["value"] / s,
            yi,
            xerr=[[(row["value"] - row["ci_low"]) / s], [(row["ci_high"] - row["value"]) / s]],
            fmt="o",
            color=colour,
            capsize=3,
        )
        if np.isfinite(threshold):
            ax.plot([threshold / s], [yi], "|", color="black", markersize=12)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel(
        "value / max |value, interval, threshold| (bar: threshold; green holds, red does not)"
    )
    ax.set_title(title)
    return fig


# -- the report's experiments ------------------------------------------------------------------


def contact_figure(result: dict[str, Any], title: str) -> Figure:
    """The 6x6 contact heat maps: formal reports, informal reports, and the red/green map."""
    participants = len(result["formal"])
    fig = Figure(figsize=(13, 4.4), layout="constrained")
    axes = fig.subplots(1, 3)
    labels = [f"P{i + 1}" for i in range(participants)]
    n = result["n_reports"]
    for ax, kind, cmap in ((axes[0], "formal", "Greens"), (axes[1], "informal", "Reds")):
        m = result[kind]
        im = ax.imshow(m, cmap=cmap, vmin=0, vmax=max(1, n // 3))
        for (x, y), v in np.ndenumerate(m):
            if x != y:
                ax.text(y, x, str(v), ha="center", va="center", fontsize=8)
        ax.set_title(f"{kind.capitalize()} contact: reports of {n}")
        fig.colorbar(im, ax=ax, shrink=0.8)
    kind = np.where(result["informal"] > 0, 2, np.where(result["formal"] > 0, 1, 0))
    np.fill_diagonal(kind, 0)
    axes[2].imshow(kind, cmap=ListedColormap(["#ffffff", "#55a868", "#c44e52"]), vmin=0, vmax=2)
    axes[2].set_title("Any informal (red), formal only (green)")
    for ax in axes:
        ax.set_xticks(range(participants), labels)
        ax.set_yticks(range(participants), labels)
    fig.suptitle(title)
    return fig


def learning_figure(result: dict[str, Any], title: str) -> Figure:
    """The personal learning heat map: participants x weeks, red = a productive conversation."""
    weekly = result["weekly"]
    fig = Figure(figsize=(8, 1.5 + 0.22 * len(weekly)), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(
        weekly.to_numpy(),
        cmap=ListedColormap(["#f0f0f0", "#c44e52"]),
        vmin=0,
        vmax=1,
        aspect="auto",
    )
    ax.set_yticks(range(len(weekly)), weekly.index, fontsize=7)
    ax.set_xticks(range(weekly.shape[1]), range(1, weekly.shape[1] + 1), fontsize=7)
    ax.set_xlabel("week (red: a productive conversation about a reform challenge)")
    ax.set_title(title)
    return fig


def natural_figure(result: dict[str, Any], title: str) -> Figure:
    """Shares of each group answering yes, with 95 % intervals."""
    table = result["table"]
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.add_subplot()
    groups = list(dict.fromkeys(table["group"]))
    outcomes = list(dict.fromkeys(table["outcome"]))
    width = 0.8 / len(groups)
    for g, group in enumerate(groups):
        rows = table[table["group"] == group].set_index("outcome").loc[outcomes]
        x = np.arange(len(outcomes)) + (g - (len(groups) - 1) / 2) * width
        err = np.vstack([rows["share"] - rows["ci_low"], rows["ci_high"] - rows["share"]])
        ax.bar(x, rows["share"], width, yerr=err, capsize=3, label=group)
    ax.set_xticks(range(len(outcomes)), [o.replace("_", " ") for o in outcomes])
    ax.set_ylim(0, 1)
    ax.set_ylabel("share answering yes")
    ax.legend()
    ax.set_title(title)
    return fig
