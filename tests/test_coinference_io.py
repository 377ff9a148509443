"""Co-inference instance and plan files: round trips and one test per rule of docs/formats.rst."""

import copy
import json
import os

import numpy as np
import pytest

from j3o_fast.coinference import Batch, CoInferencePlan, generate, io
from j3o_fast.coinference.baselines import solve_ip_no_batch
from j3o_fast.errors import InvalidInputError
from j3o_fast.result import SolveResult

EXAMPLE = {
    "format": "j3o-fast/coinference-instance",
    "version": 1,
    "name": "optional",
    "subtasks": ["block1", "block2", "block3"],
    "output_mbit": [4.8, 25.7, 12.8, 0.03],
    "edge_beta_s": [0.004, 0.005, 0.001],
    "edge_alpha_s": [0.0, 0.0, 0.0],
    "max_batch": None,
    "users": {
        "local_latency_s": [[0.05, 0.07, 0.01], [0.08, 0.11, 0.02]],
        "local_energy_j": [[0.15, 0.21, 0.03], [0.20, 0.28, 0.05]],
        "uplink_mbps": [20.0, 8.0],
        "tx_power_w": [0.2, 0.1],
        "deadline_s": [0.30, 0.45],
        "release_s": [0.0, 0.0],
    },
}

PLAN = {
    "format": "j3o-fast/coinference-plan",
    "version": 1,
    "method": "og",
    "partition": [0, 3],
    "batches": [[1, [0], 0.29], [2, [0], 0.294], [3, [0], 0.299]],
    "energy_j": [0.048, 0.53],
    "feasible": True,
    "infeasible_users": [],
    "runtime_s": 0.0004,
}


def _doc(**changes):
    """EXAMPLE with dotted-path changes; the value ``...`` deletes the key."""
    doc = copy.deepcopy(EXAMPLE)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = doc
        for p in parents:
            node = node[p]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return doc


def _raises(doc, message, loader=io.instance_from_dict):
    with pytest.raises(InvalidInputError, match=message):
        loader(doc)


# ---- instances: round trips ---------------------------------------------------------------------

def test_example_of_formats_md_loads():
    inst = io.instance_from_dict(copy.deepcopy(EXAMPLE))
    assert (inst.n_users, inst.n_subtasks, inst.name, inst.max_batch) == (2, 3, "optional", None)
    np.testing.assert_array_equal(inst.local_latency_s, EXAMPLE["users"]["local_latency_s"])


@pytest.mark.parametrize("profile, kw", [("vgg16", {}), ("mobilenetv2", dict(alpha=0.05, max_batch=7, deadline_spread=0.0))])
def test_instance_round_trip_is_exact(tmp_path, profile, kw):
    inst = generate(profile, 13, seed=5, **kw)
    path = tmp_path / "inst.json"
    io.save_instance(inst, path)
    back = io.load_instance(path)
    for key in ("output_mbit", "edge_beta_s", "edge_alpha_s", "local_latency_s", "local_energy_j", "uplink_mbps",
                "tx_power_w", "deadline_s", "release_s"):
        np.testing.assert_array_equal(getattr(back, key), getattr(inst, key), err_msg=key)
    assert (back.subtasks, back.max_batch, back.name) == (inst.subtasks, inst.max_batch, inst.name)
    assert io.instance_to_dict(back) == io.instance_to_dict(inst)


def test_optional_keys_default():
    inst = io.instance_from_dict(_doc(name=..., max_batch=..., users__release_s=...))
    assert inst.name == "" and inst.max_batch is None
    np.testing.assert_array_equal(inst.release_s, [0.0, 0.0])
    assert io.instance_from_dict(_doc(max_batch=3)).max_batch == 3


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "inst.json"
    io.save_instance(io.instance_from_dict(copy.deepcopy(EXAMPLE)), path)
    before = path.read_text()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(json, "dump", boom)
    with pytest.raises(RuntimeError):
        io.save_instance(generate("vgg16", 2), path)
    assert path.read_text() == before              # the old file is untouched
    assert os.listdir(tmp_path) == ["inst.json"]   # and no temporary file is left behind


