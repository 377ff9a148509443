"""Online arrival traces: the frozen trace, its file format, the scenario generator and the CLI."""

import copy
import json
import math
import os

import numpy as np
import pytest

from j3o_fast.cli import main
from j3o_fast.coinference import CoInferenceInstance, generate
from j3o_fast.coinference.online import (TRACE_FORMAT, OnlineTrace, Scenario, device_seed, generate_trace,
                                         load_trace, rate_path, save_trace, trace_from_dict, trace_to_dict)
from j3o_fast.errors import InvalidInputError

EXAMPLE = {
    "format": "j3o-fast/online-trace",
    "version": 1,
    "name": "optional",
    "slot_s": 0.005,
    "n_slots": 1000,
    "deadline_max_s": 0.100,
    "subtasks": ["block1", "block2", "block3"],
    "output_mbit": [4.8, 25.7, 12.8, 0.03],
    "edge_beta_s": [0.004, 0.005, 0.001],
    "edge_alpha_s": [0.0, 0.0, 0.0],
    "max_batch": None,
    "devices": {
        "local_latency_s": [[0.05, 0.07, 0.01], [0.08, 0.11, 0.02]],
        "local_energy_j": [[0.15, 0.21, 0.03], [0.20, 0.28, 0.05]],
        "uplink_mbps": [20.0, 8.0],
        "tx_power_w": [0.2, 0.1],
    },
    "tasks": [[0, 0, 0.060], [1, 0, 0.045], [0, 17, 0.090]],
}

ARRAYS = ("output_mbit", "edge_beta_s", "edge_alpha_s", "local_latency_s", "local_energy_j", "uplink_mbps",
          "tx_power_w", "task_device", "task_slot", "task_deadline_s")


def _doc(**changes):
    """EXAMPLE with changes at ``a__b`` paths; the value ``...`` deletes the key."""
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


def _raises(doc, message):
    with pytest.raises(InvalidInputError, match=message):
        trace_from_dict(doc)


def _fields(**changes) -> dict:
    """Constructor arguments of the example trace, with changes."""
    d = EXAMPLE["devices"]
    kw = dict(subtasks=EXAMPLE["subtasks"], output_mbit=EXAMPLE["output_mbit"], edge_beta_s=EXAMPLE["edge_beta_s"],
              edge_alpha_s=EXAMPLE["edge_alpha_s"], local_latency_s=d["local_latency_s"],
              local_energy_j=d["local_energy_j"], uplink_mbps=d["uplink_mbps"], tx_power_w=d["tx_power_w"],
              slot_s=0.005, n_slots=1000, deadline_max_s=0.1, task_device=[0, 1, 0], task_slot=[0, 0, 17],
              task_deadline_s=[0.06, 0.045, 0.09])
    kw.update(changes)
    return kw


def _assert_same(a: OnlineTrace, b: OnlineTrace):
    for key in ARRAYS:
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
        assert getattr(a, key).dtype == getattr(b, key).dtype, key
    for key in ("subtasks", "slot_s", "n_slots", "deadline_max_s", "max_batch", "name"):
        assert getattr(a, key) == getattr(b, key), key


# ---- the frozen trace ----------------------------------------------------------------------------

def test_example_of_formats_md_loads():
    tr = trace_from_dict(copy.deepcopy(EXAMPLE))
    assert (tr.n_devices, tr.n_tasks, tr.n_subtasks, tr.name, tr.max_batch) == (2, 3, 3, "optional", None)
    assert (tr.slot_s, tr.n_slots, tr.deadline_max_s) == (0.005, 1000, 0.1)
    np.testing.assert_array_equal(tr.task_device, [0, 1, 0])
    np.testing.assert_array_equal(tr.task_slot, [0, 0, 17])
    np.testing.assert_array_equal(tr.task_deadline_s, [0.06, 0.045, 0.09])
    assert (tr.task_device.dtype, tr.task_slot.dtype, tr.task_deadline_s.dtype) == (np.int64, np.int64, np.float64)


def test_arrays_are_read_only_and_the_trace_frozen():
    tr = OnlineTrace(**_fields())
    for key in ARRAYS:
        arr = getattr(tr, key)
        assert not arr.flags.writeable and arr.flags.c_contiguous, key
        with pytest.raises(ValueError):
            arr[0] = 1
    with pytest.raises(AttributeError):
        tr.n_slots = 3


