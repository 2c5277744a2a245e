"""Evaluate synthetic tables: machine-learning utility, statistical fidelity, privacy.

Following CTAB-GAN+'s evaluation (METHODS.md section 1), every function returns flat numbers
(aggregates only, never rows):

* :func:`ml_utility`: train-on-synthetic-test-on-real (TSTR) against train-on-real-test-on-real
  (TRTR) on the real test split. Models: scikit-learn's ``HistGradientBoosting`` and a linear
  model (``LogisticRegression`` / ``Ridge``), each behind one preprocessing (one-hot of
  categoricals, median imputation and standard scaling of numeric columns) that is fitted on
  the training set of that run (real or synthetic). Classification: ROC AUC (one-vs-rest macro
  for more than two classes), macro F1 and accuracy; regression: R2 and MAPE. The paper reports
  these as TRTR - TSTR differences, which we also give (``*_gap``).
* :func:`fidelity`: sdmetrics' quality report (``Column Shapes``: KS complement / TV complement
  per column; ``Column Pair Trends``: correlation / contingency similarity per pair), on bounded
  subsamples, with SDV metadata built from our :class:`~trust.data.schema.TableSchema`; plus the
  paper's statistical similarity: average Wasserstein distance of min-max scaled numeric columns
  and average Jensen-Shannon distance of categorical columns.
* Privacy: :func:`trust.privacy.audit.privacy_audit` (DCR share against a holdout, DCR and NNDR
  5th percentiles, exact copies, distance-based membership inference AUC).

:func:`evaluate_synthetic` ties them together.

Deviations: the paper trains several more model families (decision tree, random forest, MLP,
SVM); we use two (one tree ensemble, one linear) to keep the evaluation within seconds, and add
sdmetrics' fidelity scores next to the paper's distances.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from trust._validation import check_random_state
from trust.data.io import check_unique_columns
from trust.data.schema import TableSchema
from trust.errors import DataError
from trust.privacy.audit import privacy_audit


def _cap(df: pd.DataFrame, n: int | None, rng: np.random.Generator) -> pd.DataFrame:
    if n is None or len(df) <= n:
        return df
    return df.iloc[np.sort(rng.choice(len(df), size=n, replace=False))]


def _check_tables(schema: TableSchema, **tables: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every table a non-empty DataFrame with unique names and the schema's columns, numeric columns numeric,
    no missing value where the schema allows none, and (classification) target labels the real tables know."""
    out = {}
    for name, df in tables.items():
        if not isinstance(df, pd.DataFrame) or len(df) == 0:
            raise DataError(f"the {name} table is empty or not a DataFrame; pass a table with rows")
        check_unique_columns(df, f"the {name} table")
        for c in schema.names:
            if c not in df.columns:
                what = "target column" if c == schema.target else "column"
                raise DataError(f"{what} '{c}' is missing from the {name} table; pass tables with the same columns")
        for c in schema.names:
            spec, col = schema[c], df[c]
            if spec.is_numeric:
                numeric = pd.to_numeric(col, errors="coerce")
                if (numeric.isna() & col.notna()).any():
                    raise DataError(f"column '{c}' of the {name} table holds text, but the schema says it is "
                                    f"{spec.kind}; fix that table or declare the column categorical")
                values = numeric.dropna().to_numpy(dtype=float)
                if not np.isfinite(values).all() or (values.size and np.abs(values).max() > 1e150):
                    raise DataError(f"column '{c}' of the {name} table holds infinite values or values beyond 1e150 "
                                    "in magnitude (their distances overflow); rescale or replace them")
            if name != "synthetic":  # real tables: missing values are imputed, rows without a target dropped
                continue
            if c == schema.target and col.isna().any():
                raise DataError(f"target '{c}' has missing values in the {name} table; drop those rows (a missing "
                                "target is not a class)")
            if c != schema.target and not spec.allow_missing and col.isna().any():
                raise DataError(f"column '{c}' of the {name} table has missing values, which the schema does not "
                                "allow for it; fill or drop them, or declare the column allow_missing")
        out[name] = df[schema.names].reset_index(drop=True)
    _check_labels(schema, out)
    return out


