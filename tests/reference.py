"""Slow, obviously-correct twins of the compiled kernels and exact solvers, for tests only.

Each function is plain Python/NumPy written for clarity, not speed. Sections per domain.
"""

from __future__ import annotations

import math

import numpy as np

# ================================================================================================
# Placement
# ================================================================================================


def routing_usage_reference(inst, sol):
    """Twin of j3o_fast.placement.usage.routing_usage: one plain loop per routing entry, rows as
    shares of their capacity."""
    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks
    assigned = [[float(sol.cloud[n, t] + sol.drop[n, t]) for t in range(K)] for n in range(N)]
    compute = [0.0] * N
    uplink = [0.0] * N
    backhaul = [0.0] * E
    load = [[0.0] * M for _ in range(E)]
    served = 0.0
    uncoupled = 0
    for n in range(N):
        e = int(inst.client_edge[n])
        for t in range(K):
            r, c = float(inst.rate[n, t]), float(sol.cloud[n, t])
            uplink[n] += r * inst.payload_mbit[t] * c / inst.client_uplink_mbps[n]
            backhaul[e] += r * inst.payload_mbit[t] * c / inst.edge_backhaul_mbps[e]
            served += r * inst.cloud_accuracy[t] * c
    for n, t, m, f in zip(sol.local.client, sol.local.task, sol.local.model, sol.local.fraction):
        r = float(inst.rate[n, t])
        assigned[n][t] += f
        if f > 1e-9 and not (sol.client_models[n, m] and inst.cover[m, t]):
            uncoupled += 1
        if inst.cover[m, t]:
            compute[n] += r * inst.gflop[m, t] * f / inst.client_gflops[n]
            served += r * inst.accuracy[m, t] * f
    for n, t, m, f in zip(sol.edge.client, sol.edge.task, sol.edge.model, sol.edge.fraction):
        r, e = float(inst.rate[n, t]), int(inst.client_edge[n])
        assigned[n][t] += f
        uplink[n] += r * inst.payload_mbit[t] * f / inst.client_uplink_mbps[n]
        load[e][m] += r * f
        if f > 1e-9 and not (sol.edge_models[e, m] and inst.cover[m, t]):
            uncoupled += 1
        if inst.cover[m, t]:
            served += r * inst.accuracy[m, t] * f
    gpu, cap = [], [[0.0] * M for _ in range(E)]
    for e in range(E):
        share = 0.0
        for m in range(M):
            if inst.batching:
                share += (inst.batch_tau0_s[m] * sol.edge_models[e, m] / inst.batching_window_s
                          + inst.batch_tau1_s[m] * load[e][m]) / inst.edge_speed[e]
                cap[e][m] = load[e][m] * inst.batching_window_s / inst.max_batch[m]
            else:
                share += (inst.batch_tau0_s[m] + inst.batch_tau1_s[m]) * load[e][m] / inst.edge_speed[e]
        gpu.append(share)
    total = float(inst.rate.sum())
    return dict(assigned=np.array(assigned), compute=np.array(compute), uplink=np.array(uplink),
                backhaul=np.array(backhaul), edge_load=np.array(load), gpu=np.array(gpu), cap=np.array(cap),
                objective=served / total if total > 0 else 0.0, n_uncoupled=uncoupled)