def test_devices_instance_carries_the_device_fields():
    tr = OnlineTrace(**_fields(max_batch=4))
    inst = tr.devices
    assert isinstance(inst, CoInferenceInstance) and inst is tr.devices      # computed once
    assert (inst.n_users, inst.n_subtasks, inst.max_batch) == (2, 3, 4)
    np.testing.assert_array_equal(inst.deadline_s, [0.1, 0.1])
    np.testing.assert_array_equal(inst.release_s, [0.0, 0.0])
    for key in ("output_mbit", "edge_beta_s", "edge_alpha_s", "local_latency_s", "local_energy_j", "uplink_mbps",
                "tx_power_w"):
        np.testing.assert_array_equal(getattr(inst, key), getattr(tr, key), err_msg=key)
    # E_0(0): upload the raw input, p*d[0]/r = 0.2*4.8/20.
    assert inst.energy[0, 0] == pytest.approx(0.048)


@pytest.mark.parametrize("changes, message", [
    (dict(slot_s=0.0), r"^slot_s: must be a finite number > 0, got 0.0$"),
    (dict(slot_s=math.nan), r"^slot_s: must be a finite number > 0, got nan$"),
    (dict(slot_s=True), r"^slot_s: must be a finite number > 0, got True$"),
    (dict(n_slots=0), r"^n_slots: must be an integer >= 1, got 0$"),
    (dict(n_slots=10.0), r"^n_slots: must be an integer >= 1, got 10.0$"),
    (dict(deadline_max_s=-0.1), r"^deadline_max_s: must be a finite number > 0, got -0.1$"),
    (dict(max_batch=0), r"^max_batch: must be an integer >= 1 or null, got 0$"),
    (dict(name=3), r"^name: must be a string, got 3$"),
    (dict(subtasks=[]), r"^subtasks: must list at least one sub-task, got \[\]$"),
    (dict(uplink_mbps=[20.0, 0.0]), r"^devices.uplink_mbps\[1\]: must be > 0, got 0.0$"),
    (dict(tx_power_w=[0.2, 0.1, 0.3]), r"^devices.tx_power_w: must have shape \(2,\), got \(3,\)$"),
    (dict(local_latency_s=[[0.05, 0.07, 0.01], [0.08, 0.0, 0.02]]),
     r"^devices.local_latency_s\[1\]\[1\]: must be > 0, got 0.0$"),
    (dict(edge_alpha_s=[0.0, -1.0, 0.0]), r"^edge_alpha_s\[1\]: must be >= 0, got -1.0$"),
    (dict(task_device=[0, 2, 0]), r"^tasks\[1\]\[0\]: must be a device index in \[0, 1\], got 2$"),
    (dict(task_device=[0, -1, 0]), r"^tasks\[1\]\[0\]: must be a device index in \[0, 1\], got -1$"),
    (dict(task_slot=[0, 0, 1000]), r"^tasks\[2\]\[1\]: must be a slot in \[0, 999\], got 1000$"),
    (dict(task_slot=[0, 0.5, 17]), r"^tasks\[1\]\[1\]: must be an integer, got 0.5$"),
    (dict(task_device=[0, True, 0]), r"^tasks\[1\]\[0\]: must be an integer, got True$"),
    (dict(task_deadline_s=[0.06, 0.0, 0.09]), r"^tasks\[1\]\[2\]: must be > 0, got 0.0$"),
    (dict(task_deadline_s=[0.06, 0.045, 0.11]), r"^tasks\[2\]\[2\]: must be <= deadline_max_s = 0.1, got 0.11$"),
    (dict(task_deadline_s=[0.06, math.inf, 0.09]), r"^tasks\[1\]\[2\]: must be finite, got inf$"),
    (dict(task_slot=[0, 0]), r"^tasks: column 1 must have shape \(3,\) like column 0, got \(2,\)$"),
    (dict(task_device=[1, 0, 0]), r"^tasks\[1\]: rows must be sorted by \(slot, device\), got \[0, 0, 0.045\] "
                                  r"after \[1, 0, 0.06\]$"),
    (dict(task_slot=[0, 17, 0]), r"^tasks\[2\]: rows must be sorted by \(slot, device\)"),
])
def test_construction_errors_name_the_field(changes, message):
    with pytest.raises(InvalidInputError, match=message):
        OnlineTrace(**_fields(**changes))


