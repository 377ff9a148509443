"""A co-inference plan: partition points, edge batches and the energy they cost (docs/formats.rst, plan)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from .._validate import is_finite
from .. import _validate as v
from ..errors import InvalidInputError
from ..result import SolveResult

if TYPE_CHECKING:
    from .instance import CoInferenceInstance


@dataclass(frozen=True)
class Batch:
    """One GPU batch: sub-task ``subtask`` (1-based) for ``users`` (sorted, distinct), from ``start_s``.

    ``start_s`` is absolute, on the clock of the releases. The batch ends at
    start_s + beta[n] + alpha[n]*len(users).

    >>> Batch(2, (3, 0), 0.25)
    Batch(subtask=2, users=(0, 3), start_s=0.25)
    """

    subtask: int
    users: tuple
    start_s: float

    def __post_init__(self):
        n = self.subtask
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise InvalidInputError("subtask", f"must be a sub-task number >= 1, got {n!r}")
        if isinstance(self.users, np.ndarray) and self.users.ndim == 1 and np.issubdtype(self.users.dtype, np.integer):
            arr = self.users  # vectorised path for large batches (NumPy index arrays)
            if arr.size and arr.min() < 0:
                raise InvalidInputError("users", f"must hold user indices >= 0, got {int(arr.min())}")
        else:
            try:
                members = list(self.users)
            except TypeError:
                raise InvalidInputError("users", f"must be a list of user indices, got {self.users!r}") from None
            for u in members:
                if isinstance(u, bool) or not isinstance(u, numbers.Integral) or u < 0:
                    raise InvalidInputError("users", f"must hold user indices >= 0, got {u!r}")
            arr = np.array(members, dtype=np.int64)
        arr = np.sort(arr)
        if arr.size == 0:
            raise InvalidInputError("users", "a batch must hold at least one user, got []")
        if (np.diff(arr) == 0).any():
            raise InvalidInputError("users", f"must not repeat a user, got {arr.tolist()}")
        users = tuple(arr.tolist())
        start = self.start_s
        if isinstance(start, bool) or not isinstance(start, numbers.Real) or not is_finite(start):
            raise InvalidInputError("start_s", f"must be a finite number, got {start!r}")
        object.__setattr__(self, "subtask", int(n))
        object.__setattr__(self, "users", users)
        object.__setattr__(self, "start_s", float(start))

    @property
    def size(self) -> int:
        return len(self.users)


@dataclass(frozen=True, eq=False)
class CoInferencePlan:
    """Partition s_k per user (K,), the edge batches in start order, and E_k(s_k) per user (K,).

    ``feasible`` is the solver's claim that every constraint of P0 holds (``verify`` checks
    it); ``infeasible_users`` are users no plan could serve: they run locally (s_k = N) and count
    as deadline violations. A plan that lists them is still usable (status "partial").
    """

    partition: np.ndarray
    batches: tuple
    energy_j: np.ndarray
    feasible: bool
    infeasible_users: tuple = ()

    def __post_init__(self):
        put = lambda key, value: object.__setattr__(self, key, value)  # noqa: E731 (frozen)
        if np.ndim(self.partition) != 1:
            raise InvalidInputError("partition", f"must be a 1-D array, got {self.partition!r}")
        K = np.shape(self.partition)[0]
        part = v.as_int_array(self.partition, "partition", (K,))
        v.nonnegative(part, "partition")
        energy = v.as_float_array(self.energy_j, "energy_j", (K,))
        batches = tuple(self.batches)
        for i, b in enumerate(batches):
            if not isinstance(b, Batch):
                raise InvalidInputError(f"batches[{i}]", f"must be a Batch, got {b!r}")
        # Start order; the stable sort keeps the given order of batches that start together.
        batches = tuple(sorted(batches, key=lambda b: b.start_s))
        infeasible = []
        for u in self.infeasible_users:
            if isinstance(u, bool) or not isinstance(u, numbers.Integral) or not 0 <= u < K:
                raise InvalidInputError("infeasible_users", f"must hold user indices in [0, {K - 1}], got {u!r}")
            infeasible.append(int(u))
        if not isinstance(self.feasible, (bool, np.bool_)):
            raise InvalidInputError("feasible", f"must be true or false, got {self.feasible!r}")
        put("partition", part)
        put("energy_j", energy)
        put("batches", batches)
        put("infeasible_users", tuple(sorted(set(infeasible))))
        put("feasible", bool(self.feasible))

    @property
    def n_users(self) -> int:
        return self.partition.shape[0]

    @property
    def total_energy_j(self) -> float:
        """sum_k E_k(s_k), joules."""
        return float(self.energy_j.sum())

    def partition_histogram(self, n_subtasks: int) -> np.ndarray:
        """(N+1,) how many users chose each partition point s = 0..N."""
        return np.bincount(self.partition, minlength=n_subtasks + 1)


def make_result(instance: CoInferenceInstance, method: str, partition: ArrayLike, batches: Iterable[Batch], *,
                runtime_s: float, exact: bool = False, infeasible_users: Iterable[int] = (), message: str = "",
                iterations: int = 0, phase_times: Mapping[str, float] | None = None) -> SolveResult:
    """Wrap a partition and batches into a ``SolveResult`` with energy E_k(s_k) from ``instance``.

    Status: "partial" when ``infeasible_users`` is non-empty (a usable plan that leaves them
    unserved: they run all-local and miss their deadlines), else "optimal" if ``exact``, else
    "feasible"; the objective is sum_k E_k(s_k) in joules. "infeasible" (no usable plan) never
    arises here: all-local is always a plan.
    """
    part = np.asarray(partition, dtype=np.int64)
    energy = instance.energy[np.arange(instance.n_users), part]
    infeasible = tuple(sorted({int(u) for u in infeasible_users}))
    plan = CoInferencePlan(partition=part, batches=tuple(batches), energy_j=energy,
                           feasible=not infeasible, infeasible_users=infeasible)
    status = "partial" if infeasible else ("optimal" if exact else "feasible")
    return SolveResult(method=method, status=status, objective=plan.total_energy_j, decision=plan,
                       runtime_s=float(runtime_s), message=message, iterations=iterations,
                       phase_times=phase_times or {})
