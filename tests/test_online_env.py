"""The dispatch environment (docs/coinference.rst section 7): Gymnasium checks, seeding, trace cycling, equal episodes."""

from __future__ import annotations

import doctest
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

from j3o_fast import InvalidInputError  # noqa: E402
from j3o_fast.coinference.online import OBS_SIZE, Scenario, generate_trace, run_episode  # noqa: E402
from j3o_fast.coinference.online import env as env_module  # noqa: E402
from j3o_fast.coinference.online.env import DispatchEnv  # noqa: E402

SMALL = Scenario(n_devices=4, n_slots=40, rate_hz=40.0)


def _traces(n: int = 3):
    return [generate_trace(Scenario(n_devices=3 + i % 3, n_slots=30 + 10 * i, rate_hz=40.0), seed=i)
            for i in range(n)]


def _rollout(env, theta: float, **reset):
    obs, _ = env.reset(**reset)
    total, steps, info = 0.0, 0, {}
    terminated = False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(np.array([theta], dtype=np.float32))
        assert not truncated and env.observation_space.contains(obs)
        total += reward
        steps += 1
    return total, steps, info


@pytest.mark.parametrize("planner", ["og", "ip-ssa"])
def test_passes_the_gymnasium_checker(planner):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # The observation space is Box(0, inf) on purpose: pending and arrival counts have no bound.
        warnings.filterwarnings("ignore", message=".*maximum value is infinity")
        check_env(DispatchEnv(SMALL, planner=planner), skip_render_check=True)
        check_env(DispatchEnv(traces=_traces(), planner=planner), skip_render_check=True)


def test_spaces():
    env = DispatchEnv(SMALL)
    assert env.observation_space.shape == (OBS_SIZE,) == (35,)
    assert env.observation_space.dtype == np.float32 and (env.observation_space.low == 0).all()
    assert env.action_space.shape == (1,) and env.action_space.low[0] == 0 and env.action_space.high[0] == 1


def test_reset_with_a_seed_is_deterministic():
    a, b = DispatchEnv(SMALL), DispatchEnv(SMALL)
    obs_a, info_a = a.reset(seed=7)
    obs_b, info_b = b.reset(seed=7)
    assert info_a == info_b and np.array_equal(obs_a, obs_b)
    assert _rollout(a, 0.4, seed=11) == _rollout(b, 0.4, seed=11)
    # The trace is generate_trace(scenario, seed=<drawn from np_random>), and later resets draw new ones.
    _, info = a.reset(seed=7)
    assert generate_trace(SMALL, seed=info["trace_seed"]).name == info["trace"]
    seeds = {a.reset()[1]["trace_seed"] for _ in range(5)}
    assert len(seeds) == 5


def test_traces_cycle_in_order_and_options_pick_one():
    traces = _traces()
    env = DispatchEnv(traces=traces)
    order = [env.reset(seed=0 if i == 0 else None)[1]["trace_index"] for i in range(7)]
    assert order == [0, 1, 2, 0, 1, 2, 0]
    assert env.reset(options={"trace": 2})[1]["trace_index"] == 2
    assert env.reset()[1]["trace_index"] == 0            # the cycle goes on after the picked trace
    assert env.reset(seed=5)[1]["trace_index"] == 0      # a seed restarts the cycle
    assert env.episode.trace is traces[0]
    for bad in (3, -1, 1.0, True):
        with pytest.raises(InvalidInputError, match="options.trace"):
            env.reset(options={"trace": bad})
    with pytest.raises(InvalidInputError, match="options.trace"):
        DispatchEnv(SMALL).reset(options={"trace": 0})


@pytest.mark.parametrize("planner", ["og", "ip-ssa"])
@pytest.mark.parametrize("theta", [0.0, 0.35, 1.0])
def test_a_fixed_threshold_through_the_env_equals_run_episode(planner, theta):
    traces = _traces()
    env = DispatchEnv(traces=traces, planner=planner, psi=4.0)
    for i, trace in enumerate(traces):
        total, steps, info = _rollout(env, theta, options={"trace": i})
        ref = run_episode(trace, theta, planner=planner, psi=4.0)
        assert steps == trace.n_slots                      # terminated exactly after S steps
        assert info["result"] == ref.to_dict()
        assert total == pytest.approx(ref.reward, rel=1e-12, abs=1e-12)


def test_actions_are_clipped_and_a_finished_episode_needs_a_reset():
    trace = _traces(1)[0]
    env = DispatchEnv(traces=[trace])
    low, _, _ = _rollout_actions(env, -3.0)
    high, _, _ = _rollout_actions(env, 7.0)
    assert low == pytest.approx(run_episode(trace, 0.0).reward)
    assert high == pytest.approx(run_episode(trace, 1.0).reward)
    with pytest.raises(RuntimeError):
        env.step(np.array([0.5], dtype=np.float32))
    with pytest.raises(RuntimeError, match="reset"):
        DispatchEnv(traces=[trace]).step(np.array([0.5], dtype=np.float32))


def _rollout_actions(env, action: float):
    env.reset()
    total, done, info = 0.0, False, {}
    while not done:
        _, reward, done, _, info = env.step(np.array([action], dtype=np.float32))
        total += reward
    return total, done, info


def test_info_and_steps_without_tasks():
    idle = generate_trace(Scenario(n_devices=3, n_slots=5, rate_hz=0.0), seed=0)
    env = DispatchEnv(traces=[idle])
    obs, info = env.reset()
    assert not obs.any() and info == {"trace": idle.name, "trace_index": 0}
    total, steps, info = _rollout(env, 0.5)
    assert (total, steps, info["result"]["tasks"], info["slot"]) == (0.0, 5, 0, 4)


def test_bad_arguments():
    traces = _traces(1)
    with pytest.raises(InvalidInputError, match="exactly one"):
        DispatchEnv()
    with pytest.raises(InvalidInputError, match="exactly one"):
        DispatchEnv(SMALL, traces)
    with pytest.raises(InvalidInputError, match="traces"):
        DispatchEnv(traces=[])
    with pytest.raises(InvalidInputError, match=r"traces\[1\]"):
        DispatchEnv(traces=[traces[0], "t.json"])
    with pytest.raises(InvalidInputError, match="scenario"):
        DispatchEnv("default")
    with pytest.raises(InvalidInputError, match="planner"):
        DispatchEnv(SMALL, planner="fifo")
    with pytest.raises(InvalidInputError, match="psi"):
        DispatchEnv(SMALL, psi=-1.0)


def test_docstring_examples():
    assert doctest.testmod(env_module).failed == 0


def test_importing_the_package_does_not_import_gymnasium_or_torch():
    code = ("import sys, j3o_fast, j3o_fast.cli, j3o_fast.coinference.online; "
            "print(sorted(m for m in ('gymnasium', 'torch', 'stable_baselines3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
