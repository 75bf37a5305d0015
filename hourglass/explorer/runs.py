"""What the explorer computes: two designs, each run over the same seeds, and what they differ by.

A design is a scenario plus the levers the user moved. Each design runs at seeds ``first_seed,
first_seed + 1, ...`` (the same seeds for both: paired runs, so the difference between designs is
not drowned by chance). What is known is then shown as medians with 10-90 % bands over the
seeds, and the paired difference as its mean with a 95 % t interval (scipy.stats).

Nothing here touches the page: :mod:`hourglass.explorer.app` calls it from a background task.
"""

from __future__ import annotations

import io
import re
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hourglass.figures import LEVELS
from simulation import PeerLearningModel, Scenario, available_scenarios
from simulation.errors import HourglassError

OUTCOMES = tuple(key for key, _ in LEVELS)
"""The hourglass, top to bottom: the outcomes compared."""
COURSE = ("practical_learning", "orgs_changed")
"""Outcomes shown month by month with their bands."""
BAND = (10, 90)
"""Percentiles of the band drawn around each median."""
CONFIDENCE = 0.95
"""Level of the interval around the paired difference."""
MAX_UPLOAD = 256 * 1024
"""Largest scenario file accepted from the page, in bytes (a scenario is a few KB)."""
MAX_SEEDS = 100


def library_scenario(name: str) -> Scenario:
    """A scenario of the library, by name only: a path or any other text is refused.

    The page's scenario pickers call this on the server with whatever the browser sent, so a
    replayed websocket message naming a file cannot make the server read it.

    Raises:
        HourglassError: If ``name`` is not one of :func:`simulation.available_scenarios`.
    """
    names = available_scenarios()
    if not isinstance(name, str) or name not in names:
        raise HourglassError(
            f"scenario {str(name)[:80]!r} is not in the library ({len(names)} "
            "scenarios); choose one of the list or upload a file"
        )
    return Scenario.load(name)


