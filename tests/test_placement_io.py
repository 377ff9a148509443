"""Placement instance and solution files: round trips and one test per validation rule."""

import copy
import json

import numpy as np
import pytest

from j3o_fast import InvalidInputError
from j3o_fast.placement import generate, load_instance, load_solution, save_instance, save_solution, solve_mip
from j3o_fast.placement.io import instance_from_dict, instance_to_dict


@pytest.fixture(scope="module")
def doc():
    return instance_to_dict(generate("nyu", 6, 2, seed=3, window=0.05))


def assert_same_instance(a, b):
    assert a.tasks == b.tasks and a.model_names == b.model_names and a.name == b.name
    assert a.batching_window_s == b.batching_window_s
    for field in ("payload_mbit", "cloud_accuracy", "accuracy", "gflop", "cover", "memory_mb", "batch_tau0_s",
                  "batch_tau1_s", "max_batch", "edge_memory_mb", "edge_speed", "edge_backhaul_mbps",
                  "client_edge", "client_memory_mb", "client_gflops", "client_uplink_mbps", "rate"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


@pytest.mark.parametrize("family,window", [("nyu", None), ("taskonomy", 0.05), ("random", 0.1)])
def test_instance_round_trip(tmp_path, family, window):
    inst = generate(family, 7, 2, seed=11, window=window)
    path = tmp_path / "inst.json"
    save_instance(inst, path)
    assert_same_instance(inst, load_instance(path))
    assert not list(tmp_path.glob(".*tmp")), "temporary file left behind"


def test_solution_round_trip(tmp_path):
    inst = generate("nyu", 6, 2, seed=5, window=0.05)
    result = solve_mip(inst)
    path = tmp_path / "sol.json"
    save_solution(result, path)
    back = load_solution(path, inst)
    assert (back.method, back.status) == (result.method, result.status)
    assert back.objective == result.objective and back.upper_bound == result.upper_bound
    a, b = result.decision, back.decision
    np.testing.assert_array_equal(a.client_models, b.client_models)
    np.testing.assert_array_equal(a.edge_models, b.edge_models)
    np.testing.assert_array_equal(a.cloud, b.cloud)
    np.testing.assert_array_equal(a.drop, b.drop)
    for routes in ("local", "edge"):
        dense = lambda s: getattr(s, routes).to_dense(inst.n_clients, inst.n_tasks, inst.n_models)  # noqa: E731
        np.testing.assert_array_equal(dense(a), dense(b))


def test_example_of_formats_md_loads():
    """The placement-instance example printed in docs/formats.rst is a valid file."""
    example = {
        "format": "j3o-fast/placement-instance", "version": 1, "name": "optional free text",
        "tasks": ["segmentation", "depth", "normals"], "payload_mbit": [1.6, 1.6, 1.6],
        "cloud_accuracy": [0.62, 0.81, 0.74], "batching_window_s": None,
        "models": {"name": ["mbv2-seg", "r50-seg+depth+normals"],
                   "accuracy": [[0.41, None, None], [0.52, 0.74, 0.66]],
                   "gflop": [[1.1, None, None], [14.0, 14.0, 14.0]], "memory_mb": [14.0, 120.0],
                   "batch_tau0_s": [0.004, 0.011], "batch_tau1_s": [0.0006, 0.0031], "max_batch": [64, 32]},
        "edges": {"memory_mb": [8000.0], "speed": [1.0], "backhaul_mbps": [400.0]},
        "clients": {"edge": [0, 0], "memory_mb": [300.0, 150.0], "gflops": [60.0, 25.0],
                    "uplink_mbps": [40.0, 15.0], "rate": [[2.0, 1.0, 0.0], [0.5, 0.5, 3.0]]},
    }
    inst = instance_from_dict(example)
    assert inst.cover.tolist() == [[True, False, False], [True, True, True]]


def _set(path, value):
    """A mutation that sets doc[path] (dotted keys, integer indices) to value."""
    def mutate(d):
        keys = path.split(".")
        for k in keys[:-1]:
            d = d[int(k)] if k.isdigit() else d[k]
        last = keys[-1]
        d[int(last) if last.isdigit() else last] = value
    return mutate


def _delete(path):
    def mutate(d):
        keys = path.split(".")
        for k in keys[:-1]:
            d = d[k]
        del d[keys[-1]]
    return mutate


RULES = [
    # (id, mutation, expected error text)
    ("unknown-top-key", _set("colour", 1), "colour: unknown key"),
    ("unknown-nested-key", _set("models.colour", 1), "models.colour: unknown key"),
    ("missing-key", _delete("edges.speed"), "edges.speed: required key is missing"),
    ("wrong-format", _set("format", "j3o-fast/placement-solution"), "format: expected 'j3o-fast/placement-instance'"),
    ("newer-version", _set("version", 2), "version: version 2 is newer than this reader supports (1)"),
    ("no-tasks", _set("tasks", []), "tasks: must list at least one task"),
    ("no-models", _set("models.name", []), "models.name: must list at least one model"),
    ("no-edges", _set("edges.memory_mb", []), "edges.memory_mb: must be a non-empty array"),
    ("no-clients", _set("clients.edge", []), "clients.edge: must be a non-empty array"),
    ("per-task-length", _set("payload_mbit", [1.0]), "payload_mbit: must have 3 entries, got 1"),
    ("per-model-length", _set("models.memory_mb", [1.0]), "models.memory_mb: must have"),
    ("per-edge-length", _set("edges.speed", [1.0]), "edges.speed: must have 2 entries, got 1"),
    ("per-client-length", _set("clients.gflops", [1.0]), "clients.gflops: must have 6 entries, got 1"),
    ("rate-row-length", _set("clients.rate.2", [1.0, 2.0]), "clients.rate[2]: must have 3 entries, got 2"),
    ("string-for-number", _set("edges.speed.1", "fast"), "edges.speed[1]: must be a number, got 'fast'"),
    ("bool-for-number", _set("edges.speed.1", True), "edges.speed[1]: must be a number, got True"),
    ("accuracy-range", _set("models.accuracy.0.0", 1.2), "models.accuracy[0][0]: must be in [0, 1], got 1.2"),
    ("cloud-accuracy-range", _set("cloud_accuracy.1", -0.1), "cloud_accuracy[1]: must be in [0, 1], got -0.1"),
    ("null-mismatch", _set("models.gflop.0.0", None), "models.gflop[0][0]: must be null exactly where"),
    ("model-serves-nothing", lambda d: (d["models"]["accuracy"].__setitem__(0, [None] * 3),
                                        d["models"]["gflop"].__setitem__(0, [None] * 3)),
     "models.accuracy[0]: model serves no task"),
    ("model-memory", _set("models.memory_mb.3", 0.0), "models.memory_mb[3]: must be > 0, got 0.0"),
    ("gflop-positive", _set("models.gflop.0.0", -2.0), "models.gflop[0][0]: must be > 0, got -2.0"),
    ("payload-positive", _set("payload_mbit.2", 0), "payload_mbit[2]: must be > 0, got 0.0"),
    ("tau0-nonnegative", _set("models.batch_tau0_s.1", -0.001), "models.batch_tau0_s[1]: must be >= 0, got -0.001"),
    ("tau1-positive", _set("models.batch_tau1_s.1", 0.0), "models.batch_tau1_s[1]: must be > 0, got 0.0"),
    ("max-batch-integer", _set("models.max_batch.0", 2.5), "models.max_batch[0]: must be an integer, got 2.5"),
    ("max-batch-positive", _set("models.max_batch.0", 0), "models.max_batch[0]: must be >= 1, got 0"),
    ("edge-memory", _set("edges.memory_mb.0", -5.0), "edges.memory_mb[0]: must be > 0, got -5.0"),
    ("edge-speed", _set("edges.speed.0", 0.0), "edges.speed[0]: must be > 0, got 0.0"),
    ("backhaul", _set("edges.backhaul_mbps.1", -1), "edges.backhaul_mbps[1]: must be > 0, got -1.0"),
    ("client-memory", _set("clients.memory_mb.4", 0), "clients.memory_mb[4]: must be > 0, got 0.0"),
    ("client-gflops", _set("clients.gflops.4", -3), "clients.gflops[4]: must be > 0, got -3.0"),
    ("uplink", _set("clients.uplink_mbps.5", 0.0), "clients.uplink_mbps[5]: must be > 0, got 0.0"),
    ("rate-nonnegative", _set("clients.rate.5.2", -1), "clients.rate[5][2]: must be >= 0, got -1.0"),
    ("edge-index", _set("clients.edge.3", 2), "clients.edge[3]: must be an edge index in [0, 1], got 2"),
    ("edge-index-negative", _set("clients.edge.3", -1), "clients.edge[3]: must be an edge index in [0, 1], got -1"),
    ("window-positive", _set("batching_window_s", 0.0), "batching_window_s: must be > 0, got 0.0"),
    ("window-type", _set("batching_window_s", "soon"), "batching_window_s: must be a number, got 'soon'"),
    ("name-type", _set("name", 3), "name: must be a string, got 3"),
    ("task-name-type", _set("tasks.0", 3), "tasks[0]: must be a string, got 3"),
    ("section-type", _set("edges", [1, 2]), "edges: must be an object, got list"),
]


@pytest.mark.parametrize("mutate,expected", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_instance_rule(doc, mutate, expected):
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(InvalidInputError) as err:
        instance_from_dict(bad)
    assert expected in str(err.value)


@pytest.mark.parametrize("token,shown", [("NaN", "nan"), ("Infinity", "inf"), ("-Infinity", "-inf")])
def test_non_finite_numbers_in_file(tmp_path, doc, token, shown):
    doc = copy.deepcopy(doc)
    doc["edges"]["speed"][1] = "TOKEN"
    doc["models"]["accuracy"][2][0] = "TOKEN2"
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc).replace('"TOKEN"', token).replace('"TOKEN2"', "0.5"))
    with pytest.raises(InvalidInputError, match=rf"edges.speed\[1\]: must be finite, got {shown}"):
        load_instance(path)
    # in a nullable matrix a non-finite number is still refused, not taken for null
    path.write_text(json.dumps(doc).replace('"TOKEN"', "1.0").replace('"TOKEN2"', token))
    with pytest.raises(InvalidInputError, match=rf"models.accuracy\[2\]\[0\]: must be finite, got {shown}"):
        load_instance(path)


