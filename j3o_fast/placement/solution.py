"""A placement decision: onloading (x, y) and sparse routing fractions (docs/formats.rst, solution)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validate as v
from ..errors import InvalidInputError


@dataclass(frozen=True, eq=False)
class Routes:
    """Sparse routing fractions: entry i sends ``fraction[i]`` of (client[i], task[i]) to model[i]."""

    client: np.ndarray
    task: np.ndarray
    model: np.ndarray
    fraction: np.ndarray

    def __post_init__(self):
        n = np.shape(self.fraction)[0] if np.ndim(self.fraction) == 1 else -1
        if n < 0:
            raise InvalidInputError("fraction", f"must be a 1-D array, got {self.fraction!r}")
        for key in ("client", "task", "model"):
            object.__setattr__(self, key, v.as_int_array(getattr(self, key), key, (n,)))
        object.__setattr__(self, "fraction", v.as_float_array(self.fraction, "fraction", (n,)))

    @classmethod
    def empty(cls) -> "Routes":
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, np.zeros(0))

    @classmethod
    def from_dense(cls, fractions: np.ndarray, threshold: float = 0.0) -> "Routes":
        """Entries of an (N, K, M) array strictly above ``threshold``."""
        n, t, m = np.nonzero(np.asarray(fractions) > threshold)
        return cls(n, t, m, np.asarray(fractions)[n, t, m])

    def to_dense(self, n_clients: int, n_tasks: int, n_models: int) -> np.ndarray:
        out = np.zeros((n_clients, n_tasks, n_models))
        np.add.at(out, (self.client, self.task, self.model), self.fraction)
        return out

    def __len__(self) -> int:
        return self.fraction.shape[0]


@dataclass(frozen=True, eq=False)
class PlacementSolution:
    """Onloading and routing for one placement instance.

    ``client_models`` (N, M) and ``edge_models`` (E, M) are x and y of docs/placement.rst (bool);
    ``local`` and ``edge`` are the nonzero fractions l[n,t,m] and h[n,t,m]; ``cloud`` and
    ``drop`` are dense (N, K) fractions c[n,t] and d[n,t].
    """

    client_models: np.ndarray
    edge_models: np.ndarray
    local: Routes
    edge: Routes
    cloud: np.ndarray
    drop: np.ndarray

    def __post_init__(self):
        x = np.array(self.client_models, dtype=bool, order="C")
        y = np.array(self.edge_models, dtype=bool, order="C")
        if x.ndim != 2:
            raise InvalidInputError("client_models", f"must be 2-D (clients, models), got shape {x.shape}")
        if y.ndim != 2 or y.shape[1] != x.shape[1]:
            raise InvalidInputError("edge_models", f"must have shape (E, {x.shape[1]}), got {y.shape}")
        cloud = np.asarray(self.cloud, dtype=np.float64)
        if cloud.ndim != 2 or cloud.shape[0] != x.shape[0]:
            raise InvalidInputError("routing.cloud", f"must have shape ({x.shape[0]}, K), got {cloud.shape}")
        cloud = v.as_float_array(cloud, "routing.cloud", cloud.shape)
        drop = v.as_float_array(self.drop, "routing.drop", cloud.shape)
        x.setflags(write=False)
        y.setflags(write=False)
        for key, value in (("client_models", x), ("edge_models", y), ("cloud", cloud), ("drop", drop)):
            object.__setattr__(self, key, value)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(N clients, E edges, M models, K tasks)."""
        return (self.client_models.shape[0], self.edge_models.shape[0], self.client_models.shape[1],
                self.cloud.shape[1])

    def check_fits(self, n_clients: int, n_edges: int, n_models: int, n_tasks: int) -> None:
        """Refuse a solution for other dimensions, or a route entry whose client, task or model
        index is out of range (InvalidInputError naming ``solution`` or ``routing.local[i]`` /
        ``routing.edge[i]``): the check before any row is summed."""
        for what, got, size in zip(("clients", "edges", "models", "tasks"), self.shape,
                                    (n_clients, n_edges, n_models, n_tasks)):
            if got != size:
                raise InvalidInputError("solution", f"is for {got} {what} but the instance has {size}")
        for kind, r in (("local", self.local), ("edge", self.edge)):
            bad = ((r.client < 0) | (r.client >= n_clients) | (r.task < 0) | (r.task >= n_tasks) | (r.model < 0)
                   | (r.model >= n_models))
            if bad.any():
                i = int(np.argmax(bad))
                raise InvalidInputError(f"routing.{kind}[{i}]", "client, task or model index out of range, "
                                        f"got [{r.client[i]}, {r.task[i]}, {r.model[i]}]")

    @classmethod
    def from_dense(cls, x: NDArray[np.bool_], y: NDArray[np.bool_], local: NDArray[np.float64],
                   edge: NDArray[np.float64], cloud: ArrayLike, drop: NDArray[np.float64] | None = None,
                   ) -> "PlacementSolution":
        """From dense (N, K, M) local/edge fractions; ``drop`` defaults to what is left: 1 - the rest."""
        cloud = np.asarray(cloud, dtype=np.float64)
        if drop is None:
            drop = np.maximum(0.0, 1.0 - np.asarray(local).sum(axis=2) - np.asarray(edge).sum(axis=2) - cloud)
        return cls(x, y, Routes.from_dense(local), Routes.from_dense(edge), cloud, drop)

    @classmethod
    def all_dropped(cls, n_clients: int, n_edges: int, n_models: int, n_tasks: int) -> "PlacementSolution":
        """Nothing onloaded, every query dropped: feasible for every instance (objective 0)."""
        return cls(np.zeros((n_clients, n_models), bool), np.zeros((n_edges, n_models), bool),
                   Routes.empty(), Routes.empty(), np.zeros((n_clients, n_tasks)), np.ones((n_clients, n_tasks)))
