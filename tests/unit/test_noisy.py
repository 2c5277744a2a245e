"""trust.noisy: distribution recovery, sampling, confident learning, RCAL's estimator and the protocol."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from trust.errors import ConfigError, DataError
from trust.noisy.baselines import NoisyLabelBaseline, find_label_issues
from trust.noisy.contrastive import nt_xent
from trust.noisy.protocol import class_groups, noisy_long_tail
from trust.noisy.recovery import RecoveryWarning, lof_inliers, recover_class_distributions

K, D = 4, 5


def _gaussian_classes(n_per_class=(200, 120, 40, 12), noise=0.4, seed=0):
    """Well-separated Gaussian classes with known means, and labels flipped symmetrically at ``noise``."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 4, size=(K, D))
    y = np.repeat(np.arange(K), n_per_class)
    Z = means[y] + rng.normal(0, 1, size=(len(y), D))
    flip = rng.random(len(y)) < noise
    y_noisy = y.copy()
    y_noisy[flip] = (y[flip] + rng.integers(1, K, flip.sum())) % K
    return Z, y, y_noisy, means


def test_recovered_means_are_closer_to_the_truth_than_the_noisy_label_means():
    # 20 % symmetric noise: each class's wrong rows come from three other clusters, fewer than LOF's 20 neighbours
    Z, _, y_noisy, means = _gaussian_classes(n_per_class=(200, 150, 100, 60), noise=0.2)
    naive = np.stack([Z[y_noisy == c].mean(0) for c in range(K)])
    rec = recover_class_distributions(Z, y_noisy, n_borrow=0)
    err_naive = np.linalg.norm(naive - means, axis=1).mean()
    err_rec = np.linalg.norm(rec.means - means, axis=1).mean()
    assert err_rec < 0.85 * err_naive


def test_lof_removes_planted_outliers():
    rng = np.random.default_rng(1)
    Z = np.concatenate([rng.normal(0, 1, (100, 3)), rng.normal(12, 0.5, (5, 3))])
    keep = lof_inliers(Z, n_neighbors=20)
    assert not keep[100:].any() and keep[:100].mean() > 0.9


def test_sampling_returns_the_requested_count_per_class():
    Z, y, _, _ = _gaussian_classes(noise=0.0)
    rec = recover_class_distributions(Z, y)
    Zs, ys = rec.sample([3, 0, 7, 11], random_state=0)
    assert np.bincount(ys, minlength=K).tolist() == [3, 0, 7, 11] and Zs.shape == (21, D)


def test_balance_sampling_tops_every_class_up_to_the_largest():
    Z, y, _, _ = _gaussian_classes(noise=0.0)
    rec = recover_class_distributions(Z, y, contamination=None)
    _, ys = rec.sample("balance", random_state=0)
    assert (np.bincount(ys, minlength=K) + rec.counts).tolist() == [200] * K


def test_samples_follow_the_recovered_gaussian():
    Z, y, _, _ = _gaussian_classes(noise=0.0)
    rec = recover_class_distributions(Z, y, contamination=None, n_borrow=0)
    Zs, _ = rec.sample([5000, 0, 0, 0], random_state=0)
    assert np.abs(Zs.mean(0) - rec.means[0]).max() < 0.1
    assert np.abs(np.cov(Zs, rowvar=False) - rec.covariances[0]).max() < 0.15


def test_tail_class_covariance_averages_its_own_with_its_nearest_head_classes():
    Z, y, _, _ = _gaussian_classes(noise=0.0)
    own = recover_class_distributions(Z, y, contamination=None, n_borrow=0)
    rec = recover_class_distributions(Z, y, contamination=None, n_borrow=1)
    tail = int(np.argmin(own.counts))
    (h,) = rec.borrowed_from[tail]
    assert rec.head[h] and not rec.head[tail]
    np.testing.assert_allclose(rec.covariances[tail], (own.covariances[tail] + own.covariances[h]) / 2)
    np.testing.assert_allclose(rec.means[tail], own.means[tail])


def test_a_class_too_small_for_a_covariance_falls_back_with_a_warning():
    Z, y, _, _ = _gaussian_classes(n_per_class=(50, 50, 50, 1), noise=0.0)
    with pytest.warns(RecoveryWarning, match="class 3 kept 1 row"):
        rec = recover_class_distributions(Z, y, contamination=None)
    assert rec.fallbacks == [3] and np.linalg.eigvalsh(rec.covariances[3]).min() > 0


