"""Scenario discovery over a sweep store: under which conditions is a target met?

The outcome of each design row is the share of its replicates meeting a target (for example
``orgs_changed >= 0.05``), with a binomial interval over the replicates (Wilson or
Clopper-Pearson, :func:`proportion_interval`). PRIM (EMA Workbench's
``ema_workbench.analysis.prim``) peels boxes on the rows with that share as the outcome; since
every row of a sweep has the same number of replicates, PRIM's coverage and density on the shares
are exactly the replicate-level ones (hits in the box over all hits; hits over runs in the box),
and each box gets its own interval over the runs inside it. A classification tree
(scikit-learn's ``DecisionTreeClassifier``) is grown beside PRIM on the same runs: each row enters
twice, as a hit weighted by its hits and as a miss weighted by its misses.

Example:
    >>> from analysis import load_sweep
    >>> sweep = load_sweep("runs/levers")                                  # doctest: +SKIP
    >>> found = discover(sweep, "orgs_changed", parse_target(">=0.05"))   # doctest: +SKIP
    >>> print(found.boxes[0].words)                                       # doctest: +SKIP
"""

from __future__ import annotations

import math
import operator
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulation.errors import HourglassError

METHODS = ("wilson", "clopper-pearson")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
}
_TARGET = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Target:
    """A condition on an outcome, such as ``>= 0.05``.

    Attributes:
        op: One of ``>=``, ``<=``, ``>``, ``<``, ``==``.
        value: The threshold.
    """

    op: str
    value: float

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Boolean array: which values meet the target."""
        return np.asarray(_OPS[self.op](np.asarray(values, dtype=float), self.value))

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def parse_target(text: str, flag: str = "--target") -> Target:
    """Read ``">=0.05"`` (or ``">", "<=", "<", "=="``) as a :class:`Target`.

    Raises:
        HourglassError: One line naming the flag and the allowed form.
    """
    match = _TARGET.match(str(text))
    if not match:
        raise HourglassError(
            f"{flag} {text!r}: expected a comparison and a number, e.g. '>=0.05' "
            "(allowed: >=, >, <=, <, ==)"
        )
    return Target(match.group(1), float(match.group(2)))


def proportion_interval(
    hits: np.ndarray | int, runs: np.ndarray | int, level: float = 0.95, method: str = "wilson"
) -> tuple[np.ndarray, np.ndarray]:
    """Binomial confidence interval for ``hits`` successes in ``runs`` trials (vectorised).

    Args:
        hits: Successes.
        runs: Trials (> 0).
        level: Confidence level.
        method: ``wilson`` (score interval) or ``clopper-pearson`` (exact).

    Returns:
        ``(low, high)`` arrays.

    Raises:
        HourglassError: Unknown method or a level outside (0, 1).
    """
    from scipy import stats  # noqa: PLC0415 - loaded on use

    if method not in METHODS:
        raise HourglassError(f"--interval {method!r}: allowed: {', '.join(METHODS)}")
    if not 0 < level < 1:
        raise HourglassError(f"--level {level}: must be between 0 and 1, e.g. 0.95")
    k = np.asarray(hits, dtype=float)
    n = np.asarray(runs, dtype=float)
    alpha = 1.0 - level
    if method == "wilson":
        z = stats.norm.ppf(1.0 - alpha / 2)
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        # exact at the ends, where rounding would put the bound a hair past the share
        low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
        return np.minimum(low, p), np.maximum(high, p)
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return low, high


def replicate_shares(
    sweep: Any, outcome: str, target: Target, level: float = 0.95, method: str = "wilson"
) -> pd.DataFrame:
    """Per design row: factor values, runs, hits, share of runs meeting ``target``, interval.

    Args:
        sweep: A complete :class:`analysis.sweep.Sweep`.
        outcome: An output of the sweep.
        target: The condition a run must meet.
        level: Confidence level of the interval.
        method: ``wilson`` or ``clopper-pearson``.

    Returns:
        A frame indexed by ``row``: factor columns, then ``runs``, ``hits``, ``share``, ``low``,
        ``high``.

    Raises:
        HourglassError: Unknown outcome or an incomplete sweep.
    """
    if outcome not in sweep.outputs:
        shown = ", ".join(o for o in sweep.outputs if "@" not in o)
        raise HourglassError(f"--outcome {outcome!r}: not an output of the sweep; allowed: {shown}")
    if not sweep.complete:
        raise HourglassError(
            f"sweep {sweep.path or ''}: {len(sweep.results)} of {sweep.n_runs} runs stored; finish "
            "it first (run the same sweep again, or hourglass discover --sweep)"
        )
    met = target(sweep.results[outcome].to_numpy(dtype=float))
    rows = sweep.results["row"].to_numpy(dtype=np.int64)
    hits = np.bincount(rows, weights=met, minlength=sweep.design.rows).astype(np.int64)
    runs = np.bincount(rows, minlength=sweep.design.rows).astype(np.int64)
    low, high = proportion_interval(hits, runs, level, method)
    frame = sweep.factors.copy()
    frame["runs"] = runs
    frame["hits"] = hits
    frame["share"] = hits / runs
    frame["low"] = low
    frame["high"] = high
    return frame


# -- PRIM -------------------------------------------------------------------------------------


def _prim_module() -> Any:
    """EMA Workbench's PRIM, imported without the warnings its optional extras raise."""
    with warnings.catch_warnings():
        # EMA warns at import that optional parallel and interactive back ends are missing.
        warnings.filterwarnings("ignore", message="ipyparallel not installed")
        warnings.filterwarnings("ignore", category=ImportWarning)
        from ema_workbench.analysis import prim  # noqa: PLC0415 - loaded on use

    return prim


