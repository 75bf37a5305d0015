"""Compiled functions get symbol names no other process gives (simulation/compiled.py).

Numba names a compiled function's symbol by its name, argument types and an id; with Numba's own
counter, two processes (fresh, or forked from one parent) hand out the same ids in the same
order, so a cache filled by several processes can hold two bodies under one name, and a process
that loads both runs the wrong one (seen: ``ties.sorted_slots``'s argsort ran a sort, an
IndexError at a month observer's contact matrix; Numba issue #10486).
"""

import multiprocessing
import subprocess
import sys

import pytest

_COMPILE = """
import simulation.compiled
from numba import njit

@njit
def plus_one(x):
    return x + 1

plus_one(1)
print(next(iter(plus_one.overloads.values())).fndesc.mangled_name)
"""


def _compiled_name() -> str:
    """The symbol of a function compiled now in this process."""
    from numba import njit

    @njit
    def plus_one(x: int) -> int:
        return x + 1

    plus_one(1)
    return next(iter(plus_one.overloads.values())).fndesc.mangled_name


def _report(queue: multiprocessing.Queue) -> None:
    queue.put(_compiled_name())


def test_two_fresh_processes_name_the_same_function_apart():
    names = [
        subprocess.run(
            [sys.executable, "-c", _COMPILE], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert all(name.startswith("_ZN") for name in names)
    assert names[0] != names[1]


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
def test_forked_processes_name_the_same_function_apart():
    import simulation.compiled  # noqa: F401 - the parent's ids, as a pool's parent has

    _compiled_name()  # the parent has compiled something before it forks
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_report, args=(queue,)) for _ in range(2)]
    for child in children:  # two processes, each compiling once from the parent's state
        child.start()
    names = [queue.get(timeout=300) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert all(name.startswith("_ZN") for name in names)
    assert names[0] != names[1]


def test_ids_within_a_process_stay_distinct():
    from numba.core.bytecode import FunctionIdentity

    import simulation.compiled  # noqa: F401

    ids = [next(FunctionIdentity._unique_ids) for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