def repair_routing_reference(inst, sol):
    """Twin of j3o_fast.placement.repair.repair_routing: the same steps in the same order, every
    row usage recomputed from scratch (routing_usage_reference) before each step, one plain loop
    per entry for the scaling."""
    from j3o_fast.placement.solution import PlacementSolution, Routes

    N, M, K = inst.n_clients, inst.n_models, inst.n_tasks
    edge_of = [int(e) for e in inst.client_edge]
    x, y = sol.client_models, sol.edge_models
    active = inst.rate > 0

    def clean(routes, node_models, node_of):
        kept = []
        for n, t, m, f in zip(routes.client, routes.task, routes.model, routes.fraction):
            f = min(max(float(f), 0.0), 1.0)
            if f > 0 and node_models[node_of(int(n)), m] and inst.cover[m, t] and active[n, t]:
                kept.append([int(n), int(t), int(m), f])
        return kept

    local = clean(sol.local, x, lambda n: n)
    edge = clean(sol.edge, y, lambda n: edge_of[n])
    cloud = [[min(max(float(sol.cloud[n, t]), 0.0), 1.0) if active[n, t] else 0.0 for t in range(K)]
             for n in range(N)]

    def usage():
        def routes(entries):
            if not entries:
                return Routes.empty()
            n, t, m, f = zip(*entries)
            return Routes(np.array(n), np.array(t), np.array(m), np.array(f))
        return routing_usage_reference(inst, PlacementSolution(x, y, routes(local), routes(edge), np.array(cloud),
                                                               np.zeros((N, K))))

    def factor(share):
        return 1.0 / share if share > 1.0 else 1.0

    u = usage()                                        # 1. conservation
    for entry in local + edge:
        entry[3] *= factor(u["assigned"][entry[0], entry[1]])
    cloud = [[cloud[n][t] * factor(u["assigned"][n, t]) for t in range(K)] for n in range(N)]
    u = usage()                                        # 4. client compute
    for entry in local:
        entry[3] *= factor(u["compute"][entry[0]])
    u = usage()                                        # 6. backhaul
    cloud = [[cloud[n][t] * factor(u["backhaul"][edge_of[n]]) for t in range(K)] for n in range(N)]
    u = usage()                                        # 5. uplink
    for entry in edge:
        entry[3] *= factor(u["uplink"][entry[0]])
    cloud = [[cloud[n][t] * factor(u["uplink"][n]) for t in range(K)] for n in range(N)]
    if inst.batching:                                  # 7. batch caps: cap[e, m] <= y[e, m]
        u = usage()
        for entry in edge:
            e, m = edge_of[entry[0]], entry[2]
            if u["cap"][e, m] > y[e, m]:
                entry[3] *= y[e, m] / u["cap"][e, m]
    u = usage()                                        # 7. GPU time: fixed + variable <= 1
    for entry in edge:
        e = edge_of[entry[0]]
        fixed = sum(inst.edge_fixed_share[e, m] for m in range(M) if y[e, m])
        variable = u["gpu"][e] - fixed
        room = max(1.0 - fixed, 0.0)
        if variable > room:
            entry[3] *= room / variable
    u = usage()
    drop = [[min(max(1.0 - u["assigned"][n, t], 0.0), 1.0) if active[n, t] else 0.0 for t in range(K)]
            for n in range(N)]
    return local, edge, np.array(cloud), np.array(drop)


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


def lagrangian_bound_reference(inst, x, y, prices):
    """Weak-duality bound on the routing LP of onloading (x, y) at prices theta, as a mean accuracy.

    Relaxing rows 4-7 at theta leaves one choice per pair, so for any theta >= 0

        LP(x, y) <= ( sum_{n,t} rate * max(0, best net value of (n,t))
                      + sum mu + sum beta + sum gamma + sum_e nu_e*(1 - fixed_e) + sum_{e,m} kappa*y )
                    / total rate,

    fixed_e the fixed batch share of edge e's onloaded models (the GPU row's right-hand side) and
    y[e,m] the batch-cap row's. Equality holds at the LP's exact duals, so a solver's objective
    and duals that leave a gap here are not optimal.
    """
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    served = reference_onload_value(inst, x, y, prices, True)     # sum rate*(best - base) - fixed costs
    base = sum(float(inst.rate[n, t]) * reference_base(inst, prices, n, t, True)
               for n in range(N) for t in range(inst.n_tasks) if inst.rate[n, t] > 0)
    capacity = (sum(float(v) for v in prices.mu) + sum(float(v) for v in prices.beta)
                + sum(float(v) for v in prices.gamma) + sum(float(v) for v in prices.nu)
                + sum(float(prices.kappa[e, m]) for e in range(E) for m in range(M) if y[e][m]))
    return (served + base + capacity) / float(inst.rate.sum())


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


# ------------------------------------------------------------------------------------------------
# Placement: onloading
# ------------------------------------------------------------------------------------------------


def reference_candidates(inst):
    """Twin of placement.onload.build_candidates by plain loops.

    Returns (slots, cands): slots = [(n, t)] with rate > 0 in row-major order; cands = [(node,
    model, edge, [slot ids])] grouped by edge: for each edge e, the client placements (n, m) of
    its clients (by n, then m), then its own placements (node N + e, by m); ``edge`` is the
    node's edge.
    """
    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks
    slots = [(n, t) for n in range(N) for t in range(K) if inst.rate[n, t] > 0]
    slot_id = {pair: i for i, pair in enumerate(slots)}
    cands = []
    for e in range(E):
        clients = [n for n in range(N) if inst.client_edge[n] == e]
        for n in clients:
            for m in range(M):
                if inst.memory_mb[m] <= inst.client_memory_mb[n]:
                    served = [slot_id[(n, t)] for t in range(K) if inst.cover[m, t] and inst.rate[n, t] > 0]
                    if served:
                        cands.append((n, m, e, served))
        for m in range(M):
            fits = inst.memory_mb[m] <= inst.edge_memory_mb[e]
            if inst.batching_window_s is not None:
                fits = fits and inst.batch_tau0_s[m] / (inst.batching_window_s * inst.edge_speed[e]) <= 1.0
            served = [slot_id[(n, t)] for n in clients for t in range(K) if inst.cover[m, t] and inst.rate[n, t] > 0]
            if fits and served:
                cands.append((N + e, m, e, served))
    return slots, cands


