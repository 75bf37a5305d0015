"""Solara components of the explorer: the inputs, the comparison of two designs, one run.

Figures are drawn in a background task as PNG images (matplotlib: nothing is fetched from a
CDN, so the page works offline) and shown with ``solara.Image``; the page's render thread only
places them. Text is plain HTML, never ``solara.Markdown`` (it loads KaTeX from a CDN).
"""

# ruff: noqa: N802 -- Solara components are named in PascalCase, like React components.

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import solara
from solara import ResultState

from hourglass.explorer import figures
from hourglass.explorer.runs import OUTCOMES
from hourglass.figures import LEVELS
from simulation import PeerLearningModel, Scenario, load_tools, parameter_specs

SECTIONS = (("levers", "Levers"), ("facilitator", "Facilitator"), ("tools", "Tool mix"))
"""Scenario sections offered as inputs, in this order, with their headings."""


def input_label(name: str) -> str:
    """A short, readable label for a dotted scenario key (tools by their names in the report)."""
    section, key = name.split(".", 1)
    if section == "tools":
        labels = {tool.name: tool.label for tool in load_tools()}
        return labels.get(key, key.replace("_", " "))
    return key.replace("_", " ").capitalize()


def show(value: object) -> str:
    """A value as the page shows it."""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


@solara.component
def LeverSlider(
    name: str, value: float, low: float, high: float, step: float, on_change: Callable
) -> None:
    """One numeric input: its label and value on a line of their own, the slider beneath.

    The label never shares the slider's line, so a long tool name cannot crush the slider. The
    slider commits on release (or a key press), not on every pixel of a drag, so a change runs
    the designs once.
    """
    with solara.Column(gap="0px", classes=["hourglass-input"]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<span>{escape(input_label(name))}</span>"
            f"<b class='hourglass-value'>{escape(show(value))}</b>",
            classes=["hourglass-input-label"],
            attributes={"title": escape(parameter_specs()[name].doc or name)},
        )
        slider = solara.v.Slider(
            v_model=value,
            min=low,
            max=high,
            step=step,
            thumb_label=True,
            hide_details=True,
            dense=True,
            class_="hourglass-slider",
        )

        def changed(_widget: Any, _event: str, data: Any) -> None:
            on_change(name, int(data) if step == 1 else float(data))

        solara.v.use_event(slider, "change", changed)


@solara.component
def Inputs(scenario: Scenario, on_change: Callable[[str, Any], None]) -> None:
    """The levers, the facilitator's choices and the tool mix at the design's current values."""
    specs = parameter_specs()
    for section, heading in SECTIONS:
        with solara.Details(heading, expand=section == "levers"):
            for name, spec in specs.items():
                if not name.startswith(section + "."):
                    continue
                value = scenario[name]
                if spec.kind == "float":
                    LeverSlider(name, value, spec.low, spec.high, 0.01, on_change)
                elif spec.kind == "int":
                    LeverSlider(name, value, spec.low, spec.high, 1, on_change)
                elif spec.kind == "choice":
                    solara.Select(
                        input_label(name),
                        values=list(spec.choices),
                        value=value,
                        on_value=lambda v, name=name: on_change(name, v),
                    )
                elif spec.kind == "bool":
                    solara.Checkbox(
                        label=input_label(name),
                        value=value,
                        on_value=lambda v, name=name: on_change(name, bool(v)),
                    )
                # per-learning-type lists have no single widget: they keep the scenario's value


def verdict(low: float, high: float) -> str:
    """What a 95 % interval of a difference says, in words."""
    if low > 0:
        return "higher"
    if high < 0:
        return "lower"
    return "not distinguishable"


@solara.component
def ComparisonStatus(
    table: Any,
    names: tuple[str, str],
    seeds: tuple[int, int],
    changed: dict[str, Any],
    seconds: tuple[float, float],
    update: int,
) -> None:
    """The comparison in words: what differs, by how much, and how sure that is.

    ``seeds`` is the seeds run so far and the seeds still coming (a first answer comes early).
    """
    labels = {key: label.replace("\n", " ") for key, label in LEVELS}
    rows = []
    for key in OUTCOMES:
        r = table.loc[key]
        rows.append(
            f"<tr><td>{escape(labels[key])}</td><td>{r['design']:.0%}</td>"
            f"<td>{r['against']:.0%}</td><td><b>{r['difference'] * 100:+.1f}</b> "
            f"[{r['ci_low'] * 100:+.1f}, {r['ci_high'] * 100:+.1f}]</td>"
            f"<td>{verdict(r['ci_low'], r['ci_high'])}</td></tr>"
        )
    changes = (
        ", ".join(f"<code>{escape(k)} = {escape(show(v))}</code>" for k, v in changed.items())
        if changed
        else "none yet: move a lever"
    )
    html = (
        f"<p><b>{escape(names[0])}</b> against <b>{escape(names[1])}</b>: {seeds[0]} seeds each"
        + (f" so far, {seeds[1]} more coming" if seeds[1] else "")
        + f", the same seeds for both (paired); ran in {seconds[0]:.1f} s, drawn in "
        f"{seconds[1]:.1f} s · update {update}.</p>"
        f"<p>Your changes: {changes}.</p>"
        "<table class='hourglass-table'><tr><th>level</th><th>yours (median)</th>"
        "<th>other (median)</th><th>difference, points [95 % interval]</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["hourglass-status"])


def one_run_images(scenario: Scenario, seed: int, month: int) -> dict[str, bytes]:
    """One run of the design to ``month``: the hourglass, network, organisations and heat map.

    A run of 60 months costs milliseconds, so a month is reached by running to it, not by
    stepping the page; the figures are drawn here, off the render thread.
    """
    model = PeerLearningModel(scenario, rng=int(seed))
    while model.month < month:
        model.step()
    layout = figures.peer_layout(model)
    return {
        "hourglass": figures.png(figures.hourglass_figure(model), dpi=72),
        "network": figures.png(figures.network_figure(model, layout), dpi=72),
        "organisations": figures.png(figures.organisations_figure(model), dpi=72),
        "heat map": figures.png(figures.heatmap_figure(model, "trust"), dpi=72),
    }


@solara.component
def OneRun(scenario: Scenario, design_key: str) -> None:
    """One run of your design, month by month: an anecdote, shown as such."""
    seed = solara.use_reactive(1)
    month = solara.use_reactive(scenario["run.months"])
    months = scenario["run.months"]
    task = solara.use_thread(  # not use_task: see Page in hourglass/explorer/app.py
        lambda: one_run_images(scenario, seed.value, min(month.value, months)),
        dependencies=[design_key, seed.value, month.value],
        intrusive_cancel=False,
    )
    solara.HTML(
        tag="p",
        unsafe_innerHTML="One run is one draw of chance: the comparison tab shows what holds "
        "over many seeds.",
    )
    with solara.Row():
        solara.SliderInt(f"seed: {seed.value}", value=seed, min=1, max=99)
        solara.SliderInt(f"month: {month.value}", value=month, min=0, max=months)
    solara.ProgressLinear(task.state != ResultState.FINISHED)
    images = task.value if task.value is not None else {}
    with solara.ColumnsResponsive(6, large=6):
        for name, image in images.items():
            solara.Image(image, classes=[f"hourglass-one-run-{name.replace(' ', '-')}"])
