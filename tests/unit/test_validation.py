"""The shared validation module: one message per kind of mistake, the value and the fix named."""

import numpy as np
import pandas as pd
import pytest

from trust._validation import (NotFittedError, check_array, check_is_fitted, check_labels, check_option,
                               check_random_state, check_scalar)
from trust.data.schema import TableSchema, infer_schema
from trust.errors import ConfigError, DataError
from trust.privacy.ledger import LedgerEntry


def test_check_scalar_accepts_in_range_and_returns_the_value():
    assert check_scalar(3, "epochs", int, min_val=1) == 3
    assert check_scalar(0.5, "lr", float, min_val=0, include_boundaries="neither") == 0.5


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "3", None])
def test_check_scalar_refuses_bad_integers_naming_the_setting(value):
    with pytest.raises(ConfigError, match=r"epochs="):
        check_scalar(value, "epochs", int, min_val=1)


@pytest.mark.parametrize("value", [0.0, float("nan"), float("inf"), -1e-9])
def test_check_scalar_open_interval_refuses_the_boundary_and_non_finite(value):
    with pytest.raises(ConfigError, match="lr="):
        check_scalar(value, "lr", float, min_val=0, include_boundaries="neither")


def test_check_option_lists_the_choices():
    with pytest.raises(ConfigError, match="'cpu', 'cuda'"):
        check_option("tpu", "device", ("cpu", "cuda"))


def test_check_random_state_seeds_reproducibly_and_refuses_negative_seeds():
    a, b = check_random_state(7).random(3), check_random_state(7).random(3)
    assert np.array_equal(a, b)
    g = np.random.default_rng(1)
    assert check_random_state(g) is g
    with pytest.raises(ConfigError, match="random_state=-1"):
        check_random_state(-1)


def test_check_array_checks_dimensions_and_finiteness():
    assert check_array([[1, 2], [3, 4]], ndim=2).dtype == np.float64
    assert check_array(np.zeros((2, 3), np.uint8), ndim=(2, 3), dtype=None).dtype == np.uint8
    with pytest.raises(DataError, match="X must be a 2-d array, got shape"):
        check_array([1, 2, 3], ndim=2)
    with pytest.raises(DataError, match="NaN"):
        check_array([[1.0, np.nan]], ndim=2)
    with pytest.raises(DataError, match="numeric"):
        check_array([["a", "b"]], ndim=2)


def test_check_labels_refuses_non_integer_and_out_of_range_labels():
    assert check_labels([0, 1, 2], 3).tolist() == [0, 1, 2]
    with pytest.raises(DataError, match="one label per row"):
        check_labels([0, 1], 3)
    with pytest.raises(DataError, match="integer class labels"):
        check_labels([0.5, 1.0])
    with pytest.raises(DataError, match="label 3"):
        check_labels([0, 3], n_classes=3)


def test_check_is_fitted_raises_the_one_not_fitted_error():
    class Est:
        pass

    e = Est()
    with pytest.raises(NotFittedError, match="Est is not fitted"):
        check_is_fitted(e)
    e.coef_ = 1
    check_is_fitted(e)


def test_inferred_schema_is_marked_and_a_reviewed_copy_is_declared():
    df = pd.DataFrame({"a": [1.0, 2.5, 3.5, 4.0], "y": ["x", "y", "x", "y"]})
    inferred = infer_schema(df, target="y")
    assert inferred.declared is False
    assert inferred.select(["a", "y"]).declared is False
    assert inferred.as_declared().declared is True
    assert TableSchema.from_dict(inferred.to_dict()).declared is True
    assert "declared" not in inferred.to_dict()


def test_ledger_entry_records_its_noise_source():
    base = dict(release="r", mechanism="Laplace", epsilon=1.0, delta=0.0, accountant="closed-form",
                noise_multiplier=1.0, sample_rate=1.0, steps=1, max_grad_norm=None, unit_of_privacy="record",
                adjacency="add/remove", dataset="d")
    assert LedgerEntry(**base).noise_source == "os-entropy"
    assert LedgerEntry(**base, noise_source="seeded (not a valid guarantee)").noise_source.startswith("seeded")
    with pytest.raises(ConfigError, match="noise_source"):
        LedgerEntry(**base, noise_source="numpy")
