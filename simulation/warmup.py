"""Compile the model's kernels into Numba's cache before the first run needs them.

A process that finds no compiled cache spends 30-50 s compiling the model's loops before its
first run; one that finds it loads them in about 0.3 s (issue 13). Numba keeps the cache beside
the sources (``simulation/**/__pycache__``) when that folder is writable, else in the user's
cache folder, or under ``NUMBA_CACHE_DIR`` when that is set: a folder the workers of a cluster
share, or one baked into a container image. ``python -m simulation.warmup`` fills it, once per
environment and CPU model (Numba's cache is specific to both), by running every library scenario
once at seed 1, and the baseline once with a month observer, once stepped and once with the
submodels called one by one: each kernel is compiled for the argument types the model passes
it, and a kernel called from another is compiled and cached with it. It then names any kernel
left with no entry in the cache, which a later run would still compile on first use (not those
compiled only into their callers, ``simulation.compiled.inlined``). ``make`` runs it after
installing.
"""

from __future__ import annotations

import sys
import time


def kernels() -> dict[str, object]:
    """Every compiled kernel of the model's imported modules, by ``module.name``."""
    from numba.core.dispatcher import Dispatcher  # noqa: PLC0415 - numba only when asked

    found = {}
    for module_name, module in list(sys.modules.items()):
        if module_name.split(".")[0] != "simulation" or module is None:
            continue
        for name, value in vars(module).items():
            if isinstance(value, Dispatcher) and value.py_func.__module__ == module_name:
                found[f"{module_name}.{name}"] = value
    return found


def cached(kernel: object) -> bool:
    """Whether Numba's cache holds an up-to-date entry for ``kernel`` (a compiled function)."""
    try:
        # The index Numba itself reads: empty when missing or older than the source.
        return bool(kernel._cache._cache_file._load_index())
    except AttributeError:  # another Numba's internals: what this process compiled or loaded
        return bool(kernel.signatures)


def warm_up(seed: int = 1) -> list[str]:
    """Run every library scenario once; return the kernels still missing from the cache."""
    from simulation import PeerLearningModel, Scenario, available_scenarios  # noqa: PLC0415

    for name in available_scenarios():
        PeerLearningModel(Scenario.load(name), rng=seed).run()
    # A month observer (the seam experiments and validation read) runs the month in separate
    # calls (PeerLearningModel._seen_month), which no library scenario on its own does.
    model = PeerLearningModel(Scenario.load("baseline"), rng=seed)
    model.month_observers.append(lambda record: None)
    model.run()
    # Stepped month by month (the explorer's way), each month is one compiled call of its own
    # (schedule.whole_month), which run() replaces by one call for all the months.
    model = PeerLearningModel(Scenario.load("baseline"), rng=seed)
    while model.steps < model.months:
        model.step()
    # The submodels called one by one (the reference the compiled month is tested against):
    # the month functions compiled into their callers are also compiled on their own for it.
    model = PeerLearningModel(Scenario.load("baseline"), rng=seed)
    model.one_by_one = True
    model.run()
    return sorted(
        name for name, kernel in kernels().items()
        if not cached(kernel) and kernel.targetoptions.get("inline") != "always"
    )


def main() -> int:
    """Fill the cache and say how long it took and what it left out."""
    start = time.perf_counter()
    uncalled = warm_up()
    print(f"simulation.warmup: compiled kernels cached in {time.perf_counter() - start:.1f} s")
    if uncalled:
        print(f"simulation.warmup: not in the cache (no library scenario calls them; compiled "
              f"on first use): {', '.join(uncalled)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
