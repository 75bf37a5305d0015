"""Assumption groups: the calibrated guesses grouped by section, for grouped Sobol' indices.

``hourglass/spaces/assumptions.toml`` names each group's sections of
``simulation/parameters.toml``; a group's members are the keys of those sections that the
calibration varies (:func:`hourglass.calibration.prior_space`), except ``levers.*``. A section
with calibrated keys that no group names becomes its own group. :func:`assumption_factors` gives
each member a range: the prior's, or the 5-95 % range of a posterior ensemble's sets.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.space import Discrete
from simulation.errors import HourglassError

ASSUMPTIONS_FILE = Path(__file__).with_name("spaces") / "assumptions.toml"
PREFIX = "assumptions."
"""Group labels are ``assumptions.<group>`` (beside the levers' own names in the tables)."""
QUANTILES = (0.05, 0.95)


def _sections() -> set[str]:
    from simulation import parameter_specs  # noqa: PLC0415

    return {name.split(".", 1)[0] for name in parameter_specs()}


def load_groups(path: Path = ASSUMPTIONS_FILE) -> dict[str, list[str]]:
    """Group name -> sections of ``simulation/parameters.toml``, as the file lists them.

    Raises:
        HourglassError: A malformed file, a section named twice or one that does not exist.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HourglassError(f"{path}: cannot read assumption groups ({exc})") from None
    known, seen = _sections(), {}
    groups: dict[str, list[str]] = {}
    for name, entry in data.get("groups", {}).items():
        sections = entry.get("sections") if isinstance(entry, dict) else None
        if not isinstance(sections, list) or not sections:
            raise HourglassError(f"{path}: groups.{name}: needs sections = [...]")
        for section in sections:
            if section not in known:
                raise HourglassError(f"{path}: groups.{name}: {section!r} is not a section of "
                                     "simulation/parameters.toml")
            if section in seen:
                raise HourglassError(f"{path}: section {section!r} is in groups {seen[section]} "
                                     f"and {name}")
            seen[section] = name
        groups[name] = list(sections)
    return groups


def members(path: Path = ASSUMPTIONS_FILE) -> dict[str, list[str]]:
    """Group name -> the calibrated keys in it (every calibrated non-lever key exactly once)."""
    from hourglass.calibration import prior_space  # noqa: PLC0415

    groups = load_groups(path)
    owner = {s: g for g, sections in groups.items() for s in sections}
    out: dict[str, list[str]] = {g: [] for g in groups}
    for key in prior_space().names:
        section = key.split(".", 1)[0]
        if section == "levers":
            continue
        out.setdefault(owner.get(section, section), []).append(key)
    return {g: keys for g, keys in out.items() if keys}


def assumption_factors(ensemble: Any = None) -> tuple[dict[str, object], dict[str, str]]:
    """Every grouped key's range and its group label (``assumptions.<group>``).

    Args:
        ensemble: A :class:`hourglass.posterior.Ensemble` (ranges: its sets' 5-95 % range of
            each key it sets) or ``None`` (the calibration prior's ranges).

    Returns:
        Factor specs for :class:`analysis.space.Space` and factor name -> group label.
    """
    from hourglass.calibration import prior_space  # noqa: PLC0415

    prior = prior_space().factors
    frame = None
    if ensemble is not None:
        import pandas as pd  # noqa: PLC0415

        frame = pd.read_parquet(ensemble.path).iloc[list(ensemble.rows)]
    specs: dict[str, object] = {}
    labels: dict[str, str] = {}
    for group, keys in members().items():
        for key in keys:
            specs[key] = _range(prior[key], None if frame is None or key not in frame
                                else frame[key])
            labels[key] = PREFIX + group
    return specs, labels


def _range(factor: Any, values: Any) -> object:
    """The prior's factor, or the 5-95 % range of ``values`` within it when that is not a point.

    A whole-number factor keeps the prior's own values (some keys allow only some, e.g. even
    degrees) inside the ensemble's range.
    """
    if values is None:
        return factor
    lo, hi = (float(q) for q in values.quantile(list(QUANTILES)))
    if isinstance(factor, Discrete):
        inside = tuple(v for v in factor.values if round(lo) <= v <= round(hi))  # noqa: PD011
        return Discrete(factor.kind, inside) if len(inside) >= 2 else factor
    return (lo, hi) if hi > lo else factor


def describe(labels: Mapping[str, str]) -> list[str]:
    """One line per group: its label and members."""
    groups: dict[str, list[str]] = {}
    for key, label in labels.items():
        groups.setdefault(label, []).append(key)
    return [f"{label}: {', '.join(keys)}" for label, keys in groups.items()]
