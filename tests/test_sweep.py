"""Studies: description and TOML, seeding, same numbers on any worker count and backend, resume after
a kill without recomputation, recorded failures, one thread per task, and clear errors for bad studies."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from sweep_cases import mip_study, rows_in_chunks

from j3o_fast import sweep
from j3o_fast.cli import main
from j3o_fast.errors import InvalidInputError
from j3o_fast.sweep import Experiment, Limits, Study
from j3o_fast.sweep._common import _canonical
from j3o_fast.sweep.tasks import _words
from j3o_fast.sweep.worker import _THREAD_VARS


def tiny_study(name="tiny", root_seed=11, placement_methods=("j3o", "mip", "accuracy-greedy", "random")):
    return Study(name, root_seed=root_seed, limits=Limits(time_limit_s=60.0), experiments=(
        Experiment("place", "placement", methods=placement_methods, params={"family": "nyu", "n_edges": 1},
                   grid={"n_clients": (4, 7), "window": (None, 0.05)}, seeds=2),
        Experiment("coinf", "coinference", methods=("ip-ssa", "og", "lc"), params={"profile": "mobilenetv2"},
                   grid={"n_users": (3, 6), "deadline_factor": (0.8,)}, seeds=2),
    ))


def numbers(table):
    """The columns that must not depend on workers, backend or run."""
    return table[sweep.deterministic_columns(table)].reset_index(drop=True)


@pytest.fixture(scope="module")
def serial_table():
    return sweep.run_study(tiny_study(), None, n_jobs=1, progress=False)


# ---------------------------------------------------------------------------------------------
# Description, TOML and expansion


def test_every_preset_round_trips_through_toml():
    for name in sweep.PRESETS:
        study = sweep.preset(name)
        back = sweep.study_from_toml(study.to_toml())
        assert back == study, name
        assert len(sweep.expand(study)) > 0


def test_toml_file_with_string_methods_and_none(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('''
name = "t"
root_seed = 5
seeds = 2
[limits]
time_limit_s = 30
[[experiment]]
domain = "placement"
methods = ["j3o", { method = "mip", label = "mip-loose", options = { mip_rel_gap = 0.01 } }]
[experiment.params]
family = "nyu"
[experiment.grid]
n_clients = [5, 8]
window = ["none", 0.05]
''')
    study = sweep.load_study(path)
    e = study.experiments[0]
    assert e.name == "placement-0" and e.seeds == 2 and e.grid["window"] == (None, 0.05)
    assert [m.label for m in e.methods] == ["j3o", "mip-loose"]
    tasks = sweep.expand(study)
    assert len(tasks) == 2 * 2 * 2 * 2
    mip = [t for t in tasks if t.label == "mip-loose"][0]
    assert dict(mip.options) == {"mip_rel_gap": 0.01, "time_limit": 30.0, "threads": 1}


def test_seeds_are_children_of_the_root_and_keyed_by_configuration():
    study = tiny_study()
    tasks = sweep.expand(study)
    per_instance = {}
    for t in tasks:
        per_instance.setdefault(t.instance, set()).add(t.seed)
    assert all(len(s) == 1 for s in per_instance.values())          # every method sees the same instance
    seeds = [next(iter(s)) for s in per_instance.values()]
    assert len(set(seeds)) == len(seeds)                              # distinct instances, distinct seeds
    t = tasks[0]
    config = dict(t.params)
    key = _words(_canonical({"domain": t.domain, **config}), 2)
    expected = np.random.SeedSequence(study.root_seed, spawn_key=(*key, t.replicate)).generate_state(2, np.uint32)
    assert t.seed == int(expected[0])
    # the same configuration in another experiment, another position, gets the same instance
    other = Study("o", root_seed=study.root_seed, experiments=(
        Experiment("x", "placement", methods=("j3o",), params={"family": "nyu", "n_edges": 1, "window": 0.05},
                   grid={"n_clients": (9, 7)}, seeds=2),))
    same = {(dict(u.params)["n_clients"], u.replicate): u.seed for u in sweep.expand(other)}
    for u in tasks:
        p = dict(u.params)
        if u.domain == "placement" and p["window"] == 0.05 and p["n_clients"] == 7:
            assert same[(7, u.replicate)] == u.seed
    # another root seed changes them
    assert sweep.expand(tiny_study(root_seed=12))[0].seed != t.seed


# ---------------------------------------------------------------------------------------------
# The table


def test_table_rows_columns_and_references(serial_table):
    tab = serial_table
    tasks = sweep.expand(tiny_study())
    assert list(tab["task"]) == [t.key for t in tasks]                 # one row per task, in task order
    assert (tab["status"] != "error").all() and tab["verified"].all()
    for col in ("n_clients", "window", "n_users", "deadline_factor", "family", "profile", "seed", "objective",
                "upper_bound", "ratio", "runtime_s", "status", "iterations", "runtime_ratio", "saving"):
        assert col in tab
    place = tab[tab["domain"] == "placement"]
    mip = place[place["method"] == "mip"]
    assert (mip["status"] == "optimal").all() and np.allclose(mip["ratio"], 1.0)
    assert (place["reference_kind"] == "optimum").all()
    # no method beats the exact optimum; the reference is the MIP objective of the same instance
    assert (place["ratio"] <= 1 + 1e-9).all()
    ref = mip.set_index("instance")["objective"]
    assert np.allclose(place["reference"], ref.loc[place["instance"]].to_numpy())
    assert np.allclose(place["ratio"], place["objective"] / place["reference"])
    co = tab[tab["domain"] == "coinference"]
    assert np.allclose(co["saving"], 1 - co["objective"] / co["lc_energy_j"])
    assert np.allclose(co[co["method"] == "lc"]["saving"], 0.0)
    assert co["ratio"].isna().all()                                   # no oracle ran
    # the random baseline gets a seed spawned for its instance, recorded in its options
    rnd = place[place["method"] == "random"]
    assert rnd["options"].str.contains('"seed":').all() and rnd["options"].nunique() == len(rnd)


def test_lp_bound_is_the_reference_where_no_mip_runs():
    study = Study("b", root_seed=3, experiments=(
        Experiment("e", "placement", methods=("j3o", "accuracy-greedy", sweep.LP_BOUND),
                   params={"family": "nyu", "n_clients": 8, "n_edges": 1}, seeds=2),))
    tab = sweep.run_study(study, None, progress=False)
    assert (tab["reference_kind"] == "bound").all()
    assert (tab["ratio"] <= 1 + 1e-9).all() and np.allclose(tab[tab["method"] == sweep.LP_BOUND]["ratio"], 1.0)
    assert tab["runtime_ratio"].isna().all()                         # no exact solver to compare with


def test_same_numbers_with_one_and_two_workers(serial_table, tmp_path):
    two = sweep.run_study(tiny_study(), tmp_path / "two", n_jobs=2, chunk_size=3, progress=False)
    pd.testing.assert_frame_equal(numbers(serial_table), numbers(two))
    assert two["worker"].nunique() == 2                               # really two processes
    stored = pd.read_parquet(tmp_path / "two" / "results.parquet")
    pd.testing.assert_frame_equal(numbers(stored), numbers(two))


def test_same_numbers_on_dask_local_cluster(serial_table):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        tab = sweep.run_study(tiny_study(), None, n_jobs=2, backend="dask", chunk_size=4, progress=False)
    pd.testing.assert_frame_equal(numbers(serial_table), numbers(tab))
    assert tab["worker"].nunique() == 2


def test_same_numbers_on_ray(serial_table):
    pytest.importorskip("ray.util.joblib")
    tab = sweep.run_study(tiny_study(), None, n_jobs=2, backend="ray", chunk_size=4, progress=False)
    pd.testing.assert_frame_equal(numbers(serial_table), numbers(tab))


def test_tasks_run_single_threaded():
    import numba
    from threadpoolctl import threadpool_info

    seen = []

    def probe(task):
        pools = [p["num_threads"] for p in threadpool_info()]
        seen.append((numba.get_num_threads(), max(pools, default=1)))

    tasks = [t for t in sweep.expand(tiny_study()) if t.domain == "placement"][:3]
    before = (numba.get_num_threads(), {v: os.environ.get(v) for v in _THREAD_VARS})
    rows = sweep.run_chunk(tasks, "probe", on_task=probe)
    assert seen == [(1, 1)] * 3
    # run in the caller's own process, the caller's thread count and environment are left alone
    assert (numba.get_num_threads(), {v: os.environ.get(v) for v in _THREAD_VARS}) == before
    assert all('"threads":1' in r["options"] for r in rows if r["solver"] in ("j3o", "mip"))


# ---------------------------------------------------------------------------------------------
# Storage, resume and failures


def test_failing_task_is_recorded_and_the_rest_finish(tmp_path):
    # j3o-unaware needs a batching window: its rows without one fail, everything else runs
    study = tiny_study(placement_methods=("j3o", "j3o-unaware"))
    tab = sweep.run_study(study, tmp_path, progress=False)
    failed = tab[tab["status"] == "error"]
    assert len(failed) == 4 and (failed["method"] == "j3o-unaware").all() and failed["window"].isna().all()
    assert failed["error"].str.startswith("InvalidInputError: batching_window_s").all()
    assert (tab.drop(failed.index)["status"] != "error").all() and len(tab) == len(sweep.expand(study))
    # a rerun keeps the failures (they are finished tasks) and computes nothing
    again = sweep.run_study(study, tmp_path, progress=False)
    assert again["run_id"].nunique() == 1 and (again["run_id"] == tab["run_id"]).all()
    # unless asked to retry them: then exactly the failed ones run again (and fail again)
    retried = sweep.run_study(study, tmp_path, progress=False, retry_failed=True)
    new = retried[retried["run_id"] != tab["run_id"].iloc[0]]
    assert set(new["task"]) == set(failed["task"])
    pd.testing.assert_frame_equal(numbers(retried), numbers(tab))


def test_rerun_skips_stored_tasks_and_ignores_other_studies(tmp_path):
    small = tiny_study()
    sweep.run_study(Study("other", root_seed=99, experiments=small.experiments[1:]), tmp_path, progress=False)
    (tmp_path / "chunks" / ".tmp-chunk-half-written.parquet").write_bytes(b"PAR1 truncated")
    first = sweep.run_study(small, tmp_path, progress=False)
    assert not list((tmp_path / "chunks").glob(".tmp-*"))                    # stale temporaries removed
    assert first["study"].eq("tiny").all() and len(first) == len(sweep.expand(small))
    second = sweep.run_study(small, tmp_path, progress=False)
    assert (second["run_id"] == first["run_id"]).all()                        # nothing recomputed
    pd.testing.assert_frame_equal(numbers(first), numbers(second))
    assert sweep.study_from_toml((tmp_path / "study.toml").read_text()) == small


def test_an_unreadable_chunk_is_a_warning_and_its_tasks_run_again(tmp_path, capsys):
    small = tiny_study()
    first = sweep.run_study(small, tmp_path, progress=False)
    chunk = sorted((tmp_path / "chunks").glob("chunk-*.parquet"))[0]
    chunk.write_bytes(b"PAR1 not a parquet file")
    with pytest.warns(RuntimeWarning, match="ignoring unreadable"):
        again = sweep.run_study(small, tmp_path, progress=False)
    assert capsys.readouterr().err == ""                                      # a warning, not a print
    assert again["run_id"].nunique() == 2                                     # the lost chunk's tasks ran again
    pd.testing.assert_frame_equal(numbers(again), numbers(first))


KILL_STUDY = mip_study("killme", root_seed=4, seeds=8, limits="time_limit_s = 60")


def test_resume_after_kill_matches_a_clean_run_without_recomputing(tmp_path):
    spec = tmp_path / "kill.toml"
    spec.write_text(KILL_STUDY)
    total = len(sweep.expand(sweep.load_study(spec)))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "j3o_fast.cli", "sweep", str(spec), "--jobs", "1", "--chunk-size", "1",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "chunks").glob("chunk-*.parquet"))) < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, "the run finished before it could be killed"
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = rows_in_chunks(out)
    assert 4 <= len(before) < total and not (out / "results.parquet").exists()

    assert main(["sweep", str(spec), "--jobs", "2", "--out", str(out)]) == 0
    resumed = pd.read_parquet(out / "results.parquet")
    # every task ran exactly once over both runs: the killed run's rows were kept, not recomputed
    everything = rows_in_chunks(out)
    assert len(everything) == total and everything["task"].is_unique
    killed_run = before["run_id"].iloc[0]
    assert (resumed["run_id"] == killed_run).sum() == len(before)
    assert set(resumed.loc[resumed["run_id"] == killed_run, "task"]) == set(before["task"])

    clean = sweep.run_study(sweep.load_study(spec), tmp_path / "clean", n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(numbers(resumed), numbers(clean))


# ---------------------------------------------------------------------------------------------
# Bad studies


def _toml_error(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidInputError) as info:
        sweep.load_study(path)
    return str(info.value)


BASE = """
name = "bad"
[[experiment]]
domain = "placement"
methods = {methods}
[experiment.params]
family = "nyu"
{params}
[experiment.grid]
{grid}
"""


def bad(methods='["j3o"]', params="", grid="n_clients = [5]"):
    return BASE.format(methods=methods, params=params, grid=grid)


@pytest.mark.parametrize("text, expected", [
    (bad(methods='["j3o", "gurobi"]'),
     "experiment[0].methods[1].method: must be one of j3o, mip, "),
    (bad(methods='["j3o", "gurobi"]'), "got 'gurobi'"),
    (bad(grid="n_clients = [5, 0]"), "experiment[0].grid.n_clients[1]: must be an integer >= 1, got 0"),
    (bad(grid="n_clients = 5"), "experiment[0].grid.n_clients: must be a non-empty list of values, got 5"),
    (bad(grid="n_clients = [5, 5]"), "experiment[0].grid.n_clients[1]: repeats the value 5"),
    (bad(grid="n_clients = [5]\nwindow = [0.05, -1.0]"),
     "experiment[0].grid.window[1]: must be > 0 seconds or None, got -1.0"),
    (bad(grid="n_client = [5]"), "experiment[0].grid.n_client: unknown placement parameter"),
    (bad(params="colour = 'red'", grid="n_clients = [5]"), "experiment[0].params.colour: unknown placement parameter"),
    (bad(params="n_tasks = 4"), "experiment[0].params.n_tasks: unknown parameter for family 'nyu'"),
    (bad(params="family = 'imagenet'").replace('family = "nyu"\n', ""),
     "experiment[0].params.family: must be one of nyu, taskonomy, random, got 'imagenet'"),
    (bad(methods='[{ method = "mip", options = { time_limit = -3 } }]'),
     "experiment[0].methods[0].options.time_limit:"),
    (bad(methods='[{ method = "j3o", options = { speed = "max" } }]'), "experiment[0].methods[0].options: j3o:"),
    (bad(methods='[{ method = "j3o", colour = "red" }]'),
     "experiment[0].methods[0].colour: unknown key (known: method, label, options), got value 'red'"),
    (bad(methods='["j3o", "j3o"]'), "experiment[0].methods[1].label: repeats the label 'j3o'"),
    (bad() + "\n[extra]\nx = 1\n", "extra: unknown key (known: name, root_seed, seeds, limits, experiment)"),
    (bad().replace('domain = "placement"', 'domain = "placement"\nsize = 3'), "experiment[0].size: unknown key"),
    (bad().replace('domain = "placement"', 'domain = "weather"'),
     "experiment[0].domain: must be one of placement, coinference, online, got 'weather'"),
    ("name = 'x'\n[limits]\ntime_limit_s = 0\n[[experiment]]\ndomain='placement'\nmethods=['j3o']\n"
     "params={family='nyu', n_clients=3}", "limits.time_limit_s: must be > 0 seconds or none, got 0"),
    ("name = 'x'\n", "experiment: must be a non-empty array of tables"),
    ("name = 'x'\n[[experiment]\n", "bad.toml: invalid TOML"),
])
def test_bad_study_files_name_the_key_and_value(tmp_path, text, expected):
    assert expected in _toml_error(tmp_path, text)


def test_bad_coinference_value_and_missing_size(tmp_path):
    text = """
