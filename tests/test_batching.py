"""Affine batch latency: the Numba kernel equals its twin, the model refuses bad sizes, fits recover truth."""

import warnings

import numpy as np
import pytest
from reference import affine_latency_reference

from j3o_fast._nb_batching import affine_latency
from j3o_fast.batching import (AffineBatchLatency, AffineFit, BadFitWarning, batch_latencies, fit_affine,
                               to_placement_tau)
from j3o_fast.errors import InvalidInputError


def _kernel(beta, alpha, cap, model, b):
    out = np.zeros(len(b))
    status = affine_latency(np.asarray(beta, dtype=np.float64), np.asarray(alpha, dtype=np.float64),
                            np.asarray(cap, dtype=np.int64), np.asarray(model, dtype=np.int64),
                            np.asarray(b, dtype=np.int64), out)
    return status, out


@pytest.mark.parametrize("seed", range(40))
def test_kernel_equals_twin_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    M = int(rng.integers(1, 6))
    n = int(rng.integers(0, 60))
    beta = rng.uniform(0, 0.02, M)
    alpha = rng.uniform(0, 0.005, M) * (rng.random(M) < 0.7)   # some constant-latency models
    cap = np.where(rng.random(M) < 0.3, 0, rng.integers(1, 40, M))  # 0: no cap
    model = rng.integers(0, M, n)
    b = rng.integers(1, 50, n)
    if seed % 4 == 0 and n:                      # a bad entry somewhere: out of cap, zero, bad model
        i = int(rng.integers(0, n))
        b[i] = [0, -3, 10**6][seed % 3]
    if seed % 7 == 0 and n:
        model[int(rng.integers(0, n))] = M
    status, out = _kernel(beta, alpha, cap, model, b)
    ref_status, ref_out = affine_latency_reference(beta, alpha, cap, model, b)
    assert status == ref_status
    stop = n if status < 0 else status
    np.testing.assert_array_equal(out[:stop], ref_out[:stop])


@pytest.mark.parametrize("case", [
    dict(beta=[0.1], alpha=[0.0], cap=[0], model=[], b=[]),                  # nothing to evaluate
    dict(beta=[0.1], alpha=[0.0], cap=[1], model=[0, 0], b=[1, 1]),          # cap 1: batches of one only
    dict(beta=[0.1], alpha=[0.0], cap=[1], model=[0, 0], b=[1, 2]),          # ... and 2 is refused
    dict(beta=[0.0], alpha=[0.5], cap=[3], model=[0, 0, 0], b=[3, 1, 2]),   # pure per-item cost
    dict(beta=[0.1, 0.2], alpha=[0.1, 0.0], cap=[0, 5], model=[1, 0], b=[5, 10**9]),  # uncapped huge batch
    dict(beta=[0.1], alpha=[0.1], cap=[0], model=[-1], b=[1]),              # negative model index
])
def test_kernel_equals_twin_on_edge_cases(case):
    status, out = _kernel(case["beta"], case["alpha"], case["cap"], case["model"], case["b"])
    ref_status, ref_out = affine_latency_reference(case["beta"], case["alpha"], case["cap"], case["model"], case["b"])
    assert status == ref_status
    np.testing.assert_array_equal(out[:len(case["b"]) if status < 0 else status],
                                  ref_out[:len(case["b"]) if status < 0 else status])


def test_model_evaluates_scalars_and_arrays():
    lat = AffineBatchLatency(beta_s=0.004, alpha_s=0.0005, max_batch=32)
    assert lat(1) == pytest.approx(0.0045)
    assert isinstance(lat(8), float)
    grid = lat(np.array([[1, 2], [4, 32]]))
    np.testing.assert_allclose(grid, 0.004 + 0.0005 * np.array([[1, 2], [4, 32]]))
    np.testing.assert_allclose(lat([2.0, 4.0]), [0.005, 0.006])       # whole floats are sizes
    np.testing.assert_allclose(lat.per_item_s([1, 4]), [0.0045, 0.0015])


