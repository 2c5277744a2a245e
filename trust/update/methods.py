"""Model updates that add classes: a naive retrain, focal distillation, margin-preserving training.

Every method has ``fit(old_model, X, y)`` and returns self with ``model_``, a new
:class:`~trust.models.NeuralClassifier` over all the classes in ``y``; ``old_model`` is read, never changed.

>>> upd = MarginPreservingUpdate(b=[0, 1, 2, 4]).fit(old, X_train, y_train, eval_set=(X_val, y_val))
>>> upd.b_, upd.model_.predict(X_test)

**The starting point.** The old model is a fitted ``NeuralClassifier`` over the old classes
(``old_model.classes_``, e.g. 0-4); ``y`` holds the old and the new classes (0-9) and must contain every old
one. The new model is the old model's recipe widened to all classes: the same network family and settings
(``old_model.get_params()``, overridden by ``model_params``), a head with one logit per class in ``y``,
weights freshly initialised from ``random_state`` and trained on all of ``X`` (the paper's and Yan et
al.'s setting: the updated model is trained anew, the old one only as a teacher; no weight is copied).
Every method with the same ``random_state`` starts from the same initial weights and batch order.

**Comparing the two.** The old model has logits for the old classes only. Its prediction of a sample is
``old_model.predict`` (an old class); the flip metrics compare it with the new model's prediction over
all classes on the old-class samples (a new model that answers a new class there makes a flip).
Distillation from the old model acts on the new model's logits of the old classes (the columns of
``old_model.classes_`` in ``model_.classes_``), on every training sample.

- :class:`NaiveUpdate`: the new recipe trained with cross-entropy alone.
- :class:`FocalDistillationUpdate` (Yan et al., CVPR 2021, "Positive-congruent training"):
  ``(1 - w) * CE + w * FD_old`` with ``FD_old`` the focal distillation from the old model on the old-class
  logits (:func:`~trust.update.losses.focal_distillation`, weight ``alpha + beta * [old model right]``),
  KL (``distillation="kl"``) or logit matching (``"lm"``); the public code's defaults alpha 1, beta 5,
  ``w = 0.9``.
- :class:`MarginPreservingUpdate` (Ricci et al., AAAI 2026, "Mitigating negative flips via margin
  preserving training"): ``ce_weight * CE(z + b * [new class]) + old_weight * FD_old + new_weight * FD_new``:
  the margin-calibration term (:func:`~trust.update.losses.margin_calibration`; ``b`` in training only)
  plus the double-source focal distillation: KL from the old model on the old-class logits and KL from an
  independently trained new model (:class:`NaiveUpdate`'s model, or ``new_model=``) on all logits, each
  sample weighted ``1 + 5 * [that teacher is right]``, temperature 5. ``b`` may be a grid, chosen on
  ``eval_set``.

Deviations and choices (none of them stated by the paper's text as we have it):

- The three terms of :class:`MarginPreservingUpdate` are summed with weights 1, 1, 1 (``ce_weight``,
  ``old_weight``, ``new_weight``); the distillation acts on the unbiased logits ``z``, the bias ``b`` on the
  cross-entropy only.
- ``b`` from a grid: among the values whose validation accuracy is within ``tolerance`` (1 point) of the
  independent new model's, the one with the lowest validation NFR (old-class validation samples); if none
  is, the most accurate. The paper chooses on validation without saying the rule.
- :class:`FocalDistillationUpdate`'s KL form is between the two models' softmax outputs (temperature 1);
  its old-class distillation, like the margin-preserving method's, covers new-class training samples too,
  with weight ``alpha`` (the old model is never right on them).
- The KL terms carry no ``T^2`` factor (see :mod:`trust.update.losses`: with it the distillation swamped
  the cross-entropy at temperature 5 and the models underfit).
- The ELODI baseline (ensemble logit difference) is not implemented.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from trust._validation import check_array, check_labels, check_option, check_scalar
from trust.errors import ConfigError, DataError
from trust.models.classifier import NeuralClassifier
from trust.update.losses import DISTILLATIONS, focal_distillation, margin_calibration
from trust.update.metrics import class_split_accuracy, negative_flip_rate


def _check_old_model(old_model: Any) -> NeuralClassifier:
    if not isinstance(old_model, NeuralClassifier) or getattr(old_model, "network_", None) is None:
        raise ConfigError(f"old_model must be a fitted trust.models.NeuralClassifier, got {type(old_model).__name__}")
    if isinstance(old_model.network, nn.Module):
        raise ConfigError("old_model has a custom nn.Module network; updates rebuild the recipe by name: "
                          "train the old model with network='mlp', 'cnn' or 'cnn1d'")
    return old_model


def check_class_sets(old_classes: Any, new_classes: Any, *, require_new: bool = True) -> np.ndarray:
    """Column of each old class among the new classes; DataError unless the new set contains the old (and,
    with ``require_new``, adds a class)."""
    old = np.asarray(old_classes)
    new = np.asarray(new_classes)
    missing = np.setdiff1d(old, new)
    if missing.size:
        raise DataError(f"old class {missing.tolist()[0]!r} is missing from the new labels (new classes "
                        f"{new.tolist()}); the new class set must contain every old class: add its samples to y")
    if require_new and len(new) == len(old):
        raise DataError(f"y holds only the old classes {old.tolist()}; an update adds at least one new class")
    return np.searchsorted(new, old)


class _Update(BaseEstimator):
    """Shared template: check the old model and labels, build the new recipe, train through NeuralClassifier."""

    def __init__(self, *, model_params: Mapping[str, Any] | None = None, random_state: Any = 0,
                 device: str = "auto", progress: bool = False) -> None:
        self.model_params = model_params
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _new_classifier(self, old_model: NeuralClassifier) -> NeuralClassifier:
        settings = {**old_model.get_params(), "n_classes": None, "patience": None,
                    "random_state": self.random_state, "device": self.device, "progress": self.progress}
        extra = dict(self.model_params or {})
        for k in ("n_classes", "random_state", "device", "network"):
            if k in extra:
                raise ConfigError(f"model_params must not set {k!r}; the update sets it (random_state and device are "
                                  "the update's own settings, the network is the old model's)")
        unknown = sorted(set(extra) - set(settings))
        if unknown:
            raise ConfigError(f"model_params has unknown setting {unknown[0]!r}; see trust.models.NeuralClassifier")
        return NeuralClassifier(**{**settings, **extra})

    def _prepare(self, old_model: Any, X: Any, y: Any) -> dict[str, Any]:
        old = _check_old_model(old_model)
        X = check_array(X, "X", dtype=None, ndim=(2, 3, 4))
        labels = check_labels(y, len(X))
        classes = np.unique(labels)
        old_cols = check_class_sets(old.classes_, classes)
        target = np.searchsorted(classes, labels)
        old_logits = old.decision_function(X).astype(np.float32)
        old_right = (old_cols[old_logits.argmax(axis=1)] == target).astype(np.float32)
        new_mask = np.ones(len(classes), dtype=np.float32)
        new_mask[old_cols] = 0.0
        self.old_classes_ = np.asarray(old.classes_)
        self.classes_ = classes
        return {"old": old, "X": X, "y": labels, "target": target, "old_cols": old_cols,
                "old_logits": old_logits, "old_right": old_right, "new_mask": new_mask}

    def fit(self, old_model: Any, X: Any, y: Any) -> "_Update":  # pragma: no cover - overridden
        raise NotImplementedError


class NaiveUpdate(_Update):
    """The new model trained independently on all the data with cross-entropy (the baseline every update beats).

    Args:
        model_params: NeuralClassifier settings overriding the old model's (e.g. ``{"epochs": 40}``).
        random_state: seed of the new model's weights, batch order and dropout.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``. progress: a tqdm bar.

    Attributes: ``model_`` (the new NeuralClassifier), ``classes_``, ``old_classes_``.
    """

    def fit(self, old_model: Any, X: Any, y: Any) -> "NaiveUpdate":
        """Train the widened recipe on ``X, y`` (``old_model`` only fixes the recipe and the class check)."""
        prep = self._prepare(old_model, X, y)
        self.model_ = self._new_classifier(prep["old"]).fit(prep["X"], prep["y"])
        return self


class FocalDistillationUpdate(_Update):
    """Positive-congruent training (Yan et al. 2021): cross-entropy plus focal distillation from the old model.

    Loss per sample: ``(1 - distill_weight) * CE(z, y) + distill_weight * (alpha + beta * [old right]) *
    D(z_old_classes, old_logits)``, ``D`` the temperature-``temperature`` KL (``distillation="kl"``) or half
    the squared logit difference (``"lm"``); see :mod:`trust.update.losses`.

    Args:
        distillation: ``"kl"`` or ``"lm"``. alpha, beta: the focal weights (1, 5). distill_weight: 0.9.
        temperature: of the KL form (1). model_params, random_state, device, progress: as :class:`NaiveUpdate`.
    """

    def __init__(self, *, distillation: str = "kl", alpha: float = 1.0, beta: float = 5.0,
                 distill_weight: float = 0.9, temperature: float = 1.0,
                 model_params: Mapping[str, Any] | None = None, random_state: Any = 0, device: str = "auto",
                 progress: bool = False) -> None:
        super().__init__(model_params=model_params, random_state=random_state, device=device, progress=progress)
        self.distillation = distillation
        self.alpha = alpha
        self.beta = beta
        self.distill_weight = distill_weight
        self.temperature = temperature

    def fit(self, old_model: Any, X: Any, y: Any) -> "FocalDistillationUpdate":
        """Train the widened recipe on ``X, y`` distilling ``old_model`` on the old-class logits."""
        kind = check_option(self.distillation, "distillation", DISTILLATIONS)
        alpha = check_scalar(self.alpha, "alpha", float, min_val=0.0)
        beta = check_scalar(self.beta, "beta", float, min_val=0.0)
        w = check_scalar(self.distill_weight, "distill_weight", float, min_val=0.0, max_val=1.0)
        temp = check_scalar(self.temperature, "temperature", float, min_val=0.0, include_boundaries="neither")
        prep = self._prepare(old_model, X, y)
        cols = torch.as_tensor(prep["old_cols"])

        def loss(net: nn.Module, x: torch.Tensor, t: torch.Tensor, old_logits: torch.Tensor,
                 old_right: torch.Tensor) -> torch.Tensor:
            z = net(x)
            ce = torch.nn.functional.cross_entropy(z, t, reduction="none")
            fd = focal_distillation(z[:, cols.to(z.device)], old_logits, old_right, alpha=alpha, beta=beta,
                                    kind=kind, temperature=temp)
            return (1.0 - w) * ce + w * fd

        self.model_ = self._new_classifier(prep["old"]).fit(
            prep["X"], prep["y"], loss=loss, extra=(prep["old_logits"], prep["old_right"]))
        return self


class MarginPreservingUpdate(_Update):
    """Margin-preserving training (Ricci et al., AAAI 2026): margin calibration + double-source focal distillation.

    Loss per sample: ``ce_weight * CE(z + b * [class is new], y) + old_weight * FD(z_old_classes, old model)
    + new_weight * FD(z, independent new model)``, each FD the temperature-``temperature`` KL weighted
    ``alpha + beta * [that teacher is right]`` (:mod:`trust.update.losses`). ``b`` shifts the new-class
    logits in training only: ``model_`` predicts with its plain logits.

    Args:
        b: the margin bias (4, the paper's default), or a list of candidates (the paper's grid: 0, 1, 2, 4),
            chosen on ``eval_set`` (see the module docstring for the rule).
        tolerance: accuracy a candidate ``b`` may lose against the independent new model on validation (0.01).
        temperature (5), alpha (1), beta (5), ce_weight, old_weight, new_weight (1 each): the loss above.
        model_params, random_state, device, progress: as :class:`NaiveUpdate`.

    Attributes:
        model_, b_ (the bias used), teacher_ (the independent new model), candidates_ (with a grid: per
        ``b`` its model and validation figures ``nfr``, ``accuracy``, ``old_class_accuracy``,
        ``new_class_accuracy``), classes_, old_classes_.
    """

    def __init__(self, b: float | Sequence[float] = 4.0, *, tolerance: float = 0.01, temperature: float = 5.0,
                 alpha: float = 1.0, beta: float = 5.0, ce_weight: float = 1.0, old_weight: float = 1.0,
                 new_weight: float = 1.0, model_params: Mapping[str, Any] | None = None, random_state: Any = 0,
                 device: str = "auto", progress: bool = False) -> None:
        super().__init__(model_params=model_params, random_state=random_state, device=device, progress=progress)
        self.b = b
        self.tolerance = tolerance
        self.temperature = temperature
        self.alpha = alpha
        self.beta = beta
        self.ce_weight = ce_weight
        self.old_weight = old_weight
        self.new_weight = new_weight

    def _grid(self) -> list[float]:
        values = list(self.b) if isinstance(self.b, (list, tuple, np.ndarray)) else [self.b]
        if not values:
            raise ConfigError("b is an empty list; give a bias (e.g. 4) or candidates (e.g. [0, 1, 2, 4])")
        return [check_scalar(v, "b", float, min_val=0.0) for v in values]

    def fit(self, old_model: Any, X: Any, y: Any, *, new_model: NeuralClassifier | None = None,
            eval_set: tuple[Any, Any] | None = None) -> "MarginPreservingUpdate":
        """Train on ``X, y`` with ``old_model`` and an independent new model as teachers.

        Args:
            new_model: the independently trained new model (a NeuralClassifier over the classes of ``y``);
                default: :class:`NaiveUpdate` with this update's settings, trained here.
            eval_set: ``(X_val, y_val)``, needed when ``b`` is a list of candidates.
        """
        grid = self._grid()
        tol = check_scalar(self.tolerance, "tolerance", float, min_val=0.0)
        temp = check_scalar(self.temperature, "temperature", float, min_val=0.0, include_boundaries="neither")
        weights = {k: check_scalar(getattr(self, k), k, float, min_val=0.0)
                   for k in ("alpha", "beta", "ce_weight", "old_weight", "new_weight")}
        if len(grid) > 1 and eval_set is None:
            raise ConfigError(f"b={list(grid)} is a grid; pass eval_set=(X_val, y_val) to choose on, or a single b")
        prep = self._prepare(old_model, X, y)
        if new_model is None:
            new_model = NaiveUpdate(model_params=self.model_params, random_state=self.random_state,
                                    device=self.device, progress=self.progress).fit(old_model, X, y).model_
        if not isinstance(new_model, NeuralClassifier) or getattr(new_model, "network_", None) is None:
            raise ConfigError(f"new_model must be a fitted NeuralClassifier, got {type(new_model).__name__}")
        if not np.array_equal(np.asarray(new_model.classes_), self.classes_):
            raise DataError(f"new_model knows classes {np.asarray(new_model.classes_).tolist()} but y holds "
                            f"{self.classes_.tolist()}; train it on the same classes")
        self.teacher_ = new_model
        teacher_logits = new_model.decision_function(prep["X"]).astype(np.float32)
        teacher_right = (teacher_logits.argmax(axis=1) == prep["target"]).astype(np.float32)
        cols = torch.as_tensor(prep["old_cols"])
        mask = torch.as_tensor(prep["new_mask"])
        a, be = weights["alpha"], weights["beta"]

        def make_loss(b: float):
            def loss(net: nn.Module, x: torch.Tensor, t: torch.Tensor, old_logits: torch.Tensor,
                     old_right: torch.Tensor, new_logits: torch.Tensor, new_right: torch.Tensor) -> torch.Tensor:
                z = net(x)
                out = weights["ce_weight"] * margin_calibration(z, t, mask.to(z.device), b)
                if weights["old_weight"]:
                    out = out + weights["old_weight"] * focal_distillation(
                        z[:, cols.to(z.device)], old_logits, old_right, alpha=a, beta=be, kind="kl", temperature=temp)
                if weights["new_weight"]:
                    out = out + weights["new_weight"] * focal_distillation(
                        z, new_logits, new_right, alpha=a, beta=be, kind="kl", temperature=temp)
                return out
            return loss

        extra = (prep["old_logits"], prep["old_right"], teacher_logits, teacher_right)
        self.candidates_ = []
        for b in grid:
            model = self._new_classifier(prep["old"]).fit(prep["X"], prep["y"], loss=make_loss(b), extra=extra)
            self.candidates_.append({"b": b, "model": model})
        if len(grid) == 1:
            self.b_, self.model_ = grid[0], self.candidates_[0]["model"]
            return self
        Xv = check_array(eval_set[0], "X_val", dtype=None, ndim=(2, 3, 4))
        yv = check_labels(eval_set[1], len(Xv), name="y_val")
        old_pred = prep["old"].predict(Xv)
        is_old = np.isin(yv, self.old_classes_)
        if not is_old.any():
            raise DataError("eval_set has no sample of an old class; the validation NFR needs some")
        ref = class_split_accuracy(yv, new_model.predict(Xv), old_classes=self.old_classes_)["accuracy"]
        for c in self.candidates_:
            pred = c["model"].predict(Xv)
            c["val"] = {"nfr": negative_flip_rate(yv[is_old], old_pred[is_old], pred[is_old]),
                        **class_split_accuracy(yv, pred, old_classes=self.old_classes_)}
        ok = [c for c in self.candidates_ if c["val"]["accuracy"] >= ref - tol]
        best = (min(ok, key=lambda c: (c["val"]["nfr"], -c["val"]["accuracy"])) if ok
                else max(self.candidates_, key=lambda c: c["val"]["accuracy"]))
        self.b_, self.model_ = best["b"], best["model"]
        self.teacher_val_accuracy_ = ref
        return self


__all__ = ["NaiveUpdate", "FocalDistillationUpdate", "MarginPreservingUpdate", "check_class_sets"]
