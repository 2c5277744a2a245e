"""The marginal engine (AIM, MST): its zCDP ledger against an independent recomputation, secret noise, declared
schemas only under DP, no exact count in the release, and the round trip of a saved model."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from trust.data.schema import draft_schema
from trust.errors import ConfigError
from trust.synth.marginal import Discretizer, MarginalSynthesizer, zcdp_epsilon, zcdp_rho
from trust.synth.marginal.mechanisms import exponential
from trust.synth.marginal.accounting import ZCDPBudget

from tests.unit._synth_tiny import declared_schema, table

FAST = dict(iters=10, final_iters=20, verbose=False)


def _fit(mechanism="mst", n=400, seed=0, **kw):
    df = table(n, seed=seed)
    params = {**dict(epsilon=2.0, delta=1e-5, bins=8, random_state=0, dataset_name="tiny"), **FAST, **kw}
    if mechanism == "aim":
        params.setdefault("rounds", 8)
    return MarginalSynthesizer(mechanism, **params).fit(df, declared_schema(df))


@pytest.fixture(scope="module")
def mst():
    return _fit("mst", insecure_noise_seed=3)


@pytest.fixture(scope="module")
def aim():
    return _fit("aim", insecure_noise_seed=4)


def _independent_epsilon(rho: float, delta: float) -> float:
    """Canonne-Kamath-Steinke's conversion minimised over a fine grid of Renyi orders (no shared code)."""
    alphas = np.exp(np.linspace(np.log(1.0001), np.log(5000.0), 400_000))
    eps = alphas * rho + (np.log(1 / delta) + (alphas - 1) * np.log1p(-1 / alphas) - np.log(alphas)) / (alphas - 1)
    return float(eps.min())


@pytest.mark.parametrize("rho,delta", [(0.01, 1e-5), (0.3, 1e-6), (2.0, 1e-5), (1e-4, 1e-3)])
def test_the_zcdp_conversion_equals_a_grid_minimisation_over_renyi_orders(rho, delta):
    assert zcdp_epsilon(rho, delta) == pytest.approx(_independent_epsilon(rho, delta), rel=1e-6, abs=1e-9)


def test_zcdp_rho_is_the_largest_budget_within_epsilon():
    rho = zcdp_rho(1.0, 1e-5)
    assert zcdp_epsilon(rho, 1e-5) <= 1.0
    assert zcdp_epsilon(rho * 1.001, 1e-5) > 1.0


@pytest.mark.parametrize("which", ["mst", "aim"])
def test_every_ledger_entry_equals_an_independent_recomputation_from_the_recorded_spends(which, mst, aim):
    m = {"mst": mst, "aim": aim}[which]
    rep = m.privacy_report()
    rho = sum(0.5 / s["sigma"] ** 2 if s["kind"] == "gaussian" else s["epsilon"] ** 2 / 8 for s in rep["spends"])
    (entry,) = m.ledger_
    assert entry.accountant == "zcdp" and entry.delta == 1e-5 and entry.dataset == "tiny"
    assert entry.noise_multiplier == pytest.approx(1 / math.sqrt(2 * rho), rel=1e-9)
    assert entry.epsilon == pytest.approx(_independent_epsilon(rho, 1e-5), rel=1e-6)
    assert entry.epsilon <= 2.0 * (1 + 1e-9)
    assert rho == pytest.approx(zcdp_rho(2.0, 1e-5), rel=1e-6)   # the whole budget, no more


def test_mst_spends_its_budget_in_three_equal_parts(mst):
    spends = mst.privacy_report()["spends"]
    d = len(mst.schema_.columns)
    one = [s for s in spends if s["kind"] == "gaussian" and len(s["clique"]) == 1]
    two = [s for s in spends if s["kind"] == "gaussian" and len(s["clique"]) == 2]
    sel = [s for s in spends if s["kind"] == "exponential"]
    assert (len(one), len(two), len(sel)) == (d, d - 1, d - 1)
    parts = [sum(0.5 / s["sigma"] ** 2 for s in one), sum(0.5 / s["sigma"] ** 2 for s in two),
             sum(s["epsilon"] ** 2 / 8 for s in sel)]
    assert parts == pytest.approx([mst.budget_.rho / 3] * 3, rel=1e-9)


def test_two_fits_release_different_noise_and_say_os_entropy():
    a, b = _fit("mst"), _fit("mst")
    pa, pb = a.model_.potentials, b.model_.potentials
    assert any(not np.allclose(np.asarray(pa[c].values), np.asarray(pb[c].values))
               for c in set(pa.cliques) & set(pb.cliques)) or set(pa.cliques) != set(pb.cliques)
    assert {e.noise_source for e in a.ledger_} == {"os-entropy"}


