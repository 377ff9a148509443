"""Prices theta of the relaxed resource rows (docs/placement.rst section 3) and their updates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _nb_prices
from .instance import PlacementInstance


@dataclass(frozen=True, eq=False)
class Prices:
    """Multipliers (>= 0) of the normalised rows 4-7 of (P).

    mu (N,)     client compute     sum rate*gflop*l / gflops_n <= 1
    beta (N,)   uplink             sum rate*payload*(h + c) / uplink_n <= 1
    nu (E,)     edge GPU time      constraint 7 <= 1
    gamma (E,)  backhaul           sum rate*payload*c / backhaul_e <= 1
    kappa (E,M) batch cap          L[e,m]*W/bmax[m] <= 1 (window mode; zeros otherwise)
    """

    mu: np.ndarray
    beta: np.ndarray
    nu: np.ndarray
    gamma: np.ndarray
    kappa: np.ndarray

    @classmethod
    def zeros(cls, instance: PlacementInstance) -> "Prices":
        N, E, M = instance.n_clients, instance.n_edges, instance.n_models
        return cls(np.zeros(N), np.zeros(N), np.zeros(E), np.zeros(E), np.zeros((E, M)))


def dual_update(prices: Prices, duals: Prices, damping: float) -> Prices:
    """theta <- (1 - a)*theta + a*duals (docs/placement.rst 3(iii), ``dual``); damping a in (0, 1]."""
    a = damping
    return Prices(*((1 - a) * old + a * new for old, new in zip(_fields(prices), _fields(duals))))


def relaxed_usage(instance: PlacementInstance, candidates, onloading) -> Prices:
    """Normalised row usage (as a Prices-shaped record) of the relaxed best routes of an Onloading.

    compute/uplink per client, backhaul/GPU per edge (GPU includes the fixed share of the
    onloaded edge models in window mode), batch cap per (edge, model).
    """
    inst = instance
    cands = candidates
    compute, uplink, backhaul, gpu, cap = _nb_prices.relaxed_usage(
        cands.slot_client, cands.slot_task, cands.slot_rate, onloading.slot_route, onloading.slot_model,
        inst.client_edge, inst.gflop, inst.payload_mbit, inst.client_gflops, inst.client_uplink_mbps,
        inst.edge_backhaul_mbps, inst.edge_query_cost, inst.edge_speed,
        inst.batching_window_s if inst.batching else 0.0, inst.max_batch.astype(np.float64), inst.n_edges,
    )
    gpu = gpu + (inst.edge_fixed_share * onloading.y).sum(axis=1)
    return Prices(mu=compute, beta=uplink, nu=gpu, gamma=backhaul, kappa=cap)


def subgradient_update(prices: Prices, usage: Prices, step: float) -> Prices:
    """theta <- max(0, theta + eta_k*(usage - 1)) on the normalised rows (docs/placement.rst 3(iii))."""
    return Prices(*(np.maximum(0.0, old + step * (use - 1.0)) for old, use in zip(_fields(prices), _fields(usage))))


def _fields(p: Prices) -> tuple:
    return (p.mu, p.beta, p.nu, p.gamma, p.kappa)
