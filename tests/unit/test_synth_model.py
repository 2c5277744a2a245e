"""CTAB-GAN+ model: training-by-sampling, learning, conditional sampling, bad input, reproducibility, save/load."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from trust.data import infer_schema
from trust.errors import DataError
from trust.synth.model import CTABGANPlus
from trust.synth.networks import ConvCritic, ConvGenerator
from trust.synth.sampler import CondSampler

SMALL = dict(generator_dims=(64, 64), critic_dims=(64, 64), aux_dims=(32, 32), noise_dim=16, verbose=False)


def _xy(df):
    X = np.column_stack([df["x"].to_numpy(float), (df["c"] == "a").to_numpy(float), (df["c"] == "b").to_numpy(float)])
    return X, (df["y"] == "yes").to_numpy(int)


@pytest.fixture(scope="module")
def fitted(make_table):
    df = make_table("class_signal")
    # tiny data and few steps: a larger learning rate than the paper's 2e-4 (which needs ~10x more steps here)
    m = CTABGANPlus(epochs=15, batch_size=50, lr=1e-3, random_state=0, **SMALL).fit(df, target="y")
    return df, m


def test_training_by_sampling_draws_rows_of_the_requested_category():
    rng = np.random.default_rng(0)
    cats = rng.choice(3, size=500, p=[0.9, 0.09, 0.01])
    X = np.eye(3, dtype=np.float32)[cats]
    s = CondSampler([(0, 3)], [np.bincount(cats, minlength=3)], X)
    cond, blocks, got, rows = s.sample_train(20000, rng)
    assert (cats[rows] == got).all() and (cond.argmax(1) == got).all()
    freq = np.bincount(got, minlength=3) / len(got)
    logc = np.log(np.bincount(cats, minlength=3) + 1.0)
    np.testing.assert_allclose(freq, logc / logc.sum(), atol=0.015)   # log-frequency, not the true frequency
    _, _, gen = s.sample_generation(20000, rng)
    np.testing.assert_allclose(np.bincount(gen, minlength=3) / 20000, np.bincount(cats, minlength=3) / 500, atol=0.01)


def test_conv_networks_shapes():
    import torch

    g, d = ConvGenerator(20, 37, base_channels=4), ConvCritic(45, base_channels=4)
    out = g(torch.randn(3, 20))
    assert out.shape == (3, 37)
    assert d(torch.randn(3, 45)).shape == (3, 1) and d.features(torch.randn(3, 45)).shape[1] == d.feature_dim


def test_tiny_fit_learns_the_class_signal(fitted, make_table):
    df, m = fitted
    syn = m.sample(1500)
    assert list(syn.columns) == list(df.columns) and len(syn) == 1500
    assert set(syn["y"].unique()) <= {"yes", "no"} and syn["y"].nunique() == 2
    Xs, ys = _xy(syn)
    test = make_table("class_signal", 2000, seed=1)
    Xt, yt = _xy(test)
    auc = roc_auc_score(yt, LogisticRegression(max_iter=1000).fit(Xs, ys).predict_proba(Xt)[:, 1])
    Xr, yr = _xy(df)
    trtr = roc_auc_score(yt, LogisticRegression(max_iter=1000).fit(Xr, yr).predict_proba(Xt)[:, 1])
    assert 0.8 < auc <= trtr + 0.01, (auc, trtr)   # chance is 0.5; train-on-real is the ceiling
    hist = m.loss_history_
    assert len(hist) == 15 and {"critic", "generator", "cond", "info", "downstream"} <= set(hist[0])
    assert hist[-1]["cond"] < hist[0]["cond"]   # the generator learns to honour the conditional vector


def test_conditional_sampling_returns_only_the_requested_category(fitted):
    _, m = fitted
    out = m.sample(300, conditions={"c": "c"})
    assert len(out) == 300 and (out["c"] == "c").all()
    both = m.sample(50, conditions={"c": "a", "y": "yes"})
    assert len(both) == 50 and (both["c"] == "a").all() and (both["y"] == "yes").all()
    with pytest.raises(DataError, match="never had the category"):
        m.sample(10, conditions={"c": "zzz"})
    with pytest.raises(DataError, match="not categorical"):
        m.sample(10, conditions={"x": 1.0})


def test_same_seed_same_samples_and_save_load_round_trip(fitted, tmp_path):
    df, m = fitted
    a = m.sample(200, random_state=3)
    pd.testing.assert_frame_equal(a, m.sample(200, random_state=3))
    assert not a.equals(m.sample(200, random_state=4))
    m.save(tmp_path / "model")
    loaded = CTABGANPlus.load(tmp_path / "model")
    pd.testing.assert_frame_equal(a, loaded.sample(200, random_state=3))
    assert loaded.privacy_report()["dp"] is False
    m.save(tmp_path / "model")   # overwriting an existing model directory works
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_same_seed_same_model(make_table):
    df = make_table("class_signal", 300)
    kw = dict(epochs=2, batch_size=50, random_state=7, **SMALL)
    a = CTABGANPlus(**kw).fit(df, target="y").sample(100)
    b = CTABGANPlus(**kw).fit(df, target="y").sample(100)
    pd.testing.assert_frame_equal(a, b)


def test_bad_input_raises_data_errors(make_table):
    df = make_table("class_signal", 300)
    m = CTABGANPlus(epochs=1, **SMALL)
    with pytest.raises(DataError, match="target 'nope'"):
        m.fit(df, target="nope")
    schema = infer_schema(df, target="y")
    bad = df.copy()
    bad.loc[3, "x"] = np.nan
    with pytest.raises(DataError, match="column 'x' has 1 missing"):
        m.fit(bad, schema)
    const = df.assign(k=1.0)
    with pytest.raises(DataError, match="'k' is constant"):
        m.fit(const, target="y")
    with pytest.raises(DataError, match="'k' is constant"):
        m.fit(const, infer_schema(df.assign(k=[1.0, 2.0] * 150), target="y"))


def test_regression_target_uses_an_auxiliary_regressor(make_table):
    df = make_table("class_signal", 300)
    m = CTABGANPlus(epochs=1, batch_size=100, random_state=0, **SMALL).fit(df, target="x")
    assert m.schema_.problem_type == "regression" and "downstream" in m.loss_history_[0]
    assert m.sample(30)["x"].notna().all()


def test_output_layout_activates_every_span_and_scores_each_requested_block():
    import torch
    import torch.nn.functional as F
    from types import SimpleNamespace

    from trust.synth.trainer import OutputLayout

    spans = [SimpleNamespace(start=s, end=e, activation=a)
             for s, e, a in [(0, 1, "tanh"), (1, 4, "softmax"), (4, 5, "tanh"), (5, 7, "softmax"), (7, 12, "softmax")]]
    lay = OutputLayout(spans, [(1, 4), (7, 12)])
    torch.manual_seed(0)
    raw = (3 * torch.randn(64, 12)).requires_grad_(True)
    out = lay.activate(raw, tau=0.2)
    torch.testing.assert_close(out[:, [0, 4]], torch.tanh(raw[:, [0, 4]]))
    for s, e in [(1, 4), (5, 7), (7, 12)]:
        torch.testing.assert_close(out[:, s:e].sum(1), torch.ones(64))
        assert (out[:, s:e] >= 0).all()
    out.sum().backward()   # differentiable through the padded grid (no NaN from the -inf padding)
    assert torch.isfinite(raw.grad).all()
    blocks, cats = np.array([0, 1, 1, 0]), np.array([2, 4, 0, 1])
    want = torch.stack([F.cross_entropy(raw[i:i + 1, s:e], torch.tensor([c]))
                        for i, (b, c) in enumerate(zip(blocks, cats)) for s, e in [[(1, 4), (7, 12)][b]]]).mean()
    torch.testing.assert_close(lay.cond_loss(raw[:4], blocks, cats), want)


def test_dropout_masks_are_bernoulli_with_the_inverted_scale():
    import torch

    from trust.synth.networks import scaled_keep_mask

    torch.manual_seed(0)
    x = torch.empty(400, 257)
    for p in (0.5, 0.3):
        m = scaled_keep_mask(x, p).float()
        vals = m.unique().tolist()
        assert len(vals) == 2 and vals[0] == 0.0 and vals[1] == pytest.approx(1 / (1 - p))
        assert abs((m > 0).float().mean().item() - (1 - p)) < 0.01 and m.shape == x.shape


def test_packed_critic_scores_packs_and_penalises_per_pack(make_table):
    import torch

    from trust.errors import ConfigError
    from trust.synth.networks import MLPCritic
    from trust.synth.trainer import gradient_penalty

    torch.manual_seed(0)
    d = MLPCritic(5, (8,), dropout=0.0, pac=3).double()
    real, fake = torch.randn(6, 5, dtype=torch.double), torch.randn(6, 5, dtype=torch.double)
    assert d(real).shape == (2, 1)
    torch.testing.assert_close(d(real)[1], d.out(d.body(real[3:].reshape(1, 15)))[0])
    alpha = torch.rand(2, 1, dtype=torch.double).repeat_interleave(3, dim=0)
    xhat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    g, = torch.autograd.grad(d(xhat).sum(), xhat)
    want = 10 * ((g.reshape(2, 15).norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(gradient_penalty(d, real, fake, alpha, 10.0), want)
    df = make_table("class_signal", 300)
    with pytest.raises(ConfigError, match="pac=10"):
        CTABGANPlus(epochs=1, epsilon=1.0, pac=10, **SMALL).fit(df, target="y")
    m = CTABGANPlus(epochs=2, batch_size=60, pac=10, random_state=0, **SMALL).fit(df, target="y")
    assert m.critic_.pac == 10 and m.sample(30).shape == (30, 4)


def test_generator_ema_samples_from_averaged_weights_with_matching_batchnorm_statistics(make_table):
    import torch

    from trust.errors import ConfigError
    from trust.synth.training import refresh_batchnorm

    df = make_table("class_signal", 400)
    kw = dict(epochs=3, batch_size=50, lr=1e-3, random_state=0, **SMALL)
    last = CTABGANPlus(generator_ema=None, **kw).fit(df, target="y")
    avg = CTABGANPlus(generator_ema=0.9, **kw).fit(df, target="y")
    w_last, w_avg = last.generator_.state_dict(), avg.generator_.state_dict()
    assert any(not torch.equal(w_last[k], w_avg[k]) for k in w_last if "weight" in k)
    # the BatchNorm statistics are recomputed for the averaged weights: they match a fresh forward pass
    g = avg.generator_
    first = g.net[0]
    first.bn.running_mean.fill_(5.0)
    first.bn.running_var.fill_(9.0)
    refresh_batchnorm(g, avg.sampler_, 50, avg.noise_dim, np.random.default_rng(0))
    g.eval()
    cond = torch.as_tensor(avg.sampler_.sample_generation(4000, np.random.default_rng(1))[0])
    with torch.no_grad():
        pre = first.fc(torch.cat([torch.randn(4000, avg.noise_dim), cond], dim=1))
    # (20 refresh batches of 50 rows: the mean's standard error is std / sqrt(1000) ~ 0.03 std)
    assert ((first.bn.running_mean - pre.mean(0)).abs() <= 0.15 * pre.std(0) + 1e-4).all()
    assert ((first.bn.running_var.sqrt() - pre.std(0)).abs() <= 0.15 * pre.std(0) + 1e-4).all()
    assert avg.sample(50).shape == (50, 4)
    for bad in (1.0, 0.0, -0.5, 2):
        with pytest.raises(ConfigError, match="generator_ema"):
            CTABGANPlus(generator_ema=bad, **kw).fit(df, target="y")
