"""Sensitivity indices from a :class:`~analysis.sweep.Sweep`.

Every method works on the *replicate means* of each design row, matched to design
rows by run id (``row = run_id // replicates``), never by storage order. Averaging R
replicates divides the seed-noise variance in each row's value by R; without it, noise
inflates total-order indices (measured here: ST(x3) of a noisy Ishigami 0.41 instead of the
analytic 0.24 with one run per row; tests/test_sensitivity.py checks both). With the seed as a
factor of the design (``run_sweep(..., seed_factor=True)``) one run a row suffices: the rows the
estimators compare share their seed, so the noise goes to the seed's own indices (``chance``)
instead of inflating the others' (tests/test_seed_factor.py).

* :func:`sobol`: first and total order (Saltelli 2010 estimators, SALib) with
  bootstrap 95 % intervals; :func:`sobol_second_order` on a second-order design. On a
  :class:`~analysis.grouped.GroupedSpace` the indices are per group.
* :func:`morris`: elementary effects mu*, its bootstrap interval, sigma and mu, per unit of
  each factor's range (designs live on the unit cube), so factors are comparable.
* :func:`pawn`: a given-data, moment-independent method for any design (meant for LHS),
  with a bootstrap interval of the median KS statistic.
* :func:`convergence`: indices on nested subsets of the same design. A Saltelli design
  of base size N lists its rows base point by base point, and the first n points of a
  scrambled Sobol' sequence (n a power of 2) are themselves a balanced Sobol' design,
  so the first ``n (D + 2)`` rows are a valid design of size n. Morris uses the first k
  trajectories; PAWN the first n rows. No new runs are needed.
* :func:`time_resolved`: the same index for each month of outputs named
  ``"<output>@<month>"``.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import pawn as pawn_analyze
from SALib.analyze import sobol as sobol_analyze

from analysis.errors import AnalysisError
from analysis.grouped import index_names
from analysis.seeds import analysis_seed
from analysis.sweep import Sweep

SOBOL_COLUMNS = ["S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["mu_star", "mu_star_conf", "sigma", "mu"]
PAWN_COLUMNS = ["median", "median_conf", "mean", "minimum", "maximum"]
CONSTANT_NOTE = "constant in every run: no indices"
""":func:`interval_note` of an output that does not vary (its :func:`sobol` table is all NaN)."""
_MONTH = re.compile(r"^(?P<name>.+)@(?P<month>\d+)$")


def _require(sweep: Sweep, *kinds: str, method: str) -> None:
    if sweep.design.kind not in kinds:
        raise AnalysisError(
            f"{method}: needs a {' or '.join(kinds)} design; this sweep is {sweep.design.kind}"
        )


def _constant(y: np.ndarray) -> bool:
    """Every value equal to the first (compared, not subtracted: an infinite constant too)."""
    y = np.asarray(y)
    return bool(y.size) and bool(np.all(y == y.flat[0]))


def _frame(sweep: Sweep, data: dict[str, Sequence[float]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: np.asarray(data[c], dtype=float) for c in columns},
        index=pd.Index(index_names(sweep.space), name="parameter"),
    )


def _sobol_raw(
    sweep: Sweep, y: np.ndarray, num_resamples: int, conf_level: float
) -> dict[str, np.ndarray]:
    dim = len(index_names(sweep.space))
    if _constant(y):
        nan = np.full(dim, np.nan)
        return {"S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan,
                "S2": np.full((dim, dim), np.nan), "S2_conf": np.full((dim, dim), np.nan)}
    with warnings.catch_warnings():
        # SALib warns when A and B rows of a (bootstrap) subset are constant and counts
        # that subset's index as 0; a constant output as a whole is handled above
        warnings.filterwarnings("ignore", "Constant values encountered", UserWarning)
        return sobol_analyze.analyze(
            sweep.space.problem(),
            y,
            calc_second_order=sweep.design.second_order,
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=analysis_seed(sweep.seed),
        )


def sobol(
    sweep: Sweep, output: str, *, num_resamples: int = 1000, conf_level: float = 0.95
) -> pd.DataFrame:
    """First- and total-order Sobol' indices of one output.

    Args:
        sweep: A complete sweep with a ``sobol`` design.
        output: Output name.
        num_resamples: Bootstrap resamples for the intervals.
        conf_level: Interval level; ``*_conf`` columns are half-widths.

    Returns:
        DataFrame indexed by parameter with columns S1, S1_conf, ST, ST_conf (all NaN, and
        no warning, if the output does not vary; :func:`interval_note` then says so).
    """
    _require(sweep, "sobol", method="sobol")
    raw = _sobol_raw(sweep, sweep.output_means(output), num_resamples, conf_level)
    return _frame(sweep, raw, SOBOL_COLUMNS)


def interval_note(table: pd.DataFrame, samples: int) -> str | None:
    """Say so when an output has no Sobol' indices (constant), or its intervals are too wide.

    The intervals are too wide when the widest half-width (of S1 or ST) exceeds half the largest
    total index, i.e. the intervals are as wide as the indices they bound, or when a total index
    exceeds 1 (impossible but for sampling noise). Half-widths shrink as ``1 / sqrt(N)``, so
    ``N * (widest / target) ** 2``, rounded up to a power of 2, brings the widest to the target.

    Args:
        table: A :func:`sobol` table.
        samples: Its design's base samples N.

    Returns:
        One line to show beside the table: :data:`CONSTANT_NOTE` for an output that is the
        same in every run (:func:`sobol` gives it no indices, every cell NaN), else the width
        of the intervals; ``None`` when the intervals are narrow enough.
    """
    total = table["ST"].to_numpy(dtype=float)
    widths = table[["S1_conf", "ST_conf"]].to_numpy(dtype=float)
    if np.isnan(total).all() and np.isnan(widths).all():
        return CONSTANT_NOTE
    if not (np.isfinite(total).any() and np.isfinite(widths).any()):
        return None  # nothing finite to judge the intervals by
    largest = float(np.nanmax(np.abs(total)))
    widest = float(np.nanmax(widths))
    target = max(0.5 * largest, 0.02)
    above_one = int(np.sum(total > 1.0))
    if widest <= target and not above_one:
        return None
    factor = max((widest / target) ** 2, 2.0)
    needed = 1 << math.ceil(math.log2(samples * factor))
    problem = (f"{above_one} total indices above 1 and " if above_one else "") + (
        f"intervals up to +/-{widest:.2f} against a largest total index of {largest:.2f}")
    return (f"N={samples} is too small to read these indices ({problem}); about N={needed:,} "
            f"would bring the intervals to +/-{target:.2f}")


def sobol_second_order(
    sweep: Sweep, output: str, *, num_resamples: int = 1000, conf_level: float = 0.95
) -> pd.DataFrame:
    """Second-order Sobol' indices of one output, one row per parameter pair.

    Returns:
        DataFrame indexed by (parameter, other) with columns S2, S2_conf.

    Raises:
        AnalysisError: The design was not sampled with ``second_order=True``.
    """
    _require(sweep, "sobol", method="sobol_second_order")
    if not sweep.design.second_order:
        raise AnalysisError(
            "sobol_second_order: the sweep was sampled without second_order=True; rerun it with"
            " second_order=True"
        )
    raw = _sobol_raw(sweep, sweep.output_means(output), num_resamples, conf_level)
    names = index_names(sweep.space)
    rows = [
        (names[i], names[j], raw["S2"][i, j], raw["S2_conf"][i, j])
        for i in range(len(names))
        for j in range(i + 1, len(names))
    ]
    frame = pd.DataFrame(rows, columns=["parameter", "other", "S2", "S2_conf"])
    return frame.set_index(["parameter", "other"])


def morris(
    sweep: Sweep, output: str, *, num_resamples: int = 1000, conf_level: float = 0.95
) -> pd.DataFrame:
    """Morris elementary-effects screening of one output.

    Effects are per unit of each factor's range (the design's unit cube).

    Returns:
        DataFrame indexed by parameter with columns mu_star, mu_star_conf, sigma, mu.

    Raises:
        AnalysisError: A grouped space (Morris here screens single factors).
    """
    _require(sweep, "morris", method="morris")
    if index_names(sweep.space) != sweep.space.names:
        raise AnalysisError("morris: the space is grouped; screen single factors, or use "
                            "sobol for grouped indices")
    y = sweep.output_means(output)
    return _morris_rows(sweep, sweep.design.unit, y, num_resamples, conf_level)


def _morris_rows(
    sweep: Sweep, unit: np.ndarray, y: np.ndarray, num_resamples: int, conf_level: float
) -> pd.DataFrame:
    raw = morris_analyze.analyze(
        sweep.space.problem(),
        unit,
        y,
        num_resamples=num_resamples,
        conf_level=conf_level,
        num_levels=sweep.design.num_levels,
        seed=analysis_seed(sweep.seed),
    )
    return _frame(sweep, {k: np.asarray(raw[k], dtype=float) for k in MORRIS_COLUMNS},
                  MORRIS_COLUMNS)


def pawn(
    sweep: Sweep,
    output: str,
    *,
    slices: int = 10,
    num_resamples: int = 200,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """PAWN (given-data, moment-independent) indices of one output, for any design.

    The PAWN index of a factor is a statistic (median, mean, min, max) over ``slices``
    conditioning slices of the Kolmogorov-Smirnov distance between the conditional and
    unconditional output distributions. ``median_conf`` is the half-width of a
    percentile bootstrap interval of the median (design rows resampled with
    replacement, seeded).

    Returns:
        DataFrame indexed by parameter with columns median, median_conf, mean,
        minimum, maximum.
    """
    y = sweep.output_means(output)
    return _pawn_rows(sweep, sweep.design.unit, y, slices, num_resamples, conf_level)


def _pawn_once(sweep: Sweep, unit: np.ndarray, y: np.ndarray, slices: int) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):
        return pawn_analyze.analyze(sweep.space.problem(), unit, y, S=slices,
                                    seed=analysis_seed(sweep.seed))


def _pawn_rows(
    sweep: Sweep,
    unit: np.ndarray,
    y: np.ndarray,
    slices: int,
    num_resamples: int,
    conf_level: float,
) -> pd.DataFrame:
    dim = sweep.space.dim
    if _constant(y):
        zeros = np.zeros(dim)
        return _frame(sweep, dict.fromkeys(PAWN_COLUMNS, zeros), PAWN_COLUMNS)
    raw = _pawn_once(sweep, unit, y, slices)
    rng = np.random.default_rng(analysis_seed(sweep.seed))
    boots = np.empty((num_resamples, dim))
    for b in range(num_resamples):
        idx = rng.integers(0, len(y), len(y))
        boots[b] = np.asarray(_pawn_once(sweep, unit[idx], y[idx], slices)["median"])
    alpha = (1.0 - conf_level) / 2.0
    lo, hi = np.quantile(boots, [alpha, 1.0 - alpha], axis=0)
    data = {
        "median": raw["median"],
        "median_conf": (hi - lo) / 2.0,
        "mean": raw["mean"],
        "minimum": raw["minimum"],
        "maximum": raw["maximum"],
    }
    return _frame(sweep, data, PAWN_COLUMNS)


def analyse(sweep: Sweep, output: str, **options: float) -> pd.DataFrame:
    """The design's natural method: sobol for sobol designs, morris for morris, else pawn."""
    if sweep.design.kind == "sobol":
        return sobol(sweep, output, **options)
    if sweep.design.kind == "morris":
        return morris(sweep, output, **options)
    return pawn(sweep, output, **options)