def test_equal_rows_and_an_empty_task_list_are_allowed():
    tr = OnlineTrace(**_fields(task_device=[1, 1, 1], task_slot=[5, 5, 5], task_deadline_s=[0.1, 0.01, 0.1]))
    assert tr.n_tasks == 3
    empty = OnlineTrace(**_fields(task_device=[], task_slot=[], task_deadline_s=[]))
    assert empty.n_tasks == 0 and empty.task_device.dtype == np.int64 and empty.task_deadline_s.dtype == np.float64


# ---- files ----------------------------------------------------------------------------------------

def test_round_trip_is_exact(tmp_path):
    tr = generate_trace(Scenario(n_devices=7, n_slots=300, alpha=0.05, max_batch=3), seed=11)
    assert tr.n_tasks > 0
    path = tmp_path / "trace.json"
    save_trace(tr, path)
    back = load_trace(path)
    _assert_same(back, tr)
    assert trace_to_dict(back) == trace_to_dict(tr)
    assert json.loads(path.read_text())["format"] == TRACE_FORMAT == "j3o-fast/online-trace"


def test_example_round_trips_through_a_file(tmp_path):
    save_trace(trace_from_dict(copy.deepcopy(EXAMPLE)), tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text()) == EXAMPLE


def test_optional_keys_and_empty_tasks():
    tr = trace_from_dict(_doc(name=..., max_batch=..., tasks=[]))
    assert tr.name == "" and tr.max_batch is None and tr.n_tasks == 0
    assert trace_from_dict(_doc(max_batch=5)).max_batch == 5


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "trace.json"
    save_trace(trace_from_dict(copy.deepcopy(EXAMPLE)), path)
    before = path.read_text()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(json, "dump", boom)
    with pytest.raises(RuntimeError):
        save_trace(generate_trace(Scenario(n_devices=2, n_slots=10), seed=0), path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["trace.json"]


@pytest.mark.parametrize("doc, message", [
    (_doc(format="j3o-fast/coinference-instance"),
     r"^format: expected 'j3o-fast/online-trace', got 'j3o-fast/coinference-instance'$"),
    (_doc(version=2), r"^version: version 2 is newer than this reader supports \(1\)$"),
    (_doc(colour="red"), r"^colour: unknown key$"),
    (_doc(devices__deadline_s=[0.1, 0.1]), r"^devices.deadline_s: unknown key$"),
    (_doc(users=EXAMPLE["devices"]), r"^users: unknown key$"),
    (_doc(tasks=...), r"^tasks: required key is missing$"),
    (_doc(slot_s=...), r"^slot_s: required key is missing$"),
    (_doc(devices__tx_power_w=...), r"^devices.tx_power_w: required key is missing$"),
    (_doc(devices__local_latency_s=[]), r"^devices.local_latency_s: must have at least one device row, got \[\]$"),
    (_doc(devices__uplink_mbps=[20.0]), r"^devices.uplink_mbps: must have 2 entries, got 1$"),
    (_doc(devices__uplink_mbps=[20.0, -8.0]), r"^devices.uplink_mbps\[1\]: must be > 0, got -8.0$"),
])
def test_header_keys_and_device_rules(doc, message):
    _raises(doc, message)


@pytest.mark.parametrize("changes, message", [
    (dict(slot_s=0), r"^slot_s: must be a finite number > 0, got 0.0$"),
    (dict(slot_s="5ms"), r"^slot_s: must be a number, got '5ms'$"),
    (dict(n_slots=0), r"^n_slots: must be an integer >= 1, got 0$"),
    (dict(n_slots=2.5), r"^n_slots: must be an integer, got 2.5$"),
    (dict(n_slots=True), r"^n_slots: must be an integer, got True$"),
    (dict(deadline_max_s=0.0), r"^deadline_max_s: must be a finite number > 0, got 0.0$"),
    (dict(max_batch=0), r"^max_batch: must be an integer >= 1 or null, got 0$"),
    (dict(max_batch=False), r"^max_batch: must be an integer, got False$"),
])
def test_scalar_rules(changes, message):
    _raises(_doc(**changes), message)


@pytest.mark.parametrize("tasks, message", [
    ({"device": 0}, r"^tasks: must be an array of \[device, slot, relative_deadline_s\] rows, got dict$"),
    ([[0, 0, 0.06], [1, 0]], r"^tasks\[1\]: must be \[device, slot, relative_deadline_s\], got \[1, 0\]$"),
    ([[0, 0, 0.06], "row"], r"^tasks\[1\]: must be \[device, slot, relative_deadline_s\], got 'row'$"),
    ([[0, 0, 0.06], [2, 0, 0.05]], r"^tasks\[1\]\[0\]: must be a device index in \[0, 1\], got 2$"),
    ([[-1, 0, 0.06]], r"^tasks\[0\]\[0\]: must be a device index in \[0, 1\], got -1$"),
    ([[0, 1000, 0.06]], r"^tasks\[0\]\[1\]: must be a slot in \[0, 999\], got 1000$"),
    ([[0, -3, 0.06]], r"^tasks\[0\]\[1\]: must be a slot in \[0, 999\], got -3$"),
    ([[0, 0, 0.06], [0, 2, 0.1000001]], r"^tasks\[1\]\[2\]: must be <= deadline_max_s = 0.1, got 0.1000001$"),
    ([[0, 0, 0.0]], r"^tasks\[0\]\[2\]: must be > 0, got 0.0$"),
    ([[0, 0, -0.01]], r"^tasks\[0\]\[2\]: must be > 0, got -0.01$"),
    ([[True, 0, 0.06]], r"^tasks\[0\]\[0\]: must be an integer, got True$"),
    ([[0, False, 0.06]], r"^tasks\[0\]\[1\]: must be an integer, got False$"),
    ([[0, 0, True]], r"^tasks\[0\]\[2\]: must be a number, got True$"),
    ([[0, 1.5, 0.06]], r"^tasks\[0\]\[1\]: must be an integer, got 1.5$"),
    ([[0, "3", 0.06]], r"^tasks\[0\]\[1\]: must be an integer, got '3'$"),
    ([[0, 10**30, 0.06]], r"^tasks\[0\]\[1\]: must be a 64-bit integer, got 10{30}$"),
    ([[1, 0, 0.06], [0, 0, 0.05]], r"^tasks\[1\]: rows must be sorted by \(slot, device\), got \[0, 0, 0.05\] "
                                   r"after \[1, 0, 0.06\]$"),
    ([[0, 5, 0.06], [1, 4, 0.05]], r"^tasks\[1\]: rows must be sorted by \(slot, device\)"),
])
def test_task_rows(tasks, message):
    _raises(_doc(tasks=tasks), message)


def test_whole_floats_read_as_integers_and_equal_rows_pass():
    tr = trace_from_dict(_doc(tasks=[[0.0, 3.0, 0.05], [1, 3, 0.05], [1, 3, 0.05]]))
    np.testing.assert_array_equal(tr.task_device, [0, 1, 1])
    np.testing.assert_array_equal(tr.task_slot, [3, 3, 3])
    assert tr.task_slot.dtype == np.int64


@pytest.mark.parametrize("token, shown", [("NaN", "nan"), ("Infinity", "inf"), ("-Infinity", "-inf")])
def test_non_finite_numbers_in_files_name_the_path(tmp_path, token, shown):
    text = json.dumps(EXAMPLE).replace("[1, 0, 0.045]", f"[1, 0, {token}]")
    assert token in text
    path = tmp_path / "trace.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=rf"^tasks\[1\]\[2\]: must be finite, got {shown}$"):
        load_trace(path)
    path.write_text(json.dumps(EXAMPLE).replace('"slot_s": 0.005', f'"slot_s": {token}'))
    with pytest.raises(InvalidInputError, match=rf"^slot_s: must be finite, got {shown}$"):
        load_trace(path)


# ---- scenarios ------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    (dict(profile="resnet"), r"^profile: must be one of vgg16, mobilenetv2, got 'resnet'$"),
    (dict(n_devices=0), r"^n_devices: must be an integer >= 1, got 0$"),
    (dict(n_devices=2.0), r"^n_devices: must be an integer >= 1, got 2.0$"),
    (dict(n_slots=True), r"^n_slots: must be an integer >= 1, got True$"),
    (dict(rate_hz=-1.0), r"^rate_hz: must be a finite number >= 0, got -1.0$"),
    (dict(rate_hz=250.0), r"^rate_hz: must be at most 1/slot_s = 200 Hz \(one task per device per slot\), got 250.0$"),
    (dict(rate_low_hz=5.0), r"^rate_high_hz: must be given with rate_low_hz \(a bursty rate needs both\), got None$"),
    (dict(rate_high_hz=50.0), r"^rate_low_hz: must be given with rate_high_hz"),
    (dict(rate_low_hz=50.0, rate_high_hz=5.0), r"^rate_high_hz: must be >= rate_low_hz = 50, got 5.0$"),
    (dict(rate_low_hz=5.0, rate_high_hz=300.0), r"^rate_high_hz: must be at most 1/slot_s = 200 Hz"),
    (dict(rate_low_hz=5.0, rate_high_hz=50.0, switch_prob=1.5), r"^switch_prob: must be in \[0, 1\], got 1.5$"),
    (dict(switch_prob=0.1), r"^switch_prob: applies only with rate_low_hz and rate_high_hz; must be 0 without them"),
    (dict(deadline_min_s=0.0), r"^deadline_min_s: must be a finite number > 0, got 0.0$"),
    (dict(deadline_min_s=0.05, deadline_max_s=0.04), r"^deadline_max_s: must be >= deadline_min_s = 0.05, got 0.04$"),
    (dict(deadline_max_s=math.inf), r"^deadline_max_s: must be a finite number > 0, got inf$"),
    (dict(slot_s=-0.005), r"^slot_s: must be a finite number > 0, got -0.005$"),
    (dict(alpha=-0.1), r"^alpha: must be a finite number >= 0, got -0.1$"),
    (dict(max_batch=0), r"^max_batch: must be an integer >= 1, got 0$"),
])
def test_scenario_errors_name_the_field(changes, message):
    with pytest.raises(InvalidInputError, match=message):
        Scenario(**changes)


