"""The report's experiments on the model: instrumentation and outputs."""

import json

import numpy as np
import pytest
from conftest import SMALL

from hourglass.cli import main as cli
from hourglass.experiments import (
    InstrumentedModel,
    contact_intensity,
    natural,
    personal_learning,
    sustained_abroad,
)
from simulation import PeerLearningModel, Scenario
from simulation.errors import HourglassError


@pytest.fixture
def matched():
    return Scenario.load("matched_peer_review").with_overrides({**SMALL, "run.months": 24})


def test_instrumented_model_is_bit_identical(matched):
    a = InstrumentedModel(matched, rng=4)
    ra = a.run()
    rb = PeerLearningModel(matched, rng=4).run()
    assert ra.summary == rb.summary
    assert len(a.records) == 24
    for record in a.records:
        assert np.array_equal(record.formal, record.formal.T)
        assert np.array_equal(record.informal, record.informal.T)
    assert (a.tools_count()[a.state.peers.engaged] >= 1).all()


def test_contact_intensity_reports_add_up_to_the_months(matched):
    result = contact_intensity(matched, seed=2, start=12)
    assert result["n_reports"] == 26
    by_month = result["by_month"]
    for kind in ("formal", "informal"):
        matrix = result[kind]
        assert np.array_equal(matrix, matrix.T)
        totals = by_month.groupby(["a", "b"])[kind].sum()
        for (a, b), months in totals.items():
            assert matrix[a, b] == months  # each monthly contact lands in exactly one report
    assert result["per_report"].shape == (26, 6)
    assert len(set(result["participants"]["position"])) == 6


def test_personal_learning_weeks_add_up_to_the_months(matched):
    result = personal_learning(matched, seed=2, start=12)
    weekly, monthly = result["weekly"], result["by_month"]
    assert weekly.shape[1] == 13
    assert np.array_equal(weekly.sum(axis=1).to_numpy(), monthly.sum(axis=1).to_numpy())


def test_natural_experiment_groups_and_contrasts(matched):
    result = natural(matched, seed=3, reviews=2, per_review=4)
    table = result["table"]
    assert set(table["group"]) == {"involved", "colleague", "colleague, no initiative"}
    assert (table["ci_low"] <= table["share"]).all()
    assert (table["share"] <= table["ci_high"]).all()
    colleagues = table[table["group"] != "involved"]
    assert (colleagues.loc[colleagues["outcome"] == "sustained_abroad", "share"] == 0).all()


def test_experiments_draw_from_the_engines_seed_streams(matched, monkeypatch):
    from analysis import seeds
    from hourglass import experiments

    # the values the experiments drew when they built these streams themselves: bit-identical
    assert seeds.experiment_seeds(3, 2) == [6830758056375644573, 798120660054828339]
    assert seeds.experiment_seeds(3, 5)[:2] == seeds.experiment_seeds(3, 2)
    assert seeds.experiment_stream(3, 2).integers(2**62) == 1806096642009295912
    asked = []

    def spy(name):
        real = getattr(seeds, name)
        return lambda *a: asked.append((name, *a)) or real(*a)

    for name in ("experiment_stream", "experiment_seeds"):
        monkeypatch.setattr(experiments, name, spy(name))
    natural(matched, seed=3, reviews=2, per_review=4)
    contact_intensity(matched, seed=2, start=12)
    personal_learning(matched, seed=2, start=12)
    assert asked == [("experiment_stream", 3, 2), ("experiment_seeds", 3, 2),
                     ("experiment_stream", 2, 0), ("experiment_stream", 2, 1)]


def test_sustained_abroad_reads_the_ties_of_a_peers_own_node(matched):
    model = PeerLearningModel(matched, rng=1)
    peers, ties = model.state.peers, model.state.ties
    country = model.state.orgs.country[peers.org]
    a = 0
    b = int(np.flatnonzero(country != country[a])[0])
    c = int(np.flatnonzero((country == country[a]) & (np.arange(peers.n) != a))[0])
    colleague = int(np.flatnonzero(~model.state.staff.is_peer)[0])
    nodes = np.array([peers.staff_node[a], peers.staff_node[b], peers.staff_node[c], colleague])
    assert not sustained_abroad(model, nodes).any()  # no tie yet
    months = matched["observation.sustained_months"]
    ties.connect(a, c, 0.5, age=months)  # an old tie at home does not count
    assert not sustained_abroad(model, nodes).any()
    ties.connect(a, b, 0.5, age=months - 1)  # a young tie abroad does not count yet
    assert not sustained_abroad(model, nodes).any()
    ties.connect(a, b, 0.5, age=months)
    assert sustained_abroad(model, nodes).tolist() == [True, True, False, False]


