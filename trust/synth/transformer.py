"""CTAB-GAN+'s data transformer: tables to the matrix the generator learns, and back.

Encoders, per column kind of the :class:`~trust.data.schema.TableSchema` (CTAB-GAN+, Zhao et
al. 2022, section "Data representation"; METHODS.md section 1):

``continuous``
    *Mode-specific normalisation.* A variational (Dirichlet-process) Gaussian mixture
    (:class:`sklearn.mixture.BayesianGaussianMixture`, ``n_modes`` components, weight
    concentration prior 0.001, as the public code) is fitted per column; modes whose weight is
    above ``weight_threshold`` and that are the most likely mode of at least one fitted value
    are kept. A value ``x`` becomes a scalar ``(x - mu_k) / (4 sigma_k)`` clipped to +-0.99
    (one ``tanh`` unit) plus a one-hot of its mode ``k``, drawn from the posterior
    ``p(k | x)`` (one ``softmax`` block). When the column allows missing values, "missing" is
    an extra mode (scalar 0).
``mixed``
    Continuous with point masses (e.g. 0): each point mass, and "missing" when the column allows
    missing values, is a mode of its own next to the continuous modes; rows in such a mode get
    scalar 0. The mode block is ordered ``[point masses..., missing?, continuous modes...]``.
``general``
    Min-max to [-1, 1], one ``tanh`` unit (rounded back for integer columns). With missing
    values allowed, a two-way ``mode`` block ``[value, missing]`` follows.
``categorical``
    One-hot over the declared categories (public metadata) or, without a declaration, the
    categories seen in fit; missing is a category of its own when allowed.

Modifiers: ``log`` columns are log-transformed before encoding by the paper's three cases on
the lower bound ``l`` of the column's (continuous-part) values: ``log(x)`` if ``l > 0``,
``log(x + 1)`` if ``l == 0``, ``log(x - l + 1)`` otherwise; the inverse is exact in all three
cases (the public code forgets to invert the ``l > 0`` case). ``integer`` columns are rounded
back on decoding. Decoding clips every numeric column to its fitted range.

Speed: mixtures are fitted on a bounded seeded subsample (``max_fit_rows``); encoding and
decoding are vectorised (the public code samples each row's mode in a Python loop, its main
CPU bottleneck). The posterior is computed in closed form from the kept modes' weights, means
and standard deviations (so the fitted state is a few numbers per column and serialises to
JSON); this uses the fitted mixture weights ``weights_`` rather than sklearn's variational
expected log-weights, a negligible difference for the kept (non-vanishing) modes.

Differential privacy: ``fit(None, schema, histograms=release)`` fits every encoder from a DP
histogram release (:func:`trust.synth.dp_metadata.release_histograms`) alone: mixtures are fitted
to values drawn uniformly within the bins of the noisy histograms (bins below the level an empty
bin reaches with probability 5 % are dropped for this draw, when any bin clears it), the fitted
range and the log shift are the released range, and the conditional-vector counts are the noisy
counts (mode counts: the posterior shares of the drawn values times the noisy total). This is
post-processing and costs no further budget; the real rows are never read.

Deviations from the public code (documented choices):

* The log shift ``l`` of a mixed column is the minimum of its continuous part (point masses are
  modes of their own and decoded exactly, so they need no log); the public code takes it over
  all valid values. Both invert exactly.
* Values below ``l`` (possible only for new data or under DP, where ``l`` is the released lower
  bound) are clipped to ``l`` before the log.
* Mode counts for the conditional vector (``cond_blocks_``) are expected counts (sums of the
  posterior over the whole fitted column) rather than counts of one posterior draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np
import pandas as pd

from trust._validation import check_scalar
from trust.data.schema import ColumnSpec, TableSchema
from trust.errors import ConfigError, DataError
from trust.synth.columns import (CategoricalColumn, ColumnState, GeneralColumn, column_from_dict, posterior)
from trust.synth.numeric import log_forward, log_inverse, plain as _plain, split_numeric

if TYPE_CHECKING:  # pragma: no cover
    from trust.synth.dp_metadata import HistogramRelease

_STATE_VERSION = 1


@dataclass(frozen=True)
class Span:
    """One block of the encoded matrix, in output order.

    Attributes:
        column: the table column it encodes.
        kind: ``scalar`` (the tanh value), ``mode`` (one-hot of the mixture mode / point mass /
            missing) or ``category`` (one-hot of a categorical).
        start, end: the block is ``X[:, start:end]``.
        activation: ``tanh`` or ``softmax`` (what the generator's output layer applies).
    """

    column: str
    kind: str
    start: int
    end: int
    activation: str

    @property
    def width(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, eq=False)
class CondBlock:
    """A discrete block the conditional vector covers (a categorical or a mode indicator).

    Attributes:
        column: the table column.
        start, end: its one-hot block in the encoded matrix, ``X[:, start:end]``.
        counts: fitted (or DP-released) frequency of each category / mode, length ``end - start``.
    """

    column: str
    start: int
    end: int
    counts: np.ndarray

    @property
    def width(self) -> int:
        return self.end - self.start


def _sort_key(x: Any) -> tuple[int, Any]:
    return (0, x) if isinstance(x, (int, float, np.number)) and not isinstance(x, bool) else (1, str(x))


def fit_modes(info: dict[str, Any], t: np.ndarray, n_modes: int, weight_threshold: float, seed: int) -> None:
    """Fit the variational mixture on ``t`` (transformed values) and keep the live modes (into ``info``: ``tmin``,
    ``tmax``, ``weights``, ``means``, ``stds``)."""
    from sklearn.mixture import BayesianGaussianMixture

    info["tmin"] = float(t.min()) if len(t) else 0.0
    info["tmax"] = float(t.max()) if len(t) else 0.0
    if len(t) == 0:
        info.update(weights=[], means=[], stds=[])
        return
    spread = float(t.max() - t.min())
    floor = max(1e-6 * spread, 1e-9 * max(1.0, abs(float(t.mean()))), 1e-12)
    n_unique = len(np.unique(t[: min(len(t), 5000)])) if len(t) > 5000 else len(np.unique(t))
    if n_unique < 2:
        info.update(weights=[1.0], means=[float(t[0])], stds=[max(floor, 1e-3 * max(1.0, abs(float(t[0]))))])
        return
    k = int(min(n_modes, n_unique))
    gm = BayesianGaussianMixture(
        n_components=k, weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=0.001, max_iter=100, n_init=1, random_state=seed,
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on easy columns is harmless here
        gm.fit(t.reshape(-1, 1))
    weights = gm.weights_
    means = gm.means_.ravel()
    stds = np.sqrt(gm.covariances_.ravel())
    used = np.zeros(k, dtype=bool)
    used[np.unique(gm.predict(t.reshape(-1, 1)))] = True
    keep = (weights > weight_threshold) & used
    if not keep.any():
        keep = weights == weights.max()
    w = weights[keep] / weights[keep].sum()
    info.update(weights=w.tolist(), means=means[keep].tolist(), stds=np.maximum(stds[keep], floor).tolist())


def draw_from_histogram(spec: ColumnSpec, h: Any, lower: float, rng: np.random.Generator, max_fit_rows: int,
                        n_modes: int) -> tuple[np.ndarray, float]:
    """Values drawn uniformly within the bins of a noisy histogram (post-processing), transformed; and the
    histogram's total. Denoising: bins whose noisy count does not clear the level an empty bin reaches with
    probability 5 % over all bins are treated as empty, when any bin clears it."""
    counts = np.asarray(h.counts, dtype=float)
    edges = np.asarray(h.edges, dtype=float)  # in the binning domain (log domain when h.log_bins)
    if h.noise_scale > 0:
        tau = float(h.noise_scale) * math.log(len(counts) / (2 * 0.05))
        if (counts > tau).any():
            counts = np.where(counts > tau, counts, 0.0)
    total = float(counts.sum())
    n_draw = int(min(max_fit_rows, max(50 * n_modes, round(total))))
    p = counts / total if total > 0 else np.full(len(counts), 1.0 / len(counts))
    b = rng.choice(len(counts), size=n_draw, p=p)
    v = edges[b] + rng.random(n_draw) * (edges[b + 1] - edges[b])
    raw = log_inverse(v, lower) if h.log_bins else v
    return (log_forward(raw, lower) if spec.log else raw), total


class DataTransformer:
    """Encode a table for CTAB-GAN+ and decode generator output back into a table.

    Args:
        n_modes: components of each variational Gaussian mixture (paper: 10).
        weight_threshold: keep modes whose mixture weight exceeds this (paper: 0.005).
        max_fit_rows: mixtures are fitted on at most this many (seeded, random) values per column.
        random_state: seed for the subsample, the mixtures and the posterior mode draws.

    Attributes (after :meth:`fit`):
        output_dim_: width of the encoded matrix.
        spans_: the blocks of the encoded matrix, in order (:class:`Span`).
        cond_blocks_: the discrete blocks the conditional vector covers, with their counts
            (:class:`CondBlock`): every ``softmax`` span, i.e. categoricals and mode indicators.
        columns_: the encoded columns, in the schema's order.
        n_rows_: rows the fit saw (the noisy total under DP).
        dp_: whether the fit used a DP histogram release only.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from trust.data import infer_schema
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], 200), "y": rng.choice(["no", "yes"], 200)})
        >>> schema = infer_schema(df, target="y", categories={"c": ["a", "b"], "y": ["no", "yes"]},
        ...                       bounds={"x": (-5.0, 5.0)}).as_declared()   # declared: lists and bounds from documentation
        >>> tr = DataTransformer(random_state=0).fit(df, schema)
        >>> X = tr.transform(df)          # float32, (len(df), tr.output_dim_)
        >>> X.shape[0], list(tr.inverse_transform(X).columns)
        (200, ['x', 'c', 'y'])
    """

    def __init__(self, n_modes: int = 10, weight_threshold: float = 0.005, max_fit_rows: int = 20000,
                 random_state: int | None = None) -> None:
        self.n_modes = n_modes
        self.weight_threshold = weight_threshold
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_scalar(self.n_modes, "n_modes", int, min_val=1)
        check_scalar(self.weight_threshold, "weight_threshold", float, min_val=0, max_val=1, include_boundaries="left")
        check_scalar(self.max_fit_rows, "max_fit_rows", int, min_val=10)

    def _seed(self, salt: int) -> int:
        base = 0 if self.random_state is None else int(self.random_state)
        return int(np.random.SeedSequence([base, salt]).generate_state(1)[0])

    # ------------------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame | None, schema: TableSchema, *,
            histograms: "HistogramRelease | None" = None) -> "DataTransformer":
        """Fit every column's encoder.

        Args:
            df: the table (validated against ``schema``). Ignored, and may be None, when
                ``histograms`` is given.
            schema: column kinds and public metadata.
            histograms: a DP release from :func:`trust.synth.dp_metadata.release_histograms`;
                when given, the fit uses only the release (post-processing).

        Returns:
            self

        Raises:
            DataError: ``df`` does not match the schema, or a column has nothing to fit.
            ConfigError: bad hyperparameters, or a release that does not cover the schema.
        """
        self._check_params()
        if not isinstance(schema, TableSchema):
            raise ConfigError(f"schema must be a TableSchema, got {type(schema).__name__}")
        self.schema_ = schema
        self.columns_ = list(schema.names)
        self.dp_ = histograms is not None
        columns: dict[str, ColumnState] = {}
        if histograms is None:
            if df is None:
                raise DataError("fit needs a table (df) unless a DP histogram release is given")
            df = schema.validate(df)
            self.n_rows_ = int(len(df))
            for name in self.columns_:
                col = df[name]
                if not col.isna().any() and col.nunique(dropna=True) < 2:
                    raise DataError(f"column '{name}' is constant ({col.iloc[0]!r}); drop it, it carries no "
                                    "information to synthesise")
            for i, name in enumerate(self.columns_):
                columns[name] = self._fit_column(schema[name], df[name], i)
        else:
            missing = [c for c in self.columns_ if c not in histograms.columns]
            if missing:
                raise ConfigError(f"the histogram release has no column '{missing[0]}'; release it with this schema")
            self.n_rows_ = int(round(histograms.n_rows))
            for i, name in enumerate(self.columns_):
                columns[name] = self._fit_column_hist(schema[name], histograms.columns[name], i)
        self._columns = columns
        self._layout()
        return self

    # -- fitting from data -----------------------------------------------------------------------
    def _fit_column(self, spec: ColumnSpec, col: pd.Series, salt: int) -> ColumnState:
        name = spec.name
        if spec.kind == "categorical":
            cats = list(spec.categories) if spec.categories is not None else \
                sorted(col.dropna().unique().tolist(), key=_sort_key)
            cats = [_plain(c) for c in cats]
            if not cats:
                raise DataError(f"column '{name}' has no categories to fit; declare them or drop the column")
            state = CategoricalColumn(tuple(cats), bool(spec.allow_missing), ())
            counts = np.bincount(state.codes(name, col), minlength=state.width).astype(float)
            return CategoricalColumn(state.categories, state.missing, tuple(float(c) for c in counts))
        masses, mass_counts, miss, cont = split_numeric(spec, col)
        info: dict[str, Any] = {"kind": spec.kind, "integer": bool(spec.integer), "log": bool(spec.log),
                                "masses": masses, "missing": bool(spec.allow_missing),
                                "mass_counts": mass_counts, "missing_count": float(miss.sum())}
        if len(cont) == 0 and spec.kind != "mixed":
            raise DataError(f"column '{name}' has no values to fit; drop it or fill it")
        info["min"] = float(cont.min()) if len(cont) else 0.0
        info["max"] = float(cont.max()) if len(cont) else 0.0
        info["lower"] = info["min"]
        t = log_forward(cont, info["lower"]) if spec.log else cont
        if spec.kind == "general":
            info.update(tmin=float(t.min()), tmax=float(t.max()), value_count=float(len(cont)))
            return column_from_dict(info)
        rng = np.random.default_rng(self._seed(salt))
        fit_t = t if len(t) <= self.max_fit_rows else rng.choice(t, size=self.max_fit_rows, replace=False)
        fit_modes(info, fit_t, self.n_modes, self.weight_threshold, self._seed(1000 + salt))
        w, mu, sd = (np.asarray(info[k]) for k in ("weights", "means", "stds"))
        info["mode_counts"] = (posterior(t, w, mu, sd).sum(axis=0).tolist() if len(t) and len(w) else
                               [0.0] * len(w))
        return column_from_dict(info)

    # -- fitting from a DP release -------------------------------------------------------------
    def _fit_column_hist(self, spec: ColumnSpec, h: Any, salt: int) -> ColumnState:
        name = spec.name
        if h.kind != spec.kind:
            raise ConfigError(f"column '{name}': the release says kind '{h.kind}', the schema '{spec.kind}'; "
                              "release the histograms with this schema")
        if spec.kind == "categorical":
            counts = list(np.asarray(h.counts, dtype=float))
            if spec.allow_missing:
                counts.append(float(h.missing_count or 0.0))
            return CategoricalColumn(tuple(_plain(c) for c in h.categories), bool(spec.allow_missing),
                                     tuple(float(c) for c in counts))
        masses = [float(m) for m in spec.point_masses] if spec.kind == "mixed" else []
        # the fitted range is the released range (declared bounds, or the DP range estimate)
        info: dict[str, Any] = {"kind": spec.kind, "integer": bool(spec.integer), "log": bool(spec.log),
                                "masses": masses, "missing": bool(spec.allow_missing),
                                "mass_counts": [float(c) for c in (h.mass_counts if masses else [])],
                                "missing_count": float(h.missing_count or 0.0),
                                "min": float(h.lower), "max": float(h.upper), "lower": float(h.lower)}
        t, total = draw_from_histogram(spec, h, info["lower"], np.random.default_rng(self._seed(salt)),
                                       self.max_fit_rows, self.n_modes)
        trange = log_forward(np.array([info["min"], info["max"]]), info["lower"]) if spec.log else \
            np.array([info["min"], info["max"]])
        if spec.kind == "general":
            info.update(tmin=float(trange[0]), tmax=float(trange[1]), value_count=float(np.sum(h.counts)))
            return column_from_dict(info)
        fit_modes(info, t, self.n_modes, self.weight_threshold, self._seed(1000 + salt))
        w, mu, sd = (np.asarray(info[k]) for k in ("weights", "means", "stds"))
        share = posterior(t, w, mu, sd).mean(axis=0) if len(w) else np.zeros(0)
        info["mode_counts"] = (share * total).tolist()
        info["tmin"], info["tmax"] = float(trange[0]), float(trange[1])   # the release's range, transformed
        return column_from_dict(info)

    # -- layout ----------------------------------------------------------------------------------
    def _layout(self) -> None:
        spans: list[Span] = []
        blocks: list[CondBlock] = []
        pos = 0
        for name in self.columns_:
            state = self._columns[name]
            if isinstance(state, CategoricalColumn):
                spans.append(Span(name, "category", pos, pos + state.width, "softmax"))
                blocks.append(CondBlock(name, pos, pos + state.width, np.asarray(state.counts, dtype=float)))
                pos += state.width
                continue
            spans.append(Span(name, "scalar", pos, pos + 1, "tanh"))
            pos += 1
            counts = state.mode_counts_block()
            if counts is not None:
                spans.append(Span(name, "mode", pos, pos + len(counts), "softmax"))
                blocks.append(CondBlock(name, pos, pos + len(counts), counts))
                pos += len(counts)
        self.spans_ = spans
        self.cond_blocks_ = blocks
        self.output_dim_ = pos

    # -- helpers ---------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "spans_"):
            raise ConfigError("the DataTransformer is not fitted; call fit(df, schema) first")

    def column(self, name: str) -> ColumnState:
        """The fitted record of column ``name`` (:mod:`trust.synth.columns`)."""
        self._check_fitted()
        if name not in self._columns:
            raise DataError(f"column '{name}' is not in the table; choose one of: {', '.join(self.columns_)}")
        return self._columns[name]

    def column_spans(self, column: str) -> list[Span]:
        """The spans (blocks of the encoded matrix) of one column, in order."""
        self._check_fitted()
        out = [s for s in self.spans_ if s.column == column]
        if not out:
            raise DataError(f"column '{column}' is not encoded by this transformer; choose one of: "
                            f"{', '.join(self.columns_)}")
        return out

    def category_index(self, column: str, value: Any) -> int:
        """Position of ``value`` within ``column``'s one-hot ``category`` span.

        Add the span's ``start`` (``column_spans(column)[0].start``) for the position in the encoded
        matrix. A missing value (None/NaN) maps to the missing category of a column that allows it.

        Raises:
            DataError: the column is not categorical, or the value was never seen or declared.
        """
        state = self.column(column)
        if not isinstance(state, CategoricalColumn):
            raise DataError(f"column '{column}' is {state.kind}, not categorical; condition on a categorical column")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if state.missing:
                return len(state.categories)
            raise DataError(f"column '{column}' has no missing category; condition on one of its categories")
        for i, c in enumerate(state.categories):
            if c == value or str(c) == str(value):
                return i
        raise DataError(f"column '{column}' never had the category {value!r}; choose one of: "
                        f"{', '.join(map(str, state.categories[:20]))}")

    # -- transform -------------------------------------------------------------------------------
    def transform(self, df: pd.DataFrame, *, random_state: int | None = None,
                  row_uniform: Callable[[int], np.ndarray] | None = None) -> np.ndarray:
        """Encode ``df`` (its columns in the schema) into a float32 matrix ``(n, output_dim_)``.

        Each continuous value's mode is drawn from its posterior with a generator seeded by
        ``random_state`` (default: the transformer's own), so the same call gives the same matrix;
        or, with ``row_uniform``, by inverse CDF from ``row_uniform(i)`` (one uniform per row of the
        coerced table for the ``i``-th column of the schema). Under DP the model passes uniforms that are a
        function of each row (:class:`trust.privacy.noise.RowStreams`), so no row's encoding depends on
        another row or on its position. Values outside the fitted range are clipped to it. A transformer fitted
        from a DP release coerces instead of validating (:meth:`~trust.data.schema.TableSchema.coerce`), so
        encoding the private table raises no error that depends on its values or its size.
        """
        self._check_fitted()
        df = self.schema_.coerce(df) if self.dp_ else self.schema_.validate(df)
        n = len(df)
        out = np.zeros((n, self.output_dim_), dtype=np.float32)
        rng = np.random.default_rng(self._seed(7919) if random_state is None else int(random_state))
        rows = np.arange(n)
        for ci, name in enumerate(self.columns_):
            state, spans = self._columns[name], self._spans_of(name)
            if isinstance(state, CategoricalColumn):
                out[rows, spans[0].start + state.codes(name, df[name])] = 1.0
                continue
            x = df[name].to_numpy(dtype=float)
            miss = np.isnan(x)
            if miss.any() and not state.missing:
                raise DataError(f"column '{name}' has missing values but was fitted without allow_missing; "
                                "declare allow_missing=True or clean the data")
            if isinstance(state, GeneralColumn):
                out[~miss, spans[0].start] = state.scalar(x[~miss])
                if state.missing:
                    out[rows, spans[1].start + miss.astype(np.int64)] = 1.0
                continue
            draw = (lambda mask: rng.random(int(mask.sum()))) if row_uniform is None else \
                (lambda mask, ci=ci: np.asarray(row_uniform(ci))[mask])
            scalar, code = state.encode(name, x, draw)
            out[:, spans[0].start] = scalar
            out[rows, spans[1].start + code] = 1.0
        return out

    def _spans_of(self, name: str) -> list[Span]:
        return [s for s in self.spans_ if s.column == name]

    def inverse_transform(self, X: np.ndarray) -> pd.DataFrame:
        """Decode an encoded matrix (or generator output with soft one-hots: argmax is used).

        Scalars are clipped to [-1, 1]; numeric values are clipped to the fitted range, the log is
        inverted exactly, integer columns are rounded, point masses and missing values come back
        exactly.
        """
        self._check_fitted()
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.output_dim_:
            raise DataError(f"expected a matrix with {self.output_dim_} columns, got shape {X.shape}; "
                            "pass this transformer's encoding")
        data: dict[str, Any] = {}
        for name in self.columns_:
            state, spans = self._columns[name], self._spans_of(name)
            blocks = [X[:, s.start:s.end] for s in spans]
            if isinstance(state, CategoricalColumn):
                data[name] = state.decode(blocks[0])
                continue
            a = np.clip(X[:, spans[0].start], -1.0, 1.0)
            data[name] = state.decode(a, blocks[1] if len(blocks) > 1 else None)
        return pd.DataFrame(data, columns=self.columns_)

    # -- state -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (hyperparameters, schema, fitted encoders)."""
        self._check_fitted()
        return {
            "version": _STATE_VERSION,
            "params": {"n_modes": int(self.n_modes), "weight_threshold": float(self.weight_threshold),
                       "max_fit_rows": int(self.max_fit_rows), "random_state": self.random_state},
            "schema": self.schema_.to_dict(),
            "n_rows": int(self.n_rows_),
            "dp": bool(self.dp_),
            "columns": {k: v.to_dict() for k, v in self._columns.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DataTransformer":
        """Rebuild a fitted transformer from :meth:`to_dict`'s output."""
        if d.get("version") != _STATE_VERSION:
            raise ConfigError(f"transformer state version {d.get('version')!r} is unknown; refit the transformer")
        tr = cls(**d["params"])
        tr.schema_ = TableSchema.from_dict(d["schema"])
        tr.columns_ = list(tr.schema_.names)
        tr.n_rows_ = int(d["n_rows"])
        tr.dp_ = bool(d["dp"])
        tr._columns = {k: column_from_dict(v) for k, v in d["columns"].items()}
        tr._layout()
        return tr


__all__ = ["DataTransformer", "Span", "CondBlock", "log_forward", "log_inverse"]
