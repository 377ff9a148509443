"""Affine batch latency of an edge GPU: latency(b) = beta + alpha*b for batches of b <= cap items.

The one batch-latency model of both domains: the co-inference model of docs/coinference.rst
(te[n](b) = beta[n] + alpha[n]*b per sub-task, one cap ``max_batch``) and the placement model of
docs/placement.rst (tau0[m] + tau1[m]*b per model on the reference GPU, a cap per model). Both
domains' generators describe their edge GPU as ``AffineBatchLatency`` models and turn them into
instance arrays here: ``coinference.profiles`` with ``to_coinference_edge``, the placement
families with ``to_placement_tau``; measured (batch size, latency) tables enter the same way
through ``fit_affine`` (non-negative least squares with a reported fit quality).

Examples
--------
>>> lat = AffineBatchLatency(beta_s=0.004, alpha_s=0.0005, max_batch=32)
>>> lat(8)
0.008
>>> fit = fit_affine([1, 2, 4, 8, 16], [0.0045, 0.005, 0.006, 0.008, 0.012])
>>> round(fit.model.beta_s, 6), round(fit.model.alpha_s, 6), fit.model.max_batch, fit.r2 > 0.999
(0.004, 0.0005, 16, True)
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._validate import is_finite, one_or_many
from .errors import InvalidInputError

#: What ``fit_affine`` does with a fit below the quality thresholds.
ON_BAD_FIT = ("raise", "warn", "ignore")


class BadFitWarning(UserWarning):
    """An affine fit of measured batch latencies is below the requested quality."""


def _batch_sizes(b, path: str) -> np.ndarray:
    """Batch sizes as a C-contiguous int64 array (any shape); floats must be whole numbers."""
    arr = np.asarray(b)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidInputError(path, f"must be whole batch sizes, got {b!r}")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            where = path + "".join(f"[{i}]" for i in idx)
            raise InvalidInputError(where, f"must be a whole batch size, got {arr[idx]}")
    return np.array(arr, dtype=np.int64, order="C")  # keeps 0-d (ascontiguousarray would not)


@dataclass(frozen=True)
class AffineBatchLatency:
    """One batch of b items takes ``beta_s + alpha_s*b`` seconds, for 1 <= b <= ``max_batch``.

    beta_s >= 0 is the fixed cost per batch (kernel launch, weight reads), alpha_s >= 0 the cost
    per item; ``max_batch`` None means no cap. Calling the model evaluates it, vectorised:
    ``lat(np.arange(1, 9))`` is an (8,) array of seconds; a size outside [1, max_batch] raises
    InvalidInputError naming the entry.
    """

    beta_s: float
    alpha_s: float
    max_batch: int | None = None

    def __post_init__(self):
        for key in ("beta_s", "alpha_s"):
            x = getattr(self, key)
            if isinstance(x, bool) or not isinstance(x, numbers.Real) or not is_finite(x):
                raise InvalidInputError(key, f"must be a finite number, got {x!r}")
            if x < 0:
                raise InvalidInputError(key, f"must be >= 0, got {x!r}")
            object.__setattr__(self, key, float(x))
        if self.beta_s + self.alpha_s <= 0:
            raise InvalidInputError("beta_s", "beta_s + alpha_s must be > 0 (a batch takes time), got 0")
        cap = self.max_batch
        if cap is not None:
            if isinstance(cap, bool) or not isinstance(cap, numbers.Integral) or cap < 1:
                raise InvalidInputError("max_batch", f"must be an integer >= 1 or None, got {cap!r}")
            object.__setattr__(self, "max_batch", int(cap))

    def __call__(self, b):
        """latency(b) = beta + alpha*b, seconds; a float for a scalar b, else an array of b's shape."""
        bb = _batch_sizes(b, "b")
        cap = np.array([0 if self.max_batch is None else self.max_batch], dtype=np.int64)
        flat = bb.ravel()
        out = np.empty(flat.shape[0])
        from ._nb_batching import affine_latency   # Numba loads on the first latency, not at import

        bad = affine_latency(np.array([self.beta_s]), np.array([self.alpha_s]), cap,
                             np.zeros(flat.shape[0], dtype=np.int64), flat, out)
        if bad >= 0:
            idx = np.unravel_index(bad, bb.shape) if bb.ndim else ()
            where = "b" + "".join(f"[{int(i)}]" for i in idx)
            limit = "" if self.max_batch is None else f" and <= max_batch = {self.max_batch}"
            raise InvalidInputError(where, f"batch size must be >= 1{limit}, got {int(flat[bad])}")
        return float(out[0]) if bb.ndim == 0 else out.reshape(bb.shape)

    def per_item_s(self, b):
        """Latency per item, (beta + alpha*b)/b seconds: what batching saves."""
        return self(b) / _batch_sizes(b, "b")


