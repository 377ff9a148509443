"""Numba kernels for the net query values of docs/placement.rst section 3 (onloading step).

All loops are linear in the number of (candidate, slot) entries. A route's use of each capacity
row is program.py's per-query coefficient (its compiled twin, inlined), priced at the row's price.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._numba_cache import CACHE
from .program import (backhaul_per_query_jit, cap_per_query_jit, compute_per_query_jit, gpu_per_query_jit,
                      uplink_per_query_jit)


@njit(cache=CACHE)
def candidate_values(indptr, slot, cand_node, cand_model, cand_edge, n_clients, slot_client, slot_task,
                     accuracy, gflop, client_gflops, client_uplink, payload, edge_speed,
                     edge_query_cost, max_batch, mu, beta, nu, kappa, window):
    """Net value of one query of each slot via each candidate, one entry per CSR nonzero.

    Client placement (cand_node[j] < n_clients) of model m for slot (n, t):
        v = acc[m,t] - mu[n]*(gflop[m,t]/gflops[n])
    Edge placement on e = cand_edge[j]:
        v = acc[m,t] - beta[n]*(payload[t]/uplink[n]) - nu[e]*(g[m]/speed[e])
            - kappa[e,m]*(W/bmax[m])         (the last term only when window > 0)

    indptr (C+1,) int64, slot (nnz,) int32, cand_node/cand_model/cand_edge (C,) int64,
    slot_client/slot_task (S,) int64; returns (nnz,) float64, accuracy per query.
    """
    n_cand = indptr.shape[0] - 1
    out = np.empty(indptr[n_cand], dtype=np.float64)
    # The uplink term depends on the slot only: compute it once per slot, not per entry.
    uplink = np.empty(slot_client.shape[0], dtype=np.float64)
    for s in range(slot_client.shape[0]):
        uplink[s] = beta[slot_client[s]] * uplink_per_query_jit(payload[slot_task[s]], client_uplink[slot_client[s]])
    for j in range(n_cand):
        m = cand_model[j]
        n = cand_node[j]
        if n < n_clients:
            mu_n = mu[n]
            gflops_n = client_gflops[n]
            for k in range(indptr[j], indptr[j + 1]):
                t = slot_task[slot[k]]
                out[k] = accuracy[m, t] - mu_n * compute_per_query_jit(gflop[m, t], gflops_n)
        else:
            e = cand_edge[j]
            gpu = nu[e] * gpu_per_query_jit(edge_query_cost[m], edge_speed[e])
            cap = kappa[e, m] * cap_per_query_jit(window, max_batch[m]) if window > 0.0 else 0.0
            for k in range(indptr[j], indptr[j + 1]):
                s = slot[k]
                v = accuracy[m, slot_task[s]] - uplink[s] - gpu
                if window > 0.0:
                    v -= cap
                out[k] = v
    return out


@njit(cache=CACHE)
def slot_base(slot_client, slot_task, client_edge, cloud_accuracy, payload, client_uplink,
              edge_backhaul, beta, gamma, cloud_available):
    """base[s] = max(cloud, 0) for slot s = (n, t), or 0 when the cloud is unavailable, with

        cloud = acc_cloud[t] - beta[n]*(payload[t]/uplink[n]) - gamma[e]*(payload[t]/backhaul[e]).

    Returns (S,) float64.
    """
    n_slots = slot_client.shape[0]
    out = np.zeros(n_slots, dtype=np.float64)
    if not cloud_available:
        return out
    for s in range(n_slots):
        n = slot_client[s]
        t = slot_task[s]
        e = client_edge[n]
        cloud = (cloud_accuracy[t] - beta[n] * uplink_per_query_jit(payload[t], client_uplink[n])
                 - gamma[e] * backhaul_per_query_jit(payload[t], edge_backhaul[e]))
        out[s] = cloud if cloud > 0.0 else 0.0
    return out


@njit(cache=CACHE)
def apply_selection(indptr, slot, value, selected, cur, best):
    """Add the candidates ``selected`` (in order) to the running best: where v > cur[s], set
    cur[s] = v and best[s] = j (strict, so an earlier candidate keeps a tie). In place."""
    for i in range(selected.shape[0]):
        j = selected[i]
        for k in range(indptr[j], indptr[j + 1]):
            s = slot[k]
            if value[k] > cur[s]:
                cur[s] = value[k]
                best[s] = j
