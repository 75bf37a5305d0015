"""Scenario sweeps and sensitivity analysis for the Hourglass model.

Example:
    >>> from analysis import Space, run_sweep, sobol, hourglass_model
    >>> space = Space({"levers.trust": (0.0, 1.0), "levers.share_forward": (0.0, 1.0)})
    >>> sweep = run_sweep(hourglass_model, space, design="sobol", samples=64, replicates=5,
    ...                   store="runs/trust")                       # doctest: +SKIP
    >>> sobol(sweep, output="applied")                               # doctest: +SKIP
"""

from importlib import import_module
from typing import Any

# Names are imported on first use (PEP 562): a worker process that only unpickles
# ``HourglassModel`` then loads the model, not SALib, SciPy's statistics and the plots.
_WHERE = {
    "compare": "analysis.compare",
    "paired_summary": "analysis.compare",
    "run_arms": "analysis.compare",
    "Design": "analysis.designs",
    "make_design": "analysis.designs",
    "dask_client": "analysis.executors",
    "local_cluster": "analysis.executors",
    "HourglassModel": "analysis.hourglass_adapter",
    "hourglass_model": "analysis.hourglass_adapter",
    "replicate_seeds": "analysis.seeds",
    "run_seed": "analysis.seeds",
    "analyse": "analysis.sensitivity",
    "convergence": "analysis.sensitivity",
    "morris": "analysis.sensitivity",
    "pawn": "analysis.sensitivity",
    "sobol": "analysis.sensitivity",
    "sobol_second_order": "analysis.sensitivity",
    "table": "analysis.sensitivity",
    "time_resolved": "analysis.sensitivity",
    "Group": "analysis.space",
    "Space": "analysis.space",
    "Sweep": "analysis.sweep",
    "load_sweep": "analysis.sweep",
    "run_sweep": "analysis.sweep",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "Design",
    "Group",
    "HourglassModel",
    "Space",
    "Sweep",
    "analyse",
    "compare",
    "convergence",
    "dask_client",
    "hourglass_model",
    "load_sweep",
    "local_cluster",
    "make_design",
    "morris",
    "paired_summary",
    "pawn",
    "replicate_seeds",
    "run_arms",
    "run_seed",
    "run_sweep",
    "sobol",
    "sobol_second_order",
    "table",
    "time_resolved",
]
