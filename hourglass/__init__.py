"""The Hourglass study: the model of :mod:`simulation` run through the engine of :mod:`analysis`.

The command line (:mod:`hourglass.cli`), the sweep-model adapter (:mod:`hourglass.adapter`), the
report's patterns as validation criteria (:mod:`hourglass.validation`), the report's experiments
(:mod:`hourglass.experiments`), the study's figures (:mod:`hourglass.figures`) and the browser
explorer (:mod:`hourglass.explorer`).

Example:
    >>> from analysis import Space, run_sweep, sobol
    >>> from hourglass import hourglass_model
    >>> space = Space({"levers.trust": (0.0, 1.0), "levers.share_forward": (0.0, 1.0)})
    >>> sweep = run_sweep(hourglass_model, space, design="sobol", samples=64, replicates=5,
    ...                   store="runs/trust")                       # doctest: +SKIP
    >>> sobol(sweep, output="applied")                               # doctest: +SKIP
"""

from importlib import import_module
from typing import Any

# Imported on first use (PEP 562): ``hourglass --help`` and a worker that unpickles
# ``HourglassModel`` load only what they use.
_WHERE = {
    "HourglassModel": "hourglass.adapter",
    "hourglass_model": "hourglass.adapter",
    "lever_keys": "hourglass.adapter",
    "lever_space": "hourglass.adapter",
    "tool_groups": "hourglass.adapter",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hourglass' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = ["HourglassModel", "hourglass_model", "lever_keys", "lever_space", "tool_groups"]
