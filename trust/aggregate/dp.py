"""Label-DP aggregate responses: clipped bag means with Laplace noise (Javanmard et al., ICLR 2024).

The mechanism (:func:`release_bag_means`):

1. put each response on a declared scale, ``z_i = (y_i - center) / scale``, and clip it to ``[-C, C]``;
2. average over each bag: ``zbar_a = (1/k_a) sum_{i in a} z_i``;
3. release ``zbar_a + Laplace(b_a)`` with ``b_a = 2C / (k_a epsilon)``.

**Guarantee.** Unit of privacy: one person's *label* (response); adjacency: replace-one (two datasets differ
in one person's label, features and bag membership fixed). Replacing one label moves one clipped ``z_i`` by at
most ``2C`` and so the mean of its bag by at most ``2C / k_a`` and no other bag (bags are disjoint): each bag's
Laplace mechanism is epsilon-DP with respect to that label and, by parallel composition over disjoint bags,
the whole release is (epsilon, 0)-label-DP. The noise of each bag is scaled by *its own* size, so unequal
bags (feature-keyed, or a kept last bag) keep the guarantee; small bags get more noise. Anything computed
from the release (training, rho selection on held-out bags, predictions) is post-processing and costs nothing.

**Not protected:** the features of every row and the bag membership (which rows share a bag, bag sizes) are
used as they are; keyed bags reveal key-group sizes. Only responses are protected.

**Centring and scaling.** ``center`` and ``scale`` must not be computed from the private responses (that would
leak them outside the accounted mechanism): pass declared public values (domain knowledge, a public
dataset, or a separate DP estimate whose epsilon you add to the ledger). The clip bound ``C`` is in the
standardised units; responses beyond it are clipped (bias, not a privacy loss).

**Ledger conventions.** ``noise_multiplier`` is the Laplace scale relative to the sensitivity,
``b_a / (2C / k_a) = 1 / epsilon``, as :class:`~trust.privacy.LedgerEntry` defines it (the absolute scale
``2C / (k epsilon)`` is in ``notes``); ``max_grad_norm`` holds the clip bound ``C`` of a response;
``sample_rate = 1`` and ``steps = 1`` (one-shot release); accountant ``closed-form``; delta 0.
"""

from __future__ import annotations

import numpy as np

from trust.aggregate.bags import check_bags
from trust._validation import check_scalar
from trust.errors import DataError
from trust.privacy import LedgerEntry


def _positive(name: str, value) -> float:
    return float(check_scalar(value, name, float, min_val=0.0, include_boundaries="neither"))


def laplace_scale(bag_size, epsilon: float, clip: float):
    """Per-bag Laplace scale ``2C / (k epsilon)`` (works on arrays of bag sizes)."""
    return 2.0 * _positive("clip", clip) / (np.asarray(bag_size, dtype=float) * _positive("epsilon", epsilon))


def noise_variance(bag_size, epsilon: float, clip: float):
    """Variance of the added noise, ``2 (2C / (k epsilon))^2``."""
    return 2.0 * laplace_scale(bag_size, epsilon, clip) ** 2


def clip_responses(y, clip: float, *, center: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """``clip((y - center) / scale, -C, C)``: the standardised, clipped responses the mechanism averages."""
    c = _positive("clip", clip)
    s = _positive("scale", scale)
    check_scalar(center, "center", float)
    y = np.asarray(y, dtype=float).reshape(-1)
    if not np.all(np.isfinite(y)):
        raise DataError("responses have missing or infinite values; drop or impute them before release")
    return np.clip((y - float(center)) / s, -c, c)


def release_bag_means(y, bag_ids, epsilon: float, clip: float, *, center: float = 0.0, scale: float = 1.0,
                      release: str = "aggregate/bag-means", dataset: str = "", data_sha256: str = "",
                      random_state=None) -> tuple[np.ndarray, LedgerEntry]:
    """Release each bag's mean response with epsilon-label-DP (see the module doc for the guarantee).

    Args:
        y: ``(n,)`` private responses (rows with bag id -1 are not used).
        bag_ids: bag number per row (:func:`~trust.aggregate.bags.make_bags`).
        epsilon: privacy parameter (> 0).
        clip: clip bound ``C`` (> 0) in standardised units.
        center, scale: declared public standardisation, ``z = (y - center) / scale`` (never from the private y).
        release, dataset, data_sha256: names for the ledger entry.
        random_state: seed or ``numpy.random.Generator`` for the noise.

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
    means = np.bincount(ids[keep], weights=z[keep], minlength=m) / k
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    b = 2.0 * c / (k * eps)
    noisy = means + rng.laplace(0.0, 1.0, size=m) * b
    sizes = f"k = {int(k[0])}" if k.min() == k.max() else f"k from {int(k.min())} to {int(k.max())}"
    scales = (f"{b[0]:.4g}" if k.min() == k.max() else f"{b.min():.4g} to {b.max():.4g}")
    entry = LedgerEntry(
        release=release, mechanism="Laplace (clipped bag means)", epsilon=eps, delta=0.0, accountant="closed-form",
        noise_multiplier=1.0 / eps, sample_rate=1.0, steps=1, max_grad_norm=c, unit_of_privacy="label",
        adjacency="replace-one", data_sha256=data_sha256, dataset=dataset,
        notes=(f"{m} disjoint bags ({sizes}); responses standardised with declared center {float(center):.6g} and "
               f"scale {float(scale):.6g}, clipped to [-{c:g}, {c:g}]; Laplace scale 2C/(k eps) = {scales} per bag; "
               "parallel composition over disjoint bags. Features and bag membership are NOT protected."),
    )
    return noisy, entry


__all__ = ["laplace_scale", "noise_variance", "clip_responses", "release_bag_means"]
