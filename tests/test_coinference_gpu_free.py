"""Planners with committed GPU work: the GPU is free only from H (``gpu_free_s``, docs/coinference.rst section 7).

Every offloading test becomes max(rho_k + a_k(s), H) + R[s+1] <= F. Checked here: every plan
verifies with the "gpu free" check and starts no batch before H; IP-SSA stays optimal under its
assumptions; OG sits between IP-SSA and the exact oracle and equals the best contiguous grouping;
H = 0 is the planner without the option; costs only rise with H; bad values raise.
"""

import math

import numpy as np
import pytest
from coinference_cases import replace, tiny
from reference import coinference_bruteforce, ipssa_reference, og_enumerate_groupings, og_reference

from j3o_fast.cli import main
from j3o_fast.coinference import Batch, CoInferencePlan, verify_plan
from j3o_fast.coinference.baselines import solve_fo, solve_ip_no_batch, solve_lc
from j3o_fast.coinference.ipssa import solve_ipssa
from j3o_fast.coinference.og import solve_og
from j3o_fast.coinference.oracle import solve_oracle
from j3o_fast.coinference.profiles import generate, random_instance
from j3o_fast.coinference.solve import METHODS, solve
from j3o_fast.coinference.verify import CHECKS
from j3o_fast.errors import InvalidInputError

#: The planners' deadline tests allow a relative 1e-12 of rounding; batch starts may sit that far before H.
SLACK = 1e-11


def _random(seed, K, N):
    """random_instance with every option varied by the seed (alpha, cap, releases, common deadline)."""
    return random_instance(K, N, seed=seed, alpha=seed % 2 == 0, max_batch=[None, 1, 2][seed % 3],
                           releases=seed % 4 < 2, common_deadline=seed % 5 == 0,
                           tightness=[1.0, 0.85, 1.2, 0.6][seed % 4])


def _h_values(inst):
    """0, a time between two releases, the median raw-input ready time, just before the earliest
    deadline's last batch, the median deadline (some users must go local) and past every deadline."""
    rel = np.unique(inst.release_s)
    D = inst.absolute_deadline
    between = float(rel[:2].mean()) if rel.size > 1 else 0.5 * float(inst.ready_time[:, 0].min())
    values = [0.0, between, float(np.median(inst.release_s + inst.ready_time[:, 0])),
              float(D.min() - inst.tail_s[inst.n_subtasks]), float(np.median(D)), float(D.max()) + 0.01]
    return sorted({max(0.0, h) for h in values})


def _cost(res):
    """(users missing their deadline, energy J), compared lexicographically."""
    return len(res.decision.infeasible_users), res.objective


def _no_worse(a, b):
    """Cost a <= cost b lexicographically, energies up to rounding."""
    return a[0] < b[0] or (a[0] == b[0] and a[1] <= b[1] + 1e-9 * max(1.0, abs(b[1])))


def _same(a, b):
    return a[0] == b[0] and math.isclose(a[1], b[1], rel_tol=1e-9, abs_tol=1e-12)


def _assert_valid(inst, res, H):
    """Verifies with gpu_free_s = H (only listed users' deadlines may fail) and starts nothing before H."""
    plan = res.decision
    report = verify_plan(inst, plan, gpu_free_s=H)
    if plan.feasible:
        assert report.ok, (res.method, H, report.summary())
    else:
        assert [v.constraint for v in report.violations] == ["deadlines"], (res.method, H, report.summary())
        assert report.violations[0].count == len(plan.infeasible_users)
    assert res.objective == pytest.approx(report.energy_j, rel=1e-12)
    for b in plan.batches:
        assert b.start_s >= H - SLACK * max(1.0, H), (res.method, H, b)


def _plans(inst, H):
    """Every method that applies to ``inst``, run with gpu_free_s = H."""
    out = [solve_og(inst, gpu_free_s=H), solve_og(inst, gpu_free_s=H, time_grid_s=0.002),
           solve_lc(inst, gpu_free_s=H), solve_ip_no_batch(inst, gpu_free_s=H)]
    if inst.max_batch is None or inst.max_batch >= inst.n_users:
        out.append(solve_fo(inst, gpu_free_s=H))
    for variant in ("auto", "conservative", "iterative"):
        try:
            out.append(solve_ipssa(inst, variant=variant, gpu_free_s=H))
        except InvalidInputError as exc:        # more offloaders than one batch holds: IP-SSA points to OG
            assert exc.path == "max_batch"
    if inst.n_users <= 4 and inst.n_subtasks <= 4:
        out.append(solve_oracle(inst, gpu_free_s=H))
    return out


