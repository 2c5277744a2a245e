"""Seeded, stratified train/test/holdout splits."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split

from trust._validation import check_scalar
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
        if not 0.0 < float(v) < 1.0:
            raise ConfigError(f"{key}={v} must lie strictly between 0 and 1")
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


__all__ = ["Splits", "split_table"]
