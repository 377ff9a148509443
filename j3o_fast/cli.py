"""The ``j3o-fast`` command line: generate, solve and verify instance files.

Files are recognised by their ``format`` field, so ``solve`` and ``verify`` work for every
domain. Bad input exits with status 2 and a one-line message naming the field and value;
``verify`` exits with 1 when a constraint is violated.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from . import _jsonfile as jf
from .errors import InvalidInputError
from .placement import io as pio


def _placement_generate(args) -> int:
    from .placement.families import generate

    inst = generate(args.family, args.clients, args.edges, args.seed, window=args.window)
    pio.save_instance(inst, args.output)
    print(f"wrote {args.output}: {inst.name} ({inst.n_clients} clients, {inst.n_edges} edges, "
          f"{inst.n_models} models, {inst.n_tasks} tasks)")
    return 0


def _placement_solve(inst_doc: dict, args) -> int:
    from .placement.mip import solve_mip
    from .placement.verify import verify

    inst = pio.instance_from_dict(inst_doc)
    methods: dict[str, Callable] = {
        "mip": lambda: solve_mip(inst, time_limit=args.time_limit, mip_rel_gap=args.gap, threads=args.threads),
    }
    if args.method not in methods:
        raise InvalidInputError("--method", f"must be one of {', '.join(methods)} for placement, got {args.method!r}")
    result = methods[args.method]()
    report = verify(inst, result.decision, claimed_objective=result.objective)
    sol = result.decision
    print(f"instance   {inst.name or '(unnamed)'}: {inst.n_clients} clients, {inst.n_edges} edges, "
          f"{inst.n_models} models, {inst.n_tasks} tasks, "
          + (f"batching window {inst.batching_window_s:g} s" if inst.batching else "no batching"))
    print(f"method     {result.method}   status {result.status}   runtime {result.runtime_s:.3f} s")
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


# Domain dispatch by the ``format`` field of the instance file.
SOLVERS = {pio.INSTANCE_FORMAT: _placement_solve}
VERIFIERS = {pio.INSTANCE_FORMAT: _placement_verify}
GENERATORS = {"placement": _placement_generate}


def _format_of(doc: dict, path: str, known: dict) -> Callable:
    fmt = doc.get("format")
    if fmt not in known:
        raise InvalidInputError(f"{path}: format", f"must be one of {', '.join(known)}, got {fmt!r}")
    return known[fmt]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="j3o-fast", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="draw a seeded instance and write it as JSON")
    gen_sub = gen.add_subparsers(dest="domain", required=True)
    gp = gen_sub.add_parser("placement", help="placement instance (families: nyu, taskonomy, random)")
    gp.add_argument("--family", required=True, choices=("nyu", "taskonomy", "random"))
    gp.add_argument("--clients", type=int, required=True)
    gp.add_argument("--edges", type=int, required=True)
    gp.add_argument("--seed", type=int, default=0)
    gp.add_argument("--window", type=float, default=None, help="edge batching window W in seconds")
    gp.add_argument("-o", "--output", required=True)

    sv = sub.add_parser("solve", help="solve an instance file and print a summary")
    sv.add_argument("instance")
    sv.add_argument("--method", required=True)
    sv.add_argument("--time-limit", type=float, default=None, help="seconds (exact solvers)")
    sv.add_argument("--gap", type=float, default=1e-6, help="relative MIP gap")
    sv.add_argument("--threads", type=int, default=None)
    sv.add_argument("-o", "--output", default=None)

    vf = sub.add_parser("verify", help="check a solution file against its instance; exit 1 on violation")
    vf.add_argument("instance")
    vf.add_argument("solution")
    vf.add_argument("--tol", type=float, default=1e-9)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            return GENERATORS[args.domain](args)
        inst_doc = jf.read_json(args.instance)
        if args.command == "solve":
            return _format_of(inst_doc, args.instance, SOLVERS)(inst_doc, args)
        sol_doc = jf.read_json(args.solution)
        return _format_of(inst_doc, args.instance, VERIFIERS)(inst_doc, sol_doc, args)
    except InvalidInputError as exc:
        print(f"j3o-fast: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