# ---- (a) valid plans, no batch before H ------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(24))
def test_every_plan_verifies_and_starts_no_batch_before_h(seed):
    K, N = [(3, 3), (4, 2), (2, 4), (4, 4), (1, 3), (6, 3)][seed % 6]
    inst = _random(seed, K, N)
    for H in _h_values(inst):
        for res in _plans(inst, H):
            _assert_valid(inst, res, H)


def test_larger_instances_verify_with_h():
    for seed, (profile, K) in enumerate([("mobilenetv2", 80), ("vgg16", 30), ("mobilenetv2", 200)]):
        inst = generate(profile, K, deadline_spread=1.0, seed=seed, alpha=[0.0, 0.02][seed % 2],
                        max_batch=[None, 10][seed % 2])
        for H in _h_values(inst):
            res = solve_og(inst, gpu_free_s=H)
            _assert_valid(inst, res, H)
            _assert_valid(inst, solve_ip_no_batch(inst, gpu_free_s=H), H)


def test_past_every_deadline_everyone_runs_locally():
    rng = np.random.default_rng(3)
    for _ in range(20):
        inst = tiny(rng, int(rng.integers(1, 8)), int(rng.integers(1, 4)), common=False, releases=True)
        H = float(inst.absolute_deadline.max())
        for res in _plans(inst, H):
            assert res.decision.batches == () and (res.decision.partition == inst.n_subtasks).all(), res.method
            _assert_valid(inst, res, H)


def test_a_busy_gpu_moves_users_to_later_cuts_or_local():
    # H = the median latest start of the idle-GPU plan's chains: half of them no longer fit.
    inst = generate("mobilenetv2", 60, deadline_spread=0.5, seed=11)
    free = solve_og(inst)
    part = free.decision.partition
    off = np.nonzero(part < inst.n_subtasks)[0]
    H = float(np.median(inst.absolute_deadline[off] - inst.tail_s[part[off] + 1]))
    busy = solve_og(inst, gpu_free_s=H)
    _assert_valid(inst, busy, H)
    assert (busy.decision.partition[off] > part[off]).sum() >= off.size // 3
    assert busy.objective > free.objective
    assert "GPU free from" in busy.message and "GPU free" not in free.message


# ---- (b) IP-SSA with H is the optimum under its assumptions -----------------------------------------------

