"""Numerics the expression language's functions need and numpy lacks, shared with the
reference kernels (`t10ir.interp.kernels`), so that `.call(`erf`)` and `top.erf`
compute the same numbers."""

from __future__ import annotations

import numpy as np

_ERF_CLAMP = 6.0  # |erf(x)| rounds to 1 in float64 beyond this


def erf(x: np.ndarray) -> np.ndarray:
    """erf to float64 precision, vectorized (numpy has none, scipy is not a dependency).

    Uses the all-positive series erf(x) = 2/sqrt(pi) exp(-x^2) sum 2^n x^(2n+1) / (2n+1)!!,
    which has no cancellation, on |x| clamped to 6; the terms are summed until negligible.
    """
    wide = np.asarray(x, dtype=np.float64)
    a = np.minimum(np.abs(wide), _ERF_CLAMP)
    a2 = a * a
    term = a.copy()
    total = a.copy()
    n = 0
    while np.any(term > 1e-17 * total):
        n += 1
        term = term * (2.0 * a2) / (2 * n + 1)
        total += term
    result = np.minimum(2.0 / np.sqrt(np.pi) * np.exp(-a2) * total, 1.0)
    return (np.sign(wide) * result).astype(np.asarray(x).dtype)
