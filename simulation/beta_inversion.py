"""SciPy's inverse of the regularised incomplete beta function, callable from compiled code.

Personal traits are beta draws by inversion of one uniform each (``population.personal_traits``).
Numba cannot call SciPy's ufunc ``special.betaincinv``, so successors' traits were inverted from
Python between two compiled calls of a month's turnover (issue 13). SciPy exports the same C
function to Cython (``scipy.special.cython_special``, ``betaincinv`` on doubles): its address is
registered with LLVM under a name of this module's, and compiled code calls the function by that
name. Numba's cache then keeps only the name, which each process binds again on importing this
module (a ctypes pointer would be baked into the code, and a cached function cannot hold one).
The same C function gives the ufunc's values bit for bit (tests/test_beta_inversion.py).
"""

from __future__ import annotations

import llvmlite.binding
import numpy as np
import scipy.special.cython_special  # noqa: F401 - loads the module whose function is bound
from numba import types
from numba.extending import get_cython_function_address

from simulation.compiled import kernel

_SYMBOL = "hourglass_scipy_betaincinv"
llvmlite.binding.add_symbol(
    _SYMBOL,
    get_cython_function_address("scipy.special.cython_special", "__pyx_fuse_0betaincinv"),
)
# double betaincinv(double a, double b, double y, int skip_dispatch): the Cython function's C
# signature; the last argument only matters to Python subclasses (0: a plain call).
betaincinv = types.ExternalFunction(
    _SYMBOL, types.float64(types.float64, types.float64, types.float64, types.intc)
)


@kernel
def beta_traits(
    means: np.ndarray, concentration: float, uniform: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tests/test_beta_inversion.py
    """(k, n) traits: row t a beta of mean ``means[t]`` and ``concentration``, by inversion.

    Each value inverts its uniform (``uniform``, (k, n)) as
    ``special.betaincinv(m * c, (1 - m) * c, u)``; a mean of 1 or more gives exactly 1, any
    other outside (0, 1) exactly 0.
    """
    traits = np.empty(uniform.shape)
    for t in range(uniform.shape[0]):
        m = means[t]
        for i in range(uniform.shape[1]):
            if 0.0 < m < 1.0:
                traits[t, i] = betaincinv(
                    m * concentration, (1.0 - m) * concentration, uniform[t, i], 0
                )
            else:
                traits[t, i] = 1.0 if m >= 1.0 else 0.0
    return traits
