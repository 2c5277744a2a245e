"""Numeric helpers shared by the data transformer and the DP histogram release.

Both :mod:`trust.synth.transformer` and :mod:`trust.synth.dp_metadata` import from here (and not
from each other), so the two see the same log transform and the same split of a numeric column
into point masses, missing values and its continuous part.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trust.data.schema import ColumnSpec


def log_forward(x: np.ndarray, lower: float) -> np.ndarray:
    """The paper's log transform with shift ``lower`` (values below ``lower`` are clipped to it)."""
    x = np.maximum(np.asarray(x, dtype=float), lower)
    if lower > 0:
        return np.log(x)
    if lower == 0:
        return np.log1p(x)
    return np.log(x - lower + 1.0)


def log_inverse(y: np.ndarray, lower: float) -> np.ndarray:
    """Exact inverse of :func:`log_forward` for all three cases."""
    y = np.asarray(y, dtype=float)
    if lower > 0:
        return np.exp(y)
    if lower == 0:
        return np.expm1(y)
    return np.exp(y) + lower - 1.0


def split_numeric(spec: ColumnSpec, col: pd.Series) -> tuple[list[float], list[float], np.ndarray, np.ndarray]:
    """A numeric column's parts: ``(masses, mass_counts, missing_mask, continuous_values)``.

    Point masses (``mixed`` columns only) and missing values are taken out; every row lands in exactly one
    part. Shared by the transformer's fit and the DP histogram release, so both see the same split.
    """
    x = col.to_numpy(dtype=float)
    miss = np.isnan(x)
    masses = [float(m) for m in spec.point_masses] if spec.kind == "mixed" else []
    is_mass = np.zeros(len(x), dtype=bool)
    mass_counts = []
    for m in masses:
        hit = (x == m) & ~is_mass
        mass_counts.append(float(hit.sum()))
        is_mass |= hit
    return masses, mass_counts, miss, x[~miss & ~is_mass]


def plain(x: Any) -> Any:
    """A NumPy scalar as the Python scalar it holds (JSON-friendly); anything else unchanged."""
    return x.item() if isinstance(x, np.generic) else x


__all__ = ["log_forward", "log_inverse", "split_numeric", "plain"]
