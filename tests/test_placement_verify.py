"""The verifier accepts exact solutions and catches each constraint broken on purpose."""

from dataclasses import replace

import numpy as np
import pytest

from j3o_fast.placement import PlacementSolution, Routes, generate, routing_usage, solve_mip, verify


@pytest.fixture(scope="module")
def solved():
    """A window-mode instance whose optimum uses local, edge and cloud routes."""
    inst = generate("nyu", 20, 2, seed=10, window=0.05)
    sol = solve_mip(inst).decision
    usage = routing_usage(inst, sol)
    assert len(sol.local) and len(sol.edge) and sol.cloud.sum() > 0 and usage.edge_load.sum() > 0
    assert verify(inst, sol).ok
    return inst, sol, usage


def names(report):
    return {v.constraint for v in report.violations}


def with_routes(sol, **changes):
    fields = dict(client_models=sol.client_models, edge_models=sol.edge_models, local=sol.local,
                  edge=sol.edge, cloud=sol.cloud, drop=sol.drop)
    fields.update(changes)
    return PlacementSolution(**fields)


def test_conservation(solved):
    inst, sol, _ = solved
    n, t = np.argwhere(inst.rate > 0)[0]
    cloud = sol.cloud.copy()
    cloud[n, t] += 0.1
    assert "conservation (1)" in names(verify(inst, with_routes(sol, cloud=cloud)))


def test_fraction_bounds(solved):
    inst, sol, _ = solved
    drop = sol.drop.copy()
    drop[0, 0] = -0.5
    assert "fraction bounds (drop)" in names(verify(inst, with_routes(sol, drop=drop)))


def test_coupling_local_model_not_onloaded(solved):
    inst, sol, _ = solved
    x = sol.client_models.copy()
    n, m = sol.local.client[0], sol.local.model[0]
    x[n, m] = False
    report = verify(inst, with_routes(sol, client_models=x))
    assert "coupling (2)" in names(report)


def test_coupling_model_does_not_serve_task(solved):
    inst, sol, _ = solved
    m, t = np.argwhere(~inst.cover)[0]
    n = int(np.argmax(inst.rate[:, t] > 0))
    e = inst.client_edge[n]
    y = sol.edge_models.copy()
    y[e, m] = True
    edge = Routes(np.r_[sol.edge.client, n], np.r_[sol.edge.task, t], np.r_[sol.edge.model, m],
                  np.r_[sol.edge.fraction, 0.0001])
    assert "coupling (2)" in names(verify(inst, with_routes(sol, edge=edge, edge_models=y)))


def test_client_memory(solved):
    inst, sol, _ = solved
    x = sol.client_models.copy()
    x[0, :] = True
    assert "client memory (3)" in names(verify(inst, with_routes(sol, client_models=x)))


def test_edge_memory(solved):
    inst, sol, _ = solved
    y = sol.edge_models.copy()
    y[1, :] = True
    report = verify(inst, with_routes(sol, edge_models=y))
    assert "edge memory (3)" in names(report)


def shrink(inst, field, values, where, factor=0.5):
    arr = getattr(inst, field).copy()
    arr[where] = values[where] * factor
    return replace(inst, **{field: arr})


def test_client_compute(solved):
    inst, sol, usage = solved
    n = int(np.argmax(usage.compute))
    tight = shrink(inst, "client_gflops", usage.compute * inst.client_gflops, n)
    assert "client compute (4)" in names(verify(tight, sol))


def test_uplink(solved):
    inst, sol, usage = solved
    n = int(np.argmax(usage.uplink))
    assert "uplink (5)" in names(verify(shrink(inst, "client_uplink_mbps", usage.uplink * inst.client_uplink_mbps, n),
                                        sol))


def test_backhaul(solved):
    inst, sol, usage = solved
    e = int(np.argmax(usage.backhaul))
    assert "backhaul (6)" in names(verify(shrink(inst, "edge_backhaul_mbps", usage.backhaul * inst.edge_backhaul_mbps, e),
                                          sol))


def test_gpu_time(solved):
    inst, sol, usage = solved
    e = int(np.argmax(usage.gpu))
    slow = shrink(inst, "edge_speed", inst.edge_speed, e, factor=0.9 * usage.gpu[e] / 2)
    assert "edge GPU time (7)" in names(verify(slow, sol))


def test_gpu_time_no_batching(solved):
    inst, sol, _ = solved
    plain = generate("nyu", 20, 2, seed=10)
    res = solve_mip(plain).decision
    usage = routing_usage(plain, res)
    e = int(np.argmax(usage.gpu))
    assert usage.gpu[e] > 0
    slow = shrink(plain, "edge_speed", plain.edge_speed, e, factor=usage.gpu[e] / 2)
    assert "edge GPU time (7)" in names(verify(slow, res))