def table(
    sweep: Sweep, outputs: Sequence[str] | None = None, index: str | None = None
) -> pd.DataFrame:
    """One index for many outputs: parameters x outputs (the levers x outcomes heat map).

    Args:
        sweep: A complete sweep.
        outputs: Outputs (default: every output not of the ``name@month`` form).
        index: Column to tabulate (default ``ST`` for sobol, ``mu_star`` for morris,
            ``median`` for others).

    Returns:
        DataFrame indexed by parameter with one column per output.
    """
    default = {"sobol": "ST", "morris": "mu_star"}.get(sweep.design.kind, "median")
    index = index or default
    outputs = list(outputs) if outputs is not None else summary_outputs(sweep)
    cols = {o: analyse(sweep, o)[index] for o in outputs}
    frame = pd.DataFrame(cols)
    frame.index.name = "parameter"
    return frame


def summary_outputs(sweep: Sweep) -> list[str]:
    """Outputs that are not month-indexed (``name@month``)."""
    return [o for o in sweep.outputs if not _MONTH.match(o)]


def monthly_outputs(sweep: Sweep, output: str) -> dict[int, str]:
    """``{month: column}`` of the month-indexed versions of ``output``."""
    found = {}
    for col in sweep.outputs:
        m = _MONTH.match(col)
        if m and m["name"] == output:
            found[int(m["month"])] = col
    return dict(sorted(found.items()))


