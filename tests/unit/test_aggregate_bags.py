"""Bags and the bag-level / instance-level / interpolating losses."""

import numpy as np
import pandas as pd
import pytest

from trust.aggregate import (bag_indices, bag_level_loss, bag_means, bag_sizes, check_bags, instance_level_loss,
                             interpolating_loss, make_bags, split_bags, subset_bags, within_bag_spread)
from trust.errors import ConfigError, DataError


def test_random_bags_are_equal_disjoint_and_seeded():
    ids = make_bags(103, 10, random_state=0)
    assert ids.shape == (103,)
    assert (ids == -1).sum() == 3  # the unequal last bag is dropped by default
    assert np.all(bag_sizes(ids) == 10) and len(bag_sizes(ids)) == 10
    assert np.array_equal(ids, make_bags(103, 10, random_state=0))
    assert not np.array_equal(ids, make_bags(103, 10, random_state=1))
    kept = make_bags(103, 10, drop_last=False, random_state=0)
    assert (kept >= 0).all() and sorted(bag_sizes(kept)) == [3] + [10] * 10
    # bags are a random partition: rows 0..9 are not all in one bag
    assert len(set(ids[:10])) > 1


def test_feature_keyed_bags_never_mix_keys():
    rng = np.random.default_rng(0)
    keys = rng.choice(["a", "b", "c"], size=200, p=[0.6, 0.3, 0.1])
    whole = make_bags(200, None, "feature_keyed", keys=keys, random_state=0)
    assert len(bag_sizes(whole)) == 3 and (whole >= 0).all()
    for idx in bag_indices(whole):
        assert len(set(keys[idx])) == 1
    chunked = make_bags(200, 8, "feature_keyed", keys=keys, random_state=0)
    assert np.all(bag_sizes(chunked) == 8)
    for idx in bag_indices(chunked):
        assert len(set(keys[idx])) == 1
    counts = pd.Series(keys).value_counts()
    assert (chunked >= 0).sum() == sum((c // 8) * 8 for c in counts)
    kept = make_bags(200, 8, "feature_keyed", keys=keys, drop_last=False, random_state=0)
    assert (kept >= 0).all() and bag_sizes(kept).max() == 8
    floor = make_bags(200, 8, "feature_keyed", keys=keys, drop_last=False, min_bag_size=5, random_state=0)
    assert bag_sizes(floor).min() >= 5
    # a tuple key from a DataFrame
    frame = pd.DataFrame({"k1": keys, "k2": rng.integers(0, 2, 200)})
    two = make_bags(200, None, "feature_keyed", keys=frame, random_state=0)
    for idx in bag_indices(two):
        assert len(frame.iloc[idx].drop_duplicates()) == 1


@pytest.mark.parametrize("kwargs,err", [
    (dict(n=10, bag_size=0), ConfigError), (dict(n=10, bag_size=11), ConfigError),
    (dict(n=10, bag_size=2.5), ConfigError), (dict(n=10, bag_size=2, strategy="nope"), ConfigError),
    (dict(n=10, bag_size=2, strategy="feature_keyed"), ConfigError),
    (dict(n=10, bag_size=2, strategy="feature_keyed", keys=[1] * 9), DataError),
])
def test_bad_bagging_raises(kwargs, err):
    with pytest.raises(err):
        make_bags(**kwargs)


def test_bag_means_and_checks():
    y = np.arange(12, dtype=float)
    ids = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, -1, 0, 1])
    expect = pd.Series(y[ids >= 0]).groupby(ids[ids >= 0]).mean().to_numpy()
    assert np.allclose(bag_means(y, ids), expect)
    assert np.allclose(bag_means(np.column_stack([y, 2 * y]), ids)[:, 1], 2 * expect)
    with pytest.raises(DataError):
        check_bags(np.array([0, 2, 2]))  # bag 1 empty
    with pytest.raises(DataError):
        check_bags(np.array([0, -2]))
    tr, va = split_bags(make_bags(100, 5, random_state=0), 0.25, random_state=0)
    assert len(va) == 5 and len(tr) == 15 and not set(tr) & set(va)
    mask, new = subset_bags(ids, np.array([2, 0]))
    assert mask.sum() == 7 and set(new) == {0, 1} and np.all(new[ids[mask] == 2] == 0)


def test_squared_loss_decomposes_exactly_with_unequal_bags():
    rng = np.random.default_rng(1)
    n = 500
    ids = make_bags(n, 7, drop_last=False, random_state=2)  # one bag of 3 rows
    assert len(set(bag_sizes(ids))) == 2
    f = rng.normal(size=n)
    yb = rng.normal(size=len(bag_sizes(ids)))
    lb, li, r = bag_level_loss(f, ids, yb), instance_level_loss(f, ids, yb), within_bag_spread(f, ids)
    assert li == pytest.approx(lb + r, rel=1e-12)
    for rho in (0.0, 0.3, 1.0, 2.0):
        assert interpolating_loss(f, ids, yb, rho) == pytest.approx((1 - rho) * lb + rho * li, rel=1e-10, abs=1e-12)
    assert interpolating_loss(f, ids, yb, 0.0) == pytest.approx(lb)
    assert interpolating_loss(f, ids, yb, 1.0) == pytest.approx(li)
    # log-loss: the instance-level loss is never below the bag-level loss (Jensen), so R >= 0
    p = rng.uniform(0.05, 0.95, n)
    props = rng.uniform(0, 1, len(yb))
    assert instance_level_loss(p, ids, props, "log") >= bag_level_loss(p, ids, props, "log")
    with pytest.raises(ConfigError):
        interpolating_loss(f, ids, yb, -0.1)
    with pytest.raises(DataError):
        bag_level_loss(f, ids, yb[:-1])
