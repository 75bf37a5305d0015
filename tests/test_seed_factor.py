"""The seed as a factor of the design (``run_sweep(..., seed_factor=True)``).

A toy model with known variance shares checks the indices; the design's blocks check which runs
share a seed; the default ``hourglass sensitivity`` reports the seed's own indices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.grouped import GroupedSpace
from analysis.sensitivity import morris, sobol
from analysis.sweep import CHANCE, load_sweep, run_sweep

NOISE_SD = 0.5


def toy(params: dict, seed: int) -> dict[str, float]:
    """``2a + b + noise``: with a, b uniform on [0, 1] the variance is 4/12 + 1/12 + 0.25."""
    rng = np.random.default_rng(seed)
    return {"y": 2.0 * params["a"] + params["b"] + float(rng.normal(0.0, NOISE_SD))}


TOTAL = 4 / 12 + 1 / 12 + NOISE_SD**2
SHARES = {"a": (4 / 12) / TOTAL, "b": (1 / 12) / TOTAL, CHANCE: NOISE_SD**2 / TOTAL}
SPACE = {"a": (0.0, 1.0), "b": (0.0, 1.0)}


def test_the_seeds_indices_are_the_share_of_variance_that_is_chance():
    """An additive model: S1 = ST = each input's share of the variance, the seed's included.

    The tolerance is each index's own 95 % bootstrap interval, widened by half for the
    interval's own error at N = 1024.
    """
    sweep = run_sweep(toy, SPACE, "sobol", 1024, 1, seed_factor=True, executor="serial",
                      progress=False)
    assert sweep.space.names == ["a", "b", CHANCE]
    assert sweep.n_runs == 1024 * (3 + 2)
    table = sobol(sweep, "y")
    for name, share in SHARES.items():
        for index in ("S1", "ST"):
            assert abs(table.loc[name, index] - share) < 1.5 * table.loc[name, f"{index}_conf"], (
                name, index)


def test_rows_of_a_block_share_the_seed_unless_the_seed_column_moves():
    """Saltelli's A row and its AB_i rows share A's seed; AB_seed and B share B's."""
    sweep = run_sweep(toy, SPACE, "sobol", 8, 1, seed_factor=True, executor="serial",
                      progress=False)
    seeds = sweep.results.sort_values("run_id")["seed"].to_numpy().reshape(8, 5)
    a_rows, ab_a, ab_b, ab_seed, b_rows = seeds.T
    assert np.array_equal(a_rows, ab_a)
    assert np.array_equal(a_rows, ab_b)
    assert np.array_equal(ab_seed, b_rows)
    assert not np.any(a_rows == b_rows)
    assert len(set(a_rows) | set(b_rows)) == 16  # blocks never share a seed


def test_a_grouped_design_shares_seeds_within_its_blocks_of_groups():
    """With groups a Saltelli block has G + 2 rows (here 2 groups and the seed: 5)."""
    space = GroupedSpace({"a": (0.0, 1.0), "b": (0.0, 1.0), "c": (0.0, 1.0)},
                         {"a": "ab", "b": "ab"})
    sweep = run_sweep(lambda p, s: toy({"a": p["a"], "b": p["b"] + p["c"]}, s), space, "sobol",
                      8, 1, seed_factor=True, executor="serial", progress=False)
    assert sweep.space.group_names == ["ab", "c", CHANCE]
    seeds = sweep.results.sort_values("run_id")["seed"].to_numpy().reshape(8, 5)
    assert np.array_equal(seeds[:, 0], seeds[:, 1])
    assert np.array_equal(seeds[:, 0], seeds[:, 2])
    assert np.array_equal(seeds[:, 3], seeds[:, 4])
    assert not np.any(seeds[:, 0] == seeds[:, 4])


def test_a_morris_trajectory_changes_its_seed_only_at_the_seed_step():
    sweep = run_sweep(toy, SPACE, "morris", 6, 1, seed_factor=True, executor="serial",
                      progress=False)
    unit = sweep.design.unit.reshape(6, 4, 3)
    seeds = sweep.results.sort_values("run_id")["seed"].to_numpy().reshape(6, 4)
    for traj in range(6):
        moved = np.abs(np.diff(unit[traj][:, -1])) > 0
        changed = np.diff(seeds[traj]) != 0
        assert np.array_equal(moved, changed)
    # The seed's elementary effect is the noise's: far from zero, unlike a factor with none.
    table = morris(sweep, "y")
    assert table.loc[CHANCE, "mu_star"] > 0.1