def test_scenario_dict_round_trip_is_strict():
    sc = Scenario(profile="VGG16", n_devices=5, rate_low_hz=2, rate_high_hz=40.0, switch_prob=0.05, max_batch=4)
    assert sc.profile == "vgg16" and sc.rate_low_hz == 2.0 and isinstance(sc.rate_low_hz, float)
    d = sc.to_dict()
    assert json.loads(json.dumps(d)) == d and Scenario.from_dict(d) == sc
    assert Scenario.from_dict(Scenario().to_dict()) == Scenario()
    with pytest.raises(InvalidInputError, match=r"^rate: unknown key$"):
        Scenario.from_dict({**d, "rate": 3.0})
    with pytest.raises(InvalidInputError, match=r"^n_slots: required key is missing$"):
        Scenario.from_dict({k: val for k, val in d.items() if k != "n_slots"})
    with pytest.raises(InvalidInputError, match=r"^n_devices: must be an integer, got True$"):
        Scenario.from_dict({**d, "n_devices": True})
    assert Scenario.from_dict({**d, "n_slots": 400.0}).n_slots == 400


# ---- the generator --------------------------------------------------------------------------------

def test_same_seed_same_trace_and_different_seeds_differ():
    sc = Scenario(n_devices=6, n_slots=200)
    a, b, c = generate_trace(sc, seed=5), generate_trace(sc, seed=5), generate_trace(sc, seed=6)
    _assert_same(a, b)
    assert "seed=5" in a.name and "mobilenetv2" in a.name and "K=6" in a.name
    assert not np.array_equal(a.uplink_mbps, c.uplink_mbps)
    assert (a.n_tasks != c.n_tasks or not np.array_equal(a.task_slot, c.task_slot)
            or not np.array_equal(a.task_deadline_s, c.task_deadline_s))


