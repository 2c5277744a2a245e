"""run_update / UpdateResult: gates relative to the naive update that can fail and pass, the seed floor, evidence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from trust.data.splits import ArraySplits
from trust.errors import ConfigError
from trust.evidence import schema_problem
from trust.models import NeuralClassifier
from trust.update import UpdateResult, negative_flip_rate, run_update
from trust.update.schema import DETAILS_SCHEMA

POLICY = {"max_nfr_ratio_to_naive": 0.8, "min_accuracy_ratio_to_naive": 0.98}
RECIPE = {"network": "mlp", "epochs": 30, "batch_size": 32, "hidden": [16], "lr": 3e-3}


def _data(n=400, seed=0):
    # old classes 0 and 1 far apart; new classes 2 and 3 between them, overlapping both
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    centers = np.array([[0, 0], [3, 0], [0.8, 0.8], [2.2, 0.8]])
    X = np.c_[centers[y] + rng.normal(size=(n, 2)) * 0.6, rng.normal(size=(n, 2))].astype(np.float32)
    idx = np.arange(n)
    return X, y, ArraySplits(idx[:250], idx[250:300], idx[300:])


@pytest.fixture(scope="module")
def keeper():
    """An update that never lets a new class win (b = 50) and distils the old model hard: it keeps every old decision."""
    X, y, s = _data()
    return run_update(X, y, s, old_classes=[0, 1], model=RECIPE, methods=["naive", "mpt"], b=50.0,
                      mpt={"old_weight": 5.0}, dataset="toy", device="cpu")


@pytest.fixture(scope="module")
def naive_deployed():
    X, y, s = _data()
    return run_update(X, y, s, old_classes=[0, 1], model=RECIPE, methods=["naive"], deploy="naive", dataset="toy",
                      device="cpu")


def _gate(result, key, policy=POLICY):
    return next(c for c in result.to_evidence(policy).checks if c.policy_key == key)


def test_a_naive_update_deployed_fails_the_flip_ratio_gate(naive_deployed):
    c = _gate(naive_deployed, "max_nfr_ratio_to_naive")
    assert naive_deployed.figures["naive"]["nfr"] > 0 and c.value == 1.0 and c.passed is False


def test_a_naive_update_deployed_passes_the_accuracy_ratio_gate(naive_deployed):
    assert _gate(naive_deployed, "min_accuracy_ratio_to_naive").passed is True


def test_an_update_that_keeps_every_old_decision_passes_the_flip_ratio_gate(keeper):
    c = _gate(keeper, "max_nfr_ratio_to_naive")
    assert keeper.figures["mpt"]["nfr"] == 0.0 < keeper.figures["naive"]["nfr"] and c.passed is True


def test_an_update_that_never_predicts_a_new_class_fails_the_accuracy_ratio_gate(keeper):
    assert keeper.figures["mpt"]["new_class_accuracy"] == 0.0
    assert _gate(keeper, "min_accuracy_ratio_to_naive").passed is False


@pytest.mark.parametrize("nfr, passed", [(0.04, True), (0.08, True), (0.09, False), (0.2, False)])
def test_the_flip_gate_compares_the_ratio_to_the_naive_update_with_the_policy_threshold(keeper, nfr, passed):
    figures = {m: dict(f) for m, f in keeper.figures.items()}
    figures["naive"]["nfr"], figures["mpt"]["nfr"] = 0.1, nfr
    c = _gate(dataclasses.replace(keeper, figures=figures), "max_nfr_ratio_to_naive")
    assert c.passed is passed and c.value == pytest.approx(nfr / 0.1)
    assert "naive update 0.1" in c.sentence() and "threshold 0.8" in c.sentence()


def test_without_a_policy_threshold_the_gates_are_recorded_but_not_decided(keeper):
    checks = keeper.to_evidence({}).checks
    assert [c.passed for c in checks if c.policy_key] == [None, None]


def test_the_seed_floor_is_the_nfr_between_the_two_naive_updates_both_ways(keeper):
    X, y, s = _data()
    te = s.test[np.isin(y[s.test], [0, 1])]
    a, b = keeper.models["naive"].predict(X[te]), keeper.models["teacher"].predict(X[te])
    expected = 0.5 * (negative_flip_rate(y[te], a, b) + negative_flip_rate(y[te], b, a))
    assert keeper.seed_floor_nfr == pytest.approx(expected)


def test_the_teacher_is_a_naive_update_with_its_own_seed(keeper):
    assert keeper.models["teacher"].random_state != keeper.models["naive"].random_state
    X, _, _ = _data()
    assert not np.array_equal(keeper.models["teacher"].decision_function(X), keeper.models["naive"].decision_function(X))


def test_the_old_model_learns_only_the_old_classes_and_is_reported_as_fitted(keeper):
    assert keeper.old_model.classes_.tolist() == [0, 1] and keeper.old_classes == (0, 1)
    assert keeper.new_classes == (2, 3) and 0.9 <= keeper.old_model_train_accuracy <= 1.0


def test_its_evidence_validates_against_the_update_schema(keeper):
    ev = keeper.to_evidence(POLICY)
    assert schema_problem(dict(ev.details), DETAILS_SCHEMA) is None
    assert ev.metrics["mpt.nfr"] == 0.0 and ev.metrics["seed_floor_nfr"] == pytest.approx(keeper.seed_floor_nfr)
    assert ev.kind == "update" and ev.document("update")["kind"] == "update"


def test_the_update_section_renders_its_evidence_with_the_floor_and_the_teacher(keeper):
    from trust.report import build_report

    doc = keeper.to_evidence(POLICY).document("update")
    model = build_report({"evidence/update.json": doc}, policy=POLICY)
    sec, = [s for s in model["sections"] if s["id"] == "model-updates"]
    rows = next(b for b in sec["blocks"] if b["type"] == "table" and "Relative NFR" in b["columns"])["rows"]
    assert any("Seed floor" in r[0] for r in rows) and any("another seed" in r[0] for r in rows)
    gates = {g["policy_key"]: g["status"] for g in model["gates"] if g.get("policy_key")}
    assert gates == {"max_nfr_ratio_to_naive": "pass", "min_accuracy_ratio_to_naive": "fail"}


def test_save_writes_the_deployed_and_the_old_model(keeper, tmp_path):
    keeper.save(tmp_path)
    X, _, _ = _data()
    for name, model in (("model", keeper.model), ("old_model", keeper.old_model)):
        assert np.array_equal(NeuralClassifier.load(tmp_path / name).predict(X), model.predict(X))


def test_plots_draws_the_two_figures(tmp_path):
    X, y, s = _data()
    r = run_update(X, y, s, old_classes=[0, 1], model={**RECIPE, "epochs": 1}, methods=["naive", "mpt"], b=[0.0, 4.0],
                   device="cpu")
    paths = [p.path for p in r.plots(tmp_path)]
    assert len(paths) == 2 and all(Path(p).is_file() and Path(p).parent == tmp_path for p in paths)
    assert [c["b"] for c in r.curve] == [0.0, 4.0] and r.b_chosen in (0.0, 4.0)


def test_a_deployed_update_far_less_accurate_than_naive_warns_in_one_line_saying_what_to_try(keeper, naive_deployed):
    warnings = keeper.warnings()
    assert len(warnings) == 1 and "accuracy points below the naive update" in warnings[0] and "b" in warnings[0]
    assert naive_deployed.warnings() == []


def test_an_unknown_setting_is_a_config_error():
    X, y, s = _data()
    with pytest.raises(ConfigError, match="unknown update setting 'metods'"):
        run_update(X, y, s, old_classes=[0, 1], metods=["naive"])
    with pytest.raises(ConfigError, match="method 'elodi' is unknown"):
        run_update(X, y, s, old_classes=[0, 1], methods=["naive", "elodi"])


def test_result_is_a_frozen_result_of_kind_update(keeper):
    assert isinstance(keeper, UpdateResult) and keeper.kind == "update"
    with pytest.raises(dataclasses.FrozenInstanceError):
        keeper.deployed = "naive"
