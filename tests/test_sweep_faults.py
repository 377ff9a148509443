"""Faults during a study: a worker process killed mid-run and a chunk that cannot be stored stop
the run with a clear message, keep every finished chunk readable, and a rerun into the same
folder finishes with the numbers of a clean run. (The main process killed mid-run is in
test_sweep.py.)"""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sweep_cases import mip_study, rows_in_chunks

from j3o_fast import sweep
from j3o_fast.cli import main
from j3o_fast.sweep.store import ResultStore

STUDY = mip_study("faults", root_seed=9, seeds=6)


def numbers(table):
    return table[sweep.deterministic_columns(table)].reset_index(drop=True)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc's parent links)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _workers(pid: int, *markers: bytes) -> list[int]:
    """Processes below ``pid`` whose command line holds one of ``markers`` (not resource trackers)."""
    found = []
    for child in _descendants(pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if any(m in cmd for m in markers) and b"resource_tracker" not in cmd:
            found.append(child)
    return found


def _loky_workers(pid: int) -> list[int]:
    return _workers(pid, b"loky")


def _dask_workers(pid: int) -> list[int]:
    return _workers(pid, b"spawn_main", b"forkserver")   # the nannies' worker processes


def _sweep_and_kill(tmp_path, backend: str, kill) -> tuple:
    """Start 'j3o-fast sweep' of STUDY on two workers of ``backend`` in its own process group, call
    ``kill(pid)`` once two chunks are stored, and wait for it; returns (spec, out, returncode, stderr)."""
    spec = tmp_path / "faults.toml"
    spec.write_text(STUDY)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "j3o_fast.cli", "sweep", str(spec), "--jobs", "2", "--backend", backend,
           "--chunk-size", "1", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(list((out / "chunks").glob("chunk-*.parquet"))) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, "the run finished before it could be killed"
            time.sleep(0.005)
        kill(proc.pid)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return spec, out, proc.returncode, err


def _kill_first(find):
    def kill(pid: int) -> None:
        workers = find(pid)
        assert workers, "no worker process found"
        os.kill(workers[0], signal.SIGKILL)

    return kill


def _resumes_like_a_clean_run(tmp_path, spec, out, backend: str) -> pd.DataFrame:
    """Rerun into ``out``: every stored row is kept and the table equals a clean run's; returns it."""
    before = rows_in_chunks(out)
    assert len(before) >= 2 and not (out / "results.parquet").exists()
    assert main(["sweep", str(spec), "--jobs", "2", "--backend", backend, "--out", str(out)]) == 0
    resumed = pd.read_parquet(out / "results.parquet")
    assert set(before["task"]) <= set(resumed["task"])   # nothing finished was lost
    clean = sweep.run_study(sweep.load_study(spec), tmp_path / "clean", n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(numbers(resumed), numbers(clean))
    return resumed


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc")
def test_killed_worker_stops_the_run_cleanly_and_a_rerun_resumes(tmp_path):
    spec, out, code, err = _sweep_and_kill(tmp_path, "loky", _kill_first(_loky_workers))
    assert code == 1, err
    assert "j3o-fast: a worker process died" in err and "run the same study again to resume" in err
    assert "Traceback" not in err
    _resumes_like_a_clean_run(tmp_path, spec, out, "loky")


def test_a_chunk_that_cannot_be_stored_stops_the_run_and_keeps_the_others(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "faults.toml"
    spec.write_text(STUDY)
    out = tmp_path / "out"
    real = ResultStore.write_chunk
    calls = []

    def disk_full_after_three(self, rows, run_id):
        calls.append(1)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, rows, run_id)

    monkeypatch.setattr(ResultStore, "write_chunk", disk_full_after_three)
    assert main(["sweep", str(spec), "--chunk-size", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "cannot store a finished chunk" in err and "No space left on device" in err
    assert "the 3 tasks stored before are kept" in err
    stored = rows_in_chunks(out)
    assert len(stored) == 3 and not list((out / "chunks").glob(".tmp-*"))

    monkeypatch.setattr(ResultStore, "write_chunk", real)
    assert main(["sweep", str(spec), "--out", str(out)]) == 0
    resumed = pd.read_parquet(out / "results.parquet")
    assert (resumed["run_id"] == stored["run_id"].iloc[0]).sum() == 3   # kept, not recomputed
    clean = sweep.run_study(sweep.load_study(spec), tmp_path / "clean", n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(numbers(resumed), numbers(clean))


def test_run_study_raises_study_aborted(tmp_path, monkeypatch):
    def read_only(self, rows, run_id):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(ResultStore, "write_chunk", read_only)
    with pytest.raises(sweep.StudyAborted, match="Permission denied.*the 0 tasks stored before are kept"):
        sweep.run_study(sweep.study_from_toml(STUDY), tmp_path / "o", progress=False)



@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc")
def test_killed_dask_worker_loses_nothing(tmp_path):
    pytest.importorskip("distributed")
    spec, out, code, err = _sweep_and_kill(tmp_path, "dask", _kill_first(_dask_workers))
    # Dask restarts the worker and runs its task again, or gives up with a clear message
    assert code in (0, 1) and "Traceback" not in err, err
    if code == 1:
        assert "a worker process died" in err
        assert main(["sweep", str(spec), "--jobs", "2", "--out", str(out)]) == 0
    finished = pd.read_parquet(out / "results.parquet")
    clean = sweep.run_study(sweep.load_study(spec), tmp_path / "clean", n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(numbers(finished), numbers(clean))


def test_report_refuses_a_plots_path_that_is_a_file_before_summarising(tmp_path, capsys):
    spec = tmp_path / "faults.toml"
    spec.write_text(mip_study("faults", root_seed=9, seeds=1))
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out)]) == 0
    (out / "plots").write_text("a file where the plots folder goes")
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    captured = capsys.readouterr()
    assert "plots: must be a folder" in captured.err and captured.out == ""
    assert main(["report", str(out), "--no-plots"]) == 0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="kills a process group")
def test_main_process_killed_on_dask_resumes_with_the_same_numbers(tmp_path):
    pytest.importorskip("distributed")
    # the main process and its Dask cluster
    spec, out, code, _ = _sweep_and_kill(tmp_path, "dask", lambda pid: os.killpg(pid, signal.SIGKILL))
    assert code == -signal.SIGKILL
    killed_run = rows_in_chunks(out)
    resumed = _resumes_like_a_clean_run(tmp_path, spec, out, "dask")
    assert (resumed["run_id"] == killed_run["run_id"].iloc[0]).sum() == len(killed_run)   # kept, not recomputed
