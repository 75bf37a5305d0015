"""Sobol' intervals too wide to read are said, with the N that would do (issue 12 §2)."""

import math

import numpy as np
import pandas as pd
from test_sweep_cli import TINY_SET

from analysis.sensitivity import interval_note, sobol
from analysis.sweep import run_sweep
from hourglass.cli import main


def table(st, st_conf, s1=None, s1_conf=None):
    n = len(st)
    return pd.DataFrame({"S1": s1 or [0.0] * n, "S1_conf": s1_conf or [0.0] * n,
                         "ST": st, "ST_conf": st_conf},
                        index=pd.Index([f"x{i}" for i in range(n)], name="parameter"))


def test_narrow_intervals_need_no_note():
    assert interval_note(table([0.6, 0.3, 0.01], [0.05, 0.04, 0.01]), 1024) is None


def test_constant_output_is_said_to_have_no_indices():
    assert interval_note(table([np.nan, np.nan], [np.nan, np.nan], [np.nan] * 2, [np.nan] * 2),
                         8) == "constant in every run: no indices"


def _constants(params, seed):
    return {"zero": 0.0, "one": 1.0, "huge": 1e308, "infinite": np.inf, "varies": params["a"]}


def test_sobol_of_a_constant_output_is_nan_without_a_warning():
    # pytest runs with -W error: a RuntimeWarning (inf - inf) would fail the test
    sweep = run_sweep(_constants, {"a": (0.0, 1.0), "b": (0.0, 1.0)}, "sobol", 8, 1, seed=3,
                      executor="serial", progress=False)
    for output in ("zero", "one", "huge", "infinite"):
        indices = sobol(sweep, output, num_resamples=20)
        assert indices.isna().all().all(), output
        assert interval_note(indices, 8) == "constant in every run: no indices"
    assert sobol(sweep, "varies", num_resamples=20)["ST"].notna().all()


def test_wide_intervals_say_how_many_samples_would_do():
    note = interval_note(table([0.5, 0.2], [2.0, 0.3]), 16)
    assert note is not None
    assert "N=16 is too small" in note
    # widest 2.0 against a target of 0.25: 16 * 64 = 1,024
    assert "about N=1,024" in note
    assert "\n" not in note


def test_total_index_above_one_is_named():
    note = interval_note(table([1.4, 0.1], [0.3, 0.1]), 64)
    assert note is not None
    assert "1 total indices above 1" in note
    needed = int(note.split("about N=")[1].split()[0].replace(",", ""))
    assert needed > 64
    assert math.log2(needed).is_integer()


def test_sensitivity_at_small_n_prints_the_note(tmp_path, capsys):
    out = tmp_path / "sa"
    argv = ["sensitivity", "--samples", "4", "--replicates", "1", "--trajectories", "0",
            "--resamples", "20", "--out", str(out), "--workers", "1", "--no-progress",
            "--outputs", "engaged", "applied", "--point-defaults", *TINY_SET]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "note: applied: N=4 is too small to read these indices" in printed
    # engaged is the same in every run of this tiny population: its indices are all NaN
    assert "note: engaged: constant in every run: no indices" in printed
    readme = (out / "report" / "README.md").read_text()
    assert "note: applied: N=4" in readme
    assert "- note: engaged: constant in every run: no indices" in readme
