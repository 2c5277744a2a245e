"""Bags: how rows are grouped before only each group's mean response is released.

A *bagging* is an integer array ``bag_ids`` with one entry per row: ``bag_ids[i] = a`` puts row ``i``
in bag ``a`` (bags are numbered ``0 .. m-1``, every number used), and ``-1`` means the row is in no
bag (dropped; its label is never used). Every function of :mod:`trust.aggregate` takes bags in this
form; :func:`bag_indices` turns it into a list of row-index arrays.

Two strategies (:func:`make_bags`):

* ``"random"`` -- the paper's setting (Javanmard et al., ICLR 2024): rows are shuffled and cut into
  non-overlapping bags of exactly ``bag_size`` rows. When ``bag_size`` does not divide ``n`` the
  ``n mod bag_size`` left-over rows form an unequal last bag: dropped by default
  (``drop_last=True``, so every bag has exactly ``bag_size`` rows as in the paper) or kept as one
  smaller bag (``drop_last=False``).
* ``"feature_keyed"`` -- as real aggregation APIs do (e.g. ads conversion reports keyed by campaign
  and region): rows sharing a key value (one column or a tuple of columns) form a group. With
  ``bag_size=None`` each group is one bag, whatever its size. With a ``bag_size`` each group is
  shuffled and cut into chunks of ``bag_size`` rows (a bag never mixes keys); a group's left-over
  chunk (including a whole group smaller than ``bag_size``) is dropped when ``drop_last=True``
  (every bag then has exactly ``bag_size`` rows) and kept as a smaller bag otherwise.
  ``min_bag_size`` drops any bag smaller than it (a k-anonymity-style floor that real APIs apply).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trust._validation import check_option, check_random_state, check_scalar
from trust.errors import ConfigError, DataError

STRATEGIES = ("random", "feature_keyed")


def _check_size(bag_size, n: int, what: str = "bag_size") -> int:
    return check_scalar(bag_size, what, int, min_val=1, max_val=n)


def make_bags(n: int, bag_size: int | None, strategy: str = "random", *, keys=None, drop_last: bool = True,
              min_bag_size: int = 1, random_state=None) -> np.ndarray:
    """Assign ``n`` rows to disjoint bags.

    Args:
        n: number of rows.
        bag_size: rows per bag ``k`` (``1 <= k <= n``); for ``"feature_keyed"`` may be ``None`` (one bag per key).
        strategy: ``"random"`` (equal-size uniformly random bags, the paper's setting) or ``"feature_keyed"``.
        keys: for ``"feature_keyed"``: an array of ``n`` key values, or an ``(n, p)`` array / DataFrame whose rows
            are key tuples.
        drop_last: drop the unequal left-over bag (random) or each group's left-over chunk (keyed); default True
            so that every bag has exactly ``bag_size`` rows, as the paper assumes. Dropped rows get id ``-1``.
        min_bag_size: bags with fewer rows are dropped (ids ``-1``).
        random_state: seed or ``numpy.random.Generator`` (the shuffle of rows).

    Returns:
        ``bag_ids``: int64 array of length ``n``; bags numbered ``0 .. m-1`` in random order, ``-1`` = no bag.

    Raises:
        ConfigError: ``bag_size`` < 1 or > n, unknown strategy, missing keys, or no bag left.
    """
    n = check_scalar(n, "n", int, min_val=1)
    check_option(strategy, "strategy", STRATEGIES)
    check_scalar(min_bag_size, "min_bag_size", int, min_val=1)
    rng = check_random_state(random_state)
    ids = np.full(n, -1, dtype=np.int64)
    if strategy == "random":
        if bag_size is None:
            raise ConfigError("random bags need a bag_size; pass bag_size=k (1 <= k <= n)")
        k = _check_size(bag_size, n)
        perm = rng.permutation(n)
        full = n // k
        ids[perm[: full * k]] = np.arange(full * k) // k
        if not drop_last and full * k < n:
            ids[perm[full * k:]] = full
    else:
        if keys is None:
            raise ConfigError("feature_keyed bags need keys (one key value per row); pass keys=... or use 'random'")
        codes = _key_codes(keys, n)
        k = None if bag_size is None else _check_size(bag_size, n)
        perm = rng.permutation(n)
        order = perm[np.argsort(codes[perm], kind="stable")]  # grouped by key, shuffled within key
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        ends = np.r_[starts[1:], n]
        next_id = 0
        for s, e in zip(starts, ends):
            size = e - s
            if k is None:
                ids[order[s:e]] = next_id
                next_id += 1
                continue
            full = size // k
            if full:
                ids[order[s:s + full * k]] = next_id + np.arange(full * k) // k
                next_id += full
            if size > full * k and not drop_last:
                ids[order[s + full * k:e]] = next_id
                next_id += 1
    if min_bag_size > 1:
        ids = _drop_small(ids, min_bag_size)
    used = ids[ids >= 0]
    if used.size == 0:
        raise ConfigError(f"no bag is left (n={n}, bag_size={bag_size}, drop_last={drop_last}, "
                          f"min_bag_size={min_bag_size}); use a smaller bag size or drop_last=False")
    # renumber bags 0..m-1 in a random order (bag numbers carry no information about rows)
    uniq = np.unique(used)
    relabel = np.full(int(uniq.max()) + 1, -1, dtype=np.int64)
    relabel[uniq] = rng.permutation(len(uniq))
    out = np.full(n, -1, dtype=np.int64)
    out[ids >= 0] = relabel[ids[ids >= 0]]
    return out


def _key_codes(keys, n: int) -> np.ndarray:
    """One integer code per row for the key value (or key tuple)."""
    import pandas as pd

    if isinstance(keys, pd.DataFrame):
        frame = keys
    elif isinstance(keys, pd.Series):
        frame = keys.to_frame()
    else:
        arr = np.asarray(keys, dtype=object)
        frame = pd.DataFrame(arr.reshape(len(arr), -1) if arr.ndim <= 2 else arr)
    if len(frame) != n:
        raise DataError(f"keys have {len(frame)} rows but n={n}; pass one key value per row")
    if frame.isna().to_numpy().any():
        raise DataError("bag keys contain missing values; fill them (e.g. with 'unknown') before bagging")
    codes = frame.groupby(list(frame.columns), sort=True, dropna=False).ngroup().to_numpy()
    return codes.astype(np.int64)


def _drop_small(ids: np.ndarray, min_bag_size: int) -> np.ndarray:
    ids = ids.copy()
    valid = ids >= 0
    if valid.any():
        counts = np.bincount(ids[valid])
        small = counts < min_bag_size
        ids[valid & small[np.where(valid, ids, 0)]] = -1
    return ids


def check_bags(bag_ids, n: int | None = None) -> tuple[np.ndarray, int]:
    """Validate a bagging; returns ``(bag_ids as int64, number of bags m)``.

    Raises DataError unless ids are integers >= -1 and bags ``0 .. m-1`` are all non-empty.
    """
    ids = np.asarray(bag_ids)
    if ids.ndim != 1:
        raise DataError(f"bag_ids must be a 1-d array with one bag number per row, got shape {ids.shape}")
    if n is not None and len(ids) != n:
        raise DataError(f"bag_ids has {len(ids)} entries but there are {n} rows; pass one bag number per row")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        if not np.all(np.isfinite(ids)) or not np.all(ids == np.round(ids)):
            raise DataError("bag_ids must be whole numbers (bag numbers 0..m-1, or -1 for rows in no bag)")
    ids = ids.astype(np.int64)
    if ids.size and ids.min() < -1:
        raise DataError(f"bag_ids has {int(ids.min())}; bag numbers are 0..m-1 and -1 marks a row in no bag")
    used = ids[ids >= 0]
    if used.size == 0:
        raise DataError("no row is in a bag (all bag_ids are -1); make bags with make_bags(...)")
    m = int(used.max()) + 1
    counts = np.bincount(used, minlength=m)
    if (counts == 0).any():
        missing = int(np.flatnonzero(counts == 0)[0])
        raise DataError(f"bag {missing} has no rows; number bags 0..m-1 without gaps (make_bags does)")
    return ids, m


def bag_sizes(bag_ids) -> np.ndarray:
    """Rows per bag, ``k_a`` for ``a = 0 .. m-1``."""
    ids, m = check_bags(bag_ids)
    return np.bincount(ids[ids >= 0], minlength=m)


def bag_indices(bag_ids) -> list[np.ndarray]:
    """The rows of each bag, as a list of index arrays (bag ``a`` is element ``a``)."""
    ids, m = check_bags(bag_ids)
    rows = np.flatnonzero(ids >= 0)
    order = rows[np.argsort(ids[rows], kind="stable")]
    return np.split(order, np.cumsum(np.bincount(ids[rows], minlength=m))[:-1])


def bag_means(values, bag_ids) -> np.ndarray:
    """The aggregate response of each bag: the mean of ``values`` over its rows (rows with id -1 ignored).

    ``values`` may be ``(n,)`` or ``(n, p)``; returns ``(m,)`` or ``(m, p)``.
    """
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DataError("bag_means needs numeric values; got values that are not numbers") from None
    ids, m = check_bags(bag_ids, len(v))
    keep = ids >= 0
    counts = np.bincount(ids[keep], minlength=m).astype(float)
    if v.ndim == 1:
        return np.bincount(ids[keep], weights=v[keep], minlength=m) / counts
    out = np.zeros((m,) + v.shape[1:])
    np.add.at(out, ids[keep], v[keep])
    return out / counts.reshape((-1,) + (1,) * (v.ndim - 1))


def clipped_share(y, clip: float, *, center: float = 0.0, scale: float = 1.0) -> float:
    """Share of the responses whose standardised value ``(y - center) / scale`` lies at or beyond ``+-clip``.

    A label-DP release clips every response to ``[-clip, clip]``; when most responses are clipped (e.g. raw
    dollars with the default ``center=0, scale=1``) the released means are all near ``+-clip`` and the model
    learns a constant. Callers warn when this share is large (the CLI: above one half).
    """
    z = (np.asarray(y, dtype=float).reshape(-1) - float(center)) / float(scale)
    if z.size == 0:
        return 0.0
    return float(np.mean(np.abs(z) >= float(clip)))


#: A label-DP release warns (:class:`ClippingWarning`) when more than this share of the responses is clipped.
CLIPPED_WARN_SHARE = 0.5


class ClippingWarning(UserWarning):
    """Most responses lie beyond the clip bound: the released bag means carry little signal."""


def warn_if_mostly_clipped(y, clip: float, *, center: float = 0.0, scale: float = 1.0) -> float:
    """Warn (:class:`ClippingWarning`) when more than :data:`CLIPPED_WARN_SHARE` of the responses are clipped;
    returns the share (:func:`clipped_share`).

    It reads the responses themselves: for non-private use only. A label-DP release warns from its noisy
    output instead (:func:`trust.aggregate.dp.warn_if_release_saturated`)."""
    import warnings

    share = clipped_share(y, clip, center=center, scale=scale)
    if share > CLIPPED_WARN_SHARE:
        warnings.warn(f"most responses are clipped to +-{float(clip):g} after (y - {float(center):g}) / "
                      f"{float(scale):g}: the released means carry little signal and a model learns a near-constant; "
                      "declare a public center and scale of the response's range (CLI: --center, --scale) or a "
                      "larger clip",
                      ClippingWarning, stacklevel=3)
    return share


def split_bags(bag_ids, val_fraction: float = 0.2, random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """Split bags (not rows) into train and validation bags; returns the two sorted arrays of bag numbers."""
    ids, m = check_bags(bag_ids)
    check_scalar(val_fraction, "val_fraction", float, min_val=0.0, max_val=1.0, include_boundaries="neither")
    if m < 2:
        raise DataError(f"only {m} bag: need at least 2 bags to hold some out for validation; use smaller bags")
    n_val = min(m - 1, max(1, int(round(val_fraction * m))))
    perm = check_random_state(random_state).permutation(m)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def subset_bags(bag_ids, keep: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Restrict a bagging to the bags ``keep``: returns ``(row mask, new bag ids of those rows)``.

    New ids are ``0 .. len(keep)-1`` in the order of ``keep``, so ``bag_responses[keep]`` lines up.
    """
    ids, m = check_bags(bag_ids)
    keep = np.asarray(keep, dtype=np.int64)
    relabel = np.full(m, -1, dtype=np.int64)
    relabel[keep] = np.arange(len(keep))
    new = np.where(ids >= 0, relabel[np.where(ids >= 0, ids, 0)], -1)
    mask = new >= 0
    return mask, new[mask]


__all__ = ["STRATEGIES", "make_bags", "check_bags", "bag_sizes", "bag_indices", "bag_means", "split_bags",
           "subset_bags", "clipped_share", "warn_if_mostly_clipped", "ClippingWarning", "CLIPPED_WARN_SHARE"]
