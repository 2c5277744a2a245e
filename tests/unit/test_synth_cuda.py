"""CTAB-GAN+ on a CUDA device: every network, sampling and the DP path (per-sample clipping, secret noise) on the
GPU, the accountant and the ledger as on the CPU. Skipped where no CUDA device is present."""

import numpy as np
import pandas as pd
import pytest
import torch

from trust.data import infer_schema
from trust.privacy.dpsgd import DPSGDPlan, make_dp_optimizer
from trust.privacy.noise import noise_source
from trust.synth.model import CTABGANPlus
from trust.synth.networks import MLPCritic
from trust.synth.trainer import critic_per_sample_grads, mlp_critic_clipped_sum

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SMALL = dict(generator_dims=(16,), critic_dims=(16,), aux_dims=(8,), noise_dim=4, aux_epochs=1, verbose=False)


def _table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({"x": rng.normal(2.0 * y, 1.0),
                         "c": np.where(rng.random(n) < 0.8, np.where(y == 1, "a", "b"), "c"),
                         "y": np.where(y == 1, "yes", "no")})


def _schema(df):
    return infer_schema(df, target="y", categorical=["c", "y"], categories={"c": ["a", "b", "c"], "y": ["no", "yes"]},
                        bounds={"x": (-6.0, 8.0)}).as_declared()


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


def test_dp_noise_on_cuda_comes_from_a_cuda_generator_with_the_planned_scale():
    plan = DPSGDPlan(noise_multiplier=2.0, sample_rate=0.1, steps=1, expected_batch_size=50, delta=1e-5,
                     accountant="rdp", max_grad_norm=0.5)
    draws = []
    for _ in range(2):
        net = torch.nn.Linear(200, 50).cuda()
        opt = make_dp_optimizer(torch.optim.SGD(net.parameters(), lr=0.0), plan, noise_source(0), "cuda")
        assert opt.generator.device.type == "cuda"
        for p in net.parameters():
            p.summed_grad = torch.zeros_like(p)
        opt.add_noise()                                    # Opacus secure-mode noise on the zero sum
        draws.append(torch.cat([p.grad.reshape(-1) for p in net.parameters()]))
    assert draws[0].is_cuda
    assert abs(draws[0].std().item() - 2.0 * 0.5) < 0.05   # sigma * C, 10,050 draws
    assert torch.equal(draws[0], draws[1])                 # the insecure test seed reproduces it on the GPU


@pytest.mark.parametrize("include_fake", [False, True], ids=["real-terms", "pair-loss"])
def test_ghost_clipping_on_cuda_equals_clipping_the_torch_func_per_sample_grads(include_fake):
    torch.manual_seed(2)
    critic = MLPCritic(10, (12, 8), dropout=0.5).double().eval().cuda()
    m = 9
    real = 3 * torch.randn(m, 10, dtype=torch.double, device="cuda")
    fake = torch.randn(m, 10, dtype=torch.double, device="cuda")
    alpha = torch.rand(m, 1, dtype=torch.double, device="cuda")
    per = critic_per_sample_grads(critic, real, fake, alpha, 10.0, include_fake=include_fake)
    norms = torch.sqrt(sum(g.reshape(m, -1).pow(2).sum(1) for g in per.values()))
    summed, got_norms = mlp_critic_clipped_sum(critic, real, fake, alpha, 10.0, 1.0, include_fake=include_fake)
    torch.testing.assert_close(got_norms, norms, atol=1e-8, rtol=1e-8)
    factors = torch.clamp(1.0 / (norms + 1e-6), max=1.0)
    for name, g in per.items():
        torch.testing.assert_close(summed[name].reshape(g.shape[1:]), torch.einsum("i,i...", factors, g),
                                   atol=1e-8, rtol=1e-8)
