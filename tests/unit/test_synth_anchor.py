"""Marginal anchoring towards the DP histogram release, the learning-rate schedules and larger DP batches."""

import numpy as np
import pandas as pd
import pytest
import torch
from opacus.accountants import PRVAccountant

from trust.data import infer_schema
from trust.errors import ConfigError
from trust.synth.anchor import MarginalAnchor
from trust.synth.dp_metadata import release_histograms
from trust.synth.model import CTABGANPlus, lr_at
from trust.synth.numeric import log_forward
from trust.synth.plan import plan_privacy
from trust.synth.transformer import DataTransformer


def _enc_schema(df):
    return infer_schema(df, target="label", categorical=["color", "label"], general=["age", "shifted"],
                        continuous=["bimodal", "income", "count"], mixed={"gain": [0.0]},
                        log=["income", "count", "shifted", "gain"], allow_missing=["gain", "color"],
                        categories={"color": ["blue", "green", "red"], "label": ["no", "yes"]})


def _fitted(df, schema, eps=1.0, seed=0):
    rel, _ = release_histograms(df, schema, eps, insecure_noise_seed=seed)
    tr = DataTransformer(random_state=0).fit(None, schema, histograms=rel)
    return rel, tr


@pytest.fixture(scope="module")
def categorical(make_table):
    df = make_table("encodings", 600)[["color", "label"]]
    schema = infer_schema(df, target="label", categorical=["color", "label"], allow_missing=["color"],
                          categories={"color": ["blue", "green", "red"], "label": ["no", "yes"]})
    rel, tr = _fitted(df, schema)
    return rel, tr, MarginalAnchor.from_release(rel, tr)


def _batch_with_marginals(tr, probs: dict[str, np.ndarray], n: int = 8) -> torch.Tensor:
    row = np.zeros(tr.output_dim_, dtype=np.float32)
    for col, p in probs.items():
        s = tr.column_spans(col)[0]
        row[s.start:s.end] = p
    return torch.as_tensor(np.tile(row, (n, 1)))


def test_anchor_loss_is_zero_when_the_batch_marginals_equal_the_released_histograms(categorical):
    rel, tr, anchor = categorical
    # independent: the released counts (negatives already 0), the missing bin last, normalised
    want = {}
    for col in ("color", "label"):
        h = rel.columns[col]
        c = np.append(h.counts, [h.missing_count] if h.missing_count is not None else [])
        want[col] = c / c.sum()
    assert anchor.loss(_batch_with_marginals(tr, want)).item() == pytest.approx(0.0, abs=1e-6)


def test_anchor_loss_is_the_total_variation_summed_over_columns_otherwise(categorical):
    rel, tr, anchor = categorical
    got = {"color": np.array([0.7, 0.1, 0.1, 0.1]), "label": np.array([0.2, 0.8])}
    expect = 0.0
    for col, p in got.items():
        h = rel.columns[col]
        c = np.append(h.counts, [h.missing_count] if h.missing_count is not None else [])
        expect += 0.5 * np.abs(p - c / c.sum()).sum()
    loss = anchor.loss(_batch_with_marginals(tr, got)).item()
    assert loss > 0.05 and loss == pytest.approx(expect, abs=1e-5)


def test_numeric_soft_marginals_match_an_independent_binning_of_the_decoded_rows(make_table):
    df = make_table("encodings", 2000)
    schema = _enc_schema(df)
    rel, tr = _fitted(df, schema, eps=100.0)
    anchor = MarginalAnchor.from_release(rel, tr, bins=16, bandwidth=0.01)   # nearly hard bins
    X = tr.transform(df)
    marg = dict(zip([c.column for c in anchor.columns], anchor.marginals(torch.as_tensor(X))))
    back = tr.inverse_transform(X)
    for col in ("bimodal", "income", "shifted", "gain"):
        h = rel.columns[col]
        x = back[col].to_numpy(float)
        masses = list(schema[col].point_masses) if schema[col].kind == "mixed" else []
        cont = ~np.isnan(x) & ~np.isin(x, masses)
        t = log_forward(np.clip(x[cont], h.lower, h.upper), h.lower) if h.log_bins else x[cont]
        edges = np.linspace(h.edges[0], h.edges[-1], 17)
        hist = np.histogram(np.clip(t, edges[0], edges[-1]), bins=edges)[0]
        fixed = [np.sum(x == m) for m in masses] + ([np.isnan(x).sum()] if schema[col].allow_missing else [])
        expect = np.concatenate([hist, fixed]) / len(x)
        assert 0.5 * np.abs(marg[col].numpy() - expect).sum() < 0.02, col


def test_anchor_targets_come_from_the_release_alone(make_table):
    df = make_table("encodings", 600)
    schema = _enc_schema(df)
    rel, tr = _fitted(df, schema)
    before = MarginalAnchor.from_release(rel, tr).targets
    df.loc[0, ["bimodal", "age"]] = [1e6, 99.0]           # a private row changes after the release
    df.loc[1, "color"] = "red"
    after = MarginalAnchor.from_release(rel, tr).targets
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    # a release that differs in one count moves that column's target (the target is the release's)
    rel.columns["color"].counts = rel.columns["color"].counts + np.array([50.0, 0.0, 0.0])
    moved = MarginalAnchor.from_release(rel, tr).targets
    i = [c.column for c in MarginalAnchor.from_release(rel, tr).columns].index("color")
    assert not np.array_equal(moved[i], before[i])


