"""view_logits on a real NeuralClassifier, and one run of the protocol on tiny data."""

from __future__ import annotations

import numpy as np
import pytest

from trust.calibrate import view_logits
from trust.calibrate.experiments import EvalSet, shifted_sets, summarize
from trust.calibrate.protocol import run_calibrate
from trust.errors import ConfigError
from trust.models import NeuralClassifier


@pytest.fixture(scope="module")
def signal_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 240)
    X = rng.normal(size=(240, 24)) * 0.3
    X[np.arange(240), y * 6 + 3] += 2.0
    return NeuralClassifier("cnn1d", epochs=3, channels=(8,), n_classes=3, random_state=0).fit(X, y), X, y


def test_view_logits_are_the_models_logits_on_each_default_view(signal_model):
    from trust.calibrate.ca import default_views

    clf, X, _ = signal_model
    V = view_logits(clf, X[:50], random_state=1)
    assert V.shape == (3, 50, 3)
    seeds = np.random.default_rng(1)
    from trust._validation import fork_seed

    want = [clf.decision_function(v(X[:50], fork_seed(seeds))) for v in default_views("signal")]
    np.testing.assert_allclose(V, np.stack(want))


def test_table_views_are_fitted_on_the_rows_they_corrupt():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 6)), rng.integers(0, 2, 120)
    clf = NeuralClassifier("mlp", epochs=2, hidden=(8,), random_state=0).fit(X, y)
    V = view_logits(clf, X)
    assert V.shape == (3, 120, 2) and not np.allclose(V[0], clf.decision_function(X))


def test_a_custom_network_needs_explicit_views(signal_model):
    import torch

    _, X, y = signal_model
    clf = NeuralClassifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(24, 3)), epochs=1).fit(X, y)
    with pytest.raises(ConfigError, match="views"):
        view_logits(clf, X)


def test_the_protocol_scores_every_method_on_every_set_without_changing_accuracy(signal_model):
    clf, X, y = signal_model
    sets = {"in_distribution": EvalSet(X[160:], y[160:]),
            **shifted_sets(X[160:], y[160:], "signal", shifts={"noise": [0.5]})}
    res = run_calibrate(EvalSet(X[100:160], y[100:160]), sets, model=clf, methods=("uncalibrated", "temperature", "ca"),
                        candidates=("temperature",), ca={"epochs": 5}, n_folds=2, n_boot=5)
    assert {(r["set"], r["method"]) for r in res.rows} == {(s, m) for s in sets for m in ("uncalibrated", "temperature", "ca")}
    acc = {(r["set"], r["method"]): r["accuracy"] for r in res.rows}
    assert all(acc[(s, "ca")] == acc[(s, "uncalibrated")] == acc[(s, "temperature")] for s in sets)
    summary = summarize(list(res.rows) + [{**r, "ece": r["ece"] + 0.01} for r in res.rows])
    assert all(s["n_seeds"] == 2 and s["ece_lo"] <= s["ece"] <= s["ece_hi"] for s in summary)
