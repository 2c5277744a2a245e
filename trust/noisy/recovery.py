"""Stage 2 of RCAL: recover each class's representation distribution from noisy, imbalanced labels.

:func:`recover_class_distributions` takes representations ``Z`` (``(n, d)``, from the label-free
encoder) and noisy labels ``y`` and, for every class ``c``:

1. **Outliers out.** Local Outlier Factor (Breunig et al. 2000; scikit-learn's
   ``LocalOutlierFactor(n_neighbors=min(lof_neighbors, n_c - 1), contamination=contamination)``)
   over the rows labelled ``c``; the rows it flags are dropped. Mislabelled rows come from other
   classes' clusters and sit apart from the class's own mass, so most of them are flagged.
2. **Gaussian estimate.** ``mu_c`` the mean of the kept rows, ``Sigma_c`` their covariance with
   Ledoit-Wolf shrinkage towards a scaled identity (``shrinkage="ledoit-wolf"``, the weight chosen
   from the data: large when rows are few, near zero when many), or the plain sample covariance
   (``"none"``).
3. **Tail classes borrow.** Classes whose kept count is below the ``head_quantile`` quantile of
   the counts are *tail*; each tail class ``t`` takes the ``n_borrow`` head classes ``h`` nearest
   by ``||mu_t - mu_h||`` and sets ``Sigma_t <- (Sigma_t + sum_h Sigma_h) / (1 + n_borrow)``; with
   ``borrow_mean=True`` the mean too, ``mu_t <- (mu_t + sum_h mu_h) / (1 + n_borrow)`` (the
   calibration of Yang et al., ICLR 2021, which RCAL builds on).

A class left with fewer than ``min_samples`` rows (default 2) cannot give a covariance: it takes
the mean of its nearest head classes' covariances (or the pooled one) and a
:class:`RecoveryWarning` says which class fell back. :meth:`ClassDistributions.sample` draws extra
representations per class from ``N(mu_c, Sigma_c)`` (``"balance"``: each class topped up to the
largest class's count).

Our reading of the paper (no public code): the paper borrows statistics for tail classes from
nearest head classes by the distance between means; it does not fix the share of the own
estimate, nor whether the mean moves. We keep the class's own (outlier-cleaned) mean by default
(moving a tail class's mean towards its neighbours blurs the boundary the classifier must learn)
and average covariances with equal weights; both are options.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from trust._validation import check_array, check_labels, check_option, check_random_state, check_scalar
from trust.errors import DataError

SHRINKAGE = ("ledoit-wolf", "none")


class RecoveryWarning(UserWarning):
    """A class had too few rows for its own covariance and fell back to borrowed statistics."""


@dataclasses.dataclass
class ClassDistributions:
    """Recovered per-class Gaussians: ``means (K, d)``, ``covariances (K, d, d)`` and what was done.

    ``inliers`` (``(n,)`` bool): rows kept by LOF; ``counts`` (``(K,)``): kept rows per class; ``head``
    (``(K,)`` bool): head classes; ``borrowed_from``: tail class -> the head classes it borrowed from;
    ``fallbacks``: classes that had too few rows for their own covariance.
    """

    means: np.ndarray
    covariances: np.ndarray
    inliers: np.ndarray
    counts: np.ndarray
    head: np.ndarray
    borrowed_from: dict[int, list[int]]
    fallbacks: list[int]

    @property
    def n_classes(self) -> int:
        return len(self.means)

    def sample(self, n_per_class: Any = "balance", *, random_state: Any = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(Z_sampled, y_sampled)`` from ``N(mu_c, Sigma_c)``: ``n_per_class[c]`` rows of class ``c``.

        ``n_per_class``: an int (the same for every class), a length-``K`` sequence, or ``"balance"``
        (``max(counts) - counts[c]`` for class ``c``).
        """
        rng = check_random_state(random_state)
        K = self.n_classes
        if isinstance(n_per_class, str):
            check_option(n_per_class, "n_per_class", ("balance",))
            n = self.counts.max() - self.counts
        elif np.ndim(n_per_class) == 0:
            n = np.full(K, check_scalar(n_per_class, "n_per_class", int, min_val=0))
        else:
            n = np.asarray(n_per_class)
            if n.shape != (K,) or n.dtype.kind not in "iu" or (n < 0).any():
                raise DataError(f"n_per_class must hold {K} non-negative integers, one per class")
        Zs, ys = [], []
        for c in range(K):
            if n[c] > 0:
                Zs.append(rng.multivariate_normal(self.means[c], self.covariances[c], size=int(n[c]),
                                                  method="eigh"))
                ys.append(np.full(int(n[c]), c, dtype=np.int64))
        d = self.means.shape[1]
        if not Zs:
            return np.zeros((0, d)), np.zeros(0, dtype=np.int64)
        return np.concatenate(Zs), np.concatenate(ys)


def _covariance(Z: np.ndarray, shrinkage: str) -> np.ndarray:
    if shrinkage == "ledoit-wolf":
        from sklearn.covariance import LedoitWolf

        return LedoitWolf(assume_centered=False).fit(Z).covariance_
    return np.cov(Z, rowvar=False, bias=False).reshape(Z.shape[1], Z.shape[1])


def lof_inliers(Z: np.ndarray, *, n_neighbors: int = 20, contamination: Any = "auto") -> np.ndarray:
    """``(n,)`` bool: the rows Local Outlier Factor keeps (all of them when there are fewer than 3)."""
    from sklearn.neighbors import LocalOutlierFactor

    if len(Z) < 3:
        return np.ones(len(Z), dtype=bool)
    lof = LocalOutlierFactor(n_neighbors=min(n_neighbors, len(Z) - 1), contamination=contamination)
    keep = lof.fit_predict(Z) == 1
    return keep if keep.any() else np.ones(len(Z), dtype=bool)


