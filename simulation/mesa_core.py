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
# Packages whose __init__ imports what the model does not use: Mesa's, and its experimental
# package's (continuous space, through SciPy's spatial module; event scheduling; meta-agents),
# which Model's data registry and signals live in.
PACKAGES = (PACKAGE, "mesa.experimental")


def _register(name: str) -> None:
    """Put a module holding only package ``name``'s search path in ``sys.modules``."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # not an ordinary package: imported the ordinary way
    package = importlib.util.module_from_spec(spec)

    def complete(attribute: str) -> Any:
        # A name the module lacks: run the package's __init__ in it (once: this hook goes
        # first), then look again, as if the package had been imported whole.
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, attribute)

    package.__getattr__ = complete
    sys.modules[name] = package


def _import(name: str) -> types.ModuleType:
    if PACKAGE not in sys.modules:
        for package in PACKAGES:
            _register(package)
    return importlib.import_module(name)


Agent = _import("mesa.agent").Agent
Model = _import("mesa.model").Model

__all__ = ["Agent", "Model"]