def test_the_same_seeds_on_any_executor_and_worker_count(tmp_path):
    serial = run_sweep(toy, SPACE, "sobol", 16, 1, seed_factor=True, executor="serial",
                       progress=False)
    pooled = run_sweep(toy, SPACE, "sobol", 16, 1, seed_factor=True, executor="processes",
                       workers=2, chunk_size=7, progress=False, store=tmp_path / "s")
    cols = ["run_id", "seed", "y"]
    pd.testing.assert_frame_equal(
        serial.results.sort_values("run_id")[cols].reset_index(drop=True),
        pooled.results.sort_values("run_id")[cols].reset_index(drop=True))
    again = load_sweep(tmp_path / "s")
    assert again.seed_factor
    assert again.space.names[-1] == CHANCE
    # The model's parameters of a row, as run: the seed's column is not one of them.
    assert again.params([3]) == [{"a": again.factors.loc[3, "a"], "b": again.factors.loc[3, "b"]}]
    assert len(again.params()) == again.design.rows
    # A store of the seed as a factor is another sweep than one of replicates.
    with pytest.raises(AnalysisError, match="holds a different"):
        run_sweep(toy, SPACE, "sobol", 16, 1, executor="serial", progress=False,
                  store=tmp_path / "s")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"replicates": 2}, "replicates must be 1"),
    ({"design": "grid"}, "not grid"),
    ({"space": {"a": (0.0, 1.0), CHANCE: (0.0, 1.0)}}, "already has a factor 'chance'"),
])
def test_the_seed_as_a_factor_refuses_what_it_cannot_be(kwargs, message):
    args = {"space": SPACE, "design": "sobol", "samples": 4, "replicates": 1, **kwargs}
    with pytest.raises(AnalysisError, match=message):
        run_sweep(toy, seed_factor=True, executor="serial", progress=False, **args)


def test_the_command_names_the_engines_seed_column():
    from hourglass.commands import sensitivity

    assert sensitivity.CHANCE == CHANCE


def test_the_default_sensitivity_analysis_reports_chance(tmp_path):
    """No --replicates: one run a row, and every table carries the seed's own indices."""
    from hourglass.adapter import lever_space
    from hourglass.cli import main

    tiny = {"population.home_organisations": 4, "population.countries": 2,
            "population.staff_per_organisation": 20, "run.months": 24}
    out = tmp_path / "sa"
    argv = ["sensitivity", "--samples", "4", "--trajectories", "2", "--resamples", "20",
            "--out", str(out), "--workers", "1", "--no-progress", "--outputs", "engaged",
            "--point-defaults", *[a for k, v in tiny.items() for a in ("--set", f"{k}={v}")]]
    assert main(argv) == 0
    dim = lever_space().dim + 1
    sobol_table = pd.read_csv(out / "report" / "sobol.csv")
    assert list(sobol_table["parameter"])[-1] == CHANCE
    assert len(sobol_table) == dim
    assert CHANCE in set(pd.read_csv(out / "report" / "morris.csv")["parameter"])
    assert load_sweep(out / "runs" / "sobol").n_runs == 4 * (dim + 2)
    assert load_sweep(out / "runs" / "morris").n_runs == 2 * (dim + 1)
    readme = (out / "report" / "README.md").read_text()
    assert "the run's seed is the factor 'chance'" in readme
    assert f"({dim} factors: " in readme
    assert "group.reflection, chance)" in readme
    assert (out / "report" / "levers_and_assumptions.png").is_file()


