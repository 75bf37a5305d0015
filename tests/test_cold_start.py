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
