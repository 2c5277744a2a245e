"""Calibration metrics against hand computations and synthetic predictors of known calibration."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from trust import metrics as M
from trust.calibrate import plots
from trust.errors import DataError

# 4 rows, 2 classes: confidences 0.9, 0.8, 0.6, 0.7; predictions 0, 1, 0, 1; labels 0, 0, 0, 1
P = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
Y = np.array([0, 0, 0, 1])


def test_ece_with_two_uniform_bins_matches_the_hand_computation():
    # bins (0, .5], (.5, 1]: all four in the second; acc 3/4, mean conf 0.75 -> 0
    assert M.expected_calibration_error(Y, P, n_bins=2) == pytest.approx(0.0)
    # 10 bins: 0.9 -> bin 8 (acc 1), 0.8 -> bin 7 (acc 0), 0.6 -> bin 5 (acc 1), 0.7 -> bin 6 (acc 1)
    want = (abs(1 - 0.9) + abs(0 - 0.8) + abs(1 - 0.6) + abs(1 - 0.7)) / 4
    assert M.expected_calibration_error(Y, P, n_bins=10) == pytest.approx(want)


def test_quantile_ece_puts_equal_numbers_of_rows_in_each_bin():
    # sorted confidences 0.6 (c), 0.7 (c), 0.8 (w), 0.9 (c); two bins of two
    want = 0.5 * abs(1 - 0.65) + 0.5 * abs(0.5 - 0.85)
    assert M.expected_calibration_error(Y, P, n_bins=2, strategy="quantile") == pytest.approx(want)


def test_mce_is_the_largest_bin_gap():
    assert M.maximum_calibration_error(Y, P, n_bins=10) == pytest.approx(0.8)


def test_classwise_ece_matches_the_hand_computation():
    # class 0 scores .9 .2 .6 .3 vs hits 1 1 1 0; class 1 scores .1 .8 .4 .7 vs hits 0 0 0 1 (10 bins)
    c0 = (abs(1 - .9) + abs(1 - .2) + abs(1 - .6) + abs(0 - .3)) / 4
    c1 = (abs(0 - .1) + abs(0 - .8) + abs(0 - .4) + abs(1 - .7)) / 4
    assert M.classwise_ece(Y, P, n_bins=10) == pytest.approx((c0 + c1) / 2)


def test_brier_and_nll_match_the_hand_computation():
    onehot = np.eye(2)[Y]
    assert M.brier_score(Y, P) == pytest.approx(np.mean(((P - onehot) ** 2).sum(1)))
    assert M.negative_log_likelihood(Y, P) == pytest.approx(-np.mean(np.log([0.9, 0.2, 0.6, 0.7])))


def test_correctness_auroc_agrees_with_scikit_learn():
    rng = np.random.default_rng(0)
    Q = rng.dirichlet(np.ones(5), 300)
    y = rng.integers(0, 5, 300)
    correct = Q.argmax(1) == y
    assert M.correctness_auroc(y, Q) == pytest.approx(roc_auc_score(correct, Q.max(1)))


def test_a_perfectly_calibrated_predictor_has_ece_below_one_percent():
    rng = np.random.default_rng(1)
    Q = rng.dirichlet(np.ones(4) * 0.7, 100_000)
    y = (rng.random(100_000)[:, None] > Q.cumsum(1)).sum(1)  # labels drawn from the predictor's own probabilities
    assert M.expected_calibration_error(y, Q) < 0.01


def test_an_overconfident_predictor_has_the_known_ece():
    # always 0.9 on class 0, right 60 % of the time: ECE = |0.6 - 0.9| = 0.3
    n = 100_000
    Q = np.tile([0.9, 0.1], (n, 1))
    y = (np.random.default_rng(2).random(n) > 0.6).astype(int)
    assert M.expected_calibration_error(y, Q) == pytest.approx(0.3, abs=0.005)


def test_bootstrap_interval_holds_the_point_estimate():
    rng = np.random.default_rng(3)
    Q = rng.dirichlet(np.ones(3), 500)
    y = rng.integers(0, 3, 500)
    v, lo, hi = M.bootstrap_ci(M.expected_calibration_error, y, Q, n_boot=50)
    assert lo <= v <= hi and hi - lo > 0


def test_reliability_diagram_is_a_figure_with_one_bar_per_nonempty_bin():
    fig = plots.reliability_diagram(Y, P, n_bins=10)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * 4  # accuracy and gap bars for the four non-empty bins
    assert "ECE" in ax.get_title()


def test_no_capability_package_re_exports_the_metrics():
    import trust.calibrate
    import trust.models

    assert "expected_calibration_error" not in trust.calibrate.__all__
    assert "expected_calibration_error" not in trust.models.__all__


def test_probabilities_that_do_not_sum_to_one_are_refused():
    with pytest.raises(DataError, match="probabilities"):
        M.expected_calibration_error(Y, P * 2)


def test_confidence_histogram_bars_are_the_shares_of_rows_per_bin():
    fig = plots.confidence_histogram(Y, P, n_bins=10)
    heights = sorted(p.get_height() for p in fig.axes[0].patches if p.get_height() > 0)
    assert heights == pytest.approx([0.25] * 4)
