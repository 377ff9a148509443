"""The command line on co-inference files: generate, solve, verify, end to end in tmp_path."""

import json

import numpy as np
import pytest

from j3o_fast.cli import main
from j3o_fast.coinference import generate, io
from j3o_fast.coinference.profiles import random_instance


def _generate(tmp_path, *extra):
    path = tmp_path / "inst.json"
    assert main(["generate", "coinference", "--profile", "mobilenetv2", "--users", "12", "--seed", "4",
                 "-o", str(path), *extra]) == 0
    return path


def test_generate_writes_the_seeded_instance(tmp_path, capsys):
    path = _generate(tmp_path, "--deadline", "0.03", "--deadline-spread", "0.2", "--alpha", "0.1", "--max-batch", "5")
    assert "12 users, 10 sub-tasks" in capsys.readouterr().out
    inst = io.load_instance(path)
    ref = generate("mobilenetv2", 12, deadline_s=0.03, deadline_spread=0.2, alpha=0.1, max_batch=5, seed=4)
    assert io.instance_to_dict(inst) == io.instance_to_dict(ref)


@pytest.mark.parametrize("method", ["lc", "fo", "ip-no-batch"])
def test_solve_prints_a_summary_and_the_plan_verifies(tmp_path, capsys, method):
    inst_path = _generate(tmp_path)
    plan_path = tmp_path / "plan.json"
    assert main(["solve", str(inst_path), "--method", method, "-o", str(plan_path)]) == 0
    out = capsys.readouterr().out
    for head in ("instance", "method", "energy", "partition", "batches", "feasible", "verified"):
        assert any(line.startswith(head) for line in out.splitlines()), head
    assert f"method     {method}" in out and "saving" in out and "verified   ok" in out
    doc = json.loads(plan_path.read_text())
    assert doc["format"] == "j3o-fast/coinference-plan" and doc["method"] == method and "runtime_s" in doc
    assert main(["verify", str(inst_path), str(plan_path)]) == 0
    assert "all constraints hold" in capsys.readouterr().out


def test_solve_oracle_on_a_tiny_instance(tmp_path, capsys):
    inst_path = tmp_path / "tiny.json"
    io.save_instance(random_instance(3, 3, seed=2), inst_path)
    assert main(["solve", str(inst_path), "--method", "oracle", "-o", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "status optimal" in out and "s=" in out
    assert main(["verify", str(inst_path), str(tmp_path / "p.json")]) == 0


def test_verify_exits_1_on_a_broken_plan(tmp_path, capsys):
    inst_path = tmp_path / "tiny.json"
    io.save_instance(random_instance(3, 3, seed=2), inst_path)
    plan_path = tmp_path / "p.json"
    assert main(["solve", str(inst_path), "--method", "oracle", "-o", str(plan_path)]) == 0
    doc = json.loads(plan_path.read_text())
    assert doc["batches"], "the test needs a plan with batches"
    doc["batches"][0][2] -= 1.0                 # one second before its users' data is ready
    plan_path.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["verify", str(inst_path), str(plan_path)]) == 1
    assert "readiness" in capsys.readouterr().out


def test_unservable_users_give_a_partial_plan_reported_not_failed(tmp_path, capsys):
    # VGG16 with a 0.05 s deadline: no device can run locally and no upload fits either.
    inst_path = tmp_path / "inst.json"
    assert main(["generate", "coinference", "--profile", "vgg16", "--users", "5", "--deadline", "0.05",
                 "-o", str(inst_path)]) == 0
    assert main(["solve", str(inst_path), "--method", "lc", "-o", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "status partial" in out and "5 users cannot meet their deadline" in out
    assert "verified   ok except the listed users" in out
    # One verdict: verify accepts what solve accepted, and says why.
    assert main(["verify", str(inst_path), str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "deadlines" in out and "accepted: only the 5 users the plan lists as infeasible" in out


def test_verify_rejects_a_late_user_the_plan_does_not_list(tmp_path, capsys):
    inst_path = tmp_path / "inst.json"
    assert main(["generate", "coinference", "--profile", "vgg16", "--users", "5", "--deadline", "0.05",
                 "-o", str(inst_path)]) == 0
    assert main(["solve", str(inst_path), "--method", "lc", "-o", str(tmp_path / "p.json")]) == 0
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["infeasible_users"] = doc["infeasible_users"][1:]   # user 0 is still late, now undeclared
    (tmp_path / "p.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["verify", str(inst_path), str(tmp_path / "p.json")]) == 1
    assert "accepted" not in capsys.readouterr().out


def test_bad_input_exits_2_with_the_path(tmp_path, capsys):
    inst_path = _generate(tmp_path)
    assert main(["solve", str(inst_path), "--method", "simplex"]) == 2
    assert "--method: must be one of ip-ssa, ip-ssa-min, og, lc, fo, ip-no-batch, oracle" in capsys.readouterr().err
    assert main(["solve", str(inst_path), "--method", "oracle"]) == 2
    assert "oracle is limited to K <= 4" in capsys.readouterr().err
    doc = json.loads(inst_path.read_text())
    doc["users"]["deadline_s"][3] = -1.0
    inst_path.write_text(json.dumps(doc))
    assert main(["solve", str(inst_path), "--method", "lc"]) == 2
    assert "users.deadline_s[3]: must be > 0, got -1.0" in capsys.readouterr().err
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps({"format": "j3o-fast/coinference-plan", "version": 1}))
    assert main(["verify", str(_generate(tmp_path)), str(plan_path)]) == 2
    assert "required key is missing" in capsys.readouterr().err


# IP-SSA plans for one common deadline (spread 0); ip-ssa-min and OG take spread deadlines.
@pytest.mark.parametrize("method, extra, spread", [("ip-ssa", [], "0"), ("ip-ssa", ["--variant", "iterative"], "0"),
                                                   ("ip-ssa-min", [], "0.5"), ("og", [], "0.5")])
def test_planners_through_the_cli(tmp_path, capsys, method, extra, spread):
    pytest.importorskip("j3o_fast.coinference.ipssa" if method.startswith("ip-ssa") else "j3o_fast.coinference.og")
    inst_path = _generate(tmp_path, "--deadline-spread", spread)
    plan_path = tmp_path / "plan.json"
    assert main(["solve", str(inst_path), "--method", method, *extra, "-o", str(plan_path)]) == 0
    assert f"method     {method}" in capsys.readouterr().out
    res = io.load_plan(plan_path, io.load_instance(inst_path))
    assert res.method == method and np.isfinite(res.objective)
    # A plan that lists users it cannot serve fails verification on their deadlines.
    assert main(["verify", str(inst_path), str(plan_path)]) == (0 if res.decision.feasible else 1)


def test_options_a_method_does_not_take_exit_2(tmp_path, capsys):
    inst_path = _generate(tmp_path)
    assert main(["solve", str(inst_path), "--method", "lc", "--variant", "exact"]) == 2
    assert "options: lc: got an unexpected keyword argument 'variant'" in capsys.readouterr().err
