"""Numba kernel of the affine batch-latency model latency(b) = beta + alpha*b.

Raw arrays in, a status out: the kernel never raises for user input; the Python layer
(j3o_fast.batching) validates and turns a bad status into InvalidInputError.
"""

from __future__ import annotations

import numpy as np
from numba import float64, int64, njit

from ._numba_cache import CACHE

# Signature fixed once so the kernel is compiled for exactly these dtypes (and cached).
_SIG = int64(float64[::1], float64[::1], int64[::1], int64[::1], int64[::1], float64[::1])


@njit(_SIG, cache=CACHE, nogil=True)
def affine_latency(beta, alpha, cap, model, b, out):
    """out[i] = beta[model[i]] + alpha[model[i]] * b[i].

    beta, alpha, cap: (M,) per model, cap[m] <= 0 meaning no cap; model, b, out: (n,).
    Returns -1 when every b[i] is in [1, cap[model[i]]] and model[i] in [0, M); else the
    first offending i (out is filled up to, not including, i).
    """
    M = beta.shape[0]
    for i in range(b.shape[0]):
        m = model[i]
        if m < 0 or m >= M:
            return i
        bi = b[i]
        if bi < 1 or (cap[m] > 0 and bi > cap[m]):
            return i
        out[i] = beta[m] + alpha[m] * np.float64(bi)
    return -1