def test_model_refuses_batches_beyond_the_cap_and_below_one():
    lat = AffineBatchLatency(0.004, 0.0005, max_batch=8)
    with pytest.raises(InvalidInputError, match=r"^b\[2\]: batch size must be >= 1 and <= max_batch = 8, got 9$"):
        lat([1, 8, 9])
    with pytest.raises(InvalidInputError, match=r"^b: batch size must be >= 1 and <= max_batch = 8, got 0$"):
        lat(0)
    with pytest.raises(InvalidInputError, match=r"^b\[1\]: must be a whole batch size, got 2.5$"):
        lat([1, 2.5])
    with pytest.raises(InvalidInputError, match="whole batch sizes"):
        lat("3")
    assert AffineBatchLatency(0.004, 0.0)(10**6) == 0.004      # no cap: any size


@pytest.mark.parametrize("kwargs, message", [
    (dict(beta_s=-0.1, alpha_s=0.0), r"^beta_s: must be >= 0, got -0.1$"),
    (dict(beta_s=0.1, alpha_s=float("nan")), r"^alpha_s: must be a finite number, got nan$"),
    (dict(beta_s=0.0, alpha_s=0.0), r"^beta_s: beta_s \+ alpha_s must be > 0"),
    (dict(beta_s=0.1, alpha_s=0.0, max_batch=0), r"^max_batch: must be an integer >= 1 or None, got 0$"),
    (dict(beta_s=0.1, alpha_s=0.0, max_batch=2.0), r"^max_batch: must be an integer >= 1 or None, got 2.0$"),
])
def test_model_validation(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        AffineBatchLatency(**kwargs)


def test_model_is_frozen():
    lat = AffineBatchLatency(0.1, 0.01)
    with pytest.raises(AttributeError):
        lat.beta_s = 0.2


def test_batch_latencies_of_several_models():
    models = [AffineBatchLatency(0.01, 0.001, 4), AffineBatchLatency(0.02, 0.0)]
    np.testing.assert_allclose(batch_latencies(models, [0, 1, 0], [4, 100, 1]), [0.014, 0.02, 0.011])
    with pytest.raises(InvalidInputError, match=r"^b\[0\]: batch size must be >= 1 and <= max_batch = 4 of model 0, got 5$"):
        batch_latencies(models, [0], [5])
    with pytest.raises(InvalidInputError, match=r"^model\[1\]: must be a model index in \[0, 1\], got 2$"):
        batch_latencies(models, [0, 2], [1, 1])


@pytest.mark.parametrize("seed", range(10))
def test_fit_recovers_known_beta_alpha(seed):
    rng = np.random.default_rng(seed)
    beta, alpha = rng.uniform(0.001, 0.02), rng.uniform(0.0001, 0.003)
    b = np.array([1, 2, 4, 8, 16, 32, 64])
    y = (beta + alpha * b) * (1 + rng.normal(0, 0.002, b.shape))   # 0.2% measurement noise
    fit = fit_affine(b, y)
    assert isinstance(fit, AffineFit)
    assert fit.model.beta_s == pytest.approx(beta, rel=0.05, abs=2e-4)
    assert fit.model.alpha_s == pytest.approx(alpha, rel=0.02)
    assert fit.r2 > 0.999 and fit.max_rel_residual < 0.01
    assert fit.model.max_batch == 64 and fit.n_points == 7
    np.testing.assert_allclose(fit.residuals_s, fit.model(b) - y)


def test_fit_is_exact_on_exact_data_and_honours_the_cap():
    fit = fit_affine([1, 3, 5], [0.012, 0.016, 0.020], max_batch=100)
    assert fit.model.beta_s == pytest.approx(0.010) and fit.model.alpha_s == pytest.approx(0.002)
    assert fit.r2 == pytest.approx(1.0) and fit.max_rel_residual < 1e-12
    assert fit.model.max_batch == 100


def test_fit_keeps_alpha_non_negative():
    # Noisy constant latency with a slightly falling trend: the unconstrained slope is negative.
    fit = fit_affine([1, 2, 4, 8], [0.0101, 0.0100, 0.0100, 0.0099])
    assert fit.model.alpha_s == 0.0
    assert fit.model.beta_s == pytest.approx(0.0100, rel=1e-9)
    assert fit.max_rel_residual < 0.02   # constant within noise: accepted although R^2 ~ 0


def test_bad_fit_raises_warns_or_is_ignored():
    b, y = [1, 2, 3, 4], [0.01, 0.03, 0.01, 0.03]
    with pytest.raises(InvalidInputError, match=r"^latencies: affine fit is poor: R\^2 = 0.2000"):
        fit_affine(b, y)
    with pytest.warns(BadFitWarning, match="affine fit is poor"):
        fit = fit_affine(b, y, on_bad_fit="warn")
    assert fit.r2 == pytest.approx(0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_affine(b, y, on_bad_fit="ignore")
    # A stricter residual bound turns an acceptable fit into a poor one.
    with pytest.raises(InvalidInputError, match="max relative residual"):
        fit_affine([1, 2, 4, 8], [0.0101, 0.0100, 0.0100, 0.0099], max_rel_residual=0.001)


@pytest.mark.parametrize("args, kwargs, message", [
    (([1, 1, 1], [0.1, 0.1, 0.1]), {}, r"^batch_sizes: needs at least two distinct batch sizes, got \[1\]$"),
    (([1, 2], [0.1]), {}, r"^latencies: must have the shape of batch_sizes \(2,\), got \(1,\)$"),
    (([1, 0], [0.1, 0.2]), {}, r"^batch_sizes\[1\]: must be >= 1, got 0$"),
    (([1, 2], [0.1, -0.2]), {}, r"^latencies\[1\]: must be finite and > 0, got -0.2$"),
    (([1, 2], [0.1, float("inf")]), {}, r"^latencies\[1\]: must be finite and > 0, got inf$"),
    (([1, 2.5], [0.1, 0.2]), {}, r"^batch_sizes\[1\]: must be a whole batch size, got 2.5$"),
    (([1, 2], [0.1, 0.2]), {"on_bad_fit": "loud"}, r"^on_bad_fit: must be one of raise, warn, ignore, got 'loud'$"),
])
def test_fit_input_validation(args, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        fit_affine(*args, **kwargs)


def test_to_placement_tau():
    fits = [fit_affine([1, 2, 4], [0.005, 0.006, 0.008]), AffineBatchLatency(0.002, 0.0003, 16)]
    tau0, tau1, cap = to_placement_tau(fits, speed=2.0)
    np.testing.assert_allclose(tau0, [0.008, 0.004])
    np.testing.assert_allclose(tau1, [0.002, 0.0006])
    assert cap.dtype == np.int64 and cap.tolist() == [4, 16]
    with pytest.raises(InvalidInputError, match=r"^models\[0\].alpha_s: placement needs tau1 > 0, got 0.0$"):
        to_placement_tau([AffineBatchLatency(0.01, 0.0, 8)])
    with pytest.raises(InvalidInputError, match=r"^models\[0\].max_batch: placement needs an integer batch cap"):
        to_placement_tau(AffineBatchLatency(0.01, 0.001))
    with pytest.raises(InvalidInputError, match=r"^speed: must be a finite number > 0, got 0$"):
        to_placement_tau(fits, speed=0)


def test_placement_tau_builds_a_valid_placement_instance():
    from j3o_fast.placement.instance import PlacementInstance

    tau0, tau1, cap = to_placement_tau([fit_affine([1, 2, 4, 8], [0.0045, 0.005, 0.006, 0.008])])
    inst = PlacementInstance(
        tasks=("seg",), payload_mbit=[1.6], cloud_accuracy=[0.6], model_names=("m0",), accuracy=[[0.5]],
        gflop=[[2.0]], memory_mb=[50.0], batch_tau0_s=tau0, batch_tau1_s=tau1, max_batch=cap,
        edge_memory_mb=[100.0], edge_speed=[1.0], edge_backhaul_mbps=[100.0], client_edge=[0],
        client_memory_mb=[60.0], client_gflops=[10.0], client_uplink_mbps=[20.0], rate=[[3.0]],
        batching_window_s=0.1)
    assert inst.max_batch.tolist() == [8]
    assert inst.batch_tau1_s[0] == pytest.approx(0.0005)
