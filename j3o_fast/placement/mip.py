"""The exact mixed-integer program (P) of docs/placement.rst section 2, solved by HiGHS.

Only variables that can be nonzero are created: x[n,m] only where m fits the client's memory and
serves one of its requested tasks, y[e,m] only where m fits the edge (and its batch's fixed GPU
time fits, in window mode), l/h only for covered (n,t,m) with rate > 0 and an onloadable m.
Drop is the slack of the conservation row. Capacity rows are divided by their capacity, so
every row reads "<= 1" and row duals are the normalised prices of section 3. A route whose
coefficient in one of those rows exceeds ``program.MAX_ROUTE_COEF`` is not created
(``program.routable``). The columns' objective and row entries come from program.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
import scipy.sparse as sp

from .._highs import new_highs
from .._threads import WorkerPool, resolve_threads
from .._validate import Bool, Int, Real, Threads, check_options
from ..result import SolveResult
from .instance import PlacementInstance
from .program import CLOUD, EDGE, LOCAL, cost_unit, route_objective, route_rows, routable
from .repair import carried_traffic, fit_onloading, repair_routing
from .solution import PlacementSolution, Routes
from .usage import routing_usage


@dataclass(frozen=True, eq=False)
class PlacementModel:
    """The columns and rows of (P) as flat arrays, ready for HiGHS.

    Column blocks, in order: x (client, model), y (edge, model), l (pair, model),
    h (pair, model), c (pair); a pair is a (client, task) with rate > 0.
    """

    pair_client: np.ndarray
    pair_task: np.ndarray
    x_client: np.ndarray
    x_model: np.ndarray
    y_edge: np.ndarray
    y_model: np.ndarray
    l_pair: np.ndarray
    l_model: np.ndarray
    h_pair: np.ndarray
    h_model: np.ndarray
    cost: np.ndarray          # objective coefficients (maximise): rate*accuracy / mean pair rate
    objective_scale: float    # A = objective_scale * (cost . columns)
    matrix: sp.csc_matrix     # rows x columns
    row_upper: np.ndarray     # every row is  -inf <= a.x <= row_upper
    n_binary: int             # the first n_binary columns are x and y
    col_upper: np.ndarray | None = None   # column upper bounds where some are not 1 (unroutable cloud)

    @property
    def offsets(self) -> tuple[int, int, int, int, int]:
        """Start of each column block: x, y, l, h, c."""
        nx, ny, nl, nh = len(self.x_model), len(self.y_model), len(self.l_model), len(self.h_model)
        return 0, nx, nx + ny, nx + ny + nl, nx + ny + nl + nh


def build_model(instance: PlacementInstance) -> PlacementModel:
    """Assemble (P) vectorised as one sparse matrix (see module docstring)."""
    inst = instance
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    rate, cover = inst.rate, inst.cover
    pair_client, pair_task = np.nonzero(rate > 0)
    P = len(pair_client)
    pair_rate = rate[pair_client, pair_task]
    edge_of_pair = inst.client_edge[pair_client]

    # Candidate onloadings: fits memory and serves something that is asked for there.
    wanted_at_client = (rate > 0).astype(np.int64) @ cover.T.astype(np.int64) > 0          # (N, M)
    x_ok = wanted_at_client & (inst.memory_mb[None, :] <= inst.client_memory_mb[:, None])
    wanted_at_edge = np.zeros((E, M), dtype=bool)
    np.logical_or.at(wanted_at_edge, inst.client_edge, wanted_at_client)
    y_ok = wanted_at_edge & (inst.memory_mb[None, :] <= inst.edge_memory_mb[:, None])
    y_ok &= inst.edge_fixed_share <= 1.0
    x_client, x_model = np.nonzero(x_ok)
    y_edge, y_model = np.nonzero(y_ok)
    x_col = np.full((N, M), -1, dtype=np.int64)
    x_col[x_client, x_model] = np.arange(len(x_client))
    y_col = np.full((E, M), -1, dtype=np.int64)
    y_col[y_edge, y_model] = len(x_client) + np.arange(len(y_edge))

    covered = cover[:, pair_task].T                                                       # (P, M)
    l_pair, l_model = np.nonzero(covered & x_ok[pair_client])
    h_pair, h_model = np.nonzero(covered & y_ok[edge_of_pair])
    # Row coefficients and objective of the routes, per unit of their fraction (program.py).
    l_rows = route_rows(inst, LOCAL, pair_client[l_pair], pair_task[l_pair], l_model, pair_rate[l_pair])
    h_rows = route_rows(inst, EDGE, pair_client[h_pair], pair_task[h_pair], h_model, pair_rate[h_pair])
    c_rows = route_rows(inst, CLOUD, pair_client, pair_task, pair_task, pair_rate)
    keep_l, keep_h = routable(l_rows), routable(h_rows)
    if not keep_l.all():
        l_pair, l_model, l_rows = l_pair[keep_l], l_model[keep_l], {k: v[keep_l] for k, v in l_rows.items()}
    if not keep_h.all():
        h_pair, h_model, h_rows = h_pair[keep_h], h_model[keep_h], {k: v[keep_h] for k, v in h_rows.items()}
    # A pair whose cloud route is not routable keeps its column, fixed at 0, with zero entries.
    c_dead = ~routable(c_rows)
    col_upper = None
    if c_dead.any():
        c_rows = {k: np.where(c_dead, 0.0, v) for k, v in c_rows.items()}
    nx, ny, nl, nh = len(x_client), len(y_edge), len(l_pair), len(h_pair)
    l0 = nx + ny
    h0 = l0 + nl
    c0 = h0 + nh
    l_cols = l0 + np.arange(nl)
    h_cols = h0 + np.arange(nh)
    c_cols = c0 + np.arange(P)
    n_cols = c0 + P

    unit, objective_scale = cost_unit(pair_rate, inst.total_rate)
    cost = np.zeros(n_cols)
    cost[l_cols] = route_objective(inst, LOCAL, pair_task[l_pair], l_model, pair_rate[l_pair]) / unit
    cost[h_cols] = route_objective(inst, EDGE, pair_task[h_pair], h_model, pair_rate[h_pair]) / unit
    cost[c_cols] = route_objective(inst, CLOUD, pair_task, pair_task, pair_rate) / unit
    if c_dead.any():
        cost[c_cols[c_dead]] = 0.0
        col_upper = np.ones(n_cols)
        col_upper[c_cols[c_dead]] = 0.0

    rows, cols, vals, upper = [], [], [], []
    n_rows = 0

    def add(r, c, val, n_new, ub):
        nonlocal n_rows
        rows.append(n_rows + np.asarray(r, dtype=np.int64))
        cols.append(np.asarray(c, dtype=np.int64))
        vals.append(np.broadcast_to(np.asarray(val, dtype=np.float64), np.shape(c)))
        upper.append(np.broadcast_to(np.float64(ub), (n_new,)))
        n_rows += n_new

    # 1. conservation: sum_m l + sum_m h + c <= 1 (drop is the slack)
    add(np.concatenate([l_pair, h_pair, np.arange(P)]), np.concatenate([l_cols, h_cols, c_cols]), 1.0, P, 1.0)
    # 2. coupling: l - x <= 0, h - y <= 0, one row per routing variable
    add(np.repeat(np.arange(nl), 2),
        np.column_stack([l_cols, x_col[pair_client[l_pair], l_model]]).ravel(),
        np.tile([1.0, -1.0], nl), nl, 0.0)
    add(np.repeat(np.arange(nh), 2),
        np.column_stack([h_cols, y_col[edge_of_pair[h_pair], h_model]]).ravel(),
        np.tile([1.0, -1.0], nh), nh, 0.0)
    # 3. memory: sum_m mem*x / mem_n <= 1, sum_m mem*y / mem_e <= 1
    add(x_client, np.arange(nx), inst.memory_mb[x_model] / inst.client_memory_mb[x_client], N, 1.0)
    add(y_edge, nx + np.arange(ny), inst.memory_mb[y_model] / inst.edge_memory_mb[y_edge], E, 1.0)
    # 4. client compute: sum rate*gflop*l / gflops_n <= 1
    add(pair_client[l_pair], l_cols, l_rows["compute"], N, 1.0)
    # 5. uplink: sum rate*payload*(h + c) / uplink_n <= 1
    add(np.concatenate([pair_client[h_pair], pair_client]), np.concatenate([h_cols, c_cols]),
        np.concatenate([h_rows["uplink"], c_rows["uplink"]]), N, 1.0)
    # 6. backhaul: sum rate*payload*c / backhaul_e <= 1
    add(edge_of_pair, c_cols, c_rows["backhaul"], E, 1.0)
    # 7. GPU time: sum g[m]*rate*h / speed_e (+ tau0*y/(W*speed_e) in window mode) <= 1
    e_h = edge_of_pair[h_pair]
    gpu_r = np.concatenate([e_h, y_edge])
    gpu_c = np.concatenate([h_cols, nx + np.arange(ny)])
    gpu_v = np.concatenate([h_rows["gpu"], inst.edge_fixed_share[y_edge, y_model]])
    add(gpu_r, gpu_c, gpu_v, E, 1.0)
    #    batch cap (window mode): L[e,m]*W/bmax[m] - y[e,m] <= 0, one row per edge candidate
    if inst.batching:
        y_row = y_col[e_h, h_model] - nx
        add(np.concatenate([y_row, np.arange(ny)]), np.concatenate([h_cols, nx + np.arange(ny)]),
            np.concatenate([h_rows["cap"], -np.ones(ny)]),
            ny, 0.0)

    matrix = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n_cols)
    )
    return PlacementModel(
        pair_client=pair_client, pair_task=pair_task, x_client=x_client, x_model=x_model,
        y_edge=y_edge, y_model=y_model, l_pair=l_pair, l_model=l_model, h_pair=h_pair,
        h_model=h_model, cost=cost, objective_scale=objective_scale, matrix=matrix,
        row_upper=np.concatenate(upper), n_binary=nx + ny, col_upper=col_upper,
    )


def to_highs(model: PlacementModel, *, integer: bool) -> highspy.HighsLp:
    """The model as a HiGHS LP (maximise), with x and y integral if ``integer``."""
    lp = highspy.HighsLp()
    n_rows, n_cols = model.matrix.shape
    lp.num_col_, lp.num_row_ = n_cols, n_rows
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = model.cost
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = np.ones(n_cols) if model.col_upper is None else model.col_upper
    lp.row_lower_ = np.full(n_rows, -highspy.kHighsInf)
    lp.row_upper_ = model.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = model.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = model.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = model.matrix.data
    if integer:
        kinds = [highspy.HighsVarType.kContinuous] * n_cols
        kinds[: model.n_binary] = [highspy.HighsVarType.kInteger] * model.n_binary
        lp.integrality_ = kinds
    return lp


def _new_highs(*, threads: int | None, time_limit: float | None, verbose: bool) -> highspy.Highs:
    h = new_highs(verbose=verbose)
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    return h


def _run(h: highspy.Highs) -> None:
    """``h.run()``; once more after resetting HiGHS' thread scheduler if it refused to start.

    HiGHS sizes one scheduler per process at its first run. A later run that asks for another
    explicit ``threads`` (say 2 after a run with 1) stops before solving, status 'Not Set'
    ("global scheduler has already been initialized"): the scheduler is rebuilt for it. HiGHS
    keeps that scheduler per calling thread, so the rebuild touches only this thread's runs:
    MIPs with different ``threads`` solved at once from several Python threads do not disturb
    each other (tests/test_thread_safety.py resets it in a loop beside a running solve). The
    edge LPs solved side by side still leave ``threads`` unset, which any scheduler accepts.
    """
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        highspy.Highs.resetGlobalScheduler(True)
        h.run()


def decision_from_columns(instance: PlacementInstance, model: PlacementModel, values: np.ndarray) -> PlacementSolution:
    """Round x, y; read l, h, c; repair the routing to exact feasibility."""
    inst = instance
    ox, oy, ol, oh, oc = model.offsets
    x = np.zeros((inst.n_clients, inst.n_models), dtype=bool)
    x[model.x_client, model.x_model] = values[ox:oy] > 0.5
    y = np.zeros((inst.n_edges, inst.n_models), dtype=bool)
    y[model.y_edge, model.y_model] = values[oy:ol] > 0.5
    pc, pt = model.pair_client, model.pair_task
    local = Routes(pc[model.l_pair], pt[model.l_pair], model.l_model, values[ol:oh])
    edge = Routes(pc[model.h_pair], pt[model.h_pair], model.h_model, values[oh:oc])
    cloud = np.zeros((inst.n_clients, inst.n_tasks))
    cloud[pc, pt] = values[oc:]
    # HiGHS meets a MIP's rows to its feasibility tolerance (1e-6) and ignores entries of at
    # most 1e-9: many models of a few bytes fitted with one that fills a node.
    x, y = fit_onloading(inst, x, y, *carried_traffic(inst, local, edge))
    raw = PlacementSolution(x, y, local, edge, cloud, np.zeros_like(cloud))
    return repair_routing(inst, raw)


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kModelEmpty: "optimal",  # no demand: nothing to decide
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
}


@check_options(time_limit=Real(0.0, low_open=True, allow_none=True, unit="seconds"),
               mip_rel_gap=Real(0.0, 1.0, high_open=True), threads=Int(1, allow_none=True), verbose=Bool())
def solve_mip(instance: PlacementInstance, *, time_limit: float | None = None, mip_rel_gap: float = 1e-6,
              threads: int | None = None, verbose: bool = False) -> SolveResult:
    """Solve (P) exactly with HiGHS branch and bound.

    Returns a SolveResult whose ``objective`` is the mean accuracy A of the returned (repaired,
    verifiable) solution and ``upper_bound`` HiGHS' best bound. Status ``optimal`` means proven
    within ``mip_rel_gap``; ``time_limit`` returns the incumbent (the all-drop solution is always
    supplied as a start, so there is one). ``threads`` None leaves HiGHS' default.

    Examples
    --------
    >>> from j3o_fast.placement import generate, solve_mip, verify
    >>> inst = generate("nyu", n_clients=5, n_edges=1, seed=0)
    >>> res = solve_mip(inst)
    >>> res.status, verify(inst, res.decision).ok
    ('optimal', True)
    """
    t0 = time.perf_counter()
    model = build_model(instance)
    lp = to_highs(model, integer=True)
    t_build = time.perf_counter() - t0

    h = _new_highs(threads=threads, time_limit=time_limit, verbose=verbose)
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.passModel(lp)
    start = highspy.HighsSolution()
    start.col_value = np.zeros(lp.num_col_)  # all dropped: always feasible
    start.value_valid = True
    h.setSolution(start)
    _run(h)
    t_solve = time.perf_counter() - t0 - t_build

    status = _STATUS.get(h.getModelStatus(), "error")
    info = h.getInfo()
    values = np.asarray(h.getSolution().col_value) if info.primal_solution_status >= 1 else None
    if lp.num_col_ == 0:
        values = np.zeros(0)
    elif values is None or len(values) != lp.num_col_:
        values = np.zeros(lp.num_col_)
        status = "error" if status == "optimal" else status
    decision = decision_from_columns(instance, model, values)
    objective = routing_usage(instance, decision).objective
    bound = float(info.mip_dual_bound) * model.objective_scale if np.isfinite(info.mip_dual_bound) else None
    runtime = time.perf_counter() - t0
    return SolveResult(
        method="mip", status=status, objective=objective, decision=decision, runtime_s=runtime,
        upper_bound=bound, iterations=int(info.mip_node_count),
        message=h.modelStatusToString(h.getModelStatus()),
        phase_times={"build": t_build, "solve": t_solve, "repair": runtime - t_build - t_solve},
    )


def edge_subinstance(instance: PlacementInstance, edge: int) -> PlacementInstance:
    """The clients of one edge with that edge alone: (P) separates exactly into these parts."""
    inst = instance
    clients = np.nonzero(inst.client_edge == edge)[0]
    return replace(
        inst, client_edge=np.zeros(len(clients), dtype=np.int64), client_memory_mb=inst.client_memory_mb[clients],
        client_gflops=inst.client_gflops[clients], client_uplink_mbps=inst.client_uplink_mbps[clients],
        rate=inst.rate[clients], edge_memory_mb=inst.edge_memory_mb[[edge]], edge_speed=inst.edge_speed[[edge]],
        edge_backhaul_mbps=inst.edge_backhaul_mbps[[edge]])


def _relaxation_value(instance: PlacementInstance, threads: int | None, *, serial: bool = False) -> float:
    """LP relaxation value. ``serial``: one serial simplex with HiGHS' thread count left unset,
    for solves that run side by side on our own threads (an explicit count could make HiGHS
    rebuild its process-wide scheduler under a running solve: ``_run``)."""
    h = _new_highs(threads=None if serial else threads, time_limit=None, verbose=False)
    if serial:
        h.setOptionValue("parallel", "off")
    model = build_model(instance)
    h.passModel(to_highs(model, integer=False))
    _run(h)
    if h.getModelStatus() == highspy.HighsModelStatus.kModelEmpty:
        return 0.0
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"LP relaxation not solved: {h.modelStatusToString(h.getModelStatus())}")
    return float(h.getInfo().objective_function_value) * model.objective_scale


@check_options(threads=Threads())
def lp_upper_bound(instance: PlacementInstance, *, threads: int | None = None) -> float:
    """Value of the LP relaxation of (P) (x, y in [0, 1]): an upper bound on A for any method.

    Clients of different edges share no constraint, so the relaxation is solved edge by edge
    (much faster than one large LP), ``threads`` edges at once (None: every usable core), and
    the parts are weighted by their share of the queries.

    >>> from j3o_fast.placement import generate, lp_upper_bound, solve_mip
    >>> inst = generate("nyu", 5, 1, seed=0)
    >>> lp_upper_bound(inst) >= solve_mip(inst).objective - 1e-9
    True
    """
    workers = resolve_threads(threads)
    if instance.n_edges == 1 or instance.total_rate == 0:
        return _relaxation_value(instance, threads)
    demand = np.bincount(instance.client_edge, weights=instance.rate.sum(axis=1), minlength=instance.n_edges)

    def part_value(e: np.intp) -> float:
        part = edge_subinstance(instance, int(e))
        return _relaxation_value(part, None, serial=True) * part.total_rate

    with WorkerPool(workers) as pool:
        return sum(pool.map(part_value, np.nonzero(demand > 0)[0])) / instance.total_rate
