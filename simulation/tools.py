"""The facilitators' tool table (report Figure 7 and Table 2), loaded from ``tools.toml``.

The effects of each tool are data, not code: ``tools.toml`` beside this module gives each value
with its provenance. Mechanisms read the table as NumPy arrays indexed by tool.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from simulation.errors import HourglassError
from simulation.vocabulary import LEARNING_TYPES

__all__ = ["LEARNING_TYPES", "Tool", "ToolArrays", "load_tools"]

TOOLS_FILE = Path(__file__).with_name("tools.toml")
PROCESS_PARTS = ("foundational", "sustained")
FUNCTIONS = ("interaction", "knowledge", "sharing", "reflection")
CLUSTERS = ("convening", "review", "sustaining")
EFFECTS = ("ties", "transfer", "broadcast", "reflection")
"""What the ``tool_effects.<part>_<effect>`` multipliers scale (see :meth:`ToolArrays.scaled`)."""
_VECTOR_FIELDS = ("transfer", "broadcast")
_NUMBER_FIELDS = (
    "figure7_share",
    "uses_per_year",
    "group_size",
    "encounters",
    "tie_formation",
    "contact",
    "trust_gain",
    "reflection",
)


@dataclass(frozen=True)
class Tool:
    """One tool of the report, with its per-use effects (see ``tools.toml`` for sources)."""

    name: str
    label: str
    figure7_share: float
    process_part: str
    function: str
    uses_per_year: float
    group_size: int
    encounters: int
    tie_formation: float
    contact: float
    trust_gain: float
    transfer: tuple[float, float, float, float]
    broadcast: tuple[float, float, float, float]
    reflection: float
    also: tuple[tuple[str, str], ...] = ()
    cluster: str = "convening"

    @property
    def cells(self) -> tuple[tuple[str, str], ...]:
        """Every cell of Table 2 the tool sits in (process part, function), its main cell first."""
        return ((self.process_part, self.function), *self.also)

    @property
    def sustains(self) -> bool:
        """Whether a use acts on the same pairs or small groups as the last one (Table 2).

        Tools whose main cell is sustained individual contacts and that bring a few peers
        together (pairs, small groups) keep their groups from use to use.
        """
        return self.process_part == "sustained" and self.group_size >= 2 and self.encounters > 0

    @property
    def gathers_peers(self) -> bool:
        """Whether a use of the tool brings peers together (it can form ties and contacts)."""
        return self.encounters > 0 or self.contact > 0


def _check_tool(name: str, entry: dict) -> Tool:
    where = f"{TOOLS_FILE.name}: [{name}]"
    for field in (*_NUMBER_FIELDS, *_VECTOR_FIELDS, "label", "process_part", "function", "also",
                  "cluster"):
        if field not in entry:
            raise HourglassError(f"{where}: missing '{field}'")
    if entry["process_part"] not in PROCESS_PARTS:
        raise HourglassError(f"{where}: process_part must be one of {', '.join(PROCESS_PARTS)}")
    if entry["function"] not in FUNCTIONS:
        raise HourglassError(f"{where}: function must be one of {', '.join(FUNCTIONS)}")
    for cell in entry["also"]:
        if len(cell) != 2 or cell[0] not in PROCESS_PARTS or cell[1] not in FUNCTIONS:
            raise HourglassError(f"{where}: also must list [process_part, function] cells")
    if entry["cluster"] not in CLUSTERS:
        raise HourglassError(f"{where}: cluster must be one of {', '.join(CLUSTERS)}")
    for field in _VECTOR_FIELDS:
        values = entry[field]
        if len(values) != len(LEARNING_TYPES) or not all(0 <= v <= 1 for v in values):
            raise HourglassError(f"{where}: {field} must be 4 numbers in [0, 1]")
    for field in ("figure7_share", "tie_formation", "contact", "trust_gain", "reflection"):
        if not 0 <= entry[field] <= 1:
            raise HourglassError(f"{where}: {field} must be in [0, 1]")
    if not 0 <= entry["uses_per_year"] <= 12:
        raise HourglassError(f"{where}: uses_per_year must be in [0, 12] (at most once a month)")
    return Tool(
        name=name,
        label=entry["label"],
        figure7_share=float(entry["figure7_share"]),
        process_part=entry["process_part"],
        function=entry["function"],
        uses_per_year=float(entry["uses_per_year"]),
        group_size=int(entry["group_size"]),
        encounters=int(entry["encounters"]),
        tie_formation=float(entry["tie_formation"]),
        contact=float(entry["contact"]),
        trust_gain=float(entry["trust_gain"]),
        transfer=tuple(float(v) for v in entry["transfer"]),
        broadcast=tuple(float(v) for v in entry["broadcast"]),
        reflection=float(entry["reflection"]),
        also=tuple((str(part), str(function)) for part, function in entry["also"]),
        cluster=entry["cluster"],
    )


@cache
def load_tools() -> tuple[Tool, ...]:
    """Return the tool table, in the order of ``tools.toml``.

    Returns:
        The tools, each with its process part, function and per-use effects.
    """
    with TOOLS_FILE.open("rb") as handle:
        table = tomllib.load(handle)
    return tuple(_check_tool(name, entry) for name, entry in table.items())


class ToolArrays(NamedTuple):
    """The tool table as arrays indexed by tool, for the per-month arithmetic.

    A NamedTuple of arrays, so compiled loops take it whole; each field is named as the tool
    table's column (``tools.toml``), except ``monthly_use`` (uses_per_year / 12) and ``gathers``.
    """

    monthly_use: np.ndarray  # chance per month the facilitator runs each tool, at intensity 1
    transfer: np.ndarray  # (tools, 4)
    broadcast: np.ndarray  # (tools, 4)
    reflection: np.ndarray
    trust_gain: np.ndarray
    tie_formation: np.ndarray
    contact: np.ndarray
    gathers: np.ndarray  # bool: a use brings peers together
    group_size: np.ndarray
    encounters: np.ndarray
    sustains: np.ndarray  # bool: a use meets the same pairs or small groups as the last one

    @classmethod
    def from_table(cls, tools: tuple[Tool, ...]) -> ToolArrays:
        """Stack the tool table into arrays."""
        return cls(
            monthly_use=np.array([t.uses_per_year / 12 for t in tools]),
            transfer=np.array([t.transfer for t in tools]),
            broadcast=np.array([t.broadcast for t in tools]),
            reflection=np.array([t.reflection for t in tools]),
            trust_gain=np.array([t.trust_gain for t in tools]),
            tie_formation=np.array([t.tie_formation for t in tools]),
            contact=np.array([t.contact for t in tools]),
            gathers=np.array([t.gathers_peers for t in tools]),
            group_size=np.array([t.group_size for t in tools], dtype=np.int64),
            encounters=np.array([t.encounters for t in tools], dtype=np.int64),
            sustains=np.array([t.sustains for t in tools]),
        )

    def scaled(self, tools: tuple[Tool, ...], effects: Mapping[str, float]) -> ToolArrays:
        """The arrays with each tool's effects times its process part's multipliers.

        ``effects`` maps ``<part>_<effect>`` (``sustained_transfer``, ...) to a multiplier:
        ``ties`` scales tie formation and the contact chance, ``transfer`` peer-to-peer transfer,
        ``broadcast`` codified knowledge, ``reflection`` the reflection boost; chances are capped
        at 1. A tool is scaled by the part of its main cell (Table 2). All 1: the table as is.
        """
        factor = {
            effect: np.array([effects[f"{t.process_part}_{effect}"] for t in tools])
            for effect in EFFECTS
        }
        if all((f == 1.0).all() for f in factor.values()):
            return self

        def times(values: np.ndarray, by: np.ndarray) -> np.ndarray:
            shape = (-1,) + (1,) * (values.ndim - 1)
            return np.minimum(values * by.reshape(shape), 1.0)

        return self._replace(
            tie_formation=times(self.tie_formation, factor["ties"]),
            contact=times(self.contact, factor["ties"]),
            transfer=times(self.transfer, factor["transfer"]),
            broadcast=times(self.broadcast, factor["broadcast"]),
            reflection=times(self.reflection, factor["reflection"]),
        )
