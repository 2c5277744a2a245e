"""Views: same seed same view, shapes kept, each transform does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from trust.errors import ConfigError
from trust.models import ImageView, SignalView, TableView, make_view


def _images(n=6):
    return np.random.default_rng(0).random((n, 8, 8)).astype(np.float32)


def test_same_seed_gives_the_same_image_view():
    v = ImageView(blur=0.5)
    assert np.array_equal(v(_images(), 1), v(_images(), 1))


def test_different_seeds_give_different_image_views():
    v = ImageView()
    assert not np.array_equal(v(_images(), 1), v(_images(), 2))


def test_identity_settings_leave_images_unchanged():
    x = _images()
    out = ImageView(max_shift=0, max_rotation=0, noise=0)(x, 0)
    np.testing.assert_allclose(out, x, atol=1e-6)


def test_full_flip_mirrors_images_left_to_right():
    x = _images()
    out = ImageView(max_shift=0, max_rotation=0, noise=0, flip=1.0)(x, 0)
    np.testing.assert_allclose(out, x[:, :, ::-1], atol=1e-6)


def test_one_pixel_shift_moves_a_dot_one_pixel():
    x = np.zeros((1, 1, 5, 5), dtype=np.float32)
    x[0, 0, 2, 2] = 1
    # max_shift=1 draws a shift in [-1, 1]; check the mass moved by at most a pixel and stayed whole
    out = ImageView(max_shift=1, max_rotation=0, noise=0)(x, 3)
    assert out.shape == x.shape and out.sum() == pytest.approx(1.0, abs=1e-5)
    ys, xs = np.nonzero(out[0, 0] > 1e-6)
    assert ys.min() >= 1 and ys.max() <= 3 and xs.min() >= 1 and xs.max() <= 3


def test_uint8_images_are_viewed_in_unit_range():
    x8 = (_images() * 255).astype(np.uint8)
    out = ImageView(max_shift=0, max_rotation=0, noise=0)(x8, 0)
    np.testing.assert_allclose(out, x8 / 255.0, atol=1e-6)


def _shifted(row, s):
    out = np.zeros_like(row)
    if s >= 0:
        out[s:] = row[:len(row) - s]
    else:
        out[:s] = row[-s:]
    return out


def test_signal_shift_only_is_a_zero_padded_translation_within_the_bound():
    x = np.arange(1, 11, dtype=np.float32)[None].repeat(8, 0)
    out = SignalView(max_shift=2, scale=0, noise=0, mask=0)(x, 0)
    for row, orig in zip(out, x):
        assert any(np.array_equal(row, _shifted(orig, s)) for s in range(-2, 3))


def test_signal_mask_zeroes_a_window_of_the_given_share():
    x = np.ones((5, 20), dtype=np.float32)
    out = SignalView(max_shift=0, scale=0, noise=0, mask=0.25)(x, 0)
    assert ((out == 0).sum(axis=1) == 5).all()


def test_table_corruption_draws_replacements_from_the_column_marginals():
    rng = np.random.default_rng(0)
    pool = np.column_stack([rng.integers(0, 3, 100), 10 + rng.integers(0, 3, 100)]).astype(float)
    out = TableView(corruption=1.0).fit(pool)(pool, 0)
    assert set(out[:, 0]) <= {0, 1, 2} and set(out[:, 1]) <= {10, 11, 12}
    assert not np.array_equal(out, pool)


def test_table_corruption_replaces_the_stated_number_of_features_per_row():
    pool = np.arange(10000, dtype=float).reshape(1000, 10)  # distinct values: a replacement always differs
    rng = np.random.default_rng(0)
    rows = pool[rng.permutation(1000)[:200]]
    out = TableView(corruption=0.3).fit(pool)(rows, 0)
    changed = (out != rows).sum(axis=1)
    assert changed.max() <= 3 and changed.mean() > 2.9  # 3 replaced; a draw of the row's own value is rare


def test_table_view_must_be_fitted_first():
    from trust._validation import NotFittedError

    with pytest.raises(NotFittedError):
        TableView()(np.zeros((2, 2)), 0)


def test_make_view_refuses_an_unknown_kind():
    with pytest.raises(ConfigError, match="kind='audio' is unknown"):
        make_view("audio")
