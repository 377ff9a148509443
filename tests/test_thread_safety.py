"""Solvers called from several Python threads at once give what they give alone, and print nothing.

Callers run the solvers from the threads of their own simulators: each call here is made first
alone on the main thread, then all of them together on a pool of 4 threads, interleaved so that
MIPs with different explicit ``threads`` (whose HiGHS scheduler ``placement.mip._run`` rebuilds)
run side by side with J3O, the LP bound and the co-inference methods.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import highspy
import numpy as np
import pytest

from j3o_fast import coinference, placement


def _same(a: Any, b: Any) -> bool:
    """Equal, field by field, array by array (decisions are frozen dataclasses of arrays)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(_same(getattr(a, f.name), getattr(b, f.name))
                                          for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _outcome(value: Any) -> tuple[Any, ...]:
    """What must not depend on the thread a call runs on: everything but the measured times."""
    if isinstance(value, float):   # lp_upper_bound
        return ("bound", value)
    return (value.method, value.status, value.objective, value.upper_bound, value.iterations, value.decision)


def _calls() -> list[tuple[str, Callable[[], Any]]]:
    pinst = [placement.generate("nyu", 30, 2, seed=s) for s in range(4)]
    one_edge = placement.generate("nyu", 20, 1, seed=7)   # the LP bound's single-model path (explicit threads)
    cinst = [coinference.generate("mobilenetv2", 8, seed=s) for s in range(3)]
    calls: list[tuple[str, Callable[[], Any]]] = []
    for s, inst in enumerate(pinst):
        calls += [
            (f"mip threads=1 #{s}", lambda inst=inst: placement.solve(inst, "mip", threads=1)),
            (f"j3o threads=1 #{s}", lambda inst=inst: placement.solve(inst, "j3o", threads=1)),
            (f"mip threads=2 #{s}", lambda inst=inst: placement.solve(inst, "mip", threads=2)),
            (f"og #{s % 3}", lambda c=cinst[s % 3]: coinference.solve(c, "og")),
            (f"j3o #{s}", lambda inst=inst: placement.solve(inst, "j3o")),
            (f"lp_upper_bound #{s}", lambda inst=inst: placement.lp_upper_bound(inst)),
            (f"ip-ssa #{s % 3}", lambda c=cinst[s % 3]: coinference.solve(c, "ip-ssa")),
        ]
    calls += [
        ("lp_upper_bound one edge threads=1", lambda: placement.lp_upper_bound(one_edge, threads=1)),
        ("lp_upper_bound one edge threads=2", lambda: placement.lp_upper_bound(one_edge, threads=2)),
        ("mip one edge threads=2", lambda: placement.solve(one_edge, "mip", threads=2)),
        ("mip one edge threads=1", lambda: placement.solve(one_edge, "mip", threads=1)),
    ]
    return calls


def test_concurrent_solves_equal_solves_alone(capfd: pytest.CaptureFixture[str]) -> None:
    calls = _calls()
    alone = [_outcome(fn()) for _, fn in calls]
    capfd.readouterr()
    for _ in range(2):
        with ThreadPoolExecutor(max_workers=4) as pool:
            together = list(pool.map(lambda call: _outcome(call[1]()), calls))
        for (name, _), a, b in zip(calls, alone, together):
            assert _same(a, b), f"{name}: alone {a[:5]}, on a thread {b[:5]}"
    out, err = capfd.readouterr()
    assert out == "" and err == "", f"printed during concurrent solves: stdout {out!r}, stderr {err!r}"


def test_scheduler_resets_on_another_thread_leave_a_running_mip_alone(capfd: pytest.CaptureFixture[str]) -> None:
    """``mip._run`` resets HiGHS' scheduler when a run with another ``threads`` is refused. HiGHS
    keeps that scheduler per calling thread, so resets made on one thread, however many, must
    not disturb a parallel MIP running on another."""
    inst = placement.generate("nyu", 60, 2, seed=1)
    counts = (2, 3, 1, 2)
    alone = {k: _outcome(placement.solve(inst, "mip", threads=k)) for k in set(counts)}
    stop = threading.Event()
    resets = 0

    def reset_in_a_loop() -> None:
        nonlocal resets
        while not stop.is_set():
            highspy.Highs.resetGlobalScheduler(True)
            resets += 1
            stop.wait(0.001)

    hammer = threading.Thread(target=reset_in_a_loop)
    hammer.start()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = [pool.submit(placement.solve, inst, "mip", threads=k) for k in counts]
            outcomes = [_outcome(r.result()) for r in runs]
    finally:
        stop.set()
        hammer.join()
    assert resets > 0
    for k, got in zip(counts, outcomes):
        assert _same(alone[k], got), f"threads={k}: alone {alone[k][:5]}, beside resets {got[:5]}"
    out, err = capfd.readouterr()
    assert out == "" and err == ""
