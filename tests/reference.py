"""Slow, obviously-correct twins of the compiled kernels and exact solvers, for tests only.

Each function is plain Python/NumPy written for clarity, not speed. Sections per domain.
"""

from __future__ import annotations

import numpy as np

# ================================================================================================
# Placement
# ================================================================================================


def routing_usage_reference(inst, sol):
    """Twin of j3o_fast.placement.usage.routing_usage: one plain loop per routing entry."""
    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks
    assigned = [[float(sol.cloud[n, t] + sol.drop[n, t]) for t in range(K)] for n in range(N)]
    gflops = [0.0] * N
    uplink = [0.0] * N
    backhaul = [0.0] * E
    load = [[0.0] * M for _ in range(E)]
    served = 0.0
    uncoupled = 0
    for n in range(N):
        e = int(inst.client_edge[n])
        for t in range(K):
            r, c = float(inst.rate[n, t]), float(sol.cloud[n, t])
            uplink[n] += r * inst.payload_mbit[t] * c
            backhaul[e] += r * inst.payload_mbit[t] * c
            served += r * inst.cloud_accuracy[t] * c
    for n, t, m, f in zip(sol.local.client, sol.local.task, sol.local.model, sol.local.fraction):
        r = float(inst.rate[n, t])
        assigned[n][t] += f
        if f > 1e-9 and not (sol.client_models[n, m] and inst.cover[m, t]):
            uncoupled += 1
        if inst.cover[m, t]:
            gflops[n] += r * inst.gflop[m, t] * f
            served += r * inst.accuracy[m, t] * f
    for n, t, m, f in zip(sol.edge.client, sol.edge.task, sol.edge.model, sol.edge.fraction):
        r, e = float(inst.rate[n, t]), int(inst.client_edge[n])
        assigned[n][t] += f
        uplink[n] += r * inst.payload_mbit[t] * f
        load[e][m] += r * f
        if f > 1e-9 and not (sol.edge_models[e, m] and inst.cover[m, t]):
            uncoupled += 1
        if inst.cover[m, t]:
            served += r * inst.accuracy[m, t] * f
    gpu = []
    for e in range(E):
        share = 0.0
        for m in range(M):
            if inst.batching:
                share += (inst.batch_tau0_s[m] * sol.edge_models[e, m] / inst.batching_window_s
                          + inst.batch_tau1_s[m] * load[e][m]) / inst.edge_speed[e]
            else:
                share += (inst.batch_tau0_s[m] + inst.batch_tau1_s[m]) * load[e][m] / inst.edge_speed[e]
        gpu.append(share)
    total = float(inst.rate.sum())
    return dict(assigned=np.array(assigned), client_gflops=np.array(gflops), uplink_mbps=np.array(uplink),
                backhaul_mbps=np.array(backhaul), edge_load=np.array(load), gpu_share=np.array(gpu),
                objective=served / total if total > 0 else 0.0, n_uncoupled=uncoupled)


def routing_lp_reference(inst, x, y):
    """Best mean accuracy for a fixed onloading (x, y): the routing LP of (P), built row by row.

    Written independently of j3o_fast.placement.mip (dense matrices, scipy.optimize.linprog).
    Variables per (n, t) with rate > 0: l[m] for covered m with x[n,m], h[m] for covered m with
    y[e,m], c; drop is the slack of the conservation row.
    """
    from scipy.optimize import linprog

    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks
    W = inst.batching_window_s
    # every fixed batch time of the edge must fit (constraint 7 with L = 0)
    for e in range(E):
        if W is not None and sum(inst.batch_tau0_s[m] * y[e][m] / (W * inst.edge_speed[e]) for m in range(M)) > 1:
            return None
    cols = []  # (kind, n, t, m)
    for n in range(N):
        e = inst.client_edge[n]
        for t in range(K):
            if inst.rate[n, t] <= 0:
                continue
            for m in range(M):
                if inst.cover[m, t] and x[n][m]:
                    cols.append(("l", n, t, m))
                if inst.cover[m, t] and y[e][m]:
                    cols.append(("h", n, t, m))
            cols.append(("c", n, t, -1))
    if not cols:
        return 0.0
    total = float(inst.rate.sum())
    obj = []
    for kind, n, t, m in cols:
        a = inst.cloud_accuracy[t] if kind == "c" else inst.accuracy[m, t]
        obj.append(-inst.rate[n, t] * a / total)
    A, b = [], []

    def row(coef_of):
        A.append([coef_of(*c) for c in cols])

    for n in range(N):
        for t in range(K):
            if inst.rate[n, t] > 0:
                row(lambda k, nn, tt, m: 1.0 if (nn, tt) == (n, t) else 0.0)
                b.append(1.0)
        row(lambda k, nn, tt, m: inst.rate[nn, tt] * inst.gflop[m, tt] if k == "l" and nn == n else 0.0)
        b.append(inst.client_gflops[n])
        row(lambda k, nn, tt, m: inst.rate[nn, tt] * inst.payload_mbit[tt] if k in "hc" and nn == n else 0.0)
        b.append(inst.client_uplink_mbps[n])
    for e in range(E):
        row(lambda k, nn, tt, m: inst.rate[nn, tt] * inst.payload_mbit[tt]
            if k == "c" and inst.client_edge[nn] == e else 0.0)
        b.append(inst.edge_backhaul_mbps[e])
        if W is None:
            row(lambda k, nn, tt, m: inst.rate[nn, tt] * (inst.batch_tau0_s[m] + inst.batch_tau1_s[m])
                / inst.edge_speed[e] if k == "h" and inst.client_edge[nn] == e else 0.0)
            b.append(1.0)
        else:
            fixed = sum(inst.batch_tau0_s[m] * y[e][m] / (W * inst.edge_speed[e]) for m in range(M))
            row(lambda k, nn, tt, m: inst.rate[nn, tt] * inst.batch_tau1_s[m] / inst.edge_speed[e]
                if k == "h" and inst.client_edge[nn] == e else 0.0)
            b.append(1.0 - fixed)
            for m in range(M):
                if y[e][m]:
                    row(lambda k, nn, tt, mm: inst.rate[nn, tt] * W
                        if k == "h" and mm == m and inst.client_edge[nn] == e else 0.0)
                    b.append(float(inst.max_batch[m]))
    res = linprog(obj, A_ub=np.array(A), b_ub=np.array(b), bounds=(0, 1), method="highs")
    assert res.status == 0, res.message
    return -res.fun


def _feasible_subsets(n_models, memory, capacity):
    from itertools import product

    out = []
    for bits in product((0, 1), repeat=n_models):
        if sum(b * mem for b, mem in zip(bits, memory)) <= capacity:
            out.append(bits)
    return out


def brute_force_placement(inst):
    """Exact optimum of (P) by enumerating every memory-feasible onloading and solving its routing LP."""
    from itertools import product

    M = inst.n_models
    client_sets = [_feasible_subsets(M, inst.memory_mb, c) for c in inst.client_memory_mb]
    edge_sets = [_feasible_subsets(M, inst.memory_mb, c) for c in inst.edge_memory_mb]
    best = -1.0
    for x in product(*client_sets):
        for y in product(*edge_sets):
            value = routing_lp_reference(inst, x, y)
            if value is not None and value > best:
                best = value
    return best