def recover_class_distributions(Z: Any, y: Any, *, n_classes: int | None = None, lof_neighbors: int = 20,
                                contamination: Any = "auto", shrinkage: str = "ledoit-wolf",
                                head_quantile: float = 0.5, n_borrow: int = 2, borrow_mean: bool = False,
                                min_samples: int = 2) -> ClassDistributions:
    """Per-class Gaussians of representations ``Z`` under noisy labels ``y`` (see the module docstring).

    Args:
        Z: ``(n, d)`` representations. y: ``(n,)`` labels ``0..K-1``.
        n_classes: ``K`` (default ``max(y) + 1``); every class needs at least one row.
        lof_neighbors: LOF's ``n_neighbors`` (capped at a class's row count - 1); contamination: LOF's
            (``"auto"`` or a share in ``(0, 0.5]``); ``None`` skips outlier removal.
        shrinkage: ``"ledoit-wolf"`` or ``"none"``.
        head_quantile: classes with kept counts at or above this quantile of the counts are head.
        n_borrow: head classes each tail class borrows from (0: no borrowing).
        borrow_mean: also average the tail mean with its neighbours' means.
        min_samples: fewest kept rows a class needs for its own covariance (else it falls back, warning).

    Raises:
        DataError: ``Z`` not 2-d or not finite, ``y`` not one label per row, a label ``>= n_classes``,
            or a class with no rows.
    """
    Z = check_array(Z, "Z", ndim=2)
    labels = check_labels(y, len(Z), n_classes=n_classes)
    K = int(n_classes) if n_classes is not None else int(labels.max()) + 1
    check_scalar(lof_neighbors, "lof_neighbors", int, min_val=1)
    check_option(shrinkage, "shrinkage", SHRINKAGE)
    check_scalar(head_quantile, "head_quantile", float, min_val=0.0, max_val=1.0)
    check_scalar(n_borrow, "n_borrow", int, min_val=0)
    check_scalar(min_samples, "min_samples", int, min_val=2)
    if contamination is not None and contamination != "auto":
        check_scalar(contamination, "contamination", float, min_val=0.0, max_val=0.5, include_boundaries="right")
    raw = np.bincount(labels, minlength=K)
    if (raw == 0).any():
        raise DataError(f"class {int(np.flatnonzero(raw == 0)[0])} has no rows; every class 0..{K - 1} needs at least one")
    d = Z.shape[1]
    inliers = np.ones(len(Z), dtype=bool)
    if contamination is not None:
        for c in range(K):
            rows = np.flatnonzero(labels == c)
            inliers[rows] = lof_inliers(Z[rows], n_neighbors=lof_neighbors, contamination=contamination)
    means = np.zeros((K, d))
    covs = np.zeros((K, d, d))
    counts = np.zeros(K, dtype=np.int64)
    for c in range(K):
        Zc = Z[(labels == c) & inliers]
        counts[c] = len(Zc)
        means[c] = Zc.mean(axis=0)
        if len(Zc) >= min_samples:
            covs[c] = _covariance(Zc, shrinkage)
    head = counts >= np.quantile(counts, head_quantile)
    fallbacks = [c for c in range(K) if counts[c] < min_samples]
    borrowed = _borrow(means, covs, counts, head, fallbacks, n_borrow=n_borrow, borrow_mean=borrow_mean,
                       min_samples=min_samples)
    for c in fallbacks:
        warnings.warn(f"class {c} kept {counts[c]} row(s) after outlier removal, fewer than the {min_samples} a "
                      f"covariance needs; it uses the mean covariance of classes {borrowed.get(c)} instead",
                      RecoveryWarning, stacklevel=2)
    return ClassDistributions(means, covs, inliers, counts, head, borrowed, fallbacks)


def _borrow(means: np.ndarray, covs: np.ndarray, counts: np.ndarray, head: np.ndarray, fallbacks: list[int], *,
            n_borrow: int, borrow_mean: bool, min_samples: int) -> dict[int, list[int]]:
    """Step 3 (module docstring), in place on ``means`` and ``covs``: tail and fallback classes borrow from their
    nearest head classes; returns tail class -> the classes it borrowed from."""
    K = len(means)
    head_idx = np.flatnonzero(head & (counts >= min_samples))
    own = covs.copy()
    borrowed: dict[int, list[int]] = {}
    for c in range(K):
        if head[c] and c not in fallbacks:
            continue
        pool = head_idx[head_idx != c]
        if len(pool) == 0:
            pool = np.array([h for h in range(K) if h != c and counts[h] >= min_samples], dtype=int)
        if len(pool) == 0:
            if c in fallbacks:
                raise DataError(f"class {c} has {counts[c]} usable rows and no other class has {min_samples}; "
                                "a covariance needs more rows: add data or lower contamination")
            continue
        k = max(n_borrow, 1) if c in fallbacks else n_borrow
        if k == 0:
            continue
        near = pool[np.argsort(np.linalg.norm(means[pool] - means[c], axis=1))[:k]].tolist()
        borrowed[c] = near
        if c in fallbacks:
            covs[c] = own[near].mean(axis=0)
        else:
            covs[c] = (own[c] + own[near].sum(axis=0)) / (1 + len(near))
        if borrow_mean:
            means[c] = (means[c] + means[near].sum(axis=0)) / (1 + len(near))
    return borrowed


__all__ = ["SHRINKAGE", "RecoveryWarning", "ClassDistributions", "lof_inliers", "recover_class_distributions"]
