"""Table schemas: what kind each column is, and validation of DataFrames against it.

A :class:`TableSchema` is the metadata that travels with a table (in the manner of SDV's
metadata): the kind of every column, the target and problem type, and any *public* metadata
the user declares (category lists, value bounds). Public metadata is what a differentially
private release may use without spending budget, so it is never filled in from the data
silently: :func:`infer_schema` infers kinds, but records categories and bounds only when the
caller passes them.

Column kinds follow CTAB-GAN+'s encoders:

``categorical``  one-hot encoded; missing values are a category of their own when allowed.
``continuous``   mode-specific normalisation with a variational Gaussian mixture.
``mixed``        continuous with point masses (e.g. 0, or missing) that get modes of their own.
``general``      min-max to [-1, 1] with a single tanh unit (unimodal columns, label-encoded
                 high-cardinality categoricals).

Modifiers: ``integer`` (numeric values are whole numbers: rounded back on decode) and ``log``
(long-tailed: log-transformed before encoding).
"""

from __future__ import annotations

import re

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from trust.data.io import check_unique_columns
from trust.errors import ConfigError, DataError

KINDS = ("categorical", "continuous", "mixed", "general")
PROBLEM_TYPES = ("classification", "regression")


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is encoded and validated.

    Attributes:
        name: column name.
        kind: one of ``categorical``, ``continuous``, ``mixed``, ``general``.
        integer: numeric values are whole numbers (rounded back after decoding).
        log: long-tailed numeric column, log-transformed before encoding.
        point_masses: for ``mixed`` columns, the values that get a mode of their own (e.g. ``(0.0,)``).
        allow_missing: missing values are expected; they become their own category or mode.
            When False, a missing value is a validation error.
        categories: declared category list (public metadata), or None.
        bounds: declared ``(low, high)`` value range (public metadata), or None.
    """

    name: str
    kind: str
    integer: bool = False
    log: bool = False
    point_masses: tuple[float, ...] = ()
    allow_missing: bool = False
    categories: tuple[Any, ...] | None = None
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(
                f"column '{self.name}': unknown kind '{self.kind}'; use one of {', '.join(KINDS)}"
            )
        if self.kind == "categorical" and (self.log or self.point_masses):
            raise ConfigError(
                f"column '{self.name}': a categorical column cannot be log-transformed or have point masses"
            )
        if self.kind == "mixed" and not self.point_masses and not self.allow_missing:
            raise ConfigError(
                f"column '{self.name}': a mixed column needs point masses (e.g. mixed={{'{self.name}': [0.0]}}) "
                "or allow_missing=True"
            )
        if self.bounds is not None and not (float(self.bounds[0]) < float(self.bounds[1])):
            raise ConfigError(f"column '{self.name}': bounds {self.bounds} must satisfy low < high")

    @property
    def is_numeric(self) -> bool:
        return self.kind != "categorical"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["point_masses"] = list(self.point_masses)
        d["categories"] = None if self.categories is None else [_plain(c) for c in self.categories]
        d["bounds"] = None if self.bounds is None else [float(b) for b in self.bounds]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ColumnSpec":
        """A column spec from its dict form; a missing or unknown key is a DataError naming it."""
        if not isinstance(d, Mapping):
            raise DataError(f"a column entry of the schema is {type(d).__name__}, not an object with 'name' and 'kind'")
        name = d.get("name")
        for key in ("name", "kind"):
            if key not in d:
                raise DataError(f"a column entry of the schema{f' (column {name!r})' if name else ''} has no '{key}'; "
                                "give every column a 'name' and a 'kind'")
        unknown = [k for k in d if k not in _SPEC_KEYS]
        if unknown:
            raise DataError(f"column '{name}' of the schema has unknown key '{unknown[0]}'; the keys are: "
                            f"{', '.join(_SPEC_KEYS)}")
        for key in ("point_masses", "categories", "bounds"):
            if d.get(key) is not None and (isinstance(d[key], (str, bytes, Mapping)) or not hasattr(d[key], "__len__")):
                raise DataError(f"column '{name}' of the schema: '{key}' must be a list")
        if d.get("bounds") is not None and len(d["bounds"]) != 2:
            raise DataError(f"column '{name}' of the schema: 'bounds' must be a list of two numbers [low, high]")
        for key in ("integer", "log", "allow_missing"):
            if key in d and not isinstance(d[key], bool):
                raise DataError(f"column '{name}' of the schema: '{key}' must be true or false, not {d[key]!r}")
        try:
            return cls._from_dict(d)
        except (TypeError, ValueError):
            raise DataError(f"column '{name}' of the schema: 'point_masses' and 'bounds' must hold numbers") from None

    @classmethod
    def _from_dict(cls, d: Mapping[str, Any]) -> "ColumnSpec":
        d = dict(d)
        d["point_masses"] = tuple(float(x) for x in d.get("point_masses") or ())
        if d.get("categories") is not None:
            d["categories"] = tuple(d["categories"])
        if d.get("bounds") is not None:
            d["bounds"] = (float(d["bounds"][0]), float(d["bounds"][1]))
        return cls(**d)


_SPEC_KEYS = ("name", "kind", "integer", "log", "point_masses", "allow_missing", "categories", "bounds")

#: A declared category list is refused as identifier-like when it has more levels than this share of the
#: rows (and more than :data:`MAX_CATEGORY_LEVELS`), one level per row, or mostly numbers (a numeric column
#: read as text because of a stray value). See :func:`check_category_lists`.
CATEGORY_SHARE = 0.05
MAX_CATEGORY_LEVELS = 50
#: Under DP the row count is private, so only rules on the public list itself apply: at most this many levels,
#: no identifier-shaped levels, not mostly numbers. See :func:`check_category_lists`.
MAX_CATEGORY_LEVELS_DP = 1000
#: Levels shaped like identifiers: e-mail addresses, URLs, UUIDs, long digit strings (ids, phone numbers).
_IDENTIFIER = re.compile(r"^\S+@\S+\.\S+$|^https?://|^[0-9a-f]{8}-[0-9a-f]{4}-|^\+?[0-9][0-9 ()-]{6,}$", re.I)


#: ``review.status`` of a schema file: absent (never a draft), "draft" (refused under DP), "reviewed"
REVIEW_STATUSES = (None, "draft", "reviewed")
REVIEW_HOW = ("drafted from the rows: check every kind, flag, category list and bound against documentation, fix "
              "what is wrong, then set \"status\": \"reviewed\" here; a DP fit refuses the file until then")
#: a drafted category held by fewer rows than this is flagged (a level only the data shows reveals that someone has it)
RARE_LEVEL_ROWS = 5


def _read_review(block: Any) -> tuple[str | None, tuple[str, ...]]:
    if block is None:
        return None, ()
    if not isinstance(block, Mapping) or block.get("status") not in REVIEW_STATUSES[1:]:
        raise DataError("the schema's 'review' must be an object with \"status\": \"draft\" or \"reviewed\"")
    flags = block.get("flags") or []
    if not isinstance(flags, list):
        raise DataError("the schema's 'review.flags' must be a list of sentences")
    return block["status"], tuple(str(f) for f in flags)


def require_reviewed(schema: "TableSchema") -> None:
    """Refuse a schema that is an unreviewed draft (what every differentially private fit calls first).

    Raises:
        DataError: one line saying how to mark the file reviewed.
    """
    if schema is not None and schema.review == "draft":
        raise DataError("the schema is an unreviewed draft (trust data schema draft): check every kind, category "
                        "list and bound against documentation, then set \"review\": {\"status\": \"reviewed\"} "
                        "in the file (in code: schema.as_declared())")


def _plain(x: Any) -> Any:
    """numpy scalars -> Python scalars, for JSON."""
    return x.item() if isinstance(x, np.generic) else x


@dataclass
class TableSchema:
    """The kinds of a table's columns, its target and problem type.

    Use :func:`infer_schema` to build one from a DataFrame with explicit overrides, and
    :meth:`validate` at every boundary where a table enters the library.

    ``declared`` says where the schema came from. A schema read from a reviewed file
    (:meth:`from_dict`, ``--schema``) or accepted in code with :meth:`as_declared` is *declared*:
    public metadata a person vouches for. One returned by :func:`infer_schema` was read off the
    rows, so its kinds, ``integer``, ``allow_missing`` and category lists depend on private values
    (one row can flip them): it is *inferred*, and a differentially private fit refuses it. The
    flag is not serialised.

    ``review`` is the review status a drafted file carries (``trust data schema draft``, :func:`draft_schema`):
    ``"draft"`` until a person has checked every entry against documentation and set it to ``"reviewed"`` in
    the file (``"review": {"status": "reviewed"}``); None for a schema that never was a draft (written by hand,
    or from the registry). A differentially private fit refuses an unreviewed draft (:func:`require_reviewed`).
    ``review_flags`` are the draft's warnings (rare categories, numeric columns drafted as categorical), kept in
    the file for the reviewer.
    """

    columns: dict[str, ColumnSpec]
    target: str | None = None
    problem_type: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    declared: bool = True
    review: str | None = None
    review_flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.target is not None and self.target not in self.columns:
            raise ConfigError(
                f"target '{self.target}' is not a column of the schema; choose one of: {', '.join(self.columns)}"
            )
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ConfigError(
                f"problem_type '{self.problem_type}' is unknown; use 'classification' or 'regression'"
            )
        if self.review not in REVIEW_STATUSES:
            raise ConfigError(f"review status '{self.review}' is unknown; use one of {list(REVIEW_STATUSES[1:])}")

    # -- views -------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def __getitem__(self, name: str) -> ColumnSpec:
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def of_kind(self, *kinds: str) -> list[str]:
        """Names of the columns whose kind is one of ``kinds``."""
        return [n for n, c in self.columns.items() if c.kind in kinds]

    @property
    def features(self) -> list[str]:
        """All columns but the target."""
        return [n for n in self.columns if n != self.target]

    def replace_column(self, name: str, **changes: Any) -> "TableSchema":
        """A copy of the schema with one column's spec changed (e.g. ``kind='general'``)."""
        if name not in self.columns:
            raise ConfigError(f"column '{name}' is not in the schema; choose one of: {', '.join(self.columns)}")
        cols = dict(self.columns)
        cols[name] = replace(cols[name], **changes)
        return replace(self, columns=cols, meta=dict(self.meta))

    def select(self, names: Sequence[str]) -> "TableSchema":
        """The schema restricted to ``names`` (target dropped if not among them)."""
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise ConfigError(f"column '{missing[0]}' is not in the schema; choose from: {', '.join(self.columns)}")
        target = self.target if self.target in names else None
        return replace(self, columns={n: self.columns[n] for n in names}, target=target,
                       problem_type=self.problem_type if target else None, meta=dict(self.meta))

    def as_declared(self) -> "TableSchema":
        """A copy marked *declared*: you vouch that every kind, bound and category list is public
        knowledge (documentation, a data dictionary), not read off the private rows. A draft becomes reviewed."""
        return replace(self, columns=dict(self.columns), meta=dict(self.meta), declared=True,
                       review="reviewed" if self.review == "draft" else self.review)

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``schema.json``); a draft's ``review`` block comes first, where a reviewer sees it."""
        out: dict[str, Any] = {}
        if self.review is not None:
            out["review"] = {"status": self.review, **({"how": REVIEW_HOW} if self.review == "draft" else {}),
                             **({"flags": list(self.review_flags)} if self.review_flags else {})}
        return {**out, "target": self.target, "problem_type": self.problem_type,
                "columns": [c.to_dict() for c in self.columns.values()], "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TableSchema":
        """A *declared* schema from its dict form (a reviewed ``schema.json``).

        Raises:
            DataError: not an object with a ``columns`` list, a column entry malformed (missing ``name`` or
                ``kind``, an unknown key, a list that is not a list), or two columns of the same name.
            ConfigError: an unknown kind or problem type, a target that is not a column.
        """
        if not isinstance(d, Mapping) or not isinstance(d.get("columns"), list) or not d["columns"]:
            raise DataError("the schema must be a JSON object with a non-empty 'columns' list (see "
                            "'trust data schema draft' for one to start from)")
        unknown = [k for k in d if k not in ("review", "target", "problem_type", "columns", "meta")]
        if unknown:
            raise DataError(f"the schema has unknown key '{unknown[0]}'; the keys are: review, target, problem_type, "
                            "columns, meta")
        review, flags = _read_review(d.get("review"))
        cols = [ColumnSpec.from_dict(c) for c in d["columns"]]
        names = [c.name for c in cols]
        dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if dup is not None:
            raise DataError(f"the schema lists column '{dup}' twice; keep one entry per column")
        meta = d.get("meta") or {}
        if not isinstance(meta, Mapping):
            raise DataError("the schema's 'meta' must be an object")
        return cls({c.name: c for c in cols}, d.get("target"), d.get("problem_type"), dict(meta), review=review,
                   review_flags=flags)

    # -- validation --------------------------------------------------------------------------
    def validate(self, df: pd.DataFrame, *, require_target: bool = True) -> pd.DataFrame:
        """Check ``df`` against the schema and return it with the schema's column order.

        Raises :class:`~trust.errors.DataError` naming the first offending column: a column
        the schema declares but the data lacks, a missing value where none is allowed, text in
        a numeric column, a category outside a declared list, a value outside declared bounds.
        Extra columns in ``df`` are dropped.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
        check_unique_columns(df)
        if len(df) == 0:
            raise DataError("the table has no rows; pass a table with at least one row")
        needed = [n for n in self.columns if require_target or n != self.target]
        for name in needed:
            if name not in df.columns:
                role = "target column" if name == self.target else "column"
                raise DataError(
                    f"{role} '{name}' is missing from the data; the data has: {_preview(df.columns)}"
                )
        out = df[needed].copy()
        for name in needed:
            spec = self.columns[name]
            col = out[name]
            n_missing = int(col.isna().sum())
            if n_missing and not spec.allow_missing:
                raise DataError(
                    f"column '{name}' has {n_missing} missing value(s) but is declared non-missing; "
                    "clean them or declare the column with allow_missing=True"
                )
            if spec.is_numeric:
                numeric = pd.to_numeric(col, errors="coerce")
                bad = numeric.isna() & col.notna()
                if bad.any():
                    raise DataError(
                        f"column '{name}' is declared {spec.kind} but holds non-numeric values "
                        f"(e.g. {col[bad].iloc[0]!r}); fix the data or declare it categorical"
                    )
                if not np.isfinite(numeric.dropna().to_numpy(dtype=float)).all():
                    raise DataError(f"column '{name}' holds infinite values; replace them or mark them missing")
                if spec.bounds is not None:
                    lo, hi = spec.bounds
                    outside = (numeric < lo) | (numeric > hi)
                    if outside.any():
                        raise DataError(
                            f"column '{name}' has {int(outside.sum())} value(s) outside its declared bounds "
                            f"[{lo}, {hi}]; widen the bounds or clip the data"
                        )
                out[name] = numeric.astype(float)
            elif spec.categories is not None:
                allowed = set(spec.categories)
                unknown = col.dropna()[~col.dropna().isin(allowed)]
                if len(unknown):
                    raise DataError(
                        f"column '{name}' holds category {unknown.iloc[0]!r} that is not in its declared "
                        "categories; add it to the category list or clean the data"
                    )
        return out

    def coerce(self, df: pd.DataFrame, *, require_target: bool = True) -> pd.DataFrame:
        """The validation of a differentially private fit: only public-schema checks may fail.

        An error that depends on a private value would itself be a release (one row could turn the
        output into an error that reveals it), so under DP the values are mapped instead of checked:

        * numeric columns: text and non-finite values become missing; values outside declared
          ``bounds`` are clipped to them;
        * categorical columns with declared ``categories``: an undeclared category becomes missing;
        * a missing value in a column declared non-missing: the row is dropped. Each row is mapped
          (or dropped) on its own, so adding or removing one row still changes the table by at most
          one row and the guarantee of the mechanism that reads it holds unchanged.

        No count is checked (an empty table is returned as such) and no message names a value or a
        count. Raises :class:`~trust.errors.DataError` only for what the schema alone decides: ``df``
        is not a DataFrame, or a declared column is absent.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
        needed = [n for n in self.columns if require_target or n != self.target]
        for name in needed:
            if name not in df.columns:
                role = "target column" if name == self.target else "column"
                raise DataError(f"{role} '{name}' is missing from the data; the data has: {_preview(df.columns)}")
        out = df[needed].copy()
        keep = np.ones(len(out), dtype=bool)
        for name in needed:
            spec = self.columns[name]
            col = out[name]
            if spec.is_numeric:
                x = pd.to_numeric(col, errors="coerce").astype(float)
                x = x.where(np.isfinite(x.to_numpy()))
                if spec.bounds is not None:
                    x = x.clip(float(spec.bounds[0]), float(spec.bounds[1]))
                out[name] = x
            elif spec.categories is not None:
                out[name] = col.where(col.isin(list(spec.categories)))
            if not spec.allow_missing:
                keep &= out[name].notna().to_numpy()
        return out.loc[keep].reset_index(drop=True) if not keep.all() else out


def _preview(names: Iterable[Any], n: int = 12) -> str:
    names = [str(x) for x in names]
    more = f", ... ({len(names) - n} more)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def _as_list(x: str | Iterable[str] | None) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def _inferred_kind(col: pd.Series, name: Any, declared: str | None, max_categories: int) -> tuple[str, bool]:
    """``(kind, numeric)`` of one column for :func:`infer_schema`; DataError for an empty or constant column, or
    a numeric kind declared for text."""
    non_missing = col.dropna()
    if len(non_missing) == 0:
        raise DataError(f"column '{name}' is entirely missing; drop it before fitting")
    if non_missing.nunique() < 2:
        raise DataError(f"column '{name}' is constant ({_plain(non_missing.iloc[0])!r}); drop it, it carries no "
                        "information")
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    kind = declared or ("continuous" if numeric and non_missing.nunique() > max_categories else "categorical")
    if kind != "categorical" and not numeric:
        raise DataError(f"column '{name}' is declared {kind} but is not numeric; declare it categorical or convert it")
    return kind, numeric


def infer_schema(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    problem_type: str | None = None,
    categorical: str | Iterable[str] | None = None,
    continuous: str | Iterable[str] | None = None,
    general: str | Iterable[str] | None = None,
    mixed: Mapping[str, Sequence[float]] | None = None,
    integer: str | Iterable[str] | None = None,
    log: str | Iterable[str] | None = None,
    allow_missing: str | Iterable[str] | None = None,
    categories: Mapping[str, Sequence[Any]] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    max_categories: int = 20,
) -> TableSchema:
    """Infer a :class:`TableSchema` from ``df``, with explicit overrides taking precedence.

    Inference: text, boolean and category dtypes are ``categorical``; numeric columns with at
    most ``max_categories`` distinct values are ``categorical``; other numeric columns are
    ``continuous`` (``integer`` when every value is whole). Point masses and long tails are a
    modelling choice, so ``mixed`` and ``log`` are never inferred: declare them. Columns that hold
    missing values get ``allow_missing=True``; declare ``allow_missing`` to accept missing
    values in columns that have none yet.

    ``categories`` and ``bounds`` are public metadata and are recorded only as given.

    The result is marked *inferred* (``declared=False``): it was read off the rows, so a
    differentially private fit refuses it. Review it and load it with
    :meth:`TableSchema.from_dict`, or accept it in code with :meth:`TableSchema.as_declared`.

    Raises:
        DataError: ``df`` is empty, a named column does not exist, or a column is constant
            or entirely missing (nothing to learn from it).
        ConfigError: a column is given two kinds, or ``problem_type`` is unknown.
    """
    if not isinstance(df, pd.DataFrame) or len(df) == 0:
        raise DataError("infer_schema needs a non-empty pandas DataFrame")
    check_unique_columns(df)
    overrides: dict[str, str] = {}
    for kind, cols in (("categorical", categorical), ("continuous", continuous), ("general", general),
                       ("mixed", list(mixed or {}))):
        for c in _as_list(cols):
            if c in overrides and overrides[c] != kind:
                raise ConfigError(f"column '{c}' is declared both {overrides[c]} and {kind}; choose one")
            overrides[c] = kind
    named = set(overrides) | set(_as_list(integer)) | set(_as_list(log)) | set(_as_list(allow_missing)) \
        | set(categories or {}) | set(bounds or {}) | ({target} if target else set())
    for c in sorted(named, key=str):
        if c not in df.columns:
            raise DataError(f"column '{c}' is not in the data; the data has: {_preview(df.columns)}")

    specs: dict[str, ColumnSpec] = {}
    for name in df.columns:
        kind, numeric = _inferred_kind(df[name], name, overrides.get(name), max_categories)
        non_missing = df[name].dropna()
        is_integer = name in _as_list(integer) or (
            kind != "categorical" and numeric and bool(np.all(np.mod(non_missing.to_numpy(dtype=float), 1) == 0))
        )
        specs[name] = ColumnSpec(
            name=name,
            kind=kind,
            integer=bool(is_integer) and kind != "categorical",
            log=name in _as_list(log),
            point_masses=tuple(float(v) for v in (mixed or {}).get(name, ())),
            allow_missing=bool(df[name].isna().any()) or name in _as_list(allow_missing),
            categories=tuple((categories or {})[name]) if categories and name in categories else None,
            bounds=tuple(float(b) for b in bounds[name]) if bounds and name in bounds else None,  # type: ignore
        )
    if target is not None and problem_type is None:
        problem_type = "classification" if specs[target].kind == "categorical" else "regression"
    return TableSchema(specs, target, problem_type, declared=False)


def _identifier_reason(levels: Sequence[Any], n_rows: int | None) -> str | None:
    """Why a category list of ``levels`` looks like identifiers or raw values, or None.

    ``n_rows=None`` (a DP fit: the row count is private) applies only the rules on the list itself."""
    k = len(levels)
    if k < 2:
        return None
    if n_rows is not None and n_rows >= 10 and k >= 0.9 * n_rows:
        return "one level per row, as identifiers (e-mails, ids, names) have"
    if n_rows is not None and k > max(MAX_CATEGORY_LEVELS, CATEGORY_SHARE * n_rows):
        return f"more levels than {CATEGORY_SHARE:.0%} of the rows"
    if k > MAX_CATEGORY_LEVELS_DP:
        return f"more than {MAX_CATEGORY_LEVELS_DP} levels"
    text = [str(v) for v in levels]
    if k > 20 and sum(bool(_IDENTIFIER.search(t.strip())) for t in text) >= 0.5 * k:
        return "levels that look like identifiers (e-mail addresses, URLs, UUIDs, long digit strings)"
    if k > 20:  # a numeric column made text by a stray value: mostly numbers, some levels text
        is_text = [isinstance(v, str) for v in levels]
        parsed = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").notna()
        if parsed.mean() >= 0.9 and any(is_text):
            return "levels that are mostly numbers, with text among them (a numeric column with stray text?)"
    return None


def check_category_lists(schema: TableSchema, n_rows: int | None) -> None:
    """Refuse declared category lists that look like identifiers or raw values, not public metadata.

    A category list is published as public metadata by a DP fit (in the model and as the values of the
    synthetic rows), so a list of identifier-shaped levels (e-mail addresses, URLs, UUIDs, long digit
    strings), of more than :data:`MAX_CATEGORY_LEVELS_DP` levels, or of more than 20 levels that are mostly
    numbers with text among them (a numeric column turned text by one stray value, whose exact values would be
    published) is refused; a list declared as plain numbers (ZIP codes, say) passes. These rules read the public list only, so under DP pass ``n_rows=None``: the decision then
    depends on nothing private. With the row count (reviewing a draft, without DP), two more rules apply:
    one level per row, and more levels than :data:`CATEGORY_SHARE` of the rows (and more than
    :data:`MAX_CATEGORY_LEVELS`). The message names the column and the number of declared levels (public),
    never a row count or a value.

    Under DP (``n_rows=None``) an unreviewed draft is refused first (:func:`require_reviewed`).

    Raises:
        DataError: naming the first such column, why, and the fix; or the schema is an unreviewed draft.
    """
    if n_rows is None:
        require_reviewed(schema)
    for name, spec in schema.columns.items():
        if spec.categories is None:
            continue
        why = _identifier_reason(spec.categories, n_rows)
        if why is not None:
            raise DataError(
                f"column '{name}' declares {len(spec.categories)} categories, {why}: publishing them under DP would "
                "release raw values; drop the column, or make it numeric ('continuous'/'general') in the schema")


def numbers_with_text(col: pd.Series, *, share: float = 0.9) -> list[Any] | None:
    """The text tokens of a column that is mostly numbers (at least ``share`` of its distinct values parse as
    numbers), or None: a few tokens (``"unknown"``, ``"n/a"``) that turn a numeric column into a categorical one.

    >>> numbers_with_text(pd.Series(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "unknown"], dtype=object))
    ['unknown']
    """
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return None
    levels = pd.Series(col.dropna().unique(), dtype=object)
    if len(levels) < 3:
        return None
    parsed = pd.to_numeric(levels.astype(str), errors="coerce")
    if parsed.notna().mean() < share or parsed.notna().all():
        return None
    return sorted(str(v) for v in levels[parsed.isna()])[:5]


def _draft_flags(df: pd.DataFrame, schema: TableSchema, max_categories: int) -> list[str]:
    """What a reviewer must look at: numeric columns drafted as categorical, and rare categories."""
    flags = []
    for name, spec in schema.columns.items():
        if spec.kind != "categorical":
            continue
        col = df[name]
        tokens = numbers_with_text(col)
        if tokens is not None:
            flags.append(f"column '{name}' is numbers but for text value(s) {tokens}, so it was drafted categorical "
                         f"with {col.nunique()} levels: mark those values missing (--na) or clean them, then make "
                         "it numeric")
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            flags.append(f"column '{name}' is numeric with {col.nunique()} distinct values (at most "
                         f"--max-categories {max_categories}), so it was drafted categorical: if it is a count or a "
                         "measurement, make it 'continuous' or 'general' (with public bounds)")
        counts = col.value_counts()
        rare = counts[counts < RARE_LEVEL_ROWS]
        if len(rare) and spec.categories is not None:
            flags.append(f"column '{name}': {len(rare)} categor{'y is' if len(rare) == 1 else 'ies are'} held by fewer "
                         f"than {RARE_LEVEL_ROWS} rows (e.g. {[_plain(v) for v in rare.index[:3]]}): a public list "
                         "comes from documentation; a level only the data shows reveals that someone has it")
    return flags


def draft_schema(df: pd.DataFrame, *, target: str | None = None, max_categories: int = 20
                 ) -> tuple[TableSchema, list[str]]:
    """A draft schema read off ``df``, for a person to review before a DP fit: ``(schema, warnings)``.

    Kinds, ``integer`` and ``allow_missing`` are inferred as :func:`infer_schema` does, and every categorical
    column gets the category list seen in the data, except lists that :func:`check_category_lists` would
    refuse (left out, with a warning naming the column). The warnings also flag what a reviewer must look at:
    numeric columns drafted as categorical (few distinct values, or numbers with a few text tokens among them)
    and categories held by fewer than :data:`RARE_LEVEL_ROWS` rows. The draft reads the private rows, so it is
    marked ``review="draft"`` (the file says so, with the flags): a DP fit refuses it (:func:`require_reviewed`)
    until a person sets ``"review": {"status": "reviewed"}`` in the file. ``mixed`` point masses, ``log`` and
    ``bounds`` are never drafted: they are decisions for the reviewer.

    >>> df = pd.DataFrame({"n": [1, 2, 3, 1, 2, 3] * 3, "c": list("aab") * 5 + ["z", "a", "b"]})
    >>> schema, warnings = draft_schema(df)
    >>> schema.review, len(warnings)
    ('draft', 2)
    """
    schema = infer_schema(df, target=target, max_categories=max_categories)
    warnings: list[str] = []
    for name, spec in list(schema.columns.items()):
        if spec.kind != "categorical":
            continue
        levels = tuple(_plain(v) for v in sorted(df[name].dropna().unique(), key=str))
        why = _identifier_reason(levels, len(df))
        if why is not None:
            warnings.append(f"column '{name}' has {len(levels)} distinct values, {why}: no category list drafted; "
                            "drop the column or declare it numeric before a DP fit")
            continue
        schema = schema.replace_column(name, categories=levels)
    warnings += _draft_flags(df, schema, max_categories)
    return replace(schema, review="draft", review_flags=tuple(warnings)), warnings


__all__ = ["ColumnSpec", "TableSchema", "infer_schema", "KINDS", "PROBLEM_TYPES", "check_category_lists",
           "draft_schema", "require_reviewed", "numbers_with_text", "CATEGORY_SHARE", "MAX_CATEGORY_LEVELS",
           "REVIEW_STATUSES", "RARE_LEVEL_ROWS"]
