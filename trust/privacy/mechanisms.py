"""Classic DP mechanisms for one-shot releases (counts, bag means, bounds).

Each function returns the noisy values; the caller records a
:class:`~trust.privacy.ledger.LedgerEntry`. The noise always comes from
:func:`trust.privacy.noise.noise_source`: a generator seeded afresh from the operating system's
entropy at every call, unless the loudly named ``insecure_noise_seed`` makes it reproducible (tests
only; the ledger entry must then say ``noise_source="seeded (not a valid guarantee)"``, which
:func:`noise_ledger` returns).

* :func:`discrete_laplace_mechanism`: integer counts plus two-sided geometric ("discrete Laplace")
  noise, ``P(k) ∝ exp(-|k| / b)`` with ``b = sensitivity / epsilon``. The sampler
  (:func:`sample_discrete_laplace`) is Canonne, Kamath and Steinke's exact one (NeurIPS 2020,
  Algorithm 2 with their exact Bernoulli(exp(-gamma)) sampler): it draws only uniform *integers*
  and does rational arithmetic, so the released counts are exactly distributed as stated and no
  floating-point Laplace value (with its porous support, Mironov 2012) is released. The scale is
  rounded *up* to a multiple of ``2**-20`` (a little more noise, never less), so the mechanism is
  ``epsilon``-DP for integer queries of L1 sensitivity ``sensitivity``.
* :func:`laplace_mechanism`, :func:`gaussian_mechanism`: real values; floating-point samplers
  (NumPy's). Not protected: the floating-point attack on textbook Laplace/Gaussian samplers
  (Mironov 2012) is not mitigated here; release counts with :func:`discrete_laplace_mechanism`, or round
  bounded reals to a grid and release their integer sums with it, as the label-DP bag means do
  (:func:`trust.aggregate.dp.release_bag_means`). No release of the toolkit uses these two; they remain for
  comparison (``benchmarks/aggregate_mechanism.py``) and for users' own experiments.
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import numpy as np

from trust._validation import check_scalar
from trust.privacy.noise import noise_source

#: the discrete Laplace scale is rounded up to a multiple of this (exact rational arithmetic)
SCALE_RESOLUTION = Fraction(1, 2**20)


def noise_ledger(insecure_noise_seed: int | None) -> str:
    """The ledger's ``noise_source`` for a release made with this ``insecure_noise_seed``."""
    return noise_source(insecure_noise_seed).ledger


# Exact samplers on integers: a rational gamma is passed as (numerator, denominator).
def _bernoulli_exp_le1(num: int, den: int, rng: np.random.Generator) -> bool:
    # Bernoulli(exp(-num/den)) for 0 <= num/den <= 1 (CKS 2020, Algorithm 1): K = first k with
    # Bernoulli(gamma / k) = 0; return whether K is odd
    k = 1
    while int(rng.integers(0, den * k)) < num:
        k += 1
    return k % 2 == 1


def _bernoulli_exp(num: int, den: int, rng: np.random.Generator) -> bool:
    # Bernoulli(exp(-num/den)) for any num/den >= 0: exp(-1) as often as needed, then the remainder
    while num > den:
        if not _bernoulli_exp_le1(1, 1, rng):
            return False
        num -= den
    return _bernoulli_exp_le1(num, den, rng)


def _geometric_exp(s: int, t: int, rng: np.random.Generator) -> int:
    # Geometric(1 - exp(-s/t)) on {0, 1, ...} (CKS 2020, Algorithm 2, steps 1-4)
    while True:
        u = int(rng.integers(0, t))
        if _bernoulli_exp(u, t, rng):
            break
    v = 0
    while _bernoulli_exp_le1(1, 1, rng):
        v += 1
    return (v * t + u) // s


def rational_scale(scale: float) -> Fraction:
    """``scale`` rounded up to a multiple of :data:`SCALE_RESOLUTION` (the scale the sampler uses)."""
    check_scalar(scale, "scale", float, min_val=0, include_boundaries="neither")
    steps = math.ceil(Fraction(scale) / SCALE_RESOLUTION)
    return Fraction(steps) * SCALE_RESOLUTION


