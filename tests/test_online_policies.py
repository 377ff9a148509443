"""Dispatch policies (docs/coinference.rst section 7): thresholds, the best threshold, clairvoyant OG, DDPG agents."""

from __future__ import annotations

import doctest
import os
import zipfile

import numpy as np
import pytest

from j3o_fast import InvalidInputError
from j3o_fast.coinference import verify_plan
from j3o_fast.coinference.online import (DDPGPolicy, Episode, Scenario, Threshold, TrainingInterrupted, best_threshold,
                                         clairvoyant, clairvoyant_outcome, every_slot, generate_trace, run_episode,
                                         train_ddpg)
from j3o_fast.coinference.online import policies as policies_module

TINY = Scenario(n_devices=3, n_slots=30, rate_hz=40.0)


def _trace(seed: int, **kw):
    args = dict(n_devices=3 + seed % 3, n_slots=40 + 10 * (seed % 3), rate_hz=50.0, max_batch=None if seed % 2 else 3,
                alpha=0.05 * (seed % 2))
    args.update(kw)
    return generate_trace(Scenario(**args), seed=seed)


# ---- fixed policies ------------------------------------------------------------------------------

def test_every_slot_and_threshold_are_the_constant_thetas():
    trace = _trace(1)
    assert run_episode(trace, every_slot) == run_episode(trace, 1.0)
    assert run_episode(trace, Threshold(0.3), planner="ip-ssa") == run_episode(trace, 0.3, planner="ip-ssa")
    assert Threshold(0).x == 0.0 and Threshold(1).x == 1.0 and repr(Threshold(0.25)) == "Threshold(0.25)"


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan"), float("inf"), True, "0.5", None])
def test_threshold_must_lie_in_the_unit_interval(bad):
    with pytest.raises(InvalidInputError, match="threshold: must be a number in"):
        Threshold(bad)


def _independent_table(traces, grid, planner):
    """Per grid point: summed violations and energy / tasks, from hand-driven episodes."""
    rows = []
    for x in grid:
        violations = tasks = 0
        energy = 0.0
        for tr in traces:
            ep = Episode(tr, planner=planner)
            while not ep.done:
                ep.step(x)
            energy += float(tr.devices.energy[tr.task_device, ep.choice].sum())
            violations += int(ep.violation.sum())
            tasks += tr.n_tasks
        rows.append((x, violations, energy / tasks))
    return rows


@pytest.mark.parametrize("planner", ["og", "ip-ssa"])
def test_best_threshold_takes_the_least_energy_among_the_fewest_violations(planner):
    traces = [_trace(s, rate_hz=80.0, deadline_min_s=0.015) for s in (3, 4)]
    grid = np.linspace(0.0, 1.0, 6)
    x, table = best_threshold(traces, planner=planner, grid=grid)
    ref = _independent_table(traces, grid, planner)
    assert [row["theta"] for row in table] == pytest.approx(grid.tolist())
    for row, (theta, violations, per_task) in zip(table, ref):
        assert row["violations"] == violations
        assert row["energy_per_task_j"] == pytest.approx(per_task, rel=1e-12)
        assert row["tasks"] == sum(t.n_tasks for t in traces)
    fewest = min(v for _, v, _ in ref)
    expected = min((e, i) for i, (_, v, e) in enumerate(ref) if v == fewest)[1]
    assert x == grid[expected]


def test_best_threshold_ties_go_to_the_earlier_grid_point():
    traces = [_trace(5)]
    x, table = best_threshold(traces, grid=[0.7, 0.7, 0.2])
    assert x == 0.7 and table[0] == table[1]
    idle = generate_trace(Scenario(n_devices=3, n_slots=5, rate_hz=0.0), seed=0)
    assert best_threshold([idle], grid=[0.9, 0.1])[0] == 0.9       # nothing to tell apart


@pytest.mark.parametrize("grid, match", [([], "grid"), ([0.5, 1.5], r"grid\[1\]"), ([float("nan")], r"grid\[0\]"),
                                         (["a"], "grid"), (3, "grid")])
