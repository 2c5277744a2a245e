"""Closed forms, the torch models, rho selection and the classifier, on small seeded data."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from trust.aggregate import (BagLevelClassifier, BagLevelRegressor, InstanceLevelRegressor, InterpolatingClassifier,
                             InterpolatingRegressor, bag_level_loss, bag_means, bag_sizes, choose_rho,
                             interpolating_loss, make_bags)
from trust._validation import NotFittedError
from trust.errors import ConfigError, DataError


def linear_data(n=600, d=12, k=6, seed=0, drop_last=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + rng.normal(size=d)  # non-centred features
    theta = rng.normal(size=d)
    y = X @ theta + 3.0 + rng.normal(size=n)
    ids = make_bags(n, k, drop_last=drop_last, random_state=seed)
    return X, y, ids, bag_means(y, ids), theta


def test_rho_one_is_ols_on_bag_mean_pseudo_labels():
    X, y, ids, yb, _ = linear_data(drop_last=False, n=605)  # unequal last bag kept
    est = InstanceLevelRegressor().fit(X, ids, yb)
    ols = LinearRegression().fit(X, yb[ids])
    assert np.allclose(est.coef_, ols.coef_, atol=1e-8) and est.intercept_ == pytest.approx(ols.intercept_, abs=1e-8)
    assert est.rho_ == 1.0


def test_rho_zero_is_least_squares_on_bag_means():
    X, y, ids, yb, _ = linear_data()
    est = BagLevelRegressor().fit(X, ids, yb)
    ols = LinearRegression().fit(bag_means(X, ids), yb)
    assert np.allclose(est.coef_, ols.coef_, atol=1e-8) and est.intercept_ == pytest.approx(ols.intercept_, abs=1e-8)
    # unequal bags: weighted by bag size
    X, y, ids, yb, _ = linear_data(drop_last=False, n=605)
    est = BagLevelRegressor().fit(X, ids, yb)
    ols = LinearRegression().fit(bag_means(X, ids), yb, sample_weight=bag_sizes(ids))
    assert np.allclose(est.coef_, ols.coef_, atol=1e-8)


def test_rho_zero_is_minimum_norm_when_under_determined():
    X, y, ids, yb, _ = linear_data(n=120, d=40, k=6)  # 20 bags < 40 features
    est = BagLevelRegressor().fit(X, ids, yb)
    xbar = bag_means(X, ids)
    ols = LinearRegression().fit(xbar, yb)  # scipy lstsq: the minimum-norm solution
    assert np.allclose(est.coef_, ols.coef_, atol=1e-7)
    assert np.allclose(xbar @ est.coef_ + est.intercept_, yb, atol=1e-7)  # interpolates the bag means
    # minimum norm among interpolators of the centred bag means: the coefficient lies in the row space
    xc = xbar - xbar.mean(axis=0)
    proj = xc.T @ np.linalg.pinv(xc.T)
    assert np.allclose(proj @ est.coef_, est.coef_, atol=1e-7)


def test_closed_form_minimises_the_interpolating_loss():
    X, y, ids, yb, _ = linear_data()
    rng = np.random.default_rng(3)
    for rho in (0.1, 0.5):
        est = InterpolatingRegressor(rho=rho).fit(X, ids, yb)
        best = interpolating_loss(est.predict(X), ids, yb, rho)
        for _ in range(5):
            pert = X @ (est.coef_ + 1e-3 * rng.normal(size=X.shape[1])) + est.intercept_ + 1e-3 * rng.normal()
            assert interpolating_loss(pert, ids, yb, rho) > best


def test_instance_level_shrinks_and_bag_level_is_unbiased_on_random_bags():
    X, y, ids, yb, theta = linear_data(n=4000, d=5, k=8, seed=1)
    bag = BagLevelRegressor().fit(X, ids, yb).coef_
    ins = InstanceLevelRegressor().fit(X, ids, yb).coef_
    assert np.linalg.norm(bag - theta) < 0.15 * np.linalg.norm(theta)
    # instance-level is biased towards theta / k on random bags
    assert np.dot(ins, theta) / np.dot(theta, theta) == pytest.approx(1 / 8, abs=0.05)


def test_mlp_is_seeded_learns_and_round_trips(tmp_path):
    X, y, ids, yb, _ = linear_data(n=800, d=6, k=4)
    kw = dict(model="mlp", hidden=(16,), epochs=25, batch_size=64, lr=1e-2, random_state=0)
    a = InterpolatingRegressor(rho=0.1, **kw).fit(X, ids, yb)
    b = InterpolatingRegressor(rho=0.1, **kw).fit(X, ids, yb)
    assert np.array_equal(a.predict(X), b.predict(X))
    lin = InterpolatingRegressor(rho=0.1).fit(X, ids, yb)
    const = np.full(len(X), yb.mean())
    l_mlp = interpolating_loss(a.predict(X), ids, yb, 0.1)
    assert l_mlp < 0.3 * interpolating_loss(const, ids, yb, 0.1)
    assert l_mlp < 1.5 * interpolating_loss(lin.predict(X), ids, yb, 0.1)
    a.save(tmp_path / "m.pt")
    back = InterpolatingRegressor.load(tmp_path / "m.pt")
    assert np.allclose(back.predict(X), a.predict(X), atol=1e-6) and back.rho_ == 0.1
    lin.save(tmp_path / "l.pt")
    assert np.allclose(InterpolatingRegressor.load(tmp_path / "l.pt").predict(X), lin.predict(X))
    with pytest.raises(DataError):
        BagLevelRegressor.load(tmp_path / "l.pt")


def test_rho_auto_is_no_worse_than_the_better_of_bag_and_instance_on_king(king):
    """Small-seeded version of the issue's King claim (linear model, 2 seeds, 4000 training rows)."""
    from trust.aggregate.experiments import rho_comparison, summarise, tabular_features
    from trust.data import split_table

    df, schema = king
    sp = split_table(df.sample(n=6000, random_state=0).reset_index(drop=True), test_size=0.25, holdout_size=0.05,
                     seed=0)
    Xtr, (Xte,), _ = tabular_features(sp.train, [sp.test], schema)
    ztr = (np.log(sp.train["price"].to_numpy()) - 13.0) / 0.5
    zte = (np.log(sp.test["price"].to_numpy()) - 13.0) / 0.5
    rec = rho_comparison(Xtr, ztr, Xte, zte, [8, 32], [0, 1])
    summ = {(s["k"], s["estimator"]): s["mean"] for s in summarise(rec, ("k", "estimator"))}
    for k in (8, 32):
        best = min(summ[(k, "bag")], summ[(k, "instance")])
        assert summ[(k, "auto")] <= 1.03 * best, (k, summ[(k, "auto")], best)
    # at k=32 (m ~ 140 bags vs ~100 features) the bag-level fit is noisy and a small rho must help
    assert summ[(32, "auto")] < summ[(32, "bag")]


