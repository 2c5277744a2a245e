"""Baselines RCAL is compared with, in the same harness (same networks, same loop, same inputs).

:class:`NoisyLabelBaseline` ``(method=...)`` trains a network of :mod:`trust.models.networks` from
scratch on the noisy labels through :func:`trust.models.training.fit_torch`:

- ``"ce"``: cross-entropy.
- ``"logit_adjusted"``: the logit-adjusted loss of Menon et al. (ICLR 2021),
  ``CE(f(x) + tau log pi, y)`` with ``pi`` the (noisy) label frequencies; predictions use ``f(x)``.
- ``"class_balanced"``: cross-entropy weighted per class by the effective number of samples (Cui et
  al., CVPR 2019), ``w_c = (1 - b) / (1 - b^{n_c})`` normalised to ``sum_c w_c = K``.
- ``"confident_learning"``: confident learning (Northcutt et al., JAIR 2021) implemented here:
  out-of-sample probabilities by ``cv_folds``-fold cross-validation of the ``"ce"`` model, then
  :func:`find_label_issues`; the flagged rows are dropped and a ``"ce"`` model is retrained on the rest.

:func:`find_label_issues` (also used by ``trust noisy audit``): with out-of-sample probabilities
``P`` and given labels ``y``, the per-class threshold is ``t_j = mean(P[i, j] : y_i = j)``; row ``i``
is counted in the confident joint at ``(y_i, j*)``, ``j* = argmax_{j : P[i, j] >= t_j} P[i, j]`` (rows
above no threshold are not counted); the joint is calibrated so each row ``r`` sums to the count of
label ``r``; then for every off-diagonal cell ``(r, j)`` the ``round(C[r, j])`` rows labelled ``r``
with the largest margin ``P[i, j] - P[i, r]`` are flagged ("prune by noise rate", cleanlab's
default). cleanlab itself is AGPL-3.0 and is not used.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin

from trust._validation import check_array, check_is_fitted, check_labels, check_option, check_random_state, check_scalar, fork_seed
from trust.errors import DataError
from trust.models.classifier import network_layout
from trust.models.networks import build_network
from trust.models.training import fit_torch, resolve_device

METHODS = ("ce", "logit_adjusted", "class_balanced", "confident_learning")


def find_label_issues(y: Any, proba: Any) -> np.ndarray:
    """``(n,)`` bool: rows whose given label ``y`` confident learning flags, from out-of-sample ``proba``."""
    P = check_array(proba, "proba", ndim=2)
    labels = check_labels(y, len(P), n_classes=P.shape[1])
    n, K = P.shape
    counts = np.bincount(labels, minlength=K)
    thresholds = np.array([P[labels == j, j].mean() if counts[j] else np.inf for j in range(K)])
    above = P >= thresholds[None, :] - 1e-12
    masked = np.where(above, P, -np.inf)
    jstar = masked.argmax(axis=1)
    counted = above.any(axis=1)
    C = np.zeros((K, K))
    np.add.at(C, (labels[counted], jstar[counted]), 1)
    row = C.sum(axis=1, keepdims=True)
    C = np.where(row > 0, C / np.where(row > 0, row, 1) * counts[:, None], 0.0)
    issues = np.zeros(n, dtype=bool)
    for r in range(K):
        rows = np.flatnonzero(labels == r)
        for j in range(K):
            k = int(round(C[r, j]))
            if j == r or k == 0:
                continue
            margin = P[rows, j] - P[rows, r]
            issues[rows[np.argsort(-margin, kind="stable")[:k]]] = True
    return issues


class NoisyLabelBaseline(ClassifierMixin, BaseEstimator):
    """A baseline for noisy long-tailed labels (``method``: see the module docstring).

    Args:
        method: ``"ce"``, ``"logit_adjusted"``, ``"class_balanced"`` or ``"confident_learning"``.
        network, channels, hidden: the network (:func:`trust.models.networks.build_network`).
        epochs, lr, batch_size, weight_decay: the training loop's.
        tau: logit adjustment's temperature (Menon et al.: 1). cb_beta: class-balanced ``b``.
        cv_folds: confident learning's cross-validation folds.
        n_classes, device, random_state: as everywhere.

    Attributes: classes_, network_, prior_ (label frequencies), label_issues_ (confident learning:
    the flagged rows of the training set).
    """

    def __init__(self, method: str = "ce", *, network: str = "cnn", channels: Sequence[int] = (32, 64, 128),
                 hidden: Sequence[int] = (128, 128), epochs: int = 30, lr: float = 1e-3, batch_size: int = 128,
                 weight_decay: float = 0.0, tau: float = 1.0, cb_beta: float = 0.999, cv_folds: int = 3,
                 n_classes: int | None = None, device: str = "auto", random_state: Any = 0) -> None:
        self.method = method
        self.network = network
        self.channels = channels
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.tau = tau
        self.cb_beta = cb_beta
        self.cv_folds = cv_folds
        self.n_classes = n_classes
        self.device = device
        self.random_state = random_state

    def _layout(self, X: Any, name: str = "X") -> np.ndarray:
        return network_layout(X, check_option(self.network, "network", ("cnn", "cnn1d", "mlp")), name)

    def _train(self, arr: np.ndarray, labels: np.ndarray, K: int, method: str, rng: np.random.Generator):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(fork_seed(rng))
            net = build_network(self.network, arr.shape[1:], K, hidden=self.hidden, channels=self.channels)
        counts = np.bincount(labels, minlength=K).astype(float)
        weight = None
        offset = torch.zeros(K)
        if method == "class_balanced":
            eff = (1.0 - self.cb_beta) / (1.0 - self.cb_beta ** np.maximum(counts, 1))
            w_c = eff / eff.sum() * K
            weight = w_c[labels]
        elif method == "logit_adjusted":
            offset = torch.as_tensor(self.tau * np.log(np.maximum(counts, 1) / counts.sum()), dtype=torch.float32)
        dev = resolve_device(self.device)
        offset = offset.to(dev)

        def loss_fn(model, x, y):
            return F.cross_entropy(model(x) + offset, y, reduction="none")

        fit_torch(net, loss_fn, (arr, labels), epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                  weight_decay=self.weight_decay, sample_weight=weight, random_state=rng, device=dev)
        return net

    def _logits(self, net, arr: np.ndarray) -> np.ndarray:
        dev = next(net.parameters()).device
        net.eval()
        with torch.no_grad():
            return np.concatenate([net(torch.as_tensor(arr[i:i + 1024], device=dev)).cpu().numpy()
                                   for i in range(0, len(arr), 1024)]).astype(np.float64)

    def fit(self, X: Any, y: Any) -> "NoisyLabelBaseline":
        """Train on ``X`` and its noisy labels ``y``; returns self."""
        check_option(self.method, "method", METHODS)
        check_scalar(self.tau, "tau", float, min_val=0.0)
        check_scalar(self.cb_beta, "cb_beta", float, min_val=0.0, max_val=1.0, include_boundaries="left")
        check_scalar(self.cv_folds, "cv_folds", int, min_val=2)
        arr = self._layout(X)
        labels = check_labels(y, len(arr), n_classes=self.n_classes)
        K = self.n_classes or int(labels.max()) + 1
        if K < 2:
            raise DataError("y holds a single class; a classifier needs at least 2 classes")
        rng = check_random_state(self.random_state)
        self.classes_ = np.arange(K)
        self.input_shape_ = tuple(arr.shape[1:])
        self.prior_ = np.bincount(labels, minlength=K) / len(labels)
        self.label_issues_ = None
        keep = np.ones(len(labels), dtype=bool)
        if self.method == "confident_learning":
            self.label_issues_ = find_label_issues(labels, self.out_of_sample_proba(arr, labels, K, rng))
            keep = ~self.label_issues_
        method = "ce" if self.method == "confident_learning" else self.method
        self.network_ = self._train(arr[keep], labels[keep], K, method, rng)
        return self

    def out_of_sample_proba(self, arr: np.ndarray, labels: np.ndarray, K: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, K)`` probabilities of each row from a ``"ce"`` model not trained on it (``cv_folds`` folds)."""
        folds = np.empty(len(labels), dtype=int)
        for c in range(K):  # stratified: each class's rows dealt round the folds in a seeded order
            rows = rng.permutation(np.flatnonzero(labels == c))
            folds[rows] = np.arange(len(rows)) % self.cv_folds
        P = np.zeros((len(labels), K))
        for f in range(self.cv_folds):
            test = folds == f
            net = self._train(arr[~test], labels[~test], K, "ce", rng)
            z = self._logits(net, arr[test])
            e = np.exp(z - z.max(axis=1, keepdims=True))
            P[test] = e / e.sum(axis=1, keepdims=True)
        return P

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``f(x)``, ``(N, K)`` (without logit adjustment's training offset)."""
        check_is_fitted(self, "network_")
        arr = self._layout(X)
        if tuple(arr.shape[1:]) != tuple(self.input_shape_):
            raise DataError(f"X has samples of shape {tuple(arr.shape[1:])}, the model was fitted on {self.input_shape_}")
        return self._logits(self.network_, arr)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax probabilities, ``(N, K)``."""
        z = self.decision_function(X)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


__all__ = ["METHODS", "find_label_issues", "NoisyLabelBaseline"]