def test_truncated_file(tmp_path, doc):
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc)[:-40])
    with pytest.raises(InvalidInputError, match=r"invalid JSON at line 1 column \d+"):
        load_instance(path)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidInputError, match="file not found"):
        load_instance(tmp_path / "absent.json")


def test_top_level_not_object(tmp_path):
    path = tmp_path / "inst.json"
    path.write_text("[1, 2]")
    with pytest.raises(InvalidInputError, match="top level must be a JSON object, got list"):
        load_instance(path)


def test_failed_write_leaves_old_file_intact(tmp_path, doc):
    inst = instance_from_dict(doc)
    path = tmp_path / "inst.json"
    save_instance(inst, path)
    before = path.read_text()

    class Boom:  # not JSON-serialisable: the writer fails midway
        pass

    from j3o_fast._jsonfile import write_json_atomic

    with pytest.raises(TypeError):
        write_json_atomic({"a": [1, 2, Boom()]}, path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inst.json"]


# ---- solution files ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def solved():
    inst = generate("nyu", 6, 2, seed=5)
    from j3o_fast.placement.io import solution_to_dict

    return inst, solution_to_dict(solve_mip(inst))


SOLUTION_RULES = [
    ("unknown-key", _set("colour", 1), "colour: unknown key"),
    ("wrong-format", _set("format", "j3o-fast/placement-instance"), "format: expected 'j3o-fast/placement-solution'"),
    ("status", _set("status", "great"), "status: must be one of"),
    ("client-rows", _set("client_models", [[0]]), "client_models: must have 6 rows (one per node), got 1"),
    ("model-index", _set("edge_models.0", [99]), "edge_models[0][0]: must be a model index in [0, 27], got 99"),
    ("routing-key", _set("routing.fog", []), "routing.fog: unknown key"),
    ("row-width", _set("routing.cloud", [[0, 1]]), "routing.cloud[0]: must be a row of 3 numbers"),
    ("client-index", _set("routing.drop", [[6, 0, 1.0]]), "routing.drop[0][0]: must be a client index in [0, 5], got 6"),
    ("task-index", _set("routing.local", [[0, 3, 0, 1.0]]), "routing.local[0][1]: must be a task index in [0, 2], got 3"),
    ("fraction-type", _set("routing.edge", [[0, 0, 0, "all"]]), "routing.edge[0][3]: must be a number, got 'all'"),
    ("objective-type", _set("objective", None), "objective: must be a number, got None"),
]


@pytest.mark.parametrize("mutate,expected", [r[1:] for r in SOLUTION_RULES], ids=[r[0] for r in SOLUTION_RULES])
def test_solution_rule(solved, mutate, expected):
    from j3o_fast.placement.io import solution_from_dict

    inst, good = solved
    bad = copy.deepcopy(good)
    mutate(bad)
    with pytest.raises(InvalidInputError) as err:
        solution_from_dict(bad, inst)
    assert expected in str(err.value)