def test_noise_goes_to_chance_not_into_the_other_total_indices():
    """Noisy Ishigami, one run a row: ST(x3) is its analytic share of the noisy variance.

    One run a row with independent seeds inflates ST(x3) to about 0.41 (tests/test_sensitivity.py);
    with the seed a factor the noise is the seed's own index, and ST(x3) / (1 - ST(chance)) is
    Ishigami's 0.244. Tolerance: four standard errors (``4 * conf / 1.96``), as there.
    """
    import sweep_models as m

    space = dict.fromkeys(("x1", "x2", "x3"), (-np.pi, np.pi))
    sweep = run_sweep(m.noisy_ishigami, space, "sobol", 1024, 1, seed=3, seed_factor=True,
                      executor="serial", progress=False)
    idx = sobol(sweep, "y")
    total = m.ISHIGAMI_VAR + m.NOISE_SD**2
    expected = {**dict(zip(("x1", "x2", "x3"),
                           np.array(m.ISHIGAMI_ST) * m.ISHIGAMI_VAR / total, strict=True)),
                CHANCE: m.NOISE_SD**2 / total}
    for name, share in expected.items():
        assert abs(idx.loc[name, "ST"] - share) <= 4 * idx.loc[name, "ST_conf"] / 1.96, name
    assert idx.loc["x3", "ST"] < 0.3  # not the 0.41 of independent seeds
    deterministic = idx.loc["x3", "ST"] / (1 - idx.loc[CHANCE, "ST"])
    assert abs(deterministic - m.ISHIGAMI_ST[2]) < 0.05


TINY_SET = ["--set", "population.home_organisations=4", "--set", "population.countries=2",
            "--set", "population.staff_per_organisation=20", "--set", "run.months=12"]


def test_the_sweep_command_takes_the_seed_as_a_factor(tmp_path, capsys):
    from hourglass.cli import main

    out = tmp_path / "s"
    argv = ["sweep", "baseline", "--design", "sobol", "--samples", "4", "--vary",
            "levers.trust=0:1", "--seed-factor", "--out", str(out), "--workers", "1",
            "--no-progress", *TINY_SET]
    assert main(argv) == 0
    assert "16 runs (16 rows, the seed a factor" in capsys.readouterr().out
    sweep = load_sweep(out)
    assert sweep.seed_factor
    assert sweep.space.names == ["levers.trust", CHANCE]


@pytest.mark.parametrize(("extra", "message"), [
    (["--replicates", "3"], "--seed-factor: each design row is one run; drop --replicates 3"),
    (["--design", "grid"], "--seed-factor: needs a sobol, morris or lhs design, not grid"),
])
def test_the_sweep_command_refuses_the_seed_factor_with_replicates_or_a_grid(
        tmp_path, capsys, extra, message):
    from hourglass.cli import main

    out = tmp_path / "s"
    argv = ["sweep", "baseline", "--vary", "levers.trust=0:1", "--seed-factor", "--out",
            str(out), "--no-progress", *extra, *TINY_SET]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_the_assumption_groups_analysis_takes_the_seed_as_a_group_of_its_own(tmp_path):
    """--assumptions with no --replicates: chance is one more group of the grouped design."""
    from hourglass.cli import main

    out = tmp_path / "sa"
    argv = ["sensitivity", "--assumptions", "--point-defaults", "--samples", "4",
            "--resamples", "20", "--out", str(out), "--workers", "1", "--no-progress",
            "--outputs", "applied", *TINY_SET]
    assert main(argv) == 0
    table = pd.read_csv(out / "report" / "sobol.csv")
    assert list(table["parameter"])[-1] == CHANCE
    sweep = load_sweep(out / "runs" / "sobol_assumptions")
    groups = len(table)
    assert sweep.n_runs == 4 * (groups + 2)
    seeds = sweep.results.sort_values("run_id")["seed"].to_numpy().reshape(4, groups + 2)
    # A and its AB rows share A's seed but the last AB (the seed's) and B share B's.
    assert all(len(set(block[:-2])) == 1 for block in seeds)
    assert all(block[-2] == block[-1] != block[0] for block in seeds)


def test_scenario_discovery_does_not_search_the_seed():
    """PRIM and CART look for conditions a designer can set: the seed is not one."""
    from hourglass.discovery import discover, parse_target
    from simulation.errors import HourglassError

    sweep = run_sweep(toy, SPACE, "sobol", 64, 1, seed_factor=True, executor="serial",
                      progress=False)
    found = discover(sweep, "y", parse_target(">=1.5"))
    assert found.factors == ["a", "b"]
    with pytest.raises(HourglassError, match="'chance' is not a factor of the sweep"):
        discover(sweep, "y", parse_target(">=1.5"), factors=[CHANCE])
