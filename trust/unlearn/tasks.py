"""The unlearning tasks of the LAF paper, built from a trained model and its training rows.

:func:`make_task` returns the :class:`~trust.unlearn.UnlearnInputs` of one task:

- ``"class"``: forget every training row of ``forget_class``;
- ``"noisy"``: relabel ``noisy_rate`` of the training rows of ``noisy_classes`` wrongly (symmetric noise,
  :func:`trust.data.labels.add_label_noise`), train the model's recipe (``sklearn.base.clone``: same settings
  and seed) on those labels as the original, and forget exactly the relabelled rows (test accuracy should rise);
- ``"random"``: forget a random ``random_fraction`` of the training rows of ``random_classes`` (uninformative
  when a retrained model still classifies the removed rows: random rows of easy data are not memorised).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from trust._validation import check_labels, check_option, check_random_state, check_scalar

TASKS = ("class", "noisy", "random")


def make_task(model: Any, X: Any, y: Any, task: str, *, forget_class: int | None = None,
              noisy_classes: Sequence[int] = (0, 1, 2, 3, 4), noisy_rate: float = 0.6,
              random_classes: Sequence[int] = (5, 6, 7, 8, 9), random_fraction: float = 0.4,
              random_state: Any = 0, **inputs: Any):
    """The :class:`~trust.unlearn.UnlearnInputs` of ``task`` on the training rows ``X, y`` of ``model`` (module
    docstring); ``inputs``: the other fields (``test``, ``val``, ``fingerprint``, ``name``)."""
    from sklearn.base import clone

    from trust.data.labels import add_label_noise
    from trust.unlearn.protocol import UnlearnInputs

    check_option(task, "task", TASKS)
    X, labels = np.asarray(X), check_labels(y, len(X))
    rng = check_random_state(random_state)
    if task == "class":
        return UnlearnInputs.for_class(model, X, labels, forget_class, **inputs)
    k = len(model.classes_)
    if task == "noisy":
        rate = check_scalar(noisy_rate, "noisy_rate", float, min_val=0.0, max_val=1.0, include_boundaries="right")
        edit = add_label_noise(labels, rate, kind="symmetric", n_classes=k, random_state=rng)
        rows = np.sort(edit.changed[np.isin(labels[edit.changed], list(noisy_classes))])
        noisy = labels.copy()
        noisy[rows] = edit.y[rows]
        original = clone(model).set_params(n_classes=k, progress=False).fit(X, noisy)
        return UnlearnInputs.for_rows(original, X, noisy, rows, **inputs)
    frac = check_scalar(random_fraction, "random_fraction", float, min_val=0.0, max_val=1.0, include_boundaries="right")
    pool = np.flatnonzero(np.isin(labels, list(random_classes)))
    rows = np.sort(rng.choice(pool, size=max(1, int(round(frac * len(pool)))), replace=False))
    return UnlearnInputs.for_rows(model, X, labels, rows, **inputs)


__all__ = ["TASKS", "make_task"]
