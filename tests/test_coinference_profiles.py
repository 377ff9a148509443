"""Profiles and the seeded generator (docs/coinference.rst section 6)."""

import numpy as np
import pytest

from j3o_fast.coinference import MOBILENETV2, VGG16, generate
from j3o_fast.coinference.profiles import (DEFAULT_DEADLINE_S, INPUT_MBIT, edge_latency_table, path_loss_db,
                                           random_instance, shannon_rate_mbps)
from j3o_fast.errors import InvalidInputError


def test_block_tables():
    assert INPUT_MBIT == pytest.approx(4.817, abs=5e-4)
    assert VGG16.n_blocks == 6 and VGG16.total_gmac == pytest.approx(15.47, abs=0.01)
    assert MOBILENETV2.n_blocks == 10 and MOBILENETV2.total_gmac == pytest.approx(0.3007, abs=1e-4)
    assert VGG16.output_mbit.shape == (7,) and MOBILENETV2.output_mbit.shape == (11,)
    assert VGG16.output_mbit[-1] == MOBILENETV2.output_mbit[-1] == 0.032
    # VGG16 cuts after blocks 1-3 upload more than the raw input.
    assert (VGG16.output_mbit[1:4] > VGG16.output_mbit[0]).all() and (VGG16.output_mbit[4:] < VGG16.output_mbit[0]).all()
    assert not VGG16.gmac.flags.writeable


def test_channel_model_by_hand():
    assert path_loss_db(1000.0) == pytest.approx(128.1)
    assert path_loss_db(100.0) == pytest.approx(128.1 - 37.6)
    # 10 MHz, 0.2 W at 100 m: SNR = 0.2 * 10^-9.05 / (10^-20.4 * 1e7)
    snr = 0.2 * 10 ** (-9.05) / (10 ** (-20.4) * 1e7)
    assert shannon_rate_mbps(10e6, 0.2, 100.0) == pytest.approx(10 * np.log2(1 + snr))
    rates = shannon_rate_mbps(5e6, 0.1, np.array([50.0, 100.0, 200.0]))
    assert (np.diff(rates) < 0).all()


def test_generate_is_seeded_and_draws_in_range():
    a, b, c = generate("vgg16", 50, seed=7), generate("vgg16", 50, seed=7), generate("vgg16", 50, seed=8)
    np.testing.assert_array_equal(a.local_latency_s, b.local_latency_s)
    np.testing.assert_array_equal(a.deadline_s, b.deadline_s)
    assert not np.array_equal(a.uplink_mbps, c.uplink_mbps)
    speed = VGG16.gmac[None, :] / a.local_latency_s           # GMAC/s, one per user
    assert np.allclose(speed, speed[:, :1]) and (speed >= 10).all() and (speed <= 40).all()
    power = a.local_energy_j / a.local_latency_s
    assert (power >= 2).all() and (power <= 4).all()
    assert (a.tx_power_w >= 0.1).all() and (a.tx_power_w <= 0.2).all()
    lo, hi = shannon_rate_mbps(5e6, 0.1, 200.0), shannon_rate_mbps(10e6, 0.2, 50.0)
    assert (a.uplink_mbps >= lo).all() and (a.uplink_mbps <= hi).all()
    np.testing.assert_array_equal(a.output_mbit, VGG16.output_mbit)
    assert (a.release_s == 0).all() and a.constant_latency and a.max_batch is None


def test_generate_deadlines_alpha_and_cap():
    inst = generate("mobilenetv2", 400, deadline_s=0.04, deadline_spread=0.5, alpha=0.05, max_batch=16, seed=1)
    assert (inst.deadline_s >= 0.04).all() and (inst.deadline_s <= 0.06).all()
    assert inst.deadline_s.max() - inst.deadline_s.min() > 0.018          # spread over the range
    beta, alpha = edge_latency_table(MOBILENETV2, 0.05)
    np.testing.assert_allclose(inst.edge_beta_s, beta)
    np.testing.assert_allclose(inst.edge_alpha_s, 0.05 * inst.edge_beta_s)
    np.testing.assert_allclose(inst.edge_beta_s, 0.0005 + MOBILENETV2.gmac / 1000.0)
    assert inst.max_batch == 16 and not inst.constant_latency
    common = generate("vgg16", 20, deadline_spread=0.0, seed=2)
    assert (common.deadline_s == DEFAULT_DEADLINE_S["vgg16"]).all()


