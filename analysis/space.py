"""Parameter spaces: which inputs a sweep varies and over what ranges.

A :class:`Space` is an ordered set of *factors*. Every design works on the unit
hypercube ``[0, 1]^D`` (one column per factor); the space maps a unit row to factor
values and factor values to the flat ``{dotted key: value}`` dict a model receives.

Factor kinds, written in a plain mapping::

    Space({
        "levers.trust": (0.0, 1.0),                       # continuous, uniform on [lo, hi]
        "population.home_organisations": ("int", 4, 12),  # integer, lo..hi inclusive
        "population.staff": range(10, 101, 10),           # integer, the members of a range
        "network.kind": ["ring", "random"],               # categorical, equally likely
        "levers.peer_contracts_on": bool,                 # boolean
        "interaction": Group(["tools.site_visits", "tools.large_group_meetings"]),
    })

A :class:`Group` is one factor that moves several keys together: a draw ``g`` in
``[lo, hi]`` sets every member key to ``g``. Discrete factors map a unit value
``u`` to the ``floor(u * k)``-th of their ``k`` values, so every value gets an equal
share of the unit interval.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.errors import AnalysisError

Value = float | int | str | bool


@dataclass(frozen=True)
class Real:
    """A continuous factor, uniform on ``[lo, hi]``."""

    lo: float
    hi: float

    kind = "real"

    def from_unit(self, u: float) -> float:
        """Map a unit value to ``lo + u * (hi - lo)``."""
        return float(self.lo + u * (self.hi - self.lo))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description."""
        return {"kind": self.kind, "lo": self.lo, "hi": self.hi}


@dataclass(frozen=True)
class Discrete:
    """An integer, categorical or boolean factor with equally likely values."""

    kind: str  # "int", "choice" or "bool"
    values: tuple[Value, ...]

    def from_unit(self, u: float) -> Value:
        """Map a unit value to the ``floor(u * k)``-th value (``u = 1`` gives the last)."""
        k = len(self.values)
        return self.values[min(math.floor(u * k), k - 1)]

    def unit_levels(self) -> np.ndarray:
        """Unit values at the centre of each value's share (for grids)."""
        k = len(self.values)
        return (np.arange(k) + 0.5) / k

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description."""
        return {"kind": self.kind, "values": list(self.values)}


@dataclass(frozen=True)
class Group:
    """One factor setting several keys to the same value ``g`` in ``[lo, hi]``.

    Args:
        keys: The model keys that move together (at least one).
        lo: Lower bound of ``g``.
        hi: Upper bound of ``g``.
    """

    keys: tuple[str, ...]
    lo: float = 0.0
    hi: float = 1.0

    kind = "group"

    def __init__(self, keys: Iterable[str], lo: float = 0.0, hi: float = 1.0) -> None:
        object.__setattr__(self, "keys", tuple(keys))
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def from_unit(self, u: float) -> float:
        """Map a unit value to ``lo + u * (hi - lo)``."""
        return float(self.lo + u * (self.hi - self.lo))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description."""
        return {"kind": self.kind, "keys": list(self.keys), "lo": self.lo, "hi": self.hi}


Factor = Real | Discrete | Group


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _bounds(source: str, name: str, lo: object, hi: object) -> tuple[Any, Any]:
    if not (_is_number(lo) and _is_number(hi)):
        raise AnalysisError(f"{source}: {name}: bounds must be numbers, got ({lo!r}, {hi!r})")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise AnalysisError(f"{source}: {name}: bounds must be finite, got ({lo}, {hi})")
    if lo >= hi:
        raise AnalysisError(
            f"{source}: {name}: bounds reversed or empty ({lo} >= {hi}); write (low, high)"
        )
    return lo, hi


