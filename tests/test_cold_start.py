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
