"""The model's random generator, handed to compiled loops without Numba's per-call cost.

A compiled loop that draws takes the model's ``numpy.random.Generator`` (so every draw comes
from the one generator, in order). Numba types a Generator argument in Python and unboxes it
through four ``ctypes.cast`` calls on every call: about 23 us a call with nothing else to do,
against 0.1 us for an array (measured; issue 13), and several loops a month take it.

:func:`handle` reads once what that unboxing reads every time (the bit generator's state and
its three next-value functions, as addresses) into a small uint64 array; inside a compiled loop
:func:`as_generator` turns the handle back into the Generator Numba would have built, without a
parent object to return to Python. Draws go through the same functions on the same state, so
they are the very draws the Generator itself makes, and it stays where they leave it. A loop
given the Generator itself works as before (``as_generator`` passes it through).

The handle holds addresses into the Generator's bit generator: it is valid while that lives
(keep the Generator; the model keeps both for the run).
"""

from __future__ import annotations

import ctypes

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

# The bit generator's fields Numba's Generator holds, in the order of the handle.
FIELDS = ("state_address", "state", "next_uint64", "next_uint32", "next_double")


# The handles made last, by the Generator's id; each entry holds its Generator, so an id is
# not reused while its entry is kept. A process runs a model or two at a time.
_HANDLES: dict[int, tuple[np.random.Generator, np.ndarray]] = {}
_HANDLES_KEPT = 8


def handle(rng: np.random.Generator) -> np.ndarray:
    """(5,) uint64: the addresses of ``rng``'s bit generator state and next-value functions.

    Read once per Generator (what Numba reads on every call) and remembered: a loop called
    every month is handed ``handle(rng)`` for a dictionary look-up.
    """
    kept = _HANDLES.get(id(rng))
    if kept is not None and kept[0] is rng:
        return kept[1]
    binding = rng.bit_generator.ctypes
    values = [binding.state_address, binding.state.value]
    for name in FIELDS[2:]:
        values.append(ctypes.cast(getattr(binding, name), ctypes.c_void_p).value)
    pointers = np.array(values, dtype=np.uint64)
    pointers.flags.writeable = False
    if len(_HANDLES) >= _HANDLES_KEPT:
        _HANDLES.pop(next(iter(_HANDLES)))
    _HANDLES[id(rng)] = (rng, pointers)
    return pointers


_BIT_GENERATOR = types.NumPyRandomBitGeneratorType("bit_generator")


@intrinsic
def _from_handle(typingctx, pointers):
    """The Generator struct Numba unboxes, filled from a handle (no parent object)."""
    if not (isinstance(pointers, types.Array) and pointers.dtype == types.uint64):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        bit = cgutils.create_struct_proxy(_BIT_GENERATOR)(context, builder)
        bit.parent = cgutils.get_null_value(bit.parent.type)
        word = context.get_value_type(types.uintp)
        for k, name in enumerate(FIELDS):
            value = builder.load(cgutils.gep(builder, array.data, k))
            setattr(bit, "fnptr_" + name if name.startswith("next") else name,
                    builder.zext(value, word) if value.type != word else value)
        bit.bit_generator = ir.Constant(word, 0)
        generator = cgutils.create_struct_proxy(signature.return_type)(context, builder)
        generator.bit_generator = bit._getvalue()
        generator.meminfo = cgutils.get_null_value(generator.meminfo.type)  # nothing to release
        generator.parent = cgutils.get_null_value(generator.parent.type)
        return generator._getvalue()

    return types.NumPyRandomGeneratorType("generator")(pointers), codegen


def as_generator(rng: object) -> np.random.Generator:
    """In compiled code: the Generator a :func:`handle` stands for (a Generator passes through)."""
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError("as_generator: a handle is read in compiled code only")


@overload(as_generator)
def _as_generator(rng):
    if isinstance(rng, types.NumPyRandomGeneratorType):
        return lambda rng: rng
    if isinstance(rng, types.Array) and rng.dtype == types.uint64 and rng.ndim == 1:

        def from_handle(rng):
            return _from_handle(rng)

        return from_handle
    return None
