"""Private tabular synthesis: CTAB-GAN+ trained with DP-SGD, the marginal engine (AIM, MST), ``create(engine=...)``.

>>> from trust.synth import CTABGANPlus
>>> model = CTABGANPlus(epochs=150, epsilon=3.0, delta=1e-5, random_state=0).fit(df, schema)
>>> synthetic = model.sample(len(df))
>>> model.privacy_report()["sentences"]

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
    "plan_privacy": "trust.synth.plan",
    "DataTransformer": "trust.synth.transformer",
    "Span": "trust.synth.transformer",
    "CondBlock": "trust.synth.transformer",
    "release_histograms": "trust.synth.dp_metadata",
    "HistogramRelease": "trust.synth.dp_metadata",
    "evaluate_synthetic": "trust.synth.evaluate",
    "ml_utility": "trust.synth.evaluate",
    "fidelity": "trust.synth.evaluate",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
