"""What the explorer computes: paired runs of two designs, bands, intervals, files (no browser)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hourglass.explorer.runs import (
    BAND,
    OUTCOMES,
    design_toml,
    library_scenario,
    paired_difference,
    results_csv,
    run_design,
)
from simulation import PeerLearningModel, Scenario

SMALL = {
    "population.home_organisations": 6,
    "population.peers_per_organisation": 4,
    "population.staff_per_organisation": 60,
    "population.countries": 2,
    "run.months": 24,
}


@pytest.fixture(scope="module")
def pair():
    base = library_scenario("baseline").with_overrides(SMALL)
    design = base.with_overrides({"levers.share_forward": 1.0, "levers.trust": 1.0})
    return run_design(design, range(1, 13)), run_design(base, range(1, 13))


def test_each_seed_is_the_model_run_at_that_seed(pair):
    design, _ = pair
    again = PeerLearningModel(design.scenario, rng=5).run()
    assert design.summary.loc[5].to_dict() == again.summary
    assert np.array_equal(design.course["orgs_changed"][4], again.monthly["orgs_changed"])


def test_paired_difference_is_a_t_interval_over_seeds(pair):
    design, against = pair
    table = paired_difference(design, against)
    assert list(table.index) == list(OUTCOMES)
    for key in OUTCOMES:
        d = design.summary[key].to_numpy() - against.summary[key].to_numpy()
        row = table.loc[key]
        assert row["difference"] == pytest.approx(d.mean())
        if d.std() > 0:
            low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
        values = design.summary[key].to_numpy()
        assert row["design"] == pytest.approx(np.median(values))
        assert row["design_low"] == pytest.approx(np.percentile(values, BAND[0]))
        assert row["design_high"] == pytest.approx(np.percentile(values, BAND[1]))
        assert row["design_low"] <= row["design"] <= row["design_high"]


def test_a_design_against_itself_differs_by_exactly_nothing(pair):
    _, against = pair
    table = paired_difference(against, against)
    assert (table[["difference", "ci_low", "ci_high"]] == 0).all().all()


def test_unpaired_runs_are_refused(pair):
    design, against = pair
    shorter = run_design(against.scenario, range(1, 4))
    with pytest.raises(Exception, match="different seeds"):
        paired_difference(design, shorter)


def test_results_csv_has_a_row_per_design_and_seed(pair):
    design, against = pair
    table = pd.read_csv(io.StringIO(results_csv(design, against, ("yours", "other"))))
    assert len(table) == 24
    assert list(table.columns[:3]) == ["design", "scenario", "seed"]
    assert table.groupby("design")["seed"].apply(list).to_dict() == {
        "other": list(range(1, 13)),
        "yours": list(range(1, 13)),
    }


def test_design_file_round_trips(tmp_path, pair):
    design, _ = pair
    path = tmp_path / "mine.toml"
    path.write_text(design_toml(design.scenario, {"levers.trust": 1.0}, "baseline"))
    assert dict(Scenario.load(path).values) == dict(design.scenario.values)


def test_stopping_early_returns_nothing():
    calls = iter([True, True, False])
    assert run_design(library_scenario("baseline"), range(1, 10), lambda: next(calls)) is None


def test_comparison_answers_early_then_in_full_and_reuses_a_sessions_runs(pair):
    from hourglass.explorer import figures
    from hourglass.explorer.app import PREVIEW, compare

    design, against = pair
    cache: dict = {}
    answers = list(compare(design.scenario, against.scenario, 12, cache))
    assert [len(a["design"].seeds) for a in answers] == [PREVIEW, 12]
    assert [a["coming"] for a in answers] == [12 - PREVIEW, 0]
    # The early answer is exactly the full one's first seeds; the full one is the plain runs.
    assert answers[0]["design"].summary.equals(design.summary.iloc[:PREVIEW])
    assert answers[1]["design"].summary.equals(design.summary)
    assert np.array_equal(
        answers[1]["against"].course["orgs_changed"], against.course["orgs_changed"]
    )
    assert answers[1]["table"].equals(paired_difference(design, against))
    assert len(cache) == 2
    again = list(compare(design.scenario, against.scenario, 12, cache))
    assert len(again) == 1  # a lever moved back: no re-run, one answer
    assert again[0]["design"].summary.equals(design.summary)
    stopped = list(
        compare(
            design.scenario.with_overrides({"levers.trust": 0.1}),
            against.scenario,
            12,
            {},
            keep_going=lambda: False,
        )
    )
    assert stopped == []  # a newer change stops the older one's runs
    first = answers[-1]
    fig = figures.comparison_figure(first["table"], ("yours", "other"), 12)
    assert len(fig.axes) == 3
    fig = figures.course_bands_figure(first["design"], first["against"], ("yours", "other"))
    assert len(fig.axes) == 2
    assert figures.png(fig)[:4] == b"\x89PNG"


def test_one_run_draws_its_four_views_at_any_month():
    from hourglass.explorer.components import one_run_images

    scenario = library_scenario("baseline").with_overrides(SMALL)
    for month in (0, 5):
        images = one_run_images(scenario, 1, month)
        assert set(images) == {"hourglass", "network", "organisations", "heat map"}
        assert all(image[:4] == b"\x89PNG" for image in images.values())
