"""Calibration correction: metrics, post-hoc baselines and the correctness-aware (CA) calibrator.

>>> from trust.calibrate import TemperatureScaling, CorrectnessAwareCalibrator, view_logits
>>> ts = TemperatureScaling().fit(val_logits, val_y); ts.predict_proba(test_logits)
>>> V = view_logits(model, X_val)                       # (n_views, n, K): the model on transformed views
>>> ca = CorrectnessAwareCalibrator().fit(val_logits, val_y, V)
>>> ca.predict_proba(test_logits, view_logits(model, X_test))

- :mod:`trust.metrics` (below every capability): ECE (equal-width / equal-mass), class-wise ECE, MCE,
  Brier, NLL, correct-vs-wrong AUROC, bootstrap intervals; labels first.
- :mod:`trust.calibrate.plots`: reliability diagrams and confidence histograms.
- :mod:`trust.calibrate.baselines`: :class:`TemperatureScaling`, :class:`VectorScaling`,
  :class:`HistogramBinning`, :class:`IsotonicCalibrator` (``fit(logits, labels)`` / ``predict_proba`` / ``transform``).
- :mod:`trust.calibrate.ca`: :class:`CorrectnessAwareCalibrator` and :func:`view_logits`.
- :mod:`trust.calibrate.experiments`: the protocol (in distribution and under shift, several seeds).
- :mod:`trust.calibrate.persist`: :func:`save_calibrator` / :func:`load_calibrator` (a model directory).

Names load lazily (torch only when the CA calibrator or views are used).
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_EXPORTS = {
    "reliability_diagram": "trust.calibrate.plots",
    "confidence_histogram": "trust.calibrate.plots",
    **{name: "trust.calibrate.baselines" for name in (
        "TemperatureScaling", "VectorScaling", "HistogramBinning", "IsotonicCalibrator", "softmax")},
    "CorrectnessAwareCalibrator": "trust.calibrate.ca",
    "view_logits": "trust.calibrate.ca",
    "default_views": "trust.calibrate.ca",
    "save_calibrator": "trust.calibrate.persist",
    "load_calibrator": "trust.calibrate.persist",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
