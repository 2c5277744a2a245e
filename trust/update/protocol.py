"""The class-incremental update protocol: one old model, every method, the same splits and seed.

:func:`run_update_protocol` on fixed row splits (``train``, ``val``, ``test``):

1. the old model: ``NeuralClassifier(**model)`` trained on the training rows of ``old_classes`` only;
2. the seed floor: the same old recipe trained with another seed; the NFR between the two on the old-class
   test rows (:func:`~trust.update.metrics.seed_nfr_floor`) is the flip rate retraining alone causes;
3. every method on all training rows (old and new classes), from the same old model and ``random_state``:
   ``naive`` (:class:`~trust.update.methods.NaiveUpdate`), ``fd_kl`` / ``fd_lm``
   (:class:`~trust.update.methods.FocalDistillationUpdate`), ``mpt``
   (:class:`~trust.update.methods.MarginPreservingUpdate` with ``b`` chosen on the validation rows from
   ``b_grid``, distilling the naive model as its independent new model), and with ``margin_only`` the
   margin-calibration term alone at each ``b`` (no distillation: the trade-off the distillation must win back);
4. figures on the test rows (:func:`~trust.update.metrics.flip_summary`: flips on the old-class test rows,
   accuracy overall and on old and new classes), and the curve over ``b`` on validation and test.

No file I/O; the stage and ``benchmarks/margin_update.py`` call it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np

from trust._validation import check_array, check_labels, check_scalar
from trust.data.splits import ArraySplits
from trust.errors import ConfigError, DataError
from trust.models.classifier import NeuralClassifier
from trust.update.methods import FocalDistillationUpdate, MarginPreservingUpdate, NaiveUpdate
from trust.update.metrics import flip_summary, seed_nfr_floor

METHODS = ("naive", "fd_kl", "fd_lm", "mpt")


@dataclasses.dataclass
class UpdateRun:
    """What one run of the protocol measured (figures on the test rows unless said otherwise)."""

    old_model: NeuralClassifier
    models: dict[str, NeuralClassifier]
    figures: dict[str, dict[str, float]]
    b_curve: list[dict[str, Any]]
    b_chosen: float | None
    seed_floor: float
    old_classes: list[int]
    new_classes: list[int]


def run_update_protocol(X: Any, y: Any, splits: ArraySplits, *, old_classes: Sequence[int],
                        model: Mapping[str, Any], methods: Sequence[str] = METHODS,
                        b_grid: Sequence[float] = (0.0, 1.0, 2.0, 4.0), margin_only: bool = False,
                        seed: int = 0, device: str = "cpu", mpt: Mapping[str, Any] | None = None,
                        fd: Mapping[str, Any] | None = None) -> UpdateRun:
    """Run the protocol (module docstring) once; ``model``: the NeuralClassifier settings of both recipes.

    Args:
        methods: any of :data:`METHODS` (``naive`` always runs: it is the reference and mpt's teacher).
        mpt, fd: extra settings of :class:`MarginPreservingUpdate` / :class:`FocalDistillationUpdate`.
    """
    X = check_array(X, "X", dtype=None, ndim=(2, 3, 4))
    labels = check_labels(y, len(X))
    seed = check_scalar(seed, "seed", int, min_val=0)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"method {unknown[0]!r} is unknown; choose from {list(METHODS)}")
    old = np.unique(check_labels(np.asarray(list(old_classes)), name="old_classes"))
    tr, va, te = splits.train, splits.val, splits.test
    tr_old = tr[np.isin(labels[tr], old)]
    if len(np.unique(labels[tr_old])) != len(old):
        raise DataError(f"the training rows lack some old class of {old.tolist()}; pick old classes present in y")
    settings = {**dict(model), "n_classes": None, "device": device}
    for k in ("random_state",):
        settings.pop(k, None)
    old_model = NeuralClassifier(**settings, random_state=seed).fit(X[tr_old], labels[tr_old])
    floor_model = NeuralClassifier(**settings, random_state=seed + 1).fit(X[tr_old], labels[tr_old])
    te_old = te[np.isin(labels[te], old)]
    floor = seed_nfr_floor(labels[te_old], old_model.predict(X[te_old]), floor_model.predict(X[te_old]))
    common = {"random_state": seed, "device": device}
    old_test = old_model.predict(X[te])

    def summary(m: NeuralClassifier, rows: np.ndarray = te, old_pred: np.ndarray = old_test) -> dict[str, float]:
        return flip_summary(labels[rows], old_pred, m.predict(X[rows]), old_classes=old)

    models: dict[str, NeuralClassifier] = {}
    models["naive"] = NaiveUpdate(**common).fit(old_model, X[tr], labels[tr]).model_
    for kind in ("kl", "lm"):
        if f"fd_{kind}" in methods:
            models[f"fd_{kind}"] = FocalDistillationUpdate(distillation=kind, **dict(fd or {}), **common).fit(
                old_model, X[tr], labels[tr]).model_
    b_curve: list[dict[str, Any]] = []
    b_chosen = None
    old_val = old_model.predict(X[va])
    if "mpt" in methods:
        upd = MarginPreservingUpdate(b=list(b_grid), **dict(mpt or {}), **common).fit(
            old_model, X[tr], labels[tr], new_model=models["naive"], eval_set=(X[va], labels[va]))
        models["mpt"] = upd.model_
        b_chosen = upd.b_
        for c in upd.candidates_:
            b_curve.append({"b": c["b"], "method": "mpt", "val": summary(c["model"], va, old_val),
                            "test": summary(c["model"])})
    if margin_only:
        for b in b_grid:
            m = MarginPreservingUpdate(b=b, old_weight=0.0, new_weight=0.0, **common).fit(
                old_model, X[tr], labels[tr], new_model=models["naive"]).model_
            b_curve.append({"b": float(b), "method": "margin_only", "val": summary(m, va, old_val),
                            "test": summary(m)})
    figures = {name: summary(m) for name, m in models.items()}
    return UpdateRun(old_model, models, figures, b_curve, b_chosen, float(floor), old.tolist(),
                     np.setdiff1d(np.unique(labels), old).tolist())


__all__ = ["METHODS", "UpdateRun", "run_update_protocol"]
