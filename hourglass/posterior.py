"""Which parameter sets a command runs over: the shipped posterior, another ensemble, or none.

``sensitivity``, ``compare`` and ``experiment`` run over a posterior ensemble by default (issue 15
§3): the Parquet file :func:`hourglass.calibration.shipped_posterior` returns (one parameter set
a row, columns dotted scenario keys, equally weighted: a calibration's ``posterior.parquet``).
``--posterior FILE`` picks another ensemble and ``--point-defaults`` keeps the scenario's point
values (faster; no variance between parameter sets). When no posterior ships and neither option
is given, the command says so in one line and runs at the point defaults: an explicit fallback,
recorded in its outputs.

``--sets K`` parameter sets are drawn from the ensemble without replacement (all of them when it
has K or fewer) with a generator of their own, seeded from the command's root seed (stream
``[seed, 15, 5]``), so the same command draws the same sets. Row numbers are the sets' names: a
run's params carry ``"parameter_set": row`` (the ``parameter_sets`` seam of
:class:`hourglass.adapter.HourglassModel`).

This module imports only the standard library at load time: parsers add its options without
loading pandas.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.errors import HourglassError

SETS = 20
"""Default parameter sets drawn from an ensemble."""
BY = "parameter_set"
"""The params key (and runs column) naming a parameter set."""


def add_posterior_options(parser: argparse.ArgumentParser, sets: int = SETS) -> None:
    """``--posterior FILE``, ``--point-defaults`` (exclusive) and ``--sets K``."""
    from hourglass.commands.common import whole  # noqa: PLC0415 - argparse types only

    group = parser.add_mutually_exclusive_group()
    group.add_argument("--posterior", type=Path, default=None, metavar="FILE",
                       help="Parquet ensemble of parameter sets to run over (default: the "
                       "shipped posterior, hourglass/posterior/posterior.parquet)")
    group.add_argument("--point-defaults", action="store_true",
                       help="run at the scenario's point values only (faster; no variance "
                       "between parameter sets)")
    parser.add_argument("--sets", type=whole(2), default=sets, metavar="K",
                        help=f"parameter sets drawn from the ensemble (default {sets}; all if "
                        "it has fewer)")


@dataclass(frozen=True)
class Ensemble:
    """The parameter sets a command runs over.

    Attributes:
        path: The Parquet file.
        rows: The drawn row numbers, ascending.
        size: Rows in the file.
        keys: The scenario keys it sets.
        source: How it was chosen (``"shipped"`` or ``"--posterior"``).
    """

    path: Path
    rows: tuple[int, ...]
    size: int
    keys: tuple[str, ...]
    source: str

    def describe(self) -> str:
        """One line for the printed output and the written README."""
        return (f"parameter sets: {len(self.rows)} of {self.size} drawn from {self.path} "
                f"({self.source}; {len(self.keys)} scenario keys)")

    def as_dict(self) -> dict[str, Any]:
        """JSON-able description."""
        return {"path": str(self.path), "rows": list(self.rows), "size": self.size,
                "keys": list(self.keys), "source": self.source}


POINT_DEFAULTS = "parameter sets: none (--point-defaults: the scenario's point values)"


def no_posterior_line(command: str) -> str:
    """The one line a command prints when no posterior ships."""
    from hourglass.calibration import POSTERIOR_DIR  # noqa: PLC0415

    return (f"{command}: no posterior ships yet ({POSTERIOR_DIR / 'posterior.parquet'} is "
            "missing); running at the scenario's point values (--posterior FILE runs over a "
            "calibration's posterior.parquet; --point-defaults says this on purpose)")


def choose(args: argparse.Namespace, seed: int, sets: int | None = None) -> Ensemble | None:
    """The ensemble the options ask for, checked, with its sets drawn; ``None``: point values.

    Args:
        args: The parsed options (``posterior``, ``point_defaults``, ``sets``).
        seed: The command's root seed (the draw of the sets).
        sets: Sets to draw instead of ``--sets`` (e.g. fewer, when replicates are few).

    Raises:
        HourglassError: ``--posterior`` names a file that is not an ensemble of parameter sets
            (one line naming the option and what is wrong).
    """
    if getattr(args, "point_defaults", False):
        return None
    if args.posterior is not None:
        path, source = Path(args.posterior), "--posterior"
    else:
        from hourglass.calibration import shipped_posterior  # noqa: PLC0415

        shipped = shipped_posterior()
        if shipped is None:
            return None
        path, source = Path(shipped), "shipped"
    flag = "--posterior" if source == "--posterior" else "shipped posterior"
    size, keys = check(path, flag)
    return Ensemble(path=path, rows=draw(size, sets or args.sets, seed), size=size, keys=keys,
                    source=source)


def replicate_sets(args: argparse.Namespace, replicates: int, sets: int, need: str
                   ) -> tuple[Ensemble | None, list[dict[str, int]] | None]:
    """The ensemble (or ``None``: point values) and each replicate's parameter set, ``r % K``.

    ``K`` = min(``sets``, R // 2) sets of R // K seeds each (at least 2 seeds a set), so every
    set has the same number of seeds: the variance split is balanced, and a set's mean is over as
    many seeds as any other's. Replicates past K x (R // K) are not run.

    Args:
        args: The parsed options (``posterior``, ``point_defaults``, ``seed``).
        replicates: R.
        sets: The sets asked for.
        need: What the refusal says is needed, e.g. "a comparison needs at least 4 pairs".

    Raises:
        HourglassError: Fewer than 2 sets x 2 seeds over a posterior, or a bad ``--posterior``
            (one line, before any run).
    """
    k = min(sets, replicates // 2)
    if k < 2 and not getattr(args, "point_defaults", False) and (
            args.posterior is not None or _shipped() is not None):
        raise HourglassError(f"--replicates {replicates}: over a posterior {need} (2 parameter "
                             "sets x 2 seeds); add replicates or --point-defaults")
    ensemble = choose(args, args.seed, sets=max(k, 2))
    if ensemble is None:
        return None, None
    k = len(ensemble.rows)
    per = replicates // k
    return ensemble, [{BY: ensemble.rows[r % k]} for r in range(k * per)]


def _shipped() -> Path | None:
    from hourglass.calibration import shipped_posterior  # noqa: PLC0415

    return shipped_posterior()


def describe(ensemble: Ensemble | None, args: argparse.Namespace, command: str) -> str:
    """The one line a command prints about its parameter sets (before its runs start)."""
    if ensemble is not None:
        return ensemble.describe()
    if getattr(args, "point_defaults", False):
        return POINT_DEFAULTS
    return no_posterior_line(command)


def check(path: Path, flag: str = "--posterior") -> tuple[int, tuple[str, ...]]:
    """Refuse a file that is not an ensemble of at least 2 parameter sets of scenario keys.

    Returns:
        Its row count and scenario keys.

    Raises:
        HourglassError: One line naming ``flag``, the file and what is wrong.
    """
    import pandas as pd  # noqa: PLC0415

    from simulation import parameter_specs  # noqa: PLC0415

    if not path.is_file():
        raise HourglassError(f"{flag}: {path}: no such file (expected a Parquet ensemble of "
                             "parameter sets, e.g. a calibration's posterior.parquet)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many kinds: one line names which
        raise HourglassError(
            f"{flag}: {path}: not a Parquet file ({type(exc).__name__})") from None
    keys = tuple(c for c in frame.columns if "." in str(c))
    if not keys:
        raise HourglassError(f"{flag}: {path}: no scenario-key columns (dotted names such as "
                             "reflection.base_rate)")
    specs = parameter_specs()
    unknown = [k for k in keys if k not in specs]
    if unknown:
        raise HourglassError(f"{flag}: {path}: column {unknown[0]!r} is not a scenario key "
                             "(hourglass parameters lists them; if the model changed since the "
                             "calibration, calibrate again or add --point-defaults)")
    bad = [k for k in keys if not pd.api.types.is_numeric_dtype(frame[k]) or frame[k].isna().any()]
    if bad:
        raise HourglassError(f"{flag}: {path}: column {bad[0]!r} has missing or non-numeric "
                             "values")
    if len(frame) < 2:
        raise HourglassError(f"{flag}: {path}: needs at least 2 parameter sets, has {len(frame)}")
    return len(frame), keys


def draw(size: int, sets: int, seed: int) -> tuple[int, ...]:
    """``sets`` row numbers of ``size`` without replacement (all if fewer), ascending, seeded."""
    import numpy as np  # noqa: PLC0415

    if sets >= size:
        return tuple(range(size))
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 15, 5]))
    return tuple(sorted(int(r) for r in rng.choice(size, size=sets, replace=False)))


def base_of(ensemble: Ensemble) -> str:
    """The scenario the ensemble was calibrated on (``calibration.json`` beside it, or baseline)."""
    import json  # noqa: PLC0415

    provenance = ensemble.path.with_name("calibration.json")
    try:
        return str(json.loads(provenance.read_text(encoding="utf-8")).get("base") or "baseline")
    except (OSError, ValueError, AttributeError):
        return "baseline"


def held_keys(ensemble: Ensemble | None, scenario: str | Path,
              overrides: Mapping[str, Any]) -> tuple[str, ...]:
    """The ensemble's keys a run keeps as the scenario or the user set them.

    A posterior describes the world of the scenario it was calibrated on (:func:`base_of`). A key
    that another scenario sets to a value of its own (an intervention's lever, a case's known
    context) or that the user fixes with ``--set`` is a deliberate choice, not an unknown of the
    world: a parameter set must not replace it, or ``compare baseline community_of_practice``
    would compare the baseline with itself.

    Args:
        ensemble: The ensemble (``None``: nothing held).
        scenario: The scenario name or path.
        overrides: The fixed ``--set`` overrides.

    Returns:
        The held keys, sorted.
    """
    if ensemble is None:
        return ()
    from simulation.scenario import Scenario  # noqa: PLC0415

    own = Scenario.load(scenario).values  # noqa: PD011 - a scenario's values, not pandas
    base = Scenario.load(base_of(ensemble)).values  # noqa: PD011
    return tuple(sorted(k for k in ensemble.keys
                        if k in overrides or own.get(k) != base.get(k)))


def held_line(held: tuple[str, ...], where: str) -> str:
    """One line naming the keys kept from the ensemble (empty when none)."""
    if not held:
        return ""
    return (f"kept as {where} sets them (not from the parameter sets): {', '.join(held)}")