def test_rows_sorted_and_deadlines_in_range():
    sc = Scenario(n_devices=9, n_slots=500, rate_hz=60.0, deadline_min_s=0.03, deadline_max_s=0.05)
    tr = generate_trace(sc, seed=2)
    key = tr.task_slot * tr.n_devices + tr.task_device
    assert (np.diff(key) > 0).all()                   # sorted, one task per device and slot at most
    assert (tr.task_deadline_s >= 0.03).all() and (tr.task_deadline_s <= 0.05).all()
    assert tr.deadline_max_s == 0.05 and tr.slot_s == sc.slot_s and tr.n_slots == 500
    # The deadlines fill their range, not a corner of it.
    assert tr.task_deadline_s.min() < 0.031 and tr.task_deadline_s.max() > 0.049
    fixed = generate_trace(Scenario(n_devices=3, n_slots=100, deadline_min_s=0.04, deadline_max_s=0.04), seed=1)
    assert (fixed.task_deadline_s == 0.04).all()


def test_empirical_arrival_rate_matches_lambda_delta():
    sc = Scenario(n_devices=20, n_slots=20_000, rate_hz=30.0, slot_s=0.005)
    tr = generate_trace(sc, seed=9)
    p, n = 30.0 * 0.005, 20 * 20_000
    se = math.sqrt(p * (1 - p) / n)
    assert abs(tr.n_tasks / n - p) < 4 * se
    # Every device sees the same rate.
    per_device = np.bincount(tr.task_device, minlength=20) / 20_000
    assert np.abs(per_device - p).max() < 5 * math.sqrt(p * (1 - p) / 20_000)