def reference_query_value(inst, prices, n, t, m, on_edge):
    """Net value of one query of (n, t) via model m, locally or at edge_of[n] (docs/placement.rst section 3)."""
    acc = float(inst.accuracy[m, t])
    if not on_edge:
        return acc - float(prices.mu[n]) * float(inst.gflop[m, t]) / float(inst.client_gflops[n])
    e = int(inst.client_edge[n])
    W = inst.batching_window_s
    g = float(inst.batch_tau1_s[m]) if W is not None else float(inst.batch_tau0_s[m]) + float(inst.batch_tau1_s[m])
    v = (acc - float(prices.beta[n]) * float(inst.payload_mbit[t]) / float(inst.client_uplink_mbps[n])
         - float(prices.nu[e]) * g / float(inst.edge_speed[e]))
    if W is not None:
        v = v - float(prices.kappa[e, m]) * W / float(inst.max_batch[m])
    return v


def reference_base(inst, prices, n, t, cloud_available):
    """max(cloud, 0) for (n, t), or 0 with the cloud unavailable."""
    if not cloud_available:
        return 0.0
    e = int(inst.client_edge[n])
    p = float(inst.payload_mbit[t])
    cloud = (float(inst.cloud_accuracy[t]) - float(prices.beta[n]) * p / float(inst.client_uplink_mbps[n])
             - float(prices.gamma[e]) * p / float(inst.edge_backhaul_mbps[e]))
    return max(cloud, 0.0)


def reference_fixed_cost(inst, prices, e, m):
    """Per-window fixed batch cost of model m at edge e: nu_e * tau0[m]/(W*speed_e); 0 without batching."""
    W = inst.batching_window_s
    if W is None:
        return 0.0
    return float(prices.nu[e]) * (float(inst.batch_tau0_s[m]) / (W * float(inst.edge_speed[e])))


def reference_values(inst, slots, cands, prices, cloud_available):
    """Twin of placement.onload.query_values on the output of reference_candidates:
    (values per candidate as lists, base per slot, fixed cost per candidate)."""
    N = inst.n_clients
    values = [[reference_query_value(inst, prices, slots[s][0], slots[s][1], m, node >= N) for s in served]
              for node, m, _, served in cands]
    base = [reference_base(inst, prices, n, t, cloud_available) for n, t in slots]
    fixed = [reference_fixed_cost(inst, prices, edge, m) if node >= N else 0.0 for node, m, edge, _ in cands]
    return values, base, fixed


def reference_onload_value(inst, x, y, prices, cloud_available):
    """f(S) of the onloading (x, y) recomputed from scratch: sum over pairs with rate > 0 of
    rate * max(0, best value among onloaded models serving the pair - base), minus the fixed
    batch costs of every onloaded edge model."""
    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks
    total = 0.0
    for n in range(N):
        e = int(inst.client_edge[n])
        for t in range(K):
            if inst.rate[n, t] <= 0:
                continue
            base = reference_base(inst, prices, n, t, cloud_available)
            best = base
            for m in range(M):
                if not inst.cover[m, t]:
                    continue
                if x[n][m]:
                    best = max(best, reference_query_value(inst, prices, n, t, m, False))
                if y[e][m]:
                    best = max(best, reference_query_value(inst, prices, n, t, m, True))
            total += float(inst.rate[n, t]) * (best - base)
    return total - sum(reference_fixed_cost(inst, prices, e, m) for e in range(E) for m in range(M) if y[e][m])


def _greedy_inputs(indptr, slot, value, weight, node, memory, fixed_cost, fixed_use, eligible,
                   cur, best, memory_left, share_left):
    # Plain Python lists: the twin is about clarity, and list indexing keeps it from being
    # needlessly slow.
    ptr = np.asarray(indptr, dtype=np.int64).tolist()
    rows = list(zip(ptr[:-1], ptr[1:]))
    as_int = lambda a: np.asarray(a, dtype=np.int64).tolist()  # noqa: E731
    as_float = lambda a: np.asarray(a, dtype=np.float64).tolist()  # noqa: E731
    return (rows, as_int(slot), as_float(value), as_float(weight), as_int(node), as_float(memory),
            as_float(fixed_cost), as_float(fixed_use), np.asarray(eligible, dtype=bool).tolist(),
            as_float(cur), as_int(best), as_float(memory_left), as_float(share_left))


def _greedy_net_gain(rows, slot, value, weight, fixed_cost, cur, j):
    # Same terms in the same order as csrc/greedy.c, so sums agree bit for bit.
    g = 0.0
    for k in range(rows[j][0], rows[j][1]):
        d = value[k] - cur[slot[k]]
        if d > 0.0:
            g += weight[slot[k]] * d
    return g - fixed_cost[j]


def _greedy_fits(node, memory, fixed_use, memory_left, share_left, j):
    v = node[j]
    return memory[j] <= memory_left[v] + 1e-9 and fixed_use[j] <= share_left[v] + 1e-12


