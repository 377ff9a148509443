"""Onloading step of J3O: the C lazy greedy against its pure-Python twin, and candidate/value setup.

* greedy: both key modes (gain per MB, plain gain) on the same inputs, as greedy_onload runs
  them, on a 1,000-client `taskonomy` instance with a batching window, at seeded nonzero prices
  (cloud available) and at zero prices with the cloud unavailable (the first pass, where every
  placement has a positive gain: the heavy case). The twin runs the same two greedies; the
  selections must be equal. extra_info["speedup_vs_python"] = twin time / kernel time (best of
  several runs each).
* setup: build_candidates + query_values at 10,000 clients, checked against the plain-loop twins
  in the same run.
"""

import time

import numpy as np
import pytest
from reference import python_lazy_greedy, reference_candidates, reference_values
from timing import min_seconds

from j3o_fast.placement import _greedy
from j3o_fast.placement import generate
from j3o_fast.placement.onload import build_candidates, greedy_onload, query_values
from j3o_fast.placement.prices import Prices

WINDOW = 0.05


def seeded_prices(inst, seed=7, scale=0.1):
    """Every price > 0, drawn once."""
    rng = np.random.default_rng(seed)
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    draw = lambda shape: rng.exponential(scale, shape) + 1e-3  # noqa: E731
    return Prices(draw(N), draw(N), draw(E), draw(E), draw((E, M)))


CASES = {
    "priced": lambda inst: (seeded_prices(inst), True),
    "zero-prices-no-cloud": lambda inst: (Prices.zeros(inst), False),
}


@pytest.fixture(scope="module")
def taskonomy_1000():
    inst = generate("taskonomy", 1000, seed=1, window=WINDOW)
    cands = build_candidates(inst)
    greedy_onload(inst, cands, Prices.zeros(inst))  # JIT warm-up of the value kernels
    return inst, cands


def greedy_inputs(inst, cands, prices, cloud_available):
    value, base, fixed_cost = query_values(inst, cands, prices, cloud_available=cloud_available)
    const = (cands.indptr, cands.slot, value, cands.slot_rate, cands.node, cands.memory, fixed_cost,
             cands.fixed_share, np.ones(cands.n_candidates, dtype=np.uint8))
    state = (base, np.full(cands.n_slots, -1, dtype=np.int64),
             np.concatenate([inst.client_memory_mb, inst.edge_memory_mb]), np.ones(cands.n_nodes))
    return const, state


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


@pytest.mark.parametrize("case", list(CASES))
def test_bench_greedy_kernel(benchmark, taskonomy_1000, case):
    inst, cands = taskonomy_1000
    const, state = greedy_inputs(inst, cands, *CASES[case](inst))

    def fresh_state():  # the kernel updates cur/best/capacities in place: copies, outside the timer
        return tuple(tuple(a.copy() for a in state) for _ in range(2)), {}

    def both_modes(s0, s1):
        return [_greedy.lazy_greedy(*const, *s, key_mode, cands.edge, inst.n_edges)
                for key_mode, s in ((0, s0), (1, s1))]

    runs = benchmark.pedantic(both_modes, setup=fresh_state, rounds=40, iterations=1, warmup_rounds=2)
    assert all(r[0] == _greedy.OK for r in runs)

    twin_time, twin = best_of(lambda: [python_lazy_greedy(*const, *state, key_mode) for key_mode in (0, 1)], 3)
    for (_, order, gain, _), (t_order, _, _, t_gain) in zip(runs, twin):
        np.testing.assert_array_equal(order, t_order)
        assert abs(gain - t_gain) <= 1e-9 * max(1.0, abs(gain))
    kernel_time = min_seconds(benchmark, lambda: both_modes(*fresh_state()[0]))
    speedup = twin_time / kernel_time
    benchmark.extra_info.update(
        speedup_vs_python=speedup, python_s=twin_time, kernel_s=kernel_time,
        candidates=cands.n_candidates, nnz=cands.nnz, selected=[len(r[1]) for r in runs],
        evaluations=[int(r[3]) for r in runs])
    print(f"\ngreedy {case}: kernel {kernel_time * 1e3:.2f} ms, python twin {twin_time * 1e3:.1f} ms, "
          f"speedup {speedup:.0f}x ({cands.n_candidates} candidates, {cands.nnz} entries)")


@pytest.fixture(scope="module")
def taskonomy_10000():
    return generate("taskonomy", 10_000, seed=1, window=WINDOW)


def test_bench_candidates_and_values(benchmark, taskonomy_10000):
    inst = taskonomy_10000
    prices = seeded_prices(inst)
    small = generate("taskonomy", 20, seed=1, window=WINDOW)
    query_values(small, build_candidates(small), seeded_prices(small))  # JIT warm-up

    def setup():
        cands = build_candidates(inst)
        return cands, query_values(inst, cands, prices)

    cands, (value, base, fixed_cost) = benchmark.pedantic(setup, rounds=5, iterations=1, warmup_rounds=1)

    t0 = time.perf_counter()
    slots, twin_cands = reference_candidates(inst)
    t_values, t_base, t_fixed = reference_values(inst, slots, twin_cands, prices, True)
    twin_time = time.perf_counter() - t0
    np.testing.assert_array_equal(cands.indptr, np.cumsum([0] + [len(c[3]) for c in twin_cands]))
    np.testing.assert_array_equal(cands.slot, [s for c in twin_cands for s in c[3]])
    np.testing.assert_array_equal(cands.node, [c[0] for c in twin_cands])
    np.testing.assert_allclose(value, [v for vs in t_values for v in vs], rtol=0, atol=1e-12)
    np.testing.assert_allclose(base, t_base, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fixed_cost, t_fixed, rtol=0, atol=1e-12)
    kernel_time = min_seconds(benchmark, setup)
    speedup = twin_time / kernel_time
    benchmark.extra_info.update(speedup_vs_python=speedup, python_s=twin_time,
                                candidates=cands.n_candidates, nnz=cands.nnz)
    print(f"\ncandidates + values at 10,000 clients: {kernel_time * 1e3:.0f} ms, "
          f"python twin {twin_time:.1f} s, speedup {speedup:.0f}x")