# ---- instances: one test per rule ----------------------------------------------------------------

@pytest.mark.parametrize("doc, message", [
    (_doc(format="j3o-fast/placement-instance"), r"^format: expected 'j3o-fast/coinference-instance', got 'j3o-fast/placement-instance'$"),
    (_doc(version=2), r"^version: version 2 is newer than this reader supports \(1\)$"),
    (_doc(version="1"), r"^version: must be an integer >= 1, got '1'$"),
    (_doc(colour="red"), r"^colour: unknown key$"),
    (_doc(users__deadlines=[1.0, 1.0]), r"^users.deadlines: unknown key$"),
    (_doc(edge_beta_s=...), r"^edge_beta_s: required key is missing$"),
    (_doc(users__tx_power_w=...), r"^users.tx_power_w: required key is missing$"),
])
def test_header_and_keys(doc, message):
    _raises(doc, message)


def test_rule_n_at_least_one():
    _raises(_doc(subtasks=[]), r"^subtasks: must list at least one sub-task, got \[\]$")


def test_rule_k_at_least_one():
    _raises(_doc(users__local_latency_s=[]), r"^users.local_latency_s: must have at least one user row, got \[\]$")


def test_rule_per_user_rows_have_n_entries():
    _raises(_doc(users__local_energy_j=[[0.15, 0.21, 0.03], [0.20, 0.28]]),
            r"^users.local_energy_j\[1\]: must have 3 entries, got 2$")
    _raises(_doc(users__local_latency_s=[[0.05, 0.07, 0.01], [0.08, 0.11, 0.02], [0.1, 0.1, 0.1]]),
            r"^users.local_energy_j: must have 3 rows, got 2$")


def test_rule_output_mbit_has_n_plus_one_entries():
    _raises(_doc(output_mbit=[4.8, 25.7, 12.8]), r"^output_mbit: must have 4 entries, got 3$")


def test_rule_per_subtask_and_per_user_lengths():
    _raises(_doc(edge_alpha_s=[0.0, 0.0]), r"^edge_alpha_s: must have 3 entries, got 2$")
    _raises(_doc(users__uplink_mbps=[20.0]), r"^users.uplink_mbps: must have 2 entries, got 1$")
    _raises(_doc(users__release_s=[0.0, 0.0, 0.0]), r"^users.release_s: must have 2 entries, got 3$")


@pytest.mark.parametrize("path, bad, where", [
    ("users__local_latency_s", [[0.05, 0.07, 0.01], [0.08, -0.11, 0.02]], r"users.local_latency_s\[1\]\[1\]: must be > 0, got -0.11"),
    ("users__local_energy_j", [[0.15, 0.21, 0.0], [0.20, 0.28, 0.05]], r"users.local_energy_j\[0\]\[2\]: must be > 0, got 0.0"),
    ("edge_beta_s", [0.004, 0.0, 0.001], r"edge_beta_s\[1\]: must be > 0, got 0.0"),
    ("output_mbit", [4.8, 25.7, -12.8, 0.03], r"output_mbit\[2\]: must be > 0, got -12.8"),
    ("users__uplink_mbps", [20.0, 0.0], r"users.uplink_mbps\[1\]: must be > 0, got 0.0"),
    ("users__tx_power_w", [-0.2, 0.1], r"users.tx_power_w\[0\]: must be > 0, got -0.2"),
    ("users__deadline_s", [0.30, -1.0], r"users.deadline_s\[1\]: must be > 0, got -1.0"),
])
def test_rule_positive_quantities(path, bad, where):
    _raises(_doc(**{path: bad}), f"^{where}$")


