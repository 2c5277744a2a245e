"""Model updates that add classes without breaking what the old model got right (negative flips).

>>> from trust.update import negative_flip_rate
>>> negative_flip_rate([0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1])   # labels, old and new predictions
0.5

A whole update with :func:`run_update` (see :mod:`trust.update.protocol`), or one method::

    upd = MarginPreservingUpdate(b=[0, 1, 2, 4]).fit(old_model, X, y, eval_set=(X_val, y_val))
    negative_flip_rate(y_test_old, old_model.predict(X_test_old), upd.model_.predict(X_test_old))

- :mod:`trust.update.metrics`: NFR, relative NFR, positive flip rate, old/new-class accuracy, the seed floor.
- :mod:`trust.update.methods`: :class:`NaiveUpdate`, :class:`FocalDistillationUpdate` (Yan et al. 2021; the MPT
  authors' PCT baseline by default, :data:`PCT_CODE` the PCT authors' code),
  :class:`MarginPreservingUpdate` (Ricci et al., AAAI 2026), all ``fit(old_model, X, y)`` -> ``model_``.
- :mod:`trust.update.losses`: the per-sample focal-distillation and margin-calibration terms.
- :mod:`trust.update.protocol`: :func:`run_update`, the class-incremental protocol (one old model, every method,
  the same splits, the naive update and the seed floor beside them) returning an :class:`UpdateResult` that
  saves itself, draws its plots and writes its evidence.

Names are imported on first use (torch loads only when a method or loss is used).
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_EXPORTS = {
    "negative_flip_rate": "trust.update.metrics",
    "positive_flip_rate": "trust.update.metrics",
    "relative_negative_flip_rate": "trust.update.metrics",
    "seed_nfr_floor": "trust.update.metrics",
    "class_split_accuracy": "trust.update.metrics",
    "flip_summary": "trust.update.metrics",
    "NaiveUpdate": "trust.update.methods",
    "FocalDistillationUpdate": "trust.update.methods",
    "MarginPreservingUpdate": "trust.update.methods",
    "check_class_sets": "trust.update.methods",
    "focal_distillation": "trust.update.losses",
    "margin_calibration": "trust.update.losses",
    "PCT_CODE": "trust.update.methods",
    "teacher_seed": "trust.update.methods",
    "UpdateResult": "trust.update.protocol",
    "run_update": "trust.update.protocol",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