@dataclass
class Box:
    """One PRIM box, chosen on its peeling trajectory.

    Attributes:
        number: 1 for the first box found, 2 for the next (found on the rows left), ...
        limits: One row per restricted factor: ``low`` and ``high`` (numbers) or ``values``
            (categories), and the replicate-aware quasi p-value of the restriction.
        words: The limits as a sentence, e.g. ``levers.home_openness ≥ 0.62 and ...``.
        stats: coverage, density (share of runs meeting the target inside the box), its
            ``low``/``high`` interval, mass, rows, runs, hits, restricted dimensions and the
            chosen point ``index`` on the trajectory.
        trajectory: Every point of the peeling and pasting trajectory: coverage, density and its
            interval, mass, restricted dimensions, rows, runs and hits.
        rows: Design rows inside the box.
    """

    number: int
    limits: pd.DataFrame
    words: str
    stats: dict[str, float]
    trajectory: pd.DataFrame
    rows: np.ndarray = field(repr=False)


def _fmt(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.3g}"
    return str(value)


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _in_box(x: pd.DataFrame, lims: pd.DataFrame, names: list[str]) -> np.ndarray:
    inside = np.ones(len(x), dtype=bool)
    for name in names:
        column = x[name]
        if _numeric(column):
            inside &= (column >= lims[name].iloc[0]).to_numpy()
            inside &= (column <= lims[name].iloc[1]).to_numpy()
        else:
            inside &= column.isin(list(lims[name].iloc[0])).to_numpy()
    return inside


def _restricted(lims: pd.DataFrame, initial: pd.DataFrame) -> list[str]:
    out = []
    for name in lims.columns:
        a, b = lims[name].tolist(), initial[name].tolist()
        if a != b:
            out.append(name)
    return out


def describe_limits(lims: pd.DataFrame, initial: pd.DataFrame) -> list[str]:
    """Each restricted factor of a box as a phrase (``x ≥ 0.62``, ``0.1 ≤ y ≤ 0.4``, ...)."""
    phrases = []
    for name in _restricted(lims, initial):
        lo, hi = lims[name].iloc[0], lims[name].iloc[1]
        if isinstance(lo, set | frozenset):
            values = ", ".join(sorted(_fmt(v) for v in lo))
            phrases.append(f"{name} in {{{values}}}")
            continue
        lo_cut = lo > initial[name].iloc[0]
        hi_cut = hi < initial[name].iloc[1]
        if lo_cut and hi_cut:
            phrases.append(f"{_fmt(lo)} ≤ {name} ≤ {_fmt(hi)}")
        elif lo_cut:
            phrases.append(f"{name} ≥ {_fmt(lo)}")
        else:
            phrases.append(f"{name} ≤ {_fmt(hi)}")
    return phrases


