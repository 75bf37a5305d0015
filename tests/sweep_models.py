"""Toy models for the sweep/sensitivity tests (module level so they pickle)."""

from __future__ import annotations

import math
import os
import time

import numpy as np

A, B = 7.0, 0.1
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)
ISHIGAMI_VAR = A**2 / 8 + B * math.pi**4 / 5 + B**2 * math.pi**8 / 18 + 0.5


def ishigami(params: dict, seed: int) -> dict[str, float]:
    """Ishigami on x1..x3 in [-pi, pi]; deterministic (seed ignored)."""
    x1, x2, x3 = params["x1"], params["x2"], params["x3"]
    y = math.sin(x1) + A * math.sin(x2) ** 2 + B * x3**4 * math.sin(x1)
    return {"y": y}


NOISE_SD = 2.0


def noisy_ishigami(params: dict, seed: int) -> dict[str, float]:
    """Ishigami plus Gaussian noise (sd NOISE_SD) drawn from the run's seed."""
    noise = np.random.default_rng(seed).normal(0.0, NOISE_SD)
    return {"y": ishigami(params, seed)["y"] + float(noise)}


def linear(params: dict, seed: int) -> dict[str, float]:
    """y = 2a + b + 0*c + noise; c is inert. Also month-indexed outputs."""
    rng = np.random.default_rng(seed)
    a, b = params["a"], params["b"]
    out = {"y": 2.0 * a + b + 0.0 * params["c"] + float(rng.normal(0.0, 0.01))}
    for month in (12, 24):
        # a matters early, b matters late
        out[f"z@{month}"] = (a if month == 12 else 0.1 * a) + (0.1 * b if month == 12 else b)
    out["noise"] = float(rng.random())
    return out


def slow_linear(params: dict, seed: int) -> dict[str, float]:
    """`linear` with a delay (for the kill -9 resume test)."""
    time.sleep(float(os.environ.get("SWEEP_TEST_DELAY", "0.02")))
    return linear(params, seed)


def grouped(params: dict, seed: int) -> dict[str, float]:
    """Reads keys set by groups and categorical/bool/int factors."""
    rng = np.random.default_rng(seed)
    y = params["t.a"] + params["t.b"] + params["n"] + (1.0 if params["flag"] else 0.0)
    y += {"red": 0.0, "blue": 1.0}[params["colour"]]
    return {"y": y + float(rng.normal())}


def ishigami4(params: dict, seed: int) -> dict[str, float]:
    """Ishigami plus an inert fourth input x4."""
    return {"y": ishigami(params, seed)["y"] + 0.0 * params["x4"]}


def scaled_noise(params: dict, seed: int) -> dict[str, float]:
    """y = b + a * eps with eps ~ N(0, 1) from the seed; `same` does not depend on params."""
    eps = float(np.random.default_rng(seed).normal())
    return {"y": params.get("b", 0.0) + params.get("a", 1.0) * eps, "same": eps}


def logged_linear(params: dict, seed: int) -> dict[str, float]:
    """`slow_linear` that appends one line per finished run to $SWEEP_TEST_LOG (interrupt tests)."""
    out = slow_linear(params, seed)
    line = f"{seed} {params['a']!r} {params['b']!r} {params['c']!r}\n".encode()
    fd = os.open(os.environ["SWEEP_TEST_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return out