def sample_discrete_laplace(scale: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` exact draws of the discrete Laplace distribution ``P(k) ∝ exp(-|k| / scale)`` (int64).

    ``rng`` must come from :func:`~trust.privacy.noise.noise_source` for a private release.
    """
    inv = 1 / rational_scale(scale)
    s, t = inv.numerator, inv.denominator
    out = np.empty(int(size), dtype=np.int64)
    for i in range(out.size):
        while True:
            negative = int(rng.integers(0, 2)) == 1
            magnitude = _geometric_exp(s, t, rng)
            if not (negative and magnitude == 0):
                break
        out[i] = -magnitude if negative else magnitude
    return out


def discrete_laplace_variance(scale: float) -> float:
    """Variance of the discrete Laplace distribution with this scale, ``2 r / (1 - r)^2``, ``r = exp(-1/b)``.

    Never 0: below a scale of about 1/708 the exact value underflows, and the smallest normal float is returned
    instead (callers divide by it, e.g. inverse-variance weights at a vacuous epsilon)."""
    r = math.exp(-1.0 / float(rational_scale(scale)))
    return max(2.0 * r / (1.0 - r) ** 2, sys.float_info.min)


def discrete_laplace_mechanism(counts, sensitivity: int, epsilon: float, *,
                               insecure_noise_seed: int | None = None) -> np.ndarray:
    """``counts + DiscreteLaplace(sensitivity / epsilon)``: epsilon-DP for integer queries of L1 sensitivity
    ``sensitivity`` (exact, see the module docstring). Returns int64 counts (may be negative)."""
    check_scalar(epsilon, "epsilon", float, min_val=0, include_boundaries="neither")
    check_scalar(sensitivity, "sensitivity", int, min_val=1)
    counts = np.asarray(counts)
    if counts.dtype.kind not in "biu":
        raise TypeError("discrete_laplace_mechanism releases integer counts; use laplace_mechanism for reals")
    rng = noise_source(insecure_noise_seed, stream="discrete-laplace").numpy
    noise = sample_discrete_laplace(sensitivity / epsilon, counts.size, rng)
    return counts.astype(np.int64) + noise.reshape(counts.shape)


def laplace_mechanism(values, sensitivity: float, epsilon: float, *,
                      insecure_noise_seed: int | None = None) -> np.ndarray:
    """``values + Laplace(sensitivity / epsilon)``: epsilon-DP for an L1 sensitivity of ``sensitivity``."""
    check_scalar(epsilon, "epsilon", float, min_val=0, include_boundaries="neither")
    check_scalar(sensitivity, "sensitivity", float, min_val=0, include_boundaries="neither")
    values = np.asarray(values, dtype=float)
    rng = noise_source(insecure_noise_seed, stream="laplace").numpy
    return values + rng.laplace(0.0, sensitivity / epsilon, size=values.shape)


def gaussian_sigma(sensitivity: float, epsilon: float, delta: float) -> float:
    """Noise std of the classic Gaussian mechanism, ``sqrt(2 ln(1.25/delta)) * Delta_2 / epsilon`` (epsilon < 1)."""
    check_scalar(epsilon, "epsilon", float, min_val=0, max_val=1, include_boundaries="neither")
    check_scalar(delta, "delta", float, min_val=0, max_val=1, include_boundaries="neither")
    return math.sqrt(2.0 * math.log(1.25 / delta)) * sensitivity / epsilon


def gaussian_mechanism(values, sensitivity: float, epsilon: float, delta: float, *,
                       insecure_noise_seed: int | None = None) -> np.ndarray:
    """``values + N(0, sigma^2)`` with the classic calibration: (epsilon, delta)-DP for L2 sensitivity."""
    values = np.asarray(values, dtype=float)
    sigma = gaussian_sigma(sensitivity, epsilon, delta)
    rng = noise_source(insecure_noise_seed, stream="gaussian").numpy
    return values + rng.normal(0.0, sigma, size=values.shape)


__all__ = ["discrete_laplace_mechanism", "sample_discrete_laplace", "discrete_laplace_variance", "rational_scale",
           "laplace_mechanism", "gaussian_mechanism", "gaussian_sigma", "noise_ledger", "SCALE_RESOLUTION"]
