"""``hourglass run --replicates``: one scenario over many seeds, drawn with bands (issue 14 §4)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from scipy import stats

from analysis.seeds import replicate_seeds
from hourglass.adapter import HourglassModel
from hourglass.cli import main
from hourglass.figures import LEVELS, replicates_figure
from hourglass.replicates import QUANTILE_COLUMNS, quantiles, run_replicates, statistics
from simulation import PeerLearningModel, Scenario

TINY = {"population.home_organisations": 4, "population.countries": 2,
        "population.staff_per_organisation": 20, "run.months": 6}
SETS = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
POINT = ["--point-defaults"]
"""The tests of the seeds alone run at the point values on purpose: a posterior ships."""


def listing(directory):
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob("*"))


def run(argv, capsys):
    status = main(["run", *argv, "--no-progress"])
    return status, capsys.readouterr()


def test_replicates_write_bands_and_csvs_from_the_seeds_runs(tmp_path, capsys):
    out = tmp_path / "r"
    status, captured = run(["baseline", *SETS, *POINT, "--replicates", "4", "--seed", "5",
                            "--counterfactual", "no_peer_learning", "--at", "3", "6",
                            "--workers", "1", "--out", str(out)], capsys)
    assert status == 0, captured.err
    assert {"hourglass.png", "replicates.csv", "quantiles.csv", "scenario.toml"} <= set(
        listing(out))
    assert (out / "hourglass.png").read_bytes().startswith(b"\x89PNG")
    per_seed = pd.read_csv(out / "replicates.csv")
    seeds = replicate_seeds(5, 4)
    assert list(per_seed["arm"]) == ["scenario"] * 4 + ["counterfactual"] * 4
    assert list(per_seed["seed"]) == seeds * 2  # paired: the same seeds in both arms
    # the bands are of the very runs `hourglass run --seed S` makes, one per seed
    scenario = Scenario.load("baseline").with_overrides(TINY)
    course = np.array([PeerLearningModel(scenario, rng=s).run().monthly["practical_learning"]
                       for s in seeds])
    table = pd.read_csv(out / "quantiles.csv")
    assert set(table["arm"]) == {"scenario", "counterfactual", "attributable"}
    rows = table[(table["arm"] == "scenario") & (table["output"] == "practical_learning")]
    assert list(rows["month"]) == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(rows["median"], np.median(course, axis=0))
    np.testing.assert_allclose(rows["p10"], np.percentile(course, 10, axis=0))
    np.testing.assert_allclose(rows["p90"], np.percentile(course, 90, axis=0))
    final = per_seed[per_seed["arm"] == "scenario"]["practical_learning"].to_numpy()
    np.testing.assert_allclose(final, course[:, -1])
    # attributable = scenario - counterfactual, seed by seed
    arms = {arm: part.set_index("seed")["orgs_changed"] for arm, part in per_seed.groupby("arm")}
    effect = table[(table["arm"] == "attributable") & (table["output"] == "orgs_changed")]
    assert effect["mean"].iloc[-1] == pytest.approx(
        (arms["scenario"] - arms["counterfactual"]).mean())
    assert "attributable: mean [95 % CI]" in captured.out
    assert "scenario: median [10-90 % of seeds]" in captured.out


def test_replicates_are_bit_identical_on_any_worker_count(tmp_path, capsys):
    for workers in ("1", "2"):
        status, captured = run(["baseline", *SETS, *POINT, "--replicates", "5",
                                "--counterfactual", "no_peer_learning", "--workers", workers,
                                "--out", str(tmp_path / workers)], capsys)
        assert status == 0, captured.err
    for name in ("replicates.csv", "quantiles.csv", "scenario.toml"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


def test_without_a_counterfactual_only_the_scenario_runs(tmp_path, capsys):
    out = tmp_path / "s"
    status, captured = run(["baseline", *SETS, *POINT, "--replicates", "2", "--workers", "1",
                            "--out", str(out)], capsys)
    assert status == 0, captured.err
    assert set(pd.read_csv(out / "quantiles.csv")["arm"]) == {"scenario"}
    assert set(pd.read_csv(out / "replicates.csv")["arm"]) == {"scenario"}


@pytest.mark.parametrize(("argv", "expected"), [
    (["--replicates", "1"], "--replicates: expected a whole number >= 2, got '1'"),
    (["--replicates", "0"], "--replicates: expected a whole number >= 2, got '0'"),
    (["--replicates", "many"], "--replicates: expected a whole number >= 2, got 'many'"),
    (["--replicates", "3", "--counterfactual", "nothing"], "--counterfactual: invalid choice"),
    (["--replicates", "3", "--at", "7"], "--at 7: the run lasts 6 months (run.months)"),
    (["--replicates", "3", "--at", "0"], "--at: expected a whole number >= 1, got '0'"),
    (["--counterfactual", "no_peer_learning"], "--counterfactual: applies to many seeds only"),
    (["--workers", "2"], "--workers: applies to many seeds only"),
    (["--replicates", "3", "--workers", "0"], "--workers: expected a whole number >= 1"),
], ids=["one", "zero", "text", "counterfactual", "at beyond the run", "at zero",
        "counterfactual alone", "workers alone", "workers zero"])
def test_bad_replicate_options_are_one_line_before_the_work(tmp_path, monkeypatch, capsys,
                                                            argv, expected):
    monkeypatch.chdir(tmp_path)
    status, captured = run(["baseline", *SETS, *argv], capsys)
    assert status == 2
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("hourglass"), captured.err
    assert expected in captured.err, captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert listing(tmp_path) == []  # no output directory, no run


def test_statistics_are_the_band_and_the_t_interval():
    values = np.array([[0.0, 1.0], [0.2, 1.0], [0.4, 1.0], [0.9, 1.0], [1.0, 1.0]])
    got = statistics(values)
    assert tuple(got) == QUANTILE_COLUMNS
    np.testing.assert_allclose(got["p10"], np.percentile(values, 10, axis=0))
    np.testing.assert_allclose(got["median"], [0.4, 1.0])
    np.testing.assert_allclose(got["p90"], np.percentile(values, 90, axis=0))
    low, high = stats.t.interval(0.95, 4, loc=values[:, 0].mean(), scale=stats.sem(values[:, 0]))
    assert got["ci_low"][0] == pytest.approx(low)
    assert got["ci_high"][0] == pytest.approx(high)
    assert got["ci_low"][1] == got["ci_high"][1] == 1.0  # seeds that agree: no width


def constructed_table(months=10):
    """Quantiles built by hand: level i rises linearly to 0.1 * (i + 1); a counterfactual that is
    zero except for organisations changed (0.02 at every month)."""
    rows = []
    month = np.arange(1, months + 1)
    for i, (key, _) in enumerate(LEVELS):
        median = 0.1 * (i + 1) * month / months
        cf = np.full(months, 0.02 if key == "orgs_changed" else 0.0)
        for arm, m in (("scenario", median), ("counterfactual", cf),
                       ("attributable", median - cf)):
            rows.append(pd.DataFrame({
                "arm": arm, "output": key, "month": month, "replicates": 10, "mean": m,
                "ci_low": m - 0.01, "ci_high": m + 0.01, "p10": m * 0.5, "median": m,
                "p90": m * 1.5}))
    return pd.concat(rows, ignore_index=True)


def test_band_figure_draws_the_hourglass_bands_and_marks_from_its_table():
    table = constructed_table()
    outputs = tuple(key for key, _ in LEVELS)
    fig = replicates_figure(table, outputs, "constructed", marks=(4, 8))
    shape, *panels = fig.axes
    assert len(panels) == len(outputs)
    widths = [bar.get_width() for bar in shape.patches]
    np.testing.assert_allclose(widths, [0.1 * (i + 1) for i in range(len(LEVELS))])
    assert shape.texts[0].get_text() == "10%\n(5%-15%)"  # median, then the band
    for key, ax in zip(outputs, panels, strict=True):
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 10]
        # the attributable change is drawn only where a counterfactual changes something
        assert len(lines) == (3 if key == "orgs_changed" else 2), key
        top = max(band.get_paths()[0].vertices[:, 1].max() for band in bands)
        assert top == pytest.approx(table[(table["output"] == key)]["p90"].max())
        marks = [line.get_xdata()[0] for line in ax.get_lines() if len(line.get_xdata()) == 2]
        assert marks == [4, 8]


def test_quantiles_take_month_numbers_from_the_course():
    from hourglass.replicates import Replicates

    runs = Replicates(seeds=(1, 2), summary=pd.DataFrame({"seed": [1, 2], "x": [0.0, 1.0]}),
                      course={"x": np.array([[0.0, 0.5, 1.0], [0.0, 0.0, 1.0]])})
    table = quantiles({"scenario": runs})
    assert list(table["month"]) == [1, 2, 3]
    assert list(table["median"]) == [0.0, 0.25, 1.0]


def test_default_folder_names_seeds_replicates_counterfactual_and_point(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.chdir(tmp_path)
    status, captured = run(["baseline", *SETS, *POINT, "--replicates", "2", "--counterfactual",
                            "no_peer_learning", "--workers", "1", "--seed", "3"], capsys)
    assert status == 0, captured.err
    digest = Scenario.load("baseline").with_overrides(TINY).overrides_digest()
    out = Path("results") / f"baseline-{digest}-seed3-r2-no_peer_learning-point"
    assert (tmp_path / out / "quantiles.csv").is_file()
    assert f"wrote {out}/" in captured.out


class StopsAt(HourglassModel):
    """The same model (same identity), but Ctrl-C arrives when it reaches seed ``stop``."""

    stop = None

    def __call__(self, params, seed):
        if seed == self.stop:
            raise KeyboardInterrupt
        return super().__call__(params, seed)


def test_an_interrupted_store_resumes_to_the_same_numbers(tmp_path):
    from analysis.errors import Interrupted

    seeds = replicate_seeds(2, 4)
    cut = StopsAt("baseline", every=1, overrides=TINY)
    cut.stop = seeds[2]
    models = {"scenario": cut}
    with pytest.raises(Interrupted, match="2 of 4 runs stored in"):
        run_replicates(models, 4, 2, "serial", store=tmp_path / "store")
    again = {"scenario": HourglassModel("baseline", every=1, overrides=TINY)}
    resumed = run_replicates(again, 4, 2, "serial", store=tmp_path / "store")
    fresh = run_replicates(again, 4, 2, "serial")
    pd.testing.assert_frame_equal(resumed["scenario"].summary, fresh["scenario"].summary)
    for key, values in fresh["scenario"].course.items():
        assert np.array_equal(resumed["scenario"].course[key], values), key
    # another seed is another experiment: refused, and the store is kept
    from analysis.errors import AnalysisError

    with pytest.raises(AnalysisError, match="holds a different sweep"):
        run_replicates(again, 4, 3, "serial", store=tmp_path / "store")
    assert (tmp_path / "store" / "parts").is_dir()


def test_store_options_are_checked_before_the_work(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for argv, expected in (
        (["--store", "s"], "--store: applies to many seeds only"),
        (["--replicates", "2", *POINT, "--out", "o", "--store", "o/s"],
         "--store o/s: must be outside"),
    ):
        status, captured = run(["baseline", *SETS, *argv], capsys)
        assert status == 2
        assert captured.err.count("\n") == 1, captured.err
        assert expected in captured.err, captured.err
        assert listing(tmp_path) == []


def test_means_add_the_replicates_in_one_order_however_runs_were_chunked():
    from hourglass.replicates import _arm

    rng = np.random.default_rng(4)
    values = rng.random((100, 3))
    frame = pd.DataFrame({"run_id": range(100), "row": 0, "replicate": range(100),
                          "seed": range(100), "x": values[:, -1]})
    for m in range(3):
        frame[f"x@{m + 1}"] = values[:, m]
    for parts in ([frame], [frame.iloc[:7], frame.iloc[7:40], frame.iloc[40:]]):
        arm = _arm(pd.concat(parts, ignore_index=True))
        assert arm.course["x"].flags["C_CONTIGUOUS"]
        means = statistics(arm.course["x"])["mean"]
        assert np.array_equal(means, np.ascontiguousarray(values).mean(axis=0))


# -- over a posterior ensemble (issue 15 §3): replicate r is parameter set r % K and seed r -----


def ensemble(directory, name="posterior.parquet", rows=4):
    """A hand-written ensemble: sets differing in change that happens anyway (background
    adoption moves staff reached in both arms) and in the peers' time to engage."""
    path = Path(directory) / name
    pd.DataFrame({"home_organisations.background_adoption": [0.0, 0.1, 0.0, 0.05][:rows],
                  "peers.time_to_engage": [0.95, 0.2, 0.5, 0.6][:rows]}).to_parquet(path)
    return path


