"""NeuralClassifier: accuracy on small seeded runs, determinism, save/load, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trust._validation import NotFittedError
from trust.data import load_array_dataset, split_arrays
from trust.errors import ConfigError, DataError
from trust.models import NeuralClassifier


@pytest.fixture(scope="module")
def digits():
    ds = load_array_dataset("digits")
    s = split_arrays(ds.y, val_size=0.1, test_size=0.2, seed=0)
    return ds.X, ds.y, s


@pytest.fixture(scope="module")
def digits_cnn(digits):
    X, y, s = digits
    return NeuralClassifier("cnn", epochs=8, random_state=0).fit(X[s.train], y[s.train])


def _blobs(n=300, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.normal(size=(n, d)) + 3 * np.eye(k, d)[y]
    return X, y


def test_digits_cnn_reaches_85_percent_in_a_few_epochs(digits, digits_cnn):
    X, y, s = digits
    assert digits_cnn.score(X[s.test], y[s.test]) > 0.85


def test_mnist1d_cnn1d_beats_chance_by_far_in_a_few_epochs():
    ds = load_array_dataset("mnist1d")
    tr, te = np.arange(4000), ds.test_index
    clf = NeuralClassifier("cnn1d", epochs=15, random_state=0).fit(ds.X[tr], ds.y[tr])
    assert clf.score(ds.X[te], ds.y[te]) > 0.6  # chance is 0.1


def test_mlp_separates_gaussian_blobs_like_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    X, y = _blobs()
    Xt, yt = _blobs(seed=1)
    ours = NeuralClassifier("mlp", epochs=30, random_state=0).fit(X, y).score(Xt, yt)
    ref = LogisticRegression().fit(X, y).score(Xt, yt)
    assert ours >= ref - 0.03


def test_same_seed_gives_byte_identical_logits(digits):
    X, y, s = digits
    a = NeuralClassifier("cnn", epochs=1, random_state=3).fit(X[s.train], y[s.train]).decision_function(X[s.test])
    b = NeuralClassifier("cnn", epochs=1, random_state=3).fit(X[s.train], y[s.train]).decision_function(X[s.test])
    assert a.tobytes() == b.tobytes()


def test_different_seeds_give_different_logits(digits):
    X, y, s = digits
    a = NeuralClassifier("cnn", epochs=1, random_state=3).fit(X[s.train], y[s.train]).decision_function(X[:50])
    b = NeuralClassifier("cnn", epochs=1, random_state=4).fit(X[s.train], y[s.train]).decision_function(X[:50])
    assert not np.array_equal(a, b)


def test_fit_leaves_global_torch_rng_untouched():
    X, y = _blobs()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    NeuralClassifier("mlp", epochs=1).fit(X, y)
    assert torch.equal(torch.rand(3), expected)


def test_predict_proba_is_the_softmax_of_the_logits(digits, digits_cnn):
    X = digits[0][:20]
    z = torch.as_tensor(digits_cnn.decision_function(X))
    np.testing.assert_allclose(digits_cnn.predict_proba(X), torch.softmax(z, 1).numpy(), atol=1e-12)


def test_head_of_embedding_gives_the_logits(digits, digits_cnn):
    X = digits[0][:20]
    emb = torch.as_tensor(digits_cnn.embed(X), dtype=torch.float32)
    with torch.no_grad():
        logits = digits_cnn.network_.head(emb).double().numpy()
    np.testing.assert_allclose(logits, digits_cnn.decision_function(X), atol=1e-5)


def test_uint8_images_are_scaled_to_unit_interval(digits):
    X, y, s = digits
    x8 = np.round(X * 255).astype(np.uint8)
    a = NeuralClassifier("cnn", epochs=1, random_state=0).fit(x8[s.train], y[s.train]).decision_function(x8[:10])
    b = NeuralClassifier("cnn", epochs=1, random_state=0).fit(x8[s.train].astype(np.float32) / 255, y[s.train])
    np.testing.assert_array_equal(a, b.decision_function(x8[:10].astype(np.float32) / 255))


def test_cnn_takes_images_of_other_sizes_and_channels():
    rng = np.random.default_rng(0)
    X = rng.random((40, 3, 13, 21)).astype(np.float32)
    y = np.arange(40) % 2
    clf = NeuralClassifier("cnn", epochs=1, channels=(4, 8)).fit(X, y)
    assert clf.decision_function(X).shape == (40, 2) and clf.embed(X).shape == (40, 8)


def test_cnn1d_takes_signals_of_any_length():
    X = np.random.default_rng(0).normal(size=(30, 2, 7))
    clf = NeuralClassifier("cnn1d", epochs=1, channels=(4,)).fit(X, np.arange(30) % 3)
    assert clf.predict_proba(X).shape == (30, 3)


def test_classes_are_those_of_y_and_predict_returns_them():
    X, y = _blobs()
    clf = NeuralClassifier("mlp", epochs=20).fit(X, y * 2 + 1)
    assert clf.classes_.tolist() == [1, 3, 5] and set(clf.predict(X)) <= {1, 3, 5}


def test_n_classes_keeps_a_column_for_an_absent_class():
    X, y = _blobs()
    clf = NeuralClassifier("mlp", epochs=1, n_classes=4).fit(X, y)
    assert clf.decision_function(X).shape == (300, 4) and clf.classes_.tolist() == [0, 1, 2, 3]


def test_custom_module_is_left_unchanged_by_fit():
    X, y = _blobs()
    net = torch.nn.Sequential(torch.nn.Linear(5, 3))
    before = [p.detach().clone() for p in net.parameters()]
    NeuralClassifier(net, epochs=2).fit(X, y)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_custom_module_is_trained():
    X, y = _blobs()
    clf = NeuralClassifier(torch.nn.Sequential(torch.nn.Linear(5, 3)), epochs=30, lr=1e-2).fit(X, y)
    assert clf.score(X, y) > 0.8


def test_sample_weight_zero_on_a_class_stops_it_being_predicted():
    X, y = _blobs()
    w = (y != 2).astype(float)
    clf = NeuralClassifier("mlp", epochs=20, random_state=0).fit(X, y, sample_weight=w)
    assert (clf.predict(X) == 2).mean() < 0.05


def test_early_stopping_restores_the_best_validation_epoch():
    X, y = _blobs(200)
    Xv, yv = _blobs(100, seed=1)
    clf = NeuralClassifier("mlp", epochs=200, lr=0.05, patience=3, random_state=0).fit(X, y, eval_set=(Xv, yv))
    h = clf.history_
    assert h.stopped_early and h.epochs_run == h.best_epoch + 4
    val_now = torch.nn.functional.cross_entropy(torch.as_tensor(clf.decision_function(Xv)), torch.as_tensor(yv))
    assert float(val_now) == pytest.approx(min(h.val_loss), rel=1e-4)


def test_save_load_round_trips_predictions_exactly(tmp_path, digits, digits_cnn):
    X = digits[0][:100]
    digits_cnn.save(tmp_path / "m")
    back = NeuralClassifier.load(tmp_path / "m")
    assert back.decision_function(X).tobytes() == digits_cnn.decision_function(X).tobytes()
    assert back.get_params() == digits_cnn.get_params() | {"channels": tuple(digits_cnn.channels)}


def test_save_load_round_trips_standardised_mlp(tmp_path):
    X, y = _blobs()
    clf = NeuralClassifier("mlp", epochs=2).fit(X * 100 + 7, y)
    clf.save(tmp_path / "m")
    np.testing.assert_array_equal(NeuralClassifier.load(tmp_path / "m").predict_proba(X), clf.predict_proba(X))


def test_a_failed_save_leaves_the_previous_model_intact(tmp_path, monkeypatch):
    X, y = _blobs()
    old = NeuralClassifier("mlp", epochs=1, random_state=0).fit(X, y)
    old.save(tmp_path / "m")
    before = {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()}
    new = NeuralClassifier("mlp", epochs=3, random_state=1).fit(X, y)

    def boom(*a, **k):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr("trust.data.io.atomic_write_json", boom)
    with pytest.raises(OSError):
        new.save(tmp_path / "m")
    assert {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_loading_a_folder_without_a_model_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not a saved NeuralClassifier"):
        NeuralClassifier.load(tmp_path)


@pytest.mark.parametrize("kwargs, match", [
    ({"network": "resnet"}, "network='resnet' is unknown"),
    ({"device": "tpu"}, "device='tpu' is unknown"),
    ({"epochs": 0}, "epochs=0"),
    ({"lr": -1.0}, "lr=-1.0"),
])
def test_bad_settings_are_one_line_config_errors(kwargs, match):
    X, y = _blobs()
    with pytest.raises(ConfigError, match=match) as e:
        NeuralClassifier(**kwargs).fit(X, y)
    assert "\n" not in str(e.value)


def test_nan_in_X_is_a_data_error():
    X, y = _blobs()
    X[3, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        NeuralClassifier().fit(X, y)


def test_label_beyond_n_classes_is_a_data_error():
    X, y = _blobs()
    with pytest.raises(DataError, match="label 2 but the model knows 2 classes"):
        NeuralClassifier(n_classes=2).fit(X, y)


def test_a_table_given_to_the_cnn_is_a_data_error():
    X, y = _blobs()
    with pytest.raises(DataError, match="network='cnn' takes images"):
        NeuralClassifier("cnn").fit(X, y)


def test_predicting_on_another_shape_is_a_data_error(digits_cnn):
    with pytest.raises(DataError, match="fitted on"):
        digits_cnn.predict(np.zeros((2, 9, 9)))


def test_predict_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError):
        NeuralClassifier().predict(np.zeros((2, 3)))


def test_cuda_device_gives_the_cpu_predictions_up_to_float_error(digits):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X, y, s = digits
    cpu = NeuralClassifier("cnn", epochs=2, device="cpu", random_state=0).fit(X[s.train], y[s.train])
    gpu = NeuralClassifier("cnn", epochs=2, device="cuda", random_state=0).fit(X[s.train], y[s.train])
    assert gpu.device_ == "cuda"
    assert (gpu.predict(X[s.test]) == cpu.predict(X[s.test])).mean() > 0.95


def test_custom_network_round_trips_when_the_module_is_given_back(tmp_path):
    X, y = _blobs()
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    clf = NeuralClassifier(net, epochs=2).fit(X, y)
    clf.save(tmp_path / "m")
    with pytest.raises(ConfigError, match="custom network"):
        NeuralClassifier.load(tmp_path / "m")
    back = NeuralClassifier.load(tmp_path / "m", network=net)
    np.testing.assert_array_equal(back.decision_function(X), clf.decision_function(X))


def test_a_failing_final_rename_puts_the_previous_model_back(tmp_path, monkeypatch):
    import os
    from pathlib import Path

    X, y = _blobs()
    NeuralClassifier("mlp", epochs=1).fit(X, y).save(tmp_path / "m")
    before = (tmp_path / "m" / "weights.pt").read_bytes()
    real = os.replace
    calls = []

    def flaky(src, dst):
        if Path(dst) == tmp_path / "m":
            calls.append(src)
            if len(calls) == 1:  # the new folder onto the target (the old one is already aside)
                raise OSError("simulated crash")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OSError):
        NeuralClassifier("mlp", epochs=2, random_state=1).fit(X, y).save(tmp_path / "m")
    monkeypatch.setattr(os, "replace", real)
    assert (tmp_path / "m" / "weights.pt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_an_explicit_cross_entropy_loss_gives_the_same_logits_as_the_default():
    import torch.nn.functional as F

    X, y = _blobs()
    a = NeuralClassifier("mlp", epochs=2, random_state=0).fit(X, y).decision_function(X)
    ce = lambda net, x, t: F.cross_entropy(net(x), t, reduction="none")  # noqa: E731
    b = NeuralClassifier("mlp", epochs=2, random_state=0).fit(X, y, loss=ce).decision_function(X)
    assert np.array_equal(a, b)


def test_extra_arrays_reach_the_custom_loss_row_by_row():
    import torch.nn.functional as F

    X, y = _blobs()
    flipped = (y + 1) % 3  # the loss trains on the extra column, not on y
    ce = lambda net, x, t, t2: F.cross_entropy(net(x), t2, reduction="none")  # noqa: E731
    clf = NeuralClassifier("mlp", epochs=30, random_state=0).fit(X, y, loss=ce, extra=(flipped,))
    assert np.mean(clf.predict(X) == flipped) > 0.9


def test_float_images_in_0_255_are_scaled_like_uint8_with_one_warning_at_fit():
    import warnings

    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    X = np.clip(rng.random((60, 6, 6)) * 0.5 + 0.4 * y[:, None, None], 0, 1).astype(np.float32)
    plain = NeuralClassifier("cnn", epochs=2, channels=(4,), random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="0..255"):
        scaled = NeuralClassifier("cnn", epochs=2, channels=(4,), random_state=0).fit(X * 255, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = scaled.decision_function(X * 255)
    np.testing.assert_allclose(z, plain.decision_function(X), atol=1e-4)


def test_float_images_already_in_0_1_are_used_as_given_without_a_warning():
    import warnings

    y = np.arange(20) % 2
    X = np.random.default_rng(0).random((20, 5, 5)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NeuralClassifier("cnn", epochs=1, channels=(4,), random_state=0).fit(X, y)
