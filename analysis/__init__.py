"""Scenario sweeps and sensitivity analysis for the Hourglass model.

Example:
    >>> from analysis import Space, run_sweep, sobol, hourglass_model
    >>> space = Space({"levers.trust": (0.0, 1.0), "levers.share_forward": (0.0, 1.0)})
    >>> sweep = run_sweep(hourglass_model, space, design="sobol", samples=64, replicates=5,
    ...                   store="runs/trust")                       # doctest: +SKIP
    >>> sobol(sweep, output="applied")                               # doctest: +SKIP
"""

from analysis.compare import compare, paired_summary, run_arms
from analysis.designs import Design, make_design
from analysis.executors import dask_client, local_cluster
from analysis.hourglass_adapter import HourglassModel, hourglass_model
from analysis.seeds import replicate_seeds, run_seed
from analysis.sensitivity import (
    analyse,
    convergence,
    morris,
    pawn,
    sobol,
    sobol_second_order,
    table,
    time_resolved,
)
from analysis.space import Group, Space
from analysis.sweep import Sweep, load_sweep, run_sweep

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
