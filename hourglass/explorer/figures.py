"""The explorer's figures, drawn with matplotlib from a running model.

Each function takes a :class:`~simulation.PeerLearningModel` at any month (month 0 included) and
returns a new :class:`matplotlib.figure.Figure`; nothing here touches pyplot's global state, so
figures can be drawn from several browser sessions at once. The Solara components in
:mod:`hourglass.explorer.components` turn them into images.
"""

from __future__ import annotations

import io
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hourglass import figures as study
from hourglass.explorer.runs import COURSE, Runs, bands
from hourglass.figures import COLOURS, LEVELS
from simulation import PeerLearningModel

# Stage 0 (not engaged) is grey; stages 1-4 take the hourglass figure's colours of the same level.
STAGE_LABELS = (
    "not engaged",
    "engaged",
    "sustained contacts",
    "practical learning",
    "applied at home",
)
STAGE_COLOURS = ("#c8c8c8", *COLOURS[:4])
HEATMAPS = ("trust", "contacts this month")
FIGSIZE = (6.4, 4.4)
"""Figure size in inches of the one-run views (drawn at 72 dpi, two to a row)."""


def peer_order(model: PeerLearningModel) -> np.ndarray:
    """Peer positions sorted by country, then home organisation, then position.

    Colleagues from one organisation sit side by side in the network ring and the heat map.
    """
    peers = model.state.peers
    country = model.state.orgs.country[peers.org]
    return np.lexsort((np.arange(peers.n), peers.org, country))


def peer_layout(model: PeerLearningModel) -> np.ndarray:
    """Fixed circular layout of the peer positions, ``(N, 2)``, grouped by organisation.

    Positions persist when an official leaves (the successor takes the seat), so the layout is
    computed once per model and never moves; it is deterministic and needs no random draws.
    """
    order = peer_order(model)
    graph = nx.Graph()
    graph.add_nodes_from(int(i) for i in order)
    layout = nx.circular_layout(graph)
    return np.array([layout[i] for i in range(model.state.peers.n)])


def stages(model: PeerLearningModel) -> np.ndarray:
    """Hourglass stage (0-4) of the official in each position, from the ``Peer`` agents."""
    return np.array([model.peer_in(i).stage for i in range(model.state.peers.n)])


