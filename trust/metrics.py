"""Classifier metrics, labels first: ``metric(y_true, proba, *, options)`` in, a number out; bootstrap intervals.

The one implementation of these figures, below every capability (models, calibration, unlearning,
noisy labels, updates all call it; it imports no capability).

With ``P`` the ``(N, K)`` predicted probabilities, ``y`` the labels ``0..K-1``, ``p_i = max_k P[i, k]``
the top-label confidence, ``yhat_i = argmax_k P[i, k]`` and ``c_i = 1[yhat_i = y_i]``:

- **ECE** (top-label; Guo et al. 2017): the confidences are cut into ``n_bins`` bins ``B_b`` and
  ``ECE = sum_b (|B_b| / N) |acc(B_b) - conf(B_b)|`` with ``acc(B) = mean_{i in B} c_i`` and
  ``conf(B) = mean_{i in B} p_i``. ``strategy="uniform"``: equal-width bins ``(b/n, (b+1)/n]`` (the first
  also holds 0); ``strategy="quantile"``: equal-mass bins (adaptive ECE; Nguyen & O'Connor 2015), the
  sorted confidences cut into ``n_bins`` runs of (almost) equal size.
  We report 15 bins; the correctness-aware paper's public code uses 25, so its figures are not ours.
- **MCE** ``= max_b |acc(B_b) - conf(B_b)|`` over the non-empty equal-width bins.
- **Class-wise ECE** (Kull et al. 2019): for each class ``k`` the equal-width ECE of ``P[:, k]`` against
  ``1[y = k]`` over all rows, averaged over classes: ``(1/K) sum_k sum_b (|B_kb|/N) |freq_kb - conf_kb|``.
- **Brier** ``= (1/N) sum_i sum_k (P[i, k] - 1[y_i = k])^2`` (the multi-class form, in [0, 2]).
- **NLL** ``= -(1/N) sum_i log P[i, y_i]`` (probabilities clipped at 1e-12).
- **Correctness AUROC**: the ROC AUC of ``p_i`` as a score separating correct (``c_i = 1``) from wrong
  predictions (the Mann-Whitney statistic with ties counted 1/2); NaN when all or none are correct.
- **Bootstrap interval** (:func:`bootstrap_ci`): the metric on ``n_boot`` resamples of the rows with
  replacement, the percentile interval ``[q_{alpha/2}, q_{1-alpha/2}]``.

Figures of these (reliability diagram, confidence histogram) are in :mod:`trust.calibrate.plots`.

>>> import numpy as np
>>> y, P = np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
>>> round(accuracy(y, P), 3), round(expected_calibration_error(y, P, n_bins=10), 3)
(0.667, 0.367)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from trust._validation import check_array, check_labels, check_option, check_random_state, check_scalar
from trust.errors import DataError

STRATEGIES = ("uniform", "quantile")


def check_probs(y_true: Any, proba: Any = None, *, name: str = "probs") -> tuple[np.ndarray, np.ndarray | None]:
    """``(y, P)`` checked (``y_true`` may be None): ``P`` a finite ``(N, K)`` array of non-negative rows summing to 1, ``y`` in ``0..K-1``."""
    P = check_array(proba, name, ndim=2)
    if (P < 0).any() or not np.allclose(P.sum(axis=1), 1.0, atol=1e-4):
        raise DataError(f"{name} must hold probabilities (non-negative rows summing to 1); pass predict_proba's output")
    y = None if y_true is None else check_labels(y_true, len(P), name="y_true", n_classes=P.shape[1])
    return y, P


def _bins(conf: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """The bin index of each confidence."""
    if strategy == "uniform":
        return np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    order = np.argsort(conf, kind="stable")
    b = np.empty(len(conf), dtype=int)
    b[order] = np.arange(len(conf)) * n_bins // len(conf)
    return b


def reliability_curve(y_true: Any, proba: Any, *, n_bins: int = 15, strategy: str = "uniform") -> dict[str, np.ndarray]:
    """Per bin of the top-label confidence: ``count``, ``accuracy``, ``confidence`` (NaN where empty), ``edges``."""
    y, P = check_probs(y_true, proba)
    n_bins = check_scalar(n_bins, "n_bins", int, min_val=1)
    check_option(strategy, "strategy", STRATEGIES)
    conf = P.max(axis=1)
    correct = (P.argmax(axis=1) == y).astype(float)
    b = _bins(conf, n_bins, strategy)
    count = np.bincount(b, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.bincount(b, weights=correct, minlength=n_bins) / count
        mean_conf = np.bincount(b, weights=conf, minlength=n_bins) / count
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.array([0.0] + [conf[b == k].max() if (b == k).any() else np.nan for k in range(n_bins)])
    return {"count": count, "accuracy": acc, "confidence": mean_conf, "edges": edges}


def expected_calibration_error(y_true: Any, proba: Any, *, n_bins: int = 15, strategy: str = "uniform") -> float:
    """Top-label ECE with ``n_bins`` equal-width (``"uniform"``) or equal-mass (``"quantile"``) bins."""
    c = reliability_curve(y_true, proba, n_bins=n_bins, strategy=strategy)
    m = c["count"] > 0
    return float(np.sum(c["count"][m] / c["count"].sum() * np.abs(c["accuracy"][m] - c["confidence"][m])))


def maximum_calibration_error(y_true: Any, proba: Any, *, n_bins: int = 15) -> float:
    """The largest ``|accuracy - confidence|`` over the non-empty equal-width bins."""
    c = reliability_curve(y_true, proba, n_bins=n_bins)
    m = c["count"] > 0
    return float(np.max(np.abs(c["accuracy"][m] - c["confidence"][m])))


def classwise_ece(y_true: Any, proba: Any, *, n_bins: int = 15) -> float:
    """Mean over classes of the equal-width ECE of ``P[:, k]`` against ``1[y = k]`` (Kull et al. 2019)."""
    y, P = check_probs(y_true, proba)
    n_bins = check_scalar(n_bins, "n_bins", int, min_val=1)
    total = 0.0
    for k in range(P.shape[1]):
        p, hit = P[:, k], (y == k).astype(float)
        b = _bins(p, n_bins, "uniform")
        count = np.bincount(b, minlength=n_bins)
        m = count > 0
        gap = np.abs(np.bincount(b, weights=hit, minlength=n_bins)[m] - np.bincount(b, weights=p, minlength=n_bins)[m])
        total += gap.sum() / len(p)  # sum_b (|B|/N) |freq - conf| = sum_b |sum hit - sum p| / N
    return float(total / P.shape[1])


def brier_score(y_true: Any, proba: Any) -> float:
    """Multi-class Brier score ``mean_i sum_k (P[i, k] - 1[y_i = k])^2``."""
    y, P = check_probs(y_true, proba)
    onehot = np.eye(P.shape[1])[y]
    return float(np.mean(np.sum((P - onehot) ** 2, axis=1)))


def negative_log_likelihood(y_true: Any, proba: Any) -> float:
    """Mean ``-log P[i, y_i]`` (probabilities clipped at 1e-12)."""
    y, P = check_probs(y_true, proba)
    return float(-np.mean(np.log(np.clip(P[np.arange(len(P)), y], 1e-12, None))))


def accuracy(y_true: Any, proba: Any) -> float:
    """Share of rows whose most probable class is the label."""
    y, P = check_probs(y_true, proba)
    return float(np.mean(P.argmax(axis=1) == y))


def per_class_accuracy(y_true: Any, proba: Any) -> np.ndarray:
    """``(K,)`` accuracy on the rows of each class (NaN for a class with no rows)."""
    y, P = check_probs(y_true, proba)
    K = P.shape[1]
    n = np.bincount(y, minlength=K).astype(float)
    hit = np.bincount(y[P.argmax(axis=1) == y], minlength=K).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, hit / n, np.nan)


def correctness_auroc(y_true: Any, proba: Any) -> float:
    """ROC AUC of the top-label confidence separating correct from wrong predictions (NaN if only one kind)."""
    from scipy.stats import rankdata

    y, P = check_probs(y_true, proba)
    conf = P.max(axis=1)
    correct = P.argmax(axis=1) == y
    n1, n0 = int(correct.sum()), int((~correct).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(conf)  # average ranks: ties count 1/2
    return float((ranks[correct].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


METRICS: dict[str, Callable[..., float]] = {
    "accuracy": accuracy, "ece": expected_calibration_error,
    "adaptive_ece": lambda y, P, n_bins=15: expected_calibration_error(y, P, n_bins=n_bins, strategy="quantile"),
    "classwise_ece": classwise_ece, "mce": maximum_calibration_error, "brier": brier_score,
    "nll": negative_log_likelihood, "auroc": correctness_auroc,
}
_BINNED = {"ece", "adaptive_ece", "classwise_ece", "mce"}


def calibration_metrics(y_true: Any, proba: Any, *, n_bins: int = 15) -> dict[str, float]:
    """Every metric of this module in one dict: accuracy, ece, adaptive_ece, classwise_ece, mce, brier, nll, auroc."""
    y, P = check_probs(y_true, proba)
    return {k: (f(y, P, n_bins=n_bins) if k in _BINNED else f(y, P)) for k, f in METRICS.items()}


def bootstrap_ci(metric: Callable[..., float], y_true: Any, proba: Any, *, n_boot: int = 200, alpha: float = 0.05,
                 random_state: Any = 0, **kwargs: Any) -> tuple[float, float, float]:
    """``(value, low, high)``: the metric and its percentile bootstrap interval at level ``1 - alpha``.

    ``metric(y_true, proba, **kwargs)`` is any function of this module (or one like them).
    """
    y, P = check_probs(y_true, proba)
    n_boot = check_scalar(n_boot, "n_boot", int, min_val=1)
    alpha = check_scalar(alpha, "alpha", float, min_val=0.0, max_val=1.0, include_boundaries="neither")
    rng = check_random_state(random_state)
    stats = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        stats.append(metric(y[idx], P[idx], **kwargs))
    stats = np.asarray(stats, dtype=float)
    lo, hi = np.nanquantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(metric(y, P, **kwargs)), float(lo), float(hi)


def classification_summary(y_true: Any, proba: Any, *, n_bins: int = 15) -> dict[str, Any]:
    """``{"accuracy", "nll", "ece", "per_class_accuracy": [..]}`` of predicted probabilities."""
    y, P = check_probs(y_true, proba)
    return {"accuracy": accuracy(y, P), "nll": negative_log_likelihood(y, P),
            "ece": expected_calibration_error(y, P, n_bins=n_bins),
            "per_class_accuracy": per_class_accuracy(y, P).tolist()}


__all__ = ["STRATEGIES", "check_probs", "reliability_curve", "expected_calibration_error", "maximum_calibration_error",
           "classwise_ece", "brier_score", "negative_log_likelihood", "accuracy", "per_class_accuracy",
           "correctness_auroc", "METRICS", "calibration_metrics", "bootstrap_ci", "classification_summary"]
