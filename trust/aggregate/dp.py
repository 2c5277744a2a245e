"""Label-DP aggregate responses: clipped bag means with exact discrete Laplace noise (Javanmard et al., ICLR 2024).

The mechanism (:func:`release_bag_means`):

1. put each response on a declared scale, ``z_i = (y_i - center) / scale``, and clip it to ``[-C, C]``;
2. round it to the grid of step ``gamma = C / 2^B`` (``B =`` :data:`GRID_BITS` ``= 10``): an integer
   ``q_i = round(z_i / gamma)`` in ``[-2^B, 2^B]``;
3. sum each bag's integers, ``S_a = sum_{i in a} q_i``, and add exact discrete Laplace noise,
   ``T_a = S_a + DL(t)`` with ``P(DL = j) ∝ exp(-|j| / t)``, ``t = Delta / epsilon`` (rounded *up* to a multiple of
   ``2^-20``, :func:`trust.privacy.mechanisms.rational_scale`) and ``Delta = 2^(B+1)``;
4. release the noisy mean ``T_a * gamma / k_a`` (post-processing of the integer ``T_a``; ``k_a`` is public).

**Guarantee.** Unit of privacy: one person's *label* (response); adjacency: replace-one (two datasets differ
in one person's label, features and bag membership fixed). Replacing one label moves one ``q_i`` by at most
``2^(B+1) = Delta`` and so one bag's integer sum by at most ``Delta`` and no other bag (bags are disjoint). For
every output ``j`` the discrete Laplace pmf ratio is ``exp((|j - S'| - |j - S|) / t) <= exp(Delta / t) <=
exp(epsilon)``: each bag's release is epsilon-DP for that label, exactly, and by parallel composition over
disjoint bags the whole release is (epsilon, 0)-label-DP. The noise of each bag is on its *sum*, so in the mean
it scales as ``1 / k_a``: unequal bags (feature-keyed, or a kept last bag) keep the guarantee; small bags get
more noise. Anything computed from the release (training, rho selection on held-out bags, predictions) is
post-processing and costs nothing.

**Why discrete, not floating-point Laplace.** A floating-point Laplace sample ``zbar + b * log(U)`` has a porous,
data-dependent set of attainable doubles: from one released value an attacker can rule out inputs (Mironov
2012), which voids the guarantee. The integer sum plus an integer noise drawn by Canonne, Kamath and Steinke's
exact sampler (NeurIPS 2020; uniform integers and rational arithmetic only, the one the synthesiser's
histograms use, :func:`trust.privacy.mechanisms.sample_discrete_laplace`) has no floating-point step before the
release: the privacy argument above is about integers and holds exactly as stated. Mironov's snapping
mechanism would have kept real values but costs a slightly larger epsilon (``epsilon + 2^-49``-order terms that
depend on the clamping bound) and needs a correctly rounded logarithm; the discrete mechanism needs neither.
**Cost:** the rounding to ``C / 1024`` (at most ``gamma / 2`` per label, ``C / 2048``; 0.0012 standardised
units at ``C = 2.5``) and the rounding up of ``t`` (relative ``2^-20 / t``); the noise variance
``2 r / (1 - r)^2 gamma^2 / k^2`` with ``r = exp(-1/t)`` equals the continuous ``2 (2C / (k epsilon))^2`` to a
relative ``1 / (12 t^2)``. Measured on King (``benchmarks/aggregate_mechanism.py``, see benchmarks/README.md):
test MSE of the deployed model indistinguishable from the floating-point mechanism's.

**Not protected:** the features of every row and the bag membership (which rows share a bag, bag sizes) are
used as they are; keyed bags reveal key-group sizes. Only responses are protected.

**Centring and scaling.** ``center`` and ``scale`` must not be computed from the private responses (that would
leak them outside the accounted mechanism): pass declared public values (domain knowledge, a public
dataset, or a separate DP estimate whose epsilon you add to the ledger). The clip bound ``C`` is in the
standardised units; responses beyond it are clipped (bias, not a privacy loss).

**Noise.** Drawn from :func:`trust.privacy.noise.noise_source` afresh at every release (a generator seeded
with 128 bits of OS entropy), never from a seed that is saved or logged; ``insecure_noise_seed`` makes it
reproducible for tests only, and the ledger entry then says ``noise_source="seeded (not a valid guarantee)"``.
The generator is PCG64 seeded from 128 bits of OS entropy, not a cryptographic generator (see
:mod:`trust.privacy.noise`); the release exposes only noisy sums, never raw draws.

**Errors do not depend on private labels.** A response that cannot be standardised (missing, not a number,
not finite; with a log transform, :func:`log_responses`, also zero or negative) is mapped to ``center``
(standardised 0), and a finite response beyond the range, however large, is clipped to ``+-C``, before
anything else: a per-label map into ``[-C, C]``, so replacing one label still moves one clipped value by at
most ``2C`` and the guarantee is unchanged. Nothing raises, warns or overflows because of a label's value;
only the settings and the public bag layout are checked. The one warning the release gives (most responses
clipped, :func:`warn_if_release_saturated`) reads the *noisy* release, never the labels.

**Ledger conventions.** Mechanism ``"discrete Laplace (clipped bag sums on a grid)"``; ``noise_multiplier`` is
the noise scale relative to the sensitivity, ``t / Delta`` (``1 / epsilon`` rounded up by at most ``2^-20 /
Delta``), as :class:`~trust.privacy.LedgerEntry` defines it, so that ``epsilon = 1 / noise_multiplier`` up to
that rounding (:func:`ledger_epsilon` recomputes it); ``max_grad_norm`` holds the clip bound ``C`` of a
response; ``notes`` give the grid, ``Delta`` and ``t``; ``sample_rate = 1`` and ``steps = 1`` (one-shot release);
accountant ``closed-form``; delta 0.
"""

