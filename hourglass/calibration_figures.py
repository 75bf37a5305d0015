"""Figures of a calibration: prior against posterior, correlated pairs, posterior predictive.

Read from a calibration directory (:func:`hourglass.calibration.calibrate`): ``particles.parquet``
(weighted), ``predictive.parquet`` and ``calibration.json`` (prior bounds, targets).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.plots import save


def weighted_correlation(frame: pd.DataFrame, weights: np.ndarray) -> pd.DataFrame:
    """Weighted Pearson correlation of the columns (constant columns: 0)."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    x = frame.to_numpy(dtype=float)
    centred = x - w @ x
    cov = (centred * w[:, None]).T @ centred
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[~np.isfinite(corr)] = 0.0
    return pd.DataFrame(corr, index=frame.columns, columns=frame.columns)


def top_pairs(corr: pd.DataFrame, count: int = 3) -> list[tuple[str, str, float]]:
    """The ``count`` pairs of distinct parameters with the largest absolute correlation."""
    names = list(corr.columns)
    pairs = [(names[i], names[j], float(corr.iloc[i, j]))
             for i in range(len(names)) for j in range(i + 1, len(names))]
    return sorted(pairs, key=lambda p: -abs(p[2]))[:count]


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of ``values`` under ``weights`` (NaN values left out)."""
    ok = np.isfinite(values)
    if not ok.any():
        return float("nan")
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    cum = np.cumsum(w[order]) / w.sum()
    return float(v[order][min(np.searchsorted(cum, q), len(v) - 1)])


def predictive_summary(directory: str | Path) -> pd.DataFrame:
    """Posterior predictive of each target against the report's number (one row a target).

    Columns: the report's value and tolerance, the weighted median and 5-95 % range of the
    last generation's pooled values, the median deviation in tolerances, the weighted share of
    particles within the tolerance, and ``agrees`` (the median within the tolerance).
    """
    directory = Path(directory)
    meta = json.loads((directory / "calibration.json").read_text())
    predictive = pd.read_parquet(directory / "predictive.parquet")
    w = predictive["weight"].to_numpy(dtype=float)
    rows = []
    for name, t in meta["targets"].items():
        values = predictive[name].to_numpy(dtype=float)
        median = weighted_quantile(values, w, 0.5)
        ok = np.isfinite(values)
        within = np.abs(values[ok] - t["value"]) <= t["tolerance"]
        rows.append({
            "target": name, "pattern": t["pattern"], "report": t["value"],
            "tolerance": t["tolerance"], "median": median,
            "low_5": weighted_quantile(values, w, 0.05),
            "high_95": weighted_quantile(values, w, 0.95),
            "deviation_in_tolerances": (median - t["value"]) / t["tolerance"],
            "share_within_tolerance": float(w[ok][within].sum() / w.sum()),
            "agrees": bool(abs(median - t["value"]) <= t["tolerance"]),
        })
    return pd.DataFrame(rows)


def write_figures(directory: str | Path) -> list[Path]:
    """Write the figures and the predictive's summary into ``directory``.

    ``prior_posterior.png``, ``pairs.png``, ``predictive.png`` and ``predictive_summary.csv``
    (:func:`predictive_summary`).
    """
    directory = Path(directory)
    meta = json.loads((directory / "calibration.json").read_text())
    particles = pd.read_parquet(directory / "particles.parquet")
    weights = particles.pop("weight").to_numpy(dtype=float)
    predictive = pd.read_parquet(directory / "predictive.parquet")
    summary = directory / "predictive_summary.csv"
    predictive_summary(directory).to_csv(summary, index=False, float_format="%.4g")
    return [
        _prior_posterior(directory, meta["prior"], particles, weights),
        _pairs(directory, meta["prior"], particles, weights),
        _predictive(directory, meta["targets"], predictive),
        summary,
    ]


def _prior_posterior(directory: Path, prior: dict, particles: pd.DataFrame,
                     weights: np.ndarray) -> Path:
    names = list(prior)
    cols = 5
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        lo, hi = prior[name]["low"], prior[name]["high"]
        bins = np.linspace(lo, hi, 13)
        ax.hist(particles[name], bins=bins, weights=weights, density=True, color="tab:blue",
                alpha=0.7, label="posterior")
        ax.plot([lo, hi], [1 / (hi - lo)] * 2, color="black", lw=1.5, label="prior")
        ax.set_title(name, fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.suptitle("Prior (uniform) and posterior of each calibrated parameter")
    fig.tight_layout()
    path = save(fig, directory / "prior_posterior.png")
    plt.close(fig)
    return path


def _pairs(directory: Path, prior: dict, particles: pd.DataFrame, weights: np.ndarray) -> Path:
    names = list(prior)
    pairs = top_pairs(weighted_correlation(particles[names], weights))
    fig, axes = plt.subplots(1, max(1, len(pairs)), figsize=(4 * max(1, len(pairs)), 3.6),
                             squeeze=False)
    for ax, (a, b, r) in zip(axes.flat, pairs, strict=False):
        ax.scatter(particles[a], particles[b], s=20 + 400 * weights / weights.max() / 4,
                   alpha=0.6)
        ax.set_xlim(prior[a]["low"], prior[a]["high"])
        ax.set_ylim(prior[b]["low"], prior[b]["high"])
        ax.set_xlabel(a, fontsize=8)
        ax.set_ylabel(b, fontsize=8)
        ax.set_title(f"weighted r = {r:.2f}", fontsize=9)
    fig.suptitle("Most correlated pairs in the posterior (axes: the prior's range)")
    fig.tight_layout()
    path = save(fig, directory / "pairs.png")
    plt.close(fig)
    return path


def _predictive(directory: Path, targets: dict, predictive: pd.DataFrame) -> Path:
    fig, axes = plt.subplots(1, len(targets), figsize=(2.4 * len(targets), 3.4), squeeze=False)
    w = predictive["weight"].to_numpy(dtype=float)
    for ax, (name, t) in zip(axes.flat, targets.items(), strict=True):
        values = predictive[name].to_numpy(dtype=float)
        ok = np.isfinite(values)
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, ok.sum())
        ax.scatter(jitter, values[ok], s=10 + 200 * w[ok] / max(w.max(), 1e-12) / 4,
                   alpha=0.6, label="posterior predictive")
        ax.axhspan(t["value"] - t["tolerance"], t["value"] + t["tolerance"], color="tab:green",
                   alpha=0.2, label="report ± tolerance")
        ax.axhline(t["value"], color="tab:green", lw=2)
        ax.set_xticks([])
        ax.set_title(f"{name}\n({(~ok).sum()} particles counted nobody)", fontsize=7)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=6, loc="lower left")
    fig.suptitle("Posterior predictive of each target against the report's number")
    fig.tight_layout()
    path = save(fig, directory / "predictive.png")
    plt.close(fig)
    return path
