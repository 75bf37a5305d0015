"""Every figure of the study comes from hourglass/figures.py; the explorer draws the same bars."""

from __future__ import annotations

import inspect

import numpy as np
from matplotlib.figure import Figure

import hourglass.figures as study_figures
from simulation import PeerLearningModel, Scenario


def test_hourglass_bars_are_centred_and_labelled():
    shares = {key: (i + 1) / 10 for i, (key, _) in enumerate(study_figures.LEVELS)}
    ax = Figure().add_subplot()
    study_figures.draw_shape(ax, shares)
    bars = ax.patches
    assert len(bars) == len(study_figures.LEVELS)
    for bar, (key, _) in zip(bars, study_figures.LEVELS, strict=True):
        assert np.isclose(bar.get_width(), shares[key])
        assert np.isclose(bar.get_x(), -shares[key] / 2)  # centred: the hourglass's waist
    assert [t.get_text() for t in ax.texts] == [f"{s:.0%}" for s in shares.values()]


def test_explorer_draws_the_hourglass_with_the_study_bars(monkeypatch):
    from hourglass.explorer import figures as explorer_figures

    calls = []
    real = study_figures.draw_shape

    def spy(ax, shares, **options):
        calls.append(dict(shares))
        real(ax, shares, **options)

    monkeypatch.setattr(study_figures, "draw_shape", spy)
    model = PeerLearningModel(Scenario.load("baseline"), rng=1)
    model.step()
    explorer_figures.hourglass_figure(model)
    assert len(calls) == 1
    assert calls[0]["engaged"] == model.observer.timeseries().iloc[-1]["engaged"]


def test_commands_figures_live_in_the_study_figures():
    from hourglass import experiments
    from hourglass.commands import validate

    assert experiments.contact_figure is study_figures.contact_figure
    assert experiments.learning_figure is study_figures.learning_figure
    assert experiments.natural_figure is study_figures.natural_figure
    source = inspect.getsource(validate)  # validate imports its figure when it runs
    assert "from hourglass.figures import validation_figure" in source
    assert "Figure(" not in source


def test_run_figure_is_written(tmp_path):
    result = PeerLearningModel(Scenario.load("baseline"), rng=1).run()
    path = study_figures.plot_hourglass(result, tmp_path / "hourglass.png")
    assert path.stat().st_size > 20_000