def test_best_threshold_refuses_bad_grids(grid, match):
    with pytest.raises(InvalidInputError, match=match):
        best_threshold([_trace(1)], grid=grid)


def test_best_threshold_refuses_bad_traces_and_planners():
    with pytest.raises(InvalidInputError, match="traces"):
        best_threshold([])
    with pytest.raises(InvalidInputError, match=r"traces\[0\]"):
        best_threshold(["t.json"])
    with pytest.raises(InvalidInputError, match="planner"):
        best_threshold([_trace(1)], planner="fifo")


# ---- clairvoyant OG ------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_clairvoyant_verifies_with_the_energy_of_its_plan(seed):
    trace = _trace(seed, rate_hz=60.0 + 20.0 * (seed % 3))
    inst, sol = clairvoyant_outcome(trace)
    res = clairvoyant(trace, psi=3.0, outcome=(inst, sol))
    assert res == clairvoyant(trace, psi=3.0)
    plan = sol.decision
    report = verify_plan(inst, plan)
    assert report.energy_j == pytest.approx(res.energy_j, rel=1e-12) and res.energy_j == sol.objective
    if res.violations == 0:
        assert report.ok, report.summary()
    else:  # tasks no grouping serves run all-local past their deadline; nothing else fails
        assert [v.constraint for v in report.violations] == ["deadlines"]
        assert report.violations[0].count == res.violations == len(plan.infeasible_users)
    # The instance: one user per task, released on arrival with its relative deadline.
    np.testing.assert_array_equal(inst.release_s, trace.task_slot * trace.slot_s)
    np.testing.assert_array_equal(inst.deadline_s, trace.task_deadline_s)
    np.testing.assert_array_equal(inst.uplink_mbps, trace.uplink_mbps[trace.task_device])
    # The figures of section 7.
    N = trace.n_subtasks
    e_ref = float(trace.devices.energy[:, N].mean())
    local = float(trace.devices.energy[trace.task_device, N].sum())
    ends = [b.start_s + trace.edge_beta_s[b.subtask - 1] + trace.edge_alpha_s[b.subtask - 1] * b.size
            for b in plan.batches]
    busy = sum(e - b.start_s for b, e in zip(plan.batches, ends))
    assert res.tasks == trace.n_tasks and res.mean_wait_s == 0.0 and res.batches == len(plan.batches)
    assert res.local_energy_j == pytest.approx(local) and res.saving == pytest.approx(1 - res.energy_j / local)
    assert res.energy_per_task_j == pytest.approx(res.energy_j / trace.n_tasks)
    assert res.gpu_busy_fraction == pytest.approx(busy / max(trace.n_slots * trace.slot_s, max(ends)))
    assert res.reward == pytest.approx(-res.energy_j / e_ref - 3.0 * res.violations)


def test_clairvoyant_of_an_idle_trace():
    idle = generate_trace(Scenario(n_devices=3, n_slots=5, rate_hz=0.0), seed=0)
    res = clairvoyant(idle)
    assert res.tasks == 0 and res.energy_j == 0.0 and res.reward == 0.0
    with pytest.raises(InvalidInputError, match="trace"):
        clairvoyant_outcome(idle)
    with pytest.raises(InvalidInputError, match="trace"):
        clairvoyant("t.json")


def test_docstring_examples():
    assert doctest.testmod(policies_module).failed == 0


# ---- DDPG --------------------------------------------------------------------------------------

def _weights(policy):
    return {k: v.numpy().copy() for k, v in policy.model.policy.state_dict().items()}


