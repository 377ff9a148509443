"""Offloading: the routing LP of (P) for a fixed onloading (docs/placement.rst section 3(ii)).

The LP separates exactly by edge (clients of different edges share no row), so each edge has its
own HiGHS model, kept between outer iterations of J3O. A routing column is added the first time
its model is onloaded and afterwards only has its upper bound switched between 0 and 1, so each
re-solve starts from the previous basis (warm) instead of from scratch. Rows are normalised by
their capacities, so the row duals are the prices of section 3. Costs are rate*accuracy in units
of the edge's mean pair rate: of order one, so HiGHS' absolute dual tolerance (1e-7) means the
same at 10 and at 100,000 clients (divided by the total rate, costs of large instances shrink to
~1e-5 and the simplex stops measurably short of the optimum, and slower).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Iterator

import highspy
import numpy as np

from .._highs import new_highs
from .._threads import WorkerPool, resolve_threads
from .._validate import readonly
from .instance import PlacementInstance
from .prices import Prices
from .program import CLOUD, EDGE, LOCAL, cost_unit, route_objective, route_rows, routable
from .repair import repair_routing
from .solution import PlacementSolution, Routes

_INF = highspy.kHighsInf


@dataclass(frozen=True, eq=False)
class EdgeDuals:
    """Row duals of one edge LP, >= 0, per unit of the summed objective (accuracy * queries/s),
    as the prices of docs/placement section "Prices" are.

    conservation (P,)  pi_s of each pair's conservation row (1)
    compute (C,)       mu_n, client compute (4), per client of the edge
    uplink (C,)        beta_n, uplink (5), per client of the edge
    backhaul           gamma_e, backhaul (6)
    gpu                nu_e, GPU time (7)
    cap (M,)           kappa_em, batch caps (7) in window mode; zeros without batching
    """

    conservation: np.ndarray
    compute: np.ndarray
    uplink: np.ndarray
    backhaul: float
    gpu: float
    cap: np.ndarray


@dataclass(frozen=True, eq=False)
class EdgeSolution:
    """One solve of an edge LP: column ``values`` (the LP's columns at that time, in order),
    named ``duals`` and ``objective``, the edge's part of A."""

    values: np.ndarray
    duals: EdgeDuals
    objective: float


class EdgeLP:
    """The routing LP of one edge: its clients' pairs, rows 1 and 4-7, columns added on demand.

    Public surface: ``solve(x, y_edge)`` gives the ``EdgeSolution`` of an onloading (re-solving
    only when it changed); ``trial(x, y_edge)`` solves another onloading and goes back after;
    ``accept(x, y_edge, solution)`` moves to an onloading whose solution an earlier trial gave;
    ``column_kind``/``column_pair``/``column_model`` describe the columns (program.py's route
    kinds), ``pair_*`` the edge's pairs. Columns are only ever appended.
    """

    def __init__(self, inst: PlacementInstance, edge: int, clients: np.ndarray, cloud: bool = True):
        self.inst, self.edge = inst, edge
        self.clients = clients                                      # global client ids, sorted
        sub_rate = inst.rate[clients]
        pc, pt = np.nonzero(sub_rate > 0)
        self.pair_client = clients[pc]                              # global client of each pair
        self.pair_local_client = pc                                 # index among this edge's clients
        self.pair_task = pt
        self.pair_rate = sub_rate[pc, pt]
        P, C, M = len(pc), len(clients), inst.n_models
        self.P, self.C = P, C
        # Rows: conservation per pair [0, P), compute per client [P, P+C), uplink per client
        # [P+C, P+2C), backhaul P+2C, GPU time P+2C+1, then (window mode) one batch-cap row per model.
        self._row_compute, self._row_uplink = P, P + C
        self._row_backhaul, self._row_gpu = P + 2 * C, P + 2 * C + 1
        self._row_cap = P + 2 * C + 2
        n_rows = self._row_cap + (M if inst.batching else 0)
        # Costs in units of the mean pair's rate; A contributed = objective_scale * LP value.
        self.unit, self.objective_scale = cost_unit(self.pair_rate, inst.total_rate)

        self.column_kind = np.zeros(0, dtype=np.int8)
        self.column_pair = np.zeros(0, dtype=np.int64)
        self.column_model = np.zeros(0, dtype=np.int64)
        self._upper = np.zeros(0)                                    # column upper bounds in the model
        # the local and edge columns (ids), with the (client index, model) or model that opens each
        self._local_cols = np.zeros(0, dtype=np.int64)
        self._local_client = np.zeros(0, dtype=np.int64)
        self._local_model = np.zeros(0, dtype=np.int64)
        self._edge_cols = np.zeros(0, dtype=np.int64)
        self._edge_model = np.zeros(0, dtype=np.int64)
        self._cover = inst.cover[:, self.pair_task].T                # (P, M): model m serves pair p's task
        self._added_x = np.zeros((C, M), dtype=bool)                 # (client, model) columns added
        self._added_y = np.zeros(M, dtype=bool)                      # edge models whose columns are added

        h = new_highs()
        # Serial dual simplex: edges run in parallel instead (RoutingLP). The 'threads' option is
        # left unset: HiGHS sizes one scheduler per process at its first run and refuses later
        # runs that ask for another explicit count, and a simplex LP never uses it.
        h.setOptionValue("parallel", "off")
        h.setOptionValue("presolve", "off")  # keep the basis between re-solves
        # Rows are already divided by their capacities; HiGHS' own scaling only slows re-solves.
        h.setOptionValue("simplex_scale_strategy", 0)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = 0, n_rows
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.row_lower_ = np.full(n_rows, -_INF)
        lp.row_upper_ = np.ones(n_rows)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.zeros(1, dtype=np.int32)
        h.passModel(lp)
        self.highs = h
        self._xs = self._y = None            # onloading the HiGHS model holds: (C, M) and (M,) bool
        self._row_upper = None               # upper bounds of the GPU row and the cap rows in the model
        # The onloading the LP stands at and its solution. It differs from the model's after a
        # trial or an accept: the model's bounds change only when the next solve needs them to,
        # so a row of trials costs one bound change each, not two.
        self._at: tuple[np.ndarray, np.ndarray] | None = None
        self._solution: EdgeSolution | None = None
        self.cloud_upper = 1.0 if cloud else 0.0
        self._basis = None                   # a basis for the next run (replay), then None
        self._add_columns(CLOUD, np.arange(P), np.full(P, -1), self.cloud_upper)

    def _add_columns(self, kind: int, pairs: np.ndarray, models: np.ndarray, upper: float = 1.0) -> None:
        """Append routing columns (kind, pair, model) with their objective, row entries and upper
        bound, all from program.py. Routes with a row coefficient above MAX_ROUTE_COEF are left
        out (program.routable)."""
        if len(pairs) == 0:
            return
        inst = self.inst
        n, t, r = self.pair_client[pairs], self.pair_task[pairs], self.pair_rate[pairs]
        coefficients = route_rows(inst, kind, n, t, models, r)
        ok = routable(coefficients)
        if not ok.all():
            pairs, models = pairs[ok], models[ok]
            n, t, r = n[ok], t[ok], r[ok]
            coefficients = {row: c[ok] for row, c in coefficients.items()}
            if len(pairs) == 0:
                return
        k, width = len(pairs), 1 + len(coefficients)
        lc = self.pair_local_client[pairs]
        # Column-wise entries, `width` per column: the pair's conservation row, then its coupling rows.
        rows = np.empty((k, width), dtype=np.int32)
        vals = np.empty((k, width))
        rows[:, 0], vals[:, 0] = pairs, 1.0
        row_of = {"compute": self._row_compute + lc, "uplink": self._row_uplink + lc, "backhaul": self._row_backhaul,
                  "gpu": self._row_gpu, "cap": self._row_cap + models}
        for j, (row, coefficient) in enumerate(coefficients.items(), start=1):
            rows[:, j], vals[:, j] = row_of[row], coefficient
        cost = route_objective(inst, kind, t, models, r) / self.unit
        self.highs.addCols(k, cost, np.zeros(k), np.full(k, upper), rows.size,
                           np.arange(0, rows.size, width, dtype=np.int32), rows.ravel(), vals.ravel())
        ids = len(self.column_kind) + np.arange(k)
        self.column_kind = np.concatenate([self.column_kind, np.full(k, kind, dtype=np.int8)])
        self.column_pair = np.concatenate([self.column_pair, pairs])
        self.column_model = np.concatenate([self.column_model, models])
        self._upper = np.concatenate([self._upper, np.full(k, upper)])
        if kind == LOCAL:
            self._local_cols = np.concatenate([self._local_cols, ids])
            self._local_client = np.concatenate([self._local_client, lc])
            self._local_model = np.concatenate([self._local_model, models])
        elif kind == EDGE:
            self._edge_cols = np.concatenate([self._edge_cols, ids])
            self._edge_model = np.concatenate([self._edge_model, models])

    def replay(self, other: "EdgeLP") -> bool:
        """Add ``other``'s columns in its order, closed until an onloading opens them, and start
        the next solve from ``other``'s last basis: ``other`` is this edge's LP of an instance
        with the same structure and changed numbers (rates, capacities; the planner's re-plans),
        whose basis is then a near-optimal start. Only before the first solve. False when the
        pairs, rows or resulting columns differ (the columns may then be part added: build the
        LP again)."""
        same = (self._xs is None and other.P == self.P and other.edge == self.edge
                and np.array_equal(other.clients, self.clients) and np.array_equal(other.pair_task, self.pair_task)
                and np.array_equal(other.pair_local_client, self.pair_local_client)
                and other.highs.getNumRow() == self.highs.getNumRow() and other.cloud_upper == self.cloud_upper)
        n0 = len(self.column_kind)
        if not same or len(other.column_kind) < n0 or not self._same_columns(other, n0):
            return False
        kind, pair, model = other.column_kind[n0:], other.column_pair[n0:], other.column_model[n0:]
        cuts = np.flatnonzero(np.diff(kind)) + 1
        for a, b in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(kind)]])):
            if b > a:
                self._add_columns(int(kind[a]), pair[a:b], model[a:b], 0.0)
        if len(other.column_kind) != len(self.column_kind) or not self._same_columns(other, len(self.column_kind)):
            return False
        self._added_x, self._added_y = other._added_x.copy(), other._added_y.copy()
        basis = other.highs.getBasis()
        self._basis = basis if basis.valid else None
        return True

    def _same_columns(self, other: "EdgeLP", n: int) -> bool:
        return (np.array_equal(self.column_kind[:n], other.column_kind[:n])
                and np.array_equal(self.column_pair[:n], other.column_pair[:n])
                and np.array_equal(self.column_model[:n], other.column_model[:n]))

    def _set_onloading(self, xs: np.ndarray, y_edge: np.ndarray) -> None:
        """Set the model's onloading: open the columns of onloaded models (adding new ones), close
        the others; fix the GPU and cap rows. ``xs`` (C, M): this edge's clients' models."""
        inst = self.inst
        x_changed = self._xs is None or not np.array_equal(xs, self._xs)
        y_changed = self._y is None or not np.array_equal(y_edge, self._y)
        if not (x_changed or y_changed):
            return
        # Existing columns whose model was opened or closed: compared before new columns are added,
        # which enter open (their model was just onloaded at their node for the first time).
        changed = []
        if x_changed:
            upper = xs[self._local_client, self._local_model].astype(np.float64)
            changed.append(self._local_cols[upper != self._upper[self._local_cols]])
        if y_changed:
            upper = y_edge[self._edge_model].astype(np.float64)
            changed.append(self._edge_cols[upper != self._upper[self._edge_cols]])
        changed = np.concatenate(changed)
        if len(changed):
            self._upper[changed] = 1.0 - self._upper[changed]               # bounds are 0 or 1
            self.highs.changeColsBounds(len(changed), changed.astype(np.int32), np.zeros(len(changed)),
                                        self._upper[changed])
        if x_changed:
            new_x = xs & ~self._added_x
            if new_x.any():
                self._add_columns(LOCAL, *np.nonzero(self._cover & new_x[self.pair_local_client]))
                self._added_x |= new_x
            self._xs = xs
        if y_changed:
            new_y = y_edge & ~self._added_y
            if new_y.any():
                self._add_columns(EDGE, *np.nonzero(self._cover & new_y[None, :]))
                self._added_y |= new_y
            self._y = y_edge
            # GPU time left after the fixed batch shares, and (window mode) the batch caps: 1 if onloaded.
            row_upper = np.concatenate([[max(1.0 - float(inst.edge_fixed_share[self.edge] @ y_edge), 0.0)],
                                        y_edge.astype(np.float64) if inst.batching else []])
            if not np.array_equal(row_upper, self._row_upper):
                rows = self._row_gpu + np.arange(len(row_upper), dtype=np.int32)  # the cap rows follow the GPU row
                self.highs.changeRowsBounds(len(rows), rows, np.full(len(rows), -_INF), row_upper)
                self._row_upper = row_upper

    def _local(self, x: np.ndarray, y_edge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.array(x[self.clients], dtype=bool), np.array(y_edge, dtype=bool)

    @property
    def onloading_key(self) -> bytes | None:
        """Bytes identifying the onloading the LP stands at (its clients' models and the edge's)."""
        if self._at is None:
            return None
        return np.packbits(self._at[0]).tobytes() + np.packbits(self._at[1]).tobytes()

    @property
    def solution(self) -> EdgeSolution | None:
        """The solution of the onloading the LP stands at, sized to the current columns (None before a solve)."""
        sol = self._solution
        if sol is not None and len(sol.values) < len(self.column_kind):
            # Columns added since are closed at this onloading: their values are 0.
            sol = replace(sol, values=np.concatenate([sol.values, np.zeros(len(self.column_kind) - len(sol.values))]))
            self._solution = sol
        return sol

    def solve(self, x: np.ndarray, y_edge: np.ndarray) -> EdgeSolution:
        """The solution at onloading (x (N, M), y_edge (M,)): solved now unless it is known."""
        xs, y = self._local(x, y_edge)
        at = self._at
        if not (self._solution is not None and np.array_equal(xs, at[0]) and np.array_equal(y, at[1])):
            self._set_onloading(xs, y)
            self._at, self._solution = (xs, y), self._run()
        return self.solution

    @contextmanager
    def trial(self, x: np.ndarray, y_edge: np.ndarray) -> Iterator[EdgeSolution]:
        """Solve onloading (x, y_edge) and, on leaving the block, stand again at the onloading and
        solution before it (the basis stays where the trial left it: the next solve starts from
        it as well as from any)."""
        at, before = self._at, self.solution
        try:
            yield self.solve(x, y_edge)
        finally:
            self._at, self._solution = at, before

    def accept(self, x: np.ndarray, y_edge: np.ndarray, solution: EdgeSolution) -> None:
        """Stand at onloading (x, y_edge) whose ``solution`` an earlier solve or trial gave, without solving."""
        self._at, self._solution = self._local(x, y_edge), solution

    def _run(self) -> EdgeSolution:
        """Solve the LP as it stands. Duals are >= 0 (the rows are <= rows of a maximisation)."""
        h = self.highs
        if len(self.column_kind) == 0:
            # No route is open (every one unroutable, program.routable): all of the edge's queries
            # are dropped, no row binds. HiGHS would report an empty model instead of solving it.
            return EdgeSolution(np.zeros(0), self._duals(np.zeros(h.getNumRow())), 0.0)
        if self._basis is not None:
            basis, self._basis = self._basis, None
            h.setBasis(basis)   # refused (an invalid basis): the run starts from HiGHS' own
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            # A warm start gone wrong is rare; start again from scratch once.
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"edge {self.edge} routing LP: {h.modelStatusToString(status)}")
        sol = h.getSolution()
        # Duals per unit of the summed objective (accuracy * queries/s); objective as its share of A.
        duals = np.maximum(np.asarray(sol.row_dual), 0.0) * self.unit
        return EdgeSolution(np.asarray(sol.col_value), self._duals(duals),
                            h.getObjectiveValue() * self.objective_scale)

    def _duals(self, d: np.ndarray) -> EdgeDuals:
        P, C = self.P, self.C
        cap = d[self._row_cap:self._row_cap + self.inst.n_models] if self.inst.batching else np.zeros(self.inst.n_models)
        return EdgeDuals(conservation=d[:P], compute=d[P:P + C], uplink=d[P + C:P + 2 * C],
                         backhaul=float(d[self._row_backhaul]), gpu=float(d[self._row_gpu]), cap=cap)