def _greedy_accept(rows, slot, value, node, memory, fixed_use, cur, best, memory_left, share_left, j):
    for k in range(rows[j][0], rows[j][1]):
        if value[k] > cur[slot[k]]:
            cur[slot[k]] = value[k]
            best[slot[k]] = j
    memory_left[node[j]] -= memory[j]
    share_left[node[j]] -= fixed_use[j]


def naive_greedy(indptr, slot, value, weight, node, memory, fixed_cost, fixed_use, eligible,
                 cur, best, memory_left, share_left, key_mode):
    """Plain greedy: every round, re-evaluate every remaining eligible candidate that fits its
    node and take the largest (key, -index) with gain > 0, key = gain/memory (key_mode 0) or
    gain (1). Inputs are not modified. Returns (order, cur, best, total_gain)."""
    rows, slot, value, weight, node, memory, fixed_cost, fixed_use, eligible, cur, best, mem, share = (
        _greedy_inputs(indptr, slot, value, weight, node, memory, fixed_cost, fixed_use, eligible,
                       cur, best, memory_left, share_left))
    remaining = [j for j in range(len(rows)) if eligible[j]]
    order, total = [], 0.0
    while True:
        pick, pick_key, pick_gain = -1, 0.0, 0.0
        for j in remaining:
            if not _greedy_fits(node, memory, fixed_use, mem, share, j):
                continue
            gain = _greedy_net_gain(rows, slot, value, weight, fixed_cost, cur, j)
            if gain <= 0.0:
                continue
            key = gain / memory[j] if key_mode == 0 else gain
            if pick < 0 or key > pick_key or (key == pick_key and j < pick):
                pick, pick_key, pick_gain = j, key, gain
        if pick < 0:
            break
        _greedy_accept(rows, slot, value, node, memory, fixed_use, cur, best, mem, share, pick)
        remaining.remove(pick)
        order.append(pick)
        total += pick_gain
    return np.array(order, dtype=np.int64), np.array(cur), np.array(best, dtype=np.int64), total


def python_lazy_greedy(indptr, slot, value, weight, node, memory, fixed_cost, fixed_use, eligible,
                       cur, best, memory_left, share_left, key_mode):
    """The algorithm of csrc/greedy.c in pure Python with heapq (entries (-key, index)): pop the
    top, drop it if it no longer fits or its fresh gain is <= 0, accept it if (fresh key, -index)
    >= the next top's (stale key, -index), else push it back. Inputs are not modified.
    Returns (order, cur, best, total_gain)."""
    import heapq

    rows, slot, value, weight, node, memory, fixed_cost, fixed_use, eligible, cur, best, mem, share = (
        _greedy_inputs(indptr, slot, value, weight, node, memory, fixed_cost, fixed_use, eligible,
                       cur, best, memory_left, share_left))

    def key_of(j, gain):
        return gain / memory[j] if key_mode == 0 else gain

    heap = []
    for j in range(len(rows)):
        if eligible[j] and _greedy_fits(node, memory, fixed_use, mem, share, j):
            gain = _greedy_net_gain(rows, slot, value, weight, fixed_cost, cur, j)
            if gain > 0.0:
                heap.append((-key_of(j, gain), j))
    heapq.heapify(heap)
    order, total = [], 0.0
    while heap:
        _, j = heapq.heappop(heap)
        if not _greedy_fits(node, memory, fixed_use, mem, share, j):
            continue
        gain = _greedy_net_gain(rows, slot, value, weight, fixed_cost, cur, j)
        if not gain > 0.0:
            continue
        entry = (-key_of(j, gain), j)
        if heap and heap[0] < entry:
            heapq.heappush(heap, entry)
            continue
        _greedy_accept(rows, slot, value, node, memory, fixed_use, cur, best, mem, share, j)
        order.append(j)
        total += gain
    return np.array(order, dtype=np.int64), np.array(cur), np.array(best, dtype=np.int64), total


# ================================================================================================
# Co-inference
# ================================================================================================
# Batch latency (j3o_fast/_nb_batching.py, shared with placement) and a prune-free oracle.


def affine_latency_reference(beta, alpha, cap, model, b):
    """Twin of _nb_batching.affine_latency: (status, out), status -1 or the first bad index."""
    out = np.zeros(len(b))
    for i in range(len(b)):
        m = int(model[i])
        if not 0 <= m < len(beta):
            return i, out
        if b[i] < 1 or (cap[m] > 0 and b[i] > cap[m]):
            return i, out
        out[i] = beta[m] + alpha[m] * b[i]
    return -1, out


