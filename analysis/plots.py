"""Figures for sweeps, sensitivity indices and comparisons (matplotlib, Agg backend).

Every function takes the DataFrame the matching analysis returns and gives back a
``matplotlib.figure.Figure`` built without pyplot (no global state, no display);
:func:`save` writes it atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def _short(name: str) -> str:
    return name.removeprefix("levers.").removeprefix("tools.")


def _colours(n: int) -> list[Any]:
    """Distinct colours for n lines: tab10 up to 10, tab20 beyond (12 factors by default)."""
    if n <= 10:
        return [mpl.colormaps["tab10"](k) for k in range(n)]
    # tab20's ten dark hues first, then the light ones, so neighbours differ in hue
    order = [*range(0, 20, 2), *range(1, 20, 2)]
    return [mpl.colormaps["tab20"](order[k % 20]) for k in range(n)]


def _index_range(ax: Any, index: str) -> None:
    """For Sobol' indices, clip the y axis to where they can lie, give or take error.

    At small n a bootstrap interval can span several units; drawn in full it flattens
    every other line to zero, so the axis keeps to [-0.25, 1.25] and the interval runs
    off the edge, which reads as "not converged" at a glance.
    """
    if index not in ("S1", "ST", "S2"):
        return
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, -0.25), min(high, 1.25))


def sobol_bars(indices: pd.DataFrame, title: str = "") -> Figure:
    """Bar chart of S1 and ST per parameter with their bootstrap intervals."""
    fig = Figure(figsize=(max(5.0, 0.6 * len(indices) + 2), 3.8), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(indices))
    w = 0.38
    ax.bar(x - w / 2, indices["S1"], w, yerr=indices["S1_conf"], capsize=3, label="first order S1")
    ax.bar(x + w / 2, indices["ST"], w, yerr=indices["ST_conf"], capsize=3, label="total ST")
    ax.set_xticks(x, [_short(n) for n in indices.index], rotation=40, ha="right")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("Sobol' index (95 % bootstrap interval)")
    ax.set_title(title)
    ax.legend(frameon=False)
    return fig


def morris_scatter(indices: pd.DataFrame, title: str = "") -> Figure:
    """Morris mu* against sigma, with mu* intervals and parameter labels."""
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.errorbar(indices["mu_star"], indices["sigma"], xerr=indices["mu_star_conf"], fmt="o",
                capsize=3)
    for name, row in indices.iterrows():
        ax.annotate(_short(str(name)), (row["mu_star"], row["sigma"]), fontsize=8,
                    xytext=(4, 3), textcoords="offset points")
    top = float(np.nanmax(np.r_[indices["mu_star"], indices["sigma"], 0.0])) or 1.0
    ax.plot([0, top], [0, top], ls="--", color="grey", lw=0.8, label="sigma = mu*")
    ax.set_xlabel("mu* (mean |elementary effect| per unit range)")
    ax.set_ylabel("sigma (interaction / non-linearity)")
    ax.set_title(title)
    ax.legend(frameon=False)
    return fig


def heatmap(table: pd.DataFrame, title: str = "", label: str = "ST") -> Figure:
    """Parameters (rows) x outcomes (columns) heat map of one index."""
    longest = max((len(_short(str(n))) for n in table.index), default=0)  # the labels' room
    fig = Figure(figsize=(1.0 + 0.9 * table.shape[1] + 0.07 * longest, 1.2 + 0.4 * table.shape[0]),
                 layout="constrained")
    ax = fig.add_subplot()
    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0.0,
                      vmax=max(1e-12, float(np.nanmax(np.r_[values.ravel(), 0.0]))))
    ax.set_xticks(range(table.shape[1]), list(table.columns), rotation=40, ha="right")
    ax.set_yticks(range(table.shape[0]), [_short(str(n)) for n in table.index])
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(image, ax=ax, label=label)
    ax.set_title(title)
    return fig


def time_lines(frame: pd.DataFrame, index: str = "ST", title: str = "") -> Figure:
    """One line per parameter: ``index`` against month (from ``time_resolved``)."""
    fig = Figure(figsize=(6.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    groups = list(frame.groupby("parameter", sort=False))
    for (name, part), colour in zip(groups, _colours(len(groups)), strict=True):
        ax.plot(part["month"], part[index], marker="o", color=colour, label=_short(str(name)))
        conf = f"{index}_conf"
        if conf in part:
            ax.fill_between(part["month"], part[index] - part[conf], part[index] + part[conf],
                            color=colour, alpha=0.12)
    ax.set_xlabel("month")
    ax.set_ylabel(index)
    _index_range(ax, index)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, ncol=2)
    return fig


def convergence_lines(frame: pd.DataFrame, index: str = "ST", title: str = "") -> Figure:
    """One line per parameter: ``index`` (with interval) against subset size n."""
    fig = Figure(figsize=(6.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    conf = f"{index}_conf"
    groups = list(frame.groupby("parameter", sort=False))
    for (name, part), colour in zip(groups, _colours(len(groups)), strict=True):
        ax.errorbar(part["n"], part[index], yerr=part.get(conf), color=colour,
                    marker="o", capsize=2, label=_short(str(name)))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("sample size n (nested subsets of one design)")
    ax.set_ylabel(index)
    _index_range(ax, index)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, ncol=2)
    return fig


def forest(table: pd.DataFrame, title: str = "", labels: tuple[str, str] = ("A", "B")) -> Figure:
    """Forest plot of paired differences B - A with 95 % intervals (from ``compare``).

    Differences are divided by |mean_a| (or 1 when mean_a is 0) so outcomes on different
    scales share an axis: the x axis is the change relative to A.
    """
    scale = table["mean_a"].abs().where(table["mean_a"].abs() > 0, 1.0)
    mid = table["diff"] / scale
    lo = table["ci_low"] / scale
    hi = table["ci_high"] / scale
    fig = Figure(figsize=(6.5, 1.2 + 0.35 * len(table)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(table))[::-1]
    ax.errorbar(mid, y, xerr=[mid - lo, hi - mid], fmt="o", capsize=3)
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y, list(table.index))
    ax.set_xlabel(f"({labels[1]} - {labels[0]}) / |mean {labels[0]}|, 95 % CI")
    ax.set_title(title)
    return fig


def forest_panels(tables: dict[str, pd.DataFrame], title: str = "", reference: str = "A",
                  columns: int = 3) -> Figure:
    """Paired differences against one reference arm: a panel per outcome, a row per arm.

    Each panel has its own axis in the outcome's own unit (absolute differences, never divided
    by a mean), so outcomes on different scales are not mixed on one axis.

    Args:
        tables: Arm label -> that arm's ``compare`` table against the reference (indexed by
            outcome, with ``diff``, ``ci_low`` and ``ci_high``).
        title: Figure title.
        reference: The reference arm's label, for the axis label.
        columns: Panels per row.
    """
    labels = list(tables)
    outcomes = list(next(iter(tables.values())).index)
    cols = max(1, min(columns, len(outcomes)))
    rows = -(-len(outcomes) // cols)
    fig = Figure(figsize=(4.2 * cols + 1.5, 0.9 + rows * (0.8 + 0.35 * len(labels))),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    y = np.arange(len(labels))[::-1]
    colours = _colours(len(labels))
    for k, (ax, outcome) in enumerate(zip(axes, outcomes, strict=False)):
        for yi, label, colour in zip(y, labels, colours, strict=True):
            row = tables[label].loc[outcome]
            ax.errorbar([row["diff"]], [yi], xerr=[[row["diff"] - row["ci_low"]],
                        [row["ci_high"] - row["diff"]]], fmt="o", capsize=3, color=colour)
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(y, labels if k % cols == 0 else [""] * len(labels))
        ax.set_ylim(-0.6, len(labels) - 0.4)
        ax.set_title(outcome.replace("_", " "), fontsize=10)
        ax.grid(alpha=0.3, axis="x")
    for ax in axes[len(outcomes):]:
        ax.set_visible(False)
    fig.supxlabel(f"arm - {reference}, mean paired difference with 95 % CI (each outcome's own "
                  "unit)")
    if title:
        fig.suptitle(title)
    return fig


def save(fig: Figure, path: str | Path, dpi: int = 130) -> Path:
    """Write a figure (format from the suffix) via a temporary file and rename."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}")
    fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    tmp.replace(path)
    return path