def _check_labels(schema: TableSchema, tables: dict[str, pd.DataFrame]) -> None:
    """Classification: the synthetic labels must be spelled as the real ones; the real test split needs two classes."""
    target = schema.target
    if target is None or schema[target].kind != "categorical":
        return
    labels = {k: set(df[target].dropna().map(_category_str)) for k, df in tables.items()}
    real = set().union(*(v for k, v in labels.items() if k != "synthetic"))
    if "synthetic" in labels and labels["synthetic"] - real:
        extra = sorted(labels["synthetic"] - real)[:3]
        raise DataError(f"the synthetic table's target '{target}' has label(s) {', '.join(map(repr, extra))} that "
                        f"the real tables lack ({', '.join(map(repr, sorted(real)[:6]))}); the synthetic table "
                        "must spell the classes as the real data does")
    if "real_test" in labels and len(labels["real_test"]) < 2:
        raise DataError(f"the real test table's target '{target}' has a single class, so AUC is undefined; make a "
                        "stratified split (`trust data split DATA --target ...`) with a larger test part")


def _preprocessor(schema: TableSchema, features: list[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats = [c for c in features if schema[c].kind == "categorical"]
    nums = [c for c in features if schema[c].kind != "categorical"]
    parts = []
    if cats:
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="__missing__"),
                                           OneHotEncoder(handle_unknown="ignore")), cats))
    if nums:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def _models(problem: str, seed: int) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    if problem == "classification":
        return {"hgb": HistGradientBoostingClassifier(random_state=seed),
                "linear": LogisticRegression(max_iter=1000)}
    return {"hgb": HistGradientBoostingRegressor(random_state=seed), "linear": Ridge(alpha=1.0)}


def _category_str(v: Any) -> Any:
    """A category as text, with 1.0 and 1 alike (CSV round trips turn integer codes into floats)."""
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return np.nan
        if float(v).is_integer():
            return str(int(v))
    if isinstance(v, (np.integer, np.bool_)):
        v = v.item()
    return str(v)