def test_rule_alpha_and_releases_non_negative():
    _raises(_doc(edge_alpha_s=[0.0, -0.001, 0.0]), r"^edge_alpha_s\[1\]: must be >= 0, got -0.001$")
    _raises(_doc(users__release_s=[0.0, -0.5]), r"^users.release_s\[1\]: must be >= 0, got -0.5$")
    inst = io.instance_from_dict(_doc(edge_alpha_s=[0.0, 0.001, 0.0], users__release_s=[0.0, 0.5]))
    assert not inst.constant_latency and inst.release_s[1] == 0.5


@pytest.mark.parametrize("value, message", [
    (0, r"^max_batch: must be an integer >= 1 or null, got 0$"),
    (2.5, r"^max_batch: must be an integer, got 2.5$"),
    ("8", r"^max_batch: must be an integer, got '8'$"),
    (True, r"^max_batch: must be an integer, got True$"),
])
def test_rule_max_batch_null_or_integer(value, message):
    _raises(_doc(max_batch=value), message)


def test_rule_strings():
    _raises(_doc(subtasks=["a", 2, "c"]), r"^subtasks\[1\]: must be a string, got 2$")
    _raises(_doc(name=7), r"^name: must be a string, got 7$")
    _raises(_doc(users__deadline_s=[0.3, "soon"]), r"^users.deadline_s\[1\]: must be a number, got 'soon'$")
    _raises(_doc(users="everyone"), r"^users: must be an object, got str$")


@pytest.mark.parametrize("token, shown", [("NaN", "nan"), ("Infinity", "inf"), ("-Infinity", "-inf"), ("1e999", "inf")])
def test_rule_finite_in_files_names_the_path(tmp_path, token, shown):
    text = json.dumps(EXAMPLE).replace('"deadline_s": [0.3, 0.45]', f'"deadline_s": [0.3, {token}]')
    assert token in text
    path = tmp_path / "inst.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=rf"^users.deadline_s\[1\]: must be finite, got {shown}$"):
        io.load_instance(path)


def test_truncated_and_malformed_files(tmp_path):
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(EXAMPLE)[:-40])
    with pytest.raises(InvalidInputError, match=r"inst.json: invalid JSON at line 1 column \d+"):
        io.load_instance(path)
    path.write_text("[1, 2]")
    with pytest.raises(InvalidInputError, match=r"inst.json: top level must be a JSON object, got list$"):
        io.load_instance(path)
    with pytest.raises(InvalidInputError, match=r"missing.json: file not found$"):
        io.load_instance(tmp_path / "missing.json")


# ---- plans ----------------------------------------------------------------------------------------

def _plan(**changes):
    doc = copy.deepcopy(PLAN)
    for key, value in changes.items():
        if value is ...:
            del doc[key]
        else:
            doc[key] = value
    return doc


def test_plan_example_loads_and_round_trips(tmp_path):
    inst = io.instance_from_dict(copy.deepcopy(EXAMPLE))
    res = io.plan_from_dict(copy.deepcopy(PLAN), inst)
    plan = res.decision
    assert isinstance(res, SolveResult) and isinstance(plan, CoInferencePlan)
    assert (res.method, res.runtime_s, res.status) == ("og", 0.0004, "feasible")
    assert plan.batches[1] == Batch(2, (0,), 0.294)
    assert res.objective == pytest.approx(0.578)
    io.save_plan(res, tmp_path / "plan.json")
    assert io.plan_to_dict(io.load_plan(tmp_path / "plan.json", inst)) == PLAN


def test_solver_plan_round_trip(tmp_path):
    inst = generate("vgg16", 30, seed=2)
    res = solve_ip_no_batch(inst)
    io.save_plan(res, tmp_path / "p.json")
    back = io.load_plan(tmp_path / "p.json", inst)
    assert (back.method, back.runtime_s, back.status) == (res.method, res.runtime_s, res.status)
    np.testing.assert_array_equal(back.decision.partition, res.decision.partition)
    np.testing.assert_array_equal(back.decision.energy_j, res.decision.energy_j)
    assert back.decision.batches == res.decision.batches
    assert back.decision.infeasible_users == res.decision.infeasible_users and back.decision.infeasible_users


