"""The verifier's independent epsilon (trust.verify.epsilon) against the ledger entries the project's mechanisms
write, and against closed forms it does not use."""

from __future__ import annotations

import math

import pytest

from trust.privacy import LedgerEntry
from trust.verify.epsilon import check_entry, independent_epsilon


def entry(**kw) -> dict:
    base = dict(release="r", mechanism="DP-SGD (Poisson subsampled Gaussian, per-sample clipping)", epsilon=1.0,
                delta=1e-5, accountant="rdp", noise_multiplier=1.0, sample_rate=0.01, steps=100, max_grad_norm=1.0,
                unit_of_privacy="record", adjacency="add/remove", dataset="d")
    return LedgerEntry(**{**base, **kw}).to_dict()


def test_dp_sgd_recomputed_by_pld_lies_between_opacus_rdp_and_ninety_percent_of_it():
    from trust.privacy.accountants import epsilon_for

    rdp = epsilon_for(1.1, 0.01, 500, 1e-5, "rdp")
    pld, fam, method, _ = independent_epsilon(entry(noise_multiplier=1.1, steps=500, epsilon=rdp))
    assert fam == "subsampled-gaussian" and "PLD" in method
    assert 0.7 * rdp < pld < rdp  # PLD is tighter than RDP, and of the same size


def test_opacus_prv_ledger_epsilons_verify_within_the_tolerance():
    from trust.privacy.accountants import epsilon_for

    for sigma, q, steps in [(0.8, 0.02, 300), (1.5, 0.1, 50), (3.0, 0.005, 2000)]:
        prv = epsilon_for(sigma, q, steps, 1e-6, "prv")
        r = check_entry(entry(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=1e-6, epsilon=prv,
                              accountant="prv"))
        assert r.status == "verified", r


def test_a_replace_one_dp_sgd_entry_accounted_as_add_remove_is_a_mismatch():
    from trust.privacy.accountants import epsilon_for

    eps = epsilon_for(1.0, 0.05, 200, 1e-5, "rdp")  # Opacus accounts add/remove
    assert check_entry(entry(noise_multiplier=1.0, sample_rate=0.05, steps=200, epsilon=eps)).status == "verified"
    assert check_entry(entry(noise_multiplier=1.0, sample_rate=0.05, steps=200, epsilon=eps,
                             adjacency="replace-one")).status == "mismatch"


def test_the_histogram_release_entry_is_verified_from_its_scale():
    import pandas as pd

    from trust.data.schema import ColumnSpec, TableSchema
    from trust.synth.dp_metadata import release_histograms

    schema = TableSchema({"a": ColumnSpec("a", "categorical", categories=("x", "y")),
                          "b": ColumnSpec("b", "continuous", bounds=(0.0, 10.0))}, target="a")
    df = pd.DataFrame({"a": ["x", "y", "x"] * 5, "b": [1.0, 5.0, 9.0] * 5})
    _, e = release_histograms(df, schema, epsilon=0.4, insecure_noise_seed=0)
    r = check_entry(e.to_dict())
    assert r.family == "laplace" and r.status == "verified" and r.independent_epsilon == pytest.approx(0.4)


def test_the_bag_means_entry_is_verified_and_a_lowered_one_is_not():
    import numpy as np

    from trust.aggregate.dp import release_bag_means

    _, e = release_bag_means(np.linspace(-1, 1, 8), np.repeat(np.arange(4), 2), 0.7, 2.0, insecure_noise_seed=0)
    assert check_entry(e.to_dict()).status == "verified"
    assert check_entry({**e.to_dict(), "epsilon": 0.69}).status == "mismatch"


def test_a_classic_gaussian_mechanism_entry_is_verified_by_the_exact_gaussian_curve():
    from trust.privacy.mechanisms import gaussian_sigma

    sigma = gaussian_sigma(1.0, 0.5, 1e-5)  # classic calibration: a loose upper bound
    r = check_entry(entry(mechanism="Gaussian", noise_multiplier=sigma, sample_rate=1.0, steps=1, epsilon=0.5,
                          accountant="closed-form"))
    assert r.family == "gaussian" and r.status == "verified" and r.independent_epsilon < 0.5


def test_a_zcdp_entry_converts_rho_below_the_bun_steinke_bound_and_catches_an_understatement():
    rho, delta = 0.05, 1e-6
    sigma = math.sqrt(10 / (2 * rho))  # ten Gaussian measurements of sensitivity 1 spending rho in all
    e = entry(mechanism="AIM (Gaussian marginals, zCDP)", accountant="zcdp", noise_multiplier=sigma, sample_rate=None,
              steps=10, delta=delta, epsilon=rho + 2 * math.sqrt(rho * math.log(1 / delta)))
    r = check_entry(e)
    bound = rho + 2 * math.sqrt(rho * math.log(1 / delta))  # Bun and Steinke 2016, Prop. 1.3
    assert r.family == "zcdp" and r.status == "verified" and 0.8 * bound < r.independent_epsilon <= bound
    assert check_entry({**e, "epsilon": 0.5 * r.independent_epsilon}).status == "mismatch"


def test_an_entry_without_the_parameters_of_its_mechanism_is_unverifiable():
    assert check_entry(entry(noise_multiplier=None)).status == "unverifiable"
    assert check_entry(entry(mechanism="randomised response", accountant="closed-form")).status == "unverifiable"
