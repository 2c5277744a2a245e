"""Train and describe a base classifier on fixed splits: what the ``train`` stage runs, in one call.

:func:`train_base_model` fits a :class:`~trust.models.NeuralClassifier` on the training rows,
early-stopping on nothing (the validation split is left untouched for calibration), and returns
the model, its logits on the validation and test rows, the raw model's figures on each
(:func:`~trust.metrics.classification_summary`) and a model card: architecture, training
settings, accuracy per class and intended use. The card holds no count, hash or timing of the
data; the caller adds the keyed data fingerprints to its evidence.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from trust._validation import check_array, check_labels
from trust.data.splits import ArraySplits
from trust.errors import ConfigError
from trust.models.classifier import NeuralClassifier
from trust.metrics import classification_summary


_UNUSED = {"mlp": ("channels",), "cnn": ("hidden", "dropout"), "cnn1d": ("hidden", "dropout"),
           "custom": ("hidden", "dropout", "channels")}


@dataclasses.dataclass
class BaseModel:
    """A fitted base classifier with its validation / test logits, figures and model card."""

    model: NeuralClassifier
    logits: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    figures: dict[str, dict[str, Any]]
    card: dict[str, Any]


def train_base_model(X: Any, y: Any, splits: ArraySplits, *, model: Mapping[str, Any] | None = None,
                     random_state: int = 0, intended_use: str = "", dataset: str = "") -> BaseModel:
    """Fit ``NeuralClassifier(**model, random_state=random_state)`` on ``splits.train``; score val and test.

    Args:
        X, y: all rows (tables, images or signals) and labels ``0..K-1``.
        splits: row indices (:func:`trust.data.split_arrays`).
        model: the estimator's settings (checked by the estimator: an unknown key or value is a
            one-line :class:`~trust.errors.ConfigError`).
        intended_use: a sentence for the model card.
    """
    X = check_array(X, "X", ndim=(2, 3, 4), dtype=None)
    labels = check_labels(y, len(X))
    settings = dict(model or {})
    if "random_state" in settings:
        raise ConfigError("model settings must not hold random_state; the stage's seed is used")
    try:
        clf = NeuralClassifier(**settings, random_state=random_state)
    except TypeError as e:
        raise ConfigError(f"unknown model setting ({str(e).split('argument')[-1].strip()}); "
                          "see trust.models.NeuralClassifier for the settings") from None
    n_classes = int(labels.max()) + 1
    clf.set_params(n_classes=clf.n_classes or n_classes)
    clf.fit(X[splits.train], labels[splits.train])
    logits, ys, figures = {}, {}, {}
    for part in ("val", "test"):
        idx = getattr(splits, part)
        logits[part] = clf.decision_function(X[idx])
        ys[part] = labels[idx]
        figures[part] = classification_summary(ys[part], clf.predict_proba(X[idx]))
    net = clf.network_
    card = {
        "dataset": dataset,
        "intended_use": intended_use,
        "architecture": {
            "network": clf.network_name_, "class": type(net).__name__,
            "parameters": int(sum(p.numel() for p in net.parameters())),
            "embed_dim": int(getattr(getattr(net, "head", None), "in_features", 0)) or None,
            "input_shape": list(clf.input_shape_), "classes": clf.classes_.tolist(),
            "layers": [str(m) for m in net.modules() if not list(m.children())],
        },
        "training": {k: (list(v) if isinstance(v, tuple) else v) for k, v in clf.get_params().items()
                     if k not in ("network", "progress") + _UNUSED[clf.network_name_]} | {"loss": "cross-entropy",
                                                           "epochs_run": clf.history_.epochs_run},
        "accuracy_per_class": {"test": figures["test"]["per_class_accuracy"], "val": figures["val"]["per_class_accuracy"]},
        "figures_of": "the raw (uncalibrated) model on the validation and test splits",
    }
    return BaseModel(clf, logits, ys, figures, card)


__all__ = ["BaseModel", "train_base_model"]
