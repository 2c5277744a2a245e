"""The discrete domain the marginal engine works on: every column as integer codes, from public metadata.

Marginal mechanisms count cells, so every column becomes a finite set of codes (:class:`Discretizer`):

* ``categorical``: one code per declared category (the schema's public list), in its order;
* numeric (``continuous``, ``mixed``, ``general``): ``bins`` equal-width bins over the declared ``bounds``
  (in the log domain ``log(x - low + 1)`` for ``log`` columns), then one code per point mass of a ``mixed``
  column;
* every column that allows missing values gets one more code for "missing".

Under DP the domain is built from the declared schema alone (no data-dependent binning: the bins are
fixed by the public bounds and ``bins`` before any row is read); a numeric column without declared bounds
or a categorical one without a declared list is a :class:`~trust.errors.ConfigError` naming it. Without DP
missing bounds and lists are read off the rows.

Decoding (:meth:`Discretizer.decode`) is post-processing: a bin becomes a value drawn uniformly inside it
(in the log domain for ``log`` columns), rounded for ``integer`` columns and clipped to the bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from trust.data.schema import TableSchema
from trust.errors import ConfigError
from trust.synth.numeric import plain


@dataclass(frozen=True)
class ColumnBins:
    """How one column maps to codes ``0 .. size - 1`` (see the module docstring).

    Attributes:
        name, kind: the column and its schema kind.
        categories: the categories, in code order (categorical only).
        low, high: the numeric range (numeric only); ``log``: bins are equal-width in ``log(x - low + 1)``.
        bins: number of equal-width bins (numeric only).
        point_masses: values with a code of their own, after the bins (``mixed`` only).
        missing: whether the last code means "missing".
        integer: round decoded values.
    """

    name: str
    kind: str
    categories: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    bins: int = 0
    point_masses: tuple[float, ...] = ()
    missing: bool = False
    integer: bool = False

    @property
    def size(self) -> int:
        body = len(self.categories) if self.kind == "categorical" else self.bins + len(self.point_masses)
        return body + int(self.missing)

    def _t(self, x: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(x, self.low) - self.low + 1.0) if self.log else x

    def _t_inv(self, t: np.ndarray) -> np.ndarray:
        return np.exp(t) + self.low - 1.0 if self.log else t

    def encode(self, col: pd.Series) -> np.ndarray:
        """Codes of a (coerced) column: every value lands in exactly one code."""
        miss = col.isna().to_numpy()
        codes = np.zeros(len(col), dtype=np.int64)
        if self.kind == "categorical":
            index = {c: i for i, c in enumerate(self.categories)}
            codes[~miss] = col[~miss].map(index).to_numpy(dtype=np.int64)
        else:
            x = col.to_numpy(dtype=float)
            lo, hi = self._t(np.array([self.low, self.high]))
            t = self._t(np.clip(np.nan_to_num(x, nan=self.low), self.low, self.high))
            codes = np.clip(((t - lo) / (hi - lo) * self.bins).astype(np.int64), 0, self.bins - 1)
            taken = np.zeros(len(x), dtype=bool)
            for j, m in enumerate(self.point_masses):
                hit = (x == m) & ~taken
                codes[hit] = self.bins + j
                taken |= hit
        if self.missing:
            codes[miss] = self.size - 1
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Values for ``codes`` (post-processing: uniform within a bin)."""
        codes = np.asarray(codes, dtype=np.int64)
        miss = self.missing & (codes == self.size - 1)
        if self.kind == "categorical":
            cats = np.array(list(self.categories) + [None], dtype=object)
            return pd.Series(np.where(miss, None, cats[np.minimum(codes, len(self.categories))]), name=self.name)
        lo, hi = self._t(np.array([self.low, self.high]))
        width = (hi - lo) / self.bins
        t = lo + (np.minimum(codes, self.bins - 1) + rng.random(len(codes))) * width
        x = np.clip(self._t_inv(t), self.low, self.high)
        if self.integer:
            x = np.clip(np.round(x), np.ceil(self.low), np.floor(self.high))
        for j, m in enumerate(self.point_masses):
            x = np.where(codes == self.bins + j, m, x)
        return pd.Series(np.where(miss, np.nan, x), name=self.name, dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "categories": [plain(c) for c in self.categories],
                "low": float(self.low), "high": float(self.high), "log": bool(self.log), "bins": int(self.bins),
                "point_masses": [float(m) for m in self.point_masses], "missing": bool(self.missing),
                "integer": bool(self.integer)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ColumnBins":
        d = dict(d)
        d["categories"] = tuple(d.get("categories") or ())
        d["point_masses"] = tuple(d.get("point_masses") or ())
        return cls(**d)


@dataclass(frozen=True)
class Discretizer:
    """Every column's :class:`ColumnBins`, in the schema's order."""

    columns: tuple[ColumnBins, ...]

    @classmethod
    def from_schema(cls, schema: TableSchema, bins: int, df: pd.DataFrame | None = None) -> "Discretizer":
        """The domain of ``schema`` with ``bins`` bins per numeric column.

        ``df=None`` (DP): public metadata only; a numeric column without ``bounds`` or a categorical one without
        ``categories`` is a ConfigError. With ``df`` (no DP) missing bounds and lists are read off the rows.
        """
        out = []
        for name, spec in schema.columns.items():
            if spec.kind == "categorical":
                cats = spec.categories
                if cats is None and df is None:
                    raise ConfigError(f"column '{name}' is categorical without declared categories; a DP fit needs "
                                      "its public list in the schema (categories: [...])")
                if cats is None:
                    cats = tuple(plain(v) for v in sorted(df[name].dropna().unique(), key=str))
                out.append(ColumnBins(name, "categorical", categories=tuple(cats), missing=spec.allow_missing))
                continue
            lo_hi = spec.bounds
            if lo_hi is None and df is None:
                raise ConfigError(f"column '{name}' has no declared bounds; the marginal engine bins numeric columns "
                                  "over public bounds under DP: declare bounds: [low, high] from the data's "
                                  "documentation")
            if lo_hi is None:
                x = pd.to_numeric(df[name], errors="coerce").dropna().to_numpy(dtype=float)
                lo_hi = (float(x.min()), float(x.max()) if x.max() > x.min() else float(x.min()) + 1.0)
            masses = tuple(float(m) for m in spec.point_masses) if spec.kind == "mixed" else ()
            out.append(ColumnBins(name, spec.kind, low=float(lo_hi[0]), high=float(lo_hi[1]), log=spec.log,
                                  bins=int(bins), point_masses=masses, missing=spec.allow_missing,
                                  integer=spec.integer))
        return cls(tuple(out))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(c.size for c in self.columns)

    def encode(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """``{column: codes}`` of a coerced table."""
        return {c.name: c.encode(df[c.name]) for c in self.columns}

    def decode(self, codes: Mapping[str, np.ndarray], rng: np.random.Generator) -> pd.DataFrame:
        """The table of ``codes`` (post-processing)."""
        return pd.DataFrame({c.name: c.decode(codes[c.name], rng) for c in self.columns})

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Discretizer":
        return cls(tuple(ColumnBins.from_dict(c) for c in d["columns"]))


__all__ = ["ColumnBins", "Discretizer"]