def _choose(trajectory: pd.DataFrame, min_coverage: float) -> int:
    """The densest point whose coverage is at least ``min_coverage`` (more coverage on ties)."""
    floor = min(min_coverage, float(trajectory["coverage"].max()))
    eligible = trajectory[trajectory["coverage"] >= floor - 1e-12]
    best = eligible.sort_values(["density", "coverage"], ascending=False, kind="stable")
    return int(best.index[0])


def _quasi_p(
    x: pd.DataFrame, hits: np.ndarray, runs: np.ndarray, remaining: np.ndarray,
    lims: pd.DataFrame, initial: pd.DataFrame, names: list[str],
) -> dict[str, float]:
    """Replicate-aware quasi p-value of each restriction (Bryant & Lempert 2010).

    One-sided binomial test of the runs in the box against the share of runs meeting the target
    in the box with that one restriction removed: a large value says the restriction adds little.
    """
    from scipy import stats  # noqa: PLC0415 - loaded on use

    sub = x.iloc[remaining]
    inside = _in_box(sub, lims, names)
    k, n = int(hits[remaining][inside].sum()), int(runs[remaining][inside].sum())
    out = {}
    for name in names:
        relaxed = lims.copy()
        relaxed[name] = initial[name]
        wider = _in_box(sub, relaxed, names)
        kj, nj = hits[remaining][wider].sum(), runs[remaining][wider].sum()
        out[name] = float(stats.binomtest(k, n, kj / nj, alternative="greater").pvalue)
    return out


def prim_boxes(
    shares: pd.DataFrame,
    factors: list[str],
    *,
    boxes: int = 1,
    min_coverage: float = 0.5,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    significance: float | None = 0.05,
    level: float = 0.95,
    method: str = "wilson",
) -> list[Box]:
    """PRIM boxes on design rows whose outcome is the share of replicates meeting the target.

    Args:
        shares: :func:`replicate_shares` output.
        factors: Factor columns PRIM may restrict.
        boxes: How many boxes to find (each on the rows the earlier boxes left).
        min_coverage: Each box is the densest point on its trajectory with at least this coverage.
        peel_alpha: Share of rows peeled per step.
        paste_alpha: Share of rows pasted per step.
        mass_min: Smallest share of rows a box may hold.
        significance: Restrictions of the chosen box whose quasi p-value exceeds this are
            dropped (the box widens on that factor); ``None`` keeps every restriction.
        level: Confidence level of the box's interval.
        method: ``wilson`` or ``clopper-pearson``.

    Returns:
        The boxes found (fewer than ``boxes`` if the rows run out of hits).

    Raises:
        HourglassError: No run meets the target, or every run does.
    """
    hits = shares["hits"].to_numpy(dtype=np.int64)
    runs = shares["runs"].to_numpy(dtype=np.int64)
    if hits.sum() == 0:
        raise HourglassError("--target: no run meets it; nothing to discover (try a lower target)")
    if hits.sum() == runs.sum():
        raise HourglassError("--target: every run meets it; nothing to discover (try a higher one)")
    prim = _prim_module()
    x = shares[factors].reset_index(drop=True)
    y = (hits / runs).astype(float)
    found: list[Box] = []
    with warnings.catch_warnings():
        # EMA Workbench calls pandas API that pandas has deprecated; not ours to change.
        warnings.filterwarnings("ignore", module=r"ema_workbench\.")
        algorithm = prim.Prim(x, y, peel_alpha=peel_alpha, paste_alpha=paste_alpha,
                              mass_min=mass_min)
        for number in range(1, boxes + 1):
            box = algorithm.find_box()
            if box is None:
                break
            remaining = np.asarray(algorithm.yi_remaining)
            trajectory = _trajectory(box, x, hits, runs, remaining, level, method)
            index = _choose(trajectory, min_coverage)
            box.select(index)
            if significance is not None:
                lims = box.box_lims[index]
                names = _restricted(lims, algorithm.box_init)
                qp = _quasi_p(x, hits, runs, remaining, lims, algorithm.box_init, names)
                weak = [name for name in names if qp[name] > significance]
                for name in weak[: len(names) - 1]:  # a box keeps at least one restriction
                    box.drop_restriction(name)
                if weak:
                    trajectory = _trajectory(box, x, hits, runs, remaining, level, method)
                    index = len(box.box_lims) - 1
            found.append(_box(number, box, index, trajectory, x, hits, runs, remaining,
                              algorithm.box_init))
            taken = np.concatenate([b.rows for b in found])
            if hits.sum() == hits[taken].sum():  # every hit is in a box already
                break
    return found


