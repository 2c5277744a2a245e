"""Calibration correction: post-hoc baselines, the correctness-aware (CA) calibrator, the protocol that
chooses, scores and gates them.

Usage (a sketch: ``val_logits``, ``model``, ``X_val``... stand for your own objects; the README's
calibration section runs end to end)::

    from trust.calibrate import TemperatureScaling, CorrectnessAwareCalibrator, Calibrator, view_logits
    ts = TemperatureScaling().fit(val_logits, val_y); ts.predict_proba(test_logits)
    V = view_logits(model, X_val)                       # (n_views, n, K): the model on transformed views
    ca = CorrectnessAwareCalibrator().fit(val_logits, val_y, V)
    ca.predict_proba(test_logits, view_logits(model, X_test)); ca.save("cal/"); Calibrator.load("cal/")
    result = run_calibrate(EvalSet(X_val, y_val), {"in_distribution": EvalSet(X_test, y_test)}, model=model)
    result.deployed, result.ece, result.to_evidence(policy)

- :mod:`trust.metrics` (below every capability): ECE (equal-width / equal-mass), class-wise ECE, MCE,
  Brier, NLL, correct-vs-wrong AUROC, bootstrap intervals; labels first.
- :mod:`trust.calibrate.base`: :class:`Calibrator`, the base of every calibrator (one call shape,
  ``save(path)`` / ``Calibrator.load(path)``).
- :mod:`trust.calibrate.baselines`: :class:`TemperatureScaling`, :class:`VectorScaling`,
  :class:`HistogramBinning`, :class:`IsotonicCalibrator`.
- :mod:`trust.calibrate.ca`: :class:`CorrectnessAwareCalibrator` (the paper's loss, its ablations, and our
  prior-corrected variant) and :func:`view_logits`.
- :mod:`trust.calibrate.selection`: :func:`select_calibrator`, the documented rule that picks the deployed
  calibrator on the validation split.
- :mod:`trust.calibrate.experiments`: the methods by name, :class:`EvalSet`, shifted sets, summaries over seeds.
- :mod:`trust.calibrate.protocol`: :func:`run_calibrate` -> :class:`CalibrateResult` (evidence, plots, save).
- :mod:`trust.calibrate.plots`: reliability diagrams, confidence histograms, ECE against shift.

Names load lazily (torch only when the CA calibrator or views are used).
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_EXPORTS = {
    "reliability_diagram": "trust.calibrate.plots",
    "confidence_histogram": "trust.calibrate.plots",
    "Calibrator": "trust.calibrate.base",
    **{name: "trust.calibrate.baselines" for name in (
        "TemperatureScaling", "VectorScaling", "HistogramBinning", "IsotonicCalibrator", "softmax")},
    "CorrectnessAwareCalibrator": "trust.calibrate.ca",
    "view_logits": "trust.calibrate.ca",
    "default_views": "trust.calibrate.ca",
    "select_calibrator": "trust.calibrate.selection",
    "EvalSet": "trust.calibrate.experiments",
    "shifted_sets": "trust.calibrate.experiments",
    "run_calibrate": "trust.calibrate.protocol",
    "CalibrateResult": "trust.calibrate.protocol",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