def test_zero_rate_gives_an_idle_episode():
    tr = generate_trace(Scenario(n_devices=4, n_slots=50, rate_hz=0.0), seed=0)
    assert tr.n_tasks == 0


def test_bursty_chain_switches_and_arrivals_follow_it():
    sc = Scenario(n_devices=20, n_slots=5000, rate_low_hz=4.0, rate_high_hz=100.0, switch_prob=0.02)
    lam = rate_path(sc, seed=4)
    assert lam[0] == 4.0 and set(np.unique(lam)) == {4.0, 100.0}
    switches = int((np.diff(lam) != 0).sum())
    assert abs(switches - 0.02 * 4999) < 4 * math.sqrt(0.02 * 0.98 * 4999)
    tr = generate_trace(sc, seed=4)
    high = lam[tr.task_slot] == 100.0
    slots_high = int((lam == 100.0).sum())
    rate_high = high.sum() / (20 * slots_high * sc.slot_s)
    rate_low = (~high).sum() / (20 * (5000 - slots_high) * sc.slot_s)
    assert 90.0 < rate_high < 110.0 and 2.0 < rate_low < 6.0
    assert "rate=4-100Hz switch=0.02" in tr.name


def test_bursty_without_switching_stays_low():
    sc = Scenario(n_devices=10, n_slots=2000, rate_low_hz=10.0, rate_high_hz=150.0, switch_prob=0.0)
    assert (rate_path(sc, seed=1) == 10.0).all()
    tr = generate_trace(sc, seed=1)
    n, p = 10 * 2000, 10.0 * sc.slot_s
    assert abs(tr.n_tasks / n - p) < 4 * math.sqrt(p * (1 - p) / n)
    # The constant-rate trace at the low rate is the same trace: same arrival and deadline draws.
    _same_tasks(tr, generate_trace(Scenario(n_devices=10, n_slots=2000, rate_hz=10.0), seed=1))


def _same_tasks(a, b):
    for key in ("task_device", "task_slot", "task_deadline_s"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)


def test_devices_equal_profiles_generate_with_the_child_seed():
    sc = Scenario(profile="vgg16", n_devices=8, n_slots=40, alpha=0.1, max_batch=3)
    tr = generate_trace(sc, seed=21)
    ref = generate("vgg16", 8, alpha=0.1, max_batch=3, seed=device_seed(21))
    inst = tr.devices
    for key in ("output_mbit", "edge_beta_s", "edge_alpha_s", "local_latency_s", "local_energy_j", "uplink_mbps",
                "tx_power_w"):
        np.testing.assert_array_equal(getattr(inst, key), getattr(ref, key), err_msg=key)
    np.testing.assert_array_equal(inst.energy, ref.energy)
    np.testing.assert_array_equal(inst.ready_time, ref.ready_time)
    np.testing.assert_array_equal(inst.tail_s, ref.tail_s)
    assert inst.subtasks == ref.subtasks and inst.max_batch == 3
    np.testing.assert_array_equal(inst.deadline_s, np.full(8, sc.deadline_max_s))


