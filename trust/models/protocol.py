"""Train and describe a base classifier on fixed splits: what the ``train`` stage and ``trust models train`` run.

:func:`run_train` fits a :class:`~trust.models.NeuralClassifier` on the training rows, early-stopping on
nothing (the validation split is left untouched for calibration), and returns a :class:`TrainResult`: the
model, its logits on the validation and test rows, the raw model's figures on each
(:func:`~trust.metrics.classification_summary`) and its training accuracy (a recipe that does not fit its
training rows makes every method that adds a loss term pay in accuracy), and a model card: architecture,
training settings, accuracy per class and intended use. The card holds no count, hash or timing of the data;
the caller adds the keyed data fingerprints to the evidence. An empty validation or test part is allowed
(``trust models train --test-size 0``): its figures are left out.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from trust._validation import check_array, check_labels
from trust.data.splits import ArraySplits
from trust.errors import ConfigError
from trust.evidence import Check, Evidence, Result
from trust.metrics import classification_summary
from trust.models.classifier import NeuralClassifier
from trust.models.schema import DETAILS_SCHEMA

_UNUSED = {"mlp": ("channels",), "cnn": ("hidden", "dropout"), "cnn1d": ("hidden", "dropout"),
           "custom": ("hidden", "dropout", "channels")}
#: below this training accuracy the recipe underfits (a warning says so)
WARN_TRAIN_ACCURACY = 0.95
#: where :meth:`TrainResult.save` puts each file, relative to its folder (the card names them)
FILES = {"model": "model", "splits": "splits.npz", "logits": "logits.npz"}


@dataclasses.dataclass(frozen=True)
class TrainResult(Result):
    """A fitted base classifier with its logits and figures on each non-empty part, and its model card.

    ``non_dp_artifact``: where the model lives when the rows are private (a table of people trained without
    DP: a non-DP use the evidence declares); None for public data.
    """

    kind: ClassVar[str] = "model"
    dataset: str
    model: NeuralClassifier
    splits: ArraySplits
    logits: Mapping[str, np.ndarray]
    labels: Mapping[str, np.ndarray]
    figures: Mapping[str, Mapping[str, Any]]
    train_accuracy: float
    card: Mapping[str, Any]
    non_dp_artifact: str | None = None

    def summary(self) -> str:
        """One line: the test (or validation) accuracy beside chance and the training accuracy."""
        part = "test" if "test" in self.figures else "val" if "val" in self.figures else None
        k = len(self.model.classes_)
        held = (f"{part} accuracy {self.figures[part]['accuracy']:.4f} on {len(self.labels[part])} held-out rows "
                f"(chance {1 / k:.3f})" if part else "no rows held out")
        return f"{self.dataset or 'data'}: {self.model.network_name_} {held}, training accuracy {self.train_accuracy:.4f}"

    def warnings(self) -> list[str]:
        """A line when the model underfits its training rows, saying what to try."""
        if self.train_accuracy < WARN_TRAIN_ACCURACY:
            return [f"the model fits its training rows at only {self.train_accuracy:.2f} accuracy: train longer or at a "
                    "higher learning rate (methods that add loss terms, e.g. updates, pay for an underfit recipe)"]
        return []

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """The model card, the raw model's figures as flat metrics, a stage check against chance."""
        metrics: dict[str, float] = {"train.accuracy": self.train_accuracy}
        for part, fig in self.figures.items():
            metrics.update({f"{part}.accuracy": fig["accuracy"], f"{part}.nll": fig["nll"], f"{part}.ece": fig["ece"]})
        if "test" in self.figures:
            metrics.update({f"test.accuracy_class_{c}": a for c, a in enumerate(self.figures["test"]["per_class_accuracy"])})
        k = len(self.model.classes_)
        checks = [Check(f"{self.dataset}: test accuracy above chance", self.figures["test"]["accuracy"], 1.0 / k, ">",
                        description=f"accuracy of the raw model on the test split vs 1/{k}")] if "test" in self.figures else []
        non_dp = ([{"dataset": self.dataset, "artifact": self.non_dp_artifact,
                    "what": "non-private base classifier (weights, logits, per-class accuracy)"}]
                  if self.non_dp_artifact else [])
        title = f"Base model: {self.dataset} ({self.card['architecture']['network']})"
        return Evidence("model", title=title, checks=tuple(checks), metrics=metrics,
                        details={"model_card": dict(self.card)}, non_dp=tuple(non_dp), details_schema=DETAILS_SCHEMA)

    def save(self, out_dir: str | os.PathLike[str]) -> None:
        """The model (``model/``), the split indices (``splits.npz``) and the logits (``logits.npz``) under ``out_dir``."""
        from trust.data.arrays import save_arrays

        out = Path(out_dir)
        self.model.save(out / FILES["model"])
        save_arrays(out / FILES["splits"], train=self.splits.train, val=self.splits.val, test=self.splits.test)
        save_arrays(out / FILES["logits"], **{f"{p}_{k}": v[p] for k, v in (("logits", self.logits), ("y", self.labels))
                                              for p in v})


