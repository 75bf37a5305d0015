"""Writing results so that a directory that exists is a complete result."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analysis.errors import AnalysisError

COMPLETE_MARKER = "summary.json"


@contextmanager
def staged_directory(out: Path | str, marker: str = COMPLETE_MARKER) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; move it to ``out`` only if the block succeeds.

    A failure or interruption leaves no directory at ``out`` (nor a half-written one). An
    existing ``out`` is replaced only if it holds ``marker``, i.e. it is an earlier result of the
    same kind; anything else there is refused rather than deleted.

    Raises:
        AnalysisError: If ``out`` exists and is not an earlier result.
    """
    out = Path(out)
    if out.exists() and not (out / marker).exists() and (not out.is_dir() or any(out.iterdir())):
        raise AnalysisError(
            f"--out {out}: exists and is not an hourglass result; choose another directory"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    staging.replace(out)
