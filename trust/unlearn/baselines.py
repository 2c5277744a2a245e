"""Baselines for class unlearning, in the same harness as :class:`~trust.unlearn.ConceptUnlearner`.

``BaselineUnlearner(method, ...).fit(model, X, y, forget_class)`` leaves ``model`` unchanged and sets
``model_`` and ``seconds_``:

- ``"retrain"``: the gold standard. ``sklearn.base.clone(model)`` (same recipe, same seed) with the
  number of classes fixed to the model's, fitted from scratch on the retained rows only;
- ``"finetune"``: fine-tune a copy on the retained rows only (catastrophic forgetting does the work);
- ``"gradient_ascent"``: fine-tune a copy on the forget rows *maximising* their cross-entropy
  (``loss = -CE``), for ``ascent_epochs`` epochs;
- ``"random_labels"``: relabel the forget rows to uniformly random retained classes and fine-tune a copy
  on all rows (label poisoning without concepts);
- ``"donor_flip"``: relabel the forget rows to the retained class the original model most confuses the
  forget class with (the largest mean predicted probability over the forget rows, the forget class
  excluded) and fine-tune a copy on all rows: the donor flip without concept inference.

Every fine-tuning uses :func:`trust.unlearn.tuning.finetune` with the same ``trainable`` layers,
``epochs``, ``lr``, SGD momentum and batch size as the concept method, so the methods differ only in
what they train on.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from trust._validation import check_is_fitted, check_labels, check_option, check_random_state, check_scalar

METHODS = ("retrain", "finetune", "gradient_ascent", "random_labels", "donor_flip")


def retrain_on(model: Any, X: Any, y: Any) -> Any:
    """A fresh model with ``model``'s settings (same seed) fitted from scratch on ``X, y``.

    Its output columns are the original model's classes (``n_classes`` fixed), so both score the same labels.
    """
    from sklearn.base import clone

    from trust.errors import ConfigError

    classes = np.asarray(model.classes_)
    if not np.array_equal(classes, np.arange(len(classes))):
        raise ConfigError(f"retraining needs a model of classes 0..K-1 (got {classes.tolist()}); train it with "
                          "n_classes=K")
    return clone(model).set_params(n_classes=len(classes), progress=False).fit(np.asarray(X), np.asarray(y))


def retrain_without(model: Any, X: Any, y: Any, forget_class: int) -> Any:
    """:func:`retrain_on` the rows of ``y != forget_class`` (the gold standard of class unlearning)."""
    keep = np.asarray(y) != forget_class
    return retrain_on(model, np.asarray(X)[keep], np.asarray(y)[keep])


def confused_class(model: Any, X_forget: Any, forget_class: int, candidates: Sequence[int]) -> int:
    """The class in ``candidates`` with the largest mean predicted probability over ``X_forget``."""
    P = model.predict_proba(X_forget)                               # (n_forget, K)
    classes = np.asarray(model.classes_).tolist()
    mean = P.mean(axis=0)
    return int(max(candidates, key=lambda c: mean[classes.index(c)]))


class BaselineUnlearner(BaseEstimator):
    """One of :data:`METHODS` (see the module docstring); settings as :class:`~trust.unlearn.ConceptUnlearner`'s.

    Attributes: model_, seconds_, forget_class_, donor_class_ (``"donor_flip"`` only, else None).
    """

    def __init__(self, method: str = "retrain", *, trainable: str | Sequence[str] = "head", epochs: int = 20,
                 lr: float = 1e-3, batch_size: int = 32, momentum: float = 0.9, ascent_epochs: int = 1,
                 device: str | None = None, random_state: Any = 0) -> None:
        self.method = method
        self.trainable = trainable
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.momentum = momentum
        self.ascent_epochs = ascent_epochs
        self.device = device
        self.random_state = random_state

    def fit(self, model: Any, X: Any, y: Any, forget_class: int) -> "BaselineUnlearner":
        """Unlearn ``forget_class`` from (a copy of) the fitted ``model`` trained on ``X, y``; returns self."""
        import torch.nn.functional as F

        from trust.unlearn.concept import check_forget_class
        from trust.unlearn.tuning import finetune

        check_option(self.method, "method", METHODS)
        check_scalar(self.ascent_epochs, "ascent_epochs", int, min_val=1)
        check_is_fitted(model, "network_")
        t0 = time.perf_counter()
        labels = check_labels(y, len(X))
        k = check_forget_class(model, labels, forget_class)
        X = np.asarray(X)
        rng = check_random_state(self.random_state)
        forget = labels == k
        retained = np.unique(labels[~forget])
        tune = dict(trainable=self.trainable, epochs=self.epochs, lr=self.lr, optimizer="sgd", momentum=self.momentum,
                    batch_size=self.batch_size, random_state=rng, device=self.device)
        self.donor_class_: int | None = None
        if self.method == "retrain":
            self.model_ = retrain_without(model, X, labels, k)
        elif self.method == "finetune":
            self.model_ = finetune(model, X[~forget], labels[~forget], **tune)
        elif self.method == "gradient_ascent":
            def ascent(net, x, t):
                return -F.cross_entropy(net(x), t, reduction="none")

            self.model_ = finetune(model, X[forget], labels[forget], loss=ascent,
                                   **{**tune, "epochs": self.ascent_epochs})
        else:
            poisoned = labels.copy()
            if self.method == "random_labels":
                poisoned[forget] = rng.choice(retained, int(forget.sum()))
            else:
                self.donor_class_ = confused_class(model, X[forget], k, retained.tolist())
                poisoned[forget] = self.donor_class_
            self.model_ = finetune(model, X, poisoned, **tune)
        self.forget_class_ = k
        self.seconds_ = time.perf_counter() - t0
        return self


__all__ = ["METHODS", "BaselineUnlearner", "retrain_on", "retrain_without", "confused_class"]