def test_plan_optional_keys():
    res = io.plan_from_dict(_plan(infeasible_users=..., runtime_s=...))
    assert res.runtime_s == 0.0 and res.decision.infeasible_users == ()
    res = io.plan_from_dict(_plan(feasible=False, partition=[0, 3], infeasible_users=[1]))
    assert res.status == "partial" and res.decision.infeasible_users == (1,)


@pytest.mark.parametrize("changes, message", [
    (dict(format="j3o-fast/coinference-instance"), r"^format: expected 'j3o-fast/coinference-plan'"),
    (dict(version=3), r"^version: version 3 is newer"),
    (dict(status="optimal"), r"^status: unknown key$"),
    (dict(method=...), r"^method: required key is missing$"),
    (dict(method=3), r"^method: must be a string, got 3$"),
    (dict(partition=[0, 4]), r"^partition\[1\]: must be a partition point in 0..3, got 4$"),
    (dict(partition=[0, -1]), r"^partition\[1\]: must be a partition point in 0..3, got -1$"),
    (dict(partition=[0]), r"^partition: must have 2 entries, got 1$"),
    (dict(partition=[0, 1.5]), r"^partition\[1\]: must be an integer, got 1.5$"),
    (dict(energy_j=[0.1]), r"^energy_j: must have 2 entries, got 1$"),
    (dict(batches=[[1, [0]]]), r"^batches\[0\]: must be \[subtask, \[users\], start_s\], got \[1, \[0\]\]$"),
    (dict(batches=[[1, [0], 0.1], [4, [0], 0.2]]), r"^batches\[1\]\[0\]: must be a sub-task in 1..3, got 4$"),
    (dict(batches=[[0, [0], 0.1]]), r"^batches\[0\]\[0\]: must be a sub-task in 1..3, got 0$"),
    (dict(batches=[[1, [0, 2], 0.1]]), r"^batches\[0\]\[1\]\[1\]: must be a user index >= 0 < 2, got 2$"),
    (dict(batches=[[1, [0, 0], 0.1]]), r"^batches\[0\]\[1\]\[1\]: repeats user 0 in the same batch"),
    (dict(batches=[[1, [], 0.1]]), r"^batches\[0\]\[1\]: must be a non-empty array of user indices, got \[\]$"),
    (dict(batches=[[1, [0], None]]), r"^batches\[0\]\[2\]: must be a number, got None$"),
    (dict(feasible="yes"), r"^feasible: must be true or false, got 'yes'$"),
    (dict(infeasible_users=[5]), r"^infeasible_users\[0\]: must be a user index in \[0, 1\], got 5$"),
    (dict(infeasible_users=3), r"^infeasible_users: must be an array, got int$"),
    (dict(runtime_s=-1.0), r"^runtime_s: must be >= 0, got -1.0$"),
])
def test_plan_rules(changes, message):
    inst = io.instance_from_dict(copy.deepcopy(EXAMPLE))
    with pytest.raises(InvalidInputError, match=message):
        io.plan_from_dict(_plan(**changes), inst)


def test_plan_nan_start_names_the_path(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(PLAN).replace("0.294", "NaN"))
    with pytest.raises(InvalidInputError, match=r"^batches\[1\]\[2\]: must be finite, got nan$"):
        io.load_plan(path)


def test_plan_without_instance_checks_structure_only():
    res = io.plan_from_dict(_plan(partition=[0, 9], batches=[[7, [0, 1], 0.0]]))
    assert res.decision.partition.tolist() == [0, 9]
    with pytest.raises(InvalidInputError, match=r"^batches\[0\]\[1\]\[0\]: must be a user index >= 0 < 2, got 5$"):
        io.plan_from_dict(_plan(batches=[[1, [5], 0.0]]))