class Offloading:
    """Routing LP outcome for one onloading (x, y).

    ``objective`` is its mean accuracy A and ``duals`` the prices read off the capacity rows;
    ``raw`` the LP's routing as solved (rows hold to the LP tolerance, about 1e-7), assembled
    from the edges' column values on first use: J3O solves many onloadings and needs the routing
    of few. ``repaired()`` gives the exactly feasible solution (docs/placement.rst section 3,
    Certificate).
    """

    def __init__(self, instance: PlacementInstance, x: np.ndarray, y: np.ndarray, objective: float,
                 duals: Prices, parts: list):
        self.instance = instance
        self.x, self.y = x, y                # onloading (N, M) and (E, M), bool
        self.objective = objective
        self.duals = duals
        self._parts = parts                  # (edge LP, its column values) per solved edge

    @cached_property
    def raw(self) -> PlacementSolution:
        inst = self.instance
        local, edge = [], []
        cloud = np.zeros((inst.n_clients, inst.n_tasks))
        for lp, values in self._parts:
            # Columns are only ever appended, so the first len(values) describe this solve.
            n = len(values)
            kind, pair, model = lp.column_kind[:n], lp.column_pair[:n], lp.column_model[:n]
            positive = values > 0
            for k, out in ((LOCAL, local), (EDGE, edge)):
                keep = positive & (kind == k)
                p = pair[keep]
                out.append((lp.pair_client[p], lp.pair_task[p], model[keep], values[keep]))
            is_cloud = kind == CLOUD
            p = pair[is_cloud]
            cloud[lp.pair_client[p], lp.pair_task[p]] = values[is_cloud]

        def routes(parts):
            if not parts:
                return Routes.empty()
            return Routes(*(np.concatenate([p[i] for p in parts]) for i in range(4)))

        return PlacementSolution(self.x, self.y, routes(local), routes(edge), cloud, np.zeros_like(cloud))

    def repaired(self) -> PlacementSolution:
        return repair_routing(self.instance, self.raw)

    @cached_property
    def client_models_used(self) -> np.ndarray:
        """(N, M) bool: the onloaded client models the routing sends queries to. (A closed
        column may hold solver noise, ~1e-14: not a use; the repair drops it.)"""
        local = self.raw.local
        used = np.zeros_like(self.x)
        used[local.client[local.fraction > 0], local.model[local.fraction > 0]] = True
        return used & self.x

    @cached_property
    def edge_models_used(self) -> np.ndarray:
        """(E, M) bool: the onloaded edge models the routing sends queries to."""
        edge = self.raw.edge
        used = np.zeros_like(self.y)
        routed = edge.fraction > 0
        used[self.instance.client_edge[edge.client[routed]], edge.model[routed]] = True
        return used & self.y

    def with_client_models(self, x: np.ndarray) -> "Offloading":
        """The same routing, objective and duals with the clients' onloading ``x`` (N, M) bool
        instead: ``x`` must hold every client model the routing uses (``client_models_used``);
        the others carry nothing, so which of them are loaded changes nothing routed (the duals
        stay those of the LP solved)."""
        x = readonly(np.array(x, dtype=bool))
        if x.shape != self.x.shape or (self.client_models_used & ~x).any():
            raise ValueError("the client onloading must hold every client model the routing uses")
        return Offloading(self.instance, x, self.y, self.objective, self.duals, self._parts)