def test_train_ddpg_writes_a_loadable_seeded_agent(tmp_path):
    pytest.importorskip("stable_baselines3")
    a = train_ddpg(TINY, steps=300, seed=3, out_path=tmp_path / "a.zip", checkpoint_every=100, learning_starts=100)
    b = train_ddpg(TINY, steps=300, seed=3, out_path=tmp_path / "sub" / "b.zip", checkpoint_every=1000,
                   learning_starts=100)
    assert a == str(tmp_path / "a.zip")
    pa, pb = DDPGPolicy(a), DDPGPolicy(b)
    assert pa.model.num_timesteps == 300
    wa, wb = _weights(pa), _weights(pb)
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)   # same seed, same agent
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []        # no temporary files left
    # The actor and critic learning rates of docs/coinference.rst section 7.
    assert pa.model.actor.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert pa.model.critic.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    trace = generate_trace(TINY, seed=99)
    res = run_episode(trace, pa, planner="og")
    assert res.tasks == trace.n_tasks and res == run_episode(trace, pb)
    # theta is the deterministic action, clipped to [0, 1]
    ep = Episode(trace)
    theta = pa(ep)
    action, _ = pa.model.predict(ep.observation(), deterministic=True)
    assert 0.0 <= theta <= 1.0 and theta == pytest.approx(float(np.clip(action[0], 0, 1)))


def test_train_ddpg_on_traces_with_ip_ssa(tmp_path):
    pytest.importorskip("stable_baselines3")
    traces = [generate_trace(TINY, seed=s) for s in (1, 2)]
    path = train_ddpg(traces, planner="ip-ssa", steps=120, seed=0, out_path=tmp_path / "ip.zip", learning_starts=60)
    res = run_episode(traces[0], DDPGPolicy(path), planner="ip-ssa")
    assert res.tasks == traces[0].n_tasks


def test_an_interrupt_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    pytest.importorskip("stable_baselines3")
    from j3o_fast.coinference.online import env as env_module

    step = env_module.DispatchEnv.step
    calls = {"n": 0}

    def interrupted(self, action):
        calls["n"] += 1
        if calls["n"] == 130:
            raise KeyboardInterrupt
        return step(self, action)

    monkeypatch.setattr(env_module.DispatchEnv, "step", interrupted)
    out = tmp_path / "agent.zip"
    with pytest.raises(TrainingInterrupted) as info:
        train_ddpg(TINY, steps=1000, seed=0, out_path=out, checkpoint_every=50, learning_starts=20)
    assert isinstance(info.value, KeyboardInterrupt)
    assert (info.value.steps, info.value.saved_step, info.value.path) == (129, 100, str(out))
    assert DDPGPolicy(out).model.num_timesteps == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.zip"]


def test_train_ddpg_refuses_bad_arguments(tmp_path):
    pytest.importorskip("stable_baselines3")
    out = tmp_path / "a.zip"
    for kw, match in [({"steps": 0}, "steps"), ({"seed": -1}, "seed"), ({"checkpoint_every": 0}, "checkpoint_every"),
                      ({"planner": "fifo"}, "planner"), ({"learning_starts": -5}, "learning_starts")]:
        args = dict(steps=10, seed=0, out_path=out) | kw
        with pytest.raises(InvalidInputError, match=match):
            train_ddpg(TINY, **args)
    with pytest.raises(InvalidInputError, match="traces"):
        train_ddpg([], steps=10, out_path=out)
    with pytest.raises(InvalidInputError, match="out_path"):
        train_ddpg(TINY, steps=10, out_path=tmp_path)
    assert not out.exists()


def test_agent_files_that_are_not_agents(tmp_path):
    pytest.importorskip("stable_baselines3")
    with pytest.raises(InvalidInputError, match="missing.zip: file not found"):
        DDPGPolicy(tmp_path / "missing.zip")
    with pytest.raises(InvalidInputError, match="is a folder, not a file"):
        DDPGPolicy(tmp_path)
    fifo = tmp_path / "fifo.zip"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInputError, match="fifo.zip: is not a regular file"):
        DDPGPolicy(fifo)   # refused without opening it, which would block
    text = tmp_path / "text.zip"
    text.write_text("hello")
    with pytest.raises(InvalidInputError, match="text.zip: not a stable-baselines3 DDPG agent"):
        DDPGPolicy(text)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "not an agent")
    with pytest.raises(InvalidInputError, match="other.zip: not a stable-baselines3 DDPG agent"):
        DDPGPolicy(other)
