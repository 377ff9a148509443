"""The ``online`` commands (docs/coinference.rst section 7): run, clairvoyant and train, end to end in tmp_path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from j3o_fast.cli import main
from j3o_fast.coinference import io as cio
from j3o_fast.coinference import verify_plan
from j3o_fast.coinference.online import (DDPGPolicy, Scenario, clairvoyant, generate_trace, load_trace, run_episode,
                                         save_trace)

KEYS = {"energy_j", "energy_per_task_j", "local_energy_j", "saving", "violations", "tasks", "mean_wait_s",
        "gpu_busy_fraction", "batches", "reward", "policy", "planner"}

#: Generous deadlines and a light load: every policy serves every task, so every plan verifies.
EASY = Scenario(n_devices=4, n_slots=40, rate_hz=30.0, deadline_min_s=0.04, deadline_max_s=0.08)


@pytest.fixture
def trace_path(tmp_path):
    path = tmp_path / "trace.json"
    save_trace(generate_trace(EASY, seed=1), path)
    return path


def _run(trace_path, out, *args):
    return main(["online", "run", str(trace_path), "-o", str(out), *args])


@pytest.mark.parametrize("policy, theta", [("every-slot", 1.0), ("threshold:0.5", 0.5), ("threshold:0", 0.0)])
@pytest.mark.parametrize("planner", ["og", "ip-ssa"])
def test_run_writes_the_result_and_the_plan_verifies(tmp_path, capsys, trace_path, policy, theta, planner):
    out, prefix = tmp_path / "res" / "result.json", tmp_path / "plans" / "ep"
    assert _run(trace_path, out, "--policy", policy, "--planner", planner, "--psi", "5",
                "--plan-out", str(prefix)) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith(f"{policy} ({planner}):") and "mJ per task" in line
    doc = json.loads(out.read_text())
    assert set(doc) >= KEYS and (doc["policy"], doc["planner"], doc["psi"]) == (policy, planner, 5.0)
    ref = run_episode(load_trace(trace_path), theta, planner=planner, psi=5.0)
    assert {k: doc[k] for k in ref.to_dict()} == ref.to_dict()
    inst, plan = f"{prefix}-instance.json", f"{prefix}-plan.json"
    if ref.violations == 0:
        assert main(["verify", inst, plan]) == 0
        assert "all constraints hold" in capsys.readouterr().out
    else:  # violated tasks run all-local past their deadline, as the plan declares, and nothing else fails
        assert main(["verify", inst, plan]) == 0
        assert f"accepted: only the {ref.violations} users the plan lists as infeasible" in capsys.readouterr().out
        assert _failed_checks(inst, plan) == ["deadlines"]


def _failed_checks(inst_path, plan_path) -> list:
    inst = cio.load_instance(inst_path)
    return [v.constraint for v in verify_plan(inst, cio.load_plan(plan_path, inst).decision).violations]


def test_run_without_plan_out_writes_only_the_result(tmp_path, trace_path):
    assert _run(trace_path, tmp_path / "r.json", "--policy", "every-slot") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "trace.json"]
    assert json.loads((tmp_path / "r.json").read_text())["planner"] == "og"   # the default planner


def test_clairvoyant_writes_the_result_and_the_plan_verifies(tmp_path, capsys, trace_path):
    out, prefix = tmp_path / "c.json", tmp_path / "cv"
    assert main(["online", "clairvoyant", str(trace_path), "-o", str(out), "--plan-out", str(prefix)]) == 0
    assert capsys.readouterr().out.startswith("clairvoyant (og):")
    doc = json.loads(out.read_text())
    ref = clairvoyant(load_trace(trace_path))
    assert set(doc) >= KEYS and (doc["policy"], doc["planner"]) == ("clairvoyant", "og")
    assert {k: doc[k] for k in ref.to_dict()} == ref.to_dict() and doc["mean_wait_s"] == 0.0
    assert main(["verify", f"{prefix}-instance.json", f"{prefix}-plan.json"]) == 0


def test_an_idle_trace_runs_but_has_no_plan(tmp_path, capsys):
    idle = tmp_path / "idle.json"
    save_trace(generate_trace(Scenario(n_devices=3, n_slots=5, rate_hz=0.0), seed=0), idle)
    assert main(["online", "clairvoyant", str(idle), "-o", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["tasks"] == 0
    assert _run(idle, tmp_path / "r.json", "--policy", "every-slot", "--plan-out", str(tmp_path / "p")) == 2
    assert "--plan-out" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--policy", "fastest"], "--policy: must be every-slot, threshold:X"),
    (["--policy", "threshold:1.5"], "--policy: threshold:X needs a number X in [0, 1], got 'threshold:1.5'"),
    (["--policy", "threshold:-0.1"], "got 'threshold:-0.1'"),
    (["--policy", "threshold:abc"], "got 'threshold:abc'"),
    (["--policy", "threshold:nan"], "got 'threshold:nan'"),
    (["--policy", "missing.zip"], "--policy: 'missing.zip': file not found"),
    (["--policy", "every-slot", "--planner", "fifo"], "--planner: must be one of og, ip-ssa, got 'fifo'"),
    (["--policy", "every-slot", "--psi", "-1"], "--psi: must be a finite number >= 0, got -1.0"),
])
def test_run_bad_input_exits_2_naming_the_option(tmp_path, capsys, trace_path, args, message):
    out = tmp_path / "r.json"
    assert _run(trace_path, out, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("j3o-fast: error: ") and message in err
    assert not out.exists()


def test_missing_and_broken_inputs_exit_2(tmp_path, capsys, trace_path):
    assert _run(tmp_path / "none.json", tmp_path / "r.json", "--policy", "every-slot") == 2
    assert "none.json: file not found" in capsys.readouterr().err
    doc = json.loads(trace_path.read_text())
    doc["tasks"][0][1] = 999
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert main(["online", "clairvoyant", str(bad), "-o", str(tmp_path / "c.json")]) == 2
    assert "bad.json: tasks[0][1]: must be a slot in [0, 39], got 999" in capsys.readouterr().err
    text = tmp_path / "text.zip"
    text.write_text("not an agent")
    assert _run(trace_path, tmp_path / "r.json", "--policy", str(text)) == 2
    assert "not a stable-baselines3 DDPG agent" in capsys.readouterr().err


def test_outputs_are_checked_before_the_episode(tmp_path, capsys, trace_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    prefix = tmp_path / "ep"
    assert _run(trace_path, folder, "--policy", "every-slot", "--plan-out", str(prefix)) == 2
    assert "-o: must be a file path" in capsys.readouterr().err
    (tmp_path / "ep-plan.json").mkdir()
    assert _run(trace_path, tmp_path / "r.json", "--policy", "every-slot", "--plan-out", str(prefix)) == 2
    assert "--plan-out: must be a file path" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "ep-instance.json").exists()


# ---- train -------------------------------------------------------------------------------------

def _scenario_file(tmp_path, scenario=EASY):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario.to_dict()))
    return path


def test_train_on_traces_and_on_a_scenario_then_run_the_agent(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    folder = tmp_path / "traces"
    folder.mkdir()
    for seed in (1, 2, 3):
        save_trace(generate_trace(EASY, seed=seed), folder / f"t{seed}.json")
    agent = tmp_path / "agents" / "og.zip"
    assert main(["online", "train", "--traces", str(folder / "*.json"), "--planner", "og", "--steps", "200",
                 "--seed", "1", "--learning-starts", "100", "--checkpoint-every", "50", "-o", str(agent)]) == 0
    assert "3 traces" in capsys.readouterr().out
    assert DDPGPolicy(agent).model.num_timesteps == 200
    scen = tmp_path / "ip.zip"
    assert main(["online", "train", "--scenario", str(_scenario_file(tmp_path)), "--planner", "ip-ssa", "--steps",
                 "150", "--seed", "2", "--learning-starts", "50", "-o", str(scen)]) == 0
    capsys.readouterr()
    out, prefix = tmp_path / "r.json", tmp_path / "agent-ep"
    assert _run(folder / "t1.json", out, "--policy", str(agent), "--plan-out", str(prefix)) == 0
    doc = json.loads(out.read_text())
    assert doc["policy"] == str(agent) and doc["tasks"] == load_trace(folder / "t1.json").n_tasks
    ref = run_episode(load_trace(folder / "t1.json"), DDPGPolicy(agent))
    assert {k: doc[k] for k in ref.to_dict()} == ref.to_dict()
    assert main(["verify", f"{prefix}-instance.json", f"{prefix}-plan.json"]) == (0 if ref.violations == 0 else 1)
    assert _failed_checks(f"{prefix}-instance.json", f"{prefix}-plan.json") == ([] if ref.violations == 0
                                                                               else ["deadlines"])


@pytest.mark.parametrize("args, message", [
    (["--traces", "nowhere/*.json"], "--traces: matches no file: 'nowhere/*.json'"),
    (["--scenario", "nowhere.json"], "nowhere.json: file not found"),
    (["--planner", "fifo"], "--planner: must be one of og, ip-ssa"),
    (["--steps", "0"], "--steps: must be an integer >= 1, got 0"),
    (["--seed", "-2"], "--seed: must be an integer >= 0, got -2"),
    (["--checkpoint-every", "0"], "--checkpoint-every: must be an integer >= 1"),
])
def test_train_bad_input_exits_2(tmp_path, capsys, trace_path, args, message):
    base = {"--traces": [str(trace_path)], "--steps": ["10"]}
    for i in range(0, len(args), 2):
        base[args[i]] = [args[i + 1]]
    if "--scenario" in base:
        del base["--traces"]
    argv = ["online", "train", "-o", str(tmp_path / "a.zip")] + [x for k, v in base.items() for x in (k, *v)]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


def test_train_refuses_a_scenario_file_with_bad_fields(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(dict(EASY.to_dict(), n_devices=0)))
    assert main(["online", "train", "--scenario", str(path), "--steps", "10", "-o", str(tmp_path / "a.zip")]) == 2
    assert "n_devices: must be an integer >= 1, got 0" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_keeps_the_last_checkpoint_and_exits_130(tmp_path):
    pytest.importorskip("stable_baselines3")
    agent = tmp_path / "agent.zip"
    cmd = [sys.executable, "-c", "import sys; from j3o_fast.cli import main; sys.exit(main())", "online", "train",
           "--scenario", str(_scenario_file(tmp_path)), "--steps", "1000000", "--learning-starts", "20",
           "--checkpoint-every", "40", "-o", str(agent)]
    # A shell may start background jobs with SIGINT ignored; the child gets the default back.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not agent.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert agent.exists(), proc.stderr.read() if proc.poll() is not None else "no checkpoint in 120 s"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "interrupted after" in err and f"is in {agent}" in err
    steps = DDPGPolicy(agent).model.num_timesteps
    assert steps > 0 and steps % 40 == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.zip", "scenario.json"]