def coinference_bruteforce(inst, gpu_free_s=0.0):
    """(users missing their deadline, least energy) over every plan of P0, by plain enumeration.

    Every partition vector; for each, every sequence of batches (any non-empty subset of the
    users at the same next sub-task, at most max_batch, started at max(GPU free, members'
    ready)), the GPU first free at ``gpu_free_s``. An offloaded user must meet its deadline; an
    all-local user that misses it counts. No pruning beyond dropping a branch once a finished
    user is late. Tiny instances only.
    """
    import itertools

    K, N = inst.n_users, inst.n_subtasks
    cap = inst.max_batch or K
    deadline = inst.release_s + inst.deadline_s

    def schedulable(part):
        users = [k for k in range(K) if part[k] < N]

        def rec(nxt, ready, gpu):
            todo = [i for i in range(len(users)) if nxt[i] <= N]
            if not todo:
                return True
            for n in range(1, N + 1):
                group = [i for i in todo if nxt[i] == n]
                for size in range(1, min(len(group), cap) + 1):
                    for members in itertools.combinations(group, size):
                        start = max([gpu] + [ready[i] for i in members])
                        end = start + inst.edge_beta_s[n - 1] + inst.edge_alpha_s[n - 1] * size
                        if n == N and any(end > deadline[users[i]] + 1e-12 for i in members):
                            continue
                        nxt2, ready2 = list(nxt), list(ready)
                        for i in members:
                            nxt2[i], ready2[i] = n + 1, end
                        if rec(nxt2, ready2, end):
                            return True
            return False

        return rec([part[k] + 1 for k in users],
                   [inst.release_s[k] + inst.ready_time[k, part[k]] for k in users], float(gpu_free_s))

    best = None
    for part in itertools.product(range(N + 1), repeat=K):
        missed = sum(1 for k in range(K) if part[k] == N and inst.local_time[k, N] > inst.deadline_s[k])
        energy = sum(inst.energy[k, part[k]] for k in range(K))
        if best is not None and (missed, energy) >= best:
            continue
        if schedulable(part):
            best = (missed, energy)
    return best


# ------------------------------------------------------------------------------------------------
# Co-inference: IP-SSA and OG
# ------------------------------------------------------------------------------------------------
# Costs are (users missing their deadline, energy) tuples compared lexicographically.

_CO_EPS = 1e-12


def _og_data(inst, grid=None, gpu_free_s=0.0):
    """Per-user data of OG in plain Python: sorted order, deadlines, thresholds, energies, tails.

    Threshold of s: max(rho + a(s), H) + R[s+1], H = ``gpu_free_s`` (the GPU is free from H).
    With a time grid q, times are in units of q: deadlines rounded down, thresholds and tails up.
    """
    import math

    K, N = inst.n_users, inst.n_subtasks
    cap = inst.max_batch if inst.max_batch is not None else K
    te = [float(inst.edge_beta_s[n] + inst.edge_alpha_s[n] * min(K, cap)) for n in range(N)]
    R = [0.0] * (N + 2)
    for n in range(N, 0, -1):
        R[n] = R[n + 1] + te[n - 1]
    deadline = [float(inst.release_s[k] + inst.deadline_s[k]) for k in range(K)]
    order = sorted(range(K), key=lambda k: (deadline[k], k))
    thresh, energy, local_ok = [], [], []
    for k in order:
        row = []
        for s in range(N):
            th = max(float(inst.release_s[k] + inst.ready_time[k, s]), gpu_free_s) + R[s + 1]
            row.append(th - _CO_EPS * max(1.0, abs(th)))
        thresh.append(row)
        energy.append([float(e) for e in inst.energy[k]])
        local_ok.append(bool(inst.local_time[k, N] <= inst.deadline_s[k]))
    D = [deadline[k] for k in order]
    if grid is not None:
        D = [math.floor(x / grid) for x in D]
        thresh = [[math.ceil(x / grid) for x in row] for row in thresh]
        R = [math.ceil(x / grid) for x in R]
    return dict(K=K, N=N, cap=cap, R=R, order=order, D=D, th=thresh, E=energy, local_ok=local_ok)


def _og_member(d, p, n, G):
    """(local cost, best upload (cost, s) or None) of sorted user p in a group (n, G)."""
    N = d["N"]
    local = (0 if d["local_ok"][p] else 1, d["E"][p][N])
    best = None
    for s in range(N - 1, n - 2, -1):          # descending: ties keep the larger s
        if d["th"][p][s] <= G and (best is None or d["E"][p][s] < best[0][1]):
            best = ((0, d["E"][p][s]), s)
    return local, best


def og_group_reference(d, members, n, G):
    """Best (cost, choices) of one group: each member picks alone, at most cap upload.

    With more would-be uploaders than cap, the cap largest savings (ties: earlier position)
    upload and the others run all-local.
    """
    N = d["N"]
    picks = []
    for p in members:
        local, best = _og_member(d, p, n, G)
        if best is not None and best[0] < local:
            saving = (local[0] - best[0][0], local[1] - best[0][1])
            picks.append([p, best[1], best[0], local, saving])
        else:
            picks.append([p, N, local, local, None])
    uploaders = sorted((x for x in picks if x[4] is not None), key=lambda x: (-x[4][0], -x[4][1], x[0]))
    for x in uploaders[d["cap"]:]:
        x[1], x[2] = N, x[3]
    cost = (sum(x[2][0] for x in picks), sum(x[2][1] for x in picks))
    return cost, {x[0]: x[1] for x in picks}


