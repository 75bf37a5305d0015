"""A generator handle in compiled code draws exactly what the Generator itself draws."""

import numpy as np
import pytest
from numba import njit

from simulation.streams import JUMP, as_generator, handle, jump


@njit(cache=True)
def _draws(rng, n):
    g = as_generator(rng)
    uniform = np.empty(n)
    for i in range(n):
        uniform[i] = g.random()
    return (uniform, g.random(n), g.integers(0, 7, n), g.normal(0.5, 2.0, n),
            g.standard_normal(n), g.beta(2.0, 3.0), g.uniform(1.0, 4.0), g.permutation(n))


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.MT19937, np.random.Philox])
def test_a_handle_draws_what_the_generator_draws(bit_generator):
    passed = np.random.Generator(bit_generator(11))
    handled = np.random.Generator(bit_generator(11))
    pointers = handle(handled)
    for n in (1, 5, 40):
        for a, b in zip(_draws(passed, n), _draws(pointers, n), strict=True):
            np.testing.assert_array_equal(a, b)
    # both generators are left where the draws leave them
    np.testing.assert_array_equal(passed.integers(0, 2**62, 20), handled.integers(0, 2**62, 20))


def test_a_generator_still_passes_through():
    assert as_generator(np.random.default_rng(1)).random() == np.random.default_rng(1).random()


def test_a_handle_is_read_in_compiled_code_only():
    with pytest.raises(TypeError, match="compiled code only"):
        as_generator(handle(np.random.default_rng(1)))


def test_a_handle_is_made_once_per_generator_and_kept_for_a_few():
    first, second = np.random.default_rng(1), np.random.default_rng(1)
    assert handle(first) is handle(first)
    assert handle(second) is not handle(first)
    for _ in range(20):  # older generators make way; a handle is made again, the same
        handle(np.random.default_rng(2))
    np.testing.assert_array_equal(handle(first), handle(first))


@njit(cache=True)
def _jump(rng, delta):
    jump(rng, delta)


@pytest.mark.parametrize("seed", range(6))
def test_a_jump_is_numpys_advance_keeping_the_buffered_half_word(seed):
    """``jump`` moves a PCG64 as ``PCG64.advance`` does, over deltas up to 2^62, but keeps the
    buffered 32-bit half-word (as drawing the values would; ``advance`` clears it)."""
    picks = np.random.default_rng(100 + seed)
    advanced, jumped = np.random.default_rng(seed), np.random.default_rng(seed)
    advanced.integers(0, 7)  # leaves a buffered half-word
    jumped.integers(0, 7)
    for delta in (0, 1, 2, 3, 1600, *picks.integers(0, 2**62, 4).tolist()):
        kept = advanced.bit_generator.state
        advanced.bit_generator.advance(delta)
        state = advanced.bit_generator.state
        state["has_uint32"], state["uinteger"] = kept["has_uint32"], kept["uinteger"]
        advanced.bit_generator.state = state
        _jump(handle(jumped), delta)
        assert jumped.bit_generator.state == advanced.bit_generator.state
        assert jumped.random() == advanced.random()


def test_a_jump_is_where_the_draws_would_leave_the_generator():
    drawn, jumped = np.random.default_rng(3), np.random.default_rng(3)
    drawn.random(1234)
    _jump(handle(jumped), 1234)
    assert jumped.random(5).tolist() == drawn.random(5).tolist()


@pytest.mark.parametrize(
    "bit_generator", [np.random.MT19937, np.random.Philox, np.random.PCG64DXSM]
)
def test_only_numpys_pcg64_gets_a_jump_address(bit_generator):
    assert handle(np.random.Generator(bit_generator(1)))[JUMP] == 0
    assert handle(np.random.default_rng(1))[JUMP] != 0