def _trajectory(
    box: Any, x: pd.DataFrame, hits: np.ndarray, runs: np.ndarray, remaining: np.ndarray,
    level: float, method: str,
) -> pd.DataFrame:
    """Replicate-level statistics of every point on a box's peeling and pasting trajectory."""
    names = list(x.columns)
    sub = x.iloc[remaining]
    rows = []
    for i, lims in enumerate(box.box_lims):
        inside = remaining[_in_box(sub, lims, names)]
        k, n = int(hits[inside].sum()), int(runs[inside].sum())
        rows.append({"index": i, "coverage": k / hits.sum(), "density": k / n if n else 0.0,
                     "mass": len(inside) / len(x), "res_dim": int(box.peeling_trajectory[
                         "res_dim"].iloc[i]), "rows": len(inside), "runs": n, "hits": k})
    frame = pd.DataFrame(rows).set_index("index")
    low, high = proportion_interval(frame["hits"].to_numpy(), frame["runs"].to_numpy(), level,
                                    method)
    frame["low"], frame["high"] = low, high
    return frame


def _box(
    number: int, box: Any, index: int, trajectory: pd.DataFrame, x: pd.DataFrame,
    hits: np.ndarray, runs: np.ndarray, remaining: np.ndarray, initial: pd.DataFrame,
) -> Box:
    lims = box.box_lims[index]
    names = _restricted(lims, initial)
    qp = _quasi_p(x, hits, runs, remaining, lims, initial, names)
    rows = []
    for name in names:
        lo, hi = lims[name].iloc[0], lims[name].iloc[1]
        if isinstance(lo, set | frozenset):
            rows.append({"factor": name, "low": np.nan, "high": np.nan,
                         "values": ", ".join(sorted(_fmt(v) for v in lo)),
                         "quasi_p": qp[name]})
        else:
            rows.append({"factor": name, "low": float(lo), "high": float(hi), "values": "",
                         "quasi_p": qp[name]})
    limits = pd.DataFrame(rows, columns=["factor", "low", "high", "values", "quasi_p"])
    limits = limits.set_index("factor")
    point = trajectory.loc[index]
    stats = {
        "index": index, "coverage": float(point["coverage"]), "density": float(point["density"]),
        "low": float(point["low"]), "high": float(point["high"]), "mass": float(point["mass"]),
        "rows": int(point["rows"]), "runs": int(point["runs"]), "hits": int(point["hits"]),
        "res_dim": len(names),
    }
    words = " and ".join(describe_limits(lims, initial)) or "(no restriction)"
    inside = remaining[_in_box(x.iloc[remaining], lims, list(x.columns))]
    return Box(number, limits, words, stats, trajectory, inside)


# -- CART -------------------------------------------------------------------------------------


@dataclass
class Tree:
    """A classification tree of the runs meeting the target, grown beside PRIM.

    Attributes:
        model: The fitted ``sklearn.tree.DecisionTreeClassifier``.
        features: Its input columns (categorical factors one-hot encoded as ``name=value``).
        leaves: One row per leaf, best share first: the conditions in words, rows, runs, hits,
            share of runs meeting the target and its interval.
        text: The tree as text (``sklearn.tree.export_text``).
    """

    model: Any
    features: list[str]
    leaves: pd.DataFrame
    text: str