def _as_str_categories(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Categoricals as strings (missing kept), numerics as float: one dtype per column for sklearn."""
    df = df.copy()
    for c in schema.names:
        if schema[c].kind == "categorical":
            df[c] = df[c].astype(object).where(df[c].notna(), np.nan).map(_category_str)
        else:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def _fit_score(train: pd.DataFrame, test: pd.DataFrame, schema: TableSchema, seed: int) -> dict[str, float]:
    from sklearn.metrics import (accuracy_score, f1_score, mean_absolute_percentage_error, r2_score,
                                 roc_auc_score)
    from sklearn.pipeline import make_pipeline

    target = schema.target
    feats = schema.features
    problem = schema.problem_type or ("classification" if schema[target].kind == "categorical" else "regression")
    out: dict[str, float] = {}
    y_train = train[target]
    y_test = test[target]
    ok = y_train.notna()
    for name, model in _models(problem, seed).items():
        if problem == "classification":
            y_tr = y_train[ok].astype(str).to_numpy()
            classes = np.unique(y_tr)
            if len(classes) < 2:
                # A training set with a single class: the only model is the constant one (AUC 0.5),
                # scored as such rather than left undefined, so that a gate on it fails.
                yt = y_test.astype(str).to_numpy()
                pred = np.full(len(yt), classes[0] if len(classes) else "", dtype=object)
                out.update({f"{name}.auc": 0.5,
                            f"{name}.f1_macro": float(f1_score(yt, pred.astype(str), average="macro",
                                                               labels=np.unique(yt), zero_division=0)),
                            f"{name}.accuracy": float(accuracy_score(yt, pred.astype(str)))})
                continue
            pipe = make_pipeline(_preprocessor(schema, feats), model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pipe.fit(train.loc[ok, feats], y_tr)
            yt = y_test.astype(str).to_numpy()
            pred = pipe.predict(test[feats])
            proba = pipe.predict_proba(test[feats])
            labels = np.unique(yt)
            if len(labels) == 2:
                pos = labels[-1]
                score = proba[:, list(pipe.classes_).index(pos)] if pos in pipe.classes_ else np.zeros(len(yt))
                auc = roc_auc_score(yt == pos, score)
            else:
                full = np.zeros((len(yt), len(labels)))
                for j, lab in enumerate(labels):
                    if lab in pipe.classes_:
                        full[:, j] = proba[:, list(pipe.classes_).index(lab)]
                full = full / np.maximum(full.sum(axis=1, keepdims=True), 1e-12)
                auc = roc_auc_score(yt, full, multi_class="ovr", average="macro", labels=labels)
            out[f"{name}.auc"] = float(auc)
            out[f"{name}.f1_macro"] = float(f1_score(yt, pred, average="macro", labels=labels, zero_division=0))
            out[f"{name}.accuracy"] = float(accuracy_score(yt, pred))
        else:
            pipe = make_pipeline(_preprocessor(schema, feats), model)
            pipe.fit(train.loc[ok, feats], y_train[ok].astype(float))
            pred = pipe.predict(test[feats])
            yt = y_test.astype(float).to_numpy()
            out[f"{name}.r2"] = float(r2_score(yt, pred))
            out[f"{name}.mape"] = float(mean_absolute_percentage_error(yt, pred))
    return out


def ml_utility(real_train: pd.DataFrame, real_test: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema, *,
               max_train_rows: int | None = None, random_state: Any = 0,
               trtr: dict[str, float] | None = None) -> dict[str, float]:
    """TSTR vs TRTR utility on the real test split.

    Args:
        real_train: the real rows the generator was trained on.
        real_test: real rows neither the generator nor the models saw.
        synthetic: the synthetic table.
        schema: kinds, target and problem type (the target is required).
        max_train_rows: bound on each training set (seeded subsample); None: all rows.
        random_state: seed of subsamples and models.
        trtr: precomputed TRTR figures (``ml_utility``'s ``trtr.*`` keys without the prefix) to skip refitting.

    Returns:
        flat dict: ``tstr.<model>.<metric>``, ``trtr.<model>.<metric>`` and ``gap.<model>.<metric>``
        (TRTR - TSTR) for models ``hgb`` and ``linear``, metrics ``auc``, ``f1_macro``, ``accuracy``
        (classification) or ``r2``, ``mape`` (regression). A training set holding a single class is
        scored as the constant model it allows (AUC 0.5).

    Raises:
        DataError: no target in the schema, or a table lacks a column.
    """
    if schema.target is None:
        raise DataError("ml_utility needs a target column; set the schema's target (e.g. --target income)")
    t = _check_tables(schema, real_train=real_train, real_test=real_test, synthetic=synthetic)
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31 - 1))
    tr, te, sy = (_as_str_categories(t[k], schema) for k in ("real_train", "real_test", "synthetic"))
    tr, sy = _cap(tr, max_train_rows, rng), _cap(sy, max_train_rows, rng)
    if te[schema.target].isna().any():
        te = te[te[schema.target].notna()]
    base = trtr if trtr is not None else _fit_score(tr, te, schema, seed)
    syn = _fit_score(sy, te, schema, seed)
    out = {f"trtr.{k}": v for k, v in base.items()}
    out.update({f"tstr.{k}": v for k, v in syn.items()})
    out.update({f"gap.{k}": base[k] - syn[k] for k in syn if k in base})
    return out


def sdv_metadata(schema: TableSchema) -> dict[str, Any]:
    """SDV single-table metadata (``sdtype`` per column) from a :class:`TableSchema`."""
    return {"columns": {n: {"sdtype": "categorical" if s.kind == "categorical" else "numerical"}
                        for n, s in schema.columns.items()}}


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema, *, max_rows: int | None = 2000,
             random_state: Any = 0) -> dict[str, float]:
    """Statistical fidelity of ``synthetic`` to ``real``.

    Returns:
        ``quality_score``, ``column_shapes``, ``column_pair_trends`` (sdmetrics, in [0, 1], higher
        is better), ``wasserstein_mean`` (numeric columns min-max scaled on the real data; lower is
        better) and ``jsd_mean`` (categoricals, Jensen-Shannon distance base 2; lower is better).
    """
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import wasserstein_distance

    t = _check_tables(schema, real=real, synthetic=synthetic)
    rng = check_random_state(random_state)
    r, s = _cap(t["real"], max_rows, rng), _cap(t["synthetic"], max_rows, rng)
    r, s = _as_str_categories(r, schema), _as_str_categories(s, schema)
    from sdmetrics.reports import QualityReport  # the unified report (the single-table one is deprecated)

    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate({"table": r}, {"table": s}, {"tables": {"table": sdv_metadata(schema)}}, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    out = {"quality_score": float(report.get_score()),
           "column_shapes": float(props.get("Column Shapes", np.nan)),
           "column_pair_trends": float(props.get("Column Pair Trends", np.nan))}
    wd, jsd = [], []
    for c in schema.names:
        if schema[c].kind == "categorical":
            a = r[c].fillna("__missing__").astype(str)
            b = s[c].fillna("__missing__").astype(str)
            cats = sorted(set(a) | set(b))
            pa = a.value_counts().reindex(cats, fill_value=0).to_numpy(float)
            pb = b.value_counts().reindex(cats, fill_value=0).to_numpy(float)
            jsd.append(float(jensenshannon(pa / pa.sum(), pb / pb.sum(), base=2)))
        else:
            a = r[c].dropna().to_numpy(float)
            b = s[c].dropna().to_numpy(float)
            if len(a) == 0 or len(b) == 0:
                continue
            lo, hi = float(a.min()), float(a.max())
            scale = hi - lo if hi > lo else 1.0
            wd.append(float(wasserstein_distance((a - lo) / scale, (b - lo) / scale)))
    out["wasserstein_mean"] = float(np.mean(wd)) if wd else float("nan")
    out["jsd_mean"] = float(np.mean(jsd)) if jsd else float("nan")
    return out


def evaluate_synthetic(real_train: pd.DataFrame, real_test: pd.DataFrame, real_holdout: pd.DataFrame,
                       synthetic: pd.DataFrame, schema: TableSchema, random_state: Any = 0, *,
                       max_train_rows: int | None = None, fidelity_rows: int | None = 2000,
                       privacy_rows: int | None = 5000, trtr: dict[str, float] | None = None) -> dict[str, float]:
    """Utility, fidelity and privacy of a synthetic table, as one flat dict of aggregates.

    Args:
        real_train: the rows the generator was trained on.
        real_test: real rows for measuring utility (never trained on).
        real_holdout: real rows never trained on, the reference for the privacy audit.
        synthetic: the synthetic table (same columns).
        schema: the table's schema (target required).
        random_state: seed of every subsample and model.
        max_train_rows: bound on the utility models' training sets.
        fidelity_rows: bound on the rows the fidelity report compares.
        privacy_rows: bound on the privacy audit's subsamples.
        trtr: precomputed TRTR figures to reuse across several synthetic tables.

    Returns:
        keys ``utility.*`` (see :func:`ml_utility`), ``fidelity.*`` (see :func:`fidelity`),
        ``privacy.*`` (see :func:`trust.privacy.audit.privacy_audit`), ``rows.synthetic`` and
        ``seconds`` (wall time).

    Raises:
        DataError: a table is empty or lacks a schema column; the schema has no target.
    """
    start = time.perf_counter()
    t = _check_tables(schema, real_train=real_train, real_test=real_test, real_holdout=real_holdout,
                      synthetic=synthetic)
    t = {k: _as_str_categories(v, schema) for k, v in t.items()}  # one dtype per column in every table
    rng = check_random_state(random_state)
    out: dict[str, float] = {}
    util = ml_utility(t["real_train"], t["real_test"], t["synthetic"], schema, max_train_rows=max_train_rows,
                      random_state=rng, trtr=trtr)
    out.update({f"utility.{k}": v for k, v in util.items()})
    fid = fidelity(t["real_train"], t["synthetic"], schema, max_rows=fidelity_rows, random_state=rng)
    out.update({f"fidelity.{k}": v for k, v in fid.items()})
    cats = schema.of_kind("categorical")
    priv = privacy_audit(t["real_train"], t["real_holdout"], t["synthetic"], categorical=cats,
                         max_rows=privacy_rows, random_state=rng)
    out.update({f"privacy.{k}": v for k, v in priv.items()})
    out["rows.synthetic"] = float(len(t["synthetic"]))
    out["seconds"] = time.perf_counter() - start
    return out


def trtr_baseline(real_train: pd.DataFrame, real_test: pd.DataFrame, schema: TableSchema, *,
                  max_train_rows: int | None = None, random_state: Any = 0) -> dict[str, float]:
    """TRTR figures alone (``<model>.<metric>``), to pass as ``trtr=`` when evaluating several tables."""
    if schema.target is None:
        raise DataError("the TRTR baseline needs a target column; set the schema's target")
    t = _check_tables(schema, real_train=real_train, real_test=real_test)
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31 - 1))
    tr, te = (_as_str_categories(t[k], schema) for k in ("real_train", "real_test"))
    tr = _cap(tr, max_train_rows, rng)
    te = te[te[schema.target].notna()]
    return _fit_score(tr, te, schema, seed)


__all__ = ["ml_utility", "fidelity", "evaluate_synthetic", "trtr_baseline", "sdv_metadata"]
