"""Label edits the capabilities share, each returning what it changed so the change can be audited.

- :func:`keep_classes` / :func:`drop_classes`: the rows of some classes (optionally relabelled ``0..K'-1``).
- :func:`long_tail`: a seeded long-tailed subsample. Class ``c`` (in label order) keeps
  ``round(n_max * ratio ** (-c / (K - 1)))`` rows, ``n_max`` the smallest class count, so class 0
  keeps ``n_max`` and class ``K-1`` ``n_max / ratio`` (the exponential profile of Cao et al.,
  NeurIPS 2019, "LDAM"; they start from equal classes, here the smallest count plays that role).
- :func:`add_label_noise`: flips exactly ``round(rate * n_c)`` labels of each class ``c``, chosen at
  random (seeded), to another class:
  ``"symmetric"``: uniformly among the other ``K - 1`` classes;
  ``"pair"`` (asymmetric): to ``(c + 1) mod K``;
  ``"proportional"``: among the other classes with probability proportional to their sizes
  (class-size-proportional noise: big classes absorb more wrong labels).
  Conventions differ on whether symmetric noise may "flip" to the same class; here it never does,
  so ``rate`` is the realised share of wrong labels per class (up to rounding).

Every function returns a :class:`LabelEdit`: ``index`` (rows kept, into the input), ``y`` (their
labels after the edit), ``changed`` (positions in ``index`` whose label was changed) and
``summary`` (class counts before and after, and for noise the ``K x K`` count of true -> given
labels). The summary holds counts of the data it was given: it belongs to the audit trail, not to
a release.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

import numpy as np

from trust._validation import check_labels, check_option, check_random_state, check_scalar
from trust.errors import DataError

NOISE_KINDS = ("symmetric", "pair", "proportional")


@dataclasses.dataclass(frozen=True)
class LabelEdit:
    """What a label edit kept and changed (see the module docstring)."""

    index: np.ndarray
    y: np.ndarray
    changed: np.ndarray
    summary: dict[str, Any]


def _counts(y: np.ndarray, k: int) -> list[int]:
    return np.bincount(y, minlength=k).astype(int).tolist()


def _classes(classes: Iterable[Any], k: int) -> np.ndarray:
    arr = check_labels(np.asarray(list(classes)), name="classes")
    if arr.size == 0:
        raise DataError("classes is empty; name at least one class label")
    bad = arr[arr >= k]
    if bad.size:
        raise DataError(f"class {int(bad[0])} is not among the labels 0..{k - 1}")
    return np.unique(arr)


def keep_classes(y: Any, classes: Iterable[Any], *, relabel: bool = False) -> LabelEdit:
    """The rows whose label is in ``classes``; with ``relabel`` their labels become ``0..len(classes)-1``."""
    labels = check_labels(y)
    k = int(labels.max()) + 1 if labels.size else 0
    keep = _classes(classes, k)
    index = np.flatnonzero(np.isin(labels, keep))
    new = np.searchsorted(keep, labels[index]) if relabel else labels[index]
    return LabelEdit(index, new.astype(np.int64), np.flatnonzero(new != labels[index]),
                     {"kept_classes": keep.tolist(), "counts_before": _counts(labels, k),
                      "counts_after": _counts(new, len(keep) if relabel else k), "relabelled": bool(relabel)})


def drop_classes(y: Any, classes: Iterable[Any], *, relabel: bool = False) -> LabelEdit:
    """The rows whose label is not in ``classes`` (see :func:`keep_classes`)."""
    labels = check_labels(y)
    k = int(labels.max()) + 1 if labels.size else 0
    drop = _classes(classes, k)
    edit = keep_classes(labels, np.setdiff1d(np.arange(k), drop), relabel=relabel)
    return dataclasses.replace(edit, summary={**edit.summary, "dropped_classes": drop.tolist()})


def long_tail(y: Any, imbalance_ratio: float, *, random_state: Any = 0) -> LabelEdit:
    """A seeded long-tailed subsample with ``max count / min count = imbalance_ratio`` (module docstring)."""
    labels = check_labels(y)
    ratio = check_scalar(imbalance_ratio, "imbalance_ratio", float, min_val=1.0)
    rng = check_random_state(random_state)
    counts = np.bincount(labels)
    k = len(counts)
    if k < 2 or (counts == 0).any():
        raise DataError("long_tail needs labels 0..K-1 with every class present and K >= 2")
    n_max = int(counts.min())
    target = [max(1, int(round(n_max * ratio ** (-c / (k - 1))))) for c in range(k)]
    index = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), size=t, replace=False)
                                    for c, t in enumerate(target)]))
    return LabelEdit(index, labels[index], np.array([], dtype=np.int64),
                     {"imbalance_ratio": ratio, "counts_before": _counts(labels, k), "counts_after": target})


def add_label_noise(y: Any, rate: float, *, kind: str = "symmetric", n_classes: int | None = None,
                    random_state: Any = 0) -> LabelEdit:
    """Flip ``round(rate * n_c)`` labels of each class to another class (``kind``: module docstring)."""
    labels = check_labels(y, n_classes=n_classes)
    rate = check_scalar(rate, "rate", float, min_val=0.0, max_val=1.0)
    check_option(kind, "kind", NOISE_KINDS)
    rng = check_random_state(random_state)
    k = n_classes if n_classes is not None else int(labels.max()) + 1
    if k < 2:
        raise DataError("label noise needs at least 2 classes")
    sizes = np.bincount(labels, minlength=k).astype(float)
    noisy = labels.copy()
    for c in range(k):
        rows = np.flatnonzero(labels == c)
        flip = rng.choice(rows, size=int(round(rate * len(rows))), replace=False) if len(rows) else rows
        if flip.size == 0:
            continue
        others = np.delete(np.arange(k), c)
        if kind == "pair":
            noisy[flip] = (c + 1) % k
        elif kind == "symmetric":
            noisy[flip] = rng.choice(others, size=flip.size)
        else:
            w = sizes[others]
            if w.sum() == 0:
                raise DataError(f"class {c} is the only class present; proportional noise needs another class")
            noisy[flip] = rng.choice(others, size=flip.size, p=w / w.sum())
    transitions = np.zeros((k, k), dtype=int)
    np.add.at(transitions, (labels, noisy), 1)
    changed = np.flatnonzero(noisy != labels)
    return LabelEdit(np.arange(len(labels)), noisy, changed,
                     {"kind": kind, "rate": rate, "flipped": int(changed.size), "transitions": transitions.tolist(),
                      "counts_before": _counts(labels, k), "counts_after": _counts(noisy, k)})


__all__ = ["NOISE_KINDS", "LabelEdit", "keep_classes", "drop_classes", "long_tail", "add_label_noise"]
