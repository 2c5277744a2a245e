"""The data transformer's fitted state per column: one typed, frozen record per column kind.

:class:`~trust.synth.transformer.DataTransformer` keeps one record per column (fitted from the rows,
or under DP from the histogram release) and asks it to encode and decode its values:

* :class:`CategoricalColumn`: the categories (declared or seen), whether missing is a category, and
  the (DP-released) count of each.
* :class:`GeneralColumn`: the ``general`` encoder's min-max range (in the log domain for ``log``
  columns), the value and missing counts.
* :class:`ModalColumn`: ``continuous`` and ``mixed`` columns: the kept mixture modes (weights, means,
  standard deviations), the point masses, and the counts of every mode.

The numeric records share :class:`NumericColumn`'s fields: integer and log flags, point masses, the
missing flag and counts, the fitted value range ``[min, max]``, the log shift ``lower`` and the
range in the transformed domain ``[tmin, tmax]``. Every record serialises with :meth:`to_dict` to the
same JSON the transformer has always saved, and :func:`column_from_dict` reads it back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
import pandas as pd

from trust.errors import DataError
from trust.synth.numeric import log_forward, log_inverse, plain


def posterior(x: np.ndarray, weights: np.ndarray, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """``p(k | x)`` for a 1-d Gaussian mixture, vectorised, shape ``(n, K)``."""
    z = (x[:, None] - means[None, :]) / stds[None, :]
    logp = np.log(weights)[None, :] - np.log(stds)[None, :] - 0.5 * z * z
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    p /= p.sum(axis=1, keepdims=True)
    return p


def _sample_rows(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One categorical draw per row of the probability matrix ``p`` (vectorised inverse-CDF) from the uniforms ``u``
    (one per row)."""
    cum = np.cumsum(p, axis=1)
    u = np.asarray(u)[:, None] * cum[:, -1:]
    return np.minimum((cum < u).sum(axis=1), p.shape[1] - 1)


def _floats(x: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in x)


@dataclass(frozen=True)
class CategoricalColumn:
    """A categorical column: one-hot over ``categories`` (+ a missing category when ``missing``)."""

    categories: tuple[Any, ...]
    missing: bool
    counts: tuple[float, ...]
    kind: ClassVar[str] = "categorical"

    @property
    def width(self) -> int:
        """Width of its one-hot block."""
        return len(self.categories) + (1 if self.missing else 0)

    def codes(self, name: str, col: pd.Series) -> np.ndarray:
        """Each value's index in the block (DataError for an unseen category or a missing value not allowed)."""
        codes = pd.Categorical(col, categories=list(self.categories)).codes.astype(np.int64)
        bad = (codes < 0) & col.notna().to_numpy()
        if bad.any():
            value = col[bad].iloc[0]
            raise DataError(f"column '{name}' holds category {value!r} that the transformer never saw; "
                            "declare it in the schema's categories or refit")
        miss = codes < 0
        if miss.any():
            if not self.missing:
                raise DataError(f"column '{name}' has missing values but was fitted without allow_missing; "
                                "declare allow_missing=True or clean the data")
            codes[miss] = len(self.categories)
        return codes

    def decode(self, block: np.ndarray) -> np.ndarray:
        """The values of the arg-max of each row of its one-hot ``block``."""
        values = np.empty(self.width, dtype=object)
        values[: len(self.categories)] = list(self.categories)
        if self.missing:
            values[-1] = np.nan
        return values[block.argmax(axis=1)]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "categories": [plain(c) for c in self.categories], "missing": bool(self.missing),
                "counts": list(_floats(self.counts))}


@dataclass(frozen=True)
class NumericColumn:
    """What every numeric column's record holds (see the module docstring)."""

    kind: str
    integer: bool
    log: bool
    masses: tuple[float, ...]
    missing: bool
    mass_counts: tuple[float, ...]
    missing_count: float
    min: float
    max: float
    lower: float
    tmin: float
    tmax: float

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Values clipped to the fitted range, then log-transformed for ``log`` columns."""
        v = np.clip(x, self.min, self.max)
        return log_forward(v, self.lower) if self.log else v

    def backward(self, t: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`forward` (clipped to the range, rounded for integer columns)."""
        x = np.clip(log_inverse(t, self.lower) if self.log else t, self.min, self.max)
        return np.round(x) if self.integer else x

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: (list(_floats(v)) if isinstance(v, tuple) else plain(v)) for k, v in d.items()}