from __future__ import annotations

import numpy as np

from trust._validation import check_scalar
from trust.aggregate.bags import ClippingWarning, check_bags
from trust.privacy import LedgerEntry
from trust.privacy.mechanisms import discrete_laplace_variance, rational_scale, sample_discrete_laplace
from trust.privacy.noise import noise_source

#: clipped responses are rounded to the grid ``C / 2**GRID_BITS`` (integers in ``[-2**GRID_BITS, 2**GRID_BITS]``)
GRID_BITS = 10

#: the L1 sensitivity of a bag's integer sum under replace-one: one label moves its ``q_i`` by at most this
SUM_SENSITIVITY = 2 ** (GRID_BITS + 1)

MECHANISM = "discrete Laplace (clipped bag sums on a grid)"


def _positive(name: str, value) -> float:
    return float(check_scalar(value, name, float, min_val=0, include_boundaries="neither"))


def laplace_scale(bag_size, epsilon: float, clip: float):
    """Nominal per-bag noise scale of the released mean, ``2C / (k epsilon)`` (works on arrays of bag sizes): the
    discrete noise on the bag's sum has scale ``Delta / epsilon`` in grid units, ``2C / epsilon`` in standardised
    units, divided by ``k`` in the mean."""
    return 2.0 * _positive("clip", clip) / (np.asarray(bag_size, dtype=float) * _positive("epsilon", epsilon))


def sum_noise_scale(epsilon: float) -> float:
    """The discrete Laplace scale ``t`` the mechanism draws with: ``SUM_SENSITIVITY / epsilon`` rounded up to a
    multiple of ``2^-20`` (in grid units of the bag sum)."""
    return float(rational_scale(SUM_SENSITIVITY / _positive("epsilon", epsilon)))


def noise_variance(bag_size, epsilon: float, clip: float):
    """Exact variance of the noise on each released mean: ``Var(DL(t)) (C / 2^B)^2 / k^2`` (about
    ``2 (2C / (k epsilon))^2``, the continuous Laplace's)."""
    grid = _positive("clip", clip) / 2 ** GRID_BITS
    return discrete_laplace_variance(sum_noise_scale(epsilon)) * grid ** 2 / np.asarray(bag_size, dtype=float) ** 2


