"""Freeing the memory of an earlier large run before a new run takes its own.

A Mesa model and its agents refer to each other (and Mesa's model to its own schedule and
signals), so a model nobody holds any more is freed by Python's cycle collector, not when its
last reference goes. That collector looks at old objects only after many new Python objects,
and a run makes few: its memory is in a few large arrays. So in a process that runs one model
after another (a sweep's worker, a benchmark's child, a loop in a notebook) the finished models
of a large population stayed in memory, and every run took its arrays from fresh pages, which
on a virtual machine that hands freed memory back to its host costs many times what reused
memory costs. Measured on this project's machine (2 cores, Firecracker), six runs of the
baseline at 10^7 staff one after another in one process: resident memory grew from 0.80 to
2.39 GB and each run took 3.0-3.3 s of CPU, 1.4-1.6 s of it system time; collecting before
each run, 0.80-0.82 GB and 1.7-2.1 s, 0.14-0.28 s of it system time
(``python benchmarks/memory.py`` measures it, as the model is and with this turned off).

A full collection costs about 70 ms in a process that has the model loaded (about 160,000
objects), so a collection is made only when an earlier model of at least :data:`LARGE_STAFF`
staff may be garbage, once for each such model, and of the youngest generations first: a
model run after another is usually still in them (freed by collecting the youngest, 0.1-0.2
ms), while the first model a process builds is moved to the oldest by the collections that
loading the model's code sets off.
"""

from __future__ import annotations

import gc
import weakref

LARGE_STAFF = 2_000_000
"""Staff from which a model's memory is worth a full collection, the worst case (derived from
measurements of six runs in a row, a full collection before each against none): at 10^6 staff
they took the same CPU (0.25-0.30 s against 0.19-0.31 s), at 3.16 x 10^6 less (0.60-0.76 s
against 0.59-1.10 s, and 0.61 GB resident against 1.13 GB and growing)."""

_earlier: weakref.WeakSet = weakref.WeakSet()


def collect_earlier() -> None:
    """Collect the cycle garbage if a large model built before may be part of it.

    Models that survive the collection are held by someone, so collecting again for them would
    free nothing: they are forgotten.
    """
    for generation in (0, 1, 2):  # Python's three generations, youngest first
        if not len(_earlier):
            return
        gc.collect(generation)
    _earlier.clear()


def remember(model: object, staff: int) -> None:
    """Note ``model`` (of ``staff`` staff) for :func:`collect_earlier` if it is large."""
    if staff >= LARGE_STAFF:
        _earlier.add(model)
