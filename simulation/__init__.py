"""Hourglass: an agent-based model of peer learning in public sector reform.

From facilitated events, through sustained contacts between individual officials and practical
learning, to change at scale in their home organisations (Andrews & Manning 2015, EIP).

Example:
    >>> from simulation import Scenario, PeerLearningModel
    >>> scenario = Scenario.load("baseline").with_overrides({"levers.turnover": 0.3})
    >>> result = PeerLearningModel(scenario, rng=7).run()
"""

from simulation.errors import HourglassError
from simulation.model import PeerLearningModel
from simulation.result import Result
from simulation.scenario import Scenario, available_scenarios, parameter_specs
from simulation.tools import load_tools
from simulation.vocabulary import LEARNING_TYPES, STAGES

__all__ = [
    "LEARNING_TYPES",
    "STAGES",
    "HourglassError",
    "PeerLearningModel",
    "Result",
    "Scenario",
    "available_scenarios",
    "load_tools",
    "parameter_specs",
]