def ledger_epsilon(noise_multiplier: float) -> float:
    """The epsilon a ledger entry of :func:`release_bag_means` certifies, recomputed from its recorded noise
    multiplier ``t / Delta``: the worst-case privacy loss of the discrete Laplace at a shift of ``Delta``,
    ``Delta / t = 1 / noise_multiplier`` (<= the entry's epsilon; equal up to the rounding of ``t``)."""
    return 1.0 / _positive("noise_multiplier", noise_multiplier)


def _as_float(y) -> np.ndarray:
    """Responses as a float array; anything that is not a number becomes NaN (never an error)."""
    try:
        return np.asarray(y, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        import pandas as pd

        return pd.to_numeric(pd.Series(np.asarray(y, dtype=object).reshape(-1)), errors="coerce").to_numpy(float)


def log_responses(y) -> np.ndarray:
    """``log(y)`` where ``y`` is a finite positive number, NaN elsewhere (which :func:`clip_responses` maps to
    the centre): the log transform of a release, without an error or a warning that depends on a label."""
    v = _as_float(y)
    ok = np.isfinite(v) & (v > 0)
    return np.log(np.where(ok, v, 1.0), where=ok, out=np.full(v.shape, np.nan))


def as_responses(y, *, log: bool = False) -> np.ndarray:
    """Responses as floats, ``log``-transformed when asked (:func:`log_responses`); anything that is not a
    number becomes NaN, never an error (the release maps NaN to the centre)."""
    return log_responses(y) if log else _as_float(y)


def clip_responses(y, clip: float, *, center: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """``clip((y - center) / scale, -C, C)``: the standardised, clipped responses the mechanism averages.

    A response that is missing, not a number or not finite becomes 0 (``center``); a finite one beyond the
    range, however large, becomes ``+-C``. No error, warning or overflow depends on a response's value."""
    c = _positive("clip", clip)
    s = _positive("scale", scale)
    check_scalar(center, "center", float)
    y = _as_float(y)
    with np.errstate(over="ignore", invalid="ignore"):
        z = (y - float(center)) / s
    z = np.where(np.isfinite(y), z, 0.0)
    return np.clip(np.nan_to_num(z, nan=0.0, posinf=c, neginf=-c), -c, c)


#: :func:`standardise_responses` caps standardised responses at this magnitude (squares never overflow)
MAX_STANDARDISED = 1e6


def standardise_responses(y, *, center: float = 0.0, scale: float = 1.0, log: bool = False) -> np.ndarray:
    """``(t(y) - center) / scale`` with ``t = log`` when ``log``, for the *non-private* figures beside a release
    (exact bag means, test errors): a response that cannot be used (as :func:`clip_responses`) is 0, the centre,
    and magnitudes are capped at :data:`MAX_STANDARDISED`, so that no error or overflow depends on a label."""
    s = _positive("scale", scale)
    check_scalar(center, "center", float)
    y = as_responses(y, log=log)
    with np.errstate(over="ignore", invalid="ignore"):
        z = (y - float(center)) / s
    z = np.where(np.isfinite(y), z, 0.0)
    return np.clip(np.nan_to_num(z, nan=0.0, posinf=MAX_STANDARDISED, neginf=-MAX_STANDARDISED),
                   -MAX_STANDARDISED, MAX_STANDARDISED)


#: :func:`warn_if_release_saturated` warns when the released means average beyond this share of the clip bound
SATURATED_SHARE = 0.5


def warn_if_release_saturated(noisy_means, bag_sizes, clip: float) -> float:
    """Warn (:class:`~trust.aggregate.bags.ClippingWarning`) when the size-weighted mean of the *released*
    (noisy, standardised) bag means lies beyond ``SATURATED_SHARE * C`` in magnitude: most responses were then
    clipped at one bound (raw dollars with ``center=0, scale=1``) and a model learns a near-constant.

    It reads only the release (post-processing: no privacy cost), never the private responses. Returns the
    weighted mean."""
    import warnings

    k = np.asarray(bag_sizes, dtype=float)
    level = float(np.sum(k * np.asarray(noisy_means, dtype=float)) / k.sum())
    if abs(level) > SATURATED_SHARE * float(clip):
        warnings.warn(f"the released bag means average {level:+.3g} on the clip range +-{float(clip):g}: most "
                      "responses were probably clipped at one bound, and a model learns a near-constant; declare "
                      "a public center and scale of the response's range (CLI: --center, --scale) or a larger "
                      "clip", ClippingWarning, stacklevel=3)
    return level


def release_bag_means(y, bag_ids, epsilon: float, clip: float, *, center: float = 0.0, scale: float = 1.0,
                      release: str = "aggregate/bag-means", dataset: str = "",
                      insecure_noise_seed: int | None = None) -> tuple[np.ndarray, LedgerEntry]:
    """Release each bag's mean response with epsilon-label-DP (see the module doc for the guarantee).

    Args:
        y: ``(n,)`` private responses (rows with bag id -1 are not used); a value that cannot be standardised is
            the centre and one beyond the range is clipped (module docstring), never an error.
        bag_ids: bag number per row (:func:`~trust.aggregate.bags.make_bags`).
        epsilon: privacy parameter (> 0).
        clip: clip bound ``C`` (> 0) in standardised units.
        center, scale: declared public standardisation, ``z = (y - center) / scale`` (never from the private y).
        release, dataset: names for the ledger entry.
        insecure_noise_seed: None (default: noise from OS entropy, the only setting that backs the guarantee)
            or an integer that makes the noise reproducible, FOR TESTS ONLY (the ledger entry says so).

    Returns:
        ``(noisy_means, entry)``: ``(m,)`` noisy clipped bag means in standardised units (map back with
        ``noisy * scale + center``) and the :class:`~trust.privacy.LedgerEntry` of the release.
    """
    eps = _positive("epsilon", epsilon)
    c = _positive("clip", clip)
    z = clip_responses(y, c, center=center, scale=scale)
    ids, m = check_bags(bag_ids, len(z))
    keep = ids >= 0
    k = np.bincount(ids[keep], minlength=m)
    q = np.rint(z[keep] * (2 ** GRID_BITS / c)).astype(np.int64)  # in [-2^B, 2^B]: a per-label map
    sums = np.zeros(m, dtype=np.int64)
    np.add.at(sums, ids[keep], q)
    noise = noise_source(insecure_noise_seed, stream="bag-means")
    t = sum_noise_scale(eps)
    noisy_sums = sums + sample_discrete_laplace(t, m, noise.numpy)  # exact integers: the release
    noisy = noisy_sums * (c / 2 ** GRID_BITS) / k  # post-processing (k is public)
    warn_if_release_saturated(noisy, k, c)
    sizes = f"k = {int(k[0])}" if k.min() == k.max() else f"k from {int(k.min())} to {int(k.max())}"
    b = laplace_scale(k, eps, c)
    scales = (f"{b[0]:.4g}" if k.min() == k.max() else f"{b.min():.4g} to {b.max():.4g}")
    entry = LedgerEntry(
        release=release, mechanism=MECHANISM, epsilon=eps, delta=0.0, accountant="closed-form",
        noise_multiplier=t / SUM_SENSITIVITY, sample_rate=1.0, steps=1, max_grad_norm=c, unit_of_privacy="label",
        adjacency="replace-one", dataset=dataset, noise_source=noise.ledger,
        notes=(f"{m} disjoint bags ({sizes}); responses standardised with declared center {float(center):.6g} and "
               f"scale {float(scale):.6g}, clipped to [-{c:g}, {c:g}] and rounded to the grid C/2^{GRID_BITS}; each "
               f"bag's integer sum (sensitivity Delta = {SUM_SENSITIVITY}) gets exact discrete Laplace noise of "
               f"scale t = {t:.10g} (Delta / epsilon rounded up), {scales} per released mean; parallel "
               "composition over disjoint bags. Features and bag membership are NOT protected."),
    )
    return noisy, entry


__all__ = ["laplace_scale", "noise_variance", "sum_noise_scale", "ledger_epsilon", "GRID_BITS", "SUM_SENSITIVITY",
           "MECHANISM", "clip_responses", "log_responses", "as_responses", "release_bag_means",
           "warn_if_release_saturated", "SATURATED_SHARE", "standardise_responses", "MAX_STANDARDISED"]
