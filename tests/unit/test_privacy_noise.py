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
    assert a.entropy and str(a.entropy[0]) not in repr(a)
    assert 100 < a.entropy[0].bit_length() <= 128 or 100 < b.entropy[0].bit_length() <= 128


def test_the_insecure_seed_reproduces_the_noise_per_stream_and_is_flagged():
    a, b, c = noise_source(7, stream="critic"), noise_source(7, stream="critic"), noise_source(7, stream="aux")
    assert a.ledger == "seeded (not a valid guarantee)" and not a.secure
    assert np.array_equal(a.numpy.random(8), b.numpy.random(8))
    assert torch.equal(torch.randn(8, generator=a.torch_generator()), torch.randn(8, generator=b.torch_generator()))
    assert not np.array_equal(noise_source(7, stream="critic").numpy.random(8), c.numpy.random(8))
    assert not np.array_equal(a.stream("row-keys").random(8), a.stream("partners").random(8))
    with pytest.raises(ConfigError, match="insecure_noise_seed"):
        noise_source(-1)


def _dp_noise(source):
    """The Gaussian noise DP-SGD adds to a zero gradient sum, drawn through the optimizer the synthesiser uses."""
    from trust.privacy.dpsgd import DPSGDPlan, make_dp_optimizer

    plan = DPSGDPlan(noise_multiplier=2.0, sample_rate=0.1, steps=1, expected_batch_size=50, delta=1e-5,
                     accountant="rdp", max_grad_norm=0.5)
    net = torch.nn.Linear(100, 20)
    opt = make_dp_optimizer(torch.optim.SGD(net.parameters(), lr=0.0), plan, source)
    for p in net.parameters():
        p.summed_grad = torch.zeros_like(p)
    opt.add_noise()
    return torch.cat([p.grad.reshape(-1) for p in net.parameters()])


def test_dp_sgd_noise_from_seeds_differing_only_in_their_high_bits_differs():
    # torch's CPU generator (MT19937) keeps the low 32 bits of its seed: seeds differing above them gave equal noise
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5 + 2**32)
    assert torch.equal(torch.randn(4, generator=g1), torch.randn(4, generator=g2))
    from trust.privacy.noise import NoiseSource

    seed = 0x1234_5678_9ABC_DEF0_0FED_CBA9_8765_4321
    for bit in (33, 64, 100, 127):
        a, b = _dp_noise(NoiseSource.from_entropy(seed)), _dp_noise(NoiseSource.from_entropy(seed ^ (1 << bit)))
        assert not torch.equal(a, b)
    assert torch.equal(_dp_noise(NoiseSource.from_entropy(seed)), _dp_noise(NoiseSource.from_entropy(seed)))
    assert not torch.equal(_dp_noise(noise_source(3)), _dp_noise(noise_source(3 + 2**100)))


def test_dp_sgd_noise_has_the_planned_scale_and_no_mean():
    x = _dp_noise(noise_source(0)).numpy()        # sigma * C = 1.0, 2,020 draws
    assert abs(x.std() - 1.0) < 0.05 and abs(x.mean()) < 0.1


def test_dp_sgd_noise_is_opacus_secure_mode_from_the_128_bit_generator():
    # one draw thrown away, four summed and halved, as opacus.optimizers.optimizer._generate_noise draws it
    from trust.privacy.noise import NoiseSource

    source = NoiseSource.from_entropy(2**120 + 99)
    got = _dp_noise(source)
    g = source.torch_generator("gaussian")
    torch.normal(0.0, 1.0, size=(1, 1), generator=g)
    weight = sum(torch.normal(0.0, 1.0, size=(20, 100), generator=g) for _ in range(4)) / 2
    torch.testing.assert_close(got[:2000], weight.reshape(-1))


def test_the_noise_generator_s_state_holds_all_of_its_128_bit_seed():
    from trust.privacy.noise import torch_mt19937

    states = {bytes(torch_mt19937([2**127 ^ (1 << b)], "gaussian").get_state().numpy()) for b in range(0, 127, 9)}
    assert len(states) == len(range(0, 127, 9))


def test_row_streams_depend_on_the_row_and_the_secret_key_not_its_position():
    import pandas as pd

    from trust.privacy.noise import RowStreams

    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 2.0], "b": ["x", "y", "z", "y"]})
    s = RowStreams.for_table(df, noise_source(4, stream="rows"))
    moved = RowStreams.for_table(df.iloc[::-1].reset_index(drop=True), noise_source(4, stream="rows"))
    other = RowStreams.for_table(df, noise_source(5, stream="rows"))
    u = s.uniform(np.arange(4), 9, 3)
    np.testing.assert_array_equal(moved.uniform(np.arange(4)[::-1], 9, 3), u)
    np.testing.assert_array_equal(u[1], u[3])                     # identical rows, identical draws
    assert not np.array_equal(other.uniform(np.arange(4), 9, 3), u)
    assert not np.array_equal(s.uniform(np.arange(4), 10, 3), u)  # another counter, other draws
    assert ((0 <= u) & (u < 1)).all()
    m = s.keep_mask(np.arange(4), 2, 200, 0.5)
    assert m.shape == (4, 200) and set(np.unique(m)) <= {0.0, 2.0}


def test_row_stream_uniforms_and_masks_are_uniform_and_independent_across_rows():
    from trust.privacy.noise import RowStreams

    s = RowStreams(np.arange(20_000, dtype=np.uint64), 77)      # even consecutive keys
    u = s.uniform(np.arange(20_000), 1, 2)
    assert abs(u.mean() - 0.5) < 0.01 and abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.03
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < 0.03
    keep = s.keep_mask(np.arange(2000), 3, 256, 0.5) > 0
    assert abs(keep.mean() - 0.5) < 0.01
    keep3 = s.keep_mask(np.arange(2000), 3, 64, 0.3) > 0
    assert abs(keep3.mean() - 0.7) < 0.01


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
