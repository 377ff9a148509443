"""The ``j3o-fast`` command line: generate, solve and verify instance files; run and report studies.

Files are recognised by their ``format`` field, so ``solve`` and ``verify`` work for every
domain. Bad input exits with status 2 and a one-line message naming the field and value;
``verify`` exits with 1 when a constraint is violated. Numeric options are checked against
``OPTION_RANGES`` and output paths against the file system before any file is read or any
solve runs. ``online run``, ``online clairvoyant`` and ``online train`` play, bound and learn
dispatch policies on arrival traces (docs/coinference.rst section 7); Ctrl-C during training exits
with 130, the last checkpoint kept.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from . import _jsonfile as jf
from .coinference import io as cio
from .coinference.online.policies import MissingExtraError
from .errors import InvalidInputError
from .placement import io as pio
from .sweep.study import MAX_COUNT, MAX_DEVICE_SLOTS, MAX_SIZE


def _placement_generate(args) -> int:
    from .placement.families import generate

    inst = generate(args.family, args.clients, args.edges, seed=args.seed, window=args.window)
    pio.save_instance(inst, args.output)
    print(f"wrote {args.output}: {inst.name} ({inst.n_clients} clients, {inst.n_edges} edges, "
          f"{inst.n_models} models, {inst.n_tasks} tasks)")
    return 0


def _placement_options(method: str, args) -> dict:
    """The command-line options each placement method takes."""
    options = {}
    if method in ("mip", "j3o") and args.time_limit is not None:
        options["time_limit"] = args.time_limit
    if method == "mip":
        options["mip_rel_gap"] = args.gap
    if method in ("mip", "j3o") and args.threads is not None:
        options["threads"] = args.threads
    if method == "j3o":
        options["with_bound"] = args.bound
    return options


def _placement_solve(inst_doc: dict, args) -> int:
    from .placement.solve import METHODS, solve
    from .placement.verify import verify

    inst = pio.instance_from_dict(inst_doc)
    if args.method not in METHODS:
        raise InvalidInputError("--method", f"must be one of {', '.join(METHODS)} for placement, got {args.method!r}")
    result = solve(inst, args.method, **_placement_options(args.method, args))
    report = verify(inst, result.decision, claimed_objective=result.objective)
    sol = result.decision
    print(f"instance   {inst.name or '(unnamed)'}: {inst.n_clients} clients, {inst.n_edges} edges, "
          f"{inst.n_models} models, {inst.n_tasks} tasks, "
          + (f"batching window {inst.batching_window_s:g} s" if inst.batching else "no batching"))
    print(f"method     {result.method}   status {result.status}   runtime {result.runtime_s:.3f} s"
          + (f"   iterations {result.iterations}" if result.iterations else ""))
    if result.phase_times:
        print("phases     " + "   ".join(f"{k} {v:.3f} s" for k, v in result.phase_times.items()))
    bound = "" if result.upper_bound is None else f"   bound {result.upper_bound:.6f}   gap {result.gap:.2e}"
    print(f"objective  {result.objective:.6f} (mean accuracy per query){bound}")
    print(f"onloaded   {int(sol.client_models.sum())} client models, {int(sol.edge_models.sum())} edge models")
    share = _traffic_shares(inst, sol)
    print("traffic    " + "   ".join(f"{k} {v:.1%}" for k, v in share.items()))
    print(f"verified   {'ok' if report.ok else 'VIOLATED'}")
    if args.output:
        pio.save_solution(result, args.output)
        print(f"wrote {args.output}")
    return 0 if report.ok else 1


def _traffic_shares(inst, sol) -> dict:
    """Share of all queries served locally, at the edge, in the cloud and dropped."""
    rate, total = inst.rate, max(inst.total_rate, 1e-300)
    return {
        "local": float((rate[sol.local.client, sol.local.task] * sol.local.fraction).sum() / total),
        "edge": float((rate[sol.edge.client, sol.edge.task] * sol.edge.fraction).sum() / total),
        "cloud": float((rate * sol.cloud).sum() / total),
        "drop": float((rate * sol.drop).sum() / total),
    }


def _placement_verify(inst_doc: dict, sol_doc: dict, args) -> int:
    from .placement.verify import verify

    inst = pio.instance_from_dict(inst_doc)
    result = pio.solution_from_dict(sol_doc, inst)
    report = verify(inst, result.decision, tol=args.tol, claimed_objective=result.objective)
    print(report.summary())
    return 0 if report.ok else 1


def _coinference_generate(args) -> int:
    from .coinference.profiles import generate

    inst = generate(args.profile, args.users, deadline_s=args.deadline, deadline_spread=args.deadline_spread,
                    alpha=args.alpha, max_batch=args.max_batch, seed=args.seed)
    cio.save_instance(inst, args.output)
    print(f"wrote {args.output}: {inst.name} ({inst.n_users} users, {inst.n_subtasks} sub-tasks)")
    return 0


def _online_generate(args) -> int:
    from .coinference.online import Scenario, generate_trace, save_trace

    if args.rate is not None and (args.rate_low is not None or args.rate_high is not None):
        raise InvalidInputError("--rate", "give either --rate or --rate-low/--rate-high, not both")
    given = {"profile": args.profile, "n_devices": args.devices, "rate_hz": args.rate,
             "rate_low_hz": args.rate_low, "rate_high_hz": args.rate_high, "switch_prob": args.switch_prob,
             "deadline_min_s": args.deadline_min, "deadline_max_s": args.deadline_max, "slot_s": args.slot,
             "n_slots": args.slots, "alpha": args.alpha, "max_batch": args.max_batch}
    # Options left out take the Scenario's defaults.
    scenario = Scenario(**{k: val for k, val in given.items() if val is not None})
    trace = generate_trace(scenario, seed=args.seed)
    save_trace(trace, args.output)
    print(f"wrote {args.output}: {trace.name} ({trace.n_devices} devices, {trace.n_tasks} tasks in "
          f"{trace.n_slots} slots of {trace.slot_s:g} s)")
    return 0


def _coinference_solve(inst_doc: dict, args) -> int:
    import numpy as np

    from .coinference.solve import METHODS, solve
    from .coinference.verify import plan_verdict

    inst = cio.instance_from_dict(inst_doc)
    if args.method not in METHODS:
        raise InvalidInputError("--method", f"must be one of {', '.join(METHODS)} for co-inference, "
                                            f"got {args.method!r}")
    options = {"gpu_free_s": args.gpu_free}
    if args.variant is not None:
        options["variant"] = args.variant
    if args.time_grid is not None:
        options["time_grid_s"] = args.time_grid
    result = solve(inst, args.method, **options)
    plan = result.decision
    verdict = plan_verdict(inst, plan)
    K, N = inst.n_users, inst.n_subtasks
    local = float(inst.energy[:, N].sum())
    edge = "constant edge latency" if inst.constant_latency else "affine edge latency"
    cap = "no batch cap" if inst.max_batch is None else f"max batch {inst.max_batch}"
    print(f"instance   {inst.name or '(unnamed)'}: {K} users, {N} sub-tasks, {edge}, {cap}")
    print(f"method     {result.method}   status {result.status}   runtime {result.runtime_s:.3f} s")
    print(f"energy     {result.objective:.6g} J   all-local {local:.6g} J   saving {1 - result.objective / local:.1%}")
    hist = plan.partition_histogram(N)
    print("partition  " + "  ".join(f"s={s}:{c}" for s, c in enumerate(hist) if c))
    if plan.batches:
        sizes = np.array([b.size for b in plan.batches])
        print(f"batches    {len(sizes)} (size min {sizes.min()}, mean {sizes.mean():.1f}, max {sizes.max()})")
    else:
        print("batches    none")
    listed = list(plan.infeasible_users)
    shown = ", ".join(map(str, listed[:10])) + (", ..." if len(listed) > 10 else "")
    print(f"feasible   {'yes' if plan.feasible else 'no'}"
          + (f"   {len(listed)} users cannot meet their deadline (run locally): {shown}" if listed else ""))
    # Listed users miss their deadlines by declaration; anything else is a broken plan.
    print(f"verified   {verdict.word()}")
    if not verdict.accepted:
        print(verdict.report.summary())
    if args.output:
        cio.save_solution(result, args.output)
        print(f"wrote {args.output}")
    return 0 if verdict.accepted else 1


def _coinference_verify(inst_doc: dict, plan_doc: dict, args) -> int:
    from .coinference.verify import plan_verdict

    inst = cio.instance_from_dict(inst_doc)
    result = cio.plan_from_dict(plan_doc, inst)
    verdict = plan_verdict(inst, result.decision, tol=args.tol)
    print(verdict.report.summary())
    if verdict.declared:
        print(f"accepted: only the {len(result.decision.infeasible_users)} users the plan lists as infeasible "
              "miss their deadlines")
    return 0 if verdict.accepted else 1


# ---- online dispatch (docs/coinference.rst section 7) ----------------------------------------------

def _online_trace(path: str):
    """Load a trace file; errors inside it name the file and the JSON path."""
    from .coinference.online import load_trace

    try:
        return load_trace(path)
    except InvalidInputError as exc:
        if exc.path == path:
            raise
        raise InvalidInputError(f"{path}: {exc.path}", exc.reason) from None


def _online_planner(value: str) -> str:
    from .coinference.online.planner import PLANNERS

    if value not in PLANNERS:
        raise InvalidInputError("--planner", f"must be one of {', '.join(PLANNERS)}, got {value!r}")
    return value


def _online_policy(value: str):
    """``every-slot``, ``threshold:X`` with 0 <= X <= 1, or the path of a DDPG agent ``.zip``."""
    from .coinference.online.policies import DDPGPolicy, Threshold, every_slot

    if value == "every-slot":
        return every_slot
    if value.startswith("threshold:"):
        try:
            return Threshold(float(value[len("threshold:"):]))
        except (ValueError, InvalidInputError):
            raise InvalidInputError("--policy", f"threshold:X needs a number X in [0, 1], got {value!r}") from None
    if value.endswith(".zip") or os.path.isfile(value):
        try:
            return DDPGPolicy(value)
        except InvalidInputError as exc:
            raise InvalidInputError("--policy", f"{value!r}: {exc.reason}") from None
    raise InvalidInputError("--policy", f"must be every-slot, threshold:X (0 <= X <= 1) or an agent .zip, "
                                        f"got {value!r}")


def _online_outputs(args, trace) -> list:
    """Check every output path before any work; returns the --plan-out file pair (or [])."""
    if args.plan_out is None:
        return []
    if trace.n_tasks == 0:
        raise InvalidInputError("--plan-out", f"the trace {args.trace!r} has no tasks, so no plan")
    pair = [f"{args.plan_out}-instance.json", f"{args.plan_out}-plan.json"]
    for path in pair:
        jf.check_writable(path, "--plan-out")
    return pair


def _online_write(args, result, outcome, pair: list, extra: dict) -> None:
    doc = dict(result.to_dict(), **extra, psi=args.psi, trace=args.trace)
    jf.write_json_atomic(doc, args.output, indent=2)
    if pair:
        cio.save_instance(outcome[0], pair[0])
        cio.save_solution(outcome[1], pair[1])
    r = result
    print(f"{extra['policy']} ({extra['planner']}): {r.tasks} tasks, {r.energy_per_task_j * 1e3:.4g} mJ per task, "
          f"saving {r.saving:.1%}, {r.violations} violations, mean wait {r.mean_wait_s * 1e3:.3g} ms, "
          f"GPU busy {r.gpu_busy_fraction:.1%}, {r.batches} batches, reward {r.reward:.6g}; wrote "
          + ", ".join([args.output, *pair]))


def _online_run(args) -> int:
    from .coinference.online import episode_outcome, play_episode

    planner, psi = _online_planner(args.planner), args.psi
    trace = _online_trace(args.trace)
    pair = _online_outputs(args, trace)
    episode = play_episode(trace, _online_policy(args.policy), planner=planner, psi=psi)
    outcome = episode_outcome(episode) if pair else None
    _online_write(args, episode.result(), outcome, pair, {"policy": args.policy, "planner": planner})
    return 0


def _online_clairvoyant(args) -> int:
    from .coinference.online.policies import clairvoyant, clairvoyant_outcome

    psi = args.psi
    trace = _online_trace(args.trace)
    pair = _online_outputs(args, trace)
    outcome = clairvoyant_outcome(trace) if trace.n_tasks else None
    result = clairvoyant(trace, psi=psi, outcome=outcome)
    _online_write(args, result, outcome, pair, {"policy": "clairvoyant", "planner": "og"})
    return 0


def _online_train(args) -> int:
    import glob
    import time

    from .coinference.online import Scenario
    from .coinference.online.policies import TrainingInterrupted, train_ddpg

    planner, psi = _online_planner(args.planner), args.psi
    if args.traces is not None:
        paths = []
        for pattern in args.traces:
            found = sorted(glob.glob(pattern))
            if not found:
                raise InvalidInputError("--traces", f"matches no file: {pattern!r}")
            paths += found
        source = [_online_trace(p) for p in paths]
        what = f"{len(source)} traces"
    else:
        try:
            source = Scenario.from_dict(jf.read_json(args.scenario))
        except InvalidInputError as exc:
            where = args.scenario if exc.path == args.scenario else f"{args.scenario}: {exc.path}"
            raise InvalidInputError(f"--scenario {where}", exc.reason) from None
        what = f"the scenario of {args.scenario}"
    t0 = time.perf_counter()
    try:
        train_ddpg(source, planner=planner, steps=args.steps, seed=args.seed, out_path=args.output,
                   checkpoint_every=args.checkpoint_every, progress=sys.stderr.isatty(), psi=psi,
                   learning_starts=args.learning_starts)
    except TrainingInterrupted as exc:
        kept = (f"the checkpoint of step {exc.saved_step} is in {args.output}" if exc.saved_step is not None
                else f"no checkpoint was written yet (every {args.checkpoint_every} steps)")
        print(f"j3o-fast: interrupted after {exc.steps} steps; {kept}", file=sys.stderr)
        return 130
    print(f"wrote {args.output}: DDPG-{planner} agent, {args.steps} steps on {what} (seed {args.seed}) "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


ONLINE = {"run": _online_run, "train": _online_train, "clairvoyant": _online_clairvoyant}


# Domain dispatch by the ``format`` field of the instance file.
SOLVERS = {pio.INSTANCE_FORMAT: _placement_solve, cio.INSTANCE_FORMAT: _coinference_solve}
VERIFIERS = {pio.INSTANCE_FORMAT: _placement_verify, cio.INSTANCE_FORMAT: _coinference_verify}
GENERATORS = {"placement": _placement_generate, "coinference": _coinference_generate, "online": _online_generate}


def _format_of(doc: dict, path: str, known: dict) -> Callable:
    fmt = doc.get("format")
    if not isinstance(fmt, str) or fmt not in known:
        raise InvalidInputError(f"{path}: format", f"must be one of {', '.join(known)}, got {fmt!r}")
    return known[fmt]


#: Largest generated instances: enough for the scale studies, small enough that a typo such as
#: ``--clients 1000000000`` is refused before gigabytes are allocated.
MAX_CLIENTS, MAX_USERS, MAX_DEVICES = MAX_SIZE["placement"], MAX_SIZE["coinference"], MAX_SIZE["online"]
MAX_EDGES, MAX_SLOTS = MAX_COUNT["n_edges"], MAX_COUNT["n_slots"]
_INT64 = 2**63 - 1
_INF = float("inf")

#: Every numeric option's range, checked once after parsing and before any command runs:
#: dest -> (option, integer?, low, low excluded?, high). Floats must also be finite.
OPTION_RANGES = {
    "clients": ("--clients", True, 1, False, MAX_CLIENTS),
    "edges": ("--edges", True, 1, False, MAX_EDGES),
    "users": ("--users", True, 1, False, MAX_USERS),
    "devices": ("--devices", True, 1, False, MAX_DEVICES),
    "slots": ("--slots", True, 1, False, MAX_SLOTS),
    "seed": ("--seed", True, 0, False, _INT64),
    "max_batch": ("--max-batch", True, 1, False, _INT64),
    "threads": ("--threads", True, 1, False, 4096),
    "jobs": ("--jobs", True, -1, False, 4096),   # -1: every core; 0 is refused by the runner
    "chunk_size": ("--chunk-size", True, 1, False, 1_000_000),
    "steps": ("--steps", True, 1, False, _INT64),
    "checkpoint_every": ("--checkpoint-every", True, 1, False, _INT64),
    "learning_starts": ("--learning-starts", True, 0, False, _INT64),
    "tol": ("--tol", False, 0.0, True, 1e-2),   # above 1 % a broken solution would pass
    "window": ("--window", False, 0.0, True, _INF),
    "deadline": ("--deadline", False, 0.0, True, _INF),
    "deadline_spread": ("--deadline-spread", False, 0.0, False, _INF),
    "alpha": ("--alpha", False, 0.0, False, _INF),
    "rate": ("--rate", False, 0.0, False, _INF),
    "rate_low": ("--rate-low", False, 0.0, False, _INF),
    "rate_high": ("--rate-high", False, 0.0, False, _INF),
    "switch_prob": ("--switch-prob", False, 0.0, False, 1.0),
    "deadline_min": ("--deadline-min", False, 0.0, True, _INF),
    "deadline_max": ("--deadline-max", False, 0.0, True, _INF),
    "slot": ("--slot", False, 0.0, True, _INF),
    "psi": ("--psi", False, 0.0, False, _INF),
    "time_limit": ("--time-limit", False, 0.0, True, _INF),
    "gap": ("--gap", False, 0.0, False, 1.0),
    "time_grid": ("--time-grid", False, 0.0, True, _INF),
    "gpu_free": ("--gpu-free", False, 0.0, False, _INF),
}


def _check_online_size(args: argparse.Namespace) -> None:
    """Arrivals are drawn per device and slot: their product is capped before any drawing."""
    from .coinference.online import Scenario

    default = Scenario()
    devices, slots = args.devices or default.n_devices, args.slots or default.n_slots
    if devices * slots > MAX_DEVICE_SLOTS:
        raise InvalidInputError("--devices", f"times --slots must be <= {MAX_DEVICE_SLOTS} (arrivals are "
                                             f"drawn per device and slot), got {devices} x {slots}")

#: Extra argument checks of `generate DOMAIN`, by domain.
GENERATE_CHECKS = {"online": _check_online_size}


def check_options(args: argparse.Namespace) -> None:
    """Refuse a numeric option outside OPTION_RANGES, or NaN/infinity, naming the option and value."""
    import math

    for dest, (option, integer, low, low_open, high) in OPTION_RANGES.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        kind = "an integer" if integer else "a finite number"
        if not integer and not math.isfinite(value) or value < low or (low_open and value == low):
            raise InvalidInputError(option, f"must be {kind} {'>' if low_open else '>='} {low:g}, got {value!r}")
        if value > high:
            shown = high if integer else f"{high:g}"
            raise InvalidInputError(option, f"must be {kind} <= {shown}, got {value!r}")
    # Per-domain checks of `generate DOMAIN` arguments, looked up, not branched on.
    GENERATE_CHECKS.get(getattr(args, "domain", None), lambda _: None)(args)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output path that cannot be written before any file is read or any solve runs."""
    if getattr(args, "output", None) is not None:
        jf.check_writable(args.output, "-o")
    if args.command == "sweep":
        jf.check_folder(args.out, "--out")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="j3o-fast", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="draw a seeded instance and write it as JSON")
    gen_sub = gen.add_subparsers(dest="domain", required=True)
    gp = gen_sub.add_parser("placement", help="placement instance (families: nyu, taskonomy, random)")
    gp.add_argument("--family", required=True, choices=("nyu", "taskonomy", "random"))
    gp.add_argument("--clients", type=int, required=True, help=f"1 to {MAX_CLIENTS:,}")
    gp.add_argument("--edges", type=int, required=True, help=f"1 to {MAX_EDGES:,}")
    gp.add_argument("--seed", type=int, default=0)
    gp.add_argument("--window", type=float, default=None, help="edge batching window W in seconds")
    gp.add_argument("-o", "--output", required=True)

    gc = gen_sub.add_parser("coinference", help="co-inference instance (profiles: vgg16, mobilenetv2)")
    gc.add_argument("--profile", required=True, choices=("vgg16", "mobilenetv2"))
    gc.add_argument("--users", type=int, required=True, help=f"1 to {MAX_USERS:,}")
    gc.add_argument("--deadline", type=float, default=None,
                    help="base relative deadline in seconds (default: the profile's)")
    gc.add_argument("--deadline-spread", type=float, default=0.5,
                    help="deadlines are drawn in [base, base*(1+spread)]; 0: one common deadline")
    gc.add_argument("--alpha", type=float, default=0.0,
                    help="per-member batch latency as a fraction of beta (0: constant edge latency)")
    gc.add_argument("--max-batch", type=int, default=None)
    gc.add_argument("--seed", type=int, default=0)
    gc.add_argument("-o", "--output", required=True)

    go = gen_sub.add_parser("online", help="online arrival trace (docs/coinference.rst section 7); "
                                           "options left out take the Scenario defaults")
    go.add_argument("--profile", default=None, choices=("vgg16", "mobilenetv2"))
    go.add_argument("--devices", type=int, default=None,
                    help=f"number of devices K (1 to {MAX_DEVICES:,}; devices x slots <= {MAX_DEVICE_SLOTS:,})")
    go.add_argument("--rate", type=float, default=None,
                    help="tasks per second per device (per slot: probability rate*slot)")
    go.add_argument("--rate-low", type=float, default=None, help="bursty: rate of the low state (Hz)")
    go.add_argument("--rate-high", type=float, default=None, help="bursty: rate of the high state (Hz)")
    go.add_argument("--switch-prob", type=float, default=None,
                    help="bursty: probability of switching state at each slot boundary")
    go.add_argument("--deadline-min", type=float, default=None, help="T_min in seconds")
    go.add_argument("--deadline-max", type=float, default=None, help="T_max in seconds")
    go.add_argument("--slot", type=float, default=None, help="slot length in seconds")
    go.add_argument("--slots", type=int, default=None, help=f"episode length in slots (1 to {MAX_SLOTS:,})")
    go.add_argument("--alpha", type=float, default=None,
                    help="per-member batch latency as a fraction of beta (0: constant edge latency)")
    go.add_argument("--max-batch", type=int, default=None)
    go.add_argument("--seed", type=int, default=0)
    go.add_argument("-o", "--output", required=True)

    on = sub.add_parser("online", help="online dispatch of arriving tasks (docs/coinference.rst section 7)")
    on_sub = on.add_subparsers(dest="action", required=True)
    orun = on_sub.add_parser("run", help="play one policy on a trace and write its results as JSON")
    orun.add_argument("trace", help="online trace file (j3o-fast generate online)")
    orun.add_argument("--policy", required=True,
                      help="every-slot, threshold:X (dispatch when slack <= X*T_max, 0 <= X <= 1) "
                           "or a DDPG agent .zip (j3o-fast online train)")
    orun.add_argument("--planner", default="og", help="og (default) or ip-ssa")
    orun.add_argument("--psi", type=float, default=10.0, help="violation weight of the reward (default 10)")
    orun.add_argument("--plan-out", default=None, metavar="PREFIX",
                      help="also write the episode as PREFIX-instance.json and PREFIX-plan.json (j3o-fast verify)")
    orun.add_argument("-o", "--output", required=True, help="result JSON file")

    ocl = on_sub.add_parser("clairvoyant", help="OG over the whole trace as one offline instance (a reference)")
    ocl.add_argument("trace", help="online trace file")
    ocl.add_argument("--psi", type=float, default=10.0, help="violation weight of the reward (default 10)")
    ocl.add_argument("--plan-out", default=None, metavar="PREFIX",
                     help="also write PREFIX-instance.json and PREFIX-plan.json (j3o-fast verify)")
    ocl.add_argument("-o", "--output", required=True, help="result JSON file")

    otr = on_sub.add_parser("train", help="train a DDPG dispatch agent (needs the rl extra); Ctrl-C keeps "
                                          "the last checkpoint")
    source = otr.add_mutually_exclusive_group(required=True)
    source.add_argument("--traces", nargs="+", metavar="GLOB",
                        help="training trace files, e.g. 'traces/*.json' (patterns are expanded here)")
    source.add_argument("--scenario", metavar="FILE",
                        help="JSON file of a Scenario (its to_dict()): a fresh trace every episode")
    otr.add_argument("--planner", default="og", help="og (default) or ip-ssa")
    otr.add_argument("--steps", type=int, required=True, help="environment steps (slots) to train for")
    otr.add_argument("--seed", type=int, default=0)
    otr.add_argument("--psi", type=float, default=10.0, help="violation weight of the reward (default 10)")
    otr.add_argument("--checkpoint-every", type=int, default=1000, help="save the agent every N steps")
    otr.add_argument("--learning-starts", type=int, default=1000,
                     help="warm-up steps of random actions before learning (default 1000)")
    otr.add_argument("-o", "--output", required=True, help="agent file (.zip)")

    sv = sub.add_parser("solve", help="solve an instance file and print a summary")
    sv.add_argument("instance")
    sv.add_argument("--method", required=True)
    sv.add_argument("--time-limit", type=float, default=None, help="seconds (exact solvers)")
    sv.add_argument("--gap", type=float, default=1e-6, help="relative MIP gap")
    sv.add_argument("--threads", type=int, default=None,
                    help="mip: HiGHS threads; j3o: edge LPs solved at once (default: every core)")
    sv.add_argument("--bound", action="store_true", help="j3o: also solve the LP relaxation for a bound and gap")
    sv.add_argument("--variant", default=None, help="ip-ssa variant: auto, exact, conservative, iterative")
    sv.add_argument("--time-grid", type=float, default=None, help="og time grid in seconds (default exact)")
    sv.add_argument("--gpu-free", type=float, default=0.0, help="co-inference: absolute time (s) the GPU is free from")
    sv.add_argument("-o", "--output", default=None)

    vf = sub.add_parser("verify", help="check a solution file against its instance; exit 1 on violation")
    vf.add_argument("instance")
    vf.add_argument("solution")
    vf.add_argument("--tol", type=float, default=1e-9, help="tolerance of every check, in (0, 0.01] (default 1e-9)")

    sw = sub.add_parser("sweep", help="run a study (a preset or a TOML file), resumable, into --out DIR")
    which = sw.add_mutually_exclusive_group(required=True)
    which.add_argument("study", nargs="?", help="study TOML file")
    which.add_argument("--preset", help="quick, paper-placement, scale, paper-coinference or paper-online")
    sw.add_argument("--jobs", type=int, default=1, help="workers (-1: every core)")
    sw.add_argument("--backend", choices=("loky", "dask", "ray"), default="loky")
    sw.add_argument("--scheduler", default=None, help="dask scheduler or ray cluster address")
    sw.add_argument("--chunk-size", type=int, default=None, help="tasks sent to a worker at a time")
    sw.add_argument("--retry-failed", action="store_true", help="run stored failed tasks again")
    sw.add_argument("--out", required=True, help="output folder (rerunning into it resumes)")

    rp = sub.add_parser("report", help="summary tables and PNG plots of a study folder")
    rp.add_argument("out", help="a folder written by 'j3o-fast sweep'")
    rp.add_argument("--no-plots", action="store_true")
    return parser


