"""DP-SGD for CTAB-GAN+: per-sample gradients (incl. the gradient penalty), clipping, accounting, budgets."""

import numpy as np
import pytest
import torch
from opacus.accountants import PRVAccountant, RDPAccountant
from opacus.optimizers import DPOptimizer

from trust.data import infer_schema
from trust.errors import ConfigError, PrivacyBudgetError
from trust.synth.model import CTABGANPlus
from trust.synth.networks import ConvCritic, MLPCritic
from trust.synth.sampler import CondSampler
from trust.privacy.dpsgd import dp_step, set_grad_samples
from trust.synth.trainer import critic_per_sample_grads, gradient_penalty


def _schema(df):
    return infer_schema(df, target="y", categorical=["c", "y"], categories={"c": ["a", "b", "c"], "y": ["no", "yes"]},
                        bounds={"x": (-6.0, 8.0)}).as_declared()


@pytest.mark.parametrize("critic", [MLPCritic(12, (16, 16), dropout=0.0), ConvCritic(12, base_channels=4)],
                         ids=["mlp", "conv"])
def test_per_sample_grads_match_a_loop_over_single_rows(critic):
    torch.manual_seed(0)
    critic = critic.double().eval()
    m = 5
    real, fake = torch.randn(m, 12, dtype=torch.double), torch.randn(m, 12, dtype=torch.double)
    alpha = torch.rand(m, 1, dtype=torch.double)
    got = critic_per_sample_grads(critic, real, fake, alpha, 10.0)
    for i in range(m):
        critic.zero_grad()
        loss = -critic(real[i:i + 1]).sum() + gradient_penalty(critic, real[i:i + 1], fake[i:i + 1], alpha[i:i + 1], 10.0)
        loss.backward()
        for name, p in critic.named_parameters():
            torch.testing.assert_close(got[name][i], p.grad, atol=1e-5, rtol=1e-5)
    # the penalty matters: without it the gradients differ
    no_gp = critic_per_sample_grads(critic, real, fake, alpha, 0.0)
    assert any((no_gp[k] - got[k]).abs().max() > 1e-3 for k in got)


def test_clipping_bounds_each_per_sample_norm_and_fake_term_is_added_after_noise():
    torch.manual_seed(1)
    critic = MLPCritic(6, (8,), dropout=0.0)
    real = 20 * torch.randn(7, 6)          # large inputs: per-sample norms far above the bound
    fake = torch.randn(7, 6)
    grads = critic_per_sample_grads(critic, real, fake, torch.rand(7, 1), 10.0)
    norms = torch.sqrt(sum(g.reshape(7, -1).pow(2).sum(1) for g in grads.values()))
    assert (norms > 1.0).sum() >= 5
    before = [p.detach().clone() for p in critic.parameters()]
    opt = DPOptimizer(torch.optim.SGD(critic.parameters(), lr=1.0), noise_multiplier=0.0, max_grad_norm=1.0,
                      expected_batch_size=4)
    set_grad_samples(critic, grads)
    extra = [torch.full_like(p, 0.25) for p in critic.parameters()]
    dp_step(opt, critic, extra)
    factors = torch.clamp(1.0 / (norms + 1e-6), max=1.0)
    clipped_norms = norms * factors
    assert (clipped_norms <= 1.0 + 1e-5).all()
    for (name, _), b, p, e in zip(critic.named_parameters(), before, critic.parameters(), extra):
        expected = b - (torch.einsum("i,i...", factors, grads[name]) / 4 + e)
        torch.testing.assert_close(p.detach(), expected, atol=1e-5, rtol=1e-5)


def test_dp_conditional_vectors_come_from_the_rows_themselves():
    X = np.zeros((6, 5), dtype=np.float32)
    cats_a = [0, 1, 1, 0, 1, 0]
    cats_b = [2, 0, 1, 2, 2, 1]
    X[np.arange(6), cats_a] = 1
    X[np.arange(6), 2 + np.array(cats_b)] = 1
    s = CondSampler([(0, 2), (2, 5)], [[1, 1], [1, 1, 1]], X)
    rows = np.array([5, 0, 3, 3, 2, 1, 4])
    u = np.array([0.1, 0.7, 0.2, 0.9, 0.5, 0.0, 0.99])
    cond, blocks, cats = s.cond_from_rows(rows, u)
    assert list(blocks) == [0, 1, 0, 1, 1, 0, 1]   # floor(u * 2): the row's own uniform picks its block
    for r, c, b, k in zip(rows, cond, blocks, cats):
        assert c.sum() == 1
        assert k == (cats_a[r] if b == 0 else cats_b[r])
        assert c[s.offsets[b] + k] == 1