def _factor(source: str, name: str, spec: object) -> Factor:  # noqa: PLR0911 - one return per kind
    """Parse one factor spec (see the module docstring for the forms)."""
    if isinstance(spec, Real | Discrete):
        return spec
    if isinstance(spec, Group):
        if not spec.keys or not all(isinstance(k, str) and k for k in spec.keys):
            raise AnalysisError(f"{source}: {name}: a group needs one or more key names")
        _bounds(source, name, spec.lo, spec.hi)
        return spec
    if spec is bool:
        return Discrete("bool", (False, True))
    if isinstance(spec, range):
        if len(spec) < 2:
            raise AnalysisError(f"{source}: {name}: an integer range needs two or more values")
        return Discrete("int", tuple(spec))
    if isinstance(spec, tuple) and len(spec) == 3 and spec[0] == "int":
        lo, hi = _bounds(source, name, spec[1], spec[2])
        if not (isinstance(lo, int) and isinstance(hi, int)):
            raise AnalysisError(f"{source}: {name}: integer bounds must be integers")
        return Discrete("int", tuple(range(lo, hi + 1)))
    if isinstance(spec, tuple) and len(spec) == 2:
        lo, hi = _bounds(source, name, *spec)
        return Real(float(lo), float(hi))
    if isinstance(spec, list):
        if len(spec) < 2 or len(set(map(repr, spec))) != len(spec):
            raise AnalysisError(
                f"{source}: {name}: choices must be a list of two or more distinct values"
            )
        if not all(isinstance(v, str | int | float | bool) for v in spec):
            raise AnalysisError(f"{source}: {name}: choices must be strings, numbers or booleans")
        return Discrete("choice", tuple(spec))
    raise AnalysisError(
        f"{source}: {name}: unknown parameter kind {spec!r}; allowed: (lo, hi), ('int', lo, hi),"
        " range(...), [choices], bool, Group([...], lo, hi)"
    )


