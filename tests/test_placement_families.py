"""Instance families: deterministic per seed, the right shapes, and constrained enough to be hard."""

from dataclasses import replace

import numpy as np
import pytest

from j3o_fast import InvalidInputError
from j3o_fast.placement import FAMILIES, generate, routing_usage, solve_mip
from j3o_fast.placement.io import instance_to_dict


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_instance(family):
    a = instance_to_dict(generate(family, 30, 3, seed=123, window=0.05))
    b = instance_to_dict(generate(family, 30, 3, seed=123, window=0.05))
    c = instance_to_dict(generate(family, 30, 3, seed=124, window=0.05))
    assert a == b
    assert a["clients"] != c["clients"]


def test_seed_sequence_accepted():
    ss = np.random.default_rng(0).bit_generator.seed_seq.spawn(2)
    a, b = (generate("nyu", 5, 1, seed=s) for s in ss)
    assert not np.array_equal(a.rate, b.rate)


@pytest.mark.parametrize("family,tasks,models", [("nyu", 3, 28), ("taskonomy", 5, 40), ("random", 3, 24)])
def test_shapes(family, tasks, models):
    inst = generate(family, 40, 4, seed=1)
    assert (inst.n_tasks, inst.n_models, inst.n_edges, inst.n_clients) == (tasks, models, 4, 40)
    assert inst.rate.shape == (40, tasks) and inst.accuracy.shape == (models, tasks)
    assert (inst.rate.sum(axis=1) > 0).all(), "every client asks for something"
    assert inst.cover.any(axis=0).all(), "every task has a model"
    # cloud models are more accurate than any library model
    assert (inst.cloud_accuracy > np.where(inst.cover, inst.accuracy, 0).max(axis=0)).all()
    # edges hold a few percent of the library
    assert (inst.edge_memory_mb <= 0.12 * inst.memory_mb.sum() + 1e-9).all()


def test_multitask_models_save_memory():
    inst = generate("nyu", 1, 1, seed=0)
    names = list(inst.model_names)
    shared = inst.memory_mb[names.index("r50-segm+dept+norm")]
    separate = sum(inst.memory_mb[names.index(n)] for n in ("r50-segm", "r50-dept", "r50-norm"))
    assert shared < 0.6 * separate


def test_random_family_parameters():
    inst = generate("random", 10, 2, seed=0, n_tasks=4, n_models=7, client_rate=(1.0, 1.0), window=0.1)
    assert (inst.n_tasks, inst.n_models, inst.batching_window_s) == (4, 7, 0.1)
    np.testing.assert_allclose(inst.rate.sum(axis=1)[inst.rate.sum(axis=1) > 0.999], 1.0, atol=1e-2)


@pytest.mark.parametrize("kwargs,message", [
    (dict(family="imagenet", n_clients=5), "family: must be one of nyu, taskonomy, random, got 'imagenet'"),
    (dict(family="nyu", n_clients=0), "n_clients: must be an integer >= 1, got 0"),
    (dict(family="nyu", n_clients=5, n_edges=0), "n_edges: must be an integer >= 1, got 0"),
    (dict(family="nyu", n_clients=5, window=-1.0), "window: must be > 0 seconds or None, got -1.0"),
    (dict(family="nyu", n_clients=5, n_models=3), "n_models: unknown parameter for family 'nyu'"),
    (dict(family="random", n_clients=5, uplink_mbps=(5.0, 1.0)), r"uplink_mbps: must be a range \(low, high\)"),
    (dict(family="random", n_clients=5, n_tasks=0), "n_tasks: must be an integer >= 1, got 0"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        generate(**kwargs)


def test_optimum_is_constrained():
    """Memory binds at clients and edges, and compute, uplink, backhaul or GPU time bind.

    Binding is measured on the exact optimum: lifting a memory limit must raise it; a capacity
    row is binding when the optimum uses it to the full.
    """
    client_memory, edge_memory, capacity, count = 0, 0, 0, 0
    for family in FAMILIES:
        for seed in range(6):
            inst = generate(family, 20, 1, seed=seed, window=0.05 if seed % 2 else None)
            opt = solve_mip(inst)
            usage = routing_usage(inst, opt.decision)
            more_client = solve_mip(replace(inst, client_memory_mb=inst.client_memory_mb * 100)).objective
            more_edge = solve_mip(replace(inst, edge_memory_mb=inst.edge_memory_mb * 100)).objective
            client_memory += more_client > opt.objective + 1e-6
            edge_memory += more_edge > opt.objective + 1e-6
            load = max(usage.compute.max(), usage.uplink.max(), usage.backhaul.max(), usage.gpu.max())
            capacity += load > 1 - 1e-6
            count += 1
    assert client_memory >= 0.6 * count, f"client memory binds in {client_memory}/{count}"
    assert edge_memory >= 0.25 * count, f"edge memory binds in {edge_memory}/{count}"
    assert capacity >= 0.9 * count, f"a capacity row binds in {capacity}/{count}"


@pytest.mark.parametrize("family", ["nyu", "taskonomy"])
def test_library_latency_is_the_shared_batch_model(family):
    """The library's tau0, tau1 and max_batch come from AffineBatchLatency models (batching.py)."""
    from j3o_fast.batching import AffineBatchLatency

    inst = generate(family, 5, 1, seed=0)
    for m in range(inst.n_models):
        model = AffineBatchLatency(float(inst.batch_tau0_s[m]), float(inst.batch_tau1_s[m]), int(inst.max_batch[m]))
        b = np.arange(1, model.max_batch + 1)
        assert np.array_equal(model(b), inst.batch_tau0_s[m] + inst.batch_tau1_s[m] * b)
