"""The label-DP release of bag means: noise calibration, clipping, ledger entry, bad inputs."""

import numpy as np
import pytest

from trust.aggregate import bag_sizes, make_bags, noise_variance, release_bag_means
from trust.errors import ConfigError
from trust.privacy import PrivacyLedger


def test_empirical_noise_variance_matches_laplace_calibration():
    n, k, eps, C = 200_000, 4, 0.8, 1.5
    y = np.random.default_rng(0).uniform(-1, 1, n)
    ids = make_bags(n, k, random_state=0)
    exact = np.bincount(ids, weights=y) / k
    noisy, entry = release_bag_means(y, ids, eps, C, insecure_noise_seed=1)
    noise = noisy - exact
    target = 2 * (2 * C / (k * eps)) ** 2
    assert noise_variance(k, eps, C) == pytest.approx(target)
    # relative s.e. of a Laplace sample variance is sqrt(5/m) ~ 1 % for m = 50 000 bags: allow 5 s.e.
    assert np.var(noise) == pytest.approx(target, rel=5 * np.sqrt(5 / len(noise)))
    assert abs(np.mean(noise)) < 5 * np.sqrt(target / len(noise))
    assert entry.epsilon == eps and entry.delta == 0.0 and entry.mechanism.startswith("discrete Laplace")
    assert entry.unit_of_privacy == "label" and entry.adjacency == "replace-one"
    assert entry.accountant == "closed-form" and entry.max_grad_norm == C
    assert entry.noise_multiplier == pytest.approx(1 / eps, rel=1e-6) and entry.noise_multiplier >= 1 / eps
    assert entry.sample_rate == 1.0 and entry.steps == 1
    assert "NOT protected" in entry.notes
    PrivacyLedger().append(entry)  # a valid ledger entry