[[experiment]]
domain = "coinference"
methods = ["og", { method = "ip-ssa", options = { variant = "fastest" } }]
params = { profile = "mobilenetv2" }
grid = { n_users = [3], alpha = [0.0, -0.5] }
"""
    assert "experiment[0].grid.alpha[1]: must be a finite number >= 0, got -0.5" in _toml_error(tmp_path, text)
    text = text.replace("alpha = [0.0, -0.5]", "alpha = [0.0]")
    assert "experiment[0].methods[1].options.variant:" in _toml_error(tmp_path, text)
    text = text.replace("n_users = [3], ", "")
    assert "experiment[0].params.n_users: required" in _toml_error(tmp_path, text)


def test_cli_reports_bad_study_and_options_with_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(bad(methods='["j3o", "gurobi"]'))
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "experiment[0].methods[1].method" in capsys.readouterr().err
    assert main(["sweep", "--preset", "huge", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "preset: must be one of quick, paper-placement, scale, paper-coinference, paper-online, got 'huge'" in err
    assert main(["sweep", "--preset", "quick", "--jobs", "0", "--out", str(tmp_path / "o")]) == 2
    assert "jobs: must be an integer >= 1 or -1" in capsys.readouterr().err
    assert main(["sweep", "--preset", "quick", "--scheduler", "tcp://x:1", "--out", str(tmp_path / "o")]) == 2
    assert "scheduler: only the dask and ray backends" in capsys.readouterr().err


def test_cli_sweep_prints_a_summary_and_is_quiet_off_a_terminal(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(tiny_study().to_toml())
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "tiny: 44 tasks (0 failed)" in captured.out
    assert "task/s" not in captured.err                             # no progress bar off a terminal
    assert (tmp_path / "o" / "results.csv").is_file()
