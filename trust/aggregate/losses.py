"""Bag-level, instance-level and interpolating losses (Javanmard et al., ICLR 2024), in numpy.

Notation: rows ``i`` with predictions ``f_i``, bags ``a`` of ``k_a`` rows with aggregate response
``ybar_a``, ``n = sum_a k_a`` bagged rows, ``fbar_a`` the mean prediction over bag ``a``.

* bag-level:       ``L_bag = (1/n) sum_a k_a l(ybar_a, fbar_a)``
* instance-level:  ``L_ins = (1/n) sum_a sum_{i in a} l(ybar_a, f_i)``
* spread:          ``R     = (1/n) sum_a sum_{i in a} (f_i - fbar_a)^2``
* interpolating:   ``L_int = L_bag + rho * R``                       (squared loss)
                   ``L_int = (1 - rho) L_bag + rho L_ins``           (log-loss)

For squared loss ``L_ins = L_bag + R`` holds exactly, hence ``L_int = (1 - rho) L_bag + rho L_ins``:
rho = 0 is the bag-level loss and rho = 1 the instance-level loss. The paper writes the bag-level
loss as ``(1/m) sum_a l(...)`` for ``m`` bags of equal size ``k``; weighting each bag by
``k_a / n`` is the same thing for equal bags and is the weighting that keeps the decomposition
exact when bags are unequal (our extension, documented deviation). For the log-loss (bag label
proportions) the decomposition is not a variance, but ``L_ins - L_bag >= 0`` is the Jensen gap of
the log-loss over the bag, again a within-bag spread penalty, so the convex combination keeps the
same reading.
"""

from __future__ import annotations

import numpy as np

from trust.aggregate.bags import check_bags
from trust._validation import check_option, check_scalar
from trust.errors import DataError

LOSSES = ("squared", "log")
_EPS = 1e-12


def _prep(pred, bag_ids, bag_responses):
    f = np.asarray(pred, dtype=float).reshape(-1)
    ids, m = check_bags(bag_ids, len(f))
    y = np.asarray(bag_responses, dtype=float).reshape(-1)
    if len(y) != m:
        raise DataError(f"there are {m} bags but {len(y)} bag responses; pass one response per bag")
    keep = ids >= 0
    f, ids = f[keep], ids[keep]
    k = np.bincount(ids, minlength=m).astype(float)
    fbar = np.bincount(ids, weights=f, minlength=m) / k
    return f, ids, y, k, fbar


def _pointwise(y, p, loss: str):
    check_option(loss, "loss", LOSSES)
    if loss == "squared":
        return (y - p) ** 2
    p = np.clip(p, _EPS, 1 - _EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def bag_level_loss(pred, bag_ids, bag_responses, loss: str = "squared") -> float:
    """``(1/n) sum_a k_a l(ybar_a, fbar_a)``: the bag's mean prediction against its aggregate response."""
    f, ids, y, k, fbar = _prep(pred, bag_ids, bag_responses)
    return float(np.sum(k * _pointwise(y, fbar, loss)) / k.sum())


def instance_level_loss(pred, bag_ids, bag_responses, loss: str = "squared") -> float:
    """``(1/n) sum_i l(ybar_{a(i)}, f_i)``: every member's prediction against its bag's aggregate response."""
    f, ids, y, k, _ = _prep(pred, bag_ids, bag_responses)
    return float(np.mean(_pointwise(y[ids], f, loss)))


def within_bag_spread(pred, bag_ids) -> float:
    """``R = (1/n) sum_i (f_i - fbar_{a(i)})^2``: the spread of predictions inside bags."""
    f = np.asarray(pred, dtype=float).reshape(-1)
    ids, m = check_bags(bag_ids, len(f))
    keep = ids >= 0
    f, ids = f[keep], ids[keep]
    fbar = np.bincount(ids, weights=f, minlength=m) / np.bincount(ids, minlength=m)
    return float(np.mean((f - fbar[ids]) ** 2))


def interpolating_loss(pred, bag_ids, bag_responses, rho: float, loss: str = "squared") -> float:
    """``L_bag + rho * R`` for squared loss, ``(1 - rho) L_bag + rho L_ins`` for log-loss (see module doc)."""
    check_scalar(rho, "rho", float, min_val=0.0)
    if loss == "squared":
        return bag_level_loss(pred, bag_ids, bag_responses) + rho * within_bag_spread(pred, bag_ids)
    lb = bag_level_loss(pred, bag_ids, bag_responses, loss)
    return (1 - rho) * lb + rho * instance_level_loss(pred, bag_ids, bag_responses, loss)


__all__ = ["LOSSES", "bag_level_loss", "instance_level_loss", "within_bag_spread", "interpolating_loss"]
