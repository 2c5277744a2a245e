"""The aggregate protocol (issue 22): settings checked in one place, a result that writes its evidence (schema-valid,
rendered by its own report section), its files (the release in a folder of its own) and its plots; gates with
negative controls (issue 23); bad labels mapped, never an error (issue 21.1)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trust.aggregate.protocol import run_aggregate
from trust.aggregate.schema import DETAILS_SCHEMA
from trust.aggregate.settings import AggregateSettings
from trust.errors import ConfigError, DataError, PrivacyBudgetError
from trust.evidence import schema_problem

POLICY = {"max_aggregate_mse_ratio": 1.01, "max_total_epsilon_per_dataset": 30.0, "max_delta": 1e-5,
          "require_secure_noise": True,
          "internal_non_dp": [{"dataset": "toy", "stage": "aggregate", "purpose": "comparisons for the auditor"}]}

TINY = {"log_target": True, "center": 1.0, "scale": 0.5, "clip": 2.5, "bag_sizes": [4, 8], "seeds": [0, 1],
        "rho_grid": [0.0, 0.01, 0.1, 1.0], "n_folds": 1,
        "dp": {"epsilons": [1.0], "bag_sizes": [1, 4], "seeds": [0], "sweep_rows": 200, "release_epsilon": 1.0,
               "release_bag_size": 8},
        "synthetic": {"n": 60, "d": 5, "bag_sizes": [1, 4], "rhos": [0.0, 1.0], "reps": 2}}


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n),
                       "region": rng.choice(list("pqrs"), n)})
    df["price"] = np.exp(1.0 + 0.5 * df.a - 0.3 * df.b + 0.2 * (df.region == "p") + 0.1 * rng.normal(size=n))
    return df


@pytest.fixture(scope="module")
def data():
    return _table(700, 0), _table(300, 1)


@pytest.fixture(scope="module")
def result(data):
    train, test = data
    return run_aggregate(train, test, target="price", settings=TINY, dataset="toy", random_state=0,
                         location="outputs/aggregate", insecure_noise_seed=3)


# ---------------------------------------------------------------------------------------------- settings
@pytest.mark.parametrize("bad, words", [
    ({"bag_size": [4]}, "'bag_size' is unknown"),
    ({"dp": {"epsilon": [1]}}, "'dp.epsilon' is unknown"),
    ({"bag_sizes": [0]}, "'bag_sizes' = 0 must be >= 1"),
    ({"scale": 0}, "'scale' = 0 must be > 0"),
    ({"mlp": {"enabled": "yes"}}, "'mlp.enabled' = 'yes' must be true or false"),
    ({"release": {"model": "forest"}}, "'release.model' = 'forest' must be one of"),
    ({"rho_grid": []}, "'rho_grid' is empty"),
    ({"dp": "fast"}, "'dp' must be a mapping"),
])
def test_a_bad_setting_is_a_one_line_error_naming_its_key(bad, words):
    with pytest.raises(ConfigError, match=words):
        AggregateSettings.from_mapping(bad)


def test_the_pipeline_settings_parse_as_they_are_in_params_yaml():
    import yaml

    from pathlib import Path

    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())["aggregate"]
    s = AggregateSettings.from_mapping({k: v for k, v in params.items() if k not in ("dataset", "seed")})
    assert s.dp.release_bag_size == params["dp"]["release_bag_size"] and s.mlp.enabled == params["mlp"]["enabled"]


def test_the_sweep_and_the_release_must_run_on_disjoint_rows(data):
    train, test = data
    with pytest.raises(ConfigError, match="sweep_rows"):
        run_aggregate(train, test, target="price", settings={**TINY, "dp": {**TINY["dp"], "sweep_rows": None}})
    with pytest.raises(DataError, match="leaves no rows"):
        run_aggregate(train, test, target="price", settings={**TINY, "dp": {**TINY["dp"], "sweep_rows": 695}})


def test_a_release_above_the_budget_is_refused_before_anything_runs(data):
    train, test = data
    with pytest.raises(PrivacyBudgetError):
        run_aggregate(train, test, target="price", settings=TINY, dataset="toy", max_epsilon=0.5)


# ---------------------------------------------------------------------------------------------- the result
def test_the_evidence_validates_against_the_aggregate_schema_and_its_section_renders(result):
    from trust.report import build_report

    ev = result.to_evidence(POLICY)
    assert schema_problem(dict(ev.details), DETAILS_SCHEMA) is None
    doc = ev.document("aggregate")
    model = build_report({"evidence/aggregate.json": doc}, policy=POLICY)
    sec, = [s for s in model["sections"] if s["id"] == "aggregate-learning"]
    captions = [b.get("caption", "") for b in sec["blocks"] if b["type"] == "table"]
    assert any(c.startswith("Deployed release") for c in captions)
    assert any(c.startswith("Test MSE on exact bag means") for c in captions)
    assert any(c.startswith("Label-DP sweep on 200 rows") for c in captions)
    assert "label_dp" in sec.get("claims", []) or any(m["claim_type"] == "label_dp" for m in model["compliance_mapping"])


def test_the_metrics_are_flat_numbers_under_the_stage_s_names(result):
    m = result.to_evidence(POLICY).metrics
    assert {"linear.k4.test_mse_bag", "linear.k8.auto_ratio", "max_auto_ratio", "dp.auto.eps1.k_star",
            "release.epsilon", "release.bags", "release.test_mse", "synthetic.risk.k4.rho1"} <= set(m)
    assert all(isinstance(v, (int, float)) for v in m.values())
    assert m["release.bags"] == (700 - 200) // 8


def test_every_use_of_the_labels_outside_the_release_is_listed_as_non_dp(result):
    whats = " | ".join(u["what"] for u in result.to_evidence(POLICY).non_dp)
    assert "EXACT bag means" in whats and "simulated releases" in whats and "raw test labels" in whats
    assert "disjoint" in whats


def test_the_same_seed_gives_the_same_seeded_figures(data, result):
    train, test = data
    again = run_aggregate(train, test, target="price", settings=TINY, dataset="toy", random_state=0,
                          insecure_noise_seed=3)
    assert again.comparison == result.comparison and again.synthetic == result.synthetic
    np.testing.assert_array_equal(again.release.means, result.release.means)  # the same (seeded, test) noise


def test_save_puts_only_the_listed_files_in_the_release_and_the_rest_in_audit(result, tmp_path):
    result.save(tmp_path)
    plots = result.plots(tmp_path)
    manifest = json.loads((tmp_path / "release" / "trust-model.json").read_text())
    assert sorted(p.name for p in (tmp_path / "release").iterdir()) == sorted([*manifest["meta"]["files"],
                                                                               "trust-model.json"])
    audit = sorted(p.name for p in (tmp_path / "audit").iterdir())
    assert {"records.json", "test_scores_non_dp.json", "dp_risk_vs_k.png", "risk_vs_rho_linear.png"} <= set(audit)
    assert all("/audit/" in p.path for p in plots) and len(plots) == 4
    released = " ".join(p.read_bytes().decode("latin-1") for p in (tmp_path / "release").rglob("*.json"))
    assert "test_mse" not in released


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, 1e151, "n/a"])
def test_one_bad_label_runs_the_stage_s_protocol_as_a_clean_table_does(data, bad):
    train, test = data
    dirty = train.astype({"price": object}).copy()
    dirty.loc[5, "price"] = bad
    settings = {**TINY, "synthetic": {"bag_sizes": []}, "bag_sizes": [4], "seeds": [0]}
    clean = run_aggregate(train, test, target="price", settings=settings, dataset="toy")
    res = run_aggregate(dirty, test, target="price", settings=settings, dataset="toy")
    assert set(res.to_evidence(POLICY).metrics) == set(clean.to_evidence(POLICY).metrics)
    assert np.isfinite(res.release.means).all()


# ---------------------------------------------------------------------------------------------- gates (issue 23)
def _gate(result):
    (g,) = [c for c in result.to_evidence(POLICY).checks if c.policy_key == "max_aggregate_mse_ratio"]
    return g


def test_the_mse_ratio_gate_passes_for_rho_chosen_from_the_grid_and_names_its_reference(result):
    g = _gate(result)
    assert g.passed and g.threshold == 1.01 and g.relation == "ratio"
    sentence = g.sentence()
    assert "test MSE" in sentence and "the better of bag- and instance-level" in sentence and "1.010x" in sentence


def test_the_mse_ratio_gate_fails_when_rho_can_only_be_the_instance_level_one(data):
    """Negative control: a grid holding only rho = 1 makes the chosen estimator the biased instance-level one."""
    train, test = data
    bad = run_aggregate(train, test, target="price", dataset="toy",
                        settings={**TINY, "rho_grid": [1.0], "dp": {}, "synthetic": {"bag_sizes": []}})
    g = _gate(bad)
    assert g.passed is False and g.value > 1.5
    assert "(bag-level)" in g.reference  # judged against the better of the two references, here bag-level


def test_a_seeded_release_fails_the_report_s_secure_noise_gate_and_a_secure_one_passes(data, result):
    from trust.report import build_report

    def noise_gate(res):
        model = build_report({"evidence/aggregate.json": res.to_evidence(POLICY).document("aggregate")},
                             policy=POLICY)
        (g,) = [g for g in model["gates"] if g["policy_key"] == "require_secure_noise"]
        return g

    assert noise_gate(result)["status"] == "fail"  # insecure_noise_seed: the ledger says so
    train, test = data
    secure = run_aggregate(train, test, target="price", dataset="toy",
                           settings={**TINY, "bag_sizes": [], "dp": {"release_epsilon": 1.0, "release_bag_size": 8},
                                     "synthetic": {"bag_sizes": []}})
    assert secure.release.entry.noise_source == "os-entropy"
    assert noise_gate(secure)["status"] == "pass"


@pytest.mark.parametrize("budget, status", [(0.5, "fail"), (30.0, "pass")])
def test_the_release_s_epsilon_is_gated_against_the_dataset_budget(result, budget, status):
    from trust.report import build_report

    model = build_report({"evidence/aggregate.json": result.to_evidence(POLICY).document("aggregate")},
                         policy={**POLICY, "max_total_epsilon_per_dataset": budget})
    gates = [g for g in model["gates"] if g["policy_key"] == "max_total_epsilon_per_dataset"]
    assert gates and all(g["status"] == status for g in gates)


def test_a_model_no_better_than_the_mean_warns_with_what_to_try(data):
    train, test = data
    noise = train.assign(price=np.exp(np.random.default_rng(9).normal(1.0, 0.5, len(train))))  # labels unrelated
    res = run_aggregate(noise, test, target="price", dataset="toy", random_state=0, insecure_noise_seed=1,
                        settings={"log_target": True, "center": 1.0, "scale": 0.5, "clip": 2.5, "rho_grid": [0.0],
                                  "dp": {"release_epsilon": 0.2, "release_bag_size": 4}})
    warnings = res.baseline_warnings()
    assert warnings and all("try" in w for w in warnings)
    good = run_aggregate(train, test, target="price", dataset="toy", random_state=0, insecure_noise_seed=1,
                         settings={**TINY, "bag_sizes": [], "synthetic": {"bag_sizes": []},
                                   "dp": {"release_epsilon": 8.0, "release_bag_size": 8}})
    assert good.baseline_warnings() == []
