"""Calibrators: argmax kept, temperature scaling agrees with scikit-learn, the CA calibrator's features and losses."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from trust.calibrate import (
    CorrectnessAwareCalibrator, HistogramBinning, IsotonicCalibrator, TemperatureScaling, VectorScaling, softmax,
)
from trust.errors import DataError
from trust.metrics import expected_calibration_error


def _overconfident(n=2000, K=5, seed=0):
    """Logits of a model that is right ~70 % of the time but twice too sharp."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    Z = rng.normal(size=(n, K))
    Z[np.arange(n), y] += 1.5
    return Z * 3.0, y


class _Logits(ClassifierMixin, BaseEstimator):
    """A 'classifier' whose decision_function is its input: lets scikit-learn calibrate given logits."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def decision_function(self, X):
        return np.asarray(X)

    def predict(self, X):
        return self.classes_[np.asarray(X).argmax(1)]


def test_temperature_scaling_matches_scikit_learn_within_one_percent():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    Z, y = _overconfident()
    ours = TemperatureScaling().fit(Z, y).temperature_
    cal = CalibratedClassifierCV(FrozenEstimator(_Logits().fit(Z, y)), method="temperature").fit(Z, y)
    theirs = 1.0 / float(cal.calibrated_classifiers_[0].calibrators[0].beta_)
    assert ours == pytest.approx(theirs, rel=0.01)


def test_temperature_scaling_lowers_the_nll_and_ece_of_an_overconfident_model():
    Z, y = _overconfident()
    Zt, yt = _overconfident(seed=1)
    ts = TemperatureScaling().fit(Z, y)
    assert ts.temperature_ > 1.5
    assert expected_calibration_error(yt, ts.predict_proba(Zt)) < expected_calibration_error(yt, softmax(Zt)) / 2


@pytest.mark.parametrize("loss", ["ca", "ce", "mse"])
def test_the_per_sample_calibrators_keep_the_predicted_class_exactly(loss):
    Z, y = _overconfident(n=400)
    V = np.stack([Z + np.random.default_rng(i).normal(scale=1.0, size=Z.shape) for i in range(3)])
    ca = CorrectnessAwareCalibrator(loss=loss, epochs=20).fit(Z, y, V)
    assert np.array_equal(ca.predict_proba(Z, V).argmax(1), Z.argmax(1))
    assert np.array_equal(TemperatureScaling().fit(Z, y).predict_proba(Z).argmax(1), Z.argmax(1))


def test_the_ca_temperature_is_per_sample_and_within_its_clamp():
    Z, y = _overconfident(n=400)
    V = np.stack([Z + np.random.default_rng(i).normal(scale=2.0, size=Z.shape) for i in range(3)])
    T = CorrectnessAwareCalibrator(epochs=50, hidden=16, t_min=0.5, t_max=4.0).fit(Z, y, V).predict_temperature(Z, V)
    assert T.shape == (400,) and T.min() >= 0.5 - 1e-6 and T.max() <= 4.0 + 1e-6 and T.std() > 0


def test_the_ca_features_are_the_views_softmax_at_the_original_top_k_classes():
    Z = np.array([[3.0, 1.0, 2.0, 0.0]])
    V = np.stack([np.array([[0.0, 1.0, 2.0, 3.0]]), np.array([[1.0, 1.0, 1.0, 1.0]])])
    ca = CorrectnessAwareCalibrator(top_k=2)
    ca.top_k_ = 2
    want = np.concatenate([softmax(V[0])[0, [0, 2]], softmax(V[1])[0, [0, 2]]])
    np.testing.assert_allclose(ca._features(Z, V)[0], want, rtol=1e-6)


def test_the_ca_loss_lowers_confidence_on_wrong_predictions_more_than_on_correct_ones():
    Z, y = _overconfident(n=1000)
    wrong = Z.argmax(1) != y
    rng = np.random.default_rng(5)
    # views that tell correctness: stable for correct rows, scrambled for wrong ones
    V = np.stack([np.where(wrong[:, None], rng.normal(size=Z.shape) * 3, Z) for _ in range(3)])
    ca = CorrectnessAwareCalibrator(epochs=300).fit(Z, y, V)
    T = ca.predict_temperature(Z, V)
    assert np.median(T[wrong]) > 2 * np.median(T[~wrong])


@pytest.mark.parametrize("cls", [TemperatureScaling, VectorScaling, HistogramBinning, IsotonicCalibrator])
def test_every_baseline_returns_probabilities_whose_softmax_of_transform_is_predict_proba(cls):
    Z, y = _overconfident(n=500)
    c = cls().fit(Z, y)
    P = c.predict_proba(Z)
    np.testing.assert_allclose(P.sum(1), 1.0)
    np.testing.assert_allclose(softmax(c.transform(Z)), P, atol=1e-9)


def test_isotonic_and_histogram_lower_the_ece_of_an_overconfident_model():
    Z, y = _overconfident(n=3000)
    raw = expected_calibration_error(y, softmax(Z))
    for cls in (HistogramBinning, IsotonicCalibrator, VectorScaling):
        assert expected_calibration_error(y, cls().fit(Z, y).predict_proba(Z)) < raw / 2


@pytest.mark.parametrize("bad, match", [
    (lambda Z, y: (Z[:-1], y), "labels"),
    (lambda Z, y: (Z, y + 10), "label"),
    (lambda Z, y: (np.where(np.eye(1, Z.shape[1], dtype=bool).repeat(len(Z), 0), np.nan, Z), y), "NaN"),
    (lambda Z, y: (Z, np.zeros_like(y)), "single class"),
])
def test_bad_logits_or_labels_are_one_line_data_errors(bad, match):
    Z, y = _overconfident(n=50)
    with pytest.raises(DataError, match=match):
        TemperatureScaling().fit(*bad(Z, y))


def test_view_logits_of_the_wrong_shape_are_refused():
    Z, y = _overconfident(n=50)
    with pytest.raises(DataError, match="view_logits"):
        CorrectnessAwareCalibrator(epochs=1).fit(Z, y, np.zeros((3, 49, Z.shape[1])))
