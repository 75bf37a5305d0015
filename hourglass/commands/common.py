"""Argument parsing shared by the subcommands."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from typing import Any

from simulation.errors import HourglassError


def parse_value(text: str) -> Any:
    """Read a value as a TOML literal (``0.3``, ``true``, ``[1, 2]``), else as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items: Iterable[str] | None, flag: str = "--set") -> dict[str, Any]:
    """Turn ``["levers.trust=0.4", ...]`` into ``{"levers.trust": 0.4, ...}``.

    Raises:
        HourglassError: If an item is not ``KEY=VALUE``.
    """
    overrides: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise HourglassError(f"{flag} {item}: expected KEY=VALUE, e.g. levers.trust=0.4")
        overrides[key.strip()] = parse_value(value.strip())
    return overrides
