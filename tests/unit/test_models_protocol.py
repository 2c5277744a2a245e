"""run_train / TrainResult: figures from its own logits, a card that validates, files saved where the card says."""

from __future__ import annotations

import numpy as np
import pytest

from trust.data import split_arrays
from trust.data.splits import ArraySplits
from trust.errors import ConfigError
from trust.evidence import schema_problem
from trust.metrics import classification_summary
from trust.models import NeuralClassifier, run_train
from trust.models.schema import DETAILS_SCHEMA


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, 4)) + np.eye(3, 4)[y] * 3, y


@pytest.fixture(scope="module")
def result():
    X, y = _data()
    return run_train(X, y, split_arrays(y, seed=0), model={"network": "mlp", "epochs": 5}, dataset="toy",
                     intended_use="tests", device="cpu")


def test_test_figures_are_those_of_its_logits(result):
    z = result.logits["test"]
    P = np.exp(z - z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    expected = classification_summary(result.labels["test"], P)
    for key in ("accuracy", "nll", "ece"):
        assert result.figures["test"][key] == pytest.approx(expected[key], abs=1e-6)
    np.testing.assert_allclose(result.figures["test"]["per_class_accuracy"], expected["per_class_accuracy"])


def test_the_card_names_the_network_and_leaves_out_unused_settings(result):
    assert result.card["architecture"]["network"] == "mlp" and result.card["intended_use"] == "tests"
    assert "channels" not in result.card["training"] and result.card["training"]["epochs"] == 5


def test_the_training_accuracy_is_the_models_score_on_its_training_rows(result):
    X, y = _data()
    tr = result.splits.train
    assert result.train_accuracy == pytest.approx(np.mean(result.model.predict(X[tr]) == y[tr]))


def test_its_evidence_details_validate_against_the_model_schema(result):
    ev = result.to_evidence({})
    assert schema_problem(dict(ev.details), DETAILS_SCHEMA) is None
    assert ev.metrics["test.accuracy"] == result.figures["test"]["accuracy"] and not ev.non_dp


def test_a_private_table_is_declared_a_non_dp_use():
    X, y = _data(90)
    r = run_train(X, y, split_arrays(y, seed=0), model={"network": "mlp", "epochs": 1}, dataset="people",
                  non_dp_artifact="outputs/train/people", device="cpu")
    use, = r.to_evidence({}).non_dp
    assert use["dataset"] == "people" and use["artifact"] == "outputs/train/people"


def test_save_writes_the_files_the_card_names_and_the_model_loads_bit_for_bit(result, tmp_path):
    result.save(tmp_path)
    assert all((tmp_path / f).exists() for f in result.card["files"].values())
    X, _ = _data()
    again = NeuralClassifier.load(tmp_path / result.card["files"]["model"])
    assert np.array_equal(again.decision_function(X), result.model.decision_function(X))
    with np.load(tmp_path / "logits.npz") as z:
        np.testing.assert_array_equal(z["test_logits"], result.logits["test"])
        np.testing.assert_array_equal(z["val_y"], result.labels["val"])


def test_an_empty_test_part_leaves_its_figures_and_check_out():
    X, y = _data(90)
    r = run_train(X, y, ArraySplits(np.arange(90), np.arange(0), np.arange(0)), model={"network": "mlp", "epochs": 1},
                  device="cpu")
    assert r.figures == {} and r.to_evidence({}).checks == () and "no rows held out" in r.summary()


def test_an_underfit_model_draws_one_warning_and_a_fitted_one_none(result):
    X, y = _data(90)
    noisy = np.random.default_rng(1).permutation(y)  # labels unrelated to X cannot be fitted in one epoch
    r = run_train(X, noisy, split_arrays(noisy, seed=0), model={"network": "mlp", "epochs": 1}, device="cpu")
    assert len(r.warnings()) == 1 and "train longer" in r.warnings()[0]
    assert result.warnings() == []


def test_an_unknown_setting_is_refused():
    y = np.arange(60) % 2
    with pytest.raises(ConfigError, match="unknown model setting"):
        run_train(np.zeros((60, 2)), y, split_arrays(y), model={"network": "mlp", "layers": 3})


def test_trust_models_imports_nothing_from_a_capability_package():
    import ast
    from pathlib import Path

    import trust.models

    capabilities = {"synth", "aggregate", "calibration", "calibrate", "unlearn", "noisy", "update", "verify"}
    found = []
    for f in Path(trust.models.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            names += [node.value] if isinstance(node, ast.Constant) and isinstance(node.value, str) else []
            found += [(f.name, n) for n in names if n.startswith("trust.") and n.split(".")[1] in capabilities]
    assert found == []
