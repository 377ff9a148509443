"""One way to make a HiGHS solver: silent, and without the banner HiGHS prints to standard output
when the first solver of a process is constructed (before ``silent()`` can act on it).

The library prints nothing unless asked: the first construction runs with the process's file
descriptor 1 pointed at the null device (C's buffers flushed before it is restored), under a
lock, once per process; later constructions need nothing of the kind.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

import highspy

_lock = threading.Lock()
_banner_shown = False


def _libc_fflush() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):   # no C library to flush (not POSIX): nothing buffered there
        pass


def _construct_without_banner() -> highspy.Highs:
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):   # no standard output to protect
        return highspy.Highs()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        h = highspy.Highs()
        _libc_fflush()
        return h
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(*, verbose: bool = False) -> highspy.Highs:
    """A ``highspy.Highs``, silent unless ``verbose`` (then HiGHS logs to standard output)."""
    global _banner_shown
    if not _banner_shown:
        with _lock:
            if not _banner_shown:
                h = _construct_without_banner()
                _banner_shown = True
                if not verbose:
                    h.silent()
                return h
    h = highspy.Highs()
    if not verbose:
        h.silent()
    return h
