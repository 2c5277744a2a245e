"""CTAB-GAN+ on a CUDA device: every network, sampling and the DP path (per-sample clipping, secret noise) on the
GPU, the accountant and the ledger as on the CPU. Skipped where no CUDA device is present."""

import numpy as np
import pandas as pd
import pytest
import torch

from trust.privacy.dpsgd import DPSGDPlan, make_dp_optimizer
from trust.privacy.noise import noise_source
from trust.synth.model import CTABGANPlus

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

from tests.unit._synth_tiny import SMALL, table as _table, declared_schema as _schema


def _fit(**kw):
    df = _table()
    return CTABGANPlus(**{**dict(epochs=2, batch_size=50, random_state=0), **SMALL, **kw}).fit(df, _schema(df))


def _valid_rows(syn, n):
    return (syn.shape == (n, 3) and np.isfinite(syn["x"]).all() and set(syn["c"]) <= {"a", "b", "c"}
            and set(syn["y"]) <= {"no", "yes"})


def test_a_non_dp_fit_on_cuda_keeps_the_networks_on_the_gpu_and_samples_valid_rows():
    m = _fit(device="cuda")
    assert all(p.is_cuda for p in m.generator_.parameters()) and all(p.is_cuda for p in m.critic_.parameters())
    assert _valid_rows(m.sample(60, random_state=1), 60)


def test_sampling_on_cuda_with_the_same_random_state_gives_the_same_rows():
    m = _fit(device="cuda", epochs=1)
    pd.testing.assert_frame_equal(m.sample(80, random_state=5), m.sample(80, random_state=5))


def test_a_bfloat16_fit_on_cuda_samples_valid_rows():
    m = _fit(device="cuda", matmul_dtype="bfloat16")
    assert _valid_rows(m.sample(60, random_state=1), 60)


def test_a_model_fitted_on_cuda_loads_on_the_cpu_and_samples(tmp_path):
    m = _fit(device="cuda")
    loaded = CTABGANPlus.load(m.save(tmp_path / "model"))
    assert not any(p.is_cuda for p in loaded.generator_.parameters())
    assert _valid_rows(loaded.sample(40, random_state=2), 40)


def test_a_fit_on_cuda_leaves_the_callers_cuda_generator_state_as_it_was():
    torch.cuda.manual_seed(123)
    before = torch.cuda.get_rng_state()
    _fit(device="cuda", epochs=1)
    assert torch.equal(torch.cuda.get_rng_state(), before)


@pytest.mark.parametrize("per_sample", ["ghost", "vmap"])
def test_a_dp_fit_on_cuda_has_the_same_ledger_as_on_the_cpu(per_sample):
    kw = dict(epochs=1, epsilon=4.0, delta=1e-4, insecure_noise_seed=3, per_sample=per_sample)
    cpu, gpu = _fit(device="cpu", **kw), _fit(device="cuda", **kw)
    assert next(gpu.generator_.parameters()).is_cuda
    assert gpu.ledger_.to_list() == cpu.ledger_.to_list()
    rep = gpu.privacy_report()
    assert rep["epsilon"] <= 4.0 * 1.01 and rep["steps"] == gpu.plan_.critic.steps
    assert _valid_rows(gpu.sample(30, random_state=0), 30)


def test_dp_noise_on_cuda_lands_on_the_gpu_with_the_planned_scale():
    plan = DPSGDPlan(noise_multiplier=2.0, sample_rate=0.1, steps=1, expected_batch_size=50, delta=1e-5,
                     accountant="rdp", max_grad_norm=0.5)
    draws = []
    for _ in range(2):
        net = torch.nn.Linear(200, 50).cuda()
        opt = make_dp_optimizer(torch.optim.SGD(net.parameters(), lr=0.0), plan, noise_source(0), "cuda")
        for p in net.parameters():
            p.summed_grad = torch.zeros_like(p)
        opt.add_noise()                                    # Opacus secure-mode noise on the zero sum
        draws.append(torch.cat([p.grad.reshape(-1) for p in net.parameters()]))
    assert draws[0].is_cuda
    assert abs(draws[0].std().item() - 2.0 * 0.5) < 0.05   # sigma * C, 10,050 draws
    assert torch.equal(draws[0], draws[1])                 # the insecure test seed reproduces it on the GPU


# ghost clipping on the GPU: tests/unit/test_synth_dp.py's ghost-clipping test, parametrised over the device
