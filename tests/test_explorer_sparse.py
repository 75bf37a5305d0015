"""The explorer's one-run views work from the tie store's edge list, never N x N."""

from __future__ import annotations

import numpy as np
import pytest

from hourglass.explorer import figures
from simulation import PeerLearningModel, Scenario
from simulation.ties import Ties


def _model(peers_per_organisation: int, months: int = 12) -> PeerLearningModel:
    scenario = Scenario.load("baseline").with_overrides(
        {"population.peers_per_organisation": peers_per_organisation}
    )
    model = PeerLearningModel(scenario, rng=3)
    for _ in range(months):
        model.step()
    return model


def test_small_heat_map_is_the_dense_trust_matrix_in_peer_order() -> None:
    model = _model(2)
    assert model.state.ties.count > 0
    order = figures.peer_order(model)
    dense = model.state.ties.trust[np.ix_(order, order)]
    image = figures.heatmap_figure(model, "trust").axes[0].images[0].get_array()
    np.testing.assert_array_equal(np.asarray(image), dense)


def test_large_views_never_build_n_by_n(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(20)  # 400 peers: above the peer-by-peer limit
    assert model.state.peers.n > figures.PEER_HEATMAP_LIMIT

    def refuse(*_: object) -> None:
        raise AssertionError("an N x N view was built")

    monkeypatch.setattr(Ties, "_dense", refuse)
    monkeypatch.setattr(Ties, "contact_matrix", refuse)
    for what in figures.HEATMAPS:
        image = np.asarray(figures.heatmap_figure(model, what).axes[0].images[0].get_array())
        organisations = model.params.population.home_organisations
        assert image.shape == (organisations, organisations)
        assert image.min() >= 0.0
        assert image.max() <= 1.0
    # Each live tie's trust is counted once in its organisation pair's block.
    i, j, slots = model.state.ties.live()
    blocks, _ = figures._organisation_blocks(model, i, j, model.state.ties.arrays.trust[slots])
    sizes = np.bincount(model.state.peers.org).astype(float)
    pairs = np.outer(sizes, sizes)
    np.fill_diagonal(pairs, sizes * (sizes - 1) / 2)
    order = np.lexsort((np.arange(len(sizes)), model.state.orgs.country))
    weights = pairs[np.ix_(order, order)]
    total = model.state.ties.arrays.trust[slots].sum()
    assert np.triu(blocks * weights).sum() == pytest.approx(total)
    figures.network_figure(model, figures.peer_layout(model))
