"""The membership tests of the unlearning certificate, each against an independent computation or a known case."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from trust.errors import DataError
from trust.unlearn.membership import (
    ShadowSet, cross_entropy, fit_shadows, likelihood_ratio, loss_attack, roc_figures, scaled_logit, training_like_rate,
)


@pytest.fixture(scope="module")
def model_and_rows():
    from trust.data import load_array_dataset
    from trust.models import NeuralClassifier

    torch.set_num_threads(1)
    ds = load_array_dataset("digits")
    m = NeuralClassifier("mlp", hidden=(32,), epochs=5, lr=3e-3, n_classes=10, random_state=0).fit(ds.X[:600], ds.y[:600])
    return m, ds.X[600:700], ds.y[600:700]


def test_scaled_logit_is_the_log_odds_of_the_true_class_probability(model_and_rows):
    m, X, y = model_and_rows
    p = m.predict_proba(X)[np.arange(len(y)), y].astype(np.float64)
    np.testing.assert_allclose(scaled_logit(m, X, y), np.log(p) - np.log1p(-p), rtol=1e-4, atol=1e-4)


def test_cross_entropy_is_minus_the_log_probability_of_the_label(model_and_rows):
    m, X, y = model_and_rows
    np.testing.assert_allclose(cross_entropy(m, X, y), -np.log(m.predict_proba(X)[np.arange(len(y)), y]), rtol=1e-6)


def test_loss_attack_has_full_advantage_on_separated_losses_and_none_on_identical_ones():
    rng = np.random.default_rng(0)
    assert loss_attack(rng.normal(0, 0.1, 200), rng.normal(5, 0.1, 200))["advantage"] > 0.45
    same = rng.normal(0, 1, 400)
    assert loss_attack(same[:200], same[200:])["advantage"] < 0.1


def test_loss_attack_balances_the_two_sides_by_subsampling():
    rng = np.random.default_rng(0)
    assert loss_attack(rng.normal(0, 1, 500), rng.normal(0, 1, 40))["n"] == 40.0


def test_loss_attack_needs_two_rows_a_side():
    with pytest.raises(DataError, match="at least 2 rows"):
        loss_attack([0.1], [0.2, 0.3])


def test_likelihood_ratio_is_the_difference_of_two_gaussian_log_densities():
    rng = np.random.default_rng(1)
    phi_in, phi_out, phi = rng.normal(2, 1, (6, 5)), rng.normal(0, 0.5, (6, 5)), rng.normal(1, 1, 5)
    expect = (stats.norm.logpdf(phi, np.median(phi_in, 0), phi_in.std(0))
              - stats.norm.logpdf(phi, np.median(phi_out, 0), phi_out.std(0)))
    np.testing.assert_allclose(likelihood_ratio(phi, phi_in, phi_out, fix_variance=False), expect, rtol=1e-10)


def test_with_a_fixed_variance_the_ratio_grows_with_the_confidence():
    rng = np.random.default_rng(2)
    phi_in, phi_out = rng.normal(3, 1, (4, 3)), rng.normal(0, 1, (4, 3))
    low, high = (likelihood_ratio(np.full(3, v), phi_in, phi_out) for v in (-50.0, 50.0))
    assert (high > low).all()


def _shadow_set(seed=0, n=60, k=4):
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 1, n)                          # per-row difficulty
    return ShadowSet(base + 2.0 + rng.normal(0, 0.3, (k, n)), base + rng.normal(0, 0.3, (k, n))), base, rng


def test_a_model_like_the_shadows_trained_with_the_rows_is_told_apart():
    sh, base, rng = _shadow_set()
    figs = sh.attack_phi(base + 2.0 + rng.normal(0, 0.3, len(base)))
    assert figs["auc"] > 0.95 and figs["tpr_at_low_fpr"] > 0.5


def test_a_model_like_the_retrained_shadows_is_not():
    aucs = []
    for seed in range(5):
        sh, base, rng = _shadow_set(seed)
        aucs.append(sh.attack_phi(base + rng.normal(0, 0.3, len(base)))["auc"])
    assert 0.35 < np.mean(aucs) < 0.65


def test_a_model_below_every_retrained_shadow_scores_an_auc_near_zero_and_a_negative_position():
    sh, base, rng = _shadow_set()
    figs = sh.attack_phi(base - 2.0 + rng.normal(0, 0.3, len(base)))
    assert figs["auc"] < 0.05 and figs["position"] == pytest.approx(-1.0, abs=0.2)


def test_the_position_is_zero_at_the_retrained_shadows_median_and_one_at_the_trained_ones():
    sh, _, _ = _shadow_set()
    mu_in, mu_out = np.median(sh.phi_in, axis=0), np.median(sh.phi_out, axis=0)
    assert sh.position(mu_out) == pytest.approx(0.0) and sh.position(mu_in) == pytest.approx(1.0)
    assert sh.position(0.5 * (mu_in + mu_out)) == pytest.approx(0.5)


def test_the_tests_power_is_the_auc_of_the_shadows_trained_with_the_rows():
    sh, _, _ = _shadow_set()
    assert sh.power()["auc"] > 0.95 and sh.n_shadows == 8


def test_roc_figures_of_separated_scores_are_perfect_and_need_both_sides():
    assert roc_figures([3, 4, 5], [0, 1, 2]) == {"auc": 1.0, "tpr_at_low_fpr": 1.0}
    with pytest.raises(DataError, match="held-out rows"):
        roc_figures([1.0], [])


def test_shadows_come_in_halves_with_and_without_the_rows_and_n_must_be_even(model_and_rows):
    m, X, y = model_and_rows
    from sklearn.base import clone

    make = (lambda s: clone(m).set_params(random_state=s, epochs=2))
    sh = fit_shadows(make, (X[:60], y[:60]), (X[60:], y[60:]), n_shadows=4)
    assert sh.phi_in.shape == sh.phi_out.shape == (2, 40)
    with pytest.raises(DataError, match="must be even"):
        fit_shadows(make, (X[:60], y[:60]), (X[60:], y[60:]), n_shadows=5)


def test_training_like_rate_calls_training_rows_so_more_often_than_held_out_rows():
    from trust.data import load_array_dataset
    from trust.models import NeuralClassifier

    ds = load_array_dataset("digits")
    member, other = (ds.X[:150], ds.y[:150]), (ds.X[1000:1300], ds.y[1000:1300])
    m = NeuralClassifier("mlp", hidden=(64,), epochs=60, lr=3e-3, n_classes=10, random_state=0).fit(*member)
    rates = training_like_rate(m, member, other, [member, other, (other[0][:0], other[1][:0])])
    assert rates[0] > rates[1] + 0.2 and np.isnan(rates[2])