def batch_latencies(models: Sequence[AffineBatchLatency], model, b) -> np.ndarray:
    """latency of model[i] for a batch of b[i]: beta[model[i]] + alpha[model[i]]*b[i], shape (n,)."""
    models = list(models)
    for i, m in enumerate(models):
        if not isinstance(m, AffineBatchLatency):
            raise InvalidInputError(f"models[{i}]", f"must be an AffineBatchLatency, got {m!r}")
    beta = np.array([m.beta_s for m in models], dtype=np.float64)
    alpha = np.array([m.alpha_s for m in models], dtype=np.float64)
    cap = np.array([0 if m.max_batch is None else m.max_batch for m in models], dtype=np.int64)
    idx = _batch_sizes(model, "model").ravel()
    bb = _batch_sizes(b, "b").ravel()
    if idx.shape != bb.shape:
        raise InvalidInputError("model", f"must have the shape of b {bb.shape}, got {idx.shape}")
    out = np.empty(bb.shape[0])
    from ._nb_batching import affine_latency   # Numba loads on the first latency, not at import

    bad = affine_latency(beta, alpha, cap, idx, bb, out)
    if bad >= 0:
        m = int(idx[bad])
        if not 0 <= m < len(models):
            raise InvalidInputError(f"model[{bad}]", f"must be a model index in [0, {len(models) - 1}], got {m}")
        limit = "" if cap[m] <= 0 else f" and <= max_batch = {cap[m]} of model {m}"
        raise InvalidInputError(f"b[{bad}]", f"batch size must be >= 1{limit}, got {int(bb[bad])}")
    return out


@dataclass(frozen=True, eq=False)
class AffineFit:
    """A fitted model and how well it fits: R^2 and the largest |fit - measured| / measured."""

    model: AffineBatchLatency
    r2: float
    max_rel_residual: float
    residuals_s: np.ndarray
    n_points: int


def fit_affine(batch_sizes, latencies, *, max_batch: int | None = None, min_r2: float = 0.98,
               max_rel_residual: float = 0.10, on_bad_fit: str = "raise") -> AffineFit:
    """Fit latency(b) = beta + alpha*b to measured (batch size, latency) pairs.

    Minimises sum_i (beta + alpha*b_i - y_i)^2 subject to beta, alpha >= 0 (non-negative least
    squares: a slightly negative unconstrained slope from noisy constant-latency data becomes
    alpha = 0). Needs at least two distinct batch sizes; latencies in seconds, > 0.
    Quality: R^2 = 1 - SS_res/SS_tot (1 when the data are exactly affine) and the largest
    relative residual |fit_i - y_i| / y_i. Above ``max_rel_residual``, or below ``min_r2`` while
    the latencies spread by more than ``max_rel_residual`` of their mean, the fit is poor and ``on_bad_fit`` says what happens: "raise" (InvalidInputError), "warn"
    (BadFitWarning) or "ignore". ``max_batch`` is the cap of the returned model; None caps at
    the largest measured batch size, as the fit says nothing beyond the measured range.
    """
    if on_bad_fit not in ON_BAD_FIT:
        raise InvalidInputError("on_bad_fit", f"must be one of {', '.join(ON_BAD_FIT)}, got {on_bad_fit!r}")
    b = _batch_sizes(batch_sizes, "batch_sizes")
    if b.ndim != 1:
        raise InvalidInputError("batch_sizes", f"must be a 1-D array, got shape {b.shape}")
    try:
        y = np.asarray(latencies, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError("latencies", f"must be numeric, got {latencies!r}") from None
    if y.shape != b.shape:
        raise InvalidInputError("latencies", f"must have the shape of batch_sizes {b.shape}, got {y.shape}")
    for arr, path, rule, ok in ((b, "batch_sizes", "must be >= 1", b >= 1),
                                (y, "latencies", "must be finite and > 0", np.isfinite(y) & (y > 0))):
        if not ok.all():
            i = int(np.argmin(ok))
            raise InvalidInputError(f"{path}[{i}]", f"{rule}, got {arr[i]}")
    if np.unique(b).shape[0] < 2:
        raise InvalidInputError("batch_sizes", f"needs at least two distinct batch sizes, got {sorted(set(b.tolist()))}")
    for key, x in (("min_r2", min_r2), ("max_rel_residual", max_rel_residual)):
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or math.isnan(x):
            raise InvalidInputError(key, f"must be a number, got {x!r}")

    beta, alpha = _nnls_affine(b.astype(np.float64), y)
    fitted = beta + alpha * b
    resid = fitted - y
    ss_res = float(resid @ resid)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    # Constant data fitted exactly has SS_tot = 0; it is a perfect fit, not an undefined one.
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res <= 1e-30 * max(1.0, float(y @ y)) else 0.0)
    rel = float(np.max(np.abs(resid) / y))
    cap = int(b.max()) if max_batch is None else max_batch
    model = AffineBatchLatency(beta_s=beta, alpha_s=alpha, max_batch=cap)
    # R^2 only means something when the latencies vary beyond the residual tolerance; data that
    # are constant within noise leave nothing to explain and would score R^2 ~ 0 however good.
    spread = float((y.max() - y.min()) / y.mean())
    if rel > max_rel_residual or (r2 < min_r2 and spread > max_rel_residual):
        msg = (f"affine fit is poor: R^2 = {r2:.4f} (min {min_r2:g}), max relative residual "
               f"{rel:.1%} (max {max_rel_residual:.1%}); beta = {beta:.6g} s, alpha = {alpha:.6g} s")
        if on_bad_fit == "raise":
            raise InvalidInputError("latencies", msg)
        if on_bad_fit == "warn":
            warnings.warn(msg, BadFitWarning, stacklevel=2)
    resid.setflags(write=False)
    return AffineFit(model=model, r2=float(r2), max_rel_residual=rel, residuals_s=resid, n_points=int(b.shape[0]))


