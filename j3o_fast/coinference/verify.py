"""Independent check of a co-inference plan against every constraint of P0 (docs/coinference.rst section 1)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .._validate import is_finite
from .._violations import Violation, summarize

from ..errors import InvalidInputError
from .instance import CoInferenceInstance
from .plan import CoInferencePlan

#: Default tolerance: seconds (scaled by max(1, |t|)) for times, relative to max(1, |E|) for energies.
DEFAULT_TOL = 1e-9

#: The checks, in report order.
CHECKS = ("coverage", "readiness", "precedence", "one batch at a time", "gpu free", "deadlines", "batch cap",
          "energy", "infeasible users", "feasible flag")

#: The checks that are constraints of P0 proper (the ``feasible`` flag claims they all hold).
_P0_CHECKS = CHECKS[:7]


@dataclass(frozen=True, eq=False)
class PlanReport:
    """``ok`` iff no check fails; ``energy_j`` is sum_k E_k(s_k) recomputed from the partition.

    ``finish_s`` (K,) is each user's absolute completion time (NaN when a batch is missing).
    """

    ok: bool
    energy_j: float
    violations: tuple
    finish_s: np.ndarray
    tol: float

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        return summarize(f"energy (recomputed) {self.energy_j:.6g} J; ", self.violations, self.tol)


class _Found:
    """Collects violations per check, keeping the count and the worst case."""

    def __init__(self):
        self.items: dict[str, list] = {}

    def add(self, check: str, where: str, amount: float) -> None:
        entry = self.items.setdefault(check, [0, where, amount])
        entry[0] += 1
        if amount > entry[2] or (np.isnan(entry[2]) and not np.isnan(amount)):
            entry[1], entry[2] = where, amount

    def violations(self) -> tuple:
        return tuple(Violation(c, *self.items[c]) for c in CHECKS if c in self.items)


def verify(instance: CoInferenceInstance, decision: CoInferencePlan, *, tol: float = DEFAULT_TOL,
           gpu_free_s: float = 0.0) -> PlanReport:
    """Check the plan ``decision`` against P0 and recompute its energy.

    The same shape as ``placement.verify``: the instance, the decision of a ``SolveResult``,
    then keyword-only ``tol`` and the domain's own options.

    Checks: coverage (every offloaded user k in exactly one batch for each n in s_k+1..N, and in
    no batch of a sub-task it runs itself), readiness (k's first batch starts at or after
    rho_k + a_k(s_k)), precedence (each later batch of k starts at or after k's previous batch
    ends), one batch at a time (a batch starts at or after every earlier batch ends), gpu free
    (with ``gpu_free_s`` H > 0, the absolute time until which the GPU runs committed work, every
    batch starts at or after H; H = 0, the default, adds no check), deadlines
    (k's last batch ends by rho_k + T_k; all-local needs L_k(N) <= T_k), batch cap (size <=
    max_batch), energy (energy_j[k] = E_k(s_k)), infeasible users (a listed user runs all-local),
    feasible flag (the plan's ``feasible`` equals "every other check holds"; it may also be
    False with every check holding when each listed user runs all-local and L_k(N) > T_k: a miss
    below the tolerance, as the solvers compute it).
    A batch of b users on sub-task n ends at start + beta[n] + alpha[n]*b. A plan that lists
    infeasible users fails the deadline check for them, as they miss their deadlines.
    Sizes or indices that do not fit the instance raise InvalidInputError.

    >>> from j3o_fast.coinference.baselines import solve_lc
    >>> from j3o_fast.coinference.profiles import generate
    >>> inst = generate("mobilenetv2", 3, deadline_s=0.05)
    >>> bool(verify(inst, solve_lc(inst).decision))
    True
    """
    inst, plan = instance, decision
    K, N = inst.n_users, inst.n_subtasks
    if not isinstance(plan, CoInferencePlan):
        raise InvalidInputError("decision", f"must be a CoInferencePlan, got {type(plan).__name__}")
    if plan.n_users != K:
        raise InvalidInputError("partition", f"must have {K} entries (one per user), got {plan.n_users}")
    s = plan.partition
    if (s > N).any():
        k = int(np.argmax(s > N))
        raise InvalidInputError(f"partition[{k}]", f"must be a partition point in 0..{N}, got {int(s[k])}")
    for i, b in enumerate(plan.batches):
        if b.subtask > N:
            raise InvalidInputError(f"batches[{i}][0]", f"must be a sub-task in 1..{N}, got {b.subtask}")
        if b.users[-1] >= K:
            raise InvalidInputError(f"batches[{i}][1]", f"must hold user indices < {K}, got {b.users[-1]}")
    if not (np.isfinite(tol) and tol >= 0):
        raise InvalidInputError("tol", f"must be a finite number >= 0, got {tol!r}")
    H = gpu_free_s
    if isinstance(H, bool) or not isinstance(H, numbers.Real) or not is_finite(H) or H < 0:
        raise InvalidInputError("gpu_free_s", f"must be a finite number >= 0 (absolute seconds), got {H!r}")

    found = _Found()
    slack = lambda t: tol * max(1.0, abs(t))  # noqa: E731  (time tolerance scaled to the clock)
    beta, alpha = inst.edge_beta_s, inst.edge_alpha_s
    starts = np.array([b.start_s for b in plan.batches])
    ends = np.array([b.start_s + beta[b.subtask - 1] + alpha[b.subtask - 1] * b.size for b in plan.batches])

    # Membership table: which batch serves user k on sub-task n (-1: none).
    member = np.full((K, N + 1), -1, dtype=np.int64)
    for i, b in enumerate(plan.batches):
        n = b.subtask
        for k in b.users:
            if n <= s[k]:
                found.add("coverage", f"user {k} in batches[{i}] for sub-task {n} it runs locally (s = {s[k]})", np.nan)
            elif member[k, n] >= 0:
                found.add("coverage", f"user {k} in batches[{member[k, n]}] and batches[{i}] for sub-task {n}", np.nan)
            else:
                member[k, n] = i
        if inst.max_batch is not None and b.size > inst.max_batch:
            found.add("batch cap", f"batches[{i}] holds {b.size} > max_batch {inst.max_batch}",
                      float(b.size - inst.max_batch))

    finish = np.full(K, np.nan)
    deadline = inst.absolute_deadline
    for k in range(K):
        sk = int(s[k])
        if sk == N:
            finish[k] = inst.release_s[k] + inst.local_time[k, N]
        else:
            prev_end, prev_where = inst.release_s[k] + inst.ready_time[k, sk], "ready"
            complete = True
            for n in range(sk + 1, N + 1):
                i = member[k, n]
                if i < 0:
                    found.add("coverage", f"user {k} has no batch for sub-task {n}", np.nan)
                    complete = False
                    break
                late = prev_end - starts[i]
                if late > slack(prev_end):
                    check = "readiness" if prev_where == "ready" else "precedence"
                    found.add(check, f"user {k} batches[{i}] (sub-task {n}) starts {late:.3g} s before its "
                                     + ("data is ready" if check == "readiness" else "previous batch ends"), late)
                prev_end, prev_where = ends[i], "batch"
            if complete:
                finish[k] = prev_end
        if not np.isnan(finish[k]) and finish[k] - deadline[k] > slack(deadline[k]):
            found.add("deadlines", f"user {k} ends at {finish[k]:.6g} s after its deadline {deadline[k]:.6g} s",
                      float(finish[k] - deadline[k]))

    # The GPU runs one batch at a time: each batch starts after every batch started before it ends.
    latest_end, latest_i = -np.inf, -1
    for i in range(len(plan.batches)):
        if latest_end - starts[i] > slack(latest_end):
            found.add("one batch at a time", f"batches[{i}] starts before batches[{latest_i}] ends",
                      float(latest_end - starts[i]))
        if ends[i] > latest_end:
            latest_end, latest_i = ends[i], i

    # Work committed before this plan holds the GPU until H.
    if H > 0:
        for i in np.nonzero(H - starts > slack(H))[0]:
            found.add("gpu free", f"batches[{i}] starts at {starts[i]:.6g} s, before the GPU is free at {H:.6g} s",
                      float(H - starts[i]))

    energy = inst.energy[np.arange(K), s]
    diff = np.abs(plan.energy_j - energy)
    for k in np.nonzero(diff > tol * np.maximum(1.0, np.abs(energy)))[0]:
        found.add("energy", f"energy_j[{k}] = {plan.energy_j[k]:.6g} J, E_k(s_k) = {energy[k]:.6g} J", float(diff[k]))
    for k in plan.infeasible_users:
        if s[k] != N:
            found.add("infeasible users", f"user {k} is listed infeasible but has s = {int(s[k])} < N = {N}", np.nan)

    p0_ok = not any(c in found.items for c in _P0_CHECKS)
    # A plan may list a user who misses its deadline by less than the tolerance (L_k(N) > T_k
    # exactly, as the solvers test it): the claim is true, only too small for the checks to see.
    declared_late = bool(plan.infeasible_users) and all(
        s[k] == N and inst.local_time[k, N] > inst.deadline_s[k] for k in plan.infeasible_users)
    if plan.feasible != p0_ok and not (p0_ok and not plan.feasible and declared_late):
        found.add("feasible flag", f"plan says feasible = {plan.feasible}, the constraints say {p0_ok}", np.nan)
    violations = found.violations()
    finish.setflags(write=False)
    return PlanReport(ok=not violations, energy_j=float(energy.sum()), violations=violations, finish_s=finish, tol=tol)


def verify_plan(instance: CoInferenceInstance, plan: CoInferencePlan, tol: float = DEFAULT_TOL, *,
                gpu_free_s: float = 0.0) -> PlanReport:
    """Alias of ``verify`` kept for existing callers (``tol`` may be passed by position here).

    >>> from j3o_fast.coinference.baselines import solve_lc
    >>> from j3o_fast.coinference.profiles import generate
    >>> inst = generate("mobilenetv2", 3, deadline_s=0.05)
    >>> bool(verify_plan(inst, solve_lc(inst).decision, 1e-9))
    True
    """
    return verify(instance, plan, tol=tol, gpu_free_s=gpu_free_s)


@dataclass(frozen=True, eq=False)
class Verdict:
    """The one decision on a plan, shared by ``solve``, ``verify`` and the sweep.

    ``accepted``: every check holds, or the only failures are deadlines missed by users the plan
    itself lists as infeasible (they run all-local and miss by declaration: a usable plan that
    reports them). ``declared`` is that second case. ``report`` is the full ``PlanReport``.
    """

    accepted: bool
    declared: bool
    report: PlanReport

    def __bool__(self) -> bool:
        return self.accepted

    def word(self) -> str:
        """'ok', 'ok except the listed users' or 'VIOLATED'."""
        return "ok" if self.report.ok else ("ok except the listed users" if self.accepted else "VIOLATED")


def plan_verdict(inst: CoInferenceInstance, plan: CoInferencePlan, *, tol: float = DEFAULT_TOL) -> Verdict:
    """``verify`` and the rule above: accepted iff ok, or only listed users are late (the
    plan's status is then "partial").

    >>> from j3o_fast.coinference import generate, solve_og
    >>> inst = generate("mobilenetv2", 4, seed=0)
    >>> plan_verdict(inst, solve_og(inst).decision).accepted
    True
    """
    report = verify(inst, plan, tol=tol)
    if report.ok:
        return Verdict(True, False, report)
    late = set(np.nonzero(report.finish_s > inst.absolute_deadline
                          + tol * np.maximum(1.0, np.abs(inst.absolute_deadline)))[0].tolist())
    declared = all(v.constraint == "deadlines" for v in report.violations) and late <= set(plan.infeasible_users)
    return Verdict(declared, declared, report)

