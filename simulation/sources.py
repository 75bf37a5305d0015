"""The stamp of the model's sources, the second key of every compiled kernel's cache.

Apart from :mod:`simulation.compiled` so that a command can judge the cache without importing
Numba (``hourglass.commands.common.kernels_cached``).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def sources_stamp(root: Path = ROOT) -> tuple[float, int, int]:
    """The latest modification time, the total size and the number of Python files under root.

    Compiled caches (``__pycache__``) are not walked.
    """
    latest, size, count = 0.0, 0, 0
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                stat = Path(folder, name).stat()
                latest, size, count = max(latest, stat.st_mtime), size + stat.st_size, count + 1
    return latest, size, count
