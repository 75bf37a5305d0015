"""Scenarios: the public vocabulary of levers, tools and parameters, loaded from TOML.

A scenario file sets values under sections (``[levers]``, ``[tools]``, ``[population]`` ...) and may
``extends`` another scenario, named from ``scenarios/`` or given as a path relative to the
extending file. Every key, its type, range, default and source is in ``parameters.toml`` (and
``tools.toml`` for tool intensities). Bad input raises :class:`HourglassError` with one line that
names the file, the key and what is allowed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from simulation.errors import HourglassError
from simulation.tools import LEARNING_TYPES, load_tools

PARAMETERS_FILE = Path(__file__).with_name("parameters.toml")
SCENARIO_DIR = Path(__file__).with_name("scenarios")
_TEXT_KEYS = ("description", "extends", "source")
MAX_EXTENDS = 32
"""Longest ``extends`` chain: deeper is refused in one line (a chain is a few files in practice)."""
_KINDS = ("int", "float", "bool", "choice", "floats", "choices")


@dataclass(frozen=True)
class ParameterSpec:
    """What a scenario key may hold, its default and where the default comes from."""

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    source: str = "assumption"
    doc: str = ""

    def allowed(self) -> str:
        """Describe the allowed values in a few words."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(f"'{c}'" for c in self.choices)
        if self.kind == "choices":
            return f"a list of {len(LEARNING_TYPES)} of " + ", ".join(
                f"'{c}'" for c in self.choices
            )
        span = f"[{_fmt(self.low)}, {_fmt(self.high)}]"
        if self.kind == "int":
            return f"a whole number in {span}"
        if self.kind == "floats":
            return f"a list of {len(LEARNING_TYPES)} numbers in {span}"
        return f"a number in {span}"

    def check(self, value: Any, where: str) -> Any:
        """Return ``value`` in canonical form, or raise a one-line error naming ``where``.

        NumPy scalars and arrays count as the Python numbers and lists they hold; list values
        come back as tuples (a scenario is immutable all the way down).
        """
        value = _plain(value)
        problem = f"{where}: {self.name} = {_show(value)} is not allowed; expected {self.allowed()}"
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise HourglassError(problem)
            return value
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise HourglassError(problem)
            return value
        if self.kind == "choices":
            if (
                not isinstance(value, list | tuple)
                or len(value) != len(LEARNING_TYPES)
                or any(not isinstance(v, str) or v not in self.choices for v in value)
            ):
                raise HourglassError(problem)
            return tuple(value)
        if self.kind == "floats":
            if not isinstance(value, list | tuple) or len(value) != len(LEARNING_TYPES):
                raise HourglassError(problem)
            return tuple(self._number(v, problem) for v in value)
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise HourglassError(problem)
            return int(self._bounded(value, problem))
        return self._number(value, problem)

    def _number(self, value: Any, problem: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise HourglassError(problem)
        if not math.isfinite(value):
            raise HourglassError(problem)
        return float(self._bounded(value, problem))

    def _bounded(self, value: float, problem: str) -> float:
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise HourglassError(problem)
        return value


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as the Python values they hold (``np.float64(0.3)``: ``0.3``)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _frozen(value: Any) -> Any:
    """``value`` with lists as tuples, so that no caller can change a shared default."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list | tuple) else value


def _fmt(x: float | None) -> str:
    return "-inf" if x is None else f"{x:g}"


def _show(value: Any) -> str:
    return _quote(value) if isinstance(value, str) else repr(value)


def _quote(name: str) -> str:
    """``'name'``; with line breaks or control characters (ANSI escapes) shown escaped."""
    return f"'{name}'" if name.isprintable() else repr(name)


@cache
def parameter_specs() -> dict[str, ParameterSpec]:
    """Return every scenario key's specification, keyed by dotted name (``levers.trust``).

    Tool intensities ``tools.<name>`` default to the tool's Figure 7 share (source: report).
    """
    with PARAMETERS_FILE.open("rb") as handle:
        table = tomllib.load(handle)
    specs: dict[str, ParameterSpec] = {}
    for section, entries in table.items():
        for key, entry in entries.items():
            name = f"{section}.{key}"
            if entry["kind"] not in _KINDS:
                raise HourglassError(f"{PARAMETERS_FILE.name}: {name}: unknown kind")
            specs[name] = ParameterSpec(
                name=name,
                kind=entry["kind"],
                default=_frozen(entry["default"]),
                low=entry.get("min"),
                high=entry.get("max"),
                choices=tuple(entry.get("choices", ())),
                source=entry["source"],
                doc=entry["doc"],
            )
    for tool in load_tools():
        specs[f"tools.{tool.name}"] = ParameterSpec(
            name=f"tools.{tool.name}",
            kind="float",
            default=tool.figure7_share,
            low=0.0,
            high=1.0,
            source="report",
            doc=f"{tool.label}: in a population of initiatives (initiative.draw = 'population') "
            f"the share of initiatives using it, each at {tool.uses_per_year:g} uses a year; in a "
            f"fixed initiative its intensity (0 = never used, 1 = {tool.uses_per_year:g} uses a "
            "year). Default: share of facilitators using it, Figure 7.",
        )
    return specs


def _flatten(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Turn ``{"levers": {"trust": 0.3}}`` into ``{"levers.trust": 0.3}``."""
    flat: dict[str, Any] = {}
    sections = {name.split(".")[0] for name in parameter_specs()}
    for section, entries in data.items():
        if section in _TEXT_KEYS:
            continue
        if section not in sections:
            raise HourglassError(
                f"{where}: unknown key {_quote(section)}"
                f"{_suggest_key(section, sections | set(_TEXT_KEYS))}; "
                f"allowed: {', '.join(sorted(sections | set(_TEXT_KEYS)))}"
            )
        if not isinstance(entries, Mapping):
            raise HourglassError(f"{where}: {_quote(section)} must be a table ([{section}])")
        for key, value in entries.items():
            flat[f"{section}.{key}"] = value
    return flat


def _suggest(name: str, options: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _suggest_key(name: str, options: set[str]) -> str:
    """A did-you-mean for a key, also when its section is missing (``trust``: ``levers.trust``)."""
    found = _suggest(name, options)
    if found:
        return found
    last = name.rsplit(".", 1)[-1]
    by_last: dict[str, list[str]] = {}
    for option in sorted(options):
        by_last.setdefault(option.rsplit(".", 1)[-1], []).append(option)
    close = difflib.get_close_matches(last, sorted(by_last), n=1)
    return f" (did you mean '{by_last[close[0]][0]}'?)" if close else ""


def _check_values(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    specs = parameter_specs()
    checked = {}
    for name, value in values.items():
        if not isinstance(name, str):
            raise HourglassError(f"{where}: keys must be dotted names such as 'levers.trust', "
                                 f"got {name!r}")
        if name not in specs:
            section = name.split(".")[0]
            in_section = {n for n in specs if n.startswith(section + ".")}
            allowed = (
                "allowed in ["
                + section
                + "]: "
                + ", ".join(n.split(".", 1)[1] for n in sorted(in_section))
                if in_section
                else "keys are SECTION.KEY; hourglass parameters lists them"
            )
            raise HourglassError(
                f"{where}: unknown key {_quote(name)}{_suggest_key(name, set(specs))}; {allowed}"
            )
        checked[name] = specs[name].check(value, where)
    return checked


def _check_consistency(values: Mapping[str, Any], where: str) -> None:
    orgs = values["population.home_organisations"]
    if values["population.countries"] > orgs:
        raise HourglassError(
            f"{where}: population.countries = {values['population.countries']} is not allowed; "
            f"expected at most population.home_organisations ({orgs})"
        )
    staff = values["population.staff_per_organisation"]
    if values["population.peers_per_organisation"] >= staff:
        raise HourglassError(
            f"{where}: population.peers_per_organisation must be below "
            f"population.staff_per_organisation ({staff})"
        )
    shortest, longest = values["initiative.duration_min"], values["initiative.duration_max"]
    if shortest > longest:
        raise HourglassError(
            f"{where}: initiative.duration_min = {shortest} is not allowed; expected at most "
            f"initiative.duration_max ({longest})"
        )
    degree = values["home_organisations.staff_degree"]
    if degree % 2 or degree >= staff:
        raise HourglassError(
            f"{where}: home_organisations.staff_degree = {degree} is not allowed; expected an even "
            f"number below population.staff_per_organisation ({staff})"
        )


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file written as UTF-8 (a byte order mark is allowed, as editors write one)."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise HourglassError(f"{path}: is a directory; expected a scenario .toml file") from None
    except OSError as error:
        raise HourglassError(f"{path}: cannot read: {error.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise HourglassError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start}); "
            "save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise HourglassError(f"{path}: malformed TOML: {error}") from None


def _locate(reference: str, relative_to: Path | None) -> Path:
    """Find a scenario by name in ``scenarios/`` or by path (relative to the extending file)."""
    looks_like_path = reference.endswith(".toml") or "/" in reference or "\\" in reference
    if looks_like_path:
        path = Path(reference)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        if path.is_file():
            return path.resolve()
        raise HourglassError(f"scenario file not found: {path}")
    path = SCENARIO_DIR / f"{reference}.toml"
    if path.is_file():
        return path.resolve()
    names = ", ".join(available_scenarios())
    raise HourglassError(
        f"scenario '{reference}' not found{_suggest(reference, set(available_scenarios()))}; "
        f"give a path to a .toml file or one of: {names}"
    )


def available_scenarios() -> list[str]:
    """Return the names of the scenarios shipped in ``scenarios/``."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


@dataclass(frozen=True)
class Scenario:
    """A fully resolved scenario: every key of :func:`parameter_specs` has a value.

    Build one with :meth:`load`, :meth:`from_dict` or :meth:`default`; derive variants with
    :meth:`with_overrides`.
    """

    values: Mapping[str, Any]
    name: str = "default"
    description: str = ""
    source: str = ""
    path: Path | None = None
    chain: tuple[str, ...] = field(default=())
    overrides: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """The values set by :meth:`with_overrides` over the loaded file (what a result records)."""

    def __post_init__(self) -> None:
        """Check every value and freeze them: ``values`` is a read-only mapping of tuples."""
        if not isinstance(self.values, Mapping):
            raise HourglassError(f"scenario {self.name!r}: values must be a mapping of dotted "
                                 f"keys to values, got {type(self.values).__name__}")
        checked = _check_values(self.values, f"scenario {self.name!r}")
        missing = [name for name in parameter_specs() if name not in checked]
        if missing:
            raise HourglassError(f"scenario {self.name!r}: no value for {missing[0]} (use "
                                 "Scenario.default().with_overrides(...) for a partial set)")
        _check_consistency(checked, f"scenario {self.name!r}")
        object.__setattr__(self, "values", MappingProxyType(checked))
        object.__setattr__(self, "overrides", MappingProxyType(
            {k: checked[k] for k in _check_values(self.overrides, f"scenario {self.name!r}")}))

    @classmethod
    def default(cls) -> Scenario:
        """The defaults of ``parameters.toml`` and ``tools.toml``, with nothing overridden."""
        values = {name: spec.default for name, spec in parameter_specs().items()}
        return cls(values=values, name="default")

    @classmethod
    def load(cls, reference: str | Path) -> Scenario:
        """Load a scenario by name (``"baseline"``) or path, resolving ``extends``.

        Args:
            reference: A name in ``scenarios/`` or a path to a TOML file.

        Returns:
            The resolved scenario.

        Raises:
            HourglassError: On a missing file, malformed TOML, unknown key, wrong type, value out
                of range, or a missing or cyclic ``extends``.
        """
        path = _locate(str(reference), None)
        return cls._load_path(path, ())

    @classmethod
    def _load_path(cls, path: Path, seen: tuple[Path, ...]) -> Scenario:
        if path in seen:
            cycle = " -> ".join(p.name for p in (*seen, path))
            raise HourglassError(f"{seen[-1]}: extends: cycle {cycle}")
        if len(seen) >= MAX_EXTENDS:
            raise HourglassError(
                f"{seen[0]}: extends: a chain of more than {MAX_EXTENDS} files (at {path.name}); "
                "extend a scenario that holds more of the values"
            )
        data = _read_toml(path)
        for key in _TEXT_KEYS:
            if key in data and not isinstance(data[key], str):
                raise HourglassError(f"{path}: {key} must be a string")
        if "extends" in data:
            base = cls._load_path(_locate(data["extends"], path.parent), (*seen, path))
        else:
            base = cls.default()
        values = {**base.values, **_check_values(_flatten(data, str(path)), str(path))}
        _check_consistency(values, str(path))
        return cls(
            values=values,
            name=path.stem,
            description=data.get("description", base.description),
            source=data.get("source", ""),
            path=path,
            chain=(*base.chain, str(path)) if base.path else (str(path),),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "<dict>") -> Scenario:
        """Build a scenario from nested (``{"levers": {...}}``) or dotted keys over the defaults.

        Raises:
            HourglassError: ``data`` is not a mapping, or holds a bad key or value.
        """
        if not isinstance(data, Mapping):
            raise HourglassError(f"{where}: expected a mapping such as {{'levers': "
                                 f"{{'trust': 0.4}}}}, got {type(data).__name__}")
        flat = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise HourglassError(f"{where}: keys must be names such as 'levers' or "
                                     f"'levers.trust', got {key!r}")
            if key in _TEXT_KEYS and not isinstance(value, str):
                raise HourglassError(f"{where}: {key} must be a string")
            if "." in key or key in _TEXT_KEYS:
                flat[key] = value
            else:
                flat.update(_flatten({key: value}, where))
        text = {k: flat.pop(k) for k in _TEXT_KEYS if k in flat}
        base = cls.load(text["extends"]) if "extends" in text else cls.default()
        scenario = base.with_overrides(flat, where=where)
        return (
            scenario
            if "description" not in text
            else replace(scenario, description=text["description"])
        )

    def with_overrides(self, overrides: Mapping[str, Any], where: str = "overrides") -> Scenario:
        """Return a copy with dotted keys replaced, e.g. ``{"levers.turnover": 0.3}``.

        NumPy scalars (``np.float64``, ``np.int64``, ``np.bool_``) are accepted as numbers.

        Raises:
            HourglassError: On overrides that are not a mapping, a key that is not a known
                dotted name, or a value that is not allowed.
        """
        if not isinstance(overrides, Mapping):
            raise HourglassError(f"{where}: expected a mapping of dotted keys to values such as "
                                 f"{{'levers.trust': 0.4}}, got {type(overrides).__name__}")
        checked = _check_values(overrides, where)
        values = {**self.values, **checked}
        _check_consistency(values, where)
        return replace(self, values=values, overrides={**self.overrides, **checked})

    def overrides_digest(self) -> str:
        """Six hex digits naming :attr:`overrides` (empty if there are none), for folder names."""
        if not self.overrides:
            return ""
        text = json.dumps(dict(sorted(self.overrides.items())), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]

    def label(self) -> str:
        """The name, with the overrides if any: ``baseline (levers.trust=0.9)``."""
        if not self.overrides:
            return self.name
        shown = ", ".join(f"{k}={_toml_value(v)}" for k, v in sorted(self.overrides.items()))
        return f"{self.name} ({shown})"

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as nested sections, ready for TOML or JSON."""
        return {section: dict(keys) for section, keys in self.sections.items()}

    @cached_property
    def sections(self) -> Mapping[str, Mapping[str, Any]]:
        """The values by section (``sections["contact"]["trust_decay"]``), read-only.

        Worked out once per scenario: a sweep builds a model from the same scenario thousands of
        times, and each model reads its values by section.
        """
        nested: dict[str, dict[str, Any]] = {}
        for name, value in self.values.items():
            section, key = name.split(".", 1)
            nested.setdefault(section, {})[key] = value
        return MappingProxyType({name: MappingProxyType(keys) for name, keys in nested.items()})

    def to_toml(self) -> str:
        """Return the fully resolved scenario as TOML text (what a run used)."""
        lines = [f"# Resolved scenario '{self.name}'"]
        lines.extend(
            f"# override: {k} = {_toml_value(v)}" for k, v in sorted(self.overrides.items())
        )
        if self.description:
            lines.append(f"description = {_toml_value(self.description)}")
        if self.source:
            lines.append(f"source = {_toml_value(self.source)}")
        for section, entries in self.to_dict().items():
            lines.append(f"\n[{section}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in entries.items())
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)
