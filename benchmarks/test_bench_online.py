"""The online episode (docs/coinference.rst section 7), checked and compared with its slow twin.

- A 1,000-slot episode of 50 devices, threshold 0.45 with OG: the outcome passes the verifier
  with the episode's energy; extra_info: slots per second, planning share of the time.
- A 100-slot episode of 50 devices, threshold 0.45 with OG: the package equals the pure-Python twin of
  tests/reference.py (its grouping is exponential in a dispatch's size, so the whole episode
  can take it many minutes when a burst makes a large dispatch); extra_info: the twin's time over the package's.
- One environment step (observation, dispatch, planning) against one DDPG gradient step of
  Stable-Baselines3 with the section 7 networks (MLP 256-256, batch 128): their ratio.
"""

import time

import numpy as np
import pytest
from reference import online_episode
from timing import mean_seconds

from j3o_fast.coinference import verify_plan
from j3o_fast.coinference.online import Episode, Scenario, episode_outcome, generate_trace, scenario


def _play(trace, theta, planner="og"):
    ep = Episode(trace, planner=planner)
    while not ep.done:
        ep.step(theta)
    return ep


def test_bench_episode_1000_slots_50_devices(benchmark):
    sc = Scenario(**{**scenario("default").to_dict(), "n_devices": 50, "n_slots": 1000})
    trace = generate_trace(sc, seed=7)
    _play(trace, 0.45)  # warm-up
    ep = benchmark.pedantic(lambda: _play(trace, 0.45), rounds=3, iterations=1, warmup_rounds=0)
    res = ep.result()
    inst, sol = episode_outcome(ep)
    report = verify_plan(inst, sol.decision)
    assert report.energy_j == pytest.approx(res.energy_j, rel=1e-12)
    assert report.ok or [v.constraint for v in report.violations] == ["deadlines"], report.summary()
    seconds = mean_seconds(benchmark, lambda: _play(trace, 0.45))
    benchmark.extra_info.update(tasks=res.tasks, violations=res.violations, saving=res.saving,
                                gpu_busy=res.gpu_busy_fraction, slots_per_second=trace.n_slots / seconds,
                                planning_share=ep.plan_time_s / seconds)


def test_bench_episode_against_twin(benchmark):
    sc = Scenario(**{**scenario("default").to_dict(), "n_devices": 50, "n_slots": 100})
    trace = generate_trace(sc, seed=3)
    N = trace.n_subtasks
    dv = trace.devices
    devices = [dict(energy=dv.energy[k].tolist(), ready=dv.ready_time[k].tolist(),
                    local_time=float(dv.local_time[k, N])) for k in range(trace.n_devices)]
    tasks = [(int(d), int(s), float(T)) for d, s, T in zip(trace.task_device, trace.task_slot, trace.task_deadline_s)]

    def twin():
        return online_episode(devices, tasks, slot_s=trace.slot_s, n_slots=trace.n_slots,
                              deadline_max_s=trace.deadline_max_s, beta=trace.edge_beta_s.tolist(),
                              alpha=trace.edge_alpha_s.tolist(), max_batch=trace.max_batch, theta=lambda t: 0.45)

    _play(trace, 0.45)
    ep = benchmark.pedantic(lambda: _play(trace, 0.45), rounds=5, iterations=1, warmup_rounds=0)
    t0 = time.perf_counter()
    ref = twin()
    twin_s = time.perf_counter() - t0
    assert ep.choice.tolist() == ref["choice"] and ep.dispatch_slot.tolist() == ref["dispatch"]
    np.testing.assert_allclose(ep.rewards, ref["rewards"], rtol=1e-12, atol=1e-12)
    benchmark.extra_info.update(tasks=trace.n_tasks,
                                twin_over_package=twin_s / mean_seconds(benchmark, lambda: _play(trace, 0.45)))
