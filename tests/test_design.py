"""Design search: the cost table, a non-dominated front, scenario files that run, resume."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest

from analysis.executors import SerialExecutor
from analysis.space import Space
from hourglass.adapter import HourglassModel
from hourglass.cli import main
from hourglass.costs import COSTS_FILE, SOURCES, load_costs
from hourglass.design import DESIGN_SPACE, RunCache, check_costed, pareto_front, search
from simulation import PeerLearningModel, Scenario, load_tools
from simulation.errors import HourglassError

TINY = {"population.home_organisations": 4, "population.countries": 2,
        "population.staff_per_organisation": 20, "run.months": 12}
SPACE = {"tools.joint_peer_activities": (0.0, 1.0), "tools.large_group_meetings": (0.0, 1.0),
         "levers.dissemination": (0.0, 1.0), "facilitator.selection": ["position", "matched"]}
SETTINGS = {"objective": "practical_learning", "population": 6, "generations": 3,
            "replicates": 2, "seed": 5, "executor": "serial", "progress": False}


def resolved(overrides: dict) -> dict:
    """Every key's value of the baseline with ``overrides``."""
    return dict(Scenario.load("baseline").with_overrides(overrides).values)


def tiny_model():
    return HourglassModel("baseline", every=0, overrides=TINY)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    store = tmp_path_factory.mktemp("design") / "runs"
    result = search(tiny_model(), Space(SPACE), load_costs(), store=store, **SETTINGS)
    return result, store


# -- the cost table ----------------------------------------------------------------------------


def test_every_tool_is_costed_and_every_value_sourced():
    raw = tomllib.loads(COSTS_FILE.read_text(encoding="utf-8"))
    assert set(raw["tools"]) == {t.name for t in load_tools()}
    entries = [*raw["prices"].values()]
    entries += [v for table in raw["tools"].values() for v in table.values()]
    entries += [v for table in raw["levers"].values() for v in table.values()
                if isinstance(v, dict)]
    for entry in entries:
        assert entry["source"] in SOURCES
        if entry["source"] != "assumption":
            assert entry["note"].strip()
    table = load_costs()
    assert set(table.tools) == {t.name for t in load_tools()}


def hand_cost(values: dict) -> float:
    """The cost formula of costs.toml's header, straight from the raw TOML."""
    raw = tomllib.loads(COSTS_FILE.read_text(encoding="utf-8"))
    price = {k: v["value"] for k, v in raw["prices"].items()}
    years = values["run.months"] / 12
    peers = values["population.home_organisations"] * values["population.peers_per_organisation"]
    uses = {t.name: t.uses_per_year for t in load_tools()}
    total = 0.0
    for name, part in raw["tools"].items():
        p = {k: v["value"] for k, v in part.items()}
        trip = price["trip"] + p["travel_days"] * price["per_diem"]
        per_use = (p["facilitator_days"] * price["facilitator_day"]
                   + p["venue_days"] * price["venue_day"] + p["travellers"] * peers * trip)
        total += values[f"tools.{name}"] * uses[name] * years * per_use
    for key, part in raw["levers"].items():
        p = {k: v["value"] for k, v in part.items() if isinstance(v, dict)}
        weight = (values[key] == part["when"]) if "when" in part else values[key]
        days = p.get("facilitator_days", 0) + p.get("facilitator_days_per_peer", 0) * peers
        venue = p.get("venue_days", 0) + p.get("venue_days_per_peer", 0) * peers
        travel = p.get("travellers", 0) * peers * (price["trip"] + p.get("travel_days", 0)
                                                  * price["per_diem"])
        total += weight * years * (days * price["facilitator_day"]
                                   + venue * price["venue_day"] + travel)
    return total


@pytest.mark.parametrize("overrides", [
    {},
    {"levers.dissemination": 0.7, "facilitator.selection": "matched", "tools.site_visits": 1.0,
     "levers.community_of_practice": 0.3, "run.months": 30},
    {f"tools.{t.name}": 0.0 for t in load_tools()},
])
def test_cost_matches_the_table(overrides):
    values = resolved(overrides)
    cost = load_costs().cost(values)
    assert cost["total"] == pytest.approx(hand_cost(values), rel=1e-12)
    assert cost["total"] == pytest.approx(cost["facilitator_time"] + cost["venues"]
                                          + cost["travel"])