def _encode(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as they are; booleans and categories one-hot as ``name=value`` columns."""
    parts = []
    for name in frame.columns:
        column = frame[name]
        if _numeric(column):
            parts.append(column.astype(float).rename(name))
        else:
            for value in sorted(column.unique(), key=_fmt):
                parts.append((column == value).astype(float).rename(f"{name}={_fmt(value)}"))
    return pd.concat(parts, axis=1)


def cart_tree(
    shares: pd.DataFrame,
    factors: list[str],
    *,
    max_depth: int = 3,
    min_leaf: float = 0.05,
    level: float = 0.95,
    method: str = "wilson",
) -> Tree:
    """Grow a classification tree on the runs (hits and misses of each row, as weights).

    Args:
        shares: :func:`replicate_shares` output.
        factors: Factor columns the tree may split on.
        max_depth: Deepest split.
        min_leaf: Smallest share of all runs a leaf may hold.
        level: Confidence level of each leaf's interval.
        method: ``wilson`` or ``clopper-pearson``.

    Returns:
        The :class:`Tree`.
    """
    from sklearn.tree import DecisionTreeClassifier, export_text  # noqa: PLC0415 - loaded on use

    x = _encode(shares[factors].reset_index(drop=True))
    hits = shares["hits"].to_numpy(dtype=float)
    misses = shares["runs"].to_numpy(dtype=float) - hits
    both = pd.concat([x, x], ignore_index=True)
    labels = np.r_[np.ones(len(x)), np.zeros(len(x))]
    weights = np.r_[hits, misses]
    keep = weights > 0
    model = DecisionTreeClassifier(max_depth=max_depth, min_weight_fraction_leaf=min_leaf,
                                   random_state=0)
    model.fit(both[keep].to_numpy(), labels[keep], sample_weight=weights[keep])
    leaf_of_row = model.apply(x.to_numpy())
    conditions = _leaf_conditions(model, list(x.columns))
    rows = []
    for leaf in np.unique(leaf_of_row):
        inside = leaf_of_row == leaf
        k, n = int(hits[inside].sum()), int((hits + misses)[inside].sum())
        rows.append({"leaf": int(leaf), "conditions": " and ".join(conditions[leaf]) or "(all)",
                     "rows": int(inside.sum()), "runs": n, "hits": k, "share": k / n})
    leaves = pd.DataFrame(rows)
    low, high = proportion_interval(leaves["hits"].to_numpy(), leaves["runs"].to_numpy(), level,
                                    method)
    leaves["low"], leaves["high"] = low, high
    leaves = leaves.sort_values("share", ascending=False, kind="stable").set_index("leaf")
    text = export_text(model, feature_names=list(x.columns), decimals=3)
    return Tree(model, list(x.columns), leaves, text)


def _leaf_conditions(model: Any, features: list[str]) -> dict[int, list[str]]:
    """Each leaf's path as merged phrases (one per feature: ``x ≤ a``, ``x > b``, ``a < x ≤ b``)."""
    tree = model.tree_
    out: dict[int, list[str]] = {}

    def walk(node: int, bounds: dict[str, list[float]]) -> None:
        left, right = tree.children_left[node], tree.children_right[node]
        if left == right:  # a leaf
            out[node] = [_phrase(name, lo, hi) for name, (lo, hi) in bounds.items()]
            return
        name, cut = features[tree.feature[node]], float(tree.threshold[node])
        lo, hi = bounds.get(name, [-math.inf, math.inf])
        walk(left, {**bounds, name: [lo, min(hi, cut)]})
        walk(right, {**bounds, name: [max(lo, cut), hi]})

    walk(0, {})
    return out


def _phrase(name: str, lo: float, hi: float) -> str:
    if "=" in name:  # a one-hot column: 0 or 1
        base, value = name.split("=", 1)
        return f"{base} = {value}" if lo >= 0.5 else f"{base} ≠ {value}"
    if math.isinf(lo):
        return f"{name} ≤ {hi:.3g}"
    if math.isinf(hi):
        return f"{name} > {lo:.3g}"
    return f"{lo:.3g} < {name} ≤ {hi:.3g}"


# -- the whole analysis -----------------------------------------------------------------------


@dataclass
class Discovery:
    """Scenario discovery of one outcome and target over a sweep.

    Attributes:
        outcome: The output judged.
        target: The condition on it.
        level: Confidence level of every interval.
        method: Interval method.
        shares: Per design row: factors, runs, hits, share and interval.
        boxes: The PRIM boxes.
        tree: The CART tree.
        factors: The factor columns searched.
    """

    outcome: str
    target: Target
    level: float
    method: str
    shares: pd.DataFrame
    boxes: list[Box]
    tree: Tree
    factors: list[str]

    def overall(self) -> dict[str, float]:
        """Share of all runs meeting the target, with its interval."""
        k, n = int(self.shares["hits"].sum()), int(self.shares["runs"].sum())
        low, high = proportion_interval(k, n, self.level, self.method)
        return {"runs": n, "hits": k, "share": k / n, "low": float(low), "high": float(high)}

    def box_table(self) -> pd.DataFrame:
        """One row per box: limits in words, coverage, density and its interval, size."""
        rows = [{"box": b.number, "limits": b.words, **{k: b.stats[k] for k in (
            "coverage", "density", "low", "high", "mass", "rows", "runs", "hits", "res_dim")}}
            for b in self.boxes]
        return pd.DataFrame(rows).set_index("box")

    def summary(self) -> dict[str, Any]:
        """JSON-able summary of the result."""
        return {
            "outcome": self.outcome, "target": str(self.target), "level": self.level,
            "interval": self.method, "overall": self.overall(), "factors": self.factors,
            "boxes": [{"box": b.number, "limits": b.words, **b.stats,
                       "restrictions": b.limits.reset_index().to_dict(orient="records")}
                      for b in self.boxes],
            "tree_leaves": self.tree.leaves.reset_index().to_dict(orient="records"),
        }


def discover(
    sweep: Any,
    outcome: str,
    target: Target,
    *,
    factors: list[str] | None = None,
    boxes: int = 1,
    min_coverage: float = 0.5,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
    significance: float | None = 0.05,
    max_depth: int = 3,
    level: float = 0.95,
    method: str = "wilson",
) -> Discovery:
    """PRIM boxes and a CART tree for ``outcome`` meeting ``target`` over a complete sweep.

    Args:
        sweep: A complete :class:`analysis.sweep.Sweep` (``load_sweep(path)``).
        outcome: The output judged.
        target: The condition a run must meet.
        factors: Factors to search (default: every factor of the sweep's space).
        boxes: PRIM boxes to find.
        min_coverage: Each box is its trajectory's densest point with at least this coverage.
        peel_alpha: PRIM's peeling step.
        mass_min: PRIM's smallest box (share of rows); also CART's smallest leaf (share of runs).
        significance: Drop box restrictions with a larger quasi p-value (``None``: keep all).
        max_depth: CART's depth.
        level: Confidence level of the intervals.
        method: ``wilson`` or ``clopper-pearson``.

    Returns:
        The :class:`Discovery`.

    Raises:
        HourglassError: Unknown outcome or factor, an incomplete sweep, bad settings, or a target
            no run (or every run) meets.
    """
    check_settings(boxes, min_coverage, peel_alpha, mass_min, max_depth)
    from analysis.sweep import CHANCE  # noqa: PLC0415

    # The seed as a factor (a sweep with seed_factor) is chance, not a condition a box can set.
    chance = CHANCE if getattr(sweep, "seed_factor", False) else None
    names = [n for n in sweep.space.names if n != chance]
    factors = list(factors or names)
    unknown = [f for f in factors if f not in names]
    if unknown:
        raise HourglassError(
            f"--factors: {unknown[0]!r} is not a factor of the sweep; allowed: {', '.join(names)}"
        )
    shares = replicate_shares(sweep, outcome, target, level, method)
    found = prim_boxes(shares, factors, boxes=boxes, min_coverage=min_coverage,
                       peel_alpha=peel_alpha, mass_min=mass_min, significance=significance,
                       level=level, method=method)
    tree = cart_tree(shares, factors, max_depth=max_depth, min_leaf=mass_min, level=level,
                     method=method)
    return Discovery(outcome, target, level, method, shares, found, tree, factors)


def check_settings(
    boxes: int, min_coverage: float, peel_alpha: float, mass_min: float, max_depth: int
) -> None:
    """Refuse discovery settings outside their ranges, before any work.

    Raises:
        HourglassError: One line naming the option and what is allowed.
    """
    if isinstance(boxes, bool) or not isinstance(boxes, int) or boxes < 1:
        raise HourglassError(f"--boxes {boxes!r}: must be a whole number >= 1")
    if not 0 <= min_coverage <= 1:
        raise HourglassError(f"--min-coverage {min_coverage}: must be between 0 and 1")
    if not 0 < peel_alpha < 0.5:
        raise HourglassError(f"--peel-alpha {peel_alpha}: must be between 0 and 0.5, e.g. 0.05")
    if not 0 < mass_min < 0.5:
        raise HourglassError(f"--mass-min {mass_min}: must be between 0 and 0.5, e.g. 0.05")
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
        raise HourglassError(f"--depth {max_depth!r}: must be a whole number >= 1")


# -- figures ----------------------------------------------------------------------------------


def tradeoff_figure(found: Discovery) -> Any:
    """Coverage against density along each box's trajectory, density intervals as bars."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - loaded on use

    fig = Figure(figsize=(6.4, 5.0))
    ax = fig.subplots()
    overall = found.overall()
    ax.axhline(overall["share"], color="0.6", lw=1, ls="--",
               label=f"all runs: {overall['share']:.2f}")
    markers = "os^Dv"
    for box in found.boxes:
        t = box.trajectory
        ax.errorbar(t["coverage"], t["density"],
                    yerr=[np.maximum(t["density"] - t["low"], 0.0),
                          np.maximum(t["high"] - t["density"], 0.0)],
                    fmt="none", ecolor="0.8", lw=0.8, zorder=1)
        points = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis",
                            marker=markers[(box.number - 1) % len(markers)], s=22, zorder=2,
                            vmin=0, vmax=max(1, int(t["res_dim"].max())))
        s = box.stats
        ax.scatter([s["coverage"]], [s["density"]], s=160, facecolors="none",
                   edgecolors="crimson", lw=1.6, zorder=3,
                   label=f"box {box.number}: coverage {s['coverage']:.2f}, density "
                         f"{s['density']:.2f} [{s['low']:.2f}, {s['high']:.2f}]")
        if box.number == 1:
            bar = fig.colorbar(points, ax=ax, label="restricted factors")
            bar.set_ticks(range(max(1, int(t["res_dim"].max())) + 1))
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("coverage (share of all runs meeting the target that fall in the box)")
    ax.set_ylabel("density (share of runs in the box meeting it)")
    ax.set_title(f"PRIM trade-off: {found.outcome} {found.target}", fontsize=11)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def limits_figure(found: Discovery, space: Any) -> Any:
    """Each box's restricted numeric factors as a bar within the factor's whole range."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - loaded on use

    items = [(b.number, name, row) for b in found.boxes for name, row in b.limits.iterrows()]
    fig = Figure(figsize=(7.0, 0.5 * max(len(items), 2) + 1.2))
    ax = fig.subplots()
    labels = []
    for y, (number, name, row) in enumerate(items):
        ax.barh(y, 1.0, color="0.92", height=0.6)
        label = f"box {number}: {name}"
        if row["values"]:
            ax.text(0.5, y, f"in {{{row['values']}}}", ha="center", va="center", fontsize=8)
        else:
            lo, hi = _range(space, name, found.shares[name])
            a, b = (row["low"] - lo) / (hi - lo), (row["high"] - lo) / (hi - lo)
            ax.barh(y, b - a, left=a, color="tab:blue", height=0.6)
            ax.text(a, y + 0.38, _fmt(row["low"]), ha="center", fontsize=8)
            ax.text(b, y + 0.38, _fmt(row["high"]), ha="center", fontsize=8)
        ax.text(1.02, y, f"qp {row['quasi_p']:.2g}", va="center", fontsize=8)
        labels.append(label)
    ax.set_yticks(range(len(items)), labels, fontsize=9)
    ax.set_xlim(0, 1.12)
    ax.set_xticks([0, 1], ["range low", "range high"])
    ax.invert_yaxis()
    ax.set_title(f"PRIM box limits: {found.outcome} {found.target}", fontsize=11)
    fig.tight_layout()
    return fig


def _range(space: Any, name: str, values: pd.Series) -> tuple[float, float]:
    factor = space.factors.get(name)
    if factor is not None and hasattr(factor, "lo"):
        return float(factor.lo), float(factor.hi)
    return float(values.min()), float(values.max()) or 1.0


def tree_figure(found: Discovery) -> Any:
    """The CART tree (scikit-learn's plot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - loaded on use
    from matplotlib.figure import Figure  # noqa: PLC0415 - loaded on use
    from sklearn.tree import plot_tree  # noqa: PLC0415 - loaded on use

    depth = found.tree.model.get_depth()
    fig = Figure(figsize=(max(8.0, 3.2 * 2 ** max(depth - 1, 0)), 1.8 + 1.6 * depth))
    FigureCanvasAgg(fig)  # scikit-learn measures its text boxes with the canvas's renderer
    ax = fig.subplots()
    plot_tree(found.tree.model, feature_names=found.tree.features,
              class_names=["misses", "meets target"], filled=True, impurity=False,
              proportion=True, rounded=True, fontsize=8, ax=ax)
    ax.set_title(f"CART: {found.outcome} {found.target} (share of runs per node)", fontsize=11)
    fig.tight_layout()
    return fig