def test_batch_cap(solved):
    inst, sol, usage = solved
    e, m = np.unravel_index(int(np.argmax(usage.edge_load)), usage.edge_load.shape)
    bmax = inst.max_batch.copy()
    bmax[m] = max(1, int(usage.edge_load[e, m] * inst.batching_window_s / 3))
    capped = replace(inst, max_batch=bmax)
    assert usage.edge_load[e, m] * inst.batching_window_s > bmax[m]
    assert "batch cap (7)" in names(verify(capped, sol))


def test_wrong_claimed_objective(solved):
    inst, sol, usage = solved
    assert verify(inst, sol, claimed_objective=usage.objective).ok
    report = verify(inst, sol, claimed_objective=usage.objective + 1e-6)
    assert names(report) == {"objective"}
    assert not verify(inst, sol, claimed_objective=float("nan")).ok


def test_summary_lists_violations(solved):
    inst, sol, _ = solved
    x = sol.client_models.copy()
    x[0, :] = True
    text = verify(inst, with_routes(sol, client_models=x)).summary()
    assert "VIOLATED" in text and "client memory (3): 1 violated, worst client 0" in text


def test_all_dropped_is_feasible():
    inst = generate("taskonomy", 10, 2, seed=1, window=0.05)
    sol = PlacementSolution.all_dropped(10, 2, inst.n_models, inst.n_tasks)
    report = verify(inst, sol)
    assert report.ok and report.objective == 0.0


def test_the_verifier_needs_no_solver_code(solved, monkeypatch):
    """verify recomputes usages and A itself: with the solvers' usage and program broken,
    it still accepts a good solution, and it catches a claimed A that the broken kernel reports."""
    from j3o_fast.placement import program, usage

    inst, sol, real = solved
    good = verify(inst, sol, claimed_objective=real.objective)
    assert good.ok and good.objective == pytest.approx(real.objective, rel=1e-12)
    broken = replace(real, objective=real.objective * 1.01)
    monkeypatch.setattr(usage, "routing_usage", lambda *a, **k: broken)
    monkeypatch.setattr(program, "route_rows", lambda *a, **k: 1 / 0)
    assert verify(inst, sol, claimed_objective=real.objective).ok
    report = verify(inst, sol, claimed_objective=broken.objective)
    assert not report.ok and report.violations[0].constraint == "objective"


def random_solution(inst, rng):
    """Arbitrary routing entries (any model, onloaded or not, serving the task or not), any fractions."""
    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks

    def routes(n):
        return Routes(rng.integers(0, N, n), rng.integers(0, K, n), rng.integers(0, M, n), rng.random(n))

    return PlacementSolution(rng.random((N, M)) < 0.4, rng.random((E, M)) < 0.5, routes(int(rng.integers(0, 3 * N))),
                             routes(int(rng.integers(0, 3 * N))), rng.random((N, K)) * 0.5, rng.random((N, K)) * 0.2)


@pytest.mark.parametrize("seed", range(20))
def test_recomputed_usage_equals_the_solvers_usage_on_random_routings(seed):
    """The verifier's own sums agree with the solvers' routing_usage (built on the program) on
    arbitrary (even infeasible) routings: two independent computations of the same rows."""
    from j3o_fast.placement.usage import routing_usage
    from j3o_fast.placement.verify import _recompute

    rng = np.random.default_rng(seed)
    inst = generate(["nyu", "taskonomy", "random"][seed % 3], 12 + seed, 1 + seed % 3, seed=seed,
                    window=0.05 if seed % 2 else None)
    sol = random_solution(inst, rng)
    kernel, mine = routing_usage(inst, sol), _recompute(inst, sol, 1e-9)
    for a, b in ((kernel.assigned, mine.assigned), (kernel.compute * inst.client_gflops, mine.compute),
                 (kernel.uplink * inst.client_uplink_mbps, mine.uplink),
                 (kernel.backhaul * inst.edge_backhaul_mbps, mine.backhaul),
                 (kernel.edge_load, mine.load), (kernel.gpu, mine.gpu)):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    assert mine.objective == pytest.approx(kernel.objective, rel=1e-12, abs=1e-15)
    assert len(mine.uncoupled) == kernel.n_uncoupled
    if kernel.n_uncoupled:
        assert mine.uncoupled[0] == kernel.first_uncoupled