def test_the_insecure_noise_seed_repeats_a_fit_and_the_ledger_says_it_is_no_guarantee(mst):
    again = _fit("mst", insecure_noise_seed=3)
    pd.testing.assert_frame_equal(mst.sample(50, random_state=1), again.sample(50, random_state=1))
    assert {e.noise_source for e in mst.ledger_} == {"seeded (not a valid guarantee)"}


def test_a_dp_fit_refuses_an_inferred_or_drafted_schema_with_one_line_naming_the_fix():
    df = table()
    draft, _ = draft_schema(df, target="y")
    for schema in (None, draft):
        with pytest.raises(ConfigError, match="declared schema") as e:
            MarginalSynthesizer("mst", epsilon=1.0, **FAST).fit(df, schema)
        assert "\n" not in str(e.value)


def test_a_dp_fit_refuses_a_numeric_column_without_declared_bounds():
    df = table()
    schema = declared_schema(df).replace_column("x", bounds=None)
    with pytest.raises(ConfigError, match="column 'x' has no declared bounds"):
        MarginalSynthesizer("mst", epsilon=1.0, **FAST).fit(df, schema)


def test_a_saved_dp_model_holds_no_exact_row_count_hash_or_timing(tmp_path):
    m = _fit("mst", n=437, seed=1, insecure_noise_seed=2)
    assert m.sample_rows_ != 437 and len(m.sample()) == m.sample_rows_
    m.save(tmp_path / "model")
    text = (tmp_path / "model" / "model.json").read_text()
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]
    assert 437.0 not in numbers
    assert not re.search(r"[0-9a-f]{32,}", text)
    assert "seconds" not in text and "timing" not in text
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.json", "potentials.npz",
                                                                       "trust-model.json"]


def test_a_loaded_model_samples_the_same_rows_as_the_fitted_one(mst, tmp_path):
    mst.save(tmp_path / "m")
    back = MarginalSynthesizer.load(tmp_path / "m")
    pd.testing.assert_frame_equal(mst.sample(80, random_state=7), back.sample(80, random_state=7))
    assert back.privacy_report()["entries"] == mst.privacy_report()["entries"]


def test_under_dp_bad_values_are_coerced_never_raised():
    df = table()
    bad = df.copy()
    bad["x"] = bad["x"].astype(object)
    bad.loc[0, "x"], bad.loc[1, "x"], bad.loc[2, "c"] = 1e9, "text", "zebra-secret"
    m = MarginalSynthesizer("mst", epsilon=1.0, insecure_noise_seed=0, **FAST).fit(bad, declared_schema(df))
    out = m.sample(200, random_state=0)
    assert out["x"].between(-6.0, 8.0).all() and "zebra-secret" not in set(out["c"])


def test_decoded_values_fall_back_into_the_bin_they_were_drawn_from():
    df = table()
    disc = Discretizer.from_schema(declared_schema(df), 8)
    rng = np.random.default_rng(0)
    codes = {c.name: rng.integers(0, c.size, 500) for c in disc.columns}
    again = disc.encode(disc.decode(codes, rng))
    for name in disc.names:
        np.testing.assert_array_equal(again[name], codes[name])


def test_the_exponential_mechanism_follows_its_softmax_and_without_dp_takes_the_best():
    q = np.array([0.0, 1.0, 2.0])
    rng = np.random.default_rng(0)
    budget = ZCDPBudget(math.inf)
    draws = np.bincount([exponential(q, 2.0, 1.0, rng, budget) for _ in range(20000)], minlength=3) / 20000
    expect = np.exp(q) / np.exp(q).sum()          # exp(epsilon q / (2 sensitivity)) with epsilon 2
    assert draws == pytest.approx(expect, abs=0.015)
    assert exponential(q, None, 1.0, None, ZCDPBudget(math.inf)) == 2


def test_aim_refuses_fewer_rounds_than_columns():
    with pytest.raises(ConfigError, match="rounds=2 must exceed"):
        _fit("aim", rounds=2)


def test_a_non_dp_fit_infers_the_schema_and_says_it_has_no_guarantee():
    df = table()
    m = MarginalSynthesizer("mst", **FAST).fit(df, target="y")
    rep = m.privacy_report()
    assert rep["dp"] is False and m.ledger_.to_list() == [] and "No differential privacy" in rep["sentences"][0]
    assert set(m.sample(30)["y"]) <= {"yes", "no"}
    json.dumps(rep)
