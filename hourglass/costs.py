"""What a design costs: the cost table (``hourglass/costs.toml``) and its arithmetic.

Every tool use and every facilitator lever costs facilitator time, venues and travel; the table
gives each component per use (tools) or per year at full strength (levers), each value with its
source. :meth:`CostTable.cost` prices a resolved scenario over its run; the formulas are in the
header of ``costs.toml``. Edit a copy and load it with ``load_costs(path)``
(``hourglass design --costs FILE``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation import load_tools, parameter_specs
from simulation.errors import HourglassError

COSTS_FILE = Path(__file__).with_name("costs.toml")
"""The default cost table (package data)."""

SOURCES = ("report", "derived", "literature", "assumption")
PRICES = ("facilitator_day", "venue_day", "trip", "per_diem")
TOOL_PARTS = ("facilitator_days", "venue_days", "travellers", "travel_days")
LEVER_PARTS = (
    "facilitator_days", "facilitator_days_per_peer", "venue_days", "venue_days_per_peer",
    "travellers", "travel_days",
)
COMPONENTS = ("facilitator_time", "venues", "travel")
"""The cost components :meth:`CostTable.cost` reports (plus their ``total``)."""


@dataclass(frozen=True)
class CostTable:
    """A validated cost table.

    Attributes:
        path: The file it was read from.
        currency: Unit of every cost.
        prices: ``facilitator_day``, ``venue_day``, ``trip``, ``per_diem``.
        tools: Tool name -> per-use components (``TOOL_PARTS``).
        levers: Scenario key -> per-year components at value 1 (``LEVER_PARTS``), and ``when``
            for a choice key (the cost applies when the key equals it).
        sources: ``"section.entry.part"`` -> ``(source, note)`` of every value.
    """

    path: str
    currency: str
    prices: dict[str, float]
    tools: dict[str, dict[str, float]]
    levers: dict[str, dict[str, Any]]
    sources: dict[str, tuple[str, str]]

    def to_dict(self) -> dict[str, Any]:
        """The numbers (JSON-able), for reports and manifests."""
        return {"currency": self.currency, "prices": self.prices, "tools": self.tools,
                "levers": self.levers}

    def travel_cost(self, travel_days: float) -> float:
        """One traveller's trip of ``travel_days`` days: fare plus subsistence."""
        return self.prices["trip"] + travel_days * self.prices["per_diem"]

    def tool_use(self, name: str, peers: int) -> dict[str, float]:
        """Cost components of one use of tool ``name`` for ``peers`` invited peers."""
        part = self.tools[name]
        return {
            "facilitator_time": part["facilitator_days"] * self.prices["facilitator_day"],
            "venues": part["venue_days"] * self.prices["venue_day"],
            "travel": part["travellers"] * peers * self.travel_cost(part["travel_days"]),
        }

    def lever_year(self, key: str, peers: int) -> dict[str, float]:
        """Cost components of one year of lever ``key`` at value 1 (or when it equals ``when``)."""
        part = self.levers[key]
        days = part["facilitator_days"] + part["facilitator_days_per_peer"] * peers
        venue = part["venue_days"] + part["venue_days_per_peer"] * peers
        return {
            "facilitator_time": days * self.prices["facilitator_day"],
            "venues": venue * self.prices["venue_day"],
            "travel": part["travellers"] * peers * self.travel_cost(part["travel_days"]),
        }

    def cost(self, values: Mapping[str, Any]) -> dict[str, float]:
        """Cost of a resolved scenario over its run, by component and in total.

        Args:
            values: Every scenario key's value (``Scenario.values``).

        Returns:
            ``facilitator_time``, ``venues``, ``travel`` and ``total``.
        """
        years = values["run.months"] / 12.0
        peers = int(values["population.home_organisations"]) * int(
            values["population.peers_per_organisation"])
        uses = {t.name: t.uses_per_year for t in load_tools()}
        out = dict.fromkeys(COMPONENTS, 0.0)
        for name in self.tools:
            planned = float(values[f"tools.{name}"]) * uses[name] * years
            for component, amount in self.tool_use(name, peers).items():
                out[component] += planned * amount
        for key, part in self.levers.items():
            if "when" in part:
                weight = 1.0 if values[key] == part["when"] else 0.0
            else:
                weight = float(values[key])
            for component, amount in self.lever_year(key, peers).items():
                out[component] += weight * years * amount
        out["total"] = sum(out[c] for c in COMPONENTS)
        return out


