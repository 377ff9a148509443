"""The placement instance (docs/placement.rst section 1): frozen, validated, read-only arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .. import _validate as v
from ..errors import InvalidInputError


#: Supported magnitudes. Capacities (the divisors of the normalised rows of (P): memories,
#: speeds, compute, uplinks, backhauls, the batching window) lie in [CAPACITY_MIN, MAGNITUDE_MAX];
#: demands (payloads, GFLOP per query, model memories, batch latencies, rates) in
#: (0, MAGNITUDE_MAX] (tau0 and rates may be 0). Every ratio of the program then stays a finite
#: float64 (at most 1e36); routes whose ratio makes them useless are left out by the solvers
#: (program.MAX_ROUTE_COEF). Realistic instances are many orders of magnitude inside.
CAPACITY_MIN = 1e-12
MAGNITUDE_MAX = 1e12


def _in_range(arr: np.ndarray, path: str, low: float, high: float, *, low_open: bool = False) -> None:
    """Refuse entries outside [low, high] ((low, high] with ``low_open``), naming the supported range."""
    ok = ((arr > low) if low_open else (arr >= low)) & (arr <= high)
    bracket = "(" if low_open else "["
    v.require(arr, ok, path, f"must be in {bracket}{low:g}, {high:g}] (the range the solvers support)")


@dataclass(frozen=True, eq=False)
class PlacementInstance:
    """Clients, edges, a model library and query rates; validated once on construction.

    Shapes: K tasks, M models, E edges, N clients. ``accuracy`` and ``gflop`` are (M, K) and may
    be given with NaN where a model does not serve a task (or with an explicit boolean ``cover``);
    they are stored with 0.0 there and ``cover`` (M, K) tells which entries are real, so
    ``dataclasses.replace`` keeps the coverage. Units: MB, GFLOP, GFLOP/s, Mbit, Mbit/s,
    seconds, queries/s. ``batching_window_s`` None means no batching (every query is a batch
    of one). Field names in error messages are the JSON paths of docs/formats.rst.

    Supported ranges (checked here, so for files, the API and the generators alike; values
    outside raise InvalidInputError naming the field, the value and the range):

    - ``accuracy``, ``cloud_accuracy``: [0, 1]
    - capacities ``edge_memory_mb``, ``edge_speed``, ``edge_backhaul_mbps``,
      ``client_memory_mb``, ``client_gflops``, ``client_uplink_mbps`` and
      ``batching_window_s``: [1e-12, 1e12]
    - demands ``payload_mbit``, ``gflop``, ``memory_mb``, ``batch_tau1_s``: (0, 1e12];
      ``batch_tau0_s`` and ``rate``: [0, 1e12]; ``max_batch``: integers >= 1

    Inside these ranges every method solves and verifies. A route that could carry less than a
    millionth of its pair's queries before using up one capacity (a coefficient above
    ``program.MAX_ROUTE_COEF`` in a normalised row, e.g. an uplink of 1e-12 Mbit/s) is not offered
    to the solvers; that loses at most a millionth of the pair's accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> inst = PlacementInstance(
    ...     tasks=("seg",), payload_mbit=[1.6], cloud_accuracy=[0.6],
    ...     model_names=("m0",), accuracy=[[0.5]], gflop=[[2.0]], memory_mb=[50.0],
    ...     batch_tau0_s=[0.004], batch_tau1_s=[0.001], max_batch=[32],
    ...     edge_memory_mb=[100.0], edge_speed=[1.0], edge_backhaul_mbps=[100.0],
    ...     client_edge=[0], client_memory_mb=[60.0], client_gflops=[10.0],
    ...     client_uplink_mbps=[20.0], rate=[[3.0]])
    >>> inst.n_clients, inst.n_models, bool(inst.cover[0, 0])
    (1, 1, True)
    """

    tasks: tuple
    payload_mbit: np.ndarray
    cloud_accuracy: np.ndarray
    model_names: tuple
    accuracy: np.ndarray
    gflop: np.ndarray
    memory_mb: np.ndarray
    batch_tau0_s: np.ndarray
    batch_tau1_s: np.ndarray
    max_batch: np.ndarray
    edge_memory_mb: np.ndarray
    edge_speed: np.ndarray
    edge_backhaul_mbps: np.ndarray
    client_edge: np.ndarray
    client_memory_mb: np.ndarray
    client_gflops: np.ndarray
    client_uplink_mbps: np.ndarray
    rate: np.ndarray
    batching_window_s: float | None = None
    name: str = ""
    # None becomes ~isnan(accuracy) in __post_init__: read back, it is always an array.
    cover: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]

    def __post_init__(self):
        put = lambda key, value: object.__setattr__(self, key, value)  # noqa: E731 (frozen)

        tasks = tuple(self.tasks)
        if len(tasks) < 1:
            raise InvalidInputError("tasks", "must list at least one task, got []")
        for i, t in enumerate(tasks):
            if not isinstance(t, str):
                raise InvalidInputError(f"tasks[{i}]", f"must be a string, got {t!r}")
        names = tuple(self.model_names)
        if len(names) < 1:
            raise InvalidInputError("models.name", "must list at least one model, got []")
        for i, t in enumerate(names):
            if not isinstance(t, str):
                raise InvalidInputError(f"models.name[{i}]", f"must be a string, got {t!r}")
        K, M = len(tasks), len(names)
        put("tasks", tasks)
        put("model_names", names)
        if not isinstance(self.name, str):
            raise InvalidInputError("name", f"must be a string, got {self.name!r}")

        E = np.shape(self.edge_memory_mb)[0] if np.ndim(self.edge_memory_mb) == 1 else -1
        N = np.shape(self.client_edge)[0] if np.ndim(self.client_edge) == 1 else -1
        if E < 1:
            raise InvalidInputError("edges.memory_mb", f"must be a non-empty array, got {self.edge_memory_mb!r}")
        if N < 1:
            raise InvalidInputError("clients.edge", f"must be a non-empty array, got {self.client_edge!r}")

        f = v.as_float_array
        payload = f(self.payload_mbit, "payload_mbit", (K,))
        cloud = f(self.cloud_accuracy, "cloud_accuracy", (K,))
        acc = f(self.accuracy, "models.accuracy", (M, K), allow_nan=True)
        gflop = f(self.gflop, "models.gflop", (M, K), allow_nan=True)
        mem = f(self.memory_mb, "models.memory_mb", (M,))
        tau0 = f(self.batch_tau0_s, "models.batch_tau0_s", (M,))
        tau1 = f(self.batch_tau1_s, "models.batch_tau1_s", (M,))
        bmax = v.as_int_array(self.max_batch, "models.max_batch", (M,))
        e_mem = f(self.edge_memory_mb, "edges.memory_mb", (E,))
        e_speed = f(self.edge_speed, "edges.speed", (E,))
        e_back = f(self.edge_backhaul_mbps, "edges.backhaul_mbps", (E,))
        c_edge = v.as_int_array(self.client_edge, "clients.edge", (N,))
        c_mem = f(self.client_memory_mb, "clients.memory_mb", (N,))
        c_gflops = f(self.client_gflops, "clients.gflops", (N,))
        c_up = f(self.client_uplink_mbps, "clients.uplink_mbps", (N,))
        rate = f(self.rate, "clients.rate", (N, K))

        acc_null, gflop_null = np.isnan(acc), np.isnan(gflop)
        if (acc_null != gflop_null).any():
            m, t = np.argwhere(acc_null != gflop_null)[0]
            raise InvalidInputError(
                f"models.gflop[{m}][{t}]",
                f"must be null exactly where models.accuracy is null, got {self.gflop[m][t]!r} "
                f"with accuracy {self.accuracy[m][t]!r}",
            )
        if self.cover is None:
            cover = ~acc_null
        else:  # explicit cover (e.g. dataclasses.replace of a built instance): NaN only where uncovered
            cover = np.array(self.cover, dtype=bool)
            if cover.shape != (M, K):
                raise InvalidInputError("cover", f"must have shape {(M, K)}, got {cover.shape}")
            if (acc_null & cover).any():
                m, t = np.argwhere(acc_null & cover)[0]
                raise InvalidInputError(f"models.accuracy[{m}][{t}]", "must be a number where cover is True, got nan")
        serves_none = ~cover.any(axis=1)
        if serves_none.any():
            m = int(np.argmax(serves_none))
            raise InvalidInputError(f"models.accuracy[{m}]", "model serves no task (all null), got all null")
        v.unit_interval(cloud, "cloud_accuracy")
        v.require(acc, ~cover | ((acc >= 0) & (acc <= 1)), "models.accuracy", "must be in [0, 1]")
        v.require(gflop, ~cover | (gflop > 0), "models.gflop", "must be > 0")
        v.require(gflop, ~cover | (gflop <= MAGNITUDE_MAX), "models.gflop",
                  f"must be in (0, {MAGNITUDE_MAX:g}] (the range the solvers support)")
        v.positive(payload, "payload_mbit")
        v.positive(mem, "models.memory_mb")
        v.nonnegative(tau0, "models.batch_tau0_s")
        v.positive(tau1, "models.batch_tau1_s")
        v.require(bmax, bmax >= 1, "models.max_batch", "must be >= 1")
        v.positive(e_mem, "edges.memory_mb")
        v.positive(e_speed, "edges.speed")
        v.positive(e_back, "edges.backhaul_mbps")
        v.require(c_edge, (c_edge >= 0) & (c_edge < E), "clients.edge", f"must be an edge index in [0, {E - 1}]")
        v.positive(c_mem, "clients.memory_mb")
        v.positive(c_gflops, "clients.gflops")
        v.positive(c_up, "clients.uplink_mbps")
        v.nonnegative(rate, "clients.rate")
        for arr, path in ((payload, "payload_mbit"), (mem, "models.memory_mb"), (tau1, "models.batch_tau1_s")):
            _in_range(arr, path, 0.0, MAGNITUDE_MAX, low_open=True)
        for arr, path in ((tau0, "models.batch_tau0_s"), (rate, "clients.rate")):
            _in_range(arr, path, 0.0, MAGNITUDE_MAX)
        for arr, path in ((e_mem, "edges.memory_mb"), (e_speed, "edges.speed"), (e_back, "edges.backhaul_mbps"),
                          (c_mem, "clients.memory_mb"), (c_gflops, "clients.gflops"),
                          (c_up, "clients.uplink_mbps")):
            _in_range(arr, path, CAPACITY_MIN, MAGNITUDE_MAX)
        window = self.batching_window_s
        if window is not None:
            if isinstance(window, bool) or not isinstance(window, (int, float, np.floating, np.integer)):
                raise InvalidInputError("batching_window_s", f"must be a number or null, got {window!r}")
            window = float(window)
            if not np.isfinite(window) or window <= 0:
                raise InvalidInputError("batching_window_s", f"must be > 0, got {window}")
            _in_range(np.float64(window), "batching_window_s", CAPACITY_MIN, MAGNITUDE_MAX)

        acc = np.where(cover, acc, 0.0)
        gflop = np.where(cover, gflop, 0.0)
        cover.setflags(write=False)
        for arr in (acc, gflop):
            arr.setflags(write=False)
        for key, value in [
            ("payload_mbit", payload), ("cloud_accuracy", cloud), ("accuracy", acc), ("gflop", gflop),
            ("memory_mb", mem), ("batch_tau0_s", tau0), ("batch_tau1_s", tau1), ("max_batch", bmax),
            ("edge_memory_mb", e_mem), ("edge_speed", e_speed), ("edge_backhaul_mbps", e_back),
            ("client_edge", c_edge), ("client_memory_mb", c_mem), ("client_gflops", c_gflops),
            ("client_uplink_mbps", c_up), ("rate", rate), ("batching_window_s", window), ("cover", cover),
        ]:
            put(key, value)

    # ---- sizes -----------------------------------------------------------------------------
    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_models(self) -> int:
        return len(self.model_names)

    @property
    def n_edges(self) -> int:
        return self.edge_memory_mb.shape[0]

    @property
    def n_clients(self) -> int:
        return self.client_edge.shape[0]

    @property
    def batching(self) -> bool:
        """True in window mode (docs/placement.rst constraint 7, second form)."""
        return self.batching_window_s is not None

    # ---- derived data, computed once -------------------------------------------------------
    @cached_property
    def total_rate(self) -> float:
        """sum_{n,t} rate[n,t] (queries/s): the denominator of the mean accuracy A."""
        return float(self.rate.sum())

    @cached_property
    def edge_query_cost(self) -> np.ndarray:
        """g[m], GPU seconds per query on the reference GPU: tau0+tau1 without batching, tau1 with it."""
        g = self.batch_tau1_s if self.batching else self.batch_tau0_s + self.batch_tau1_s
        return v.readonly(g)

    @cached_property
    def edge_fixed_share(self) -> np.ndarray:
        """(E, M) GPU time share of one onloaded model's batch per window: tau0[m]/(W*speed_e); 0 without batching."""
        if not self.batching:
            return v.readonly(np.zeros((self.n_edges, self.n_models)))
        return v.readonly(self.batch_tau0_s[None, :] / (self.batching_window_s * self.edge_speed[:, None]))

    @cached_property
    def clients_by_edge(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR of clients per edge: clients_by_edge[1][start[e]:start[e+1]] are the clients of edge e."""
        order = np.argsort(self.client_edge, kind="stable")
        start = np.zeros(self.n_edges + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.client_edge, minlength=self.n_edges), out=start[1:])
        return v.readonly(start), v.readonly(order.astype(np.int64))