def og_reference(inst, grid=None, gpu_free_s=0.0):
    """OG by plain memoised recursion on (users grouped, latest finish F) at exact float F.

    V(i, F): least cost of the first i sorted users when their last group ends by F; the last
    group [j, i) with first sub-task n ends at G = min(D_j, F) and leaves G - R[n] to the rest.
    Returns (cost, groups, partition): groups [(sorted positions, n, G)] in time order (G in
    units of ``grid`` when given) and the partition per user index. The GPU is free from
    ``gpu_free_s``.
    """
    from functools import lru_cache

    d = _og_data(inst, grid, gpu_free_s)
    K, N, R, D = d["K"], d["N"], d["R"], d["D"]

    @lru_cache(maxsize=None)
    def V(i, F):
        if i == 0:
            return (0, 0.0), ()
        best = None
        for j in range(i):
            G = min(D[j], F)
            for n in range(1, N + 2):
                c, _ = og_group_reference(d, range(j, i), n, G)
                sub, groups = V(j, G - R[n])
                tot = (c[0] + sub[0], c[1] + sub[1])
                if best is None or tot < best[0]:
                    best = (tot, groups + ((j, i, n, G),))
        return best

    cost, groups = V(K, float("inf"))
    part = [N] * K
    out = []
    for j, i, n, G in groups:
        _, choice = og_group_reference(d, range(j, i), n, G)
        for p, s in choice.items():
            part[d["order"][p]] = s
        out.append((list(range(j, i)), n, G))
    return cost, out, part


def og_enumerate_groupings(inst, gpu_free_s=0.0):
    """Best cost over every contiguous grouping of the deadline order and every first sub-task
    of every group, each group's members choosing by brute force over every choice vector with
    at most cap uploaders (an independent check of og_group_reference's selection rule). The
    GPU is free from ``gpu_free_s``."""
    import itertools

    d = _og_data(inst, gpu_free_s=gpu_free_s)
    K, N, R, D = d["K"], d["N"], d["R"], d["D"]
    best = None
    for cuts in itertools.product((False, True), repeat=K - 1):
        bounds = [0] + [p + 1 for p in range(K - 1) if cuts[p]] + [K]
        groups = list(zip(bounds[:-1], bounds[1:]))
        for firsts in itertools.product(range(1, N + 2), repeat=len(groups)):
            F, total = float("inf"), (0, 0.0)
            for (j, i), n in reversed(list(zip(groups, firsts))):
                G = min(D[j], F)
                options = []
                for p in range(j, i):
                    opts = [((0 if d["local_ok"][p] else 1, d["E"][p][N]), False)]
                    opts += [((0, d["E"][p][s]), True) for s in range(n - 1, N) if d["th"][p][s] <= G]
                    options.append(opts)
                group_best = None
                for combo in itertools.product(*options):
                    if sum(up for _, up in combo) > d["cap"]:
                        continue
                    c = (sum(x[0][0] for x in combo), sum(x[0][1] for x in combo))
                    if group_best is None or c < group_best:
                        group_best = c
                total = (total[0] + group_best[0], total[1] + group_best[1])
                F = G - R[n]
            if best is None or total < best:
                best = total
    return best


def ipssa_reference(inst, T, gpu_free_s=0.0):
    """IP-SSA choices at common deadline T, user by user: (cost, partition).

    Offloading at s needs max(rho + a(s), H) + R[s+1] <= T, H = ``gpu_free_s``."""
    K, N = inst.n_users, inst.n_subtasks
    R = [0.0] * (N + 2)
    for n in range(N, 0, -1):
        R[n] = R[n + 1] + float(inst.edge_beta_s[n - 1])
    part, cost = [], (0, 0.0)
    for k in range(K):
        slack = _CO_EPS * max(1.0, abs(T))
        D = float(inst.release_s[k] + inst.deadline_s[k])
        options = []
        if inst.local_time[k, N] <= inst.deadline_s[k]:
            options.append((float(inst.energy[k, N]), -N))
        if T <= D + _CO_EPS * max(1.0, abs(D)):
            for s in range(N):
                if max(float(inst.release_s[k] + inst.ready_time[k, s]), gpu_free_s) + R[s + 1] <= T + slack:
                    options.append((float(inst.energy[k, s]), -s))
        if options:
            e, s = min(options)
            part.append(-s)
            cost = (cost[0], cost[1] + e)
        else:
            part.append(N)
            cost = (cost[0] + 1, cost[1] + float(inst.energy[k, N]))
    return cost, part


# ------------------------------------------------------------------------------------------------
# Placement: prices
# ------------------------------------------------------------------------------------------------