def test_experiment_window_must_fit(matched):
    with pytest.raises(HourglassError, match=r"exceeds run\.months"):
        contact_intensity(matched, start=23)


@pytest.mark.parametrize(("name", "figure"), [
    ("contact-intensity", "contact_heatmap.png"),
    ("personal-learning", "learning_heatmap.png"),
    ("natural", "comparison.png"),
])
def test_command_writes_tables_and_figure(tmp_path, capsys, name, figure):
    out = tmp_path / name
    args = ["experiment", name, "matched_peer_review", "--seed", "2", "--out", str(out),
            "--set", "run.months=24", "--set", "population.home_organisations=6",
            "--set", "population.staff_per_organisation=60", "--set", "population.countries=2",
            "--point-defaults"]
    if name == "natural":
        args += ["--reviews", "2", "--per-review", "3"]
    assert cli(args) == 0
    assert (out / figure).stat().st_size > 0
    assert json.loads((out / "summary.json").read_text())["experiment"] == name
    # progress with the time left: the months run (start 12 + 3 observed), or the runs
    done = "4/4 [" if name == "natural" else "15/15 ["
    err = capsys.readouterr().err
    assert f"experiment {name}" in err
    assert done in err
    assert ("run/s" in err or "s/run" in err) if name == "natural" else "month" in err
    again = tmp_path / "quiet"
    assert cli([*args[:6], str(again), *args[7:], "--no-progress"]) == 0
    assert f"experiment {name}" not in capsys.readouterr().err


def test_command_refuses_a_bad_window_in_one_line(tmp_path, capsys):
    out = tmp_path / "bad"
    code = cli(["experiment", "contact-intensity", "baseline", "--start", "59", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "exceeds run.months" in err
    assert not out.exists()


# -- over a posterior ensemble (issue 15 §3) -----------------------------------------------------


def test_findings_are_the_numbers_each_experiment_reports(matched):
    from hourglass.experiment_ensemble import findings

    result = contact_intensity(matched, 2)
    found = findings("contact-intensity", result)
    assert found["pairs_with_informal_contact"] == int((np.triu(result["informal"], 1) > 0).sum())
    assert found["contacted_per_report"] == pytest.approx(result["per_report"].to_numpy().mean())
    result = natural(matched, 2, reviews=1, per_review=2)
    found = findings("natural", result)
    assert len(found) == len(result["contrasts"]) == 6
    assert found["learned: involved - colleague"] == pytest.approx(
        result["contrasts"].set_index(["outcome", "contrast"]).loc[
            ("learned", "involved - colleague"), "diff"])


def test_command_over_a_posterior_splits_the_findings(tmp_path, capsys):
    import pandas as pd

    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"contact.self_contact": [0.2, 0.5, 0.9],
                  "peers.time_to_engage": [0.3, 0.6, 0.9]}).to_parquet(path)
    out = tmp_path / "ci"
    args = ["experiment", "contact-intensity", "matched_peer_review", "--seed", "2", "--out",
            str(out), "--set", "run.months=24", "--set", "population.home_organisations=6",
            "--set", "population.staff_per_organisation=60", "--set", "population.countries=2",
            "--posterior", str(path), "--sets", "3", "--replicates", "2", "--workers", "1",
            "--no-progress"]
    assert cli(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert printed.startswith("parameter sets: 3 of 3 drawn from")
    assert "contact-intensity over 3 parameter sets x 2 seeds" in printed
    split = pd.read_csv(out / "uncertainty.csv", index_col="outcome")
    assert list(split.index) == ["pairs_with_informal_contact", "pairs_with_formal_contact",
                                 "contacted_per_report"]
    runs = pd.read_csv(out / "ensemble_runs.csv")
    assert sorted(runs["parameter_set"]) == [0, 0, 1, 1, 2, 2]
    assert runs["seed"].nunique() == 6
    assert (out / "uncertainty.png").read_bytes().startswith(b"\x89PNG")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameter_sets"]["rows"] == [0, 1, 2]
    assert summary["tables_from_parameter_set"] == 0
    assert set(summary["variance_split"]) == set(split.index)
    # The tables are one study: parameter set 0 at seed 2, as the model gives it directly.
    from hourglass.adapter import HourglassModel

    model = HourglassModel("matched_peer_review", every=0, parameter_sets=path, overrides={
        "run.months": 24, "population.home_organisations": 6,
        "population.staff_per_organisation": 60, "population.countries": 2})
    direct = contact_intensity(model.scenario({"parameter_set": 0}), 2)
    saved = pd.read_csv(out / "heatmap_informal.csv", index_col=0).to_numpy()
    np.testing.assert_array_equal(saved, direct["informal"])