def test_ipssa_equals_the_oracle_with_h_under_constant_latency_and_one_deadline():
    checked = offloaded = 0
    for seed in range(70):
        K, N = 1 + seed % 4, 1 + (seed // 4) % 4
        inst = random_instance(K, N, seed=300 + seed, common_deadline=True, tightness=[1.0, 0.8, 0.6][seed % 3])
        if seed % 2:  # equal non-zero releases
            inst = replace(inst, release_s=np.full(K, 0.004))
        for H in _h_values(inst):
            ip, opt = solve_ipssa(inst, gpu_free_s=H), solve_oracle(inst, gpu_free_s=H)
            assert len(ip.decision.infeasible_users) == len(opt.decision.infeasible_users), (seed, H)
            assert ip.objective == pytest.approx(opt.objective, rel=1e-9, abs=1e-12), (seed, H)
            assert ip.status == opt.status
            checked += 1
            offloaded += bool(H > 0 and ip.decision.batches)
    assert checked > 300 and offloaded > 50   # H often leaves room to offload


# ---- (c) IP-SSA(min deadline) >= OG >= oracle, all with H -----------------------------------------------

def test_og_between_ipssa_at_the_minimum_deadline_and_the_oracle():
    rng = np.random.default_rng(41)
    better_than_ipssa = worse_than_oracle = 0
    for t in range(80):
        alpha = t % 3 == 0
        small = t % 2 == 0
        K = int(rng.integers(1, 5)) if small else int(rng.integers(2, 12))
        N = int(rng.integers(1, 5))
        inst = tiny(rng, K, N, common=False, alpha=alpha, releases=t % 4 < 2, max_batch=[None, 2][t % 5 == 0])
        for H in _h_values(inst):
            og = _cost(solve_og(inst, gpu_free_s=H))
            try:
                ip = _cost(solve_ipssa(inst, deadline=float(inst.absolute_deadline.min()), gpu_free_s=H,
                                       variant="conservative" if alpha else "exact"))
            except InvalidInputError as exc:
                assert exc.path == "max_batch"
            else:
                assert _no_worse(og, ip), (t, H, og, ip)
                better_than_ipssa += not _same(og, ip)
            if small:
                opt = _cost(solve_oracle(inst, gpu_free_s=H))
                assert _no_worse(opt, og), (t, H, opt, og)
                worse_than_oracle += not _same(og, opt)
    assert better_than_ipssa > 10 and worse_than_oracle > 0


# ---- (d) OG with H equals the best contiguous grouping and its twin ---------------------------------------

def test_og_equals_the_best_enumerated_grouping_with_h():
    rng = np.random.default_rng(42)
    multi_group = 0
    for t in range(90):
        K, N = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        inst = tiny(rng, K, N, common=False, releases=t % 3 == 0, max_batch=[None, None, 1, 2][t % 4])
        for H in _h_values(inst)[1:4]:
            res = solve_og(inst, gpu_free_s=H)
            assert _same(_cost(res), og_enumerate_groupings(inst, gpu_free_s=H)), (t, H)
            multi_group += int(res.message.split()[0]) > 1 and bool(res.decision.batches)
    assert multi_group > 10


def test_compiled_og_equals_its_twin_with_h_exact_and_on_a_grid():
    rng = np.random.default_rng(43)
    for t in range(60):
        K, N = int(rng.integers(1, 8)), int(rng.integers(1, 5))
        inst = tiny(rng, K, N, common=t % 7 == 0, releases=t % 2 == 0, max_batch=[None, 1, 2, 3][t % 4])
        for H in _h_values(inst):
            assert _same(_cost(solve_og(inst, gpu_free_s=H)), og_reference(inst, gpu_free_s=H)[0]), (t, H)
        q = float(rng.choice([0.003, 0.01]))
        H = _h_values(inst)[2]
        assert _same(_cost(solve_og(inst, gpu_free_s=H, time_grid_s=q)),
                     og_reference(inst, grid=q, gpu_free_s=H)[0]), (t, H, q)


def test_ipssa_and_the_oracle_equal_their_twins_with_h():
    rng = np.random.default_rng(44)
    for t in range(30):
        inst = tiny(rng, int(rng.integers(1, 40)), int(rng.integers(1, 6)), common=False, releases=t % 2 == 0)
        T = float(inst.absolute_deadline.min())
        for H in _h_values(inst):
            res = solve_ipssa(inst, gpu_free_s=H)
            twin_cost, twin_part = ipssa_reference(inst, T, gpu_free_s=H)
            assert res.decision.partition.tolist() == twin_part, (t, H)
            assert _same(_cost(res), twin_cost)
    for seed in range(12):
        inst = _random(seed, *[(3, 3), (4, 2), (2, 4)][seed % 3])
        for H in _h_values(inst)[1:4]:
            assert _same(_cost(solve_oracle(inst, gpu_free_s=H)), coinference_bruteforce(inst, gpu_free_s=H))


# ---- (e) H = 0 is the planner without the option ---------------------------------------------------------

def _fingerprint(res):
    plan = res.decision
    return (res.status, res.objective, plan.partition.tolist(), [(b.subtask, b.users, b.start_s) for b in plan.batches],
            plan.infeasible_users, res.message, res.iterations)


@pytest.mark.parametrize("seed", range(12))
def test_h_zero_changes_nothing(seed):
    K, N = [(3, 3), (4, 2), (2, 4), (4, 4)][seed % 4]
    for inst in (_random(seed, K, N), generate("mobilenetv2", 40, deadline_spread=seed % 3 * 0.5, seed=seed,
                                               alpha=[0.0, 0.02][seed % 2])):
        for method in METHODS:
            if method == "oracle" and inst.n_users > 4:
                continue
            for options in ({}, {"time_grid_s": 0.002}) if method == "og" else ({},):
                try:
                    before = solve(inst, method, **options)
                except InvalidInputError as exc:
                    with pytest.raises(InvalidInputError) as again:
                        solve(inst, method, gpu_free_s=0.0, **options)
                    assert str(again.value) == str(exc)
                    continue
                after = solve(inst, method, gpu_free_s=0.0, **options)
                assert _fingerprint(after) == _fingerprint(before), method
                assert _fingerprint(solve(inst, method, gpu_free_s=0, **options)) == _fingerprint(before)
                # the default verifier and H = 0 agree
                assert verify_plan(inst, after.decision, gpu_free_s=0.0).violations == \
                    verify_plan(inst, after.decision).violations


# ---- (f) costs only rise with H ---------------------------------------------------------------------------

def test_cost_never_decreases_as_h_grows():
    # Lexicographic (unserved users, energy): a user that becomes unserved runs all-local, which
    # can cost less energy than the offloading it needed before, so energy alone may drop there.
    rng = np.random.default_rng(45)
    rises = 0
    for t in range(40):
        small = t % 2 == 0
        K = int(rng.integers(1, 5)) if small else int(rng.integers(2, 15))
        inst = tiny(rng, K, int(rng.integers(1, 5)), common=t % 5 == 0, releases=t % 3 == 0,
                    alpha=t % 4 == 1, max_batch=[None, 2][t % 6 == 0])
        D = inst.absolute_deadline
        grid = np.linspace(0.0, float(D.max()) + 0.01, 12)
        solvers = [lambda H: solve_og(inst, gpu_free_s=H)]
        if small:
            solvers.append(lambda H: solve_oracle(inst, gpu_free_s=H))
        for run in solvers:
            costs = [_cost(run(float(H))) for H in grid]
            for a, b in zip(costs, costs[1:]):
                assert _no_worse(a, b), (t, a, b)
                if a[0] == b[0]:
                    assert b[1] >= a[1] - 1e-9 * max(1.0, a[1])      # equal service: energy never falls
            rises += costs[-1] != costs[0]
    assert rises > 20


# ---- (g) bad values ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [-1e-3, float("nan"), float("inf"), -float("inf"), True, "0.1", None])
def test_bad_gpu_free_raises_naming_it(value):
    inst = random_instance(3, 2, seed=1)
    calls = [lambda: solve(inst, method, gpu_free_s=value) for method in METHODS]
    calls += [lambda: solve_og(inst, gpu_free_s=value), lambda: solve_ipssa(inst, gpu_free_s=value),
              lambda: solve_oracle(inst, gpu_free_s=value), lambda: solve_fo(inst, gpu_free_s=value),
              lambda: solve_lc(inst, gpu_free_s=value), lambda: solve_ip_no_batch(inst, gpu_free_s=value),
              lambda: verify_plan(inst, solve_lc(inst).decision, gpu_free_s=value)]
    for call in calls:
        with pytest.raises(InvalidInputError) as err:
            call()
        assert err.value.path == "gpu_free_s"
        assert repr(value) in str(err.value)


def test_gpu_free_is_keyword_only():
    inst = random_instance(2, 2, seed=1)
    with pytest.raises(TypeError):
        solve_og(inst, None, 0.1)
    with pytest.raises(TypeError):
        verify_plan(inst, solve_lc(inst).decision, 1e-9, 0.1)


# ---- the verifier's "gpu free" check and the CLI ----------------------------------------------------------

def test_verifier_flags_a_batch_before_h():
    assert CHECKS.index("gpu free") == CHECKS.index("one batch at a time") + 1
    inst = generate("mobilenetv2", 20, deadline_spread=0.5, seed=2)
    plan = solve_og(inst).decision
    first = min(b.start_s for b in plan.batches)
    assert verify_plan(inst, plan, gpu_free_s=first).ok
    report = verify_plan(inst, plan, gpu_free_s=first + 1e-3)
    assert [v.constraint for v in report.violations] == ["gpu free", "feasible flag"]
    assert report.violations[0].worst_amount == pytest.approx(1e-3)
    # claimed infeasible with the early batch: only the check itself fails
    honest = CoInferencePlan(plan.partition, plan.batches, plan.energy_j, False, ())
    assert [v.constraint for v in verify_plan(inst, honest, gpu_free_s=first + 1e-3).violations] == ["gpu free"]
    # H = 0 adds no check, even for a batch before time 0 (readiness catches it instead)
    early = CoInferencePlan(plan.partition, tuple(Batch(b.subtask, b.users, b.start_s - 10.0) for b in plan.batches),
                            plan.energy_j, True, ())
    assert "gpu free" not in [v.constraint for v in verify_plan(inst, early).violations]


def test_cli_solve_takes_gpu_free(tmp_path, capsys):
    inst_path = tmp_path / "inst.json"
    assert main(["generate", "coinference", "--profile", "mobilenetv2", "--users", "12", "--seed", "4",
                 "-o", str(inst_path)]) == 0
    for method in ("og", "ip-ssa-min", "ip-no-batch"):
        assert main(["solve", str(inst_path), "--method", method, "--gpu-free", "0.02",
                     "-o", str(tmp_path / "plan.json")]) == 0
        assert "verified   ok" in capsys.readouterr().out
    assert main(["solve", str(inst_path), "--method", "og", "--gpu-free", "-1"]) == 2
    assert "--gpu-free: must be a finite number >= 0, got -1.0" in capsys.readouterr().err
