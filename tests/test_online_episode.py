"""The online episode (docs/coinference.rst section 7): slot loop against its twin, outcome, rewards, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference import online_episode

from j3o_fast import InvalidInputError
from j3o_fast.coinference import verify_plan
from j3o_fast.coinference.online import (OBS_SIZE, Episode, OnlineTrace, Scenario, episode_outcome, generate_trace,
                                         run_episode)


def _trace(seed: int, **kw) -> OnlineTrace:
    args = dict(n_devices=3 + seed % 3, n_slots=40, rate_hz=30.0, max_batch=None if seed % 3 else 2,
                alpha=0.05 * (seed % 2))
    args.update(kw)
    return generate_trace(Scenario(**args), seed=seed)


def _twin(trace: OnlineTrace, theta: float, planner: str) -> dict:
    N = trace.n_subtasks
    dv = trace.devices
    devices = [dict(energy=dv.energy[k].tolist(), ready=dv.ready_time[k].tolist(),
                    local_time=float(dv.local_time[k, N])) for k in range(trace.n_devices)]
    tasks = [(int(d), int(s), float(T)) for d, s, T in zip(trace.task_device, trace.task_slot, trace.task_deadline_s)]
    return online_episode(devices, tasks, slot_s=trace.slot_s, n_slots=trace.n_slots,
                          deadline_max_s=trace.deadline_max_s, beta=trace.edge_beta_s.tolist(),
                          alpha=trace.edge_alpha_s.tolist(), max_batch=trace.max_batch, theta=lambda t: theta,
                          planner=planner)


def _play(trace, theta, planner) -> Episode:
    ep = Episode(trace, planner=planner)
    while not ep.done:
        ep.step(theta)
    return ep


@pytest.mark.parametrize("planner", ["og", "ip-ssa"])
def test_equals_twin_on_seeded_traces(planner):
    with_violations = 0
    for seed in range(24):
        trace = _trace(seed, rate_hz=25.0 + 10.0 * (seed % 3))
        for theta in (1.0, 0.6, 0.3, 0.0):
            ep, ref = _play(trace, theta, planner), _twin(trace, theta, planner)
            assert ep.dispatch_slot.tolist() == ref["dispatch"], (seed, theta)
            assert ep.choice.tolist() == ref["choice"], (seed, theta)
            assert ep.violation.tolist() == ref["violation"], (seed, theta)
            assert len(ep.executed) == len(ref["batches"])
            for (m, rows, start, end), (m2, rows2, start2, end2) in zip(ep.executed, ref["batches"]):
                assert (m, rows.tolist()) == (m2, rows2)
                assert start == pytest.approx(start2, abs=1e-12) and end == pytest.approx(end2, abs=1e-12)
            np.testing.assert_allclose(ep.rewards, ref["rewards"], rtol=1e-12, atol=1e-12)
            with_violations += ep.violation.any()
    assert with_violations > 0  # the traces exercise hopeless and unserved tasks too


@pytest.mark.parametrize("planner", ["og", "ip-ssa"])
def test_outcome_verifies_with_the_same_energy(planner):
    for seed in range(8):
        trace = _trace(seed, rate_hz=60.0)
        for theta in (1.0, 0.5, 0.0):
            ep = _play(trace, theta, planner)
            res = ep.result()
            inst, sol = episode_outcome(ep)
            report = verify_plan(inst, sol.decision)
            assert report.energy_j == pytest.approx(res.energy_j, rel=1e-12)
            if res.violations == 0:
                assert report.ok, report.summary()
            else:  # violations run all-local past their deadline, and nothing else fails
                assert [v.constraint for v in report.violations] == ["deadlines"]
                assert report.violations[0].count == res.violations


def test_result_figures():
    trace = _trace(4, rate_hz=60.0)
    ep = _play(trace, 0.5, "og")
    res = ep.result()
    dv = trace.devices
    N = trace.n_subtasks
    e_ref = float(dv.energy[:, N].mean())
    assert res.tasks == trace.n_tasks
    assert res.energy_j == pytest.approx(float(dv.energy[trace.task_device, ep.choice].sum()))
    assert res.local_energy_j == pytest.approx(float(dv.energy[trace.task_device, N].sum()))
    assert res.saving == pytest.approx(1 - res.energy_j / res.local_energy_j)
    assert res.reward == pytest.approx(-res.energy_j / e_ref - 10.0 * res.violations)
    assert res.mean_wait_s == pytest.approx(float(((ep.dispatch_slot - trace.task_slot) * trace.slot_s).mean()))
    busy = sum(e - s for *_, s, e in ep.executed)
    horizon = max(trace.n_slots * trace.slot_s, max(e for *_, e in ep.executed))
    assert res.gpu_busy_fraction == pytest.approx(busy / horizon)
    assert res.batches == len(ep.executed) and len(ep.rewards) == trace.n_slots + 1
    assert set(res.to_dict()) >= {"energy_j", "energy_per_task_j", "local_energy_j", "saving", "violations", "tasks",
                                  "mean_wait_s", "gpu_busy_fraction", "batches", "reward"}


def test_every_slot_dispatches_on_arrival_and_zero_waits_for_force():
    trace = _trace(1, rate_hz=60.0)
    ep = _play(trace, 1.0, "og")
    assert (ep.dispatch_slot == trace.task_slot).all()
    lazy = _play(trace, 0.0, "og")
    assert (lazy.dispatch_slot >= trace.task_slot).all() and lazy.result().mean_wait_s > 0


def test_callable_policy_and_threshold_agree():
    trace = _trace(2)
    a = run_episode(trace, 0.4)
    b = run_episode(trace, lambda ep: 0.4)
    assert a == b


def test_observation_layout():
    trace = _trace(5, rate_hz=80.0)
    ep = Episode(trace)
    K = trace.n_devices
    while not ep.done:
        obs = ep.observation()
        assert obs.shape == (OBS_SIZE,) and obs.dtype == np.float32 and np.isfinite(obs).all() and (obs >= 0).all()
        pending = ep._pending.size
        assert obs[0] == pytest.approx(pending / K)
        flags = obs[3::4]
        assert flags.sum() == min(pending, 8)
        slacks = obs[4::4][: min(pending, 8)]
        assert (np.diff(slacks) >= -1e-6).all()  # least slack first
        ep.step(0.3)


def test_empty_trace_is_an_idle_episode():
    trace = _trace(0, rate_hz=0.0)
    assert trace.n_tasks == 0
    res = run_episode(trace, 1.0)
    assert (res.tasks, res.energy_j, res.reward, res.batches) == (0, 0.0, 0.0, 0)


@pytest.mark.parametrize("theta", [-0.1, 1.5, math.nan, True, "1"])
def test_bad_theta(theta):
    ep = Episode(_trace(0))
    with pytest.raises(InvalidInputError, match="theta"):
        ep.step(theta)


def test_bad_options_and_misuse():
    trace = _trace(0)
    with pytest.raises(InvalidInputError, match="planner"):
        Episode(trace, planner="greedy")
    with pytest.raises(InvalidInputError, match="psi"):
        Episode(trace, psi=-1.0)
    with pytest.raises(InvalidInputError, match="trace"):
        Episode("trace.json")
    ep = Episode(trace)
    with pytest.raises(RuntimeError):
        ep.result()
    while not ep.done:
        ep.step(1.0)
    with pytest.raises(RuntimeError):
        ep.step(1.0)
    ep.reset()
    assert ep.t == 0 and not ep.done