def test_unequal_bags_get_noise_scaled_by_their_own_size():
    n = 60_000
    keys = np.where(np.arange(n) < n // 2, "small", "large")
    # the two key groups cut into bags of 2 and of 8 rows
    ids = np.where(keys == "small", np.arange(n) // 2, n // 4 + (np.arange(n) - n // 2) // 8)
    _, ids = np.unique(ids, return_inverse=True)
    sizes = bag_sizes(ids)
    assert set(sizes) == {2, 8}
    noisy, entry = release_bag_means(np.zeros(n), ids, 1.0, 1.0, insecure_noise_seed=0)
    v2, v8 = np.var(noisy[sizes == 2]), np.var(noisy[sizes == 8])
    assert v2 == pytest.approx(noise_variance(2, 1.0, 1.0), rel=0.1)
    assert v8 == pytest.approx(noise_variance(8, 1.0, 1.0), rel=0.1)
    assert "k from 2 to 8" in entry.notes


def test_responses_are_standardised_and_clipped():
    y = np.array([100.0] * 50 + [-100.0] * 50)
    ids = np.repeat(np.arange(10), 10)
    noisy, _ = release_bag_means(y, ids, 1e6, 2.0, center=0.0, scale=10.0)
    assert np.allclose(noisy[:5], 2.0, atol=1e-3) and np.allclose(noisy[5:], -2.0, atol=1e-3)


def test_release_noise_is_fresh_each_time_unless_the_insecure_seed_is_given():
    y = np.zeros(100)
    ids = np.repeat(np.arange(10), 10)
    a, ea = release_bag_means(y, ids, 1.0, 2.0)
    b, _ = release_bag_means(y, ids, 1.0, 2.0)
    assert not np.array_equal(a, b) and ea.noise_source == "os-entropy"
    c, ec = release_bag_means(y, ids, 1.0, 2.0, insecure_noise_seed=3)
    d, _ = release_bag_means(y, ids, 1.0, 2.0, insecure_noise_seed=3)
    assert np.array_equal(c, d) and ec.noise_source == "seeded (not a valid guarantee)"


def test_responses_that_cannot_be_used_count_as_the_center_and_huge_ones_are_clipped_without_a_warning():
    import warnings

    from trust.aggregate import as_responses, clip_responses

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warning may depend on a label
        z = clip_responses([np.nan, np.inf, -np.inf, 1e151, -1e308, 1e308, 3.0], 2.0, center=1.0, scale=0.5)
        logged = clip_responses(as_responses([0.0, -3.0, np.e, 1e300, "text"], log=True), 2.0, center=1.0)
        text = clip_responses(["7", "abc", None], 2.0)
    np.testing.assert_array_equal(z, [0.0, 0.0, 0.0, 2.0, -2.0, 2.0, 2.0])
    np.testing.assert_array_equal(logged, [0.0, 0.0, 0.0, 2.0, 0.0])
    np.testing.assert_array_equal(text, [2.0, 0.0, 0.0])


def test_a_non_finite_response_is_mapped_to_the_center_not_an_error():
    y = np.array([np.nan, np.inf, 1.0, 1.0])
    ids = np.array([0, 0, 1, 1])
    noisy, _ = release_bag_means(y, ids, 1e6, 2.0, center=0.5, scale=1.0)
    np.testing.assert_allclose(noisy, [0.0, 0.5], atol=1e-3)


@pytest.mark.parametrize("eps,clip,scale", [(0.0, 1.0, 1.0), (-1.0, 1.0, 1.0), (1.0, 0.0, 1.0), (1.0, -2.0, 1.0),
                                            (float("inf"), 1.0, 1.0), (1.0, 1.0, 0.0)])
def test_bad_privacy_parameters_raise(eps, clip, scale):
    with pytest.raises(ConfigError):
        release_bag_means(np.zeros(10), np.arange(10) // 2, eps, clip, scale=scale)


def test_dp_sweep_trade_off_for_the_instance_level_fit():
    """Small seeded DP sweep: instance-level k*(epsilon) is larger when epsilon is smaller (k* ~ 1 + A / r^2)."""
    from trust.aggregate.experiments import dp_sweep, optimal_bag_sizes

    rng = np.random.default_rng(0)
    n, d = 3000, 20
    X = rng.normal(size=(n + 1000, d))
    y = X @ (rng.normal(size=d) / np.sqrt(d)) + 0.3 * rng.normal(size=n + 1000)
    rec, ledger = dp_sweep(X[:n], y[:n], X[n:], y[n:], [0.5, 4.0], [1, 2, 4, 8, 32], [0, 1], clip=3.0,
                           rho_grid=(0.0, 0.1, 1.0))
    assert len(ledger) == 2 * 5 * 2 and {e.epsilon for e in ledger} == {0.5, 4.0}
    assert len({e.release for e in ledger}) == len(ledger)
    assert {r["estimator"] for r in rec} >= {"bag", "instance", "auto", "oracle", "rho=0.1"}
    ins = optimal_bag_sizes(rec, "instance")
    assert ins[4.0]["k_star"] == 1 and ins[0.5]["k_star"] in (2, 4, 8)  # theory: 1.03 and about 2.9
    oracle = optimal_bag_sizes(rec, "oracle")
    for e in (0.5, 4.0):  # the best rho of the grid is never worse than rho = 0 or 1 at the same k
        assert oracle[e]["mse_at_k_star"] <= min(ins[e]["mse_at_k_star"],
                                                 optimal_bag_sizes(rec, "bag")[e]["mse_at_k_star"]) + 1e-12


def test_synthetic_bias_variance_shows_the_papers_picture():
    from trust.aggregate.experiments import synthetic_bias_variance

    recs = synthetic_bias_variance(n=400, d=20, bag_sizes=(1, 4, 8), rhos=(0.0, 1.0), n_reps=15, random_state=0)
    get = {(r["k"], r["rho"]): r for r in recs}
    # bag-level is unbiased while there are more bags than features (m = 50 > 20 at k = 8)
    assert get[(8, 0.0)]["bias2"] < 0.15 * get[(8, 1.0)]["bias2"]
    # instance-level trades bias for variance: more bias and less variance than bag-level as k grows
    assert get[(8, 1.0)]["bias2"] > get[(4, 1.0)]["bias2"] > get[(1, 1.0)]["bias2"]
    assert get[(8, 1.0)]["variance"] < get[(8, 0.0)]["variance"]


# ---------------------------------------------------------------------------------------------- issue 21.10
def test_the_release_is_an_integer_bag_sum_on_the_grid_divided_by_the_public_bag_size():
    from trust.aggregate.dp import GRID_BITS

    rng = np.random.default_rng(0)
    y, ids = rng.normal(size=600), make_bags(600, 6, random_state=0)
    noisy, _ = release_bag_means(y, ids, 1.0, 2.5, insecure_noise_seed=0)
    units = noisy * bag_sizes(ids) / (2.5 / 2 ** GRID_BITS)  # the released integers T_a
    np.testing.assert_allclose(units, np.round(units), atol=1e-6)


def _coupled_neighbours(eps: float, clip: float):
    """Two releases of neighbouring label vectors (one label from far below to far above the range) with the
    same (seeded) noise: their difference is the exact shift of the one bag the label is in."""
    y = np.random.default_rng(1).normal(size=40)
    ids = np.arange(40) // 5
    y2 = y.copy()
    y[7], y2[7] = -1e9, 1e9
    a, entry = release_bag_means(y, ids, eps, clip, insecure_noise_seed=11)
    b, _ = release_bag_means(y2, ids, eps, clip, insecure_noise_seed=11)
    return (b - a) * 5, entry


@pytest.mark.parametrize("eps", [0.3, 1.0, 2.0, 7.5])
def test_the_ledger_epsilon_equals_an_independent_recomputation_from_the_noise_pmf(eps):
    """Recompute epsilon from the release itself: the sensitivity measured as the shift of a coupled neighbour,
    the noise scale the ledger records, and the worst log-ratio of the discrete Laplace pmf over outputs,
    evaluated term by term at 60 digits (no closed form of the mechanism's code is used)."""
    import mpmath

    from trust.aggregate.dp import GRID_BITS

    clip = 2.5
    shift, entry = _coupled_neighbours(eps, clip)
    grid = clip / 2 ** GRID_BITS
    assert np.count_nonzero(np.abs(shift) > 1e-9) == 1  # one bag moves, the others not at all
    delta = int(round(shift.max() / grid))  # measured sensitivity of the integer sum
    assert delta == 2 ** (GRID_BITS + 1)
    mpmath.mp.dps = 60
    t = mpmath.mpf(entry.noise_multiplier) * delta
    r = mpmath.e ** (-1 / t)

    def log_pmf(j):
        return mpmath.log((1 - r) / (1 + r)) + abs(j) * mpmath.log(r)

    worst = max(abs(log_pmf(j) - log_pmf(j - delta)) for j in range(-3 * delta, 4 * delta, 97))
    assert float(worst) <= entry.epsilon * (1 + 1e-12)
    assert float(worst) == pytest.approx(entry.epsilon, rel=1e-6)


def test_the_sampler_draws_with_the_scale_the_ledger_records():
    from trust.aggregate.dp import GRID_BITS
    from trust.privacy.mechanisms import discrete_laplace_variance

    n, k, eps, C = 120_000, 4, 0.7, 1.0
    noisy, entry = release_bag_means(np.zeros(n), np.arange(n) // k, eps, C, insecure_noise_seed=5)
    t = entry.noise_multiplier * 2 ** (GRID_BITS + 1)
    want = discrete_laplace_variance(t) * (C / 2 ** GRID_BITS / k) ** 2
    assert np.var(noisy) == pytest.approx(want, rel=5 * np.sqrt(5 / len(noisy)))