@dataclass(frozen=True)
class Space:
    """An ordered set of named factors (see the module docstring).

    Args:
        factors: Mapping of factor name to spec. For plain factors the name is the
            model key; a :class:`Group` name is only a label (its members are the keys).
        source: Where the spec came from, used in error messages.
    """

    factors: dict[str, Factor] = field(default_factory=dict)

    def __init__(self, factors: Mapping[str, object], source: str = "space") -> None:
        if not factors:
            raise AnalysisError(f"{source}: a space needs at least one parameter")
        parsed: dict[str, Factor] = {}
        for name, spec in factors.items():
            if not isinstance(name, str) or not name:
                raise AnalysisError(f"{source}: parameter names must be non-empty strings")
            parsed[name] = _factor(source, name, spec)
        keys = [k for n, f in parsed.items() for k in (f.keys if isinstance(f, Group) else [n])]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise AnalysisError(f"{source}: key {dupes[0]} is set by more than one parameter")
        object.__setattr__(self, "factors", parsed)

    # -- shape ---------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Factor names, in design-column order."""
        return list(self.factors)

    @property
    def dim(self) -> int:
        """Number of factors (design columns)."""
        return len(self.factors)

    def __len__(self) -> int:
        return self.dim

    def __iter__(self) -> Iterator[str]:
        return iter(self.factors)

    @property
    def keys(self) -> list[str]:
        """Every model key the space sets (group members expanded)."""
        out: list[str] = []
        for name, f in self.factors.items():
            out.extend(f.keys if isinstance(f, Group) else [name])
        return out

    def problem(self) -> dict[str, Any]:
        """The SALib problem on the unit hypercube (designs map units to values)."""
        return {"num_vars": self.dim, "names": self.names, "bounds": [[0.0, 1.0]] * self.dim}

    # -- mapping -------------------------------------------------------------------------

    def values(self, unit: np.ndarray) -> list[dict[str, Value]]:
        """Factor values for each row of a unit matrix (rows x ``dim``)."""
        unit = np.asarray(unit, dtype=float)
        if unit.ndim != 2 or unit.shape[1] != self.dim:
            raise AnalysisError(f"space: design has {unit.shape} columns, space has {self.dim}")
        facs = list(self.factors.items())
        return [
            {n: f.from_unit(float(u)) for (n, f), u in zip(facs, row, strict=True)} for row in unit
        ]

    def params(self, values: Mapping[str, Value]) -> dict[str, Value]:
        """Expand factor values to the model's ``{key: value}`` dict (groups fan out)."""
        out: dict[str, Value] = {}
        for name, f in self.factors.items():
            if isinstance(f, Group):
                out.update(dict.fromkeys(f.keys, values[name]))
            else:
                out[name] = values[name]
        return out

    def grid_levels(self, levels: int) -> list[np.ndarray]:
        """Unit levels per factor for a full-factorial grid.

        Continuous factors and groups get ``levels`` evenly spaced points from ``lo``
        to ``hi``; discrete factors get every one of their values.
        """
        out = []
        for f in self.factors.values():
            if isinstance(f, Discrete):
                out.append(f.unit_levels())
            else:
                out.append(np.linspace(0.0, 1.0, levels))
        return out

    # -- (de)serialisation ---------------------------------------------------------------

    def to_list(self) -> list[dict[str, Any]]:
        """JSON-able description in factor order (order matters: it is the column order)."""
        return [{"name": name, **f.to_dict()} for name, f in self.factors.items()]

    @classmethod
    def from_list(cls, data: Sequence[Mapping[str, Any]], source: str = "space") -> Space:
        """Rebuild a space written by :meth:`to_list`."""
        specs: dict[str, object] = {}
        for d in data:
            name, kind = d.get("name"), d.get("kind")
            if kind == "real":
                specs[name] = Real(*_bounds(source, name, d["lo"], d["hi"]))
            elif kind == "group":
                specs[name] = Group(d["keys"], d["lo"], d["hi"])
            elif kind in ("int", "choice", "bool"):
                specs[name] = Discrete(kind, tuple(d["values"]))
            else:
                raise AnalysisError(f"{source}: {name}: unknown parameter kind {kind!r}")
        return cls(specs, source=source)

    @classmethod
    def from_toml(cls, path: str | Path) -> Space:
        """Read a space from a TOML file.

        Format::

            [parameters]
            "levers.trust" = [0.0, 1.0]             # continuous
            "population.home_organisations" = { int = [4, 12] }
            "network.kind" = { choices = ["ring", "random"] }
            "levers.flag" = "bool"

            [groups.interaction]                    # one factor named "interaction"
            keys = ["tools.large_group_meetings", "tools.site_visits"]
            range = [0.0, 1.0]                      # optional, default [0, 1]
        """
        path = Path(path)
        source = str(path)
        try:
            # utf-8-sig: a byte order mark, as some editors write one, is not TOML's concern
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise AnalysisError(f"{source}: no such space file") from None
        except IsADirectoryError:
            raise AnalysisError(f"{source}: is a directory; expected a space .toml file") from None
        except UnicodeDecodeError as exc:
            raise AnalysisError(
                f"{source}: not UTF-8 text (position {exc.start}); save it as UTF-8"
            ) from None
        except OSError as exc:
            raise AnalysisError(f"{source}: cannot read ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise AnalysisError(f"{source}: not valid TOML ({exc})") from None
        unknown = set(data) - {"parameters", "groups"}
        if unknown:
            raise AnalysisError(
                f"{source}: unknown table {sorted(unknown)[0]!r}; allowed: parameters, groups"
            )
        specs: dict[str, object] = {}
        for name, spec in data.get("parameters", {}).items():
            specs[name] = _toml_spec(source, name, spec)
        for name, g in data.get("groups", {}).items():
            if not isinstance(g, dict) or set(g) - {"keys", "range"} or "keys" not in g:
                raise AnalysisError(
                    f"{source}: groups.{name}: needs 'keys' (list) and optional 'range' [lo, hi]"
                )
            lo, hi = _pair(source, f"groups.{name}", g.get("range", [0.0, 1.0]))
            specs[name] = Group(g["keys"], lo, hi)
        return cls(specs, source=source)


def _pair(source: str, name: str, value: object) -> tuple[Any, Any]:
    if not (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2):
        raise AnalysisError(f"{source}: {name}: expected [low, high], got {value!r}")
    return value[0], value[1]


def _toml_spec(source: str, name: str, spec: object) -> object:
    if spec == "bool":
        return bool
    if isinstance(spec, list):
        return tuple(_pair(source, name, spec))
    if isinstance(spec, dict) and len(spec) == 1:
        (kind, value), = spec.items()
        if kind == "int":
            return ("int", *_pair(source, name, value))
        if kind == "range":
            return tuple(_pair(source, name, value))
        if kind == "choices" and isinstance(value, list):
            return value
    raise AnalysisError(
        f"{source}: parameters.{name}: unknown kind {spec!r}; allowed: [lo, hi], "
        "{ int = [lo, hi] }, { choices = [...] }, \"bool\""
    )
