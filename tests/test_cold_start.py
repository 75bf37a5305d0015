"""A cold ``hourglass run`` imports with the cyclic collector paused and frozen (issue 13)."""

from __future__ import annotations

import contextlib
import gc

import pytest

from hourglass.cli import main
from hourglass.commands import _collector


@pytest.fixture
def thawed():
    """Objects the test freezes are thawed again: the test process goes on collecting."""
    yield
    gc.unfreeze()


def test_paused_collector_pauses_then_freezes_and_resumes(thawed):
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with _collector.paused_collector():
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]  # containers made inside are frozen on the way out
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(made)


def test_paused_collector_resumes_after_an_error_and_keeps_a_disabled_collector(thawed):
    with pytest.raises(KeyError), _collector.paused_collector():
        raise KeyError("x")
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector.paused_collector():
            pass
        assert not gc.isenabled()  # the caller had it off: it stays off
    finally:
        gc.enable()


def test_run_imports_the_model_and_the_figure_with_the_collector_paused(tmp_path, monkeypatch):
    paused = []

    @contextlib.contextmanager
    def counted():
        paused.append(gc.isenabled())
        yield

    monkeypatch.setattr(_collector, "paused_collector", counted)
    out = tmp_path / "run"
    assert main(["run", "baseline", "--set", "run.months=3", "--out", str(out)]) == 0
    assert len(paused) == 2  # the model's imports, then matplotlib's
    assert (out / "hourglass.png").read_bytes().startswith(b"\x89PNG")


def _index(directory, stem, *keys):
    """A Numba index file holding ``keys`` in its pickled stamp, as Numba writes it."""
    import pickle

    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{stem}.loop-3.py312.nbi").write_bytes(
        pickle.dumps("0.68.1") + pickle.dumps((keys, {}), protocol=pickle.HIGHEST_PROTOCOL))


def test_kernels_compiled_with_the_package_key_are_cached_only_under_it(tmp_path, monkeypatch):
    """simulation.compiled.kernel keys a cache also on every source's stamp (a2f4a24)."""
    import hashlib

    from hourglass.commands.common import kernels_cached
    from simulation.sources import sources_stamp

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "compiled.py").write_text("def kernel(f):\n    return njit(cache=True)(f)\n")
    source = package / "loops.py"
    source.write_text("from compiled import kernel\n\n\n@kernel\ndef loop():\n    pass\n")
    assert not kernels_cached(package)  # cold: nothing compiled yet
    digest = hashlib.sha256(source.read_bytes()).digest()
    _index(package / "__pycache__", "loops", digest)
    assert not kernels_cached(package)  # the module's own key alone: Numba compiles again
    _index(package / "__pycache__", "loops", digest, sources_stamp(package))
    assert kernels_cached(package)
    (package / "other.py").write_text("y = 2\n")  # an edit anywhere in the package
    assert not kernels_cached(package)


def test_the_package_stamp_is_the_models_own():
    """The command judges the cache by the stamp the kernels are keyed on: one function."""
    from simulation import compiled, sources

    assert compiled.sources_stamp is sources.sources_stamp
    assert compiled.ROOT == sources.ROOT


def _cold(tmp_path, environment=None):
    """What a cold ``hourglass run`` (3 months) imported and started, from a fresh process."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, os, sys\n"
        "from hourglass.cli import main\n"
        f"out = {str(tmp_path / 'run')!r}\n"
        "status = main(['run', 'baseline', '--set', 'run.months=3', '--out', out])\n"
        "names = list(sys.modules)\n"
        "print(json.dumps({'status': status, 'names': names,\n"
        "                  'threads': len(os.listdir('/proc/self/task')),\n"
        "                  'blas': os.environ.get('OPENBLAS_NUM_THREADS')}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env.update(environment or {})
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, check=True, timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.skipif((__import__("os").cpu_count() or 1) < 2, reason="BLAS threads need 2 cores")
def test_a_cold_run_starts_no_blas_threads_and_imports_mesa_first_and_no_pyplot(tmp_path):
    """Issue 13's cold start: what a fresh ``hourglass run`` pays for, and what it does not.

    OpenBLAS (one copy in NumPy, one in SciPy) would start a spinning thread per core; Mesa
    scans the modules loaded before it once per frame; pyplot is not needed to write a PNG.
    """
    cold = _cold(tmp_path / "default")
    chosen = _cold(tmp_path / "chosen", {"OPENBLAS_NUM_THREADS": "2"})
    assert cold["status"] == chosen["status"] == 0
    assert (cold["blas"], chosen["blas"]) == ("1", "2")  # a choice in the environment is kept
    assert chosen["threads"] >= cold["threads"] + 2  # a thread more in NumPy's, SciPy's
    names = cold["names"]
    assert names.index("mesa.model") < names.index("numba")
    assert names.index("mesa.model") < names.index("scipy.special")
    assert "numba.np.arraymath" in names  # Numba's implementations, installed at start-up
    assert "matplotlib.figure" in names
    assert "matplotlib.pyplot" not in names
    png = tmp_path / "default" / "run" / "hourglass.png"
    assert png.read_bytes().startswith(b"\x89PNG")


def test_numbas_implementations_load_once_with_the_collector_paused(tmp_path, monkeypatch):
    from simulation import compiled

    loaded = []
    monkeypatch.setattr(compiled, "load_implementations", lambda: loaded.append(gc.isenabled()))
    out = tmp_path / "run"
    assert main(["run", "baseline", "--set", "run.months=3", "--out", str(out)]) == 0
    assert loaded == [False]