class RoutingLP:
    """The routing LP of an instance as one kept HiGHS model per edge (module docstring).

    >>> import numpy as np
    >>> from j3o_fast.placement import generate
    >>> inst = generate("nyu", 20, 2, seed=1)
    >>> lp = RoutingLP(inst)
    >>> none = lp.solve(np.zeros((20, inst.n_models), bool), np.zeros((2, inst.n_models), bool))
    >>> 0 < none.objective <= 1          # cloud only
    True
    """

    def __init__(self, instance: PlacementInstance, *, threads: int | None = 1, cloud: bool = True):
        """``threads`` edge LPs are solved at once (None: every usable core); ``cloud=False``
        forbids routing to the cloud (the local-only and edge-only baselines)."""
        self.instance = instance
        start, order = instance.clients_by_edge
        self.edges = [
            EdgeLP(instance, e, np.sort(order[start[e]:start[e + 1]]), cloud)
            for e in range(instance.n_edges)
        ]
        self.pool = WorkerPool(min(resolve_threads(threads), max(instance.n_edges, 1)))

    def restart_from(self, other: "RoutingLP") -> int:
        """Before the first solve: give each edge LP ``other``'s columns and last basis
        (``EdgeLP.replay``) where the edge's pairs are the same; ``other`` is the routing LP of an
        instance with the same structure and changed numbers. Returns how many edges took a basis."""
        if len(other.edges) != len(self.edges):
            return 0
        taken = 0
        for e, (new, old) in enumerate(zip(self.edges, other.edges)):
            if new.P == 0:
                continue
            if new.replay(old):
                taken += 1
            else:
                self.edges[e] = EdgeLP(self.instance, e, new.clients, new.cloud_upper > 0)
        return taken

    def close(self) -> None:
        """Stop the worker threads (the models stay usable, solved on the calling thread after)."""
        self.pool.close()
        self.pool = WorkerPool(1)

    def __enter__(self) -> "RoutingLP":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def solve(self, x: np.ndarray, y: np.ndarray) -> Offloading:
        """Best routing for onloading (x (N, M), y (E, M)); edges whose part did not change are not re-solved."""
        inst = self.instance
        N, E, M = inst.n_clients, inst.n_edges, inst.n_models
        x, y = readonly(np.array(x, dtype=bool)), readonly(np.array(y, dtype=bool))  # kept by the result
        mu, beta = np.zeros(N), np.zeros(N)
        nu, gamma, kappa = np.zeros(E), np.zeros(E), np.zeros((E, M))
        objective = 0.0
        parts = []

        active = [lp for lp in self.edges if lp.P > 0]
        for lp, sol in zip(active, self.pool.map(lambda lp: lp.solve(x, y[lp.edge]), active)):
            objective += sol.objective
            parts.append((lp, sol.values))
            d = sol.duals
            mu[lp.clients], beta[lp.clients] = d.compute, d.uplink
            gamma[lp.edge], nu[lp.edge], kappa[lp.edge] = d.backhaul, d.gpu, d.cap
        return Offloading(inst, x, y, objective, Prices(mu, beta, nu, gamma, kappa), parts)
