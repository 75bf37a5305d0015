"""Solara components of the explorer: one per view, each given the session's current model.

Mesa's ``SolaraViz`` passes the model to each component and bumps its ``update_counter`` after a
step; reading the counter here re-renders the view. Figures are drawn by
:mod:`hourglass.explorer.figures` and sent as PNG images (matplotlib backend: nothing is fetched
from a CDN, so the page works offline).
"""

# ruff: noqa: N802 -- Solara components are named in PascalCase, like React components.

from __future__ import annotations

from collections.abc import Callable
from html import escape

import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from hourglass.explorer import figures
from simulation import PeerLearningModel

DPI = 72


@solara.component
def _Figure(model: PeerLearningModel, draw: Callable[[], Figure], extra: tuple = ()) -> None:
    """A matplotlib figure of ``model`` redrawn after each step, reset or change of ``extra``."""
    dependencies = [model, model.steps, update_counter.value, *extra]
    figure = solara.use_memo(draw, dependencies)
    solara.FigureMatplotlib(figure, dependencies=dependencies, format="png", dpi=DPI)


@solara.component
def Status(model: PeerLearningModel) -> None:
    """The month, the stage shares, change at scale, the levers and what the facilitator reports.

    Plain HTML, not ``solara.Markdown``: Markdown loads KaTeX from a CDN, which is not there
    offline.
    """
    update_counter.get()
    series = model.observer.timeseries()
    last = series.iloc[-1] if len(series) else None

    def share(key: str) -> str:
        return f"{float(last[key]):.0%}" if last is not None else "-"

    scenario = model.hourglass_scenario
    changed = getattr(model, "overrides", {})
    levers = ", ".join(
        f"{name.split('.', 1)[1].replace('_', ' ')} {_show(value)}"
        for name, value in scenario.values.items()
        if name.startswith("levers.")
    )
    reported = (
        f"{int(last['events_held'])} events, {int(last['products_released'])} products, "
        f"attendance {float(last['reported_attendance']):.0%}."
        if last is not None
        else "nothing yet."
    )
    paragraphs = [
        f"<b>Month {model.month} of {model.months}</b> · scenario <code>{escape(scenario.name)}"
        f"</code> · seed {model.seed}" + ("" if model.running else " · <b>finished</b>"),
        f"Engaged {share('engaged')} → sustained contacts {share('sustained_contacts')} → "
        f"practical learning {share('practical_learning')} → applied {share('applied')}; "
        f"colleagues reached {share('staff_reached')}; "
        f"organisations changed {share('orgs_changed')}.",
        f"The facilitator reports {reported}",
        f"Levers: {escape(levers)}.",
        "Changed from the scenario: "
        + (
            ", ".join(f"<code>{escape(k)} = {escape(_show(v))}</code>" for k, v in changed.items())
            if changed
            else "none"
        )
        + ". Inputs apply on <b>Reset</b>.",
    ]
    solara.HTML(
        tag="div",
        unsafe_innerHTML="".join(f"<p>{text}</p>" for text in paragraphs),
        classes=["hourglass-status"],
    )


def _show(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@solara.component
def Network(model: PeerLearningModel) -> None:
    """The peer network coloured by hourglass stage (fixed circular layout per model)."""
    update_counter.get()
    layout = solara.use_memo(lambda: figures.peer_layout(model), [model])
    _Figure(model, lambda: figures.network_figure(model, layout))


@solara.component
def Hourglass(model: PeerLearningModel) -> None:
    """The hourglass now and over time."""
    update_counter.get()
    _Figure(model, lambda: figures.hourglass_figure(model))


@solara.component
def Organisations(model: PeerLearningModel) -> None:
    """Home organisations: staff reached, change at scale, and its course."""
    update_counter.get()
    _Figure(model, lambda: figures.organisations_figure(model))


@solara.component
def ContactHeatMap(model: PeerLearningModel) -> None:
    """The report's contact heat map: trust on live ties, or who met whom this month."""
    update_counter.get()
    what = solara.use_reactive(figures.HEATMAPS[0])
    solara.ToggleButtonsSingle(value=what, values=list(figures.HEATMAPS), dense=True)
    _Figure(model, lambda: figures.heatmap_figure(model, what.value), extra=(what.value,))


VIEWS = [Status, Hourglass, Network, Organisations, ContactHeatMap]
"""The views, in the order they are laid out."""
