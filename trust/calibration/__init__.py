"""Calibration correction: metrics, post-hoc baselines and the correctness-aware (CA) calibrator.

>>> from trust.calibration import TemperatureScaling, CorrectnessAwareCalibrator, view_logits
>>> ts = TemperatureScaling().fit(val_logits, val_y); ts.predict_proba(test_logits)
>>> V = view_logits(model, X_val)                       # (n_views, n, K): the model on transformed views
>>> ca = CorrectnessAwareCalibrator().fit(val_logits, val_y, V)
>>> ca.predict_proba(test_logits, view_logits(model, X_test))

- :mod:`trust.calibration.metrics`: ECE (equal-width / equal-mass), class-wise ECE, MCE, Brier, NLL,
  correct-vs-wrong AUROC, bootstrap intervals, reliability diagrams.
- :mod:`trust.calibration.baselines`: :class:`TemperatureScaling`, :class:`VectorScaling`,
  :class:`HistogramBinning`, :class:`IsotonicCalibrator` (``fit(logits, labels)`` / ``predict_proba`` / ``transform``).
- :mod:`trust.calibration.ca`: :class:`CorrectnessAwareCalibrator` and :func:`view_logits`.
- :mod:`trust.calibration.experiments`: the protocol (in distribution and under shift, several seeds).
- :mod:`trust.calibration.persist`: :func:`save_calibrator` / :func:`load_calibrator` (a model directory).

Names load lazily (torch only when the CA calibrator or views are used).
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_EXPORTS = {
    **{name: "trust.calibration.metrics" for name in (
        "expected_calibration_error", "classwise_ece", "maximum_calibration_error", "brier_score",
        "negative_log_likelihood", "correctness_auroc", "accuracy", "per_class_accuracy", "calibration_metrics",
        "bootstrap_ci", "reliability_curve", "reliability_diagram", "confidence_histogram")},
    **{name: "trust.calibration.baselines" for name in (
        "TemperatureScaling", "VectorScaling", "HistogramBinning", "IsotonicCalibrator", "softmax")},
    "CorrectnessAwareCalibrator": "trust.calibration.ca",
    "view_logits": "trust.calibration.ca",
    "default_views": "trust.calibration.ca",
    "save_calibrator": "trust.calibration.persist",
    "load_calibrator": "trust.calibration.persist",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
