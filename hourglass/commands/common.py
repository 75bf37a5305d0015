"""Argument checks shared by the subcommands: all of them run before any work starts.

This module imports only the standard library at load time: the parsers of every command use
it, and ``hourglass CMD --help`` must answer at once.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from simulation.errors import HourglassError

MIN_FREE_BYTES = 16 * 2**20
"""Free space an output directory's filesystem must have before a command starts."""

MEMORY_HEADROOM = 0.8
"""Share of the available memory a command may plan to use (the rest is for the system)."""

# What one run holds at its peak, fitted to the peak resident memory of fresh processes
# (benchmarks/_timing.py's method: ru_maxrss after a run of national_programme at 2,500 to
# 20,000 peers, 100,000 to 2,000,000 staff and staff degree 6 or 12; non-negative least
# squares over 8 sizes, each within 4 % of its measurement; commit message of this change).
# The tie store (simulation/ties.py) grows by doubling: a month reserves a slot per peer and
# encounter of the tools used, so a run holds at most 2 x peers x the tools' encounters slots
# (measured: 42,500-520,000 slots, within this bound). Per slot: 90 bytes fitted (122 by
# layout: pair, alive, trust, age, contract, links, free list, contact, gain, reach by type).
_BYTES_PER_TIE_SLOT = 90
# Per staff member: adoption, traits, exposure (11 bytes fitted) and per end of a staff-network
# edge (CSR indices and the edge lists it is built from; 17.7 fitted).
_BYTES_PER_STAFF = 11.3
_BYTES_PER_STAFF_EDGE_END = 17.7
# Fitted terms times this: the estimate stays above every measured peak of the fit.
_SAFETY = 1.5
# A process keeps the staff networks of its last runs (simulation/population.py keeps 16, each
# float32 data and int64 indices per edge end, int64 row pointers per staff member): a worker
# that makes many runs holds 15 more networks than a single run does.
NETWORKS_KEPT = 16
_NETWORK_BYTES_PER_EDGE_END = 4 + 8
_NETWORK_BYTES_PER_STAFF = 8
PROCESS_BYTES = 300 * 2**20
"""A process's own memory before any run: Python, NumPy, Numba and the compiled kernels
(measured 265 MiB after a one-month baseline run), counted once per run (:func:`run_bytes`)."""


def parse_value(text: str) -> Any:
    """Read a value as a TOML literal (``0.3``, ``true``, ``[1, 2]``), else as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items: Iterable[str] | None, flag: str = "--set") -> dict[str, Any]:
    """Turn ``["levers.trust=0.4", ...]`` into ``{"levers.trust": 0.4, ...}``.

    Raises:
        HourglassError: If an item is not ``KEY=VALUE``.
    """
    overrides: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise HourglassError(f"{flag} {item!r}: expected KEY=VALUE, e.g. levers.trust=0.4")
        overrides[key.strip()] = parse_value(value.strip())
    return overrides


# -- argparse types: checked while parsing, so a bad value never reaches a command ----------


def whole(minimum: int, maximum: int | None = None, *, or_zero: bool = False
          ) -> Callable[[str], int]:
    """An argparse type: a whole number ``>= minimum`` (and ``<= maximum``; 0 too if ``or_zero``).

    Example:
        >>> whole(1)("3")
        3
    """
    span = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    allowed = f"0 or a whole number {span}" if or_zero else f"a whole number {span}"

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}") from None
        if or_zero and value == 0:
            return 0
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}")
        return value

    convert.__name__ = "whole number"
    return convert


seed_type = whole(0)
"""``--seed``: any whole number >= 0 (NumPy's seed sequences take no negative seeds)."""

_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ucx|ws|wss)://)?"              # Dask's protocols (tcp if none)
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"  # host or [IPv6]
    r":(?P<port>[0-9]{1,5})$"
)


def scheduler_type(text: str) -> str:
    """An argparse type for ``--scheduler``: ``local`` or ``[PROTOCOL://]HOST:PORT``."""
    if text == "local":
        return text
    match = _ADDRESS.match(text)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise argparse.ArgumentTypeError(
            f"expected 'local' or a scheduler address like tcp://HOST:8786, got {text!r}"
        )
    return text


def check_scheduler(args: argparse.Namespace) -> None:
    """Refuse ``--workers`` with a remote ``--scheduler`` (that cluster has its own workers).

    Raises:
        HourglassError: ``--workers`` given with a scheduler address.
    """
    scheduler = getattr(args, "scheduler", None)
    if scheduler not in (None, "local") and getattr(args, "workers", None) is not None:
        raise HourglassError(f"--workers applies to local workers; the cluster at --scheduler "
                    f"{scheduler} has its own (drop --workers, or use --scheduler local)")


