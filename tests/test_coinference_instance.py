"""The co-inference instance and plan: derived quantities against hand computation, validation, freezing."""

import numpy as np
import pytest

from j3o_fast.coinference import Batch, CoInferenceInstance, CoInferencePlan, make_result
from j3o_fast.errors import InvalidInputError


def _kwargs(**over):
    kw = dict(
        subtasks=("a", "b", "c"), output_mbit=[4.8, 25.7, 12.8, 0.03],
        edge_beta_s=[0.004, 0.005, 0.001], edge_alpha_s=[0.0, 0.001, 0.0],
        local_latency_s=[[0.05, 0.07, 0.01], [0.08, 0.11, 0.02]],
        local_energy_j=[[0.15, 0.21, 0.03], [0.20, 0.28, 0.05]],
        uplink_mbps=[20.0, 8.0], tx_power_w=[0.2, 0.1], deadline_s=[0.30, 0.45],
    )
    kw.update(over)
    return kw


def test_derived_quantities_by_hand():
    inst = CoInferenceInstance(**_kwargs(release_s=[0.0, 0.1], max_batch=4))
    assert (inst.n_users, inst.n_subtasks, inst.constant_latency, inst.batch_cap) == (2, 3, False, 2)
    np.testing.assert_allclose(inst.absolute_deadline, [0.30, 0.55])
    np.testing.assert_allclose(inst.local_time[1], [0.0, 0.08, 0.19, 0.21])
    np.testing.assert_allclose(inst.upload_time[0], [4.8 / 20, 25.7 / 20, 12.8 / 20, 0.0])
    np.testing.assert_allclose(inst.ready_time[1], [4.8 / 8, 0.08 + 25.7 / 8, 0.19 + 12.8 / 8, 0.21])
    np.testing.assert_allclose(inst.energy[0], [0.2 * 4.8 / 20, 0.15 + 0.2 * 25.7 / 20,
                                                0.36 + 0.2 * 12.8 / 20, 0.39])
    np.testing.assert_allclose(inst.tail_s, [0.010, 0.010, 0.006, 0.001, 0.0])
    assert inst.edge_latency(2, 3) == pytest.approx(0.008)
    np.testing.assert_allclose(inst.edge_latency(2, np.array([1, 4])), [0.006, 0.009])


def test_defaults_and_read_only_arrays():
    inst = CoInferenceInstance(**_kwargs())
    np.testing.assert_array_equal(inst.release_s, [0.0, 0.0])
    assert inst.max_batch is None and inst.name == "" and inst.batch_cap == 2
    for arr in (inst.output_mbit, inst.local_latency_s, inst.release_s, inst.energy, inst.tail_s, inst.ready_time):
        assert not arr.flags.writeable and arr.flags.c_contiguous and arr.dtype == np.float64
        with pytest.raises(ValueError):
            arr[0] = 1.0
    with pytest.raises(AttributeError):
        inst.max_batch = 3


def test_constructor_copies_its_inputs():
    tl = np.array([[0.05, 0.07, 0.01], [0.08, 0.11, 0.02]])
    inst = CoInferenceInstance(**_kwargs(local_latency_s=tl))
    tl[0, 0] = 99.0
    assert inst.local_latency_s[0, 0] == 0.05


@pytest.mark.parametrize("over, message", [
    (dict(deadline_s=[0.3, -1.0]), r"^users.deadline_s\[1\]: must be > 0, got -1.0$"),
    (dict(local_latency_s=[[0.05, 0.07, 0.01], [0.08, 0.0, 0.02]]), r"^users.local_latency_s\[1\]\[1\]: must be > 0, got 0.0$"),
    (dict(edge_alpha_s=[0.0, -0.1, 0.0]), r"^edge_alpha_s\[1\]: must be >= 0, got -0.1$"),
    (dict(release_s=[0.0, np.nan]), r"^users.release_s\[1\]: must be finite, got nan$"),
    (dict(output_mbit=[4.8, 1.0, 1.0]), r"^output_mbit: must have shape \(4,\), got \(3,\)$"),
    (dict(tx_power_w=[0.2]), r"^users.tx_power_w: must have shape \(2,\), got \(1,\)$"),
    (dict(subtasks=()), r"^subtasks: must list at least one sub-task, got \[\]$"),
    (dict(subtasks=("a", 2, "c")), r"^subtasks\[1\]: must be a string, got 2$"),
    (dict(uplink_mbps=[]), r"^users.uplink_mbps: must be a non-empty array"),
    (dict(max_batch=0), r"^max_batch: must be an integer >= 1 or null, got 0$"),
    (dict(max_batch=True), r"^max_batch: must be an integer >= 1 or null, got True$"),
    (dict(name=3), r"^name: must be a string, got 3$"),
])
def test_constructor_validation_names_the_json_path(over, message):
    with pytest.raises(InvalidInputError, match=message):
        CoInferenceInstance(**_kwargs(**over))


