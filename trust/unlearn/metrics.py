"""Relearn time: how fast a model that claims to have forgotten some rows learns them back.

:func:`relearn_epochs` fine-tunes a copy (all layers, SGD, lr ``lr``, momentum 0.9, batch 32) on the forget
rows with their true labels, mixed with as many retained rows, until the accuracy on the forget rows reaches
``target_accuracy`` (0.5); 0 when it already does, ``max_epochs + 1`` when it does not within the cap. The
mixed retained rows keep "predict the forget class everywhere" from reaching 0.5 at once. A model that only
hides a class relearns it faster than one retrained without it (the concept-unlearning paper's relearn
time). The certificate (:func:`trust.unlearn.certify`, ``relearn=True``) reports it beside the reference's.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from trust._validation import check_random_state


def _accuracy(model: Any, X: Any, y: np.ndarray) -> float:
    if len(y) == 0:
        return float("nan")
    return float(np.mean(model.predict(X) == y))


def relearn_epochs(model: Any, forget: tuple[Any, Any], retain: tuple[Any, Any], *,
                   max_epochs: int = 10, lr: float = 1e-3, target_accuracy: float = 0.5,
                   random_state: Any = 0) -> float:
    """Epochs of fine-tuning (see the module docstring) until forget accuracy reaches ``target_accuracy``.

    0 when it already does; ``max_epochs + 1`` when it does not within ``max_epochs``. ``model`` is not changed.
    """
    from trust.models.training import Callback
    from trust.unlearn.tuning import finetune

    Xf, yf = forget
    Xr, yr = retain
    if _accuracy(model, Xf, yf) >= target_accuracy:
        return 0.0
    rng = check_random_state(random_state)
    pick = rng.choice(len(yr), min(len(yr), len(yf)), replace=False)
    X = np.concatenate([np.asarray(Xf), np.asarray(Xr)[pick]])
    y = np.concatenate([yf, yr[pick]])
    reached: list[int] = []
    probe = copy.copy(model)  # shares no weights with `model`: its network_ is replaced in the callback

    class _Until(Callback):
        def __init__(self) -> None:
            self.network = None

        def on_train_begin(self, net: Any) -> None:
            self.network = net

        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
            probe.network_ = self.network
            self.network.eval()
            hit = _accuracy(probe, Xf, yf) >= target_accuracy
            self.network.train()
            if hit:
                reached.append(epoch + 1)
            return hit

    finetune(model, X, y, trainable="all", epochs=max_epochs, lr=lr, optimizer="sgd", momentum=0.9,
             batch_size=32, callbacks=[_Until()], random_state=rng)
    return float(reached[0]) if reached else float(max_epochs + 1)



__all__ = ["relearn_epochs"]