def test_episode_settings_do_not_change_the_devices_and_prefixes_are_kept():
    short = generate_trace(Scenario(n_devices=5, n_slots=100), seed=3)
    long = generate_trace(Scenario(n_devices=5, n_slots=300, deadline_min_s=0.02), seed=3)
    other_rate = generate_trace(Scenario(n_devices=5, n_slots=100, rate_hz=80.0), seed=3)
    for tr in (long, other_rate):
        np.testing.assert_array_equal(tr.local_latency_s, short.local_latency_s)
        np.testing.assert_array_equal(tr.uplink_mbps, short.uplink_mbps)
    prefix = long.task_slot < 100
    for key in ("task_device", "task_slot", "task_deadline_s"):
        np.testing.assert_array_equal(getattr(long, key)[prefix], getattr(short, key), err_msg=key)
    # A higher rate keeps every task of the lower one, with the same deadline.
    key_s = short.task_slot * 5 + short.task_device
    key_o = other_rate.task_slot * 5 + other_rate.task_device
    kept = np.isin(key_o, key_s)
    assert kept.sum() == short.n_tasks and other_rate.n_tasks > short.n_tasks
    np.testing.assert_array_equal(other_rate.task_deadline_s[kept], short.task_deadline_s)


@pytest.mark.parametrize("seed, message", [(-1, r"^seed: must be an integer >= 0, got -1$"),
                                           (1.5, r"^seed: must be an integer >= 0, got 1.5$")])
def test_generator_refuses_bad_seeds(seed, message):
    with pytest.raises(InvalidInputError, match=message):
        generate_trace(Scenario(n_devices=2, n_slots=5), seed=seed)
    with pytest.raises(InvalidInputError, match=r"^scenario: must be a Scenario, got dict$"):
        generate_trace(Scenario().to_dict(), seed=0)


# ---- command line ---------------------------------------------------------------------------------

def test_cli_generate_online_writes_the_seeded_trace(tmp_path, capsys):
    path = tmp_path / "trace.json"
    assert main(["generate", "online", "--profile", "vgg16", "--devices", "6", "--rate", "40", "--deadline-min",
                 "0.2", "--deadline-max", "0.5", "--slot", "0.01", "--slots", "150", "--alpha", "0.05",
                 "--max-batch", "4", "--seed", "7", "-o", str(path)]) == 0
    out = capsys.readouterr().out
    tr = load_trace(path)
    ref = generate_trace(Scenario(profile="vgg16", n_devices=6, rate_hz=40.0, deadline_min_s=0.2, deadline_max_s=0.5,
                                  slot_s=0.01, n_slots=150, alpha=0.05, max_batch=4), seed=7)
    assert trace_to_dict(tr) == trace_to_dict(ref)
    assert out.startswith(f"wrote {path}: ") and f"6 devices, {ref.n_tasks} tasks in 150 slots of 0.01 s" in out


def test_cli_generate_online_defaults_and_bursty(tmp_path, capsys):
    path = tmp_path / "t.json"
    assert main(["generate", "online", "-o", str(path)]) == 0
    assert trace_to_dict(load_trace(path)) == trace_to_dict(generate_trace(Scenario(), seed=0))
    assert main(["generate", "online", "--devices", "4", "--rate-low", "5", "--rate-high", "80", "--switch-prob",
                 "0.1", "--slots", "100", "--seed", "2", "-o", str(path)]) == 0
    ref = generate_trace(Scenario(n_devices=4, rate_low_hz=5.0, rate_high_hz=80.0, switch_prob=0.1, n_slots=100),
                         seed=2)
    assert trace_to_dict(load_trace(path)) == trace_to_dict(ref)


@pytest.mark.parametrize("args, message", [
    (["--rate", "500"], "j3o-fast: error: rate_hz: must be at most 1/slot_s = 200 Hz"),
    (["--rate", "10", "--rate-low", "5", "--rate-high", "50"],
     "j3o-fast: error: --rate: give either --rate or --rate-low/--rate-high, not both"),
    (["--rate-low", "5"], "j3o-fast: error: rate_high_hz: must be given with rate_low_hz"),
    (["--deadline-min", "0.1", "--deadline-max", "0.05"],
     "j3o-fast: error: deadline_max_s: must be >= deadline_min_s = 0.1, got 0.05"),
    (["--devices", "0"], "j3o-fast: error: --devices: must be an integer >= 1, got 0"),
    (["--seed", "-3"], "j3o-fast: error: --seed: must be an integer >= 0, got -3"),
])
def test_cli_bad_values_exit_2_with_the_field(tmp_path, capsys, args, message):
    path = tmp_path / "t.json"
    assert main(["generate", "online", *args, "-o", str(path)]) == 2
    assert capsys.readouterr().err.startswith(message)
    assert not path.exists()
