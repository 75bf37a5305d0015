"""The model's compiled loops: Numba's ``njit`` with its cache kept in step with all the sources.

Numba keys a cached compiled function on its own file's time stamp and size only, yet a compiled
function carries the code of every compiled function it calls: the compiled month
(``simulation/mechanisms/schedule.py``) links every submodel's loops, the month of events the
tie store's. After an edit of a submodel the month, its own file unchanged, would load the old
code from the cache and run code that is no longer there (seen: with an edited trust decay the
compiled month gave the results of before, the submodels called one by one the new ones).
:func:`kernel` compiles with the cache keyed also on the time stamps and sizes of all the
model's source files, so an edit anywhere in ``simulation/`` compiles the loops afresh, once.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from numba import njit
from numba.core.bytecode import FunctionIdentity

from simulation.sources import ROOT, sources_stamp  # noqa: F401 - re-exported


class _ProcessUniqueIds:
    """Numba's function ids, unique across processes, not only within one.

    Numba names a compiled function's symbol by its name, argument types and an id from a
    counter that starts at 1 in every process (a forked process carries on from its parent's).
    Two processes that fill the cache can then give one symbol name to two different bodies,
    such as the quicksort under ``np.sort`` and the one under ``np.argsort`` on int64 arrays;
    a later process that loads both keeps the first body for both names (Numba issue #10486).
    Seen: a cache filled by several processes made ``ties.sorted_slots`` (argsort) run
    ``state._merge_adopters``' sort, giving garbage slots (an IndexError at a month observer's
    contact matrix) or, with the other load order, silently unsorted adopters. Each id here
    draws its upper 40 bits from the operating system (fresh in every process, forked or not)
    above a counter that keeps the ids of one process distinct.
    """

    def __init__(self) -> None:
        self._count = 0

    def __iter__(self) -> _ProcessUniqueIds:
        return self

    def __next__(self) -> int:
        self._count = (self._count + 1) % (1 << 24)
        return (int.from_bytes(os.urandom(5), "little") << 24) | self._count


FunctionIdentity._unique_ids = _ProcessUniqueIds()  # before any of the model's loops compiles

_STAMP: list[tuple[float, int, int]] = []  # the package's, computed once per process


def kernel(function: Callable) -> Callable:
    """``numba.njit(cache=True)``, its cache keyed on all the model's sources (see above)."""
    return _cached(njit(cache=True)(function))


def inlined(function: Callable) -> Callable:
    """:func:`kernel`, its body copied into each compiled caller (Numba's ``inline="always"``).

    For a wrapper called once a month from compiled code with the month's arrays: a call
    passes every array of its tuples, and each costs an atomic reference count in and out.
    """
    return _cached(njit(cache=True, inline="always")(function))


def _cached(compiled: Callable) -> Callable:
    cache_file = getattr(getattr(compiled, "_cache", None), "_cache_file", None)
    if cache_file is not None and hasattr(cache_file, "_source_stamp"):
        if not _STAMP:
            _STAMP.append(sources_stamp())
        cache_file._source_stamp = (cache_file._source_stamp, _STAMP[0])
    return compiled


def load_implementations() -> None:
    """Install Numba's implementations of Python and NumPy now, as a first compiled call would.

    Before it compiles or loads a compiled function from the cache, Numba imports and registers
    its implementations of Python and NumPy (``refresh`` of its CPU target): 85 more modules,
    about 0.12 s of a cold process, 0.18-0.20 s when Python's cyclic collector runs meanwhile
    (measured in one cold ``hourglass run baseline``, issue 13). A command's start-up calls this
    with the collector paused (``hourglass.commands._collector``); later calls cost nothing.
    """
    from numba.core.registry import cpu_target  # noqa: PLC0415 - Numba's own start-up, on demand

    cpu_target.target_context.refresh()
