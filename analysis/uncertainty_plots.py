"""Figures of the two parts of the variance (matplotlib, Agg backend; no pyplot).

:func:`ensemble_figure` draws, per outcome, every parameter set's mean with the interval its
seeds give (chance), against the grand mean, and states the share of the variance between sets
(what we do not know about the world) with its interval in the panel's title: the spread of the
points beyond their own intervals is the epistemic part.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl

mpl.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats


def ensemble_figure(runs: pd.DataFrame, split: pd.DataFrame, title: str = "",
                    by: str = "parameter_set", outcomes: Sequence[str] | None = None,
                    columns: int = 3, level: float = 0.95) -> Figure:
    """Per outcome: each set's mean with its seeds' t interval, sets ordered by their mean.

    Args:
        runs: One row per run with ``by`` and the outcomes.
        split: The :func:`analysis.uncertainty.decompose` table of the same runs.
        title: Figure title.
        by: The parameter-set column.
        outcomes: Outcomes to draw (default: the split's rows).
        columns: Panels per row.
        level: Level of each set's interval.
    """
    names = list(outcomes) if outcomes is not None else list(split.index)
    cols = max(1, min(columns, len(names)))
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(4.0 * cols + 0.8, 0.6 + 3.0 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax, name in zip(axes, names, strict=False):
        groups = runs.groupby(by)[name]
        mean = groups.mean().sort_values()
        n = groups.count().reindex(mean.index).to_numpy(dtype=float)
        sd = groups.std(ddof=1).reindex(mean.index).to_numpy(dtype=float)
        t = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
        half = np.where(n > 1, t * sd / np.sqrt(n), np.nan)
        x = np.arange(len(mean))
        ax.errorbar(x, mean.to_numpy(), yerr=half, fmt="o", ms=3, capsize=2, lw=0.8)
        ax.axhline(float(split.loc[name, "mean"]), color="grey", lw=0.8, ls="--")
        row = split.loc[name]
        share = ("does not vary" if np.isnan(row["share_between"]) else
                 f"between sets {100 * row['share_between']:.0f} % "
                 f"[{100 * row['share_low']:.0f}, {100 * row['share_high']:.0f}]")
        ax.set_title(f"{name.replace('_', ' ')}\n{share}", fontsize=9)
        ax.set_xticks([])
        ax.set_xlabel(f"parameter sets ({len(mean)}), by mean", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.supylabel(f"set mean, {100 * level:.0f} % interval over its seeds", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def split_bars(split: pd.DataFrame, title: str = "") -> Figure:
    """Share of each outcome's variance between parameter sets, with its interval (bars)."""
    fig = Figure(figsize=(6.5, 1.4 + 0.4 * len(split)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(split))[::-1]
    share = split["share_between"].to_numpy(dtype=float)
    ax.barh(y, share, color="tab:blue", label="between parameter sets (world)")
    ax.barh(y, 1 - share, left=share, color="tab:orange", alpha=0.6,
            label="between seeds (chance)")
    ax.errorbar(share, y, xerr=[share - split["share_low"].to_numpy(dtype=float),
                                split["share_high"].to_numpy(dtype=float) - share],
                fmt="none", color="black", capsize=3, lw=0.8)
    ax.set_yticks(y, list(split.index))
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the outcome's variance (95 % interval of the share between)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2,
               frameon=False, fontsize=8)
    ax.set_title(title)
    return fig


def kind_bars(indices: pd.DataFrame, kinds: dict[str, str], title: str = "",
              index: str = "ST", columns: int = 3) -> Figure:
    """One panel per output: each factor's or group's index with its interval, coloured by kind.

    Args:
        indices: Sobol' indices indexed by (``output``, ``parameter``) with ``index`` and
            ``index + "_conf"``.
        kinds: Parameter -> its kind (e.g. lever, assumption group), for the colours.
        title: Figure title.
        index: The index drawn (``ST`` or ``S1``).
        columns: Panels per row.
    """
    outputs = list(dict.fromkeys(indices.index.get_level_values("output")))
    names = list(dict.fromkeys(indices.index.get_level_values("parameter")))
    palette = dict(zip(dict.fromkeys(kinds[n] for n in names),
                       [mpl.colormaps["tab10"](k) for k in range(10)], strict=False))
    cols = max(1, min(columns, len(outputs)))
    rows = -(-len(outputs) // cols)
    fig = Figure(figsize=(4.2 * cols + 1.0, 0.8 + rows * (0.6 + 0.22 * len(names))),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    y = np.arange(len(names))[::-1]
    for k, (ax, output) in enumerate(zip(axes, outputs, strict=False)):
        frame = indices.loc[output].reindex(names)
        ax.barh(y, frame[index].to_numpy(dtype=float),
                xerr=frame[f"{index}_conf"].to_numpy(dtype=float), capsize=2,
                color=[palette[kinds[n]] for n in names], error_kw={"lw": 0.7})
        ax.set_yticks(y, names if k % cols == 0 else [""] * len(names), fontsize=7)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlim(-0.1, 1.1)
        ax.set_title(output.replace("_", " "), fontsize=9)
        ax.set_xlabel(f"{index} (95 % bootstrap interval)", fontsize=8)
        ax.grid(alpha=0.3, axis="x")
    for ax in axes[len(outputs):]:
        ax.set_visible(False)
    handles = [mpl.patches.Patch(color=c, label=kind) for kind, c in palette.items()]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False,
               fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
