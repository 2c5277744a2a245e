"""Seeded, stratified splits: train/test/holdout of tables, train/validation/test of arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from trust._validation import check_labels, check_scalar
from trust.data.io import check_unique_columns
from trust.errors import ConfigError, DataError


@dataclass(frozen=True)
class Splits:
    """Three disjoint parts of a table.

    ``train`` fits models; ``test`` measures utility; ``holdout`` is data the models never see,
    the reference population for privacy audits (distance to closest record, membership inference).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    holdout: pd.DataFrame

    def items(self):
        return (("train", self.train), ("test", self.test), ("holdout", self.holdout))


def split_table(
    df: pd.DataFrame,
    *,
    test_size: float = 0.2,
    holdout_size: float = 0.2,
    stratify: str | None = None,
    seed: int = 0,
) -> Splits:
    """Split ``df`` into train/test/holdout with the given fractions, stratified on ``stratify``.

    The same ``seed`` always yields the same rows in each part. Indexes are reset.
    """
    for key, v in (("test_size", test_size), ("holdout_size", holdout_size)):
        check_scalar(v, key, float, min_val=0.0, max_val=1.0, include_boundaries="neither")
    seed = check_scalar(seed, "seed", int, min_val=0)
    if test_size + holdout_size >= 1.0:
        raise ConfigError(
            f"test_size + holdout_size = {test_size + holdout_size:g} leaves no training rows; make them sum below 1"
        )
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"split_table needs a pandas DataFrame, got {type(df).__name__}")
    check_unique_columns(df)
    seed = check_scalar(seed, "seed", int, min_val=0, max_val=2**32 - 2)
    if stratify is not None and stratify not in df.columns:
        raise DataError(f"stratification column '{stratify}' is missing from the data")
    if len(df) < 10:
        raise DataError(f"the table has {len(df)} rows; splitting needs at least 10")
    strat = df[stratify] if stratify is not None else None
    if strat is not None:
        if strat.isna().any():
            raise DataError(f"stratification column '{stratify}' has missing values; drop those rows or fill them "
                            "before splitting")
        counts = strat.value_counts()
        if (counts < 3).any():
            raise DataError(f"stratification column '{stratify}' has a class ({counts.idxmin()!r}) with fewer than 3 "
                            "rows, too few to put one in each part; merge or drop that class, or split without "
                            "stratifying")
    try:
        rest, test = train_test_split(df, test_size=test_size, random_state=seed, stratify=strat)
        strat_rest = rest[stratify] if stratify is not None else None
        train, holdout = train_test_split(
            rest, test_size=holdout_size / (1.0 - test_size), random_state=seed + 1, stratify=strat_rest
        )
    except ValueError as e:  # e.g. a test part smaller than the number of classes
        first = str(e).splitlines()[0]
        raise DataError(f"cannot split stratified on '{stratify}': {first}; use larger test/holdout fractions or "
                        "split without stratifying") from None
    return Splits(*(part.reset_index(drop=True) for part in (train, test, holdout)))


@dataclass(frozen=True)
class ArraySplits:
    """Row indices (sorted, disjoint) of the train, validation and test parts of an array dataset."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def items(self):
        return (("train", self.train), ("val", self.val), ("test", self.test))


def _check_strata(labels: np.ndarray, what: str) -> None:
    counts = np.bincount(labels)
    thin = [c for c in np.flatnonzero(counts) if counts[c] < 2]
    if thin:
        raise DataError(f"class {int(thin[0])} has {int(counts[thin[0]])} sample in {what}; a stratified split needs at "
                        "least 2 per class: drop the class (trust.data.labels.drop_classes) or add samples")


def _stratified(index: np.ndarray, labels: np.ndarray, size: float, seed: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    _check_strata(labels, what)
    try:
        a, b = train_test_split(index, test_size=size, random_state=seed, stratify=labels)
    except ValueError as e:
        raise DataError(f"cannot split {what} stratified with size {size:g}: {str(e).splitlines()[0]} "
                        "Use a larger size or fewer classes") from None
    return np.sort(a), np.sort(b)


def split_arrays(y: Any, *, val_size: float = 0.2, test_size: float = 0.2, seed: Any = 0,
                 test_index: Any = None) -> ArraySplits:
    """Seeded stratified train / validation / test indices of labels ``y``.

    ``test_size`` and ``val_size`` are fractions of all rows. With ``test_index`` (a dataset's fixed
    test rows, e.g. MNIST-1D's) those rows are the test part and ``val_size`` is taken, stratified,
    from the others. The same seed always gives the same indices.

    Raises:
        ConfigError: sizes outside (0, 1) or leaving no training rows.
        DataError: a class with a single sample (it cannot be stratified), or parts too small to
            hold every class.
    """
    labels = check_labels(y)
    val_size = check_scalar(val_size, "val_size", float, min_val=0.0, max_val=1.0, include_boundaries="neither")
    seed = check_scalar(seed, "seed", int, min_val=0)
    n = len(labels)
    everything = np.arange(n)
    if test_index is not None:
        test = np.unique(check_labels(test_index, name="test_index"))
        if test.size and test.max() >= n:
            raise DataError(f"test_index holds row {int(test.max())} but there are {n} rows")
        rest = np.setdiff1d(everything, test)
        frac = val_size * n / max(len(rest), 1)
    else:
        test_size = check_scalar(test_size, "test_size", float, min_val=0.0, max_val=1.0, include_boundaries="neither")
        if test_size + val_size >= 1.0:
            raise ConfigError(f"val_size + test_size = {val_size + test_size:g} leaves no training rows; make them sum below 1")
        rest, test = _stratified(everything, labels, test_size, seed, "the data")
        frac = val_size / (1.0 - test_size)
    if not 0.0 < frac < 1.0:
        raise ConfigError(f"val_size={val_size:g} leaves no training rows besides the test rows; make it smaller")
    train, val = _stratified(rest, labels[rest], frac, seed + 1, "the rows outside the test part")
    return ArraySplits(train, val, test)


__all__ = ["Splits", "split_table", "ArraySplits", "split_arrays"]