def relaxed_usage_reference(inst, slot_client, slot_task, slot_rate, slot_route, slot_model, y):
    """Twin of j3o_fast.placement.prices.relaxed_usage: normalised row usage, one loop over pairs.

    Routes: program.py's kinds, local, edge (model slot_model), cloud or drop.
    """
    from j3o_fast.placement.program import CLOUD, EDGE, LOCAL

    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    compute, uplink, backhaul = [0.0] * N, [0.0] * N, [0.0] * E
    gpu = [0.0] * E
    cap = [[0.0] * M for _ in range(E)]
    for s in range(len(slot_client)):
        n, t, r = int(slot_client[s]), int(slot_task[s]), float(slot_rate[s])
        e, route, m = int(inst.client_edge[n]), int(slot_route[s]), int(slot_model[s])
        if route == LOCAL:
            compute[n] += r * inst.gflop[m, t] / inst.client_gflops[n]
        elif route == EDGE:
            uplink[n] += r * inst.payload_mbit[t] / inst.client_uplink_mbps[n]
            g = inst.batch_tau1_s[m] if inst.batching else inst.batch_tau0_s[m] + inst.batch_tau1_s[m]
            gpu[e] += r * g / inst.edge_speed[e]
            if inst.batching:
                cap[e][m] += r * inst.batching_window_s / inst.max_batch[m]
        elif route == CLOUD:
            uplink[n] += r * inst.payload_mbit[t] / inst.client_uplink_mbps[n]
            backhaul[e] += r * inst.payload_mbit[t] / inst.edge_backhaul_mbps[e]
    for e in range(E):
        for m in range(M):
            if inst.batching and y[e][m]:
                gpu[e] += inst.batch_tau0_s[m] / (inst.batching_window_s * inst.edge_speed[e])
    return dict(mu=compute, beta=uplink, nu=gpu, gamma=backhaul, kappa=cap)


# ================================================================================================
# Online co-inference (docs/coinference.rst section 7): plain loops over the rules as stated, the
# grouping memoised only on exact (prefix, finish time) pairs; exponential, for tiny dispatches
# ================================================================================================

#: Energies and GPU times within this relative difference count as equal (section 7 step 3).
ONLINE_REL_TIE = 1e-12


def _online_differ(a: float, b: float) -> bool:
    return abs(a - b) > ONLINE_REL_TIE * max(abs(a), abs(b))


def _online_better(c1, c2) -> bool:
    """(unserved, energy, gpu) of c1 strictly better than c2, energies/GPU times to ONLINE_REL_TIE."""
    if c1[0] != c2[0]:
        return c1[0] < c2[0]
    if _online_differ(c1[1], c2[1]):
        return c1[1] < c2[1]
    if _online_differ(c1[2], c2[2]):
        return c1[2] < c2[2]
    return False


def online_planned_tail(beta, alpha, n_planned: int, max_batch) -> list:
    """R[n] for n = 1..N+1 (index 0 unused) with te[n](min(n_planned, max_batch))."""
    N = len(beta)
    b = n_planned if max_batch is None else min(n_planned, max_batch)
    R = [0.0] * (N + 2)
    for n in range(N, 0, -1):
        R[n] = R[n + 1] + (beta[n - 1] + alpha[n - 1] * b)
    R[0] = R[1]
    return R


