"""The built wheel works on its own: installed in a fresh virtual environment outside the checkout.

Catches what an editable install hides: scenarios, sweep spaces and parameter tables that are not
package data, modules that find files by walking up from the source tree, and dependencies
missing from ``pyproject.toml``. The wheel is built from a copy of the tracked files (so the
checkout gains no ``build/``), installed with its dependencies from the package index into a
new environment, and used from a folder that is not the repository: ``hourglass run baseline``,
``hourglass scenarios`` and notebook 01 in quick mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", ".git", "results", "runs", "build", "dist", ".pytest_cache", ".ruff_cache"}

pytestmark = pytest.mark.slow

NOTEBOOK_RUNNER = """
import os, sys
import nbformat
from nbclient import NotebookClient
os.environ["HOURGLASS_QUICK"] = "1"
notebook = nbformat.read(sys.argv[1], 4)
NotebookClient(notebook, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": os.getcwd()}}).execute()
print("executed", len(notebook.cells), "cells")
"""


def _copy_sources(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False  # noqa: S607
    )
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            source = ROOT / name
            if name and source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
    else:
        shutil.copytree(ROOT, target, ignore=lambda _d, names: [n for n in names if n in SKIP],
                        dirs_exist_ok=True)


def _run(command: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
        env=environment,
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    sources, dist, venv, work = (tmp_path / n for n in ("src", "dist", "venv", "work"))
    for folder in (sources, dist, work):
        folder.mkdir()
    _copy_sources(sources)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
          str(sources)], cwd=tmp_path)
    wheel = next(dist.glob("hourglass-*.whl"))
    base_python = getattr(sys, "_base_executable", sys.executable)
    _run([base_python, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel), "nbclient", "nbformat",
          "ipykernel"], cwd=tmp_path, timeout=1800)

    where = _run([str(python), "-c", "import simulation, analysis, hourglass; "
                  "print(simulation.__file__, analysis.__file__, hourglass.__file__)"], cwd=work)
    for path in where.stdout.split():
        assert Path(path).is_relative_to(venv), f"imported from outside the new environment: {path}"

    listed = _run([str(venv / "bin" / "hourglass"), "scenarios"], cwd=work)
    assert "baseline" in listed.stdout
    assert len(listed.stdout.splitlines()) >= 18

    _run([str(venv / "bin" / "hourglass"), "run", "baseline", "--out", "out"], cwd=work)
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert 0.0 <= summary["orgs_changed"] <= 1.0
    assert (work / "out" / "hourglass.png").stat().st_size > 10_000

    # The default posterior is package data: found in the new environment with its record.
    shipped = _run([str(python), "-c", "from hourglass.calibration import shipped_posterior; "
                    "p = shipped_posterior(); print(p, (p.parent / 'calibration.json').is_file())"],
                   cwd=work)
    path, record = shipped.stdout.split()
    assert Path(path).is_relative_to(venv), path
    assert record == "True"

    notebook = ROOT / "notebooks" / "01_quick_start.ipynb"
    ran = _run([str(python), "-c", NOTEBOOK_RUNNER, str(notebook)], cwd=work)
    assert "executed" in ran.stdout
    assert not (ROOT / "build").exists(), "building the wheel wrote into the checkout"
