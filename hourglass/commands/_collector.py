"""Imports without Python's cyclic garbage collector: a cold command's start-up (issue 13).

A cold ``hourglass run`` imports about 1,100 modules (NumPy, pandas, SciPy, Numba, Mesa,
matplotlib) and loads the model's compiled code: some 300,000 objects of module state, alive
until the process ends. Python's cyclic collector walks them again and again as the heap grows:
measured with ``gc.callbacks`` in one cold ``hourglass run baseline``, 418 young, 37 middle and
3 full collections took 0.33-0.37 s (the full ones 0.24-0.25 s); with the imports paused and
their objects frozen, 128 and 10 collections take 0.02-0.03 s.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_collector() -> Iterator[None]:
    """Run the block (imports, loading compiled code) with the cyclic collector paused.

    On the way out the objects made meanwhile are frozen (:func:`gc.freeze`: left out of every
    later collection, as module state outlives them all) and the collector resumes as it was.
    Reference counting frees everything else as usual, so only garbage in reference cycles made
    inside the block waits, and it is kept to the block: wrap start-up, not the work.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
