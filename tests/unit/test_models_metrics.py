"""Model figures against independent computations; the base-model helper's card and figures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, recall_score

from trust.data import split_arrays
from trust.errors import DataError
from trust.metrics import classification_summary, expected_calibration_error, negative_log_likelihood, per_class_accuracy
from trust.models import train_base_model


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


def test_base_model_figures_are_those_of_its_logits():
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    X = rng.normal(size=(300, 4)) + np.eye(3, 4)[y] * 3
    s = split_arrays(y, seed=0)
    base = train_base_model(X, y, s, model={"network": "mlp", "epochs": 5}, intended_use="tests")
    z = base.logits["test"]
    P = np.exp(z - z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    expected = classification_summary(y[s.test], P)
    for key in ("accuracy", "nll", "ece"):
        assert base.figures["test"][key] == pytest.approx(expected[key], abs=1e-6)
    np.testing.assert_allclose(base.figures["test"]["per_class_accuracy"], expected["per_class_accuracy"])
    assert base.card["architecture"]["network"] == "mlp" and base.card["intended_use"] == "tests"
    assert "channels" not in base.card["training"] and base.card["training"]["epochs"] == 5


def test_base_model_refuses_an_unknown_setting():
    from trust.errors import ConfigError

    y = np.arange(60) % 2
    with pytest.raises(ConfigError, match="unknown model setting"):
        train_base_model(np.zeros((60, 2)), y, split_arrays(y), model={"network": "mlp", "layers": 3})