def test_recovery_refuses_mismatched_lengths_and_labels_out_of_range():
    Z, y, _, _ = _gaussian_classes(noise=0.0)
    with pytest.raises(DataError, match="labels but X has"):
        recover_class_distributions(Z, y[:-1])
    with pytest.raises(DataError, match="holds label 3 but the model knows 3 classes"):
        recover_class_distributions(Z, y, n_classes=3)


def test_noise_rate_must_lie_in_zero_to_one_excluded():
    y = np.repeat(np.arange(3), 20)
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match="noise_rate"):
            noisy_long_tail(y, imbalance_ratio=2, noise_rate=bad)


def test_noisy_long_tail_has_the_imbalance_and_the_noise_asked_for():
    y = np.repeat(np.arange(5), 200)
    ns = noisy_long_tail(y, imbalance_ratio=10, noise_rate=0.2, random_state=0)
    assert ns.counts[0] / ns.counts[-1] == pytest.approx(10, rel=0.01)
    assert ns.noisy_share == pytest.approx(0.2, abs=0.01)


def test_class_groups_split_ten_classes_three_four_three_by_size():
    g = class_groups([100, 80, 60, 50, 40, 30, 20, 15, 12, 10])
    assert [g["head"].tolist(), g["medium"].tolist(), g["tail"].tolist()] == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9]]


def test_confident_learning_flags_the_rows_whose_probabilities_contradict_their_label():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 300)
    P = np.full((300, 3), 0.05)
    P[np.arange(300), y_true] = 0.9
    y = y_true.copy()
    wrong = rng.choice(300, 30, replace=False)
    y[wrong] = (y[wrong] + 1) % 3
    issues = find_label_issues(y, P)
    assert set(np.flatnonzero(issues)) == set(wrong)


def test_nt_xent_is_lowest_when_the_two_views_agree():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(16, 8, generator=g)
    assert nt_xent(a, a, 0.2) < nt_xent(a, torch.randn(16, 8, generator=g), 0.2)


def test_logit_adjusted_baseline_predicts_rare_classes_more_often_than_plain_cross_entropy():
    Z, y, _, _ = _gaussian_classes(n_per_class=(300, 100, 30, 10), noise=0.0, seed=3)
    Z = Z / 4 + np.random.default_rng(0).normal(0, 0.8, Z.shape)   # overlapping classes
    kw = dict(network="mlp", hidden=(16,), epochs=20, lr=3e-3, device="cpu", random_state=0)
    ce = NoisyLabelBaseline("ce", **kw).fit(Z, y).predict(Z)
    la = NoisyLabelBaseline("logit_adjusted", **kw).fit(Z, y).predict(Z)
    assert (la == 3).sum() > (ce == 3).sum()


def test_rcal_fits_predicts_and_saves_on_tables(tmp_path):
    from trust.noisy import RCALClassifier

    Z, y, y_noisy, _ = _gaussian_classes(noise=0.2)
    rcal = RCALClassifier("mlp", hidden=(16,), contrastive_epochs=3, epochs=5, batch_size=64, device="cpu",
                          random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecoveryWarning)
        rcal.fit(Z, y_noisy)
    P = rcal.predict_proba(Z)
    assert P.shape == (len(Z), K) and np.allclose(P.sum(1), 1)
    assert rcal.class_means_.shape == (K, 16) and rcal.class_covariances_.shape == (K, 16, 16)
    assert rcal.embed(Z).shape == (len(Z), 16) and rcal.n_sampled_ == int(K * np.bincount(y_noisy).max() - len(y_noisy))
    loaded = RCALClassifier.load(rcal.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_proba(Z), P)
    np.testing.assert_array_equal(loaded.class_means_, rcal.class_means_)


def test_rcal_with_the_same_seed_gives_the_same_probabilities():
    from trust.noisy import RCALClassifier

    Z, _, y_noisy, _ = _gaussian_classes(n_per_class=(40, 30, 20, 10), noise=0.2)
    kw = dict(hidden=(8,), contrastive_epochs=2, epochs=2, batch_size=32, device="cpu", random_state=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecoveryWarning)
        a = RCALClassifier("mlp", **kw).fit(Z, y_noisy).predict_proba(Z)
        b = RCALClassifier("mlp", **kw).fit(Z, y_noisy).predict_proba(Z)
    np.testing.assert_array_equal(a, b)
