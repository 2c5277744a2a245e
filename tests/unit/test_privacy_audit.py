"""Distance-based privacy audits (trust.privacy.audit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trust.errors import DataError
from trust.privacy.audit import (DistanceEncoder, closest_distances, dcr_share, dcr_statistics,
                                 distance_mia_auc, exact_copies, privacy_audit)


@pytest.fixture(scope="module")
def tables(make_table):
    return make_table("audit", 600, 0), make_table("audit", 600, 1), make_table("audit", 600, 2)  # train, holdout, independent "synthetic"


def test_copy_of_train_is_flagged_by_every_measure(tables):
    train, holdout, _ = tables
    copy = train.sample(frac=1.0, random_state=3)
    out = privacy_audit(train, holdout, copy, categorical=["cat", "y"], random_state=0)
    assert out["dcr_share_train"] > 0.95
    assert out["exact_copies"] == len(train) and out["exact_copy_rate"] == 1.0
    assert out["dcr_p5"] == 0.0 and out["nndr_p5"] == 0.0
    assert out["mia_auc"] > 0.95
    assert out["holdout_dcr_p5"] > 0  # an independent sample is not on top of train


def test_independent_sample_looks_like_a_holdout(tables):
    train, holdout, synthetic = tables
    out = privacy_audit(train, holdout, synthetic, categorical=["cat", "y"], random_state=0)
    assert 0.42 < out["dcr_share_train"] < 0.58
    assert 0.42 < out["mia_auc"] < 0.58
    assert out["exact_copies"] == 0
    # the synthetic rows sit as far from train as holdout rows do
    assert out["dcr_p5"] == pytest.approx(out["holdout_dcr_p5"], rel=0.35)
    assert set(out) >= {"dcr_share_train", "dcr_p5", "nndr_p5", "exact_copies", "mia_auc"}
    assert all(isinstance(v, float) for v in out.values())


def test_partial_memorisation_sits_between(tables):
    train, holdout, synthetic = tables
    half = pd.concat([train.iloc[:300], synthetic.iloc[:300]], ignore_index=True)
    out = privacy_audit(train, holdout, half, categorical=["cat", "y"], random_state=0)
    assert 0.65 < out["dcr_share_train"] < 0.85
    assert out["exact_copies"] == 300
    assert 0.6 < out["mia_auc"] < 0.9


def test_one_encoder_fitted_on_real_train_only(tables):
    train, _, _ = tables
    enc = DistanceEncoder(categorical=["cat", "y"]).fit(train)
    scaled = train.copy()
    scaled[["x1", "x2", "x3"]] *= 10.0
    # with a scaler refitted on the scaled copy (the public code's bug) it would look like an exact copy
    S, T = enc.transform(scaled), enc.transform(train)
    assert np.median(closest_distances(S, T)[:, 0]) > 1.0
    assert exact_copies(S, T) == 0
    mean, sd, _, _ = enc.numeric_["x2"]
    assert mean == pytest.approx(train["x2"].mean()) and sd == pytest.approx(train["x2"].std(ddof=0))
    # unseen categories encode as zeros, missing numeric values get an indicator
    other = train.head(3).copy()
    other["cat"] = "zzz"
    assert enc.transform(other).shape == T[:3].shape


def test_array_functions_and_their_errors():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(200, 3))
    h = rng.normal(size=(200, 3))
    assert dcr_share(t, t, h, random_state=0) == 1.0
    assert distance_mia_auc(t, h, t, random_state=0) == 1.0
    dup = np.vstack([t, t[:1]])
    st = dcr_statistics(t[:1], dup)
    assert st["dcr_p5"] == 0.0 and st["nndr_p5"] == 0.0
    assert exact_copies(t[:5] + 1e-9, t) == 0
    with pytest.raises(DataError, match="columns"):
        closest_distances(t, t[:, :2])
    with pytest.raises(DataError, match="NaN"):
        closest_distances(np.full((2, 3), np.nan), t)
