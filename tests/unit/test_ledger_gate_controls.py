"""Issue 23: negative controls for the ledger gates, on releases made by the real mechanisms.

Each gate the report computes from the privacy ledger is fed a case that must FAIL and one that must PASS:
seeded DP noise under ``require_secure_noise``; an undeclared non-DP use (a release without DP) against the
epsilon total; a total past ``max_total_epsilon_per_dataset``; a delta past ``max_delta``.
"""

from __future__ import annotations

import numpy as np
import pytest

from trust.aggregate import make_bags, release_bag_means
from trust.evidence import make_evidence
from trust.report import build_report

POLICY = {"max_total_epsilon_per_dataset": 3.0, "max_delta": 1e-5, "require_secure_noise": True}


def _release(epsilon=1.0, seed=None, name="aggregate/bag-means"):
    y = np.random.default_rng(0).normal(size=64)
    _, entry = release_bag_means(y, make_bags(64, bag_size=8, random_state=0), epsilon=epsilon, clip=2.0,
                                 dataset="people", release=name, insecure_noise_seed=seed)
    return entry.to_dict()


def _report(*docs, policy=POLICY):
    return build_report({f"evidence/{d['stage']}.json": d for d in docs}, policy=policy)


def _gate(model, key):
    return [g for g in model["gates"] if g["policy_key"] == key]


@pytest.mark.parametrize("seed, status", [(7, "fail"), (None, "pass")])
def test_require_secure_noise_fails_a_seeded_release_and_passes_a_secure_one(seed, status):
    m = _report(make_evidence("agg", "aggregate", ledger=[_release(seed=seed)]))
    g, = _gate(m, "require_secure_noise")
    assert g["status"] == status
    assert (m["verdict"]["status"] == "fail") is (status == "fail")
    if status == "fail":
        assert "aggregate/bag-means" in g["note"] and "seeded" in g["sentence"]


@pytest.mark.parametrize("declared, status", [(False, "fail"), (True, "pass")])
def test_an_undeclared_non_dp_release_fails_the_epsilon_total_and_a_declared_one_passes(declared, status):
    dp = make_evidence("agg", "aggregate", ledger=[_release()])
    plain = make_evidence("fit_nodp", "synth", non_dp=[{"dataset": "people", "artifact": "outputs/fit_nodp",
                                                         "what": "CTAB-GAN+ trained without DP"}])
    policy = {**POLICY, "internal_non_dp": [{"dataset": "people", "stage": "fit_nodp", "purpose": "baseline"}]
              if declared else []}
    m = _report(dp, plain, policy=policy)
    totals = _gate(m, "max_total_epsilon_per_dataset")
    assert {g["status"] for g in totals} == {status}
    if status == "fail":
        assert any(g["value"] is None and "infinite" in g["sentence"] for g in totals)
        assert m["ledger"]["totals"][0]["epsilon"] is None


@pytest.mark.parametrize("eps, status", [(2.0, "fail"), (1.0, "pass")])
def test_the_epsilon_total_composes_releases_and_fails_past_the_policy(eps, status):
    m = _report(make_evidence("agg", "aggregate", ledger=[_release(eps, name="a"), _release(eps, name="b")]))
    g, = _gate(m, "max_total_epsilon_per_dataset")
    assert g["status"] == status and g["value"] == pytest.approx(2 * eps)
    assert f"threshold 3 (<=): {status}" in g["sentence"]


@pytest.mark.parametrize("delta, status", [(1e-4, "fail"), (1e-6, "pass")])
def test_the_delta_gate_fails_a_release_past_max_delta(delta, status):
    entry = {**_release(), "delta": delta, "mechanism": "Gaussian", "release": "gauss"}
    g, = _gate(_report(make_evidence("agg", "aggregate", ledger=[entry])), "max_delta")
    assert g["status"] == status and g["sentence"].startswith("gauss: delta:")