def over(path, *extra):
    """The options of a run over the ensemble at ``path`` (every set: --sets 4)."""
    return ["--posterior", str(path), "--sets", "4", *extra]


def test_replicate_r_runs_parameter_set_r_mod_k_and_its_seed_in_both_arms(tmp_path, capsys):
    from hourglass.experiments import no_peer_learning

    path = ensemble(tmp_path)
    out = tmp_path / "r"
    # 9 replicates over 4 sets: 2 seeds each, 8 replicates (every set the same number)
    status, captured = run(["baseline", *SETS, *over(path), "--replicates", "9", "--seed", "4",
                            "--counterfactual", "no_peer_learning", "--workers", "1",
                            "--out", str(out)], capsys)
    assert status == 0, captured.err
    assert captured.out.startswith(f"parameter sets: 4 of 4 drawn from {path}")
    assert "8 replicates (4 parameter sets x 2 seeds) from root seed 4" in captured.out
    per_seed = pd.read_csv(out / "replicates.csv")
    seeds = replicate_seeds(4, 8)
    scenario = Scenario.load("baseline").with_overrides(TINY)
    direct = {"scenario": HourglassModel("baseline", every=1, overrides=TINY,
                                         parameter_sets=path),
              "counterfactual": HourglassModel("baseline", every=1,
                                               overrides=dict(no_peer_learning(scenario).overrides),
                                               parameter_sets=path)}
    outputs = [c for c in per_seed.columns if c not in ("arm", "replicate", "seed",
                                                        "parameter_set")]
    for arm, model in direct.items():
        rows = per_seed[per_seed["arm"] == arm]
        # the counterfactual runs the same set at the same seed, replicate by replicate
        assert list(rows["parameter_set"]) == [r % 4 for r in range(8)]
        assert list(rows["seed"]) == seeds
        for r, row in enumerate(rows.itertuples(index=False)):
            expected = model({"parameter_set": r % 4}, seeds[r])
            np.testing.assert_allclose([getattr(row, c) for c in outputs],
                                       [expected[c] for c in outputs], err_msg=f"{arm} {r}")
    # the sets do something here: background adoption moves staff reached between sets
    reached = per_seed[per_seed["arm"] == "scenario"].groupby("parameter_set")["staff_reached"]
    assert reached.mean().max() > reached.mean().min()
    record = json.loads((out / "ensemble.json").read_text())
    assert record["ensemble"]["rows"] == [0, 1, 2, 3]
    assert record["seeds_per_set"] == 2
    # the attributable change's interval is over the 4 sets' means (t, 3 degrees of freedom)
    scenario_runs = per_seed[per_seed["arm"] == "scenario"].set_index("replicate")
    counter_runs = per_seed[per_seed["arm"] == "counterfactual"].set_index("replicate")
    diff = (scenario_runs["engaged"] - counter_runs["engaged"]).groupby(
        scenario_runs["parameter_set"]).mean()
    low, _ = stats.t.interval(0.95, 3, loc=diff.mean(), scale=stats.sem(diff))
    table = pd.read_csv(out / "quantiles.csv")
    effect = table[(table["arm"] == "attributable") & (table["output"] == "engaged")]
    assert effect["ci_low"].iloc[-1] == pytest.approx(low)
    assert "attributable: mean [95 % CI over the parameter sets]" in captured.out


