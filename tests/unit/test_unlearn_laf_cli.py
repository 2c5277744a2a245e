"""`trust unlearn laf`: inputs only in, an unlearned model folder out; bad input exits 2 with one line, writes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from trust.models import NeuralClassifier


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    rng = np.random.default_rng(0)
    y = np.arange(150) % 3
    X = rng.normal(size=(150, 16)) + 2.0 * y[:, None] * np.sin(np.arange(16))[None]
    d = tmp_path_factory.mktemp("laf")
    NeuralClassifier("cnn1d", epochs=3, channels=(8, 16), device="cpu").fit(X, y).save(d / "model")
    np.savez(d / "forget.npz", X=X[y == 0])
    np.savez(d / "remain.npz", X=X[y != 0])
    np.savez(d / "forget_y.npz", X=X[y == 0][:40], y=y[y == 0][:40])
    np.savez(d / "remain_y.npz", X=X[y != 0][:80], y=y[y != 0][:80])
    test = np.concatenate([np.flatnonzero(y == 0)[40:], np.flatnonzero(y != 0)[80:]])
    np.savez(d / "test.npz", X=X[test], y=y[test])
    return d, X


def _args(d, out, **files):
    f = files.get("forget", d / "forget.npz")
    r = files.get("remain", d / "remain.npz")
    return ("unlearn", "laf", "--model", d / "model", "--forget", f, "--remain", r, "--out", out,
            "--epochs", "1", "--device", "cpu", "--quiet")


def test_laf_writes_an_unlearned_copy_and_leaves_the_model_alone(saved, tmp_path, run_cli):
    d, X = saved
    before = NeuralClassifier.load(d / "model").decision_function(X)
    code, out, err = run_cli(*_args(d, tmp_path / "out"))
    assert code == 0 and "LAF" in out and "model saved to" in out and err.strip() == ""
    after = NeuralClassifier.load(tmp_path / "out").decision_function(X)
    np.testing.assert_array_equal(NeuralClassifier.load(d / "model").decision_function(X), before)
    assert not np.array_equal(after, before)


def test_an_empty_forget_set_exits_2(saved, tmp_path, run_cli):
    d, X = saved
    np.savez(tmp_path / "empty.npz", X=X[:0])
    code, _, err = run_cli(*_args(d, tmp_path / "out", forget=tmp_path / "empty.npz"))
    assert code == 2 and "forget_X is empty" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_forget_and_remaining_inputs_of_different_shapes_exit_2(saved, tmp_path, run_cli):
    d, X = saved
    np.savez(tmp_path / "short.npz", X=X[:10, :8])
    code, _, err = run_cli(*_args(d, tmp_path / "out", forget=tmp_path / "short.npz"))
    assert code == 2 and "shape" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_model_without_embed_exits_2(saved, tmp_path, run_cli):
    # a saved network without embed can only be a custom module, which the CLI cannot rebuild: one line, exit 2
    # (the library's own "no embed" error is tested in test_unlearn_laf.py)
    from torch import nn

    d, X = saved
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    NeuralClassifier(net, epochs=1, device="cpu").fit(X.astype(np.float32), np.arange(150) % 3).save(tmp_path / "m")
    args = list(_args(d, tmp_path / "out"))
    args[3] = tmp_path / "m"
    code, _, err = run_cli(*args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "custom network" in err
    assert not (tmp_path / "out").exists()


def test_an_npz_without_X_exits_2(saved, tmp_path, run_cli):
    d, _ = saved
    np.savez(tmp_path / "noX.npz", Z=np.zeros(3))
    code, _, err = run_cli(*_args(d, tmp_path / "out", remain=tmp_path / "noX.npz"))
    assert code == 2 and "has no array 'X'" in err
    assert not (tmp_path / "out").exists()


def test_laf_with_test_rows_and_a_label_budget_certifies_laf_r_and_writes_evidence(saved, tmp_path, run_cli):
    import json

    d, _ = saved
    args = ("unlearn", "laf", "--model", d / "model", "--forget", d / "forget_y.npz", "--remain", d / "remain_y.npz",
            "--out", tmp_path / "out", "--epochs", "1", "--device", "cpu", "--quiet", "--test", d / "test.npz",
            "--repair-per-class", "2", "--shadows", "4", "--evidence", tmp_path / "ev", "--forget-class", "0")
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "class 0" in out and "by LAF+R" in out and "certificate:" in out
    doc = json.loads((tmp_path / "ev" / "unlearn_laf.json").read_text())
    cert = doc["details"]["certificate"]
    assert doc["kind"] == "unlearn" and cert["method"] == "LAF+R" and cert["params"]["repair_per_class"] == 2
    assert cert["forgotten"]["what"] == "class" and cert["forgotten"]["class"] == 0
    assert doc["details"]["analysis"]["repair_labels"] == 4 and "LAF" in doc["details"]["comparison"]


def test_forget_and_remain_the_same_file_exit_2(saved, tmp_path, run_cli):
    d, _ = saved
    code, _, err = run_cli(*_args(d, tmp_path / "out", remain=d / "forget.npz"))
    assert code == 2 and "same file" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_forget_inputs_that_all_appear_among_the_remaining_ones_exit_2(saved, tmp_path, run_cli):
    d, X = saved
    np.savez(tmp_path / "all.npz", X=X)
    code, _, err = run_cli(*_args(d, tmp_path / "out", remain=tmp_path / "all.npz"))
    assert code == 2 and "also appears in remain_X" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_test_rows_need_labels_in_forget_and_remain(saved, tmp_path, run_cli):
    d, _ = saved
    code, _, err = run_cli(*_args(d, tmp_path / "out"), "--test", d / "test.npz")
    assert code == 2 and "--test needs labels" in err
    assert not (tmp_path / "out").exists()


def test_an_odd_number_of_shadow_models_exits_2_before_any_work(saved, tmp_path, run_cli):
    d, _ = saved
    args = ("unlearn", "laf", "--model", d / "model", "--forget", d / "forget_y.npz", "--remain", d / "remain_y.npz",
            "--out", tmp_path / "out", "--device", "cpu", "--quiet", "--test", d / "test.npz", "--shadows", "5")
    code, out, err = run_cli(*args)
    assert code == 2 and "must be even" in err and out == "" and not (tmp_path / "out").exists()
