"""The co-inference instance (docs/coinference.rst section 1): frozen, validated, read-only arrays."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import _validate as v
from ..errors import InvalidInputError


#: Supported magnitudes: every time (s), size (Mbit), energy (J) and power (W) at most
#: MAGNITUDE_MAX, uplink rates at least RATE_MIN Mbit/s. Sums of times along a chain, upload
#: times d/r and energies p*d/r then stay finite float64 numbers (at most 1e24 and 1e36).
MAGNITUDE_MAX = 1e12
RATE_MIN = 1e-12
#: Largest relative deadline (s). The solvers test deadlines with a rounding slack of 1e-12
#: relative to the absolute deadline; the verifier allows 1e-9 * max(1, |t|) at each time t, and
#: checks a batch's start against its members' (earlier) ready times. Up to 1e3 s of deadline
#: after the release, the solvers' slack stays within the verifier's at every ready time, so
#: every plan verifies; a deadline of 1e12 s could hide a batch starting 1 s before its data.
DEADLINE_MAX = 1e3


def _in_range(arr: np.ndarray, path: str, low: float, high: float, *, low_open: bool) -> None:
    """Refuse entries outside [low, high] ((low, high] with ``low_open``), naming the supported range."""
    ok = ((arr > low) if low_open else (arr >= low)) & (arr <= high)
    bracket = "(" if low_open else "["
    v.require(arr, ok, path, f"must be in {bracket}{low:g}, {high:g}] (the range the solvers support)")


@dataclass(frozen=True, eq=False)
class CoInferenceInstance:
    """K users, each running one inference of the same chain of N sub-tasks; one edge GPU.

    Sub-tasks are 1-based in the model (n = 1..N) and 0-based in the arrays: ``edge_beta_s[n-1]``
    is beta[n]. Shapes: ``output_mbit`` (N+1,) with d[0] the raw input and d[n] the output of
    sub-task n; ``edge_beta_s``, ``edge_alpha_s`` (N,); ``local_latency_s``, ``local_energy_j``
    (K, N); ``uplink_mbps``, ``tx_power_w``, ``deadline_s``, ``release_s`` (K,). Units: seconds,
    joules, Mbit, Mbit/s, watts. One batch of b users on sub-task n takes
    ``beta[n] + alpha[n]*b`` seconds (b <= ``max_batch``; None means no cap). Deadlines are
    relative to the release; the absolute deadline of user k is rho_k + T_k. Errors name the
    JSON path of docs/formats.rst and the value.

    Supported ranges (checked here, so for files, the API and the generators alike; values
    outside raise InvalidInputError naming the field, the value and the range):
    ``output_mbit``, ``edge_beta_s``, ``local_latency_s``, ``local_energy_j``, ``tx_power_w``:
    (0, 1e12]; ``edge_alpha_s``, ``release_s``: [0, 1e12]; ``uplink_mbps``: [1e-12, 1e12];
    ``deadline_s``: (0, 1e3] (DEADLINE_MAX: a thousand seconds for one inference); ``max_batch``:
    an integer >= 1 or None. Inside them every method plans and its plan verifies. Times are
    float64 seconds and the verifier's tolerance is 1e-9 * max(1, |t|) s at time t, so on a
    clock far from 0 (releases of 1e9 s) it is coarser than milliseconds.

    Examples
    --------
    >>> inst = CoInferenceInstance(
    ...     subtasks=("b1", "b2"), output_mbit=[4.8, 2.0, 0.1],
    ...     edge_beta_s=[0.004, 0.002], edge_alpha_s=[0.0, 0.0],
    ...     local_latency_s=[[0.05, 0.03]], local_energy_j=[[0.10, 0.06]],
    ...     uplink_mbps=[20.0], tx_power_w=[0.2], deadline_s=[0.3])
    >>> inst.n_users, inst.n_subtasks, inst.constant_latency
    (1, 2, True)
    >>> inst.energy[0].round(4).tolist()   # E_0(s) for s = 0, 1, 2: upload 4.8, 2.0 Mbit or all local
    [0.048, 0.12, 0.16]
    """

    subtasks: tuple
    output_mbit: np.ndarray
    edge_beta_s: np.ndarray
    edge_alpha_s: np.ndarray
    local_latency_s: np.ndarray
    local_energy_j: np.ndarray
    uplink_mbps: np.ndarray
    tx_power_w: np.ndarray
    deadline_s: np.ndarray
    # None (no release times) becomes zeros in __post_init__: read back, it is always an array.
    release_s: np.ndarray = None  # type: ignore[assignment]
    max_batch: int | None = None
    name: str = ""

    def __post_init__(self):
        put = lambda key, value: object.__setattr__(self, key, value)  # noqa: E731 (frozen)

        if isinstance(self.subtasks, str) or not hasattr(self.subtasks, "__iter__"):
            raise InvalidInputError("subtasks", f"must be an array of strings, got {self.subtasks!r}")
        subtasks = tuple(self.subtasks)
        if len(subtasks) < 1:
            raise InvalidInputError("subtasks", "must list at least one sub-task, got []")
        for i, s in enumerate(subtasks):
            if not isinstance(s, str):
                raise InvalidInputError(f"subtasks[{i}]", f"must be a string, got {s!r}")
        put("subtasks", subtasks)
        if not isinstance(self.name, str):
            raise InvalidInputError("name", f"must be a string, got {self.name!r}")
        N = len(subtasks)

        if np.ndim(self.uplink_mbps) != 1 or np.shape(self.uplink_mbps)[0] < 1:
            raise InvalidInputError("users.uplink_mbps", f"must be a non-empty array, got {self.uplink_mbps!r}")
        K = np.shape(self.uplink_mbps)[0]

        f = v.as_float_array
        d = f(self.output_mbit, "output_mbit", (N + 1,))
        beta = f(self.edge_beta_s, "edge_beta_s", (N,))
        alpha = f(self.edge_alpha_s, "edge_alpha_s", (N,))
        tl = f(self.local_latency_s, "users.local_latency_s", (K, N))
        el = f(self.local_energy_j, "users.local_energy_j", (K, N))
        rate = f(self.uplink_mbps, "users.uplink_mbps", (K,))
        power = f(self.tx_power_w, "users.tx_power_w", (K,))
        deadline = f(self.deadline_s, "users.deadline_s", (K,))
        release = f(np.zeros(K) if self.release_s is None else self.release_s, "users.release_s", (K,))

        v.positive(d, "output_mbit")
        v.positive(beta, "edge_beta_s")
        v.nonnegative(alpha, "edge_alpha_s")
        v.positive(tl, "users.local_latency_s")
        v.positive(el, "users.local_energy_j")
        v.positive(rate, "users.uplink_mbps")
        v.positive(power, "users.tx_power_w")
        v.positive(deadline, "users.deadline_s")
        v.nonnegative(release, "users.release_s")
        for arr, path in ((d, "output_mbit"), (beta, "edge_beta_s"), (tl, "users.local_latency_s"),
                          (el, "users.local_energy_j"), (power, "users.tx_power_w")):
            _in_range(arr, path, 0.0, MAGNITUDE_MAX, low_open=True)
        _in_range(deadline, "users.deadline_s", 0.0, DEADLINE_MAX, low_open=True)
        for arr, path in ((alpha, "edge_alpha_s"), (release, "users.release_s")):
            _in_range(arr, path, 0.0, MAGNITUDE_MAX, low_open=False)
        _in_range(rate, "users.uplink_mbps", RATE_MIN, MAGNITUDE_MAX, low_open=False)

        cap = self.max_batch
        if cap is not None:
            if isinstance(cap, bool) or not isinstance(cap, numbers.Integral):
                raise InvalidInputError("max_batch", f"must be an integer >= 1 or null, got {cap!r}")
            cap = int(cap)
            if cap < 1:
                raise InvalidInputError("max_batch", f"must be an integer >= 1 or null, got {cap}")

        for key, value in [
            ("output_mbit", d), ("edge_beta_s", beta), ("edge_alpha_s", alpha), ("local_latency_s", tl),
            ("local_energy_j", el), ("uplink_mbps", rate), ("tx_power_w", power), ("deadline_s", deadline),
            ("release_s", release), ("max_batch", cap),
        ]:
            put(key, value)

    # ---- sizes -----------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        """K."""
        return self.uplink_mbps.shape[0]

    @property
    def n_subtasks(self) -> int:
        """N."""
        return len(self.subtasks)

    @property
    def constant_latency(self) -> bool:
        """True when every alpha[n] is 0: a batch takes beta[n] whatever its size."""
        return bool((self.edge_alpha_s == 0).all())

    @property
    def batch_cap(self) -> int:
        """``max_batch``, or K when the batch size is unlimited (no batch can hold more than K)."""
        return self.n_users if self.max_batch is None else min(self.max_batch, self.n_users)

    # ---- derived data, computed once -------------------------------------------------------
    @cached_property
    def absolute_deadline(self) -> np.ndarray:
        """(K,) rho_k + T_k, seconds."""
        return v.readonly(self.release_s + self.deadline_s, np.float64)

    @cached_property
    def local_time(self) -> np.ndarray:
        """(K, N+1) L_k(s) = sum_{n<=s} tl[k,n] for s = 0..N (L_k(0) = 0), seconds."""
        out = np.zeros((self.n_users, self.n_subtasks + 1))
        np.cumsum(self.local_latency_s, axis=1, out=out[:, 1:])
        return v.readonly(out, np.float64)

    @cached_property
    def upload_time(self) -> np.ndarray:
        """(K, N+1) d[s]/r_k for s < N; 0 for s = N (nothing is uploaded), seconds."""
        out = self.output_mbit[None, :] / self.uplink_mbps[:, None]
        out[:, -1] = 0.0
        return v.readonly(out, np.float64)

    @cached_property
    def ready_time(self) -> np.ndarray:
        """(K, N+1) a_k(s) = L_k(s) + d[s]/r_k: when the data of partition s reaches the edge, relative to rho_k."""
        return v.readonly(self.local_time + self.upload_time, np.float64)

    @cached_property
    def energy(self) -> np.ndarray:
        """(K, N+1) E_k(s) = sum_{n<=s} el[k,n] + p_k*d[s]/r_k (upload term only for s < N), joules."""
        out = np.zeros((self.n_users, self.n_subtasks + 1))
        np.cumsum(self.local_energy_j, axis=1, out=out[:, 1:])
        out += self.tx_power_w[:, None] * self.upload_time
        return v.readonly(out, np.float64)

    @cached_property
    def tail_s(self) -> np.ndarray:
        """(N+2,) R[n] = sum_{m=n..N} beta[m], indexed by n = 1..N+1 (R[N+1] = 0); entry 0 repeats R[1].

        A user with partition s needs at least ``tail_s[s+1]`` seconds of edge time.
        """
        N = self.n_subtasks
        out = np.zeros(N + 2)
        out[1:N + 1] = np.cumsum(self.edge_beta_s[::-1])[::-1]
        out[0] = out[1]
        return v.readonly(out, np.float64)

    def edge_latency(self, n: int, b: ArrayLike) -> Any:
        """te[n](b) = beta[n] + alpha[n]*b, seconds, for 1-based sub-task n; vectorised in b.

        b must hold whole numbers in [1, max_batch] (any b >= 1 when uncapped).
        """
        N = self.n_subtasks
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= N:
            raise InvalidInputError("n", f"must be a sub-task in 1..{N}, got {n!r}")
        bb = np.asarray(b)
        if bb.dtype == bool or not np.issubdtype(bb.dtype, np.number):
            raise InvalidInputError("b", f"must be a batch size, got {b!r}")
        bad = ~np.isfinite(bb) | (bb < 1) | (bb != np.round(bb))
        if self.max_batch is not None:
            bad |= bb > self.max_batch
        if bad.any():
            first = bb.flat[int(np.argmax(bad.ravel()))].item()
            cap = "" if self.max_batch is None else f", at most max_batch = {self.max_batch}"
            raise InvalidInputError("b", f"must be whole batch sizes >= 1{cap}, got {first!r}")
        out = self.edge_beta_s[n - 1] + self.edge_alpha_s[n - 1] * bb.astype(np.float64)
        return float(out) if out.ndim == 0 else out
