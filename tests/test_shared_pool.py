"""A command's fan-outs share one pool of worker processes (issue 13: the default Sobol' analysis).

``hourglass sensitivity`` over parameter sets runs a Sobol' sweep and the sets' own runs; each
pool of spawned workers imports the model and loads its compiled code before its first run, so
a pool per sweep paid that start-up once per sweep.
"""

from __future__ import annotations

import concurrent.futures as cf

import pandas as pd
from test_sweep_cli import TINY_SET

from hourglass.cli import main


def test_sensitivity_over_parameter_sets_starts_its_workers_once(tmp_path, capsys, monkeypatch):
    pools = []

    class Counted(cf.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(kwargs.get("max_workers"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(cf, "ProcessPoolExecutor", Counted)
    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"reflection.base_rate": [0.0, 1.0]}).to_parquet(path)
    argv = ["sensitivity", "--posterior", str(path), "--samples", "4", "--replicates", "2",
            "--trajectories", "2", "--resamples", "20", "--out", str(tmp_path / "sa"),
            "--workers", "2", "--no-progress", "--outputs", "engaged", *TINY_SET]
    assert main(argv) == 0, capsys.readouterr().err
    # Sobol', Morris and the parameter sets' runs: three fan-outs, one pool
    assert pools == [2]
    for store in ("sobol", "morris", "ensemble"):
        assert (tmp_path / "sa" / "runs" / store / "manifest.json").is_file()
