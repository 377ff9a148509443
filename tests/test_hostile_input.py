"""Hostile and extreme input (issue 14): every reader of user input gives one InvalidInputError naming
the field and the value (the CLI: exit 2, one line), never a traceback, a hang or a partial file.

One section per input boundary: JSON files (``_jsonfile.read_json`` and its helpers), TOML studies
(``sweep.study.load_study``), command-line options and output paths (``cli``) and study tables
(``report.load_table``)."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from j3o_fast import _jsonfile as jf
from j3o_fast.cli import main
from j3o_fast.coinference import io as cio
from j3o_fast.coinference.online import Scenario, generate_trace, load_trace, save_trace
from j3o_fast.coinference.profiles import generate as generate_coinference
from j3o_fast.coinference.solve import solve as solve_coinference
from j3o_fast.errors import InvalidInputError
from j3o_fast.placement import generate as generate_placement
from j3o_fast.placement import io as pio
from j3o_fast.report import load_table
from j3o_fast.sweep import load_study

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
root_reads_anything = pytest.mark.skipif(ROOT, reason="root can read and write any file")


@pytest.fixture
def files(tmp_path):
    """Valid files of every format: placement instance, co-inference instance and plan, online trace."""
    pinst = generate_placement("nyu", 4, 1, seed=0)
    pio.save_instance(pinst, tmp_path / "p.json")
    cinst = generate_coinference("mobilenetv2", 4, seed=0)
    cio.save_instance(cinst, tmp_path / "c.json")
    cio.save_plan(solve_coinference(cinst, "og"), tmp_path / "plan.json")
    save_trace(generate_trace(Scenario(n_devices=3, n_slots=20), seed=0), tmp_path / "t.json")
    return tmp_path


def _edit(path, change) -> str:
    """Write ``path``'s document with ``change(doc)`` applied to a new file; returns its path."""
    doc = json.loads(path.read_text())
    change(doc)
    out = path.with_name(f"edited-{path.name}")
    out.write_text(json.dumps(doc))
    return str(out)