@dataclass(frozen=True)
class GeneralColumn(NumericColumn):
    """A ``general`` column: min-max to [-1, 1] in the transformed domain; ``[value, missing]`` block if missing."""

    value_count: float = 0.0

    def mode_counts_block(self) -> np.ndarray | None:
        """Counts of its ``[value, missing]`` block (None: no block)."""
        return np.asarray([self.value_count, self.missing_count], dtype=float) if self.missing else None

    def scalar(self, x: np.ndarray) -> np.ndarray:
        """The tanh unit's target for present values ``x``."""
        width = self.tmax - self.tmin
        return (2.0 * (self.forward(x) - self.tmin) / width - 1.0) if width > 0 else np.zeros(len(x))

    def decode(self, a: np.ndarray, mode: np.ndarray | None) -> np.ndarray:
        """Values from the scalars ``a`` (in [-1, 1]) and, with missing allowed, the ``[value, missing]`` block."""
        x = self.backward((a + 1.0) / 2.0 * (self.tmax - self.tmin) + self.tmin)
        return np.where(mode.argmax(axis=1) == 1, np.nan, x) if mode is not None else x


@dataclass(frozen=True)
class ModalColumn(NumericColumn):
    """A ``continuous`` or ``mixed`` column: mode-specific normalisation; its mode block is
    ``[point masses..., missing?, continuous modes...]``."""

    weights: tuple[float, ...] = ()
    means: tuple[float, ...] = ()
    stds: tuple[float, ...] = ()
    mode_counts: tuple[float, ...] = ()

    @property
    def n_fixed(self) -> int:
        """Modes before the continuous ones: point masses and missing."""
        return len(self.masses) + (1 if self.missing else 0)

    def mode_counts_block(self) -> np.ndarray:
        """Counts of its mode block."""
        return np.asarray([*self.mass_counts, *([self.missing_count] if self.missing else []), *self.mode_counts],
                          dtype=float)

    def encode(self, name: str, x: np.ndarray, uniform: Callable[[np.ndarray], np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray]:
        """``(scalar, code)`` per row: the normalised value (0 for fixed modes) and the mode's index in the block.
        ``uniform(mask)``: one uniform per row selected by ``mask`` (the continuous values' mode draws)."""
        code = np.full(len(x), -1, dtype=np.int64)
        for j, m in enumerate(self.masses):
            code[(x == m) & (code < 0)] = j
        if self.missing:
            code[np.isnan(x)] = len(self.masses)
        scalar = np.zeros(len(x))
        cont = code < 0
        if cont.any():
            if len(self.weights) == 0:
                raise DataError(f"column '{name}' was fitted with point masses only but holds other values; "
                                "refit on data with continuous values")
            w, mu, sd = (np.asarray(v) for v in (self.weights, self.means, self.stds))
            t = self.forward(x[cont])
            k = _sample_rows(posterior(t, w, mu, sd), uniform(cont))
            scalar[cont] = np.clip((t - mu[k]) / (4.0 * sd[k]), -0.99, 0.99)
            code[cont] = self.n_fixed + k
        return scalar, code

    def decode(self, a: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """Values from the scalars ``a`` and the mode block (point masses and missing come back exactly)."""
        code = mode.argmax(axis=1)
        x = np.zeros(len(a))
        cont = code >= self.n_fixed
        if cont.any():
            mu, sd = np.asarray(self.means), np.asarray(self.stds)
            k = code[cont] - self.n_fixed
            x[cont] = self.backward(np.clip(a[cont] * 4.0 * sd[k] + mu[k], self.tmin, self.tmax))
        for j, m in enumerate(self.masses):
            x[code == j] = m
        if self.missing:
            x[code == len(self.masses)] = np.nan
        return x


ColumnState = CategoricalColumn | GeneralColumn | ModalColumn


def column_from_dict(d: Mapping[str, Any]) -> ColumnState:
    """The record of one column from its saved dict (:meth:`to_dict`, the transformer's JSON)."""
    d = dict(d)
    kind = d.get("kind")
    if kind == "categorical":
        return CategoricalColumn(tuple(d["categories"]), bool(d["missing"]), _floats(d["counts"]))
    cls = GeneralColumn if kind == "general" else ModalColumn
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: (_floats(v) if isinstance(v, list) else v) for k, v in d.items() if k in names}
    for k in ("integer", "log", "missing"):
        values[k] = bool(values[k])
    for k in ("missing_count", "min", "max", "lower", "tmin", "tmax", "value_count"):
        if k in values:
            values[k] = float(values[k])
    return cls(**values)


__all__ = ["posterior", "CategoricalColumn", "NumericColumn", "GeneralColumn", "ModalColumn", "ColumnState", "column_from_dict"]
