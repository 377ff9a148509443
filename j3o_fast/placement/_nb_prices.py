"""Numba kernel for the price updates of J3O: row usage of the relaxed best routes, each route's
entries being r times program.py's per-query coefficients (their compiled twins, inlined)."""

import numpy as np
from numba import njit

from .._numba_cache import CACHE
from .program import (CLOUD, EDGE, LOCAL, backhaul_per_query_jit, cap_per_query_jit, compute_per_query_jit,
                      gpu_per_query_jit, uplink_per_query_jit)


@njit(cache=CACHE, nogil=True)
def relaxed_usage(slot_client, slot_task, slot_rate, slot_route, slot_model, client_edge, gflop, payload,
                  client_gflops, uplink_mbps, backhaul_mbps, query_cost, edge_speed, window, max_batch,
                  n_edges):
    """Normalised usage of rows 4-7 when every pair takes its relaxed best route in full.

    Returns compute (N,), uplink (N,), backhaul (E,), variable GPU share (E,) and the batch-cap
    usage L[e,m]*W/bmax[m] (E, M) (zeros when window <= 0, i.e. no batching).
    """
    N = client_gflops.shape[0]
    M = gflop.shape[0]
    compute = np.zeros(N)
    uplink = np.zeros(N)
    backhaul = np.zeros(n_edges)
    gpu = np.zeros(n_edges)
    cap = np.zeros((n_edges, M))
    for s in range(slot_client.shape[0]):
        n = slot_client[s]
        t = slot_task[s]
        r = slot_rate[s]
        e = client_edge[n]
        route = slot_route[s]
        m = slot_model[s]
        if route == LOCAL:
            compute[n] += r * compute_per_query_jit(gflop[m, t], client_gflops[n])
        elif route == EDGE:
            uplink[n] += r * uplink_per_query_jit(payload[t], uplink_mbps[n])
            gpu[e] += r * gpu_per_query_jit(query_cost[m], edge_speed[e])
            if window > 0.0:
                cap[e, m] += r * cap_per_query_jit(window, max_batch[m])
        elif route == CLOUD:
            uplink[n] += r * uplink_per_query_jit(payload[t], uplink_mbps[n])
            backhaul[e] += r * backhaul_per_query_jit(payload[t], backhaul_mbps[e])
    return compute, uplink, backhaul, gpu, cap