def test_uncertainty_splits_every_headline_output_at_every_month_asked(tmp_path, capsys):
    from hourglass.commands.run import HEADLINE

    out = tmp_path / "u"
    status, captured = run(["baseline", *SETS, *over(ensemble(tmp_path)), "--replicates", "12",
                            "--counterfactual", "no_peer_learning", "--at", "3", "6",
                            "--workers", "1", "--out", str(out)], capsys)
    assert status == 0, captured.err
    split = pd.read_csv(out / "uncertainty.csv")
    expected = [(arm, output, month) for arm in ("scenario", "attributable")
                for output in HEADLINE for month in (3, 6)]
    assert list(split[["arm", "output", "month"]].itertuples(index=False, name=None)) == expected
    assert set(split["sets"]) == {4.0}
    assert set(split["seeds_per_set"]) == {3.0}
    shares = split[["share_between", "share_low", "share_high"]].to_numpy()
    finite = shares[np.isfinite(shares)]
    assert finite.size
    assert ((finite >= 0) & (finite <= 1)).all()
    # an output that does not vary has no share at all, not half of one
    assert (np.isnan(shares).all(axis=1) == np.isnan(shares[:, 0])).all()
    # background adoption differs between sets: most of staff reached's variance is theirs
    reached = split[(split["arm"] == "scenario") & (split["output"] == "staff_reached")]
    assert reached["share_between"].iloc[-1] > 0.5
    assert "share of the variance between parameter sets" in captured.out
    assert "uncertainty.csv" in captured.out.splitlines()[-1]


