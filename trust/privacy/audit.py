"""Privacy audits of synthetic data: distance to closest record, NNDR, exact copies, membership inference.

Functional entry points in the manner of cleanlab: arrays in, arrays (or numbers) out. The one
table-level helper, :class:`DistanceEncoder`, turns tables into the numeric space the distances
are measured in. It is fitted on the **real training rows only** and then applied to every table
(train, holdout, synthetic): the CTAB-GAN+ public code scales real and synthetic data with
different scalers before measuring distances, which makes the distances incomparable; we do not.

Measures (CTAB-GAN+ section on privacy; sdmetrics' ``DCROverfittingProtection``):

* :func:`dcr_share`: the share of synthetic rows whose closest real record is a *training* row
  rather than a *holdout* row, with train and holdout subsampled to equal sizes. A generator
  that does not memorise draws rows that are as close to unseen holdout rows as to its training
  rows: 0.5 is ideal; values near 1 mean memorisation.
* :func:`dcr_statistics`: the 5th percentile of the distance from synthetic rows to their closest
  training row (DCR) and of the nearest-neighbour distance ratio (NNDR, closest / second closest
  training row). Small values mean synthetic rows sit on top of real ones.
* :func:`exact_copies`: synthetic rows identical to a training row (in the encoded space, which is
  one-to-one on the columns compared).
* :func:`distance_mia_auc`: a membership-inference attack that scores each candidate by minus its
  distance to the closest synthetic row, evaluated as the ROC AUC of training members against
  holdout non-members (0.5: the synthetic data leaks no membership signal through distances).

All functions take explicit ``random_state`` and bound their subsamples so they run in seconds;
none returns rows, only aggregates.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from trust._validation import check_random_state
from trust.errors import DataError


def _subsample(x: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    if n is None or len(x) <= n:
        return x
    return x[rng.choice(len(x), size=n, replace=False)]


def _as_matrix(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 2 or len(a) == 0:
        raise DataError(f"{name} must be a non-empty 2-d array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise DataError(f"{name} holds NaN or infinite values; encode it with DistanceEncoder first")
    return a


class DistanceEncoder:
    """One preprocessing for every distance: fitted on real training rows, applied to all tables.

    Numeric columns are standardised with the training mean and standard deviation (missing
    values: a 0/1 indicator column plus the training median); categorical columns are one-hot
    encoded over the training categories (missing is a category; unseen values encode as all
    zeros), scaled by ``1/sqrt(2)`` so that two different categories are at distance 1, like a
    one-standard-deviation difference in a numeric column.

    Args:
        categorical: names of the categorical columns; every other column is numeric.

    Example:
        >>> import pandas as pd
        >>> train = pd.DataFrame({"age": [30.0, 40.0, 50.0], "sex": ["F", "M", "F"]})
        >>> enc = DistanceEncoder(categorical=["sex"]).fit(train)
        >>> enc.transform(pd.DataFrame({"age": [40.0], "sex": ["M"]})).round(3).tolist()
        [[0.0, 0.0, 0.707]]
    """

    def __init__(self, categorical: Sequence[str] = ()) -> None:
        self.categorical = list(categorical)

    def fit(self, train: pd.DataFrame) -> "DistanceEncoder":
        if not isinstance(train, pd.DataFrame) or len(train) == 0:
            raise DataError("DistanceEncoder.fit needs a non-empty DataFrame of real training rows")
        self.columns_ = list(train.columns)
        self.numeric_: dict[str, tuple[float, float, float, bool]] = {}
        self.categories_: dict[str, list[str]] = {}
        for c in self.columns_:
            col = train[c]
            if c in self.categorical:
                self.categories_[c] = sorted(col.astype(object).where(col.notna(), "\x00missing").astype(str).unique())
            else:
                x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
                if np.isnan(x).all():
                    raise DataError(f"column '{c}' has no numeric values in the training data; declare it categorical")
                ok = x[~np.isnan(x)]
                sd = float(ok.std())
                self.numeric_[c] = (float(ok.mean()), sd if sd > 0 else 1.0, float(np.median(ok)),
                                    bool(np.isnan(x).any()))
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """The encoded float64 matrix of ``df`` (which must hold the fitted columns)."""
        if not hasattr(self, "columns_"):
            raise DataError("the DistanceEncoder is not fitted; call fit(real_train) first")
        missing = [c for c in self.columns_ if c not in df.columns]
        if missing:
            raise DataError(f"column '{missing[0]}' is missing from a table being compared; pass tables with "
                            "the same columns as the training data")
        parts = []
        for c in self.columns_:
            col = df[c]
            if c in self.categorical:
                cats = self.categories_[c]
                s = col.astype(object).where(col.notna(), "\x00missing").astype(str)
                codes = pd.Categorical(s, categories=cats).codes
                block = np.zeros((len(df), len(cats)))
                ok = codes >= 0
                block[np.flatnonzero(ok), codes[ok]] = 1.0 / np.sqrt(2.0)
                parts.append(block)
            else:
                mean, sd, med, had_missing = self.numeric_[c]
                x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
                miss = np.isnan(x)
                parts.append(((np.where(miss, med, x) - mean) / sd)[:, None])
                if had_missing or miss.any():
                    parts.append(miss[:, None].astype(float))
        return np.hstack(parts) + 0.0  # + 0.0 turns -0.0 into 0.0 (exact-copy matching)

    def fit_transform(self, train: pd.DataFrame) -> np.ndarray:
        return self.fit(train).transform(train)


def closest_distances(queries: np.ndarray, reference: np.ndarray, k: int = 1) -> np.ndarray:
    """Euclidean distances from each query row to its ``k`` closest reference rows, shape ``(n, k)``."""
    from sklearn.neighbors import NearestNeighbors

    q = _as_matrix(queries, "queries")
    r = _as_matrix(reference, "reference")
    if q.shape[1] != r.shape[1]:
        raise DataError(f"queries have {q.shape[1]} columns, reference {r.shape[1]}; encode both with one encoder")
    if len(r) < k:
        raise DataError(f"the reference has {len(r)} row(s), fewer than k={k}")
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(r)
    d, _ = nn.kneighbors(q)
    return d


def dcr_share(synthetic: np.ndarray, train: np.ndarray, holdout: np.ndarray, *, max_rows: int | None = 5000,
              random_state: Any = None) -> float:
    """Share of synthetic rows closer to the training set than to the holdout set.

    Train and holdout are subsampled to the same size ``m`` (the smaller of the two, at most
    ``max_rows``), so a generator that does not memorise scores 0.5. A copy of the training set
    scores 1 when train and holdout are equally large; when the training set is larger, only the
    ``m`` sampled training rows can be recognised, and a copy scores about
    ``0.5 + 0.5 * m / n_train`` (the signal is diluted: read it with :func:`distance_mia_auc`, which
    is not). Ties (equal distances) count one half.

    Args:
        synthetic, train, holdout: encoded rows (same encoder), shape ``(n, d)``.
        max_rows: bound on each subsample (synthetic rows too).
        random_state: seed of the subsamples.

    Returns:
        the share, in [0, 1].
    """
    rng = check_random_state(random_state)
    train, holdout, synthetic = (_as_matrix(a, n) for a, n in ((train, "train"), (holdout, "holdout"),
                                                                (synthetic, "synthetic")))
    m = min(len(train), len(holdout), max_rows or len(train))
    t = _subsample(train, m, rng)
    h = _subsample(holdout, m, rng)
    s = _subsample(synthetic, max_rows, rng)
    dt = closest_distances(s, t)[:, 0]
    dh = closest_distances(s, h)[:, 0]
    return float(np.mean((dt < dh) + 0.5 * (dt == dh)))


def dcr_statistics(synthetic: np.ndarray, train: np.ndarray, *, percentile: float = 5.0,
                   max_rows: int | None = 5000, max_reference: int | None = 20000,
                   random_state: Any = None) -> dict[str, float]:
    """5th-percentile DCR and NNDR of synthetic rows against the training rows.

    Args:
        synthetic, train: encoded rows (same encoder).
        percentile: which percentile to report (paper: 5).
        max_rows: bound on the synthetic rows measured.
        max_reference: bound on the training rows searched.
        random_state: seed of the subsamples.

    Returns:
        ``{"dcr_p5": ..., "nndr_p5": ..., "dcr_median": ...}`` (keys use ``percentile``). NNDR is
        closest / second-closest distance; a synthetic row at distance 0 from duplicated training
        rows has NNDR 0.
    """
    rng = check_random_state(random_state)
    s = _subsample(_as_matrix(synthetic, "synthetic"), max_rows, rng)
    t = _subsample(_as_matrix(train, "train"), max_reference, rng)
    d = closest_distances(s, t, k=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        nndr = np.where(d[:, 1] > 0, d[:, 0] / d[:, 1], 0.0)
    p = f"p{percentile:g}"
    return {f"dcr_{p}": float(np.percentile(d[:, 0], percentile)),
            f"nndr_{p}": float(np.percentile(nndr, percentile)),
            "dcr_median": float(np.median(d[:, 0]))}


def exact_copies(synthetic: np.ndarray, train: np.ndarray) -> int:
    """Number of synthetic rows identical to some training row (all of both, no subsample)."""
    s = np.ascontiguousarray(_as_matrix(synthetic, "synthetic") + 0.0)
    t = np.ascontiguousarray(_as_matrix(train, "train") + 0.0)
    if s.shape[1] != t.shape[1]:
        raise DataError(f"synthetic has {s.shape[1]} columns, train {t.shape[1]}; encode both with one encoder")
    row = np.dtype((np.void, s.dtype.itemsize * s.shape[1]))
    return int(np.isin(s.view(row).ravel(), t.view(row).ravel()).sum())


def distance_mia_auc(members: np.ndarray, non_members: np.ndarray, synthetic: np.ndarray, *,
                     max_rows: int | None = 5000, max_reference: int | None = 20000,
                     random_state: Any = None) -> float:
    """ROC AUC of a distance-to-closest-synthetic-record membership-inference attack.

    The attacker sees only the synthetic data and scores each candidate record by minus its
    distance to the closest synthetic row (closer: more likely a training member). Members are
    training rows, non-members holdout rows, subsampled to equal numbers.

    Args:
        members: encoded training rows.
        non_members: encoded holdout rows (never used in training).
        synthetic: encoded synthetic rows.
        max_rows: bound on the members and non-members scored (equal numbers of each).
        max_reference: bound on the synthetic rows searched.
        random_state: seed of the subsamples.

    Returns:
        the attack's AUC: 0.5 is no signal, 1.0 perfect membership inference.
    """
    from sklearn.metrics import roc_auc_score

    rng = check_random_state(random_state)
    mem = _as_matrix(members, "members")
    non = _as_matrix(non_members, "non_members")
    m = min(len(mem), len(non), max_rows or len(mem))
    mem, non = _subsample(mem, m, rng), _subsample(non, m, rng)
    syn = _subsample(_as_matrix(synthetic, "synthetic"), max_reference, rng)
    d = closest_distances(np.vstack([mem, non]), syn)[:, 0]
    labels = np.r_[np.ones(len(mem)), np.zeros(len(non))]
    return float(roc_auc_score(labels, -d))


def privacy_audit(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, *,
                  categorical: Sequence[str] = (), max_rows: int | None = 5000,
                  max_reference: int | None = 20000, random_state: Any = None) -> dict[str, float]:
    """Every distance-based measure at once, with one encoder fitted on ``train``.

    Args:
        train, holdout, synthetic: tables with the same columns (the encoder is fitted on ``train``).
        categorical: the categorical columns.
        max_rows: bound on the rows measured (queries; equal train/holdout subsamples).
        max_reference: bound on the rows searched for neighbours.
        random_state: seed of every subsample.

    Returns:
        ``dcr_share_train`` (closer to train than holdout; ideal 0.5), ``dcr_p5``, ``nndr_p5``,
        ``dcr_median``, the same for the holdout as a reference (``holdout_dcr_p5``: what an
        independent sample scores), ``exact_copies``, ``exact_copy_rate`` and ``mia_auc``.
    """
    rng = check_random_state(random_state)
    cols = list(train.columns)
    enc = DistanceEncoder(categorical=[c for c in categorical if c in cols]).fit(train)
    T, H, S = enc.transform(train), enc.transform(holdout[cols]), enc.transform(synthetic[cols])
    out = {"dcr_share_train": dcr_share(S, T, H, max_rows=max_rows, random_state=rng)}
    out.update(dcr_statistics(S, T, max_rows=max_rows, max_reference=max_reference, random_state=rng))
    ref = dcr_statistics(H, T, max_rows=max_rows, max_reference=max_reference, random_state=rng)
    out.update({f"holdout_{k}": v for k, v in ref.items()})
    out["exact_copies"] = float(exact_copies(S, T))
    out["exact_copy_rate"] = out["exact_copies"] / len(S)
    out["holdout_exact_copies"] = float(exact_copies(H, T))
    out["mia_auc"] = distance_mia_auc(T, H, S, max_rows=max_rows, max_reference=max_reference, random_state=rng)
    return out


__all__ = ["DistanceEncoder", "closest_distances", "dcr_share", "dcr_statistics", "exact_copies",
           "distance_mia_auc", "privacy_audit"]
