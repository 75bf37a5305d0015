"""Every notebook runs top to bottom in quick mode, and the committed .ipynb match their sources.

Notebooks are executed by ``notebooks/build.py`` in a child process (a fresh Jupyter kernel each),
into a temporary directory: the committed notebooks are not touched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "notebooks" / "build.py"
SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))

pytestmark = pytest.mark.slow


def test_there_are_notebooks():
    assert [p.stem[:2] for p in SOURCES] == ["01", "02", "03", "04", "05", "06"]


def test_committed_notebooks_match_their_sources():
    done = subprocess.run(
        [sys.executable, str(BUILD), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs_in_quick_mode(source, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(BUILD),
            "--execute",
            "--quick",
            "--only",
            source.stem,
            "--out",
            str(tmp_path),
            "--timeout",
            "300",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, f"{source.name} failed in quick mode:\n{done.stderr[-4000:]}"
    assert (tmp_path / f"{source.stem}.ipynb").exists()