def test_default_deadlines_make_offloading_pay_and_bind():
    inst = generate("mobilenetv2", 2000, seed=0)
    N = inst.n_subtasks
    alone = inst.ready_time + inst.tail_s[None, 1:]
    alone[:, N] = inst.local_time[:, N]
    ok = alone <= inst.deadline_s[:, None]
    cheapest = np.argmin(inst.energy, axis=1)
    assert ok[np.arange(2000), cheapest].mean() < 0.2      # the deadline binds for most users
    assert not ok[:, 0].any()                              # nobody can upload the raw input in time
    best = np.where(ok, inst.energy, np.inf).min(axis=1)
    assert np.isfinite(best).all()
    assert 1 - best.sum() / inst.energy[:, N].sum() > 0.4  # yet offloading saves much energy
    vgg = generate("vgg16", 2000, seed=0)
    assert (np.argmin(vgg.energy, axis=1) == 0).all()      # raw upload is the cheapest cut
    local_ok = vgg.local_time[:, -1] <= vgg.deadline_s
    assert 0.05 < local_ok.mean() < 0.6


@pytest.mark.parametrize("args, kwargs, message", [
    (("resnet", 3), {}, r"^profile: must be one of vgg16, mobilenetv2, got 'resnet'$"),
    (("vgg16", 0), {}, r"^n_users: must be an integer >= 1, got 0$"),
    (("vgg16", 3), dict(deadline_s=0.0), r"^deadline_s: must be a finite number > 0, got 0.0$"),
    (("vgg16", 3), dict(deadline_spread=-0.1), r"^deadline_spread: must be a finite number >= 0, got -0.1$"),
    (("vgg16", 3), dict(alpha=float("nan")), r"^alpha: must be a finite number >= 0, got nan$"),
    (("vgg16", 3), dict(seed=-1), r"^seed: must be an integer >= 0, got -1$"),
    (("vgg16", 3), dict(max_batch=0), r"^max_batch: must be an integer >= 1 or null, got 0$"),
])
def test_generate_validation(args, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        generate(*args, **kwargs)


def test_random_instance():
    a = random_instance(3, 4, seed=1, alpha=True, max_batch=2, releases=True, common_deadline=True)
    b = random_instance(3, 4, seed=1, alpha=True, max_batch=2, releases=True, common_deadline=True)
    np.testing.assert_array_equal(a.local_energy_j, b.local_energy_j)
    assert (a.deadline_s == 0.12).all() and not a.constant_latency and a.max_batch == 2 and (a.release_s > 0).all()
    with pytest.raises(InvalidInputError, match=r"^n_subtasks: must be an integer >= 1, got 0$"):
        random_instance(2, 0)


def test_one_batch_latency_model_for_both_domains():
    """The same AffineBatchLatency gives the same batch latency as co-inference te[n](b) and as
    placement tau0 + tau1*b, and both generators take their tables from it."""
    from j3o_fast.batching import AffineBatchLatency, AffineFit, fit_affine, to_coinference_edge, to_placement_tau
    from j3o_fast.coinference.profiles import edge_latency_models

    models = [AffineBatchLatency(0.004, 0.0005, 32), AffineBatchLatency(0.002, 0.001, 16)]
    beta, alpha, cap = to_coinference_edge(models)
    tau0, tau1, caps = to_placement_tau(models)
    b = np.arange(1, 17)
    for n, m in enumerate(models):
        assert np.allclose(beta[n] + alpha[n] * b, m(b), rtol=1e-15)
        assert np.allclose(tau0[n] + tau1[n] * b, m(b), rtol=1e-15)
    assert cap == 16 and caps.tolist() == [32, 16]
    fit = fit_affine([1, 2, 4, 8], [0.0045, 0.005, 0.006, 0.008])
    assert isinstance(fit, AffineFit) and to_coinference_edge(fit)[0].tolist() == [fit.model.beta_s]

    inst = generate("mobilenetv2", 3, alpha=0.05, seed=2)
    beta, alpha, cap = to_coinference_edge(edge_latency_models(MOBILENETV2, 0.05))
    assert np.array_equal(inst.edge_beta_s, beta) and np.array_equal(inst.edge_alpha_s, alpha) and cap is None


@pytest.mark.parametrize("models, path", [([], "models"), ([0.1], "models[0]"),
                                          ("beta0", "models[0].beta_s")])
def test_to_coinference_edge_refuses_by_name(models, path):
    from j3o_fast.batching import AffineBatchLatency, to_coinference_edge

    if models == "beta0":
        models = [AffineBatchLatency(0.0, 0.001)]   # co-inference needs a fixed time per batch
    with pytest.raises(InvalidInputError) as info:
        to_coinference_edge(models)
    assert info.value.path == path