def test_edge_latency_refuses_bad_arguments():
    inst = CoInferenceInstance(**_kwargs(max_batch=4))
    with pytest.raises(InvalidInputError, match=r"^n: must be a sub-task in 1..3, got 0$"):
        inst.edge_latency(0, 1)
    with pytest.raises(InvalidInputError, match=r"^b: must be whole batch sizes >= 1, at most max_batch = 4, got 5$"):
        inst.edge_latency(1, [1, 5])
    with pytest.raises(InvalidInputError, match=r"got 0"):
        inst.edge_latency(1, 0)


def test_batch_normalises_and_validates():
    b = Batch(3, [4, 1], 2)
    assert b == Batch(3, (1, 4), 2.0) and b.size == 2 and isinstance(b.start_s, float)
    for args, message in [((0, (1,), 0.0), r"^subtask: must be a sub-task number >= 1, got 0$"),
                          ((1, (), 0.0), r"^users: a batch must hold at least one user, got \[\]$"),
                          ((1, (1, 1), 0.0), r"^users: must not repeat a user, got \[1, 1\]$"),
                          ((1, (-1,), 0.0), r"^users: must hold user indices >= 0, got -1$"),
                          ((1, (0,), float("inf")), r"^start_s: must be a finite number, got inf$")]:
        with pytest.raises(InvalidInputError, match=message):
            Batch(*args)


def test_plan_sorts_batches_and_checks_sizes():
    plan = CoInferencePlan(partition=[0, 3], batches=(Batch(2, (0,), 0.5), Batch(1, (0,), 0.1)),
                           energy_j=[0.1, 0.2], feasible=True)
    assert [b.subtask for b in plan.batches] == [1, 2]
    assert plan.total_energy_j == pytest.approx(0.3)
    assert plan.partition_histogram(3).tolist() == [1, 0, 0, 1]
    assert not plan.partition.flags.writeable
    with pytest.raises(InvalidInputError, match=r"^energy_j: must have shape \(2,\), got \(1,\)$"):
        CoInferencePlan(partition=[0, 3], batches=(), energy_j=[0.1], feasible=True)
    with pytest.raises(InvalidInputError, match=r"^partition\[1\]: must be >= 0, got -1$"):
        CoInferencePlan(partition=[0, -1], batches=(), energy_j=[0.1, 0.1], feasible=True)
    with pytest.raises(InvalidInputError, match=r"^infeasible_users: must hold user indices in \[0, 1\], got 2$"):
        CoInferencePlan(partition=[0, 3], batches=(), energy_j=[0.1, 0.1], feasible=False, infeasible_users=(2,))


def test_make_result_statuses():
    inst = CoInferenceInstance(**_kwargs())
    r = make_result(inst, "x", [3, 3], (), runtime_s=0.5, exact=True)
    assert (r.status, r.objective) == ("optimal", pytest.approx(inst.energy[:, 3].sum()))
    np.testing.assert_allclose(r.decision.energy_j, inst.energy[:, 3])
    assert make_result(inst, "x", [3, 3], (), runtime_s=0.0).status == "feasible"
    r = make_result(inst, "x", [3, 3], (), runtime_s=0.0, exact=True, infeasible_users=[1])
    assert r.status == "partial" and not r.decision.feasible and r.decision.infeasible_users == (1,)
