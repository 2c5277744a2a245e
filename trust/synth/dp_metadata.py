"""Differentially private metadata for the transformer: per-column histograms.

Under DP, every access to real rows outside DP-SGD must be either public metadata the user
declares (category lists, column bounds in the :class:`~trust.data.schema.TableSchema`) or a DP
release. :func:`release_histograms` is that release for the data transformer: one noisy
histogram per column, from which :meth:`trust.synth.transformer.DataTransformer.fit` (with
``histograms=``) fits the mixtures, ranges, log shifts and conditional-vector counts by
post-processing alone.

What is released, per column:

* ``categorical``: counts over the schema's *declared* categories (public metadata), plus a
  missing bin when the column allows missing values. A categorical column without declared
  categories raises :class:`~trust.errors.DataError`: releasing the set of categories present in
  the data is not DP.
* ``continuous`` / ``mixed`` / ``general``: counts over ``bins`` equal-width bins of the
  continuous part, in the log domain for ``log`` columns, plus one bin per point mass (mixed) and
  a missing bin (when allowed); every row lands in exactly one bin. The range of the bins is the
  declared ``bounds`` (public) when given; otherwise it is estimated under DP (below).

DP range (columns without declared bounds): a share ``range_fraction`` of the column's budget buys a
coarse discrete Laplace histogram of the continuous part over a wide *public* grid: sign-symmetric
powers of ``range_base`` (default 10) from ``1e-3`` to ``1e12`` (values beyond are clipped into the
end bins; 32 bins for base 10). A bin *passes* when its noisy count exceeds ``tau = b * ln(n_bins /
(2 * beta))`` (``b`` the discrete Laplace scale, ``beta = 0.05``: some empty bin passes with
probability at most ``2 beta / (1 + exp(-1/b))``, about ``beta`` at the scales used). The range
grows from the bin with the largest noisy count to the nearest passing bin on either side as long as
the empty stretch between them is no wider (in value) than the range so far, so that data over
neighbouring decades (or across 0) join up while an isolated false positive orders of magnitude away
cannot stretch the range; if the fullest bin does not pass, the range is that bin. All of this is
post-processing of the noisy coarse histogram. Such ranges are loose (up to a factor ``range_base``)
and can cut off thin tails at small epsilon (a coarser base puts more rows in each bin, so fewer
bins drown in noise; on Adult, base 2 gave unstable and sometimes absurd ranges at small epsilon,
base 10 stable ones). Declare bounds when they are public (e.g. documented value ranges): cheaper
and more accurate. Values outside the range are clipped into the end bins (clipping does not change
sensitivity).

Privacy accounting (add/remove adjacency, unit of privacy: one record = one row):
adding or removing one row changes each column's histogram by exactly 1 in one bin, so each
column's histogram has L1 sensitivity 1 (and the coarse range histogram of a column likewise 1).
With ``c`` columns the release is ``c`` (or ``c + r``, with ``r`` range histograms) counting
queries. We split ``epsilon`` equally across the ``c`` columns, ``epsilon / c`` each; a column
whose range is estimated spends ``range_fraction * epsilon / c`` on the coarse histogram and the
rest on the fine one. Each count gets discrete Laplace noise of scale ``1 / epsilon_query``
(:func:`trust.privacy.mechanisms.sample_discrete_laplace`: exact integer noise, so no
floating-point Laplace value is released; the scale is rounded up by at most ``2**-20``) and, by
basic sequential composition, the release is ``(epsilon, 0)``-DP. Negative counts are set to 0
(post-processing).

DP row count ``n_rows``: each column's *unclipped* noisy total (its counts before negatives are set
to 0) is an unbiased estimate of ``n``; ``n_rows`` is their inverse-variance weighted mean
(post-processing, free). It is what the synthesiser's privacy plan, its delta check and its default
number of synthetic rows use instead of the exact ``n`` (see :mod:`trust.synth.plan`).

Noise: drawn from :func:`trust.privacy.noise.noise_source` afresh at every release (OS entropy),
never from ``random_state``; ``insecure_noise_seed`` makes it reproducible for tests and the ledger
entry then says ``noise_source="seeded (not a valid guarantee)"``.

Input under DP: the table is coerced, not checked (:meth:`trust.data.schema.TableSchema.coerce`):
values outside declared bounds are clipped, undeclared categories and non-finite values become
missing, so no error depends on a private value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from trust._validation import check_scalar
from trust.data.schema import ColumnSpec, TableSchema
from trust.errors import DataError
from trust.privacy.ledger import LedgerEntry
from trust.privacy.mechanisms import discrete_laplace_variance, rational_scale, sample_discrete_laplace
from trust.privacy.noise import noise_source
from trust.synth.numeric import log_forward, plain as _plain, split_numeric

#: the public coarse grid for DP range estimation: sign-symmetric powers of ``base`` from 1e-3 to 1e12
_GRID_LOW, _GRID_HIGH = 1e-3, 1e12


def _coarse_edges(base: float = 10.0) -> np.ndarray:
    lo, hi = np.log(_GRID_LOW) / np.log(base), np.log(_GRID_HIGH) / np.log(base)
    pos = base ** np.arange(np.floor(lo), np.ceil(hi) + 1)
    return np.concatenate([-pos[::-1], [0.0], pos])


@dataclass
class ColumnHistogram:
    """The noisy histogram of one column (all counts are DP, negatives set to 0).

    Attributes:
        column, kind: the column and its schema kind.
        counts: noisy counts of the categories (categorical) or of the continuous-part bins.
        categories: the declared categories (categorical only).
        edges: bin edges of the continuous part, ``len(counts) + 1``, in the binning domain:
            ``log_forward(x, lower)`` when ``log_bins``, else raw values.
        log_bins: whether ``edges`` are in the log domain.
        lower: low end of the released range in raw values (the log shift of ``log`` columns).
        upper: high end of the released range in raw values.
        mass_counts: noisy counts of the point masses (mixed), in the schema's order.
        missing_count: noisy count of missing values (None when the column allows none).
        range_source: ``declared`` (public bounds) or ``dp`` (estimated under DP); None for categoricals.
        epsilon: the budget this column's queries spent.
        noise_scale: the discrete Laplace scale ``b`` of the fine histogram's counts.
        total: the column's unclipped noisy total (an unbiased DP estimate of the row count).
    """

    column: str
    kind: str
    counts: np.ndarray
    categories: tuple[Any, ...] | None = None
    edges: np.ndarray | None = None
    log_bins: bool = False
    lower: float = 0.0
    upper: float = 0.0
    mass_counts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    missing_count: float | None = None
    range_source: str | None = None
    epsilon: float = 0.0
    noise_scale: float = 0.0
    total: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column, "kind": self.kind, "counts": [float(c) for c in self.counts],
            "categories": None if self.categories is None else [_plain(c) for c in self.categories],
            "edges": None if self.edges is None else [float(e) for e in self.edges],
            "log_bins": bool(self.log_bins), "lower": float(self.lower), "upper": float(self.upper),
            "mass_counts": [float(c) for c in self.mass_counts],
            "missing_count": None if self.missing_count is None else float(self.missing_count),
            "range_source": self.range_source, "epsilon": float(self.epsilon),
            "noise_scale": float(self.noise_scale), "total": float(self.total),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ColumnHistogram":
        d = dict(d)
        d["counts"] = np.asarray(d["counts"], dtype=float)
        d["mass_counts"] = np.asarray(d.get("mass_counts") or [], dtype=float)
        if d.get("edges") is not None:
            d["edges"] = np.asarray(d["edges"], dtype=float)
        if d.get("categories") is not None:
            d["categories"] = tuple(d["categories"])
        return cls(**d)


@dataclass
class HistogramRelease:
    """A DP release of per-column histograms (see the module docstring for the accounting).

    Attributes:
        columns: per column, its :class:`ColumnHistogram`.
        epsilon: the release's total epsilon (delta is 0).
        n_rows: the DP row count (inverse-variance weighted mean of the columns' unclipped noisy totals).
        bins: continuous bins per numeric column.
        range_fraction: share of an unbounded column's budget spent on its DP range.
        mechanism: ``discrete Laplace``.
    """

    columns: dict[str, ColumnHistogram]
    epsilon: float
    n_rows: float
    bins: int
    range_fraction: float
    mechanism: str = "discrete Laplace"

    def to_dict(self) -> dict[str, Any]:
        return {"columns": {k: v.to_dict() for k, v in self.columns.items()}, "epsilon": float(self.epsilon),
                "n_rows": float(self.n_rows), "bins": int(self.bins), "range_fraction": float(self.range_fraction),
                "mechanism": self.mechanism}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "HistogramRelease":
        return cls(columns={k: ColumnHistogram.from_dict(v) for k, v in d["columns"].items()},
                   epsilon=float(d["epsilon"]), n_rows=float(d["n_rows"]), bins=int(d["bins"]),
                   range_fraction=float(d["range_fraction"]), mechanism=d.get("mechanism", "discrete Laplace"))


def _noisy(counts: np.ndarray, scale: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Exact discrete Laplace noise of scale ``scale`` on every (integer) count; returns the counts with negatives
    set to 0 (post-processing) and the unclipped noisy total."""
    counts = np.asarray(counts, dtype=np.int64)
    noisy = counts + sample_discrete_laplace(scale, counts.size, rng).reshape(counts.shape)
    return np.maximum(noisy, 0).astype(float), float(noisy.sum())


def _dp_range(values: np.ndarray, epsilon: float, rng: np.random.Generator, beta: float = 0.05,
              base: float = 10.0) -> tuple[float, float]:
    """DP ``(low, high)`` of ``values`` from a coarse discrete Laplace histogram on the public power-of-``base``
    grid."""
    edges = _coarse_edges(base)
    v = np.clip(values, edges[0], edges[-1])
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(idx, minlength=len(edges) - 1)
    scale = float(rational_scale(1.0 / epsilon))
    noisy = counts + sample_discrete_laplace(scale, counts.size, rng)
    tau = scale * np.log(len(counts) / (2.0 * beta))
    passing = noisy > tau
    top = int(np.argmax(noisy))
    lo = hi = top
    if passing[top]:
        # Grow from the fullest bin to the next passing bin on either side while the empty stretch
        # between them is no wider (in value) than the range so far: data spread over neighbouring
        # decades (or across 0) join up, an isolated false positive orders of magnitude away does not.
        grown = True
        while grown:
            grown = False
            width = edges[hi + 1] - edges[lo]
            left = [j for j in range(lo - 1, -1, -1) if passing[j]]
            if left and edges[lo] - edges[left[0] + 1] <= width:
                lo, grown = left[0], True
            right = [j for j in range(hi + 1, len(counts)) if passing[j]]
            if right and edges[right[0]] - edges[hi + 1] <= width:
                hi, grown = right[0], True
    return float(edges[lo]), float(edges[hi + 1])


def _weighted_total(totals: np.ndarray, variances: np.ndarray) -> float:
    """The inverse-variance weighted mean of the columns' noisy totals; where a column's noise is negligible
    (variance below 1e-12 counts^2: a huge epsilon, where the variance underflows to 0 or to the smallest float and
    its inverse overflows) the mean of those columns' totals (exact: their noise is 0 with certainty in practice)."""
    tiny = variances < 1e-12
    if tiny.any():
        return float(totals[tiny].mean())
    return float(np.average(totals, weights=1.0 / variances))


def release_histograms(
    df: pd.DataFrame,
    schema: TableSchema,
    epsilon: float,
    *,
    bins: int = 32,
    range_fraction: float = 0.5,
    range_base: float = 10.0,
    insecure_noise_seed: int | None = None,
    release: str = "synth/transformer-histograms",
    dataset: str = "",
) -> tuple[HistogramRelease, LedgerEntry]:
    """Release every column's histogram under ``(epsilon, 0)``-DP (exact discrete Laplace mechanism).

    Args:
        df: the real table (validated against ``schema``).
        schema: column kinds and public metadata (declared categories are required for every
            categorical column; declared bounds are used when given).
        epsilon: total budget of the release, split equally over the columns.
        bins: equal-width bins of each numeric column's continuous part (log domain for ``log``).
        range_fraction: share of an unbounded numeric column's budget for its DP range.
        range_base: the public coarse grid of the DP range: powers of this base (> 1).
        insecure_noise_seed: None (default: noise from OS entropy, the only setting that backs the guarantee)
            or an integer that makes the noise reproducible, for tests only (the ledger entry says so).
        release: the ledger entry's release name.
        dataset: the protected dataset's name for the ledger.

    Returns:
        ``(release, ledger_entry)``: the noisy histograms, and the ledger entry (discrete Laplace, basic
        composition, record-level, add/remove adjacency, delta 0).

    Raises:
        ConfigError: epsilon <= 0, bins < 2, range_fraction outside (0, 1).
        DataError: a column of ``schema`` is missing from ``df``; a categorical column has no declared categories
            (public-schema checks only: values are coerced, see the module docstring).

    Example:
        >>> import numpy as np, pandas as pd
        >>> from trust.data import infer_schema
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], 200), "y": rng.choice(["no", "yes"], 200)})
        >>> schema = infer_schema(df, target="y", categories={"c": ["a", "b"], "y": ["no", "yes"]},
        ...                       bounds={"x": (-5.0, 5.0)}).as_declared()   # declared: lists and bounds from documentation
        >>> rel, entry = release_histograms(df, schema, epsilon=0.5)
        >>> from trust.synth.transformer import DataTransformer
        >>> tr = DataTransformer(random_state=0).fit(None, schema, histograms=rel)   # post-processing of the release
        >>> entry.epsilon, entry.delta
        (0.5, 0.0)
    """
    check_scalar(epsilon, "epsilon", float, min_val=0, include_boundaries="neither")
    check_scalar(bins, "bins", int, min_val=2)
    check_scalar(range_fraction, "range_fraction", float, min_val=0, max_val=1, include_boundaries="neither")
    check_scalar(range_base, "range_base", float, min_val=1, include_boundaries="neither")
    for name, spec in schema.columns.items():
        if spec.kind == "categorical" and spec.categories is None:
            raise DataError(
                f"column '{name}' is categorical without declared categories; under DP the category list "
                "must be public metadata: declare it in the schema (categories={...})"
            )
    df = schema.coerce(df)
    noise = noise_source(insecure_noise_seed, stream="histograms")
    rng = noise.numpy
    c = len(schema.columns)
    eps_col = float(epsilon) / c
    out: dict[str, ColumnHistogram] = {}
    totals, variances = [], []
    n_range = 0
    for name, spec in schema.columns.items():
        h = _release_column(spec, df[name], eps_col, bins, range_fraction, range_base, rng)
        n_range += h.range_source == "dp"
        out[name] = h
        n_bins = len(h.counts) + len(h.mass_counts) + (h.missing_count is not None)
        totals.append(h.total)
        variances.append(n_bins * discrete_laplace_variance(h.noise_scale))
    n_dp = _weighted_total(np.asarray(totals, dtype=float), np.asarray(variances, dtype=float))
    rel = HistogramRelease(out, float(epsilon), n_dp, int(bins), float(range_fraction))
    return rel, _ledger_entry(release, dataset, float(epsilon), c, n_range, range_fraction, noise.ledger)


def _ledger_entry(release: str, dataset: str, epsilon: float, c: int, n_range: int, range_fraction: float,
                  noise_source: str) -> LedgerEntry:
    """The histogram release's ledger entry: ``c`` column histograms (+ ``n_range`` DP ranges), basic composition."""
    return LedgerEntry(
        release=release,
        mechanism="discrete Laplace (per-column histograms)",
        epsilon=epsilon,
        delta=0.0,
        accountant="basic",
        noise_multiplier=float(c / epsilon),
        sample_rate=1.0,
        steps=c + n_range,
        max_grad_norm=None,
        unit_of_privacy="record",
        adjacency="add/remove",
        dataset=dataset,
        noise_source=noise_source,
        notes=(f"{c} column histograms (L1 sensitivity 1 each), epsilon split equally ({epsilon / c:.4g} per column, "
               f"discrete Laplace scale {c / epsilon:.4g} per count on fully public-bounded columns); "
               f"{n_range} column(s) spent "
               f"{range_fraction:g} of their share on a DP range; composed sequentially. Fits the transformer's "
               "mixtures, ranges and category/mode frequencies by post-processing."),
    )


def _release_column(spec: ColumnSpec, col: pd.Series, eps: float, bins: int, range_fraction: float,
                    range_base: float, rng: np.random.Generator) -> ColumnHistogram:
    name = spec.name
    if spec.kind == "categorical":
        cats = list(spec.categories or ())
        codes = pd.Categorical(col, categories=cats).codes
        k = len(cats)
        raw = np.bincount(np.where(codes < 0, k, codes), minlength=k + 1)
        scale = float(rational_scale(1.0 / eps))
        noisy, total = _noisy(raw if spec.allow_missing else raw[:k], scale, rng)
        return ColumnHistogram(name, spec.kind, noisy[:k], categories=tuple(cats),
                               missing_count=float(noisy[k]) if spec.allow_missing else None,
                               epsilon=eps, noise_scale=scale, total=total)
    masses, mass_raw, miss, cont = split_numeric(spec, col)
    if spec.bounds is not None:
        low, high = float(spec.bounds[0]), float(spec.bounds[1])
        source, eps_fine = "declared", eps
    else:
        eps_range = range_fraction * eps
        eps_fine = eps - eps_range
        low, high = _dp_range(cont, eps_range, rng, base=range_base)
        source = "dp"
    log_bins = bool(spec.log)
    if log_bins:
        lo_t, hi_t = float(log_forward(np.array([low]), low)[0]), float(log_forward(np.array([high]), low)[0])
        t = log_forward(np.clip(cont, low, high), low)
    else:
        lo_t, hi_t = low, high
        t = np.clip(cont, low, high)
    edges = np.linspace(lo_t, hi_t, bins + 1)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, bins - 1)
    counts = np.bincount(idx, minlength=bins)
    scale = float(rational_scale(1.0 / eps_fine))
    # one histogram: continuous bins, point-mass bins, missing bin (each row in exactly one)
    full = np.concatenate([counts, np.asarray(mass_raw, dtype=np.int64),
                           [int(miss.sum())] if spec.allow_missing else []]).astype(np.int64)
    noisy, total = _noisy(full, scale, rng)
    return ColumnHistogram(
        name, spec.kind, noisy[:bins], edges=edges, log_bins=log_bins, lower=low, upper=high,
        mass_counts=noisy[bins:bins + len(masses)],
        missing_count=float(noisy[bins + len(masses)]) if spec.allow_missing else None,
        range_source=source, epsilon=eps, noise_scale=scale, total=total,
    )


__all__ = ["release_histograms", "HistogramRelease", "ColumnHistogram"]
