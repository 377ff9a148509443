"""The online environment against the learner that drives it (docs/coinference.rst section 7).

One environment step (observation, dispatch, OG planning, execution) of the default scenario
against one DDPG gradient step of Stable-Baselines3 with the section 7 networks (MLP 256-256,
batch 128, buffer filled by a warm-up): extra_info holds the environment's share of a training
step, env / (env + gradient step). The check: the episode driven through the environment ends
after S steps with the same reward as ``run_episode``.
"""

import time

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("gymnasium")

from stable_baselines3 import DDPG  # noqa: E402
from timing import mean_seconds  # noqa: E402

from j3o_fast.coinference.online import generate_trace, run_episode, scenario  # noqa: E402
from j3o_fast.coinference.online.env import DispatchEnv  # noqa: E402


def _rollout(env, theta=0.45):
    env.reset(seed=0, options={"trace": 0})
    total, steps, done = 0.0, 0, False
    while not done:
        _, r, done, _, _ = env.step(np.array([theta], dtype=np.float32))
        total += r
        steps += 1
    return total, steps


def test_bench_env_step_against_ddpg_step(benchmark):
    trace = generate_trace(scenario("default"), seed=11)
    env = DispatchEnv(traces=[trace])
    total, steps = benchmark.pedantic(lambda: _rollout(env), rounds=3, iterations=1, warmup_rounds=1)
    assert steps == trace.n_slots
    assert total == pytest.approx(run_episode(trace, 0.45).reward, rel=1e-9)
    env_step_s = mean_seconds(benchmark, lambda: _rollout(env)) / steps

    model = DDPG("MlpPolicy", DispatchEnv(traces=[trace]), learning_rate=1e-4, buffer_size=100_000, batch_size=128,
                 learning_starts=200, gamma=0.99, tau=0.005, policy_kwargs={"net_arch": [256, 256]}, seed=0,
                 device="cpu")
    model.learn(total_timesteps=256)  # fills the buffer past the warm-up
    model.train(gradient_steps=5, batch_size=128)
    t0 = time.perf_counter()
    model.train(gradient_steps=20, batch_size=128)
    grad_step_s = (time.perf_counter() - t0) / 20
    benchmark.extra_info.update(env_step_ms=env_step_s * 1e3, ddpg_gradient_step_ms=grad_step_s * 1e3,
                                env_share_of_training_step=env_step_s / (env_step_s + grad_step_s))
