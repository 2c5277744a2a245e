"""Figures of a classifier's outputs: accuracy per class, negative log-likelihood, expected calibration error.

Thin wrappers with the ``(y, proba)`` argument order the train stage and the Models section use;
the one implementation, with the formulas, is :mod:`trust.calibration.metrics` (top-label ECE with
15 equal-width bins by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trust.calibration import metrics as _cm


def per_class_accuracy(y: Any, proba: Any) -> np.ndarray:
    """``(K,)`` accuracy on the rows of each class (NaN for a class with no rows)."""
    return _cm.per_class_accuracy(proba, y)


def negative_log_likelihood(y: Any, proba: Any) -> float:
    """Mean ``-log P[i, y_i]``."""
    return _cm.negative_log_likelihood(proba, y)


def expected_calibration_error(y: Any, proba: Any, *, n_bins: int = 15) -> float:
    """Top-label ECE with ``n_bins`` equal-width confidence bins."""
    return _cm.expected_calibration_error(proba, y, n_bins=n_bins)


def classification_summary(y: Any, proba: Any, *, n_bins: int = 15) -> dict[str, Any]:
    """``{"accuracy", "nll", "ece", "per_class_accuracy": [..]}`` of predicted probabilities."""
    P, labels = _cm.check_probs(proba, y)
    return {"accuracy": _cm.accuracy(P, labels), "nll": _cm.negative_log_likelihood(P, labels),
            "ece": _cm.expected_calibration_error(P, labels, n_bins=n_bins),
            "per_class_accuracy": _cm.per_class_accuracy(P, labels).tolist()}


__all__ = ["per_class_accuracy", "negative_log_likelihood", "expected_calibration_error", "classification_summary"]