def _number(where: str, entry: object, sources: dict[str, tuple[str, str]]) -> float:
    """One ``{ value, source, note }`` entry: a finite number >= 0 with a known source."""
    if not isinstance(entry, dict):
        raise HourglassError(
            f"{where}: expected {{ value = NUMBER, source = \"assumption\" }} (or another source "
            f"with a note quoting it), got {entry!r}"
        )
    unknown = set(entry) - {"value", "source", "note"}
    if unknown:
        raise HourglassError(f"{where}: unknown field {sorted(unknown)[0]!r}; allowed: value, "
                             "source, note")
    value = entry.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0:
        raise HourglassError(f"{where}.value: must be a number >= 0, got {value!r}")
    source = entry.get("source")
    if source not in SOURCES:
        raise HourglassError(f"{where}.source: {source!r} is not allowed; allowed: "
                             f"{', '.join(SOURCES)}")
    note = entry.get("note", "")
    if not isinstance(note, str):
        raise HourglassError(f"{where}.note: must be a string")
    if source != "assumption" and not note.strip():
        raise HourglassError(f"{where}: source {source!r} needs a note quoting the passage")
    sources[where.split(": ", 1)[-1]] = (source, note)
    return float(value)


def _parts(
    where: str, entry: object, allowed: tuple[str, ...], required: bool,
    sources: dict[str, tuple[str, str]],
) -> dict[str, float]:
    if not isinstance(entry, dict):
        raise HourglassError(f"{where}: expected a table of cost components")
    unknown = set(entry) - {*allowed, "when"}
    if unknown:
        raise HourglassError(f"{where}: unknown component {sorted(unknown)[0]!r}; allowed: "
                             f"{', '.join(allowed)}")
    missing = [p for p in allowed if p not in entry]
    if required and missing:
        raise HourglassError(f"{where}: missing {missing[0]!r}; every tool needs "
                             f"{', '.join(allowed)}")
    return {p: _number(f"{where}.{p}", entry[p], sources) if p in entry else 0.0
            for p in allowed}


def load_costs(path: str | Path | None = None) -> CostTable:
    """Read and check a cost table (default: the package's ``costs.toml``).

    Raises:
        HourglassError: One line naming the file, the entry and what is allowed.
    """
    path = Path(path) if path is not None else COSTS_FILE
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HourglassError(f"--costs {where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HourglassError(f"--costs {where}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise HourglassError(f"--costs {where}: not valid TOML ({exc})") from None
    unknown = set(data) - {"currency", "prices", "tools", "levers"}
    if unknown:
        raise HourglassError(f"{where}: unknown table {sorted(unknown)[0]!r}; allowed: currency, "
                             "prices, tools, levers")
    sources: dict[str, tuple[str, str]] = {}
    prices_in = data.get("prices", {})
    missing = [p for p in PRICES if p not in prices_in]
    if missing:
        raise HourglassError(f"{where}: prices.{missing[0]} is missing; needed: "
                             f"{', '.join(PRICES)}")
    extra = set(prices_in) - set(PRICES)
    if extra:
        raise HourglassError(f"{where}: prices.{sorted(extra)[0]} is unknown; allowed: "
                             f"{', '.join(PRICES)}")
    prices = {p: _number(f"{where}: prices.{p}", prices_in[p], sources) for p in PRICES}
    names = [t.name for t in load_tools()]
    tools_in = data.get("tools", {})
    for name in tools_in:
        if name not in names:
            raise HourglassError(f"{where}: tools.{name} is not a tool; allowed: "
                                 f"{', '.join(names)}")
    absent = [n for n in names if n not in tools_in]
    if absent:
        raise HourglassError(f"{where}: tools.{absent[0]} is missing; every tool of "
                             "simulation/tools.toml needs a cost")
    tools = {n: _parts(f"{where}: tools.{n}", tools_in[n], TOOL_PARTS, True, sources)
             for n in names}
    levers = _levers(where, data.get("levers", {}), sources)
    currency = data.get("currency", "USD")
    if not isinstance(currency, str):
        raise HourglassError(f"{where}: currency must be a string, e.g. \"USD\"")
    return CostTable(str(path), currency, prices, tools, levers, sources)


def _levers(
    where: str, table: Mapping[str, Any], sources: dict[str, tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    specs = parameter_specs()
    levers: dict[str, dict[str, Any]] = {}
    for key, entry in table.items():
        spec = specs.get(key)
        if spec is None or key.startswith(("tools.", "run.", "population.")):
            raise HourglassError(f"{where}: levers.{key!r} is not a lever; give a scenario key "
                                 "such as levers.matching or facilitator.logistics")
        part: dict[str, Any] = _parts(f"{where}: levers.{key}", entry, LEVER_PARTS, False,
                                      sources)
        if spec.kind == "choice":
            when = entry.get("when") if isinstance(entry, dict) else None
            if when not in spec.choices:
                raise HourglassError(f"{where}: levers.{key}.when: {when!r} is not allowed; "
                                     f"allowed: {', '.join(map(str, spec.choices))}")
            part["when"] = when
        elif spec.kind != "float":
            raise HourglassError(f"{where}: levers.{key}: only levers with a value in [0, 1] or a "
                                 "choice can be costed")
        elif isinstance(entry, dict) and "when" in entry:
            raise HourglassError(f"{where}: levers.{key}.when: only for choice keys")
        levers[key] = part
    return levers