def network_figure(model: PeerLearningModel, layout: np.ndarray) -> Figure:
    """The peer network: officials coloured by hourglass stage, live ties by trust.

    Args:
        model: The running model.
        layout: ``(N, 2)`` node positions (:func:`peer_layout`).

    Returns:
        The figure.
    """
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    ax = fig.add_subplot()
    # From the tie store's edge list: a national programme has thousands of peers, and an
    # N x N view of them would cost more than the run.
    ties = model.state.ties
    rows, cols, slots = ties.live()
    if len(rows):
        trust = ties.arrays.trust[slots]
        met = ties.arrays.contact[slots]
        segments = np.stack([layout[rows], layout[cols]], axis=1)
        colours = np.where(met[:, None], [[0.85, 0.4, 0.05, 1.0]], [[0.3, 0.3, 0.3, 1.0]])
        colours[:, 3] = 0.15 + 0.75 * trust
        ax.add_collection(
            LineCollection(segments, colors=colours, linewidths=0.4 + 2.6 * trust, zorder=1)
        )
    stage = stages(model)
    degree = ties.arrays.degree
    ax.scatter(
        layout[:, 0],
        layout[:, 1],
        s=60 + 25 * degree,
        c=[STAGE_COLOURS[s] for s in stage],
        edgecolors="#333333",
        linewidths=0.6,
        zorder=2,
    )
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=8, color=colour, label=label)
        for colour, label in zip(STAGE_COLOURS, STAGE_LABELS, strict=True)
    ]
    handles.append(Line2D([], [], color=(0.85, 0.4, 0.05), label="contact this month"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.15, 1.15)
    ax.set_aspect("equal")
    ax.axis("off")
    counts = np.bincount(stage, minlength=5)
    ax.set_title(
        f"Peer network, month {model.month}: {len(rows)} live ties; "
        f"{counts[1:].sum()} of {len(stage)} engaged",
        fontsize=10,
    )
    return fig


def hourglass_figure(model: PeerLearningModel) -> Figure:
    """The hourglass now (centred bars) and over the months so far.

    Returns:
        The figure.
    """
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    shape, course = fig.subplots(2, 1, height_ratios=[1, 1])
    series = model.observer.timeseries()
    now = series.iloc[-1] if len(series) else dict.fromkeys(key for key, _ in LEVELS)
    study.draw_shape(shape, {key: now[key] or 0.0 for key, _ in LEVELS}, fontsize=8, right=0.75)
    shape.set_title(f"The hourglass, month {model.month}: share reaching each level", fontsize=10)
    if len(series):
        study.draw_course(course, series, fontsize=9)
    # No legend over the lines: each level keeps its bar's colour, labelled just above.
    course.set_title("over the months (colours as the bars above)", fontsize=9)
    course.set_xlim(0, model.months)
    course.set_ylabel("share", fontsize=9)
    return fig


def organisations_figure(model: PeerLearningModel) -> Figure:
    """Home organisations: staff reached against the change threshold, and change over time.

    Returns:
        The figure.
    """
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    now, course = fig.subplots(2, 1, height_ratios=[1.2, 1])
    organisations = sorted(model.organisations, key=lambda o: (o.country, o.index))
    reached = [o.staff_reached for o in organisations]
    changed = [any(o.changed.values()) for o in organisations]
    colours = [COLOURS[5] if c else "#b0b0b0" for c in changed]
    now.bar(range(len(organisations)), reached, color=colours, edgecolor="#333333", linewidth=0.4)
    threshold = model.params.home_organisations.change_threshold
    if threshold <= 1.0:
        now.axhline(threshold, color="#c44e52", linestyle="--", linewidth=1, label="threshold")
        now.legend(fontsize=8, loc="upper right")
    now.set_xticks(range(len(organisations)), [f"{o.country}" for o in organisations], fontsize=7)
    now.set_xlabel("home organisation (by country or sector)", fontsize=8)
    now.set_ylabel("staff who adopted a lesson", fontsize=8)
    now.set_ylim(0, 1)
    now.set_title(
        f"Organisations changed at scale: {sum(changed)} of {len(organisations)} "
        f"(month {model.month})",
        fontsize=10,
    )
    series = model.observer.timeseries()
    if len(series):
        course.plot(
            series["month"], series["orgs_changed"], color=COLOURS[5], label="organisations"
        )
        course.plot(
            series["month"], series["countries_changed"], color="#333333", label="countries"
        )
        course.legend(fontsize=8, loc="upper left")
    course.set_xlim(0, model.months)
    course.set_ylim(-0.02, 1.02)
    course.set_xlabel("month", fontsize=8)
    course.set_ylabel("share changed at scale", fontsize=8)
    course.grid(alpha=0.3)
    return fig


PEER_HEATMAP_LIMIT = 300
"""Largest number of peers the heat map shows one by one; above it, organisation by organisation."""


def _contacted(ties: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ties with contact this month: ``(i, j, slots)``."""
    i, j, slots = ties.live()
    met = ties.arrays.contact[slots]
    return i[met], j[met], slots[met]


def _organisation_blocks(
    model: PeerLearningModel, i: np.ndarray, j: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Organisation x organisation means over peer pairs, organisations sorted by country."""
    peers, orgs = model.state.peers, model.state.orgs
    count = np.bincount(peers.org, minlength=len(orgs.country)).astype(float)
    order = np.lexsort((np.arange(len(count)), orgs.country))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    a, b = rank[peers.org[i]], rank[peers.org[j]]
    total = np.zeros((len(order), len(order)))
    np.add.at(total, (a, b), values)
    np.add.at(total, (b, a), np.where(a == b, 0.0, values))
    sizes = count[order]
    pairs = np.outer(sizes, sizes)
    np.fill_diagonal(pairs, sizes * (sizes - 1) / 2)
    return np.divide(total, pairs, out=np.zeros_like(total), where=pairs > 0), orgs.country[order]


def heatmap_figure(model: PeerLearningModel, what: str = "trust") -> Figure:
    """The report's contact heat map, peer by peer, grouped by home organisation.

    Args:
        model: The running model.
        what: ``"trust"`` (trust on live ties) or ``"contacts this month"``.

    Returns:
        The figure.

    Raises:
        ValueError: If ``what`` is not one of :data:`HEATMAPS`.
    """
    if what not in HEATMAPS:
        raise ValueError(f"heat map {what!r} is unknown; expected one of {HEATMAPS}")
    ties = model.state.ties
    i, j, slots = ties.live() if what == "trust" else _contacted(ties)
    values = ties.arrays.trust[slots] if what == "trust" else np.ones(len(slots))
    cmap, label = (
        ("viridis", "trust on live ties")
        if what == "trust"
        else ("Oranges", "contact this month (formal or informal)")
    )
    peers = model.state.peers
    if peers.n <= PEER_HEATMAP_LIMIT:
        order = peer_order(model)
        rank = np.empty(peers.n, dtype=np.int64)
        rank[order] = np.arange(peers.n)
        matrix = np.zeros((peers.n, peers.n))
        matrix[rank[i], rank[j]] = matrix[rank[j], rank[i]] = values
        groups = peers.org[order]
        axis = "peer"
    else:
        # Too many peers to tell apart on a screen: one cell per pair of organisations, the
        # mean over its peer pairs, built from the edge list (no N x N array).
        matrix, groups = _organisation_blocks(model, i, j, values)
        axis = "home organisation"
        label = f"{label}, mean over peer pairs"
    fig = Figure(figsize=(FIGSIZE[0], FIGSIZE[1] - 0.5), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    for edge in (np.flatnonzero(np.diff(groups)) + 0.5) if axis == "peer" else ():
        ax.axhline(edge, color="white", linewidth=0.4)
        ax.axvline(edge, color="white", linewidth=0.4)
    fig.colorbar(image, ax=ax, shrink=0.8, label=label)
    grouped = " (grouped by home organisation)" if axis == "peer" else " (by country)"
    ax.set_xlabel(axis + grouped, fontsize=8)
    ax.set_ylabel(axis, fontsize=8)
    ax.tick_params(labelsize=7)
    pairs = peers.n * (peers.n - 1) / 2
    share = len(slots) / pairs if pairs else 0.0
    ax.set_title(
        f"Contact heat map: {label}, month {model.month} ({share:.0%} of peer pairs)",
        fontsize=10,
    )
    return fig


# -- two designs over many seeds -----------------------------------------------------------------

COMPARE_COLOURS = ("#c44e52", "#4c72b0")
"""Your design (red), the design it is compared with (blue)."""
LABEL_SIZE = 11
"""Font size of labels and legends in the comparison figures (legible at the page's size)."""


def comparison_figure(table: pd.DataFrame, names: tuple[str, str], seeds: int) -> Figure:
    """Both hourglasses (medians with 10-90 % bands over the seeds) and their paired difference.

    Args:
        table: :func:`hourglass.explorer.runs.paired_difference`.
        names: Display names of the design and of the one it is compared with.
        seeds: Seeds per design.

    Returns:
        The figure: two hourglasses, then the difference per level with its 95 % interval.
    """
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    mine, theirs, diff = fig.subplots(1, 3, width_ratios=[1.25, 1, 1.1])
    for ax, column, name in ((mine, "design", names[0]), (theirs, "against", names[1])):
        study.draw_shape(
            ax,
            table[column].to_dict(),
            fontsize=LABEL_SIZE - 1,
            right=0.85,
            bands={k: (r[f"{column}_low"], r[f"{column}_high"]) for k, r in table.iterrows()},
        )
        ax.set_title(name, fontsize=LABEL_SIZE + 1)
    theirs.set_yticks(range(len(LEVELS)), [""] * len(LEVELS))
    rows = np.arange(len(table))
    difference = table["difference"].to_numpy()
    errors = np.vstack([difference - table["ci_low"], table["ci_high"] - difference])
    clear = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    colours = np.where(clear, COMPARE_COLOURS[0], "#888888")
    for row, d, err, colour in zip(rows, difference, errors.T, colours, strict=True):
        diff.errorbar(
            d * 100,
            row,
            xerr=[[err[0] * 100], [err[1] * 100]],
            fmt="o",
            color=colour,
            capsize=4,
            markersize=7,
            lw=2,
        )
    for row, (_, r) in zip(rows, table.iterrows(), strict=True):
        diff.annotate(
            f"{r['difference'] * 100:+.1f} [{r['ci_low'] * 100:+.1f}, {r['ci_high'] * 100:+.1f}]",
            (1.0, row),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=LABEL_SIZE - 1,
        )
    diff.axvline(0, color="#333333", lw=1)
    diff.set_yticks(
        rows, [label.replace("\n", " ") for _, label in LEVELS], fontsize=LABEL_SIZE - 1
    )
    diff.set_yticklabels([])
    diff.invert_yaxis()
    diff.set_ylim(len(rows) - 0.5, -0.5)
    diff.set_xlabel(
        "percentage points (your design - the other), 95 % interval", fontsize=LABEL_SIZE
    )
    diff.tick_params(labelsize=LABEL_SIZE - 1)
    diff.grid(axis="x", alpha=0.3)
    diff.set_title("Paired difference, seed by seed", fontsize=LABEL_SIZE + 1)
    fig.suptitle(
        f"Share reaching each level: median and 10-90 % band over {seeds} seeds",
        fontsize=LABEL_SIZE + 1,
    )
    return fig


def course_bands_figure(design: Runs, against: Runs, names: tuple[str, str]) -> Figure:
    """Practical learning and organisations changed month by month: medians with 10-90 % bands.

    Returns:
        The figure, one panel per outcome of :data:`hourglass.explorer.runs.COURSE`.
    """
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    axes = fig.subplots(1, len(COURSE))
    titles = dict(LEVELS)
    for ax, key in zip(axes, COURSE, strict=True):
        for runs, name, colour in zip((design, against), names, COMPARE_COLOURS, strict=True):
            median, low, high = bands(runs.course[key])
            ax.fill_between(runs.months, low, high, color=colour, alpha=0.18, linewidth=0)
            ax.plot(runs.months, median, color=colour, lw=2, label=f"{name} (median, 10-90 %)")
        ax.set_title(titles[key].replace("\n", " "), fontsize=LABEL_SIZE + 1)
        ax.set_xlabel("month", fontsize=LABEL_SIZE)
        ax.set_ylabel("share", fontsize=LABEL_SIZE)
        ax.set_xlim(0, design.months[-1])
        ax.set_ylim(-0.02, 1.02)
        ax.tick_params(labelsize=LABEL_SIZE - 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=LABEL_SIZE - 1, loc="upper left")
    return fig


def png(fig: Figure, dpi: int = 80) -> bytes:
    """The figure as PNG bytes (drawn off the page's render thread)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
