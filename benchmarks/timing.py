"""Timing helper shared by the benchmarks."""

import time


def mean_seconds(benchmark, call) -> float:
    """Mean seconds of the benchmarked call, for ratios against a twin measured in the same run.

    With ``--benchmark-disable`` (as in CI) pytest-benchmark keeps no statistics; the call is then
    timed once directly so the ratio and the correctness checks still run.
    """
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        return stats.stats.mean
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def min_seconds(benchmark, call, repeat: int = 3) -> float:
    """Fastest round of the benchmarked call (best of ``repeat`` direct calls when disabled)."""
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        return stats.stats.min
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best