def _classifier(model: Mapping[str, Any] | None, random_state: int, device: str, progress: bool) -> NeuralClassifier:
    settings = dict(model or {})
    for key in ("random_state", "device"):
        if key in settings:
            raise ConfigError(f"model settings must not hold {key}; pass it to run_train")
    try:
        return NeuralClassifier(**{"progress": progress, **settings}, random_state=random_state, device=device)
    except TypeError as e:
        raise ConfigError(f"unknown model setting ({str(e).split('argument')[-1].strip()}); "
                          "see trust.models.NeuralClassifier for the settings") from None


def _card(clf: NeuralClassifier, figures: Mapping[str, Any], dataset: str, intended_use: str) -> dict[str, Any]:
    net = clf.network_
    return {
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
                     if k not in ("network", "progress") + _UNUSED[clf.network_name_]}
                    | {"loss": "cross-entropy", "epochs_run": clf.history_.epochs_run},
        "accuracy_per_class": {p: f["per_class_accuracy"] for p, f in figures.items()},
        "figures_of": "the raw (uncalibrated) model on the validation and test splits",
        "files": dict(FILES),
    }


def run_train(X: Any, y: Any, splits: ArraySplits, *, model: Mapping[str, Any] | None = None, dataset: str = "",
              intended_use: str = "", non_dp_artifact: str | None = None, random_state: int = 0,
              device: str = "auto", progress: bool = False) -> TrainResult:
    """Fit ``NeuralClassifier(**model, random_state=random_state)`` on ``splits.train``; score val and test.

    Args:
        X, y: all rows (tables, images or signals) and labels ``0..K-1``.
        splits: row indices (:func:`trust.data.split_arrays`); ``val`` or ``test`` may be empty.
        model: the estimator's settings (checked by the estimator: an unknown key or value is a one-line
            :class:`~trust.errors.ConfigError`); ``n_classes`` defaults to ``max(y) + 1`` (an explicit None: the
            classes present in the training rows).
        intended_use: a sentence for the model card. non_dp_artifact: see :class:`TrainResult`.
    """
    X = check_array(X, "X", ndim=(2, 3, 4), dtype=None)
    labels = check_labels(y, len(X))
    clf = _classifier(model, random_state, device, progress)
    if "n_classes" not in dict(model or {}):
        clf.set_params(n_classes=int(labels.max()) + 1)
    clf.fit(X[splits.train], labels[splits.train])
    logits, ys, figures = {}, {}, {}
    for part in ("val", "test"):
        idx = np.asarray(getattr(splits, part))
        if len(idx):
            logits[part] = clf.decision_function(X[idx])
            ys[part] = labels[idx]
            figures[part] = classification_summary(ys[part], clf.predict_proba(X[idx]))
    train_accuracy = float(clf.score(X[splits.train], labels[splits.train]))
    return TrainResult(dataset, clf, splits, logits, ys, figures, train_accuracy,
                       _card(clf, figures, dataset, intended_use), non_dp_artifact)


__all__ = ["TrainResult", "run_train", "WARN_TRAIN_ACCURACY", "FILES"]
