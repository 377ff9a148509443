"""The exact MIP on `nyu` at 10, 20 and 50 clients: model build and HiGHS solve, verified in the same run.

Ratios in extra_info: build time as a share of the whole solve, and the MIP's time relative to its
LP relaxation (what integrality costs).
"""

import time

import pytest

from j3o_fast.placement import generate, lp_upper_bound, solve_mip, verify
from j3o_fast.placement.mip import build_model, to_highs

SIZES = [10, 20, 50]


def nyu(n_clients, window=None):
    return generate("nyu", n_clients, max(1, n_clients // 25), seed=1, window=window)


@pytest.mark.parametrize("n_clients", SIZES, ids=[f"N{n}" for n in SIZES])
def test_bench_mip_build(benchmark, n_clients):
    inst = nyu(n_clients)
    model = benchmark(lambda: to_highs(build_model(inst), integer=True))
    assert model.num_col_ > 0 and model.num_row_ > 0


@pytest.mark.parametrize("window", [None, 0.05], ids=["no-batching", "window"])
@pytest.mark.parametrize("n_clients", SIZES, ids=[f"N{n}" for n in SIZES])
def test_bench_mip_solve(benchmark, n_clients, window):
    inst = nyu(n_clients, window)
    result = benchmark.pedantic(lambda: solve_mip(inst, threads=1), rounds=3, iterations=1, warmup_rounds=0)
    report = verify(inst, result.decision, claimed_objective=result.objective)
    assert report.ok, report.summary()
    assert result.status == "optimal"
    t0 = time.perf_counter()
    bound = lp_upper_bound(inst, threads=1)
    lp_time = time.perf_counter() - t0
    assert bound >= result.objective - 1e-9
    benchmark.extra_info.update(
        objective=result.objective, lp_bound=bound, nodes=result.iterations,
        build_share=result.phase_times["build"] / result.runtime_s,
        mip_over_lp_time=result.runtime_s / max(lp_time, 1e-9),
    )
