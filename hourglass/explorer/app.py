"""The Solara app behind ``hourglass explore``: Mesa's ``SolaraViz`` around the Hourglass model.

Run it with ``hourglass explore`` (or ``solara run hourglass.explorer.app``). The page offers a
scenario picker, the levers, the facilitator's choices and the tool mix as inputs, Mesa's step,
play and reset controls, and the views of :mod:`hourglass.explorer.components`.

No model is created at import: :func:`Page` builds one per browser session (``solara.use_memo``
inside the session's render), and Mesa's Reset builds the next one in that session's own
reactive state, so two people opening the page never share a model.
"""

# ruff: noqa: N802 -- Solara components are named in PascalCase, like React components.

from __future__ import annotations

from typing import Any

import solara
from mesa.visualization import SolaraViz

from hourglass.explorer.components import VIEWS
from simulation import PeerLearningModel, Scenario, available_scenarios, load_tools, parameter_specs

DEFAULT_SCENARIO = "baseline"
DEFAULT_SEED = 1
SECTIONS = ("levers", "facilitator", "tools")
"""Scenario sections offered as inputs, in this order."""


class ExplorerModel(PeerLearningModel):
    """The Hourglass model built from a scenario name, a seed and dotted-key overrides.

    Mesa's Reset re-creates the model as ``type(model)(**inputs)``, where the inputs are the
    page's parameters keyed by name (``"levers.trust"``, ``"tools.site_visits"`` ...).

    Args:
        scenario_name: A scenario in ``scenarios/``.
        seed: Seed of the model's random generator.
        **overrides: Dotted scenario keys and their values. Mesa's Reset also passes a
            ``scenario`` (its own experiment object for models that use one); it is ignored,
            because this model's scenario is the Hourglass scenario named above.

    Attributes:
        overrides: The overrides that differ from the named scenario.
    """

    def __init__(
        self, scenario_name: str = DEFAULT_SCENARIO, seed: int = DEFAULT_SEED, **overrides: Any
    ) -> None:
        overrides.pop("scenario", None)
        base = Scenario.load(scenario_name)
        super().__init__(base.with_overrides(overrides, where="explorer"), rng=int(seed))
        self.overrides = {k: v for k, v in overrides.items() if v != base[k]}


def _label(name: str) -> str:
    section, key = name.split(".", 1)
    if section == "tools":
        labels = {tool.name: tool.label for tool in load_tools()}
        return f"tool: {labels.get(key, key)}"
    return f"{section[:-1] if section == 'levers' else section}: {key.replace('_', ' ')}"


def model_params(scenario_name: str) -> dict[str, Any]:
    """The page's inputs for a scenario: sliders, selects and switches at its values.

    Floats and whole numbers become sliders over their allowed range, choices a select and
    true/false a checkbox. The scenario name is passed as a fixed parameter.

    Args:
        scenario_name: A scenario in ``scenarios/``.

    Returns:
        Mesa ``model_params``, keyed by the model's keyword arguments.
    """
    scenario = Scenario.load(scenario_name)
    params: dict[str, Any] = {
        "scenario_name": scenario_name,
        "seed": {
            "type": "SliderInt",
            "label": "random seed",
            "value": DEFAULT_SEED,
            "min": 0,
            "max": 99,
            "step": 1,
        },
    }
    specs = parameter_specs()
    for section in SECTIONS:
        for name, spec in specs.items():
            if not name.startswith(section + "."):
                continue
            entry: dict[str, Any] = {"label": _label(name), "value": scenario[name]}
            if spec.kind == "float":
                entry |= {"type": "SliderFloat", "min": spec.low, "max": spec.high, "step": 0.01}
            elif spec.kind == "int":
                entry |= {"type": "SliderInt", "min": spec.low, "max": spec.high, "step": 1}
            elif spec.kind == "choice":
                entry |= {"type": "Select", "values": list(spec.choices)}
            elif spec.kind == "bool":
                entry |= {"type": "Checkbox"}
            else:  # per-learning-type lists have no single widget; they keep the scenario's value
                continue
            params[name] = entry
    return params


@solara.component
def ScenarioPicker(name: solara.Reactive[str]) -> None:
    """Choose the scenario; the inputs and the model start again from its values."""
    with solara.Card("Scenario"):
        solara.Select("scenario", values=available_scenarios(), value=name)
        description = Scenario.load(name.value).description
        if description:  # plain text: solara.Markdown would fetch KaTeX from a CDN
            solara.Text(description, style={"font-size": "0.85em"})


@solara.component
def Page() -> None:
    """The explorer page, one per browser session."""
    name = solara.use_reactive(DEFAULT_SCENARIO)
    model = solara.use_memo(
        lambda: ExplorerModel(scenario_name=name.value, seed=DEFAULT_SEED), [name.value]
    )
    solara.Title("Hourglass explorer")
    with solara.Sidebar():
        ScenarioPicker(name)
    # Keyed by scenario: picking another one remounts the controls with that scenario's values.
    SolaraViz(
        model,
        components=[(view, 0) for view in VIEWS],
        model_params=model_params(name.value),
        name="Hourglass explorer: from events to change at scale",
        play_interval=150,
    ).key(f"viz-{name.value}")
