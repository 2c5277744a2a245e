"""`trust unlearn concept`: it forgets and certifies; bad input is one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    import torch

    from trust.data import load_array_dataset
    from trust.models import NeuralClassifier

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("unlearn_cli")
    ds = load_array_dataset("digits")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(ds.y))
    tr, te = idx[:900], idx[900:1300]
    NeuralClassifier("mlp", hidden=(32,), epochs=8, lr=3e-3, n_classes=10, random_state=0).fit(
        ds.X[tr], ds.y[tr]).save(d / "model")
    np.savez(d / "train.npz", X=ds.X[tr], y=ds.y[tr])
    np.savez(d / "test.npz", X=ds.X[te], y=ds.y[te])
    only3 = ds.y[tr] == 3
    np.savez(d / "only3.npz", X=ds.X[tr][only3], y=ds.y[tr][only3])
    np.savez(d / "no3.npz", X=ds.X[tr][~only3], y=ds.y[tr][~only3])
    return d


def _args(d, *extra, data="train.npz", out="out"):
    return ("unlearn", "concept", "--model", d / "model", "--data", d / data, "--out", d / out, *extra)


def _one_line_error(code, err):
    lines = err.strip().splitlines()
    return code == 2 and len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err


@pytest.fixture(scope="module")
def certified(saved, tmp_path_factory):
    from trust.cli import main

    ev = tmp_path_factory.mktemp("ev")
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        main([str(a) for a in _args(saved, "--forget-class", 3, "--test", saved / "test.npz", "--epochs", 5,
                                    "--shadows", 4, "--evidence", ev, out="out_ok")])
    return e.value.code, out.getvalue(), err.getvalue(), ev


def test_concept_forgets_the_class_and_saves_the_model(saved, certified):
    from trust.models import NeuralClassifier

    code, out, err, _ = certified
    assert code == 0, err
    m = NeuralClassifier.load(saved / "out_ok")
    X, y = np.load(saved / "test.npz")["X"], np.load(saved / "test.npz")["y"]
    assert m.classes_.tolist() == list(range(10)) and np.mean(m.predict(X[y == 3]) == 3) <= 0.05


def test_concept_prints_the_certificate_and_its_controls_on_stdout_and_nothing_on_a_redirected_stderr(certified):
    code, out, err, _ = certified
    assert "certificate:" in out and "[original]" in out and "[retrained_other_seed]" in out and "runtime:" in out
    assert err.strip() == ""


def test_concept_evidence_holds_the_certificate_of_kind_unlearn(certified):
    *_, ev = certified
    doc = json.loads((ev / "unlearn_concept.json").read_text())
    assert doc["kind"] == "unlearn" and doc["details"]["certificate"]["forgotten"]["class"] == 3
    assert {c["policy_key"] for c in doc["checks"]} >= {"max_forget_accuracy", "max_ulira_auc_excess_over_retrain"}


@pytest.mark.parametrize("case, extra, data, match", [
    ("a class that does not exist", ("--forget-class", 12), "train.npz", "forget_class 12 is not a class"),
    # an .npz must hold every class 0..K-1, so these two are refused as the data are read
    ("forgetting the only class left", ("--forget-class", 3), "only3.npz", "has no samples"),
    ("an empty forget set", ("--forget-class", 3), "no3.npz", "class 3 has no samples"),
])
def test_bad_input_is_one_line_and_exit_2_with_nothing_written(run_cli, saved, case, extra, data, match):
    code, out, err = run_cli(*_args(saved, *extra, data=data, out=f"out_{case.replace(' ', '_')}"))
    assert _one_line_error(code, err) and match in err
    assert not (saved / f"out_{case.replace(' ', '_')}").exists()


def test_a_concept_matrix_whose_classes_do_not_match_the_model_is_refused(run_cli, saved, tmp_path):
    from trust.data.concepts import digit_concepts

    csv = tmp_path / "c.csv"
    digit_concepts().drop(index=[8, 9]).to_csv(csv)
    code, out, err = run_cli(*_args(saved, "--forget-class", 3, "--concepts", csv, out="out_badc"))
    assert _one_line_error(code, err) and "do not match the model's classes" in err
    assert not (saved / "out_badc").exists()


def test_an_output_folder_holding_other_files_is_refused_before_any_work(run_cli, saved, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    code, out, err = run_cli("unlearn", "concept", "--model", saved / "model", "--data", saved / "train.npz",
                             "--forget-class", 3, "--out", tmp_path)
    assert _one_line_error(code, err) and (tmp_path / "keep.txt").read_text() == "mine"


def test_evidence_without_test_rows_is_refused(run_cli, saved, tmp_path):
    code, out, err = run_cli(*_args(saved, "--forget-class", 3, "--evidence", tmp_path, out="out_ev"))
    assert _one_line_error(code, err) and "--evidence needs --test" in err


def test_the_cli_model_kind_is_the_classifiers():
    from trust.cli.unlearn import NEURAL_KIND
    from trust.models.classifier import MODEL_KIND

    assert NEURAL_KIND == MODEL_KIND
