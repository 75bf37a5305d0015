"""Build the notebooks from their sources, and execute them.

Each notebook is written as a plain Python file in ``notebooks/src/`` with ``# %%`` cell markers
(``# %% [markdown]`` for text, ``# %% [parameters]`` for the parameter cell), so it reads and
diffs like code. This script turns them into ``notebooks/NN_name.ipynb``:

    python notebooks/build.py             # write the .ipynb files, without outputs
    python notebooks/build.py --execute   # ... run in full, saving outputs (make notebooks)
    python notebooks/build.py --execute --quick --out /tmp/nb   # quick mode, elsewhere (tests)
    python notebooks/build.py --check     # exit 1 if a committed .ipynb differs from its source

Quick mode sets ``HOURGLASS_QUICK=1`` for the kernel; each notebook's parameter cell reads it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
MARKER = "# %%"


def sources(only: list[str] | None = None) -> list[Path]:
    """The notebook sources, in order (optionally only those whose name contains a word)."""
    found = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    if only:
        found = [p for p in found if any(word in p.stem for word in only)]
    return found


def convert(path: Path) -> nbformat.NotebookNode:
    """Turn a ``# %%`` source into a notebook without outputs."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    chunks: list[tuple[str, list[str]]] = []
    for line in path.read_text().splitlines():
        if line.startswith(MARKER):
            chunks.append((line[len(MARKER) :].strip(), []))
        elif chunks:
            chunks[-1][1].append(line)
    for n, (kind, lines) in enumerate(chunks):
        while lines and not lines[-1].strip():
            lines.pop()
        if kind == "[markdown]":
            text = "\n".join(line.removeprefix("# ").removeprefix("#") for line in lines)
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines))
            if kind == "[parameters]":
                cell.metadata["tags"] = ["parameters"]
        cell.id = f"{path.stem[:2]}-{n:02d}"
        notebook.cells.append(cell)
    return notebook


def execute(notebook: nbformat.NotebookNode, cwd: Path, quick: bool, timeout: int) -> None:
    """Run every cell in a fresh kernel started in ``cwd``, in quick mode or in full."""
    previous = os.environ.get("HOURGLASS_QUICK")
    os.environ["HOURGLASS_QUICK"] = "1" if quick else "0"
    try:
        NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": cwd}}
        ).execute()
    finally:
        if previous is None:
            os.environ.pop("HOURGLASS_QUICK", None)
        else:
            os.environ["HOURGLASS_QUICK"] = previous


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def main(argv: list[str] | None = None) -> int:
    """Build, check or execute the notebooks; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--execute", action="store_true", help="run them and save outputs")
    parser.add_argument("--quick", action="store_true", help="quick mode (HOURGLASS_QUICK=1)")
    parser.add_argument("--check", action="store_true", help="check .ipynb files are up to date")
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write to")
    parser.add_argument("--only", nargs="*", help="only notebooks whose name contains a word")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    stale = []
    for path in sources(args.only):
        notebook = convert(path)
        target = args.out / f"{path.stem}.ipynb"
        if args.check:
            if not target.exists() or _cells(nbformat.read(target, 4)) != _cells(notebook):
                stale.append(target.name)
            continue
        if args.execute:
            started = time.perf_counter()
            execute(notebook, HERE, args.quick, args.timeout)
            mode = "quick" if args.quick else "full"
            print(f"{path.stem}: executed ({mode}) in {time.perf_counter() - started:.0f} s")
        args.out.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        print(f"wrote {target}")
    if stale:
        print(f"out of date with notebooks/src: {', '.join(stale)}; run python notebooks/build.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