def time_resolved(sweep: Sweep, output: str, **options: float) -> pd.DataFrame:
    """Indices of ``output`` at every month it was recorded (``output@month`` columns).

    Returns:
        Long DataFrame with columns month, parameter and the method's index columns.

    Raises:
        AnalysisError: The sweep has no month-indexed values of ``output``.
    """
    months = monthly_outputs(sweep, output)
    if not months:
        raise AnalysisError(
            f"time_resolved: no '{output}@<month>' outputs in the sweep; month-indexed "
            f"outputs: {sorted({m['name'] for c in sweep.outputs if (m := _MONTH.match(c))})}"
        )
    frames = []
    for month, col in months.items():
        frame = analyse(sweep, col, **options).reset_index()
        frame.insert(0, "month", month)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def convergence(
    sweep: Sweep, output: str, sizes: Sequence[int] | None = None, **options: float
) -> pd.DataFrame:
    """Indices of ``output`` on nested subsets of the sweep's design (no new runs).

    Args:
        sweep: A complete sobol, morris or any other sweep (PAWN).
        output: Output name.
        sizes: Subset sizes: base samples N (sobol, powers of 2), trajectories (morris)
            or design rows (others). Default: halvings of the full size down to a
            minimum (4 for sobol, 4 trajectories, 32 rows).
        **options: ``num_resamples`` and ``conf_level`` of the method.

    Returns:
        Long DataFrame with columns n, parameter and the method's index columns.
    """
    kind = sweep.design.kind
    y = sweep.output_means(output)
    dim = sweep.space.dim
    full = sweep.design.samples if kind in ("sobol", "morris") else sweep.design.rows
    minimum = 4 if kind in ("sobol", "morris") else 32
    if sizes is None:
        sizes, n = [], full
        while n >= minimum:
            sizes.append(n)
            n //= 2
        sizes = sorted(sizes) or [full]
    resamples = int(options.get("num_resamples", 1000 if kind in ("sobol", "morris") else 200))
    level = float(options.get("conf_level", 0.95))
    frames = []
    for n in sizes:
        if n > full or n < 2:
            raise AnalysisError(f"convergence: size {n} is outside 2..{full}")
        if kind == "sobol":
            if n & (n - 1):
                raise AnalysisError(f"convergence: sobol size {n} must be a power of 2")
            groups = len(index_names(sweep.space))  # a grouped design has G + 2 rows a point
            per = (2 * groups + 2) if sweep.design.second_order else (groups + 2)
            sub = _SubSweep(sweep, n, sweep.design.unit[: n * per])
            raw = _sobol_raw(sub, y[: n * per], resamples, level)
            frame = _frame(sweep, raw, SOBOL_COLUMNS)
        elif kind == "morris":
            rows = n * (dim + 1)
            frame = _morris_rows(sweep, sweep.design.unit[:rows], y[:rows], resamples, level)
        else:
            frame = _pawn_rows(sweep, sweep.design.unit[:n], y[:n], 10, resamples, level)
        frame = frame.reset_index()
        frame.insert(0, "n", n)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


class _SubSweep:
    """The parts of a sweep the Sobol' estimator needs, for a nested subset."""

    def __init__(self, sweep: Sweep, n: int, unit: np.ndarray) -> None:
        self.space = sweep.space
        self.seed = sweep.seed
        self.design = type(sweep.design)(
            kind="sobol", samples=n, seed=sweep.design.seed,
            second_order=sweep.design.second_order, num_levels=0, unit=unit,
        )