def test_anchor_refuses_a_transformer_fitted_on_raw_rows(make_table):
    df = make_table("encodings", 600)
    schema = _enc_schema(df)
    rel, _ = _fitted(df, schema)
    with pytest.raises(ConfigError, match="DP histogram release"):
        MarginalAnchor.from_release(rel, DataTransformer(random_state=0).fit(df, schema))


def _dp_schema(df):
    return infer_schema(df, target="y", categorical=["c", "y"], categories={"c": ["a", "b", "c"], "y": ["no", "yes"]},
                        bounds={"x": (-6.0, 8.0)}).as_declared()


@pytest.mark.parametrize("kwargs,match", [
    ({"marginal_weight": 1.0}, "marginal_weight=1 .*only a DP fit"),
    ({"marginal_weight": -1.0, "epsilon": 1.0}, "marginal_weight"),
    ({"critic_lr_schedule": "step"}, "critic_lr_schedule"),
    ({"generator_lr_schedule": "exp"}, "generator_lr_schedule"),
    ({"lr_final_fraction": 1.5}, "lr_final_fraction"),
    ({"n_generator": 0}, "n_generator"),
])
def test_bad_new_options_are_one_line_config_errors(kwargs, match, make_table):
    df = make_table("two_class", 300)
    with pytest.raises(ConfigError, match=match) as e:
        CTABGANPlus(epochs=1, verbose=False, **kwargs).fit(df, _dp_schema(df))
    assert "\n" not in str(e.value)


def test_learning_rate_schedules_decay_from_lr_to_the_final_fraction():
    assert lr_at("constant", 0.7, 2e-4, 0.1) == 2e-4
    for kind in ("linear", "cosine"):
        assert lr_at(kind, 0.0, 2e-4, 0.1) == pytest.approx(2e-4)
        assert lr_at(kind, 1.0, 2e-4, 0.1) == pytest.approx(2e-5)
        assert lr_at(kind, 0.5, 2e-4, 0.1) == pytest.approx(1.1e-4)     # both pass the midpoint at the mean
    assert lr_at("cosine", 0.25, 1.0, 0.0) > lr_at("linear", 0.25, 1.0, 0.0)


def test_a_larger_batch_raises_q_and_sigma_as_a_fresh_accountant_says():
    n_dp = 20000
    small = plan_privacy(CTABGANPlus(epochs=20, batch_size=500, epsilon=1.0, accountant="prv").privacy_settings(),
                         n_dp, True)
    large = plan_privacy(CTABGANPlus(epochs=20, batch_size=2000, epsilon=1.0, accountant="prv").privacy_settings(),
                         n_dp, True)
    assert large.critic.sample_rate == pytest.approx(2000 / n_dp) and large.critic.steps == 20 * 10
    assert small.critic.steps == 20 * 40
    for plan, eps in ((small, 1.0 * 0.5), (large, 1.0 * 0.5)):      # the critic's share: 1 - 0.2 - 0.3
        acc = PRVAccountant()
        acc.history = [(plan.critic.noise_multiplier, plan.critic.sample_rate, plan.critic.steps)]
        assert acc.get_epsilon(delta=1e-5 / 2) == pytest.approx(eps, rel=0.02)
    # fewer, noisier steps; less noise on the averaged gradient (sigma * C / B)
    assert large.critic.noise_multiplier > small.critic.noise_multiplier
    assert large.critic.noise_multiplier / 2000 < small.critic.noise_multiplier / 500


def test_same_seeds_give_identical_output_with_the_new_options_on(make_table):
    df = make_table("two_class", 400)
    kw = dict(epochs=1, batch_size=50, epsilon=4.0, delta=1e-4, generator_dims=(32,), critic_dims=(32,),
              aux_dims=(16,), aux_epochs=1, noise_dim=8, random_state=3, insecure_noise_seed=5, verbose=False,
              marginal_weight=2.0, n_generator=2, critic_lr_schedule="cosine", generator_lr_schedule="linear")
    a = CTABGANPlus(**kw).fit(df, _dp_schema(df))
    b = CTABGANPlus(**kw).fit(df, _dp_schema(df))
    pd.testing.assert_frame_equal(a.sample(50), b.sample(50))
    assert a.loss_history_ == b.loss_history_ and "marginal" in a.loss_history_[-1]


def test_the_critic_ledger_entry_says_anchoring_is_post_processing(make_table):
    df = make_table("two_class", 400)
    m = CTABGANPlus(epochs=1, batch_size=50, epsilon=4.0, delta=1e-4, generator_dims=(16,), critic_dims=(16,),
                    auxiliary=False, noise_dim=4, random_state=0, insecure_noise_seed=0, verbose=False,
                    marginal_weight=1.0).fit(df, _dp_schema(df))
    notes = m.ledger_.to_list()[-1]["notes"]
    assert "Marginal anchoring" in notes and "no extra budget" in notes
