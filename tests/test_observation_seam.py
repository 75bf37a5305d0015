"""The model's observation seam: each month's record equals what patching the mechanisms saw.

The reference below is the instrumentation the study used before the seam existed: it swaps
``events.run_tools``, ``contact.informal_contact`` and ``transfer.exchange`` for wrappers that run
them exactly as the model does (one tool at a time, the same draws in the same order) and record
what they did. It is kept here, in the test only, as an independent witness of the seam.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from conftest import SMALL

from simulation import PeerLearningModel, Scenario
from simulation.mechanisms import contact, events, transfer
from simulation.mechanisms.evaluation import MonthRecord


@contextmanager
def _patched(model: PeerLearningModel, record: dict[str, Any]) -> Iterator[None]:
    run_tools, informal_contact, exchange = (
        events.run_tools, contact.informal_contact, transfer.exchange
    )
    n = model.state.peers.n

    def recording_tools(state, used, table, tools, p, rng, cohorts=None):
        mask = np.zeros(n, dtype=np.int64)
        month = state.month
        for g in np.flatnonzero(used):
            one = np.zeros_like(used)
            one[g] = True
            earlier = month.attended.copy()
            month.attended[:] = False
            run_tools(state, one, table, tools, p, rng, cohorts)
            mask[month.attended] |= np.int64(1) << np.int64(g)
            month.attended |= earlier
        record["tools"] = mask
        record["attended"] = month.attended.copy()
        record["formal"] = month.contact

    def recording_informal(state, p, rng):
        flags = state.ties.arrays.contact  # this month's contacts, one flag per tie
        earlier = flags.copy()
        flags[:] = False
        informal_contact(state, p, rng)
        record["informal"] = state.month.contact
        flags |= earlier

    def recording_exchange(state, p, rng):
        exposure = state.peers.exposure.copy()
        exchange(state, p, rng)
        record["productive"] = (state.peers.exposure > exposure).any(axis=1)

    events.run_tools = recording_tools
    contact.informal_contact = recording_informal
    transfer.exchange = recording_exchange
    try:
        yield
    finally:
        events.run_tools, contact.informal_contact, transfer.exchange = (
            run_tools, informal_contact, exchange
        )


@pytest.mark.parametrize(
    ("name", "seed"), [("matched_peer_review", 4), ("toolkit_broad_cop", 2), ("baseline", 1)]
)
def test_month_records_equal_what_patching_the_mechanisms_recorded(name, seed):
    scenario = Scenario.load(name).with_overrides({**SMALL, "run.months": 24})
    seam = PeerLearningModel(scenario, rng=seed)
    records: list[MonthRecord] = []
    seam.month_observers.append(records.append)
    seam_result = seam.run()

    patched = PeerLearningModel(scenario, rng=seed)
    patched.one_by_one = True  # the submodels called from Python, where they can be patched
    reference = []
    while patched.steps < patched.months:
        record: dict[str, Any] = {}
        with _patched(patched, record):
            patched.step()
        reference.append(record)

    assert patched.result().summary == seam_result.summary
    assert len(records) == len(reference) == 24
    informal_months = productive_months = 0
    for month, (got, want) in enumerate(zip(records, reference, strict=True), start=1):
        assert got.month == month
        for key in ("formal", "informal", "productive", "tools", "attended"):
            assert np.array_equal(getattr(got, key), want[key]), (month, key)
        informal_months += bool(got.informal.any())
        productive_months += bool(got.productive.any())
    # The comparison has something to compare: contacts and conversations happened.
    assert informal_months > 0
    assert productive_months > 0


def test_no_observer_no_record_work():
    model = PeerLearningModel(Scenario.load("baseline").with_overrides(SMALL), rng=1)
    seen = []
    model.step()
    model.month_observers.append(seen.append)
    model.step()
    assert [r.month for r in seen] == [2]
