"""The online episode: the slot loop of docs/coinference.rst section 7.

At slot t (time tau = t*Delta) the pending tasks P_t (arrived, not yet dispatched, in trace-row
order) have slack_i(t) = T_i - (t - a_i)*Delta. A policy returns theta_t in [0, 1]; every pending
task with slack_i(t) <= theta_t*T_max is dispatched, and so is every forced task,
slack_i(t) - Delta < opt_i, where opt_i = min(L_k(N), min_{s<N} a_k(s) + R1[s+1]) is the best
case of its device with batches of one. Dispatched tasks with slack_i(t) < opt_i are hopeless:
violations, run all-local. The rest are planned (``planner.plan_dispatch``) on a GPU free from
H_t; the plan's batches are committed and run as soon as possible in their planned order, each
from max(end of the previous batch or H_t, members' readiness) for te[n](b) of its actual size
b; H_{t+1} is the end of the last committed batch. The reward of a slot is

    r_t = -(sum of E_i over the dispatched tasks) / E_ref - psi * (violations among them),

E_ref the mean all-local energy E_k(N) over devices. After slot S-1 a final step S, with no
policy call, dispatches everything still pending at tau = S*Delta.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from ..._validate import is_finite
from ...errors import InvalidInputError
from ..instance import CoInferenceInstance
from ...result import SolveResult
from ..plan import Batch, make_result
from .planner import PLANNERS, plan_dispatch, planned_tail
from .trace import OnlineTrace

#: Pending tasks described in the observation (those of least slack).
OBS_TASKS = 8
#: Features per described task: present flag, slack/T_max, all-local energy/E_ref, least edge energy/E_ref.
OBS_TASK_FEATURES = 4
#: Observation length: pending/K, backlog (H - tau)^+/T_max, arrivals this slot/K, then the tasks.
OBS_SIZE = 3 + OBS_TASKS * OBS_TASK_FEATURES

#: Default violation weight psi of the reward.
DEFAULT_PSI = 10.0


@dataclass(frozen=True)
class EpisodeResult:
    """Per-episode figures of section 7 (energies in J, times in s).

    saving = 1 - energy_j/local_energy_j (all-local on the same trace); gpu_busy_fraction =
    sum of batch durations / max(S*Delta, end of the last batch); mean_wait_s = mean of
    dispatch - arrival; reward = sum of the slot rewards.
    """

    tasks: int
    energy_j: float
    energy_per_task_j: float
    local_energy_j: float
    saving: float
    violations: int
    mean_wait_s: float
    gpu_busy_fraction: float
    batches: int
    reward: float

    def to_dict(self) -> dict:
        return asdict(self)


def _check_planner(planner) -> str:
    if planner not in PLANNERS:
        raise InvalidInputError("planner", f"must be one of {', '.join(PLANNERS)}, got {planner!r}")
    return planner


def _check_psi(psi) -> float:
    if isinstance(psi, bool) or not isinstance(psi, numbers.Real) or not is_finite(psi) or psi < 0:
        raise InvalidInputError("psi", f"must be a finite number >= 0, got {psi!r}")
    return float(psi)


def _check_theta(theta) -> float:
    if isinstance(theta, bool) or not isinstance(theta, numbers.Real) or not 0.0 <= float(theta) <= 1.0:
        raise InvalidInputError("theta", f"must be a number in [0, 1], got {theta!r}")
    return float(theta)


class Episode:
    """One episode over ``trace``; drive it with ``step(theta)`` until ``done``.

    ``t`` is the next slot to decide; ``observation()`` describes slot t with its arrivals.
    ``planner`` is "og" or "ip-ssa"; ``psi`` weighs violations in the reward.
    """

    def __init__(self, trace: OnlineTrace, *, planner: str = "og", psi: float = DEFAULT_PSI) -> None:
        if not isinstance(trace, OnlineTrace):
            raise InvalidInputError("trace", f"must be an OnlineTrace, got {type(trace).__name__}")
        self.trace = trace
        self.planner = _check_planner(planner)
        self.psi = _check_psi(psi)
        dev = trace.devices
        N = trace.n_subtasks
        self._energy = np.asarray(dev.energy)
        self._ready = np.asarray(dev.ready_time)
        self._local = np.asarray(dev.local_time[:, N])
        r1 = planned_tail(trace.edge_beta_s, trace.edge_alpha_s, 1, None)
        self._tail1 = r1
        self._opt = np.minimum(self._local, (self._ready[:, :N] + r1[None, 1:N + 1]).min(axis=1))
        self._e_ref = float(self._energy[:, N].mean())
        self.reset()

    # ---- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to slot 0, nothing dispatched, the GPU free from 0."""
        M = self.trace.n_tasks
        self.t = 0
        self.done = False
        self.gpu_free = 0.0
        self.dispatch_slot = np.full(M, -1, dtype=np.int64)
        self.slack_at_dispatch = np.zeros(M)
        self.choice = np.full(M, self.trace.n_subtasks, dtype=np.int64)
        self.violation = np.zeros(M, dtype=bool)
        self.executed: list = []  # (subtask, rows, start, end)
        self.rewards: list = []
        self.plan_time_s = 0.0
        self._pending = np.zeros(0, dtype=np.int64)
        self._next_row = 0
        self._arrivals = 0
        self._admit()

    def _admit(self) -> None:
        """Add the tasks of slot t to the pending set (rows are sorted by slot)."""
        slots = self.trace.task_slot
        end = int(np.searchsorted(slots, self.t, side="right"))
        new = np.arange(self._next_row, end, dtype=np.int64)
        self._arrivals = new.size
        self._pending = np.concatenate([self._pending, new])
        self._next_row = end

    def _slack(self, rows: np.ndarray) -> np.ndarray:
        tr = self.trace
        return tr.task_deadline_s[rows] - (self.t - tr.task_slot[rows]) * tr.slot_s

    # ---- observation ---------------------------------------------------------------------
    def observation(self) -> np.ndarray:
        """(OBS_SIZE,) float32: see the module constants for the layout.

        Per described task, the least edge energy is min E_k(s) over s < N with
        max(tau + a_k(s), H) + R1[s+1] <= tau + slack (reachable with batches of one behind the
        committed work), or the all-local energy when no such s exists.
        """
        tr = self.trace
        K, N = tr.n_devices, tr.n_subtasks
        tau = self.t * tr.slot_s
        obs = np.zeros(OBS_SIZE, dtype=np.float32)
        rows = self._pending
        obs[0] = rows.size / K
        obs[1] = max(self.gpu_free - tau, 0.0) / tr.deadline_max_s
        obs[2] = self._arrivals / K
        if rows.size:
            slack = self._slack(rows)
            pick = np.lexsort((rows, slack))[:OBS_TASKS]
            r, sl = rows[pick], slack[pick]
            dev = tr.task_device[r]
            reach = np.maximum(tau + self._ready[dev, :N], self.gpu_free) + self._tail1[None, 1:N + 1]
            edge = np.where(reach <= (tau + sl)[:, None], self._energy[dev, :N], np.inf).min(axis=1)
            local = self._energy[dev, N]
            feats = np.stack([np.ones_like(sl), sl / tr.deadline_max_s, local / self._e_ref,
                              np.minimum(edge, local) / self._e_ref], axis=1)
            obs[3:3 + feats.size] = feats.ravel()
        return obs

    # ---- the slot --------------------------------------------------------------------------
    def step(self, theta: float) -> float:
        """Apply slot t with threshold theta; after slot S-1 also the final step S. Returns the reward."""
        if self.done:
            raise RuntimeError("the episode is over: reset() it first")
        reward = self._dispatch(_check_theta(theta), final=False)
        self.t += 1
        if self.t == self.trace.n_slots:
            reward += self._dispatch(1.0, final=True)
            self.done = True
        else:
            self._admit()
        return reward

    def _dispatch(self, theta: float, *, final: bool) -> float:
        tr = self.trace
        N = tr.n_subtasks
        rows = self._pending
        tau = self.t * tr.slot_s
        if rows.size == 0:
            self.rewards.append(0.0)
            return 0.0
        slack = self._slack(rows)
        dev = tr.task_device[rows]
        if final:
            go = np.ones(rows.size, dtype=bool)
        else:
            go = (slack <= theta * tr.deadline_max_s) | (slack - tr.slot_s < self._opt[dev])
        out, out_slack, out_dev = rows[go], slack[go], dev[go]
        self._pending = rows[~go]
        if out.size == 0:
            self.rewards.append(0.0)
            return 0.0
        self.dispatch_slot[out] = self.t
        self.slack_at_dispatch[out] = out_slack
        hopeless = out_slack < self._opt[out_dev]
        self.violation[out[hopeless]] = True
        self.choice[out[hopeless]] = N

        planned, p_slack, p_dev = out[~hopeless], out_slack[~hopeless], out_dev[~hopeless]
        t0 = time.perf_counter()
        plan = plan_dispatch(self._energy[p_dev], self._ready[p_dev], self._local[p_dev], p_slack, tau,
                             self.gpu_free, tr.edge_beta_s, tr.edge_alpha_s, tr.max_batch, self.planner)
        self.plan_time_s += time.perf_counter() - t0
        self.choice[planned] = plan.choice
        self.violation[planned] = ~plan.served
        self._execute(plan, planned, p_dev, tau)

        energy = float(self._energy[out_dev, self.choice[out]].sum())
        reward = -energy / self._e_ref - self.psi * int(self.violation[out].sum())
        self.rewards.append(reward)
        return reward

    def _execute(self, plan, planned: np.ndarray, p_dev: np.ndarray, tau: float) -> None:
        """Run the committed batches as soon as possible in their planned order; move H."""
        beta, alpha = self.trace.edge_beta_s, self.trace.edge_alpha_s
        free: dict[int, float] = {}  # task index -> end of its previous batch
        H = self.gpu_free
        for m, members, _planned_start in plan.batches:
            start = H
            for a in members.tolist():
                s = int(plan.choice[a])
                ready = tau + self._ready[p_dev[a], s] if m == s + 1 else free[a]
                start = max(start, ready)
            end = start + beta[m - 1] + alpha[m - 1] * members.size
            for a in members.tolist():
                free[a] = end
            self.executed.append((m, planned[members], start, end))
            H = end
        self.gpu_free = H

    # ---- results ---------------------------------------------------------------------------
    def result(self) -> EpisodeResult:
        """The figures of the finished episode."""
        if not self.done:
            raise RuntimeError("the episode is not over yet")
        tr = self.trace
        N = tr.n_subtasks
        M = tr.n_tasks
        dev = tr.task_device
        energy = float(self._energy[dev, self.choice].sum())
        local = float(self._energy[dev, N].sum())
        busy = sum(e - s for _, _, s, e in self.executed)
        last = max((e for _, _, _, e in self.executed), default=0.0)
        horizon = max(tr.n_slots * tr.slot_s, last)
        wait = ((self.dispatch_slot - tr.task_slot) * tr.slot_s).mean() if M else 0.0
        return EpisodeResult(
            tasks=M, energy_j=energy, energy_per_task_j=energy / M if M else 0.0, local_energy_j=local,
            saving=1.0 - energy / local if M else 0.0, violations=int(self.violation.sum()),
            mean_wait_s=float(wait), gpu_busy_fraction=busy / horizon, batches=len(self.executed),
            reward=float(sum(self.rewards)))


