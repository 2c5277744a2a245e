"""Machine unlearning: remove a class's (or some rows') influence from a fitted model, and show it is gone.

>>> from trust.unlearn import evaluate_unlearning
>>> figures = evaluate_unlearning(unlearned, retrained, forget=(Xf, yf), retain=(Xr, yr), test=(Xt, yt),
...                               forget_class=3)

- :class:`ConceptUnlearner` (:mod:`trust.unlearn.concept`): concept-based class unlearning (CAVs, a post-hoc
  concept bottleneck, Integrated Gradients, a donor class, label poisoning); :func:`digit_concepts`, the
  bundled class-by-concept matrix of the digits.
- :class:`BaselineUnlearner` (:mod:`trust.unlearn.baselines`): retrain from scratch, fine-tune on the retained
  rows, gradient ascent, random labels, donor flip without concepts.
- :mod:`trust.unlearn.metrics`: :func:`evaluate_unlearning` (every figure beside a model retrained without
  the forgotten data), the unlearning certificate and its policy checks.
- :mod:`trust.unlearn.tuning`: :func:`finetune`, a fine-tuned copy of a fitted classifier (frozen layers).
- :mod:`trust.unlearn.report_section`: the report's "Unlearning" section (evidence kind ``unlearning``).

Names are imported lazily (torch loads only when a model is used).
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_EXPORTS = {
    "evaluate_unlearning": "trust.unlearn.metrics",
    "membership_rate": "trust.unlearn.metrics",
    "relearn_epochs": "trust.unlearn.metrics",
    "unlearning_certificate": "trust.unlearn.metrics",
    "certificate_checks": "trust.unlearn.metrics",
    "certificate_figures": "trust.unlearn.metrics",
    "finetune": "trust.unlearn.tuning",
    "ConceptUnlearner": "trust.unlearn.concept",
    "BaselineUnlearner": "trust.unlearn.baselines",
    "retrain_without": "trust.unlearn.baselines",
    "digit_concepts": "trust.data.concepts",
    "load_concept_matrix": "trust.data.concepts",
    "LabelAgnosticForgetting": "trust.unlearn.laf",
    "per_class_subset": "trust.unlearn.laf",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