def online_plan(energy, ready, local_time, slack, tau, gpu_free, beta, alpha, max_batch, planner):
    """Plan one dispatch; returns (choice, served, batches).

    energy, ready: per task lists of N+1 values E_k(s), a_k(s); local_time: L_k(N); slack: the
    relative deadline at dispatch. choice[i] = s (N: all local); served[i] False for a
    violation; batches: [(subtask, [task indices], planned start)] in planned order.
    """
    M = len(slack)
    N = len(beta)
    if M == 0:
        return [], [], []
    R = online_planned_tail(beta, alpha, M, max_batch)
    cap = M if max_batch is None else max_batch
    D = [tau + s for s in slack]
    th = [[max(tau + ready[k][s], gpu_free) + R[s + 1] for s in range(N)] for k in range(M)]
    # the planners' rounding slack: a chain ending exactly at a deadline still counts as on time
    th = [[x - 1e-12 * max(1.0, abs(x)) for x in row] for row in th]
    local_ok = [local_time[k] <= slack[k] for k in range(M)]
    order = sorted(range(M), key=lambda k: (D[k], k))

    def group(j, i, n, G):
        """(unserved, energy, {task: s}) of sorted positions [j, i) with first sub-task n, finish G."""
        choice, want = {}, []
        for p in range(j, i):
            k = order[p]
            best = None
            for s in range(N - 1, n - 2, -1):  # descending: among equal energies the larger s
                if th[k][s] <= G and (best is None or energy[k][s] < energy[k][best]):
                    best = s
            if best is not None and (not local_ok[k] or energy[k][best] < energy[k][N]):
                want.append((p, k, best))
            else:
                choice[k] = N
        if len(want) > cap:
            want.sort(key=lambda w: (local_ok[w[1]], -(energy[w[1]][N] - energy[w[1]][w[2]]), w[0]))
            for _, k, _s in want[cap:]:
                choice[k] = N
            want = want[:cap]
        for _, k, s in want:
            choice[k] = s
        unserved = sum(1 for p in range(j, i) if choice[order[p]] == N and not local_ok[order[p]])
        total = sum(energy[order[p]][choice[order[p]]] for p in range(j, i))
        return unserved, total, choice

    memo = {}

    def best(i, F):
        Fc = min(F, D[order[i - 1]])
        key = (i, Fc)
        if key in memo:
            return memo[key]
        inc = None
        for j in range(i):  # the largest last group first
            G = min(D[order[j]], Fc)
            for n in range(N + 1, 0, -1):  # then the latest first edge sub-task
                u, e, _ = group(j, i, n, G)
                if j > 0:
                    ru, re, rg, _ = best(j, G - R[n])
                else:
                    ru, re, rg = 0, 0.0, 0.0
                cand = (u + ru, e + re, R[n] + rg, (j, n, G))
                if inc is None or _online_better(cand, inc):
                    inc = cand
        memo[key] = inc
        return inc

    if planner == "og":
        groups = []
        i, F = M, math.inf
        while i > 0:
            j, n, G = best(i, F)[3]
            groups.append((j, i, n, G))
            i, F = j, G - R[n]
        groups.reverse()
    elif planner == "ip-ssa":
        groups = [(0, M, 1, D[order[0]])]
    else:
        raise ValueError(planner)

    choice = [N] * M
    batches = []
    for j, i, n, G in groups:
        _, _, ch = group(j, i, n, G)
        for k, s in ch.items():
            choice[k] = s
        for m in range(n, N + 1):
            members = sorted(k for k in (order[p] for p in range(j, i)) if ch[k] < m)
            if members:
                batches.append((m, members, G - R[m]))
    served = [choice[k] < N or local_ok[k] for k in range(M)]
    return choice, served, batches


def online_episode(devices, tasks, *, slot_s, n_slots, deadline_max_s, beta, alpha, max_batch, theta,
                planner="og", psi=10.0):
    """The slot loop of section 7, written out plainly.

    devices: list of dicts with 'energy' and 'ready' (N+1 lists) and 'local_time' (L_k(N));
    tasks: list of (device, slot, relative deadline) rows; theta(t) -> threshold in [0, 1].
    Returns a dict: per task 'dispatch', 'choice', 'violation'; 'batches' as executed
    [(subtask, [rows], start, end)]; 'rewards' per step (S+1 of them).
    """
    N = len(beta)
    R1 = online_planned_tail(beta, alpha, 1, max_batch)
    opt = [min(d["local_time"], min(d["ready"][s] + R1[s + 1] for s in range(N))) for d in devices]
    e_ref = sum(d["energy"][N] for d in devices) / len(devices)
    M = len(tasks)
    dispatch, choice, violation = [None] * M, [None] * M, [False] * M
    executed, rewards = [], []
    H = 0.0
    pending, nxt = [], 0
    for t in range(n_slots + 1):
        tau = t * slot_s
        while nxt < M and tasks[nxt][1] <= t:
            pending.append(nxt)
            nxt += 1
        slack = {i: tasks[i][2] - (t - tasks[i][1]) * slot_s for i in pending}
        if t < n_slots:
            th = theta(t)
            out = [i for i in pending
                   if slack[i] <= th * deadline_max_s or slack[i] - slot_s < opt[tasks[i][0]]]
        else:
            out = list(pending)
        pending = [i for i in pending if i not in out]
        planned = []
        for i in out:
            dispatch[i] = t
            if slack[i] < opt[tasks[i][0]]:  # hopeless: all local, a violation
                choice[i], violation[i] = N, True
            else:
                planned.append(i)
        dev = [devices[tasks[i][0]] for i in planned]
        ch, served, batches = online_plan(
            [d["energy"] for d in dev], [d["ready"] for d in dev], [d["local_time"] for d in dev],
            [slack[i] for i in planned], tau, H, beta, alpha, max_batch, planner)
        for a, i in enumerate(planned):
            choice[i], violation[i] = ch[a], not served[a]
        free = {}
        for m, members, _planned_start in batches:
            rows = [planned[a] for a in members]
            ready = []
            for a, i in zip(members, rows):
                ready.append(tau + dev[a]["ready"][ch[a]] if m == ch[a] + 1 else free[i])
            start = max([H] + ready)
            end = start + beta[m - 1] + alpha[m - 1] * len(rows)
            for i in rows:
                free[i] = end
            executed.append((m, sorted(rows), start, end))
            H = end
        energy = sum(devices[tasks[i][0]]["energy"][choice[i]] for i in out)
        rewards.append(-energy / e_ref - psi * sum(violation[i] for i in out))
    return {"dispatch": dispatch, "choice": choice, "violation": violation, "batches": executed,
            "rewards": rewards}
