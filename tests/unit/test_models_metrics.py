"""Model figures against independent computations (the base model's card: test_models_protocol.py)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, recall_score

from trust.errors import DataError
from trust.metrics import expected_calibration_error, negative_log_likelihood, per_class_accuracy


def _probs(n=500, k=4, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 2
    P = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=p) for p in P])
    return y, P


def test_per_class_accuracy_is_sklearn_recall_per_class():
    y, P = _probs()
    np.testing.assert_allclose(per_class_accuracy(y, P), recall_score(y, P.argmax(1), average=None))


def test_nll_is_sklearn_log_loss():
    y, P = _probs()
    assert negative_log_likelihood(y, P) == pytest.approx(log_loss(y, P, labels=range(4)))


def test_ece_matches_a_loop_over_bins():
    y, P = _probs()
    conf, pred = P.max(1), P.argmax(1)
    edges = np.linspace(0, 1, 16)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs((pred[m] == y[m]).mean() - conf[m].mean())
    assert expected_calibration_error(y, P) == pytest.approx(ece)


def test_sampled_labels_make_a_calibrated_model_with_small_ece():
    y, P = _probs(n=20000)
    assert expected_calibration_error(y, P) < 0.02


def test_rows_that_are_not_probabilities_are_refused():
    with pytest.raises(DataError, match="probabilities"):
        negative_log_likelihood([0, 1], [[0.5, 0.6], [0.2, 0.8]])
