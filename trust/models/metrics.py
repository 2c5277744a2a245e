"""Figures of a classifier's outputs: accuracy per class, negative log-likelihood, expected calibration error.

With ``y`` the true labels ``0..K-1`` and ``P`` the ``(N, K)`` predicted probabilities:

- accuracy per class ``c``: the share of rows with ``y = c`` whose ``argmax P`` is ``c``;
- NLL ``= -(1/N) sum_i log P[i, y_i]`` (probabilities clipped at 1e-12);
- ECE (top-label, equal-width bins; Guo et al. 2017): confidences ``p_i = max_k P[i, k]`` binned into
  ``n_bins`` intervals ``(b/n_bins, (b+1)/n_bins]``, ``ECE = sum_b (|B_b| / N) |acc(B_b) - conf(B_b)|``.

The calibration capability builds its richer metrics (adaptive and class-wise ECE, reliability
diagrams) on these definitions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trust._validation import check_array, check_labels, check_scalar
from trust.errors import DataError


def _check(y: Any, proba: Any) -> tuple[np.ndarray, np.ndarray]:
    P = check_array(proba, "proba", ndim=2)
    labels = check_labels(y, len(P), n_classes=P.shape[1])
    if (P < 0).any() or not np.allclose(P.sum(axis=1), 1.0, atol=1e-4):
        raise DataError("proba must hold probabilities (non-negative rows summing to 1); pass predict_proba's output")
    return labels, P


def per_class_accuracy(y: Any, proba: Any) -> np.ndarray:
    """``(K,)`` accuracy on the rows of each class (NaN for a class with no rows)."""
    labels, P = _check(y, proba)
    pred = P.argmax(axis=1)
    K = P.shape[1]
    n = np.bincount(labels, minlength=K).astype(float)
    hit = np.bincount(labels[pred == labels], minlength=K).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, hit / n, np.nan)


def negative_log_likelihood(y: Any, proba: Any) -> float:
    """Mean ``-log P[i, y_i]``."""
    labels, P = _check(y, proba)
    return float(-np.mean(np.log(np.clip(P[np.arange(len(P)), labels], 1e-12, None))))


def expected_calibration_error(y: Any, proba: Any, *, n_bins: int = 15) -> float:
    """Top-label ECE with ``n_bins`` equal-width confidence bins."""
    labels, P = _check(y, proba)
    n_bins = check_scalar(n_bins, "n_bins", int, min_val=1)
    conf = P.max(axis=1)
    correct = (P.argmax(axis=1) == labels).astype(float)
    b = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = 0.0
    for k in range(n_bins):
        m = b == k
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def classification_summary(y: Any, proba: Any, *, n_bins: int = 15) -> dict[str, Any]:
    """``{"accuracy", "nll", "ece", "per_class_accuracy": [..]}`` of predicted probabilities."""
    labels, P = _check(y, proba)
    return {"accuracy": float(np.mean(P.argmax(axis=1) == labels)),
            "nll": negative_log_likelihood(labels, P), "ece": expected_calibration_error(labels, P, n_bins=n_bins),
            "per_class_accuracy": per_class_accuracy(labels, P).tolist()}


__all__ = ["per_class_accuracy", "negative_log_likelihood", "expected_calibration_error", "classification_summary"]
