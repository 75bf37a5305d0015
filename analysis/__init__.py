"""A general experiment engine for any ``model(params, seed) -> {output: float}``.

Spaces, designs, seeds, executors, a resumable store, sweeps, sensitivity analysis and paired
comparison. It imports nothing of a particular model: the Hourglass study plugs its model in
through :mod:`hourglass.adapter`.

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

# Names are imported on first use (PEP 562): a worker process that only unpickles
# ``HourglassModel`` then loads the model, not SALib, SciPy's statistics and the plots.
_WHERE = {
    "AnalysisError": "analysis.errors",
    "Comparison": "analysis.compare",
    "compare": "analysis.compare",
    "compare_arms": "analysis.compare",
    "paired_summary": "analysis.compare",
    "run_all_arms": "analysis.compare",
    "run_arms": "analysis.compare",
    "Design": "analysis.designs",
    "make_design": "analysis.designs",
    "dask_client": "analysis.executors",
    "local_cluster": "analysis.executors",
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


_MOVED = ("HourglassModel", "hourglass_model")


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    if name in _MOVED:
        raise AttributeError(
            f"analysis.{name} is part of the Hourglass study now: from hourglass import {name}"
        )
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "AnalysisError",
    "Comparison",
    "Design",
    "Group",
    "Space",
    "Sweep",
    "analyse",
    "compare",
    "compare_arms",
    "convergence",
    "dask_client",
    "load_sweep",
    "local_cluster",
    "make_design",
    "morris",
    "paired_summary",
    "pawn",
    "replicate_seeds",
    "run_all_arms",
    "run_arms",
    "run_seed",
    "run_sweep",
    "sobol",
    "sobol_second_order",
    "table",
    "time_resolved",
]
