"""Fine-tuning a copy of a fitted :class:`~trust.models.NeuralClassifier`: what every unlearning method does.

:func:`finetune` deep-copies the classifier (the input is never changed), freezes every parameter
outside ``trainable`` with a :class:`~trust.models.training.Callback` and trains the copy's network
with :func:`trust.models.training.fit_torch` on ``(X, y)`` (labels are classes of the model;
cross-entropy, per-sample weights allowed). ``trainable`` is ``"head"`` (the last, linear layer: the
paper's "all but the last layers frozen"), ``"all"``, or parameter-name prefixes such as
``["head", "body.6"]`` (see ``model.network_.named_parameters()``).

With ``trainable="head"`` the frozen representation is computed once (``model.embed``, eval mode) and
only the head is trained on it (``embed_once``): the same updates as a frozen body without dropout,
an order of magnitude faster; a custom ``loss`` then receives the head and the embeddings.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import numpy as np
import torch.nn.functional as F

from trust._validation import check_is_fitted, check_labels
from trust.errors import ConfigError, DataError
from trust.models.training import Callback, fit_torch


def _prefixes(trainable: str | Sequence[str]) -> tuple[str, ...] | None:
    if trainable == "all":
        return None
    if trainable == "head":
        return ("head.",)
    if isinstance(trainable, str) or not all(isinstance(p, str) and p for p in trainable) or not trainable:
        raise ConfigError(f"trainable={trainable!r} must be 'head', 'all' or a list of parameter-name prefixes "
                          "such as ['head', 'body.6']")
    return tuple(trainable)


def model_targets(model: Any, y: Any, name: str = "y") -> np.ndarray:
    """Labels ``y`` as the positions of the model's output columns (``classes_``); DataError for an unknown class."""
    labels = check_labels(y, name=name)
    classes = np.asarray(model.classes_)
    pos = np.searchsorted(classes, labels)
    bad = (pos >= len(classes)) | (classes[np.minimum(pos, len(classes) - 1)] != labels)
    if bad.any():
        raise DataError(f"{name} holds class {int(labels[bad][0])}, which the model does not know "
                        f"(its classes: {classes.tolist()}); pass labels among the model's classes")
    return pos


class FreezeExcept(Callback):
    """A fit_torch callback: ``requires_grad=False`` on every parameter outside ``prefixes`` (None: train all)."""

    def __init__(self, prefixes: tuple[str, ...] | None) -> None:
        self.prefixes = prefixes

    def _trains(self, name: str) -> bool:
        return self.prefixes is None or any(name.startswith(p) or name == p.rstrip(".") for p in self.prefixes)

    def on_train_begin(self, model: Any) -> None:
        names = [n for n, _ in model.named_parameters()]
        if not any(self._trains(n) for n in names):
            raise ConfigError(f"trainable prefixes {list(self.prefixes or ())} match no parameter; the network's "
                              f"layers are {sorted({n.rsplit('.', 1)[0] for n in names})}")
        for n, p in model.named_parameters():
            p.requires_grad_(self._trains(n))


def finetune(model: Any, X: Any, y: Any, *, trainable: str | Sequence[str] = "head", epochs: int = 20,
             lr: float = 1e-3, optimizer: str = "sgd", momentum: float = 0.9, batch_size: int = 32,
             weight_decay: float = 0.0, sample_weight: Any = None, loss: Callable[..., Any] | None = None,
             callbacks: Sequence[Any] = (), random_state: Any = 0, device: str | None = None,
             embed_once: bool | None = None) -> Any:
    """A fine-tuned COPY of the fitted classifier ``model`` (``model`` itself is left as it is).

    Args:
        X, y: training rows and labels (classes of ``model``).
        trainable: ``"head"``, ``"all"`` or parameter-name prefixes (the rest is frozen).
        epochs, lr, optimizer, momentum, batch_size, weight_decay, sample_weight: fit_torch's settings
            (defaults: the paper's SGD, lr 1e-3, momentum 0.9, batch 32).
        loss: ``loss(network, x, target) -> per-sample losses``; default cross-entropy.
        callbacks: further fit_torch callbacks (after the freezing one).
        device: where to train (default: where the model is).
        embed_once: train the head alone on embeddings computed once (default: when ``trainable="head"``);
            ``loss`` and ``callbacks`` then see ``network_.head`` and embeddings. Frozen dropout layers
            are in eval mode this way (no dropout), unlike a full forward pass in train mode.

    Returns the copy, with ``history_`` replaced by the fine-tuning's history. After training every
    parameter is trainable again (``requires_grad`` restored), so the copy can be fine-tuned further.
    """
    check_is_fitted(model, "network_")
    prefixes = _prefixes(trainable)
    if embed_once is None:
        embed_once = trainable == "head"
    if embed_once and trainable != "head":
        raise ConfigError("embed_once=True trains the head only; use trainable='head' with it")
    Xn = model.network_input(X)
    if len(Xn) == 0:
        raise DataError("there are no rows to fine-tune on; pass at least one row")
    target = model_targets(model, y)
    if len(target) != len(Xn):
        raise DataError(f"y has {len(target)} labels but X has {len(Xn)} rows; give one label per row")
    clone = copy.deepcopy(model)
    if loss is None:
        def loss(net, x, t):
            return F.cross_entropy(net(x), t, reduction="none")
    net = clone.network_
    if embed_once:
        Xn = clone.embed(X).astype(np.float32)   # (n, embed_dim): the frozen body's output, once
        net, prefixes = clone.network_.head, None
    history = fit_torch(net, loss, (Xn, target), epochs=epochs, batch_size=batch_size, lr=lr,
                        weight_decay=weight_decay, optimizer=optimizer, momentum=momentum,
                        sample_weight=sample_weight, callbacks=[FreezeExcept(prefixes), *callbacks],
                        random_state=random_state, device=device or clone.device_)
    clone.network_.eval()
    for p in clone.network_.parameters():
        p.requires_grad_(True)
    clone.history_ = history
    return clone


__all__ = ["finetune", "model_targets", "FreezeExcept"]
