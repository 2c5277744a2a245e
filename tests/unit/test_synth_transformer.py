"""CTAB-GAN+ data transformer and its DP histogram release (trust.synth.transformer, dp_metadata)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trust.data import infer_schema
from trust.errors import ConfigError, DataError
from trust.privacy import LedgerEntry
from trust.synth.dp_metadata import HistogramRelease, release_histograms
from trust.synth.transformer import DataTransformer, log_forward, log_inverse


def _schema(df: pd.DataFrame, **kw):
    return infer_schema(df, target="label", categorical=["color", "label"], general=["age", "shifted"],
                        continuous=["bimodal", "income", "count"], mixed={"gain": [0.0]},
                        log=["income", "count", "shifted", "gain"], allow_missing=["gain", "color"], **kw)


@pytest.fixture(scope="module")
def fitted(make_table):
    df = make_table("encodings")
    schema = _schema(df)
    tr = DataTransformer(random_state=0).fit(df, schema)
    return df, schema, tr


@pytest.mark.parametrize("lower", [2.5, 0.0, -3.0])
def test_log_transform_inverts_exactly_in_all_three_cases(lower):
    x = lower + np.array([0.0, 0.1, 1.0, 7.5, 1e4])
    y = log_forward(x, lower)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(log_inverse(y, lower), x, rtol=1e-12, atol=1e-9)


def test_round_trip_returns_the_table(fitted):
    df, schema, tr = fitted
    X = tr.transform(df)
    assert X.dtype == np.float32 and X.shape == (len(df), tr.output_dim_)
    back = tr.inverse_transform(X)
    assert list(back.columns) == list(schema.names)
    # categories exact, missing included
    for c in ("color", "label"):
        same = (back[c] == df[c]) | (back[c].isna() & df[c].isna())
        assert same.all(), c
    # mixed: point masses and missing exact, continuous part close
    gain = df["gain"].to_numpy()
    gb = back["gain"].to_numpy()
    assert np.array_equal(np.isnan(gb), np.isnan(gain))
    assert np.array_equal(gb == 0.0, gain == 0.0)
    # integer general column exact
    assert np.array_equal(back["age"].to_numpy(), df["age"].to_numpy())
    assert np.array_equal(back["count"].to_numpy(), df["count"].to_numpy())  # integer, log with min == 0
    for c in ("bimodal", "income", "shifted", "gain"):
        a, b = df[c].to_numpy(dtype=float), back[c].to_numpy(dtype=float)
        ok = ~np.isnan(a)
        rel = np.abs(a[ok] - b[ok]) / np.maximum(1.0, np.abs(a[ok]))
        # values more than 4 sigma from their mode are clipped by the encoding (+-0.99): rare
        assert np.mean(rel < 1e-6) > 0.99, c
        assert b[ok].min() >= a[ok].min() - 1e-9 and b[ok].max() <= a[ok].max() + 1e-9, c


def test_spans_and_cond_blocks_describe_the_matrix(fitted):
    df, schema, tr = fitted
    X = tr.transform(df)
    pos = 0
    for s in tr.spans_:
        assert s.start == pos and s.end > s.start
        assert s.activation == ("tanh" if s.kind == "scalar" else "softmax")
        pos = s.end
        block = X[:, s.start:s.end]
        if s.activation == "softmax":
            assert np.array_equal(block.sum(axis=1), np.ones(len(df)))
        else:
            assert np.abs(block).max() <= 1.0
    assert pos == tr.output_dim_
    softmax = [(s.column, s.start, s.end) for s in tr.spans_ if s.activation == "softmax"]
    assert [(b.column, b.start, b.end) for b in tr.cond_blocks_] == softmax
    for b in tr.cond_blocks_:
        assert len(b.counts) == b.width
        assert b.counts.sum() == pytest.approx(len(df), rel=1e-6)
    # the mixed column's mode block: [point mass 0, missing, continuous modes...]
    gain_blocks = [b for b in tr.cond_blocks_ if b.column == "gain"]
    assert gain_blocks[0].counts[0] == (df["gain"] == 0).sum()
    assert gain_blocks[0].counts[1] == df["gain"].isna().sum()
    kinds = [s.kind for s in tr.column_spans("gain")]
    assert kinds == ["scalar", "mode"]
    assert [s.kind for s in tr.column_spans("age")] == ["scalar"]
    assert tr.column_spans("color")[0].width == 4  # 3 colours + missing


def test_the_bimodal_column_gets_two_modes_used_by_the_encoding(fitted):
    df, _, tr = fitted
    X = tr.transform(df)
    mode = tr.column_spans("bimodal")[1]
    used = X[:, mode.start:mode.end].sum(axis=0)
    assert (used > 0.1 * len(df)).sum() >= 2


def test_transform_is_seeded_and_state_round_trips_through_json(fitted):
    df, schema, tr = fitted
    X1, X2 = tr.transform(df), tr.transform(df)
    assert np.array_equal(X1, X2)
    assert not np.array_equal(X1, tr.transform(df, random_state=123))  # modes are posterior draws
    tr2 = DataTransformer.from_dict(json.loads(json.dumps(tr.to_dict())))
    assert np.array_equal(tr2.transform(df), X1)
    assert tr2.spans_ == tr.spans_


def test_inverse_accepts_soft_generator_output(fitted):
    df, _, tr = fitted
    X = tr.transform(df).astype(float)
    rng = np.random.default_rng(1)
    soft = X.copy()
    for s in tr.spans_:
        if s.activation == "softmax":  # a smoothed one-hot whose argmax is unchanged
            soft[:, s.start:s.end] = 0.7 * X[:, s.start:s.end] + 0.3 * rng.random((len(X), s.width)) / s.width
    soft[:, [s.start for s in tr.spans_ if s.kind == "scalar"]] *= 1.5  # out-of-range tanh: clipped
    back = tr.inverse_transform(soft)
    assert (back["color"].fillna("NA") == df["color"].fillna("NA")).all()
    assert back["age"].between(df["age"].min(), df["age"].max()).all()


def test_category_index_and_errors(fitted):
    df, _, tr = fitted
    cats = sorted(df["color"].dropna().unique())
    assert tr.category_index("color", cats[1]) == 1
    assert tr.category_index("color", None) == len(cats)
    with pytest.raises(DataError, match="color.*purple"):
        tr.category_index("color", "purple")
    with pytest.raises(DataError, match="age"):
        tr.category_index("age", 30)
    bad = df.copy()
    bad.loc[0, "color"] = "purple"
    with pytest.raises(DataError, match="color"):
        tr.transform(bad)
    with pytest.raises(DataError, match="columns"):
        tr.inverse_transform(np.zeros((2, tr.output_dim_ + 1)))
    with pytest.raises(ConfigError):
        DataTransformer(n_modes=0).fit(df, _schema(df))
    with pytest.raises(DataError, match="'bimodal' is constant"):
        DataTransformer().fit(df.assign(bimodal=1.0), _schema(df))
    nan_df = df.copy()
    nan_df.loc[3, "age"] = np.nan
    with pytest.raises(DataError, match="'age'.*missing"):
        DataTransformer().fit(nan_df, _schema(df))


def _dp_schema(df):
    return _schema(df, categories={"color": ["blue", "green", "red"], "label": ["no", "yes"]})


def test_histogram_release_needs_declared_categories_and_a_positive_epsilon(make_table):
    df = make_table("encodings", 300)
    with pytest.raises(DataError, match="color.*declare"):
        release_histograms(df, _schema(df), 1.0)
    with pytest.raises(ConfigError, match="epsilon"):
        release_histograms(df, _dp_schema(df), 0.0)


def test_histogram_noise_matches_the_stated_epsilon(make_table):
    df = make_table("encodings", 400)
    schema = _dp_schema(df)
    eps = 2.0
    c = len(schema.columns)
    true = df["color"].value_counts().reindex(["blue", "green", "red"]).to_numpy(float)
    noise = []
    for seed in range(300):
        rel, entry = release_histograms(df, schema, eps, insecure_noise_seed=seed)
        noise.append(rel.columns["color"].counts - true)
    noise = np.concatenate(noise)
    b = c / eps  # epsilon split equally over the c columns, each histogram L1 sensitivity 1
    # integer noise: the released counts stay whole numbers
    assert np.array_equal(noise, np.round(noise))
    # counts are far from 0, so clipping at 0 never bites: discrete Laplace(b) has variance 2r/(1-r)^2, r = e^(-1/b)
    r = np.exp(-1 / b)
    assert np.var(noise) == pytest.approx(2 * r / (1 - r) ** 2, rel=0.15)
    assert abs(np.mean(noise)) < 0.3 * b
    assert isinstance(entry, LedgerEntry)
    assert entry.epsilon == eps and entry.delta == 0.0 and entry.unit_of_privacy == "record"
    assert entry.adjacency == "add/remove" and entry.accountant == "basic"
    assert entry.noise_multiplier == pytest.approx(b)
    # per-column budgets add up to the release's epsilon
    assert sum(h.epsilon for h in rel.columns.values()) == pytest.approx(eps)


def test_transformer_fits_from_the_release_alone(make_table):
    df = make_table("encodings", 1500)
    schema = _dp_schema(df).replace_column("age", bounds=(0.0, 120.0))
    rel, _ = release_histograms(df, schema, 50.0, insecure_noise_seed=0)
    rel = HistogramRelease.from_dict(json.loads(json.dumps(rel.to_dict())))
    tr = DataTransformer(random_state=0).fit(None, schema, histograms=rel)
    assert tr.dp_ and tr.columns_ == schema.names
    assert rel.columns["age"].range_source == "declared" and rel.columns["bimodal"].range_source == "dp"
    # the DP range covers the bulk of the data at this epsilon
    lo, hi = rel.columns["bimodal"].lower, rel.columns["bimodal"].upper
    assert np.mean(df["bimodal"].between(lo, hi)) > 0.95
    X = tr.transform(df)
    assert X.shape == (len(df), tr.output_dim_)
    back = tr.inverse_transform(X)
    assert (back["label"] == df["label"]).all()
    assert (back["gain"] == 0).sum() == (df["gain"] == 0).sum()
    # category frequencies come from the noisy counts, close to the truth at a large epsilon
    blk = tr.cond_blocks_[[b.column for b in tr.cond_blocks_].index("label")]
    truth = df["label"].value_counts().reindex(["no", "yes"]).to_numpy(float)
    np.testing.assert_allclose(blk.counts, truth, atol=10 * len(schema.columns) / 50.0)
    # no DP fit without a release covering the schema
    with pytest.raises(DataError):
        DataTransformer().fit(None, schema)


def test_dp_range_covers_the_data_and_ignores_far_false_positives():
    from trust.synth.dp_metadata import _dp_range

    values = np.clip(np.exp(np.random.default_rng(0).normal(np.log(1000), 0.6, 3000)), 101, 9999)
    ranges = [_dp_range(values, 0.5, np.random.default_rng(seed)) for seed in range(60)]
    for lo, hi in ranges:
        assert lo <= 100 and hi >= 10000  # the decades holding the data
        assert lo >= -1.1e4 and hi <= 1e5  # a false-positive bin decades away is never joined
    assert sum((lo, hi) == (100.0, 10000.0) for lo, hi in ranges) > 40