def test_replicates_over_an_ensemble_are_bit_identical_on_any_worker_count(tmp_path, capsys):
    path = ensemble(tmp_path)
    for workers in ("1", "2"):
        status, captured = run(["baseline", *SETS, *over(path), "--replicates", "8",
                                "--counterfactual", "no_peer_learning", "--workers", workers,
                                "--out", str(tmp_path / workers)], capsys)
        assert status == 0, captured.err
    for name in ("replicates.csv", "quantiles.csv", "uncertainty.csv", "ensemble.json"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


def test_the_shipped_posterior_is_the_default_and_point_values_have_a_folder_of_their_own(
        tmp_path, monkeypatch, capsys):
    import hourglass.calibration

    monkeypatch.chdir(tmp_path)
    shipped = ensemble(tmp_path, rows=3)
    monkeypatch.setattr(hourglass.calibration, "shipped_posterior", lambda: shipped)
    digest = Scenario.load("baseline").with_overrides(TINY).overrides_digest()
    for extra, folder, first in (
        ([], "r4", "parameter sets: 2 of 3 drawn from"),  # 4 replicates: 2 sets x 2 seeds
        (POINT, "r4-point", "parameter sets: none (--point-defaults"),
    ):
        status, captured = run(["baseline", *SETS, *extra, "--replicates", "4", "--workers",
                                "1"], capsys)
        assert status == 0, captured.err
        assert captured.out.startswith(first)
        out = tmp_path / "results" / f"baseline-{digest}-seed1-{folder}"
        assert (out / "uncertainty.csv").is_file() == (not extra)
        assert ("parameter_set" in pd.read_csv(out / "replicates.csv")) == (not extra)
    monkeypatch.setattr(hourglass.calibration, "shipped_posterior", lambda: None)
    status, captured = run(["baseline", *SETS, "--replicates", "2", "--workers", "1",
                            "--out", "none"], capsys)
    assert status == 0, captured.err
    first = captured.out.splitlines()[0]
    assert first.startswith("run: no posterior ships yet (")
    assert "running at the scenario's point values" in first
    assert not (tmp_path / "none" / "uncertainty.csv").exists()


@pytest.mark.parametrize(("argv", "expected"), [
    (["--replicates", "3", "--posterior", "{e}"],
     "--replicates 3: over a posterior the replicates need at least 4 (2 parameter sets x 2 "
     "seeds)"),
    (["--replicates", "3"], "--replicates 3: over a posterior the replicates need at least 4"),
    (["--posterior", "{e}"], "--posterior: applies to many seeds only; add --replicates R"),
    (["--point-defaults"], "--point-defaults: applies to many seeds only; add --replicates R"),
    (["--sets", "3"], "--sets: applies to many seeds only; add --replicates R"),
    (["--replicates", "4", "--posterior", "missing.parquet"],
     "--posterior: missing.parquet: no such file"),
    (["--replicates", "4", "--posterior", "{t}"], "not a Parquet file"),
    (["--replicates", "4", "--posterior", "{e}", "--point-defaults"], "not allowed with"),
    (["--replicates", "4", "--sets", "1"], "--sets: expected a whole number >= 2, got '1'"),
], ids=["too few for 2x2", "too few over the shipped one", "posterior alone",
        "point defaults alone", "sets alone", "missing file", "not parquet", "both",
        "one set"])
def test_posterior_refusals_are_one_line_before_any_run(tmp_path, monkeypatch, capsys, argv,
                                                        expected):
    import hourglass.calibration

    monkeypatch.chdir(tmp_path)
    given = ensemble(tmp_path, "e.parquet")
    (tmp_path / "t.parquet").write_text("not parquet")
    monkeypatch.setattr(hourglass.calibration, "shipped_posterior", lambda: given)
    before = listing(tmp_path)
    argv = [a.format(e=given.name, t="t.parquet") for a in argv]
    status, captured = run(["baseline", *SETS, *argv], capsys)
    assert status == 2
    assert captured.err.count("\n") == 1, captured.err
    assert expected in captured.err, captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""  # not even the parameter sets' line: nothing ran
    assert listing(tmp_path) == before


def test_a_store_of_other_parameter_sets_is_refused_and_kept(tmp_path):
    from analysis.errors import AnalysisError

    first, second = ensemble(tmp_path, "a.parquet"), ensemble(tmp_path, "b.parquet", rows=3)

    def models(path):
        return {"scenario": HourglassModel("baseline", every=1, overrides=TINY,
                                           parameter_sets=path)}

    sets = [{"parameter_set": r % 2} for r in range(4)]
    store = tmp_path / "store"
    kept = run_replicates(models(first), 4, 2, "serial", store=store, replicate_params=sets)
    assert list(kept["scenario"].summary["parameter_set"]) == [0, 1, 0, 1]
    assert kept["scenario"].params == ("parameter_set",)
    again = run_replicates(models(first), 4, 2, "serial", store=store, replicate_params=sets)
    pd.testing.assert_frame_equal(again["scenario"].summary, kept["scenario"].summary)
    for other, params in ((second, sets),  # another ensemble
                          (first, [{"parameter_set": 2 + r % 2} for r in range(4)]),  # sets
                          (first, None)):  # the point values
        with pytest.raises(AnalysisError, match="holds a different sweep"):
            run_replicates(models(other), 4, 2, "serial", store=store, replicate_params=params)
    assert (store / "parts").is_dir()
    with pytest.raises(AnalysisError, match="replicate_params has 3 entries for 4 replicates"):
        run_replicates(models(first), 4, 2, "serial", replicate_params=sets[:3])


def test_attributable_keeps_the_sets_and_refuses_arms_run_in_other_ones():
    from hourglass.replicates import Replicates, attributable

    def arm(sets, value):
        summary = pd.DataFrame({"seed": [1, 2], "parameter_set": sets, "x": value})
        return Replicates(seeds=(1, 2), summary=summary, course={"x": np.ones((2, 3)) * value},
                          params=("parameter_set",))

    effect = attributable(arm([0, 1], 3.0), arm([0, 1], 1.0))
    assert list(effect.summary.columns) == ["seed", "parameter_set", "x"]
    assert list(effect.summary["parameter_set"]) == [0, 1]
    assert list(effect.summary["x"]) == [2.0, 2.0]
    with pytest.raises(ValueError, match="different parameter sets"):
        attributable(arm([0, 1], 3.0), arm([1, 0], 1.0))


def test_interval_over_sets_is_the_t_interval_of_their_means():
    values = np.array([0.0, 0.2, 1.0, 1.4, 0.5, 0.3])
    clusters = np.array([0, 0, 1, 1, 2, 2])
    got = statistics(values, clusters)
    means = np.array([0.1, 1.2, 0.4])
    low, high = stats.t.interval(0.95, 2, loc=means.mean(), scale=stats.sem(means))
    assert got["mean"] == pytest.approx(values.mean())
    assert (got["ci_low"], got["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert got["median"] == pytest.approx(np.median(values))  # the band is over every run
