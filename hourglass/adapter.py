"""The Hourglass model as a sweep model: ``model(params, seed) -> {output: float}``.

:class:`HourglassModel` loads a base scenario, applies fixed ``overrides`` then the
sweep's ``params`` (dotted scenario keys), runs :class:`simulation.PeerLearningModel`
with ``rng=seed`` and returns ``result.summary`` plus time-resolved outputs
``"<output>@<month>"`` for every timeseries column named like a summary output, at
months ``every, 2*every, ...``. Instances are picklable (plain attributes; the
scenario is loaded lazily and cached per process).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from simulation import PeerLearningModel, Scenario, load_tools, parameter_specs
from simulation.errors import HourglassError


def _base_scenario(base: str) -> Any:
    """The loaded scenario, cached per process; a file edited since is loaded again."""
    path = Path(base)
    try:
        stat = path.stat() if path.suffix == ".toml" else None
    except OSError:
        stat = None
    return _load_scenario(base, stat.st_mtime_ns if stat else None, stat.st_size if stat else None)


@cache
def _load_scenario(base: str, _mtime: int | None, _size: int | None) -> Any:
    return Scenario.load(base)


@cache
def code_digest() -> str:
    """SHA-256 of the simulation package: its Python sources and its TOML parameter tables.

    The scenario library (``scenarios/``) is left out: a scenario enters a fingerprint
    resolved, so editing one scenario does not touch sweeps of the others.
    """
    import simulation  # noqa: PLC0415 - the package this digests

    root = Path(simulation.__file__).resolve().parent
    files = sorted(p for p in [*root.rglob("*.py"), *root.glob("*.toml")]
                   if "__pycache__" not in p.parts)
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.relative_to(root).as_posix().encode() + b"\0")
        sha.update(path.read_bytes() + b"\0")
    return sha.hexdigest()


class HourglassModel:
    """Callable sweep model for a base scenario.

    Args:
        base: Scenario name in ``scenarios/`` or path to a TOML file.
        every: Months between time-resolved samples (0: none).
        overrides: Fixed dotted-key overrides applied before each run's params
            (e.g. a small population for quick sweeps).
        counts: Also return what the report counts (:mod:`hourglass.counts`: P4's tools and
            engagement spans, F2's matched peers, Figure 12's share who share nothing).
        parameter_sets: Parquet file of parameter sets (one row each, columns dotted scenario
            keys; e.g. a calibration's posterior). A run's ``params`` then take the key
            ``"parameter_set"`` (row number), whose values apply after ``overrides`` and
            before the other params.
        held: Keys a parameter set leaves as they are (the scenario's or the user's own
            choices, e.g. an intervention's lever: :func:`hourglass.posterior.held_keys`).

    Example:
        >>> model = HourglassModel("baseline", overrides={"run.months": 24})
        >>> out = model({"levers.trust": 0.5}, seed=7)  # doctest: +SKIP
    """

    def __init__(
        self,
        base: str | Path = "baseline",
        every: int = 12,
        overrides: Mapping[str, Any] | None = None,
        counts: bool = False,
        parameter_sets: str | Path | None = None,
        held: tuple[str, ...] = (),
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise HourglassError(
                f"hourglass model: every must be a whole number >= 0, got {every!r}"
            )
        self.base = str(base)
        self.every = every
        self.overrides = dict(overrides or {})
        self.counts = bool(counts)
        self.parameter_sets = None if parameter_sets is None else str(parameter_sets)
        self.held = tuple(sorted(held))

    def __repr__(self) -> str:
        return (
            f"HourglassModel(base={self.base!r}, every={self.every}, overrides={self.overrides!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HourglassModel) and self.describe() == other.describe()

    def __hash__(self) -> int:
        return hash(repr(self))

    def describe(self) -> dict[str, Any]:
        """Identity recorded in sweep stores."""
        identity = {
            "model": "hourglass",
            "base": self.base,
            "every": self.every,
            "overrides": dict(sorted(self.overrides.items())),
        }
        # Only when set, so stores written before these options keep their identity.
        if self.counts:
            identity["counts"] = True
        if self.parameter_sets is not None:
            identity["parameter_sets"] = self.parameter_sets
        if self.held:
            identity["held"] = list(self.held)
        return identity

    def fingerprint(self) -> dict[str, Any]:
        """What a sweep store compares on resume besides :meth:`describe`.

        The fully resolved scenario (every key, after ``overrides``: an edited scenario file
        changes it) and a digest of the model's code and parameter tables.
        """
        scenario = Scenario.load(self.base)  # from disk: the files as they are now
        if self.overrides:
            scenario = scenario.with_overrides(self.overrides, where=f"{self.base} overrides")
        values = scenario.values
        return {
            "scenario": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in sorted(values.items())},
            "code": code_digest(),
        }

    def scenario(self, params: Mapping[str, Any] | None = None) -> Any:
        """The resolved scenario for ``params`` (raises ``HourglassError`` on bad keys/values)."""
        scenario = _base_scenario(self.base)
        if self.overrides:
            scenario = scenario.with_overrides(self.overrides, where=f"{self.base} overrides")
        params = dict(params or {})
        if self.parameter_sets is not None and "parameter_set" in params:
            row = _parameter_set(self.parameter_sets, params.pop("parameter_set"))
            row = {k: v for k, v in row.items() if k not in self.held}
            scenario = scenario.with_overrides(row, where=f"{self.parameter_sets} parameter set")
        if params:
            scenario = scenario.with_overrides(params, where=f"{self.base} sweep parameters")
        return scenario

    def check(self, params: Mapping[str, Any]) -> None:
        """Refuse unknown keys or disallowed values before a sweep starts.

        Raises:
            HourglassError: One line naming the key and what is allowed.
        """
        self.scenario(params)

    def __call__(self, params: Mapping[str, Any], seed: int) -> dict[str, float]:
        """Run once and return summary plus ``name@month`` outputs (all floats)."""
        model = PeerLearningModel(self.scenario(params), rng=int(seed))
        if self.counts:
            from hourglass.counts import RunCounts  # noqa: PLC0415 - only when asked

            counts = RunCounts(model)
        result = model.run()
        out = {str(k): float(v) for k, v in result.summary.items()}
        if self.counts:
            out.update(counts.outputs())
        if self.every:
            monthly = result.monthly
            months = monthly["month"]
            columns = [c for c in monthly if c != "month" and c in out]
            for row in np.flatnonzero((months % self.every == 0) & (months > 0)):
                for name in columns:
                    out[f"{name}@{int(months[row])}"] = float(monthly[name][row])
        return out


def _parameter_set(path: str, row: object) -> dict[str, Any]:
    """Row ``row`` of the parameter sets in ``path`` as scenario overrides.

    Raises:
        HourglassError: ``row`` is not a row number of the file.
    """
    sets = _load_parameter_sets(path)
    if isinstance(row, bool) or not float(row).is_integer() or not 0 <= int(row) < len(sets):
        raise HourglassError(
            f"hourglass model: parameter_set must be a row number in [0, {len(sets) - 1}] of "
            f"{path}, got {row!r}"
        )
    return sets[int(row)]


@cache
def _load_parameter_sets(path: str) -> list[dict[str, Any]]:
    import pandas as pd  # noqa: PLC0415 - only when parameter sets are used

    frame = pd.read_parquet(path)
    keys = [c for c in frame.columns if "." in c]  # scenario keys; bookkeeping columns have none
    return [{k: v.item() if hasattr(v, "item") else v for k, v in row.items()}
            for row in frame[keys].to_dict("records")]


SPACES = Path(__file__).with_name("spaces")
"""The study's sweep spaces (package data): ``levers.toml`` holds every lever and tool group."""
LEVER_SPACE = SPACES / "levers.toml"


def lever_space() -> Any:
    """The default sensitivity space: every lever, plus one factor per tool group."""
    from analysis.space import Space  # noqa: PLC0415 - workers that only run models skip it

    return Space.from_toml(LEVER_SPACE)


hourglass_model = HourglassModel()
"""The baseline scenario, time-resolved outputs every 12 months."""


def tool_groups() -> dict[str, list[str]]:
    """Tool scenario keys grouped by the tool's function (interaction, knowledge, ...)."""
    groups: dict[str, list[str]] = {}
    for tool in load_tools():
        groups.setdefault(tool.function, []).append(f"tools.{tool.name}")
    return groups


def lever_keys() -> list[str]:
    """Every ``levers.*`` scenario key."""
    return [k for k in parameter_specs() if k.startswith("levers.")]