def _sweep(args) -> int:
    import time

    from . import sweep

    study = sweep.preset(args.preset) if args.preset else sweep.load_study(args.study)
    t0 = time.perf_counter()
    try:
        table = sweep.run_study(study, args.out, n_jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
                                chunk_size=args.chunk_size, retry_failed=args.retry_failed,
                                progress=None)   # a bar when standard error is a terminal
    except KeyboardInterrupt:
        print(f"j3o-fast: interrupted; finished tasks are stored in {args.out}: rerun to resume", file=sys.stderr)
        return 130
    except sweep.StudyAborted as exc:
        print(f"j3o-fast: {exc}", file=sys.stderr)
        return 1
    failed = int((table["status"] == "error").sum())
    print(f"{study.name}: {len(table)} tasks ({failed} failed) in {time.perf_counter() - t0:.1f} s; "
          f"table in {args.out}/results.parquet")
    return 0


def _report(args) -> int:
    from .report import report

    text, paths, note = report(args.out, plots=not args.no_plots)
    print(text)
    for path in paths:
        print(f"wrote {path}")
    if note:
        print(f"({note})")
    return 0


# Commands that take no instance file.
TOOLS = {"sweep": _sweep, "report": _report}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_options(args)
        check_outputs(args)
        if args.command == "generate":
            return GENERATORS[args.domain](args)
        if args.command in TOOLS:
            return TOOLS[args.command](args)
        if args.command == "online":
            return ONLINE[args.action](args)
        inst_doc = jf.read_json(args.instance)
        if args.command == "solve":
            return _format_of(inst_doc, args.instance, SOLVERS)(inst_doc, args)
        sol_doc = jf.read_json(args.solution)
        return _format_of(inst_doc, args.instance, VERIFIERS)(inst_doc, sol_doc, args)
    except InvalidInputError as exc:
        print(f"j3o-fast: error: {exc}", file=sys.stderr)
        return 2
    except MissingExtraError as exc:
        print(f"j3o-fast: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Output piped into a reader that stopped early (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
