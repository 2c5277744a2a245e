"""Private tabular synthesis: CTAB-GAN+ trained with DP-SGD and the marginal engine (MST, AIM) (the
capability ``synth``).

- :class:`CTABGANPlus` (:mod:`trust.synth.model`): the estimator, ``fit`` / ``sample`` / ``save`` / ``load`` /
  ``privacy_report``; its settings :class:`SynthSettings`; its training steps :class:`Trainer`.
- :func:`run_synth` and :func:`run_synth_evaluate` (:mod:`trust.synth.protocol`): fit and release a synthetic
  table (:class:`SynthResult`), and evaluate synthetic tables (:class:`SynthEvaluateResult`); the stages
  ``synth`` and ``synth_evaluate``, the command ``trust synth`` and the benchmarks call them.
- The privacy plan (:mod:`trust.synth.plan`), the DP histogram release (:mod:`trust.synth.dp_metadata`), the
  data transformer (:mod:`trust.synth.transformer`, per-column state in :mod:`trust.synth.columns`), the
  evaluation metrics (:mod:`trust.synth.evaluate`), the report section (:mod:`trust.synth.report_section`).
- :class:`MarginalSynthesizer` (:mod:`trust.synth.marginal`): MST and AIM on Private-PGM (mbi), one zCDP budget;
  :func:`create` (:mod:`trust.synth.engines`): ``create(engine="auto"|"ctabgan"|"aim"|"mst", **settings)``, the
  ``auto`` rule; ``run_synth(..., engine=...)`` fits either engine through the same protocol.

>>> from trust.synth import CTABGANPlus
>>> CTABGANPlus(epsilon=3.0).privacy_settings().epsilon
3.0

Names are imported lazily (torch loads only when the model is used).
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_EXPORTS = {
    "CTABGANPlus": "trust.synth.model",
    "MarginalSynthesizer": "trust.synth.marginal.model",
    "create": "trust.synth.engines",
    "Synthesizer": "trust.synth.engines",
    "CondSampler": "trust.synth.sampler",
    "MLPGenerator": "trust.synth.networks",
    "MLPCritic": "trust.synth.networks",
    "ConvGenerator": "trust.synth.networks",
    "ConvCritic": "trust.synth.networks",
    "Auxiliary": "trust.synth.networks",
    "critic_per_sample_grads": "trust.synth.trainer",
    "PrivacyPlan": "trust.synth.plan",
    "PrivacySettings": "trust.synth.plan",
    "SynthSettings": "trust.synth.settings",
    "Trainer": "trust.synth.training",
    "plan_privacy": "trust.synth.plan",
    "DataTransformer": "trust.synth.transformer",
    "Span": "trust.synth.transformer",
    "CondBlock": "trust.synth.transformer",
    "release_histograms": "trust.synth.dp_metadata",
    "HistogramRelease": "trust.synth.dp_metadata",
    "evaluate_synthetic": "trust.synth.evaluate",
    "run_synth": "trust.synth.protocol",
    "run_synth_evaluate": "trust.synth.protocol",
    "SynthResult": "trust.synth.protocol",
    "SynthEvaluateResult": "trust.synth.protocol",
    "ml_utility": "trust.synth.evaluate",
    "fidelity": "trust.synth.evaluate",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
