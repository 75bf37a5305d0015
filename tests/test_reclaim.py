"""A finished large model's memory is freed before the next model takes its own.

Automatic collection is paused in each test, so only ``simulation.reclaim`` can free a model
caught in its agents' reference cycle; ``LARGE_STAFF`` is lowered to the small scenario's 360
staff so that the small models count as large.
"""

import gc
import weakref
from contextlib import contextmanager

import pandas as pd
import pytest

from simulation import PeerLearningModel, reclaim


@contextmanager
def no_automatic_collection():
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def finished(scenario, seed: int = 1) -> weakref.ref:
    """A weak reference to the state of a model that was run and then dropped."""
    model = PeerLearningModel(scenario, rng=seed)
    model.run()
    return weakref.ref(model.state)


@pytest.fixture
def short(small):
    return small.with_overrides({"run.months": 2})


@pytest.fixture(autouse=True)
def nothing_remembered(monkeypatch):
    monkeypatch.setattr(reclaim, "_earlier", weakref.WeakSet())


def test_a_dropped_model_outlives_its_last_reference(short, monkeypatch):
    # Why the module exists: without a collection, the cycle keeps the state in memory.
    monkeypatch.setattr(reclaim, "LARGE_STAFF", 10**9)
    with no_automatic_collection():
        state = finished(short)
        PeerLearningModel(short, rng=2)
        assert state() is not None
        gc.collect()
        assert state() is None


def test_a_large_dropped_model_is_freed_when_the_next_is_built(short, monkeypatch):
    monkeypatch.setattr(reclaim, "LARGE_STAFF", 360)
    with no_automatic_collection():
        state = finished(short)
        assert state() is not None
        PeerLearningModel(short, rng=2)
        assert state() is None


def test_a_model_below_the_size_is_not_collected_for(short, monkeypatch):
    monkeypatch.setattr(reclaim, "LARGE_STAFF", 361)
    with no_automatic_collection():
        state = finished(short)
        PeerLearningModel(short, rng=2)
        assert state() is not None
        gc.collect()


def test_a_held_model_is_kept_and_collected_for_once(short, monkeypatch):
    monkeypatch.setattr(reclaim, "LARGE_STAFF", 360)
    generations = []
    monkeypatch.setattr(reclaim.gc, "collect", generations.append)
    held = PeerLearningModel(short, rng=1)
    second = PeerLearningModel(short, rng=2)
    # Nothing freed it: every generation was tried, youngest first.
    assert generations == [0, 1, 2]
    assert held not in reclaim._earlier
    assert second in reclaim._earlier  # remembered in its turn
    PeerLearningModel(short, rng=3)
    assert generations == [0, 1, 2] * 2  # for the second only: the held one is not tried again


def test_collecting_changes_no_result(short, monkeypatch):
    want = PeerLearningModel(short, rng=3).run().timeseries
    monkeypatch.setattr(reclaim, "LARGE_STAFF", 360)
    finished(short)
    got = PeerLearningModel(short, rng=3).run().timeseries
    pd.testing.assert_frame_equal(got, want, check_exact=True)