# -- outputs ---------------------------------------------------------------------------------


def check_writable(path: Path | str, flag: str = "--out", *, store: bool = False) -> None:
    """Refuse an output location that cannot be written, before the work starts.

    Probes the nearest existing parent: it must be a directory in which a directory can be made,
    on a filesystem with some free space. ``path`` itself may not be a file.

    Args:
        path: The output directory (created later by the command).
        flag: The option named in messages.
        store: The output is a sweep store (an existing one is resumed, not replaced).

    Raises:
        HourglassError: One line naming the option, the path and the problem.
    """
    text = str(path)
    if not text.strip():
        raise HourglassError(f"{flag} {text!r}: expected a directory path")
    path = Path(path)
    if path.exists() and not path.is_dir():
        what = "a sweep store directory" if store else "a directory"
        raise HourglassError(f"{flag} {path}: is a file; expected {what} (choose another path)")
    parent = path if path.exists() else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise HourglassError(f"{flag} {path}: {parent} is a file, so {path} cannot be created")
    try:
        probe = tempfile.mkdtemp(prefix=".hourglass-probe-", dir=parent)
        Path(probe).rmdir()
    except OSError as exc:
        raise HourglassError(f"{flag} {path}: cannot write in {parent} ({exc.strerror})") from None
    free = shutil.disk_usage(parent).free
    if free < MIN_FREE_BYTES:
        raise HourglassError(
            f"{flag} {path}: only {_size(free)} free on the filesystem of {parent}; "
            f"need at least {_size(MIN_FREE_BYTES)}"
        )


# -- memory ----------------------------------------------------------------------------------


def available_memory() -> int:
    """Bytes of memory available to a new process (``MemAvailable`` of /proc/meminfo)."""
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**63 - 1  # unknown: refuse nothing


def run_bytes(values: Mapping[str, Any], *, many: bool = False) -> int:
    """The memory one run of a scenario needs at its peak, from its sizes (see the fit above).

    With ``many``, the memory of a worker process that makes run after run on different seeds:
    it keeps the staff networks of its last :data:`NETWORKS_KEPT` runs (measured: national
    runs in one process peaked at 0.39, 0.46, 0.53, 0.63, 0.69 GiB after each of the first five).

    Peers enter through the tie store (sparse: its slots grow with peers and the tools'
    encounters, not with pairs of peers), staff through their arrays and the staff network
    (``home_organisations.staff_degree`` edges each). With organisation sizes heavy-tailed the
    mean size gives the staff count all the same. Includes the memory of the process that
    runs it (:data:`PROCESS_BYTES`): n runs at a time are n processes.
    """
    from simulation import load_tools  # the parsers import only the standard library

    orgs = int(values["population.home_organisations"])
    peers = orgs * int(values["population.peers_per_organisation"])
    staff = orgs * int(values["population.staff_per_organisation"])
    degree = int(values.get("home_organisations.staff_degree", 0))
    encounters = sum(int(tool.encounters) for tool in load_tools())
    slots = max(64, 2 * peers, 2 * peers * encounters)
    need = (slots * _BYTES_PER_TIE_SLOT + staff * _BYTES_PER_STAFF
            + staff * degree * _BYTES_PER_STAFF_EDGE_END)
    kept = (NETWORKS_KEPT - 1) * (staff * degree * _NETWORK_BYTES_PER_EDGE_END
                                  + staff * _NETWORK_BYTES_PER_STAFF) if many else 0
    return PROCESS_BYTES + int(_SAFETY * need) + kept


def peer_matrix_bytes(values: Mapping[str, Any]) -> int:
    """Dense peer-by-peer views an experiment reads once (live ties, trust, their product)."""
    peers = int(values["population.home_organisations"]) * int(
        values["population.peers_per_organisation"])
    return peers * peers * (1 + 8 + 8)


def check_memory(need: int, what: str, hint: str = "a smaller population") -> None:
    """Refuse work whose memory estimate exceeds what this machine has available.

    Args:
        need: Estimated bytes.
        what: What needs them, for the message (e.g. ``"one run of baseline"``).
        hint: What would make it fit.

    Raises:
        HourglassError: One line with the estimate and the memory available.
    """
    have = available_memory()
    if need > MEMORY_HEADROOM * have:
        raise HourglassError(
            f"{what} needs about {_size(need)} of memory; {_size(have)} is available "
            f"(try {hint})"
        )


def _size(n: float) -> str:
    """``n`` bytes in binary units, e.g. ``233.0 GiB``."""
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.3g} PiB"


