"""Flip metrics of a model update: what the new model gets wrong that the old one got right.

With labels ``y_i``, the old model's predictions ``o_i`` and the new model's ``n_i`` over ``N`` samples
(in the class-incremental protocol: the test samples of the OLD classes):

- negative flip rate ``NFR = (1/N) sum_i [o_i = y_i and n_i != y_i]`` (Yan et al. 2021);
- positive flip rate ``PFR = (1/N) sum_i [o_i != y_i and n_i = y_i]``;
- relative NFR ``= NFR / ((1 - e_old) * e_new)``, ``e`` each model's error rate on the same samples: the
  NFR over the NFR two independent models with those error rates would have (1: flips as if by chance;
  below 1: the errors of the new model fall where the old one erred too). Undefined (NaN) when the old
  model is always wrong or the new one never is;
- the seed floor: the NFR between two models of the SAME recipe trained with different seeds, in both
  directions and averaged; the flips that retraining alone causes, the floor any update is judged against;
- accuracy on old and new classes: the accuracy over the samples whose label is (not) in ``old_classes``.

Pure functions: arrays in, numbers out; options keyword-only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trust._validation import check_labels
from trust.errors import DataError


def _check(labels: Any, old_pred: Any, new_pred: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = check_labels(labels, name="labels")
    sizes = {"labels": len(y), "old_pred": len(np.asarray(old_pred)), "new_pred": len(np.asarray(new_pred))}
    if len(set(sizes.values())) != 1:
        raise DataError("labels, old_pred and new_pred must have one entry per sample; got lengths "
                        + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    if len(y) == 0:
        raise DataError("no samples to compare; pass at least one label and prediction")
    o = check_labels(old_pred, len(y), name="old_pred")
    n = check_labels(new_pred, len(y), name="new_pred")
    return y, o, n


def negative_flip_rate(labels: Any, old_pred: Any, new_pred: Any) -> float:
    """Share of samples the old model classified right and the new one wrong."""
    y, o, n = _check(labels, old_pred, new_pred)
    return float(np.mean((o == y) & (n != y)))


def positive_flip_rate(labels: Any, old_pred: Any, new_pred: Any) -> float:
    """Share of samples the old model classified wrong and the new one right."""
    y, o, n = _check(labels, old_pred, new_pred)
    return float(np.mean((o != y) & (n == y)))


def relative_negative_flip_rate(labels: Any, old_pred: Any, new_pred: Any) -> float:
    """``NFR / ((1 - old error) * new error)`` on the same samples (NaN when the denominator is 0)."""
    y, o, n = _check(labels, old_pred, new_pred)
    denom = np.mean(o == y) * np.mean(n != y)
    return float(np.mean((o == y) & (n != y)) / denom) if denom > 0 else float("nan")


def seed_nfr_floor(labels: Any, pred_a: Any, pred_b: Any) -> float:
    """The NFR between two seeds of one recipe, averaged over both directions (a -> b and b -> a)."""
    return 0.5 * (negative_flip_rate(labels, pred_a, pred_b) + negative_flip_rate(labels, pred_b, pred_a))


def class_split_accuracy(labels: Any, pred: Any, *, old_classes: Any) -> dict[str, float]:
    """``{"accuracy", "old_class_accuracy", "new_class_accuracy"}`` (NaN for a part without samples)."""
    y, p, _ = _check(labels, pred, pred)
    old = np.isin(y, check_labels(np.asarray(list(old_classes)), name="old_classes"))
    hit = p == y
    return {"accuracy": float(hit.mean()),
            "old_class_accuracy": float(hit[old].mean()) if old.any() else float("nan"),
            "new_class_accuracy": float(hit[~old].mean()) if (~old).any() else float("nan")}


def flip_summary(labels: Any, old_pred: Any, new_pred: Any, *, old_classes: Any) -> dict[str, float]:
    """Every figure of one update: flips on the old-class samples, accuracies of the new model.

    ``labels`` and ``new_pred`` cover all test samples; ``old_pred`` too (the old model's prediction of
    a new-class sample is never right, so only old-class samples enter the flip rates, which are measured on
    the samples whose label is in ``old_classes``). Keys: ``nfr``, ``relative_nfr``, ``pfr``,
    ``old_model_accuracy`` (on old-class samples), ``accuracy``, ``old_class_accuracy``,
    ``new_class_accuracy``.
    """
    y, o, n = _check(labels, old_pred, new_pred)
    old = np.isin(y, check_labels(np.asarray(list(old_classes)), name="old_classes"))
    if not old.any():
        raise DataError("no sample has an old class; the flip rates are measured on old-class samples")
    yo, oo, no = y[old], o[old], n[old]
    return {"nfr": negative_flip_rate(yo, oo, no), "relative_nfr": relative_negative_flip_rate(yo, oo, no),
            "pfr": positive_flip_rate(yo, oo, no), "old_model_accuracy": float(np.mean(oo == yo)),
            **class_split_accuracy(y, n, old_classes=old_classes)}


__all__ = ["negative_flip_rate", "positive_flip_rate", "relative_negative_flip_rate", "seed_nfr_floor",
           "class_split_accuracy", "flip_summary"]