def test_nothing_used_costs_nothing():
    values = resolved({**{f"tools.{t.name}": 0.0 for t in load_tools()},
                       "levers.matching": 0.0, "facilitator.logistics": 0.0})
    assert load_costs().cost(values)["total"] == 0.0


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("[tools.site_visits]", "[tools.site_visitz]"), "tools.site_visitz"),
    (lambda t: t.replace('venue_days = { value = 3, source = "assumption" }',
                         'venue_days = { value = -3, source = "assumption" }', 1),
     "venue_days.value"),
    (lambda t: t.replace('source = "assumption", note = "One day of a meeting',
                         'source = "guess", note = "One day of a meeting'), "'guess'"),
    (lambda t: t.replace('venue_days = { value = 3, source = "assumption" }',
                         'venue_days = { value = 3, source = "report" }', 1), "needs a note"),
    (lambda t: t + '\n[levers."levers.trusty"]\nfacilitator_days = { value = 1, source = '
     '"assumption" }\n', "levers.trusty"),
    (lambda t: t.replace('when = "matched"', 'when = "luck"'), "'luck'"),
    (lambda t: t + "\n[extra]\n", "unknown table 'extra'"),
])
def test_bad_cost_tables_are_refused_in_one_line(tmp_path, edit, message):
    path = tmp_path / "costs.toml"
    path.write_text(edit(COSTS_FILE.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(HourglassError, match=r"costs\.toml") as caught:
        load_costs(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_space_key_without_a_cost_is_refused():
    check_costed(Space.from_toml(DESIGN_SPACE), load_costs())
    with pytest.raises(HourglassError, match=r"levers\.trust has no cost"):
        check_costed(Space({"levers.trust": (0.0, 1.0)}), load_costs())


# -- the search --------------------------------------------------------------------------------


def test_front_is_non_dominated_and_sorted(searched):
    result, _ = searched
    ev, front = result.evaluated, result.front
    assert len(ev) >= SETTINGS["population"]
    assert front["cost"].is_monotonic_increasing
    # the design with every choice at its lowest anchors the front's cheap end
    lowest = resolved({**TINY, "tools.joint_peer_activities": 0.0,
                       "tools.large_group_meetings": 0.0, "levers.dissemination": 0.0,
                       "facilitator.selection": "position"})
    assert front["cost"].iloc[0] == pytest.approx(hand_cost(lowest))
    assert front["score"].is_monotonic_increasing
    for _, row in front.iterrows():
        better = (ev["score"] >= row["score"]) & (ev["cost"] <= row["cost"])
        strictly = (ev["score"] > row["score"]) | (ev["cost"] < row["cost"])
        assert not (better & strictly).any()
    # every design off the front is dominated by a front design
    for key, row in ev.drop(front.index).iterrows():
        dominated = (front["score"] >= row["score"]) & (front["cost"] <= row["cost"])
        assert dominated.any(), key


def test_front_costs_match_the_cost_table(searched):
    result, _ = searched
    for _, row in result.front.iterrows():
        params = result.space.params({n: row[n] for n in result.space.names})
        values = resolved({**TINY, **params})
        assert row["cost"] == pytest.approx(hand_cost(values), rel=1e-12)


def test_score_is_the_quantile_over_the_runs(searched):
    result, store = searched
    cache = RunCache(store, {"model": result.model.describe(), "space": result.space.to_list(),
                             "seed": SETTINGS["seed"], "parameter_sets": [{}]})
    cache.close()
    key = result.front.index[-1]
    runs = [cache.runs[(key, 0, r)]["practical_learning"] for r in range(SETTINGS["replicates"])]
    assert result.front.loc[key, "score"] == pytest.approx(np.quantile(runs, 0.25))
    assert result.front.loc[key, "median"] == pytest.approx(np.median(runs))


def test_front_scenario_files_load_and_reproduce_their_runs(searched, tmp_path):
    from hourglass.design import scenario_text

    result, _ = searched
    for point, key in enumerate(result.front.index, start=1):
        path = tmp_path / f"point-{point:02d}.toml"
        path.write_text(scenario_text(result, key, point), encoding="utf-8")
        scenario = Scenario.load(path)
        row = result.front.loc[key]
        for name in ("tools.joint_peer_activities", "levers.dissemination",
                     "facilitator.selection"):
            assert scenario[name] == row[name]
        # replicate 0 of the search, re-run from the file: the same number
        run = PeerLearningModel(scenario, rng=result.seeds[0]).run()
        others = [PeerLearningModel(scenario, rng=s).run().summary["practical_learning"]
                  for s in result.seeds[1:]]
        values = [run.summary["practical_learning"], *others]
        assert row["score"] == pytest.approx(np.quantile(values, 0.25))


def test_a_rerun_repeats_no_run(searched):
    result, store = searched
    again = search(tiny_model(), Space(SPACE), load_costs(), store=store, **SETTINGS)
    assert again.ran == 0
    pd.testing.assert_frame_equal(again.front, result.front)
    longer = search(tiny_model(), Space(SPACE), load_costs(), store=store,
                    **{**SETTINGS, "generations": 4})
    new_designs = (longer.evaluated["generation"] == 4).sum()
    assert longer.ran == new_designs * SETTINGS["replicates"]


class Interrupting(SerialExecutor):
    """Runs ``allowed`` runs, then raises KeyboardInterrupt inside the next (a Ctrl-C mid-chunk)."""

    def __init__(self, allowed: int) -> None:
        super().__init__()
        self.left = allowed

    def _result(self, handle):
        model, runs = handle

        def counting(params, seed):
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
            return model(params, seed)

        return super()._result((counting, runs))


def test_resume_after_interruption_repeats_no_run(tmp_path):
    store = tmp_path / "runs"
    # the first generation's 12 runs come in chunks of 3, 3, 2, ...: the 7th run is the first
    # of the third chunk, finished before the Ctrl-C and kept with the two whole chunks
    settings = {**SETTINGS, "executor": Interrupting(7)}
    with pytest.raises(KeyboardInterrupt):
        search(tiny_model(), Space(SPACE), load_costs(), store=store, **settings)
    parts = list((store / "parts").glob("part-*.parquet"))
    assert len(parts) == 3
    first = sum(len(pd.read_parquet(p)) for p in parts)
    assert first == 7
    resumed = search(tiny_model(), Space(SPACE), load_costs(), store=store, **SETTINGS)
    stored = pd.concat(pd.read_parquet(p) for p in (store / "parts").glob("part-*.parquet"))
    assert not stored.duplicated(["design", "parameter_set", "replicate"]).any()
    designs = len(resumed.evaluated) + 1  # and the base scenario
    assert first + resumed.ran == designs * SETTINGS["replicates"] == len(stored)
    uninterrupted = search(tiny_model(), Space(SPACE), load_costs(), store=None, **SETTINGS)
    pd.testing.assert_frame_equal(resumed.front, uninterrupted.front)
    pd.testing.assert_frame_equal(resumed.evaluated, uninterrupted.evaluated)


def test_a_store_of_another_search_is_refused(searched):
    _, store = searched
    with pytest.raises(HourglassError, match="different design search"):
        search(tiny_model(), Space(SPACE), load_costs(), store=store, **{**SETTINGS, "seed": 6})


def test_parameter_sets_multiply_the_runs():
    sets = [{}, {"levers.trust": 0.2}]
    result = search(tiny_model(), Space(SPACE), load_costs(), parameter_sets=sets,
                    **{**SETTINGS, "generations": 1})
    assert result.runs_per_design == 2 * SETTINGS["replicates"]
    assert result.ran == (len(result.evaluated) + 1) * 2 * SETTINGS["replicates"]


def test_pareto_front_by_hand():
    ev = pd.DataFrame({"cost": [1.0, 2.0, 2.0, 3.0, 0.5], "score": [0.1, 0.3, 0.2, 0.3, 0.1]},
                      index=list("abcde"))
    assert list(pareto_front(ev).index) == ["e", "b"]


# -- the command -------------------------------------------------------------------------------


def test_design_command_writes_front_and_scenarios(tmp_path, capsys):
    out = tmp_path / "design"
    args = ["design", "--population", "4", "--generations", "2", "--replicates", "1",
            "--objective", "practical_learning", "--workers", "1", "--no-progress",
            "--out", str(out), *[a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]]
    assert main(args) == 0, capsys.readouterr().err
    report = out / "report"
    for name in ("front.png", "front.csv", "evaluated.csv", "summary.json", "README.md"):
        assert (report / name).is_file(), name
    files = sorted((report / "scenarios").glob("point-*.toml"))
    front = pd.read_csv(report / "front.csv")
    assert len(files) == len(front) >= 1
    for path in files:
        Scenario.load(path)
    assert main(["run", str(files[0]), "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert main(args) == 0  # resumed: nothing left to run
    assert "(0 run this session)" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--quantile", "1.5"], "--quantile 1.5"),
    (["--population", "2"], "--population 2"),
    (["--objective", "nope"], "--objective 'nope'"),
    (["--costs", "missing.toml"], "--costs missing.toml"),
])
def test_design_command_refusals(tmp_path, capsys, args, message):
    status = main(["design", "--quick", "--out", str(tmp_path / "d"), "--no-progress", *args])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d" / "report").exists()


def test_a_part_left_half_written_by_a_kill_is_dropped(tmp_path):
    store = tmp_path / "runs"
    first = search(tiny_model(), Space(SPACE), load_costs(), store=store,
                   **{**SETTINGS, "generations": 1})
    stray = store / "parts" / ".tmp-part-000000099-1-abc.parquet"
    stray.write_bytes(b"PAR1 half a file")  # what kill -9 during a write leaves
    again = search(tiny_model(), Space(SPACE), load_costs(), store=store,
                   **{**SETTINGS, "generations": 1})
    assert not stray.exists()
    assert again.ran == 0
    pd.testing.assert_frame_equal(again.front, first.front)


def test_only_the_caches_own_unfinished_parts_are_removed(tmp_path):
    """A file in ``parts/`` that the cache did not write is kept, whatever its name."""
    store = tmp_path / "runs"
    search(tiny_model(), Space(SPACE), load_costs(), store=store, **{**SETTINGS, "generations": 1})
    own = store / "parts" / ".tmp-part-000000099-1-abc.parquet"
    others = [store / "parts" / name for name in (".tmp-notes.txt", ".tmp-part-mine.parquet")]
    for path in (own, *others):
        path.write_bytes(b"x")
    search(tiny_model(), Space(SPACE), load_costs(), store=store, **{**SETTINGS, "generations": 1})
    assert not own.exists()
    assert all(path.exists() for path in others)
