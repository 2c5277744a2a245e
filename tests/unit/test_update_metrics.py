"""Flip metrics on hand-made predictions, and the loss terms against their formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trust.errors import DataError
from trust.update.losses import focal_distillation, margin_calibration
from trust.update.metrics import (
    class_split_accuracy, flip_summary, negative_flip_rate, positive_flip_rate, relative_negative_flip_rate,
    seed_nfr_floor,
)

# 8 samples: old right / new wrong at 1 and 4 (2 negative flips), old wrong / new right at 6 (1 positive flip)
Y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
OLD = np.array([0, 1, 2, 0, 1, 2, 1, 0])
NEW = np.array([0, 2, 2, 0, 0, 2, 0, 0])


def test_negative_flip_rate_counts_old_right_new_wrong():
    assert negative_flip_rate(Y, OLD, NEW) == 2 / 8


def test_positive_flip_rate_counts_old_wrong_new_right():
    assert positive_flip_rate(Y, OLD, NEW) == 1 / 8


def test_relative_nfr_divides_by_the_flips_of_independent_errors():
    old_acc, new_err = 6 / 8, 3 / 8
    assert math.isclose(relative_negative_flip_rate(Y, OLD, NEW), (2 / 8) / (old_acc * new_err))


def test_relative_nfr_is_nan_when_the_new_model_makes_no_error():
    assert math.isnan(relative_negative_flip_rate(Y, OLD, Y))


def test_identical_models_flip_nothing():
    assert negative_flip_rate(Y, OLD, OLD) == 0.0 and seed_nfr_floor(Y, OLD, OLD) == 0.0


def test_seed_floor_averages_both_directions():
    assert seed_nfr_floor(Y, OLD, NEW) == 0.5 * (2 / 8 + 1 / 8)


def test_old_and_new_class_accuracy_split_on_the_old_classes():
    acc = class_split_accuracy(Y, NEW, old_classes=[0, 1])
    assert acc == {"accuracy": 5 / 8, "old_class_accuracy": 3 / 6, "new_class_accuracy": 2 / 2}


def test_flip_summary_measures_flips_on_old_class_samples_only():
    s = flip_summary(Y, OLD, NEW, old_classes=[0, 1])
    old = np.isin(Y, [0, 1])
    assert s["nfr"] == negative_flip_rate(Y[old], OLD[old], NEW[old]) == 2 / 6
    assert s["old_model_accuracy"] == 4 / 6


def test_predictions_of_different_lengths_are_a_one_line_error():
    with pytest.raises(DataError, match="old_pred 7"):
        negative_flip_rate(Y, OLD[:7], NEW)


def test_kl_focal_distillation_matches_the_formula_with_its_weights():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    right = torch.tensor([1.0, 0.0, 1.0, 0.0])
    got = focal_distillation(s, t, right, alpha=1.0, beta=5.0, kind="kl", temperature=2.0)
    kl = F.kl_div(F.log_softmax(s / 2, 1), F.log_softmax(t / 2, 1), log_target=True, reduction="none").sum(1)
    assert torch.allclose(got, (1 + 5 * right) * kl, atol=1e-6)


def test_logit_matching_is_half_the_mean_squared_distance_weighted():
    s, t = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]])
    assert float(focal_distillation(s, t, torch.tensor([0.0]), alpha=2.0, beta=5.0, kind="lm")) == 2.0 * 0.5 * 2.5


def test_the_temperature_squared_factor_multiplies_the_kl_by_t_squared():
    g = torch.Generator().manual_seed(1)
    s, t, right = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g), torch.tensor([1.0, 0.0, 1.0])
    plain = focal_distillation(s, t, right, temperature=100.0)
    assert torch.allclose(focal_distillation(s, t, right, temperature=100.0, temperature_squared=True), 1e4 * plain)


def test_margin_term_with_b_zero_is_the_plain_cross_entropy():
    z, t = torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 0])
    mask = torch.tensor([0.0, 0.0, 1.0, 1.0])
    assert torch.equal(margin_calibration(z, t, mask, 0.0), F.cross_entropy(z, t, reduction="none"))


def test_margin_term_adds_nothing_when_the_old_margin_is_kept_and_grows_as_it_shrinks():
    mask = torch.tensor([0.0, 0.0, 1.0])  # class 2 is new; the sample is of old class 0
    t = torch.tensor([0])

    def excess(gap):  # old-class logit minus the new-class logit
        z = torch.tensor([[gap, -30.0, 0.0]])
        return float(margin_calibration(z, t, mask, 4.0) - F.cross_entropy(z, t, reduction="none"))

    assert excess(40.0) < 1e-6  # margin far above b: preserved
    assert excess(2.0) > 0.5 and excess(0.0) > excess(2.0) > excess(4.0)