def run_episode(trace: OnlineTrace, policy: float | Callable[[Episode], float], *, planner: str = "og",
                psi: float = DEFAULT_PSI) -> EpisodeResult:
    """Play one episode: ``policy`` is a threshold theta in [0, 1] or a callable (episode) -> theta.

    >>> from j3o_fast.coinference.online import Scenario, generate_trace
    >>> trace = generate_trace(Scenario(n_devices=4, n_slots=40), seed=1)
    >>> res = run_episode(trace, 1.0)
    >>> res.tasks == trace.n_tasks, 0.0 < res.saving < 1.0
    (True, True)
    """
    return play_episode(trace, policy, planner=planner, psi=psi).result()


def play_episode(trace: OnlineTrace, policy: float | Callable[[Episode], float], *, planner: str = "og",
                 psi: float = DEFAULT_PSI) -> Episode:
    """``run_episode``, returning the finished ``Episode`` (for ``episode_outcome`` and the figures)."""
    ep = Episode(trace, planner=planner, psi=psi)
    decide = policy if callable(policy) else (lambda _ep, x=_check_theta(policy): x)
    while not ep.done:
        ep.step(decide(ep))
    return ep


def episode_outcome(episode: Episode) -> tuple[CoInferenceInstance, SolveResult]:
    """The finished episode as a P0 instance and plan: (CoInferenceInstance, SolveResult).

    Users are the trace's tasks in row order, released at their dispatch time with their slack at
    dispatch as relative deadline; the batches are the committed ones at their actual starts.
    Violations are listed as infeasible users (they run all-local and miss their deadline); the
    result's status is then "partial", a usable plan that leaves them unserved.
    """
    if not episode.done:
        raise RuntimeError("the episode is not over yet")
    tr = episode.trace
    dev = tr.task_device
    if tr.n_tasks == 0:
        raise InvalidInputError("trace", "an episode without tasks has no plan")
    inst = CoInferenceInstance(
        subtasks=tr.subtasks, output_mbit=tr.output_mbit, edge_beta_s=tr.edge_beta_s, edge_alpha_s=tr.edge_alpha_s,
        local_latency_s=tr.local_latency_s[dev], local_energy_j=tr.local_energy_j[dev],
        uplink_mbps=tr.uplink_mbps[dev], tx_power_w=tr.tx_power_w[dev], deadline_s=episode.slack_at_dispatch,
        release_s=episode.dispatch_slot * tr.slot_s, max_batch=tr.max_batch,
        name=f"online episode of {tr.name or 'a trace'} ({episode.planner})")
    batches = [Batch(int(m), rows.astype(np.int64), float(start)) for m, rows, start, _ in episode.executed]
    result = make_result(inst, f"online-{episode.planner}", episode.choice, batches,
                         runtime_s=episode.plan_time_s, infeasible_users=np.flatnonzero(episode.violation).tolist(),
                         message=f"{len(batches)} committed batches")
    return inst, result


__all__ = ["DEFAULT_PSI", "Episode", "EpisodeResult", "OBS_SIZE", "OBS_TASKS", "episode_outcome", "play_episode",
           "run_episode"]