def test_choose_rho_and_auto_refit_agree():
    X, y, ids, yb, _ = linear_data(n=900, d=30, k=10)
    best, scores = choose_rho(X, ids, yb, (0.0, 0.1, 1.0), random_state=0)
    assert set(scores) == {0.0, 0.1, 1.0} and scores[best] == min(scores.values())
    est = InterpolatingRegressor(rho="auto", rho_grid=(0.0, 0.1, 1.0), random_state=0).fit(X, ids, yb)
    assert est.rho_ == best and est.rho_scores_ == scores
    ref = InterpolatingRegressor(rho=best).fit(X, ids, yb)
    assert np.allclose(est.coef_, ref.coef_)
    # k-fold over bags: every bag held out once, losses averaged
    best3, scores3 = choose_rho(X, ids, yb, (0.0, 0.1, 1.0), n_folds=3, random_state=0)
    assert scores3[best3] == min(scores3.values()) and scores3 != scores
    assert scores3[1.0] > scores3[0.0]  # instance-level's shrinkage shows on held-out bags
    with pytest.raises(ConfigError):
        choose_rho(X, ids, yb, (0.0, 1.0), n_folds=0)
    with pytest.raises(DataError):
        choose_rho(X, ids, yb, (0.0, 1.0), n_folds=1000)


def test_classifier_learns_from_bag_label_proportions(tmp_path):
    rng = np.random.default_rng(0)
    n, d = 3000, 5
    X = rng.normal(size=(n, d))
    w = np.array([2.0, -1.5, 1.0, 0.0, 0.5])
    labels = (rng.random(n) < 1 / (1 + np.exp(-(X @ w)))).astype(float)
    ids = make_bags(n, 4, random_state=0)
    props = bag_means(labels, ids)
    est = InterpolatingClassifier(rho="auto", rho_grid=(0.0, 0.3, 1.0), epochs=15, random_state=0).fit(X, ids, props)
    acc = (est.predict(X) == labels).mean()
    bayes = ((X @ w > 0) == labels).mean()
    assert acc > bayes - 0.05
    proba = est.predict_proba(X)
    assert proba.shape == (n, 2) and np.allclose(proba.sum(axis=1), 1)
    est.save(tmp_path / "c.pt")
    back = InterpolatingClassifier.load(tmp_path / "c.pt")
    assert np.allclose(back.predict_proba(X), proba, atol=1e-6) and list(back.classes_) == [0, 1]
    bag = BagLevelClassifier(epochs=15).fit(X, ids, props)
    # the bag-level fit reaches a low bag-level log-loss (compared with the constant proportion)
    const = np.full(n, props.mean())
    assert bag_level_loss(bag.predict_proba(X)[:, 1], ids, props, "log") < bag_level_loss(const, ids, props, "log")
    with pytest.raises(DataError):
        InterpolatingClassifier().fit(X, ids, props + 1.5)


@pytest.mark.parametrize("make,args,err", [
    (lambda: InterpolatingRegressor(rho=-1), None, ConfigError),
    (lambda: InterpolatingRegressor(rho="best"), None, ConfigError),
    (lambda: InterpolatingRegressor(model="forest"), None, ConfigError),
    (lambda: InterpolatingRegressor(model="mlp", epochs=0), None, ConfigError),
    (lambda: InterpolatingRegressor(), "short_y", DataError),
    (lambda: InterpolatingRegressor(), "nan_x", DataError),
])
def test_bad_estimator_inputs_raise(make, args, err):
    X, y, ids, yb, _ = linear_data(n=60, d=3, k=3)
    if args == "short_y":
        yb = yb[:-1]
    if args == "nan_x":
        X = X.copy()
        X[0, 0] = np.nan
    with pytest.raises(err):
        make().fit(X, ids, yb)
    with pytest.raises(NotFittedError):
        InterpolatingRegressor().predict(X)