def power_of_two(text: str) -> int:
    """An argparse type: a power of 2 (Sobol' base samples)."""
    value = whole(1)(text)
    if value & (value - 1):
        lower = 1 << (value.bit_length() - 1)
        raise argparse.ArgumentTypeError(
            f"expected a power of 2 such as {lower} or {lower * 2}, got {text!r} (the Sobol' "
            "sequence is balanced only at powers of 2)"
        )
    return value


# -- outputs of the model --------------------------------------------------------------------


def summary_outputs() -> tuple[str, ...]:
    """The names in a run's summary (what ``--outputs`` may name), without running the model."""
    from simulation import load_tools
    from simulation.initiative import record_keys
    from simulation.mechanisms.evaluation import SUMMARY_FROM_FINAL_MONTH

    return tuple(dict.fromkeys(
        (*SUMMARY_FROM_FINAL_MONTH, "months", "departures", "mean_attendance_rate",
         *record_keys(load_tools()))))


def check_outputs(requested: Iterable[str] | None, flag: str = "--outputs") -> list[str]:
    """``requested`` if every name is an output (``name`` or ``name@MONTH``), else refuse.

    Raises:
        HourglassError: One line naming the first unknown output and a close match.
    """
    import difflib

    from simulation.mechanisms.evaluation import SUMMARY_FROM_FINAL_MONTH

    known = summary_outputs()
    names = list(requested or ())
    for name in names:
        base, at, month = name.partition("@")
        if at and base in SUMMARY_FROM_FINAL_MONTH and month.isdigit():
            continue
        if not at and name in known:
            continue
        close = difflib.get_close_matches(base, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise HourglassError(f"{flag}: {name!r} is not an output{hint}; allowed: "
                             f"{', '.join(known)} (or NAME@MONTH)")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise HourglassError(f"{flag}: {twice!r} is named twice")
    return names


# -- sizes of designs ------------------------------------------------------------------------


def design_rows(kind: str, space: Any, samples: int, *, second_order: bool = False) -> int:
    """Rows of a design, computed without building it (grids can be astronomically large)."""
    from analysis.space import Discrete

    dim = space.dim
    if kind == "grid":
        rows = 1
        for factor in space.factors.values():
            rows *= len(factor.values) if isinstance(factor, Discrete) else samples
        return rows
    if kind == "sobol":
        return samples * (2 * dim + 2 if second_order else dim + 2)
    if kind == "morris":
        return samples * (dim + 1)
    return samples


def sweep_bytes(rows: int, dim: int, replicates: int, n_outputs: int) -> int:
    """A lower bound on a sweep's memory besides its runs: the design and the results table."""
    per_row = 3 * 8 * dim + 300  # unit and value matrices, the row's parameter mapping
    return rows * per_row + rows * replicates * n_outputs * 8


def check_sweep_memory(model: Any, space: Any, designs: Iterable[tuple[str, int]],
                       replicates: int, workers: int | None, *,
                       second_order: bool = False) -> None:
    """Refuse a sweep whose design, results or concurrent runs cannot fit in memory.

    Args:
        model: The :class:`~hourglass.adapter.HourglassModel` (its scenario sizes the runs).
        space: The sweep's space.
        designs: ``(kind, samples)`` pairs run one after the other (``samples`` 0: skipped).
        replicates: Runs per design row.
        workers: Runs at the same time (``None``: one per core).
        second_order: Sobol' designs with second-order rows.

    Raises:
        HourglassError: One line with the estimate and the memory available.
    """
    scenario = model.scenario()
    months = int(scenario["run.months"])
    every = int(getattr(model, "every", 0) or 0)
    n_outputs = len(summary_outputs()) * (1 + (months // every if every else 0))
    concurrent = workers or os.cpu_count() or 1
    # The run at the largest population the space allows sizes each worker.
    one_run = max(run_bytes(scenario.values, many=True),
                  run_bytes(_largest(scenario, space), many=True))
    for kind, samples in designs:
        if not samples:
            continue
        rows = design_rows(kind, space, samples, second_order=second_order)
        need = sweep_bytes(rows, space.dim, replicates, n_outputs) + concurrent * one_run
        check_memory(need, f"the {kind} design ({rows:,} rows x {replicates} replicates, "
                     f"{concurrent} runs at a time)", "fewer samples or factors")


def _largest(scenario: Any, space: Any) -> dict[str, Any]:
    """The scenario's values with every population size the space varies at its largest."""
    from analysis.space import Discrete, Group, Real

    values = dict(scenario.values)
    for name, factor in space.factors.items():
        if not name.startswith(("population.", "home_organisations.")):
            continue
        if isinstance(factor, Discrete) and factor.kind in ("int", "choice"):
            numbers = [v for v in factor.values if isinstance(v, int | float)]
            if numbers:
                values[name] = max(numbers)
        elif isinstance(factor, Real | Group):
            values[name] = factor.hi
    return values


def load_scenario(reference: str, overrides: Mapping[str, Any], flag: str = "--set") -> Any:
    """The scenario ``reference`` with ``overrides`` (errors name ``flag``), checked now.

    Raises:
        HourglassError: A missing or bad scenario, or an override that is not allowed.
    """
    from simulation.scenario import Scenario

    scenario = Scenario.load(reference)
    return scenario.with_overrides(overrides, where=flag) if overrides else scenario


# -- the first run compiles the model's kernels ----------------------------------------------

COMPILING = ("compiling the model's kernels once (~40 s); later runs start at once "
             "(python -m simulation.warmup compiles them ahead)")


def _cache_dirs(source: Path) -> list[Path]:
    """Where Numba keeps the compiled cache of ``source`` (numba/core/caching.py locators)."""
    import hashlib

    folder = source.resolve().parent
    sub = f"{folder.name}_{hashlib.sha1(str(folder).encode()).hexdigest()}"  # noqa: S324 - Numba's
    configured = os.environ.get("NUMBA_CACHE_DIR")
    if configured:
        return [Path(configured) / sub]
    return [folder / "__pycache__", Path.home() / ".cache" / "numba" / sub]


# A compiled kernel's decorator: simulation.compiled.kernel, or Numba's own with its cache on.
_KERNEL = re.compile(rb"^[ \t]*@(kernel\b|(numba\.)?njit\([^)]*cache=True)", re.MULTILINE)


def kernels_cached(package: Path | None = None) -> bool:
    """Whether Numba's cache holds every compiled kernel module of ``package``, up to date.

    ``package`` defaults to ``simulation``. Reads Numba's index files (``*.nbi``) without
    importing Numba: an index is fresh when it carries the SHA-256 of the module's source,
    which is how Numba itself judges it, and for a module compiled with
    ``simulation.compiled.kernel`` also the stamp of the whole package's sources (its cache's
    second key: an edit anywhere compiles every kernel again).
    """
    import hashlib
    import importlib.util
    import pickle

    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return True  # nothing is compiled
    if package is None:
        spec = importlib.util.find_spec("simulation")  # finds it without importing it
        if spec is None or spec.origin is None:
            return True
        package = Path(spec.origin).parent
    stamp = None
    for source in sorted(package.rglob("*.py")):
        text = source.read_bytes()
        decorators = [m.group(1) for m in _KERNEL.finditer(text)]
        if not decorators:
            continue
        needed = [hashlib.sha256(text).digest()]
        if any(d.startswith(b"kernel") for d in decorators):
            if stamp is None:  # the (time, size, count) tuple as pickled in the index: its
                # opcodes without protocol 3's header (2 bytes) and memo (after TUPLE3)
                from simulation.sources import sources_stamp  # Numba-free

                dumped = pickle.dumps(sources_stamp(package), protocol=3)
                stamp = dumped[2:dumped.rindex(b"\x87") + 1]
            needed.append(stamp)
        indexes = [i for d in _cache_dirs(source) if d.is_dir()
                   for i in d.glob(f"{source.stem}.*.nbi")]
        if not any(all(key in data for key in needed)
                   for data in (index.read_bytes() for index in indexes)):
            return False
    return True


def announce_compilation() -> None:
    """Say once, on standard error, that this first run compiles the kernels (if it does)."""
    import sys

    if not kernels_cached():
        print(f"hourglass: {COMPILING}", file=sys.stderr, flush=True)


def check_design(kind: str, samples: int, flag: str = "--samples") -> None:
    """Refuse a sample size the design kind does not allow (as the engine would, but now).

    Raises:
        HourglassError: Sobol' N not a power of 2, fewer than 2 Morris trajectories or grid
            levels.
    """
    if kind == "sobol" and samples & (samples - 1):
        lower = 1 << (samples.bit_length() - 1)
        raise HourglassError(
            f"{flag}: design sobol: samples N={samples} must be a power of 2 (e.g. {lower} or "
            f"{lower * 2}); the Sobol' sequence is balanced only at powers of 2"
        )
    if kind in ("morris", "grid") and samples < 2:
        what = "trajectories" if kind == "morris" else "levels per continuous factor"
        raise HourglassError(f"{flag}: design {kind}: samples ({what}) must be >= 2")


def check_space(scenario: Any, space: Any, where: str) -> None:
    """Refuse a space whose keys or bounds the scenario does not allow (its two corners).

    Raises:
        HourglassError: One line naming ``where``, the key and what is allowed.
    """
    import numpy as np

    for corner in space.values(np.array([np.zeros(space.dim), np.ones(space.dim)])):
        scenario.with_overrides(space.params(corner), where=where)