def test_privacy_report_epsilon_matches_an_independent_accountant(make_table):
    df = make_table("two_class")
    m = CTABGANPlus(epochs=2, batch_size=50, epsilon=4.0, delta=1e-4, generator_dims=(32,), critic_dims=(32,),
                    aux_dims=(16,), aux_epochs=1, noise_dim=8, random_state=0, verbose=False).fit(df, _schema(df))
    rep = m.privacy_report()
    n_dp = m.plan_.n_dp   # the DP row count from the histogram release, never the exact 400
    assert rep["dp"] and rep["steps"] == 2 * round(n_dp / 50) and rep["sample_rate"] == pytest.approx(50 / n_dp)
    acc = RDPAccountant()
    acc.history = [(rep["noise_multiplier"], rep["sample_rate"], rep["steps"])]
    assert rep["critic_epsilon"] == pytest.approx(acc.get_epsilon(delta=rep["critic_delta"]), rel=0.01)
    kinds = [e["release"] for e in rep["entries"]]
    assert kinds == ["synth/transformer-histograms", "synth/ctabgan-auxiliary", "synth/ctabgan-critic"]
    assert rep["epsilon"] == pytest.approx(sum(e["epsilon"] for e in rep["entries"]))
    assert rep["epsilon"] <= 4.0 * 1.01 and rep["delta"] <= 1e-4
    assert len(rep["sentences"]) == 3 and all("differentially private" in s for s in rep["sentences"])


def test_explicit_noise_multiplier_with_prv_accountant(make_table):
    df = make_table("two_class", 300)
    m = CTABGANPlus(epochs=1, batch_size=30, noise_multiplier=1.5, accountant="prv", auxiliary=False,
                    generator_dims=(16,), critic_dims=(16,), noise_dim=4, random_state=0, verbose=False)
    rep = m.fit(df, _schema(df)).privacy_report()
    q, steps = 30 / m.plan_.n_dp, round(m.plan_.n_dp / 30)
    acc = PRVAccountant()
    acc.history = [(1.5, q, steps)]
    assert rep["steps"] == steps and rep["noise_multiplier"] == 1.5 and rep["sample_rate"] == pytest.approx(q)
    assert rep["critic_epsilon"] == pytest.approx(acc.get_epsilon(delta=rep["critic_delta"]), rel=0.01)


def test_unmeetable_budget_raises_before_any_training(make_table):
    df = make_table("two_class", 400)
    # delta tiny so that the delta check passes whatever DP row count the (very noisy) histograms give
    m = CTABGANPlus(epochs=200, batch_size=400, epsilon=1e-5, delta=1e-12, insecure_noise_seed=0, random_state=0,
                    verbose=False)
    with pytest.raises(PrivacyBudgetError, match="cannot be met"):
        m.fit(df, _schema(df))
    assert not hasattr(m, "transformer_") and not hasattr(m, "generator_") and not hasattr(m, "ledger_")


@pytest.mark.parametrize("kwargs,match", [
    ({"epsilon": 0.0}, "epsilon"), ({"epsilon": -1.0}, "epsilon"),
    ({"epsilon": 1.0, "delta": 0.01}, "below 1/n"),
    ({"epsilon": 1.0, "noise_multiplier": 1.0}, "not both"),
])
def test_bad_privacy_params_are_config_errors(kwargs, match, make_table):
    df = make_table("two_class", 400)
    with pytest.raises(ConfigError, match=match):
        CTABGANPlus(epochs=1, verbose=False, **kwargs).fit(df, _schema(df))


CUDA = pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"))


@pytest.mark.parametrize("device", ["cpu", CUDA])
@pytest.mark.parametrize("include_fake", [False, True], ids=["real-terms", "pair-loss"])
@pytest.mark.parametrize("dropout,train", [(0.5, False), (0.0, True)], ids=["eval-with-dropout-layers", "train"])
def test_ghost_clipping_equals_clipping_the_torch_func_per_sample_grads(dropout, train, include_fake, device):
    from trust.synth.trainer import mlp_critic_clipped_sum

    torch.manual_seed(2)
    critic = MLPCritic(10, (12, 8), dropout=dropout).double().train(train).to(device)
    m = 9
    real = 3 * torch.randn(m, 10, dtype=torch.double).to(device)
    fake = torch.randn(m, 10, dtype=torch.double).to(device)
    alpha = torch.rand(m, 1, dtype=torch.double).to(device)
    per = critic_per_sample_grads(critic, real, fake, alpha, 10.0, include_fake=include_fake)
    norms = torch.sqrt(sum(g.reshape(m, -1).pow(2).sum(1) for g in per.values()))
    summed, got_norms = mlp_critic_clipped_sum(critic, real, fake, alpha, 10.0, 1.0, include_fake=include_fake)
    torch.testing.assert_close(got_norms, norms, atol=1e-8, rtol=1e-8)
    factors = torch.clamp(1.0 / (norms + 1e-6), max=1.0)
    for name, g in per.items():
        torch.testing.assert_close(summed[name].reshape(g.shape[1:]), torch.einsum("i,i...", factors, g),
                                   atol=1e-8, rtol=1e-8)


def test_conv_architecture_trains_under_dp_with_the_torch_func_path(make_table):
    df = make_table("two_class", 300)
    m = CTABGANPlus(epochs=1, batch_size=50, epsilon=5.0, delta=1e-4, architecture="conv", conv_channels=4,
                    noise_dim=8, aux_epochs=1, aux_dims=(8,), random_state=0, verbose=False).fit(df, _schema(df))
    rep = m.privacy_report()
    assert rep["steps"] == round(m.plan_.n_dp / 50) and rep["epsilon"] <= 5.0 * 1.01
    assert m.sample(20).shape == (20, 3)
    with pytest.raises(ConfigError, match="ghost"):
        CTABGANPlus(architecture="conv", per_sample="ghost", epsilon=1.0).fit(df, _schema(df))