def _nnls_affine(b: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """argmin over beta, alpha >= 0 of ||beta + alpha*b - y||^2 (two variables: check the faces)."""
    A = np.column_stack([np.ones_like(b), b])
    (beta, alpha), *_ = np.linalg.lstsq(A, y, rcond=None)
    if beta >= 0 and alpha >= 0:
        return float(beta), float(alpha)
    # The objective is convex, so the constrained optimum lies on a face: alpha = 0 or beta = 0.
    candidates = [(float(y.mean()), 0.0), (0.0, float(max(b @ y / (b @ b), 0.0)))]
    cost = [float(((bt + al * b - y) ** 2).sum()) for bt, al in candidates]
    return candidates[int(np.argmin(cost))]


def _models(models) -> list:
    """A list of AffineBatchLatency from models or fits (one, or a sequence), each checked."""
    items = one_or_many(models, (AffineBatchLatency, AffineFit), "models", "an AffineBatchLatency or AffineFit")
    return [m.model if isinstance(m, AffineFit) else m for m in items]


def to_coinference_edge(models) -> tuple[np.ndarray, np.ndarray, int | None]:
    """``edge_beta_s``, ``edge_alpha_s`` and ``max_batch`` of a co-inference instance.

    ``models[n-1]`` (AffineBatchLatency or AffineFit) is sub-task n on the edge GPU, so
    te[n](b) = beta[n] + alpha[n]*b. Co-inference needs beta > 0 (every batch takes a fixed
    time) and has one batch cap for all sub-tasks: the smallest cap of the models (None when
    none has one).

    >>> beta, alpha, cap = to_coinference_edge([AffineBatchLatency(0.004, 0.0005, 32),
    ...                                         AffineBatchLatency(0.002, 0.0, None)])
    >>> beta.tolist(), alpha.tolist(), cap
    ([0.004, 0.002], [0.0005, 0.0], 32)
    """
    models = _models(models)
    for i, m in enumerate(models):
        if m.beta_s <= 0:
            raise InvalidInputError(f"models[{i}].beta_s", f"co-inference needs beta > 0, got {m.beta_s!r}")
    beta = np.array([m.beta_s for m in models])
    alpha = np.array([m.alpha_s for m in models])
    caps = [m.max_batch for m in models if m.max_batch is not None]
    return beta, alpha, (min(caps) if caps else None)


def to_placement_tau(models, *, speed: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-model ``batch_tau0_s``, ``batch_tau1_s``, ``max_batch`` of a placement instance.

    ``models`` is a sequence of AffineBatchLatency (or AffineFit) measured on a GPU ``speed``
    times as fast as the placement reference GPU, so tau0 = beta*speed, tau1 = alpha*speed
    (seconds on the reference GPU). Placement needs tau1 > 0 and an integer batch cap, so a
    model with alpha = 0 or without a cap is refused.

    >>> tau0, tau1, cap = to_placement_tau([AffineBatchLatency(0.004, 0.0005, 32)], speed=2.0)
    >>> tau0.tolist(), tau1.tolist(), cap.tolist()
    ([0.008], [0.001], [32])
    """
    if isinstance(speed, bool) or not isinstance(speed, numbers.Real) or not (is_finite(speed) and speed > 0):
        raise InvalidInputError("speed", f"must be a finite number > 0, got {speed!r}")
    models = _models(models)
    for i, m in enumerate(models):
        if m.alpha_s <= 0:
            raise InvalidInputError(f"models[{i}].alpha_s", f"placement needs tau1 > 0, got {m.alpha_s!r}")
        if m.max_batch is None:
            raise InvalidInputError(f"models[{i}].max_batch", "placement needs an integer batch cap, got None")
    tau0 = np.array([m.beta_s * speed for m in models])
    tau1 = np.array([m.alpha_s * speed for m in models])
    cap = np.array([m.max_batch for m in models], dtype=np.int64)
    return tau0, tau1, cap
