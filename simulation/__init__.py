"""Hourglass: an agent-based model of peer learning in public sector reform.

From facilitated events, through sustained contacts between individual officials and practical
learning, to change at scale in their home organisations (Andrews & Manning 2015, EIP).

Example:
    >>> from simulation import Scenario, PeerLearningModel
    >>> scenario = Scenario.load("baseline").with_overrides({"levers.turnover": 0.3})
    >>> result = PeerLearningModel(scenario, rng=7).run()
"""

from importlib import import_module
from typing import Any

# Imported on first use (PEP 562): the command line's one-line errors and a scenario check
# need ``simulation.errors`` or ``simulation.scenario`` without loading Mesa, pandas and Numba.
_WHERE = {
    "HourglassError": "simulation.errors",
    "PeerLearningModel": "simulation.model",
    "Result": "simulation.result",
    "Scenario": "simulation.scenario",
    "available_scenarios": "simulation.scenario",
    "cascade": "simulation.mechanisms.diffusion",
    "parameter_specs": "simulation.scenario",
    "load_tools": "simulation.tools",
    "LEARNING_TYPES": "simulation.vocabulary",
    "STAGES": "simulation.vocabulary",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'simulation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "LEARNING_TYPES",
    "STAGES",
    "HourglassError",
    "PeerLearningModel",
    "Result",
    "Scenario",
    "available_scenarios",
    "cascade",
    "load_tools",
    "parameter_specs",
]