def _raises(load, path, message):
    with pytest.raises(InvalidInputError) as info:
        load(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    return info.value


LOADERS = {"p.json": pio.load_instance, "c.json": cio.load_instance, "t.json": load_trace}


# ---- JSON files: the file system ----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(LOADERS))
def test_a_folder_is_refused(tmp_path, name):
    (tmp_path / name).mkdir()
    _raises(LOADERS[name], tmp_path / name, "is a folder, not a file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_without_reading_it():
    t0 = time.perf_counter()
    _raises(pio.load_instance, "/dev/zero", "/dev/zero: is not a regular file")
    assert time.perf_counter() - t0 < 5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    _raises(cio.load_instance, tmp_path / "fifo", "is not a regular file")


def test_a_file_above_the_size_limit_is_refused_naming_the_limit(files, monkeypatch):
    monkeypatch.setattr(jf, "MAX_FILE_BYTES", 100)
    _raises(pio.load_instance, files / "p.json", "above the limit of 100 bytes")


@root_reads_anything
def test_an_unreadable_file_is_refused(files):
    os.chmod(files / "c.json", 0)
    _raises(cio.load_instance, files / "c.json", "permission denied")


def test_a_permission_error_is_refused(files, monkeypatch):
    """The same rule as the chmod test, also where it runs as root."""
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(jf.os, "open", denied)
    _raises(cio.load_instance, files / "c.json", "c.json: cannot read the file (permission denied)")


def test_missing_file_and_path_inside_a_file(files):
    _raises(pio.load_instance, files / "none.json", "none.json: file not found")
    _raises(pio.load_instance, files / "p.json" / "x.json", "file not found")


def test_invalid_utf8_and_truncated_json(files):
    (files / "bad.json").write_bytes(b'{"format": "\xff"}')
    _raises(pio.load_instance, files / "bad.json", "not UTF-8 text")
    text = (files / "c.json").read_text()
    (files / "cut.json").write_text(text[: len(text) // 2])
    _raises(cio.load_instance, files / "cut.json", "invalid JSON at line 1")


# ---- JSON files: structure -------------------------------------------------------------------------

def test_duplicate_keys_are_refused_naming_the_key(files):
    text = (files / "p.json").read_text()
    (files / "dup.json").write_text(text.replace('"version": 1', '"version": 1, "version": 2', 1))
    _raises(pio.load_instance, files / "dup.json", "(top level): duplicate key 'version'")
    text = (files / "c.json").read_text()
    (files / "dup2.json").write_text(text.replace('"users": {', '"users": {"tx_power_w": [1], ', 1))
    _raises(cio.load_instance, files / "dup2.json", "users: duplicate key 'tx_power_w'")


def test_duplicate_key_inside_a_replaced_object_is_still_refused(tmp_path):
    (tmp_path / "d.json").write_text('{"a": {"x": 1, "x": 2}, "a": 3}')
    _raises(jf.read_json, tmp_path / "d.json", "duplicate key")


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_nesting_is_refused(files, depth):
    path = _edit(files / "p.json", lambda d: None)
    text = open(path).read().replace('"tasks": [', '"tasks": [' + "[" * depth + "]" * depth + ", ", 1)
    open(path, "w").write(text)
    _raises(pio.load_instance, path, "nested more than 64 levels deep")


def test_a_list_as_format_is_refused_by_the_cli(files, capsys):
    path = _edit(files / "p.json", lambda d: d.update(format=["j3o-fast/placement-instance"]))
    assert main(["solve", path, "--method", "local-only"]) == 2
    err = capsys.readouterr().err
    assert "format: must be one of" in err and "['j3o-fast/placement-instance']" in err


# ---- JSON files: numbers and text ------------------------------------------------------------------

HUGE = int("1" + "0" * 400)


@pytest.mark.parametrize("name, change, message", [
    ("p.json", lambda d: d["payload_mbit"].__setitem__(0, HUGE),
     "payload_mbit[0]: must be a float64 number (below 1.8e308), got an integer of 401 digits"),
    ("p.json", lambda d: d["clients"]["rate"][1].__setitem__(0, -HUGE), "clients.rate[1][0]: must be a float64"),
    ("p.json", lambda d: d.update(batching_window_s=HUGE), "batching_window_s: must be a float64"),
    ("c.json", lambda d: d["users"]["deadline_s"].__setitem__(2, HUGE), "users.deadline_s[2]: must be a float64"),
    ("t.json", lambda d: d.update(slot_s=HUGE), "slot_s: must be a float64"),
    ("p.json", lambda d: d["models"]["max_batch"].__setitem__(0, 2**63),
     "models.max_batch[0]: must be a 64-bit integer, got 9223372036854775808"),
    ("p.json", lambda d: d["clients"]["edge"].__setitem__(0, -2**64), "clients.edge[0]: must be a 64-bit integer"),
    ("c.json", lambda d: d.update(max_batch=2**70), "max_batch: must be a 64-bit integer"),
    ("t.json", lambda d: d.update(n_slots=HUGE), "n_slots: must be a 64-bit integer, got an integer of 401 digits"),
])
def test_numbers_beyond_float64_or_int64_are_refused(files, name, change, message):
    _raises(LOADERS[name], _edit(files / name, change), message)


def test_plan_partition_beyond_int64_is_refused(files):
    inst = cio.load_instance(files / "c.json")
    path = _edit(files / "plan.json", lambda d: d["partition"].__setitem__(0, 2**64))
    with pytest.raises(InvalidInputError, match=r"^partition\[0\]: must be a 64-bit integer"):
        cio.load_plan(path, inst)


def test_an_integer_of_more_than_4300_digits_is_refused(files):
    text = (files / "p.json").read_text().replace('"version": 1', '"version": 1' + "0" * 5000, 1)
    (files / "long.json").write_text(text)
    _raises(pio.load_instance, files / "long.json", "invalid JSON: Exceeds the limit")


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_a_lone_surrogate_in_name_is_refused_at_reading(files, name):
    text = (files / name).read_text()
    doc = json.loads(text)
    doc["name"] = "x\ud800y"
    path = files / f"s-{name}"
    path.write_text(json.dumps(doc))   # ensure_ascii: the surrogate is written as the escape \ud800
    _raises(LOADERS[name], path, r"name: holds a lone surrogate '\ud800'")


def test_a_surrogate_pair_is_valid_text(files):
    path = _edit(files / "p.json", lambda d: d.update(name="x\U0001F600y"))   # escaped as \ud83d\ude00
    assert pio.load_instance(path).name == "x\U0001F600y"


def test_helpers_refuse_out_of_range_numbers_from_python_too():
    with pytest.raises(InvalidInputError, match=r"^v\[1\]: must be a float64"):
        jf.vector([1.0, HUGE], "v")
    with pytest.raises(InvalidInputError, match=r"^v\[2\]: must be a 64-bit integer"):
        jf.vector([1, 2, 2**63], "v", kind="int")
    with pytest.raises(InvalidInputError, match=r"^s: holds a lone surrogate"):
        jf.string("\udc80", "s")


def test_a_long_value_is_cut_in_the_message():
    with pytest.raises(InvalidInputError) as info:
        jf.string(list(range(100_000)), "name")
    assert str(info.value).startswith("name: must be a string, got [0, 1, 2")
    assert len(info.value.reason) <= InvalidInputError.MAX_REASON


# ---- command-line options ------------------------------------------------------------------------

def _exit2(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""   # one line, and no work was done


@pytest.mark.parametrize("tol", ["nan", "-1", "inf", "0", "0.5"])
def test_verify_tolerance_must_be_in_range(files, capsys, tol):
    _exit2(capsys, ["verify", str(files / "c.json"), str(files / "plan.json"), "--tol", tol], "--tol: must be")


@pytest.mark.parametrize("argv, message", [
    (["placement", "--family", "nyu", "--clients", "3", "--edges", "1", "--seed", "-1"],
     "--seed: must be an integer >= 0, got -1"),
    (["placement", "--family", "nyu", "--clients", "1000000000", "--edges", "1"],
     "--clients: must be an integer <= 1000000, got 1000000000"),
    (["placement", "--family", "nyu", "--clients", "3", "--edges", "1", "--window", "nan"],
     "--window: must be a finite number > 0, got nan"),
    (["coinference", "--profile", "vgg16", "--users", "1000000000"], "--users: must be an integer <= 1000000"),
    (["coinference", "--profile", "vgg16", "--users", "3", "--max-batch", str(2**70)],
     "--max-batch: must be an integer <= 9223372036854775807"),
    (["online", "--devices", "1000000000"], "--devices: must be an integer <= 100000"),
    (["online", "--slots", "1000000000"], "--slots: must be an integer <= 10000000"),
    (["online", "--devices", "50000", "--slots", "1000"], "--devices: times --slots must be <= 10000000"),
    (["online", "--devices", "50000"], "got 50000 x 400"),   # the default slots count
])
def test_generate_options_are_refused_before_any_allocation(tmp_path, capsys, argv, message):
    out = tmp_path / "x.json"
    t0 = time.perf_counter()
    _exit2(capsys, ["generate", *argv, "-o", str(out)], message)
    assert time.perf_counter() - t0 < 5 and not out.exists()


@pytest.mark.parametrize("target", ["folder", "inside-file", "device"])
def test_output_paths_are_checked_before_solving(files, capsys, target):
    (files / "folder").mkdir()
    out = {"folder": files / "folder", "inside-file": files / "p.json" / "x.json", "device": "/dev/null"}[target]
    message = {"folder": "-o: must be a file path, got the folder",
               "inside-file": "-o: cannot write", "device": "-o: must be a regular file path"}[target]
    if target == "device" and not os.path.exists("/dev/null"):
        pytest.skip("needs /dev/null")
    _exit2(capsys, ["solve", str(files / "c.json"), "--method", "og", "-o", str(out)], message)
    _exit2(capsys, ["generate", "coinference", "--profile", "vgg16", "--users", "2", "-o", str(out)], message)
    _exit2(capsys, ["online", "run", str(files / "t.json"), "--policy", "every-slot", "-o", str(out)], message)


@root_reads_anything
def test_an_unwritable_output_folder_is_refused_before_solving(files, capsys):
    locked = files / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    _exit2(capsys, ["solve", str(files / "p.json"), "--method", "local-only", "-o", str(locked / "s.json")],
           "-o: cannot write")


def test_a_permission_error_on_output_is_refused_before_solving(files, capsys, monkeypatch):
    """The same rule as the chmod test, also where it runs as root."""
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(jf.tempfile, "mkstemp", denied)
    _exit2(capsys, ["solve", str(files / "p.json"), "--method", "local-only", "-o", str(files / "s.json")],
           "-o: cannot write")
    _exit2(capsys, ["sweep", "--preset", "quick", "--out", str(files / "o")], "--out: cannot write in the folder")


def test_plan_out_inside_a_file_is_refused_before_the_episode(files, capsys):
    _exit2(capsys, ["online", "run", str(files / "t.json"), "--policy", "every-slot", "-o", str(files / "r.json"),
                    "--plan-out", str(files / "p.json" / "ep")], "--plan-out: cannot write")
    assert not (files / "r.json").exists()


def test_sweep_out_must_be_a_folder(files, capsys):
    _exit2(capsys, ["sweep", "--preset", "quick", "--out", str(files / "p.json")], "--out: must be a folder")
    _exit2(capsys, ["sweep", "--preset", "quick", "--out", str(files / "p.json" / "d")], "--out: must be a folder")


@pytest.mark.parametrize("option, value, message", [
    ("--jobs", "100000000000", "--jobs: must be an integer <= 4096, got 100000000000"),
    ("--chunk-size", "0", "--chunk-size: must be an integer >= 1, got 0"),
])
def test_sweep_options_are_refused_before_the_study_runs(tmp_path, capsys, option, value, message):
    _exit2(capsys, ["sweep", "--preset", "quick", "--out", str(tmp_path / "o"), option, value], message)
    assert not (tmp_path / "o").exists()


def test_check_writable_leaves_nothing_behind(tmp_path):
    jf.check_writable(tmp_path / "new" / "x.json", "-o")
    assert list((tmp_path / "new").iterdir()) == []


# ---- TOML studies ------------------------------------------------------------------------------------

STUDY = """name = "s"
[[experiment]]
name = "e"
domain = "placement"
seeds = SEEDS
methods = ["local-only"]
[experiment.params]
family = "nyu"
[experiment.grid]
GRID
"""


def _study(tmp_path, seeds="1", grid="window = [0.05]") -> str:
    path = tmp_path / "s.toml"
    if "n_clients" not in grid:
        grid = f"n_clients = [3]\n{grid}"
    path.write_text(STUDY.replace("SEEDS", seeds).replace("GRID", grid))
    return str(path)


def test_a_valid_study_loads(tmp_path):
    assert load_study(_study(tmp_path)).experiments[0].grid["window"] == (0.05,)


@pytest.mark.parametrize("seeds, grid, message", [
    ("1", 'window = ["abc"]', 'experiment[0].grid.window[0]: must be a finite number or "none", got \'abc\''),
    ("1", "window = [0.05, [1]]", "experiment[0].grid.window[1]: must be a finite number"),
    ("1", 'client_rate = [[5.0, "x"]]', "experiment[0].grid.client_rate[0]: must be a non-empty list of finite"),
    ("1", "n_edges = [1.5]", 'experiment[0].grid.n_edges[0]: must be an integer or "none", got 1.5'),
    ("1", "window = [inf]", "experiment[0].grid.window[0]: must be finite, got inf"),
    ("1", "window = [nan]", "experiment[0].grid.window[0]: must be finite, got nan"),
    ("1" + "0" * 30, "window = [0.05]", "experiment[0].seeds: must be a 64-bit integer"),
    ("1", "n_clients = [" + "9" * 25 + "]", "experiment[0].grid.n_clients[0]: must be a 64-bit integer"),
    ("1", "n_clients = [1000000000]", "experiment[0].grid.n_clients[0]: must be an integer <= 1000000"),
    ("1000000000", "window = [0.05]", "above the limit of 1000000"),
    ("1", "n_edges = [100000000]", "experiment[0].grid.n_edges[0]: must be an integer <= 100000, got 100000000"),
    ("1", "edge_speed = [[1.0]]", "experiment[0].params: the generator cannot use"),
    ("1", "window = " + "[" * 5000 + "]" * 5000, "invalid TOML: nested too deeply"),
    ("1", "window = " + "[" * 70 + "]" * 70, "nested more than 64 levels deep"),
])
def test_bad_study_values_name_the_key(tmp_path, seeds, grid, message):
    _raises(load_study, _study(tmp_path, seeds, grid), message)


def test_online_study_traces_have_a_size_limit(tmp_path):
    path = tmp_path / "o.toml"
    path.write_text('name = "o"\n[[experiment]]\nname = "e"\ndomain = "online"\nmethods = ["every-slot"]\n'
                    '[experiment.params]\nscenario = "default"\nn_devices = 3\nn_slots = 10000000\n')
    _raises(load_study, path, "experiment[0].params: n_devices x n_slots must be <= 10000000, got 3 x 10000000")


def test_study_files_on_the_file_system(tmp_path, capsys):
    (tmp_path / "bad.toml").write_bytes(b'name = "\xff"\n')
    _raises(load_study, tmp_path / "bad.toml", "bad.toml: not UTF-8 text")
    (tmp_path / "dir.toml").mkdir()
    _raises(load_study, tmp_path / "dir.toml", "is a folder, not a file")
    _raises(load_study, tmp_path / "none.toml", "none.toml: file not found")
    _exit2(capsys, ["sweep", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")], "not UTF-8 text")


@root_reads_anything
def test_an_unreadable_study_is_refused(tmp_path):
    path = _study(tmp_path)
    os.chmod(path, 0)
    _raises(load_study, path, "permission denied")


# ---- study tables (report) ---------------------------------------------------------------------------

def _table(out, frame=None, raw: bytes | None = None):
    out.mkdir(exist_ok=True)
    if raw is not None:
        (out / "results.parquet").write_bytes(raw)
    else:
        frame.to_parquet(out / "results.parquet")
    return out


def _rows(**extra):
    import pandas as pd

    base = {"experiment": ["e"], "domain": ["placement"], "method": ["j3o"], "status": ["optimal"],
            "verified": [True], "runtime_s": [0.1], "ratio": [1.0], "runtime_ratio": [0.5], "n_clients": [3]}
    return pd.DataFrame({**base, **extra})


def test_report_on_a_valid_table(tmp_path):
    assert len(load_table(_table(tmp_path / "ok", _rows()))) == 1


def test_report_refuses_garbage_and_truncated_tables(tmp_path, capsys):
    _exit2(capsys, ["report", str(_table(tmp_path / "g", raw=b"garbage" * 50)), "--no-plots"],
           "results.parquet: not a readable Parquet table")
    _table(tmp_path / "t", _rows())
    data = (tmp_path / "t" / "results.parquet").read_bytes()
    (tmp_path / "t" / "results.parquet").write_bytes(data[: len(data) // 2])
    _exit2(capsys, ["report", str(tmp_path / "t"), "--no-plots"], "not a readable Parquet table")


@pytest.mark.parametrize("frame, message", [
    (lambda: _rows().drop(columns="ratio"), "results.parquet: ratio: required column is missing"),
    (lambda: _rows().drop(columns=["domain", "method"]), "domain: required column is missing (also method)"),
    (lambda: _rows(domain=["weather"]), "domain: must be one of placement, coinference, online, got 'weather'"),
    (lambda: _rows(runtime_s=["fast"]), "runtime_s: must be a numeric column"),
])
def test_report_refuses_tables_without_the_expected_columns(tmp_path, capsys, frame, message):
    _exit2(capsys, ["report", str(_table(tmp_path / "r", frame())), "--no-plots"], message)


def test_the_fixture_files_are_valid(files):
    """The mutations above start from files that load (so each refusal is the mutation's)."""
    inst = cio.load_instance(files / "c.json")
    assert cio.load_plan(files / "plan.json", inst).decision.partition.shape == (4,)
    assert pio.load_instance(files / "p.json").n_clients == 4
    assert load_trace(files / "t.json").n_devices == 3
    assert np.isfinite(pio.load_instance(files / "p.json").payload_mbit).all()
