"""Array datasets: bundled digits and MNIST-1D, your own .npz, splits, label edits; one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from trust.data import dataset_info, list_datasets, load_array_dataset, load_arrays, load_dataset, split_arrays
from trust.data.arrays import arrays_sha256, check_arrays, generate_mnist1d
from trust.data.labels import add_label_noise, drop_classes, keep_classes, long_tail
from trust.errors import ConfigError, DataError


def test_registry_lists_digits_and_mnist1d_with_source_and_licence():
    infos = {d.name: d for d in list_datasets()}
    assert infos["digits"].licence and "scikit-learn" in infos["digits"].source
    assert infos["mnist1d"].licence == "Apache-2.0" and "make_dataset" in infos["mnist1d"].source


def test_digits_has_1797_images_of_8x8_in_ten_classes():
    ds = load_array_dataset("digits")
    assert ds.X.shape == (1797, 8, 8) and ds.kind == "image" and np.bincount(ds.y).size == 10
    assert ds.X.min() == 0 and ds.X.max() == 1


def test_mnist1d_has_5000_signals_with_the_package_test_split():
    ds = load_array_dataset("mnist1d")
    assert ds.X.shape == (5000, 40) and ds.kind == "signal"
    assert ds.test_index.tolist() == list(range(4000, 5000))


def test_bundled_mnist1d_is_what_make_dataset_generates():
    X, y = generate_mnist1d()
    ds = load_array_dataset("mnist1d")
    assert arrays_sha256(X, y) == arrays_sha256(ds.X, ds.y) == dataset_info("mnist1d").sha256


def test_generating_mnist1d_leaves_numpy_global_rng_untouched():
    np.random.seed(7)
    expected = np.random.rand(3)
    np.random.seed(7)
    generate_mnist1d({"num_samples": 100})
    assert np.array_equal(np.random.rand(3), expected)


def test_loading_twice_is_byte_identical():
    a, b = load_array_dataset("digits"), load_array_dataset("digits")
    assert a.X.tobytes() == b.X.tobytes() and a.y.tobytes() == b.y.tobytes()


def test_a_tampered_mnist1d_file_is_refused(tmp_path, monkeypatch):
    X, y = generate_mnist1d()
    X[0, 0] += 1
    np.savez_compressed(tmp_path / "mnist1d.npz", X=X, y=y)
    monkeypatch.setenv("TRUST_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="recorded sha256"):
        load_array_dataset("mnist1d")


def test_load_dataset_points_array_datasets_to_the_array_loader():
    with pytest.raises(DataError, match="load_array_dataset"):
        load_dataset("digits")


def test_own_npz_round_trips(tmp_path):
    X = np.random.default_rng(0).random((20, 2, 30))
    np.savez(tmp_path / "s.npz", X=X, y=np.arange(20) % 4, kind="signal")
    ds = load_arrays(tmp_path / "s.npz")
    assert ds.kind == "signal" and np.array_equal(ds.X, X) and ds.n_classes == 4


@pytest.mark.parametrize("X, y, match", [
    (np.zeros(10), np.zeros(10), "must be a 2-d or 3-d or 4-d array"),
    (np.full((4, 3), np.nan), [0, 1, 0, 1], "NaN"),
    (np.zeros((4, 3)), [0, 1, 0, -1], "negative label"),
    (np.zeros((4, 3)), [0, 1, 3, 1], "class 2 has no samples"),
    (np.zeros((4, 3)), [0, 1, 0.5, 1], "integer class labels"),
    (np.zeros((4, 3)), [0, 1, 0], "3 labels but X has 4 rows"),
])
def test_bad_arrays_are_one_line_data_errors(X, y, match):
    with pytest.raises(DataError, match=match) as e:
        check_arrays(X, y)
    assert "\n" not in str(e.value)


def test_signals_given_as_4d_are_refused():
    with pytest.raises(DataError, match="signals must be N x L or N x C x L"):
        check_arrays(np.zeros((4, 1, 2, 3)), [0, 1, 0, 1], kind="signal")


def test_npz_without_y_names_what_it_holds(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.zeros((3, 2)), labels=np.zeros(3))
    with pytest.raises(DataError, match="no array 'y' .*labels"):
        load_arrays(tmp_path / "a.npz")


def test_a_file_that_is_not_npz_is_a_data_error(tmp_path):
    (tmp_path / "a.npz").write_text("hello")
    with pytest.raises(DataError, match="could not be read as an .npz"):
        load_arrays(tmp_path / "a.npz")


# ---------------------------------------------------------------- splits
def test_array_splits_are_disjoint_cover_and_keep_class_shares():
    y = np.repeat(np.arange(5), 40)
    s = split_arrays(y, val_size=0.2, test_size=0.2, seed=0)
    allidx = np.concatenate([s.train, s.val, s.test])
    assert np.array_equal(np.sort(allidx), np.arange(200))
    for part in (s.train, s.val, s.test):
        counts = np.bincount(y[part], minlength=5)
        assert counts.max() - counts.min() <= 1


def test_same_seed_same_split_other_seed_other_split():
    y = np.repeat(np.arange(3), 30)
    a, b, c = (split_arrays(y, seed=s) for s in (0, 0, 1))
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)


def test_fixed_test_rows_are_kept_as_the_test_part():
    y = np.repeat(np.arange(2), 50)
    test = np.arange(80, 100)
    s = split_arrays(y, val_size=0.2, test_index=test)
    assert np.array_equal(s.test, test) and len(s.val) == 20 and not set(s.val) & set(test)


def test_a_class_with_one_sample_cannot_be_stratified():
    y = np.array([0] * 10 + [1] * 10 + [2])
    with pytest.raises(DataError, match="class 2 has 1 sample"):
        split_arrays(y)


def test_sizes_leaving_no_training_rows_are_refused():
    with pytest.raises(ConfigError, match="leaves no training rows"):
        split_arrays(np.repeat(np.arange(2), 20), val_size=0.5, test_size=0.5)


# ---------------------------------------------------------------- label edits
def test_keep_classes_keeps_exactly_those_rows_and_relabels():
    y = np.array([0, 1, 2, 3, 1, 3])
    e = keep_classes(y, [1, 3], relabel=True)
    assert e.index.tolist() == [1, 3, 4, 5] and e.y.tolist() == [0, 1, 0, 1]


def test_drop_classes_reports_what_was_dropped():
    e = drop_classes(np.array([0, 1, 2, 1]), [1])
    assert e.index.tolist() == [0, 2] and e.summary["dropped_classes"] == [1] and e.summary["counts_after"] == [1, 0, 1]


def test_long_tail_counts_follow_the_exponential_profile():
    y = np.repeat(np.arange(4), 100)
    e = long_tail(y, 8.0, random_state=0)
    counts = np.bincount(e.y, minlength=4)
    assert counts.tolist() == [100, 50, 25, 12] == e.summary["counts_after"]


@pytest.mark.parametrize("kind", ["symmetric", "pair", "proportional"])
def test_label_noise_flips_the_stated_share_of_each_class(kind):
    y = np.repeat(np.arange(4), 50)
    e = add_label_noise(y, 0.2, kind=kind, random_state=0)
    flipped = np.bincount(y[e.changed], minlength=4)
    assert flipped.tolist() == [10, 10, 10, 10] and (e.y[e.changed] != y[e.changed]).all()
    assert np.trace(np.array(e.summary["transitions"])) == 160


def test_pair_noise_sends_each_class_to_the_next():
    y = np.repeat(np.arange(3), 10)
    e = add_label_noise(y, 0.5, kind="pair", random_state=0)
    assert ((y[e.changed] + 1) % 3 == e.y[e.changed]).all()


def test_proportional_noise_favours_the_big_class():
    y = np.array([0] * 50 + [1] * 900 + [2] * 50)
    e = add_label_noise(y, 0.5, kind="proportional", random_state=0)
    from_0 = e.y[e.changed][y[e.changed] == 0]
    assert (from_0 == 1).mean() > 0.8


def test_unknown_noise_kind_is_a_config_error():
    with pytest.raises(ConfigError, match="kind='uniform' is unknown"):
        add_label_noise([0, 1], 0.1, kind="uniform")
