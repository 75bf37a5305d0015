"""simulation.state: colleagues exposed to adopters, counted in one walk of the adopters' edges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from simulation.state import Staff


def _staff(adjacency: sparse.csr_array, adopted: np.ndarray, is_peer: np.ndarray) -> Staff:
    n = adjacency.shape[0]
    staff = Staff(
        org=np.zeros(n, dtype=np.int64), adjacency=adjacency, adopted=adopted, is_peer=is_peer,
        org_size=np.array([n]), org_start=np.array([0, n]), threshold=np.ones(n),
    )
    staff.recount()
    return staff


def _random_staff(seed: int, n: int, degree: int, share: float) -> Staff:
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), degree)
    cols = rng.integers(0, n, len(rows))
    keep = rows != cols
    edges = sparse.coo_array((np.ones(keep.sum(), dtype=np.int8), (rows[keep], cols[keep])),
                             shape=(n, n))
    adjacency = sparse.csr_array(edges + edges.T)
    adjacency.data[:] = 1
    adopted = rng.random((n, 4)) < share
    return _staff(adjacency, adopted, rng.random(n) < 0.05)


def _expected(staff: Staff) -> tuple[np.ndarray, np.ndarray]:
    counts = staff.adjacency @ staff.adopted.astype(np.int64)
    reached = (staff.adjacency @ staff.adopted_any().astype(np.int64)) > 0
    exposed = np.flatnonzero(reached & ~staff.is_peer)
    return exposed, counts[exposed]


@pytest.mark.parametrize(("seed", "share"), [(1, 0.0005), (2, 0.002), (3, 0.05), (4, 0.4)])
def test_exposure_counts_every_adopted_neighbour_and_leaves_the_scratch_clean(seed, share):
    """Few exposed (sorted) or many (a scan of the marks): the counts of A @ adopted, exactly.

    ``slot`` holds packed counts during the walk and must be all 0 after it, ``seen`` all False.
    """
    staff = _random_staff(seed, 3000, 4, share)
    assert len(staff.adopters) > 0
    for _ in range(2):  # a second walk starts from the scratch the first left
        exposed, counts = staff.exposure()
        want_exposed, want_counts = _expected(staff)
        assert np.array_equal(exposed, want_exposed)
        assert np.array_equal(counts, want_counts)
        assert not staff.seen.any()
        assert not staff.slot.any()


def test_exposure_counts_beyond_a_16_bit_lane():
    """A colleague with 70,000 adopted neighbours: counts past 65,535 are exact (no lane carry)."""
    n = 70_001
    hub = np.zeros(n - 1, dtype=np.int64)
    leaves = np.arange(1, n)
    edges = sparse.coo_array(
        (np.ones(2 * (n - 1), dtype=np.int8),
         (np.concatenate([hub, leaves]), np.concatenate([leaves, hub]))), shape=(n, n))
    adopted = np.zeros((n, 4), dtype=bool)
    adopted[1:, 0] = True
    adopted[1::2, 1] = True
    is_peer = np.zeros(n, dtype=bool)
    staff = _staff(sparse.csr_array(edges), adopted, is_peer)
    exposed, counts = staff.exposure()
    assert exposed.tolist() == [0]
    assert counts.tolist() == [[n - 1, (n - 1 + 1) // 2, 0, 0]]
    assert not staff.seen.any()
    assert not staff.slot.any()


def test_thresholds_are_whole_numbers_rounded_up_a_chunk_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
):
    """Converted 5 at a time here, the thresholds are those of one conversion: rounded up,
    at most the largest 32-bit integer; the spontaneous are the colleagues at 0 or below."""
    from simulation import state

    monkeypatch.setattr(state, "_CHUNK", 5)
    threshold = np.array([0.0, -1.0, 0.2, 1.0, 2.5, 3e12, 7.0, -0.0, 4.000001, 2.0, 1.5, 0.0])
    n = len(threshold)
    is_peer = np.zeros(n, dtype=bool)
    is_peer[0] = True
    staff = Staff(
        org=np.zeros(n, dtype=np.int64), adjacency=sparse.csr_array((n, n)),
        adopted=np.zeros((n, 4), dtype=bool), is_peer=is_peer, org_size=np.array([n]),
        org_start=np.array([0, n]), threshold=threshold,
    )
    want = np.minimum(np.ceil(threshold), np.iinfo(np.int32).max).astype(np.int32)
    assert staff.threshold.dtype == np.int32
    assert np.array_equal(staff.threshold, want)
    assert staff.spontaneous.tolist() == [1, 7, 11]