def uploaded_scenario(filename: str, data: bytes) -> Scenario:
    """A scenario file uploaded through the page, checked by the scenario loader.

    The file may extend a library scenario by name, never another file (that would let an upload
    read files on the server). It is loaded from a private temporary folder, as ``hourglass run``
    loads a file, so every key and value is validated the same way.

    Args:
        filename: The name the browser gave (only its stem is kept, as the scenario's name).
        data: The file's bytes.

    Returns:
        The scenario.

    Raises:
        HourglassError: In one line, if the file is too large, not UTF-8 TOML, extends something
            other than a library scenario, or has a key or value the loader refuses.
    """
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(str(filename)).stem)[:60] or "uploaded"
    if len(data) > MAX_UPLOAD:
        raise HourglassError(
            f"{filename}: {len(data)} bytes; a scenario file is at most {MAX_UPLOAD // 1024} KB"
        )
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise HourglassError(f"{filename}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise HourglassError(f"{filename}: malformed TOML: {error}") from None
    extends = parsed.get("extends")
    if extends is not None and extends not in available_scenarios():
        raise HourglassError(
            f"{filename}: extends = {str(extends)[:80]!r}: an uploaded file may "
            "extend a library scenario by name only"
        )
    with tempfile.TemporaryDirectory(prefix="hourglass-upload-") as folder:
        path = Path(folder) / f"{stem}.toml"
        path.write_bytes(data)
        try:
            return Scenario.load(path)
        except HourglassError as error:  # name the user's file, not the temporary path
            raise HourglassError(str(error).replace(str(path), filename)) from None


@dataclass(frozen=True)
class Runs:
    """One design run at many seeds.

    Attributes:
        scenario: The design's fully resolved scenario.
        seeds: The seeds, in order.
        summary: One row per seed, one column per summary outcome.
        course: For each outcome of :data:`COURSE`, an array ``(seeds, months + 1)``.
    """

    scenario: Scenario
    seeds: tuple[int, ...]
    summary: pd.DataFrame
    course: Mapping[str, np.ndarray]

    @property
    def months(self) -> np.ndarray:
        """Month numbers of the course arrays."""
        return np.arange(next(iter(self.course.values())).shape[1])

    def head(self, n: int) -> Runs:
        """The runs at the first ``n`` seeds."""
        return Runs(
            scenario=self.scenario,
            seeds=self.seeds[:n],
            summary=self.summary.iloc[:n],
            course={key: rows[:n] for key, rows in self.course.items()},
        )

    def then(self, more: Runs) -> Runs:
        """These runs followed by ``more`` (the same design at further seeds)."""
        return Runs(
            scenario=self.scenario,
            seeds=self.seeds + more.seeds,
            summary=pd.concat([self.summary, more.summary]),
            course={key: np.vstack([rows, more.course[key]]) for key, rows in self.course.items()},
        )


def run_design(
    scenario: Scenario, seeds: range, keep_going: Callable[[], bool] = lambda: True
) -> Runs | None:
    """Run ``scenario`` once per seed.

    Args:
        scenario: The design.
        seeds: The seeds.
        keep_going: Asked before each run; ``False`` stops early (a newer request superseded
            this one) and ``None`` is returned.

    Returns:
        The runs, or ``None`` if stopped.
    """
    summaries, course = [], {key: [] for key in COURSE}
    for seed in seeds:
        if not keep_going():
            return None
        result = PeerLearningModel(scenario, rng=int(seed)).run()
        summaries.append(result.summary)
        for key in COURSE:
            course[key].append(np.asarray(result.monthly[key], dtype=float))
    return Runs(
        scenario=scenario,
        seeds=tuple(int(s) for s in seeds),
        summary=pd.DataFrame(summaries, index=pd.Index(list(seeds), name="seed")),
        course={key: np.vstack(rows) for key, rows in course.items()},
    )


def bands(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and the :data:`BAND` percentiles over ``axis``."""
    low, median, high = np.percentile(values, [BAND[0], 50, BAND[1]], axis=axis)
    return median, low, high


def paired_difference(design: Runs, against: Runs) -> pd.DataFrame:
    """For each outcome: the medians and bands of both designs, and the paired difference.

    The difference is ``design - against`` seed by seed; its mean has a :data:`CONFIDENCE`
    t interval (a difference identical at every seed has an interval of zero width).

    Returns:
        One row per outcome of :data:`OUTCOMES`: ``design``, ``design_low``, ``design_high``,
        ``against`` (and its band), ``difference``, ``ci_low``, ``ci_high``, ``seeds``.

    Raises:
        HourglassError: If the two were not run at the same seeds.
    """
    if design.seeds != against.seeds:
        raise HourglassError("paired difference: the two designs were run at different seeds")
    rows = []
    for key in OUTCOMES:
        a = design.summary[key].to_numpy(dtype=float)
        b = against.summary[key].to_numpy(dtype=float)
        d = a - b
        mean = float(d.mean())
        sem = float(stats.sem(d)) if len(d) > 1 else 0.0
        if sem > 0:
            low, high = stats.t.interval(CONFIDENCE, len(d) - 1, loc=mean, scale=sem)
        else:
            low = high = mean
        (ma, la, ha), (mb, lb, hb) = bands(a), bands(b)
        rows.append(
            {
                "outcome": key,
                "design": ma,
                "design_low": la,
                "design_high": ha,
                "against": mb,
                "against_low": lb,
                "against_high": hb,
                "difference": mean,
                "ci_low": float(low),
                "ci_high": float(high),
                "seeds": len(d),
            }
        )
    return pd.DataFrame(rows).set_index("outcome")


def results_csv(design: Runs, against: Runs, names: tuple[str, str]) -> str:
    """Every run's summary, one row per design and seed, as CSV text."""
    frames = [
        runs.summary.reset_index().assign(design=name, scenario=runs.scenario.name)
        for runs, name in zip((design, against), names, strict=True)
    ]
    table = pd.concat(frames, ignore_index=True)
    first = ["design", "scenario", "seed"]
    table = table[first + [c for c in table.columns if c not in first]]
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return buffer.getvalue()


def design_toml(scenario: Scenario, overrides: Mapping[str, Any], started_from: str) -> str:
    """The user's design as a scenario file that ``hourglass run`` (and this page) can load."""
    changed = ", ".join(f"{k} = {v!r}" for k, v in sorted(overrides.items())) or "nothing"
    header = (
        f"# Designed in the Hourglass explorer, starting from '{started_from}'.\n"
        f"# Changed: {changed}.\n"
    )
    return header + scenario.to_toml()
