"""Mesa's ``Model`` and ``Agent``, imported without the rest of the Mesa package.

``import mesa`` runs ``mesa/__init__.py``, which imports every part of Mesa: the grids and their
SciPy spatial index, networks through NetworkX, the batch runner with tqdm's asyncio front-end.
The model uses none of them, and they cost a cold process about 0.15-0.3 s (measured with
``python -X importtime``; issue 13). A submodule can be imported without running its package's
``__init__`` when the package is first registered as a module holding only the package's search
path, which :func:`_register` does. The first time anything reads a name that module lacks
(``mesa.DataCollector``, ``from mesa import batch_run``, ``mesa.__version__``), Mesa's own
``__init__`` runs in it, so any other user of Mesa sees the whole package as before. When Mesa
was imported already, this module only imports the two classes from it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

PACKAGE = "mesa"


def _register() -> None:
    """Put a module with Mesa's search path, and nothing else yet, in ``sys.modules``."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # not an ordinary package: import it the ordinary way
    package = importlib.util.module_from_spec(spec)

    def complete(name: str) -> Any:
        # A name the module lacks: run Mesa's __init__ in it (once: this hook goes first), then
        # look again, as if the package had been imported whole.
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = complete
    sys.modules[PACKAGE] = package


def _import(name: str) -> types.ModuleType:
    if PACKAGE not in sys.modules:
        _register()
    return importlib.import_module(name)


Agent = _import("mesa.agent").Agent
Model = _import("mesa.model").Model

__all__ = ["Agent", "Model"]
