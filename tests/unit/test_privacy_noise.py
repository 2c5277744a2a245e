"""Secret DP noise (trust.privacy.noise) and the exact discrete Laplace mechanism."""

import math

import numpy as np
import pytest
import torch

from trust.errors import ConfigError
from trust.privacy.mechanisms import (discrete_laplace_mechanism, discrete_laplace_variance, rational_scale,
                                      sample_discrete_laplace)
from trust.privacy.noise import noise_source


def test_each_noise_source_is_seeded_afresh_from_os_entropy():
    a, b = noise_source(), noise_source()
    assert a.ledger == b.ledger == "os-entropy" and a.secure
    assert not np.array_equal(a.numpy.random(8), b.numpy.random(8))
    assert not torch.equal(torch.randn(8, generator=a.torch_generator()), torch.randn(8, generator=b.torch_generator()))
    assert str(a.seed_torch) not in repr(a)


def test_the_insecure_seed_reproduces_the_noise_per_stream_and_is_flagged():
    a, b, c = noise_source(7, stream="critic"), noise_source(7, stream="critic"), noise_source(7, stream="aux")
    assert a.ledger == "seeded (not a valid guarantee)" and not a.secure
    assert np.array_equal(a.numpy.random(8), b.numpy.random(8))
    assert torch.equal(torch.randn(8, generator=a.torch_generator()), torch.randn(8, generator=b.torch_generator()))
    assert not np.array_equal(noise_source(7, stream="critic").numpy.random(8), c.numpy.random(8))
    with pytest.raises(ConfigError, match="insecure_noise_seed"):
        noise_source(-1)


@pytest.mark.parametrize("scale", [0.7, 4.0])
def test_discrete_laplace_draws_follow_the_exact_pmf(scale):
    rng = np.random.default_rng(0)
    x = sample_discrete_laplace(scale, 40_000, rng)
    assert x.dtype == np.int64
    t = float(rational_scale(scale))
    r = math.exp(-1 / t)
    for k in range(-3, 4):   # P(k) = (1 - r) / (1 + r) * r^|k|
        p = (1 - r) / (1 + r) * r ** abs(k)
        assert np.mean(x == k) == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / len(x)))
    assert np.var(x) == pytest.approx(discrete_laplace_variance(scale), rel=0.05)


def test_the_scale_is_rounded_up_never_down():
    for s in (0.1, 1 / 3, 2.5, 150.0001):
        assert s <= float(rational_scale(s)) <= s + 2**-20


def test_discrete_laplace_mechanism_releases_integer_counts_only():
    out = discrete_laplace_mechanism(np.array([5, 10, 0]), 1, 1.0, insecure_noise_seed=0)
    assert out.dtype == np.int64 and out.shape == (3,)
    with pytest.raises(TypeError):
        discrete_laplace_mechanism(np.array([0.5]), 1, 1.0)


def test_noise_ledger_names_the_source_a_release_with_that_seed_gets():
    from trust.privacy.mechanisms import noise_ledger

    assert noise_ledger(None) == "os-entropy" and noise_ledger(3) == "seeded (not a valid guarantee)"


def test_the_discrete_laplace_variance_is_positive_even_where_it_underflows():
    assert 0.0 < discrete_laplace_variance(1e-9) < 1e-300  # a vacuous epsilon: weights 1 / variance stay finite
    assert discrete_laplace_variance(2048.0) == pytest.approx(2 * 2048.0 ** 2, rel=1e-6)
