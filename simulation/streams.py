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

For NumPy's PCG64 the handle also holds the address of the 128-bit state, so a compiled loop
can move the generator ahead by any number of draws in O(log n) steps (:func:`jump`), as
``PCG64.advance`` does from Python at about 3 us a call.
"""

from __future__ import annotations

import ctypes

import numpy as np
from llvmlite import ir
from numba import carray
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

from simulation.compiled import kernel

# The bit generator's fields Numba's Generator holds, in the order of the handle.
FIELDS = ("state_address", "state", "next_uint64", "next_uint32", "next_double")
JUMP = len(FIELDS)
"""Where the handle holds the address of a PCG64's state and increment (0: no jumping)."""
# PCG_DEFAULT_MULTIPLIER_128 of NumPy's PCG64 (numpy/random/src/pcg64/pcg64.h), high and low.
_MULTIPLIER = (np.uint64(2549297995355413924), np.uint64(4865540595714422341))


# The handles made last, by the Generator's id; each entry holds its Generator, so an id is
# not reused while its entry is kept. A process runs a model or two at a time.
_HANDLES: dict[int, tuple[np.random.Generator, np.ndarray]] = {}
_HANDLES_KEPT = 8


def handle(rng: np.random.Generator) -> np.ndarray:
    """(6,) uint64: the addresses of ``rng``'s bit generator state and functions, and of its words.

    The state and next-value functions, then the 128-bit state words for :func:`jump` (0
    unless NumPy's PCG64, laid out as read).

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
    values.append(_pcg64_words(rng.bit_generator))
    pointers = np.array(values, dtype=np.uint64)
    pointers.flags.writeable = False
    if len(_HANDLES) >= _HANDLES_KEPT:
        _HANDLES.pop(next(iter(_HANDLES)))
    _HANDLES[id(rng)] = (rng, pointers)
    return pointers


def _pcg64_words(bit: np.random.BitGenerator) -> int:
    """The address of a PCG64's state and increment, as four 64-bit words, low word first.

    Checked against the state NumPy reports: a build whose 128-bit numbers are laid out
    otherwise (emulated 128-bit arithmetic stores the high word first) gets 0, no jumping.
    """
    if type(bit) is not np.random.PCG64:
        return 0
    address = ctypes.cast(bit.ctypes.state_address, ctypes.POINTER(ctypes.c_uint64))[0]
    words = ctypes.cast(address, ctypes.POINTER(ctypes.c_uint64))
    state = bit.state["state"]
    read = (words[1] << 64 | words[0], words[3] << 64 | words[2])
    return address if read == (state["state"], state["inc"]) else 0


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


@intrinsic
def _words(typingctx, address):
    """The uint64 words at ``address`` (a whole number), as a pointer."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.CPointer(types.uint64)))

    return types.CPointer(types.uint64)(address), codegen


@kernel
def _product(a: np.uint64, b: np.uint64) -> tuple:  # pragma: no cover - compiled
    """The 128-bit product of two 64-bit words, as (high, low)."""
    mask, half = np.uint64(0xFFFFFFFF), np.uint64(32)
    a_low, a_high, b_low, b_high = a & mask, a >> half, b & mask, b >> half
    p0, p1, p2 = a_low * b_low, a_low * b_high, a_high * b_low
    middle = (p0 >> half) + (p1 & mask) + (p2 & mask)
    return a_high * b_high + (p1 >> half) + (p2 >> half) + (middle >> half), (
        (p0 & mask) | (middle << half))


@kernel
def _times(a: tuple, b: tuple) -> tuple:  # pragma: no cover - compiled
    """The product a x b modulo 2^128, each (high, low)."""
    high, low = _product(a[1], b[1])
    return high + a[1] * b[0] + a[0] * b[1], low


@kernel
def _plus(a: tuple, b: tuple) -> tuple:  # pragma: no cover - compiled
    """The sum a + b modulo 2^128, each (high, low)."""
    low = a[1] + b[1]
    return a[0] + b[0] + np.uint64(low < a[1]), low


@kernel
def jump(rng: np.ndarray, delta: int) -> None:  # pragma: no cover - compiled; tests/test_streams.py
    """Move a PCG64 :func:`handle`'s generator ``delta`` >= 0 draws ahead, in compiled code.

    The state's linear congruential step applied ``delta`` times in O(log delta) steps (Brown
    1994, "Random number generation with arbitrary strides", as PCG's ``pcg_advance_lcg_128``
    that ``PCG64.advance`` calls). Unlike ``advance`` it keeps the buffered 32-bit half-word,
    as drawing the values would. Only where ``rng[JUMP]`` is not 0.
    """
    words = carray(_words(rng[JUMP]), 4)
    one = np.uint64(1)
    multiplier, increment = _MULTIPLIER, (words[3], words[2])
    total, added = (np.uint64(0), one), (np.uint64(0), np.uint64(0))
    steps = np.uint64(delta)
    while steps > 0:
        if steps & one:
            total = _times(total, multiplier)
            added = _plus(_times(added, multiplier), increment)
        increment = _times(_plus(multiplier, (np.uint64(0), one)), increment)
        multiplier = _times(multiplier, multiplier)
        steps >>= one
    state = _plus(_times(total, (words[1], words[0])), added)
    words[1], words[0] = state
