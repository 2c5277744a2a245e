"""Choosing the deployed calibrator on the validation split, by one documented rule.

:func:`select_calibrator` scores every candidate method by cross-validation on the validation rows:
the rows are split into ``n_folds`` folds (stratified by label when every class has ``n_folds`` rows,
seeded), each candidate is fitted on all folds but one and predicts the held-out fold, so every
validation row gets an out-of-fold probability vector from a calibrator that did not see it. The
candidate's score is

- ``rule="nll"`` (the default): the mean negative log-likelihood of the pooled out-of-fold
  probabilities (a proper scoring rule: it needs no binning and rewards calibration and sharpness);
- ``rule="ece"``: their top-label ECE (``n_bins`` equal-width bins).

``"uncalibrated"`` is scored on the model's own softmax (there is nothing to fit). The lowest score
wins; a tie (within 1e-12) goes to the candidate listed first. The protocol then refits the winner on
the whole validation split. The test split is never read.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np
from sklearn.base import clone

from trust._validation import check_option, check_random_state, check_scalar
from trust.calibrate.baselines import softmax
from trust.errors import ConfigError
from trust.metrics import expected_calibration_error, negative_log_likelihood

RULES = ("nll", "ece")


@dataclasses.dataclass(frozen=True)
class Selection:
    """The outcome of :func:`select_calibrator`: the ``best`` method, every candidate's cross-validated
    ``scores`` under the ``rule``, the number of folds, and for reference every candidate's cross-validated
    ``ece`` and the uncalibrated model's ECE and NLL on the same validation rows."""

    best: str
    scores: Mapping[str, float]
    rule: str
    n_folds: int
    ece: Mapping[str, float] = dataclasses.field(default_factory=dict)
    uncalibrated_ece: float | None = None
    uncalibrated_nll: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"best": self.best, "rule": self.rule, "n_folds": self.n_folds,
                "scores": {m: float(v) for m, v in self.scores.items()},
                "ece": {m: float(v) for m, v in self.ece.items()},
                "uncalibrated": {"ece": self.uncalibrated_ece, "nll": self.uncalibrated_nll}}


def _folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(y)
    if len(y) < 2 * n_folds:
        raise ConfigError(f"the validation split has {len(y)} rows, too few for {n_folds}-fold selection; "
                          "lower n_folds or use a larger validation split")
    stratify = counts[counts > 0].min() >= n_folds
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def out_of_fold_proba(calibrator: Any, logits: np.ndarray, labels: np.ndarray, view_logits: Any,
                      folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``(n, K)``: each row's probabilities from a clone of ``calibrator`` fitted on the other folds (None: softmax)."""
    if calibrator is None:
        return softmax(logits)
    P = np.zeros(logits.shape)
    for train, held in folds:
        cal = clone(calibrator)
        V_tr = None if view_logits is None else view_logits[:, train]
        V_ho = None if view_logits is None else view_logits[:, held]
        cal.fit(logits[train], labels[train], V_tr)
        P[held] = cal.predict_proba(logits[held], V_ho)
    return P


def select_calibrator(candidates: Mapping[str, Any], logits: Any, labels: Any, view_logits: Any = None, *,
                      rule: str = "nll", n_folds: int = 5, n_bins: int = 15, random_state: Any = 0) -> Selection:
    """The candidate (name -> unfitted calibrator, or None for ``"uncalibrated"``) with the lowest
    cross-validated score on the validation rows (module docstring)."""
    check_option(rule, "rule", RULES)
    check_scalar(n_folds, "n_folds", int, min_val=2)
    if not candidates:
        raise ConfigError("no candidate calibrators to choose from; list at least one (e.g. temperature)")
    Z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    seed = int(check_random_state(random_state).integers(0, 2**31 - 1))
    folds = _folds(y, n_folds, seed)
    scores: dict[str, float] = {}
    eces: dict[str, float] = {}
    for name, cal in candidates.items():
        P = out_of_fold_proba(cal, Z, y, view_logits, folds)
        eces[name] = expected_calibration_error(y, P, n_bins=n_bins)
        scores[name] = negative_log_likelihood(y, P) if rule == "nll" else eces[name]
    best = min(scores, key=lambda m: (round(scores[m], 12), list(scores).index(m)))
    P0 = softmax(Z)
    return Selection(best, scores, rule, n_folds, eces, expected_calibration_error(y, P0, n_bins=n_bins),
                     negative_log_likelihood(y, P0))


__all__ = ["RULES", "Selection", "select_calibrator", "out_of_fold_proba"]
