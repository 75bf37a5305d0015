"""``python -m simulation.warmup`` fills an empty Numba cache with every kernel the model runs."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # compiles every kernel once (30-50 s)

# In a fresh process: import every module of the model, then list the kernels missing from the
# cache (all of them, before the warm-up). Kernels compiled only into their callers
# (simulation.compiled.inlined) are cached with those, and with an entry of their own only where
# Python calls them too: they are left out.
MISSING = (
    "import importlib, pkgutil, simulation\n"
    "for info in pkgutil.walk_packages(simulation.__path__, 'simulation.'):\n"
    "    importlib.import_module(info.name)\n"
    "from simulation import warmup\n"
    "found = {n: k for n, k in warmup.kernels().items()\n"
    "         if k.targetoptions.get('inline') != 'always'}\n"
    "print(len(found), ' '.join(sorted(n for n, k in found.items() if not warmup.cached(k))))"
)


def _missing(env: dict) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", MISSING], capture_output=True, text=True,
                          check=True, env=env)
    count, *names = done.stdout.split()
    return int(count), set(names)


def test_warm_up_fills_an_empty_cache(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "NUMBA_NUM_THREADS": "1"}
    kernels, before = _missing(env)
    assert kernels >= 10
    assert len(before) == kernels  # nothing cached yet
    done = subprocess.run([sys.executable, "-m", "simulation.warmup"], capture_output=True,
                          text=True, check=True, env=env)
    assert "compiled kernels cached" in done.stdout
    named = set()
    for line in done.stdout.splitlines():
        if "not in the cache" in line:
            named = set(line.rsplit(": ", 1)[1].split(", "))
    _, after = _missing(env)
    assert after == named  # everything else is cached, and what is not is named
    assert len(after) < kernels / 4
