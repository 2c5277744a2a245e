"""Machine unlearning (capability ``unlearn``): remove a class's (or some rows') influence from a fitted model,
and certify it against a model retrained without them.

>>> from trust.unlearn import UnlearnInputs, run_unlearn
>>> inputs = UnlearnInputs.for_class(model, X_train, y_train, forget_class=3, test=(X_test, y_test))  # doctest: +SKIP
>>> result = run_unlearn(inputs, method="concept")        # or method="laf"              # doctest: +SKIP
>>> print(result.certificate.summary())                                                 # doctest: +SKIP

- :func:`run_unlearn` / :class:`UnlearnInputs` / :class:`UnlearnResult` (:mod:`trust.unlearn.protocol`): the
  one protocol the stages ``unlearn_concept`` / ``unlearn_laf``, ``trust unlearn ...`` and the benchmarks call.
- :func:`certify` (:mod:`trust.unlearn.certificate`): the certificate of any model that claims to have forgotten
  some rows: accuracies, the within-class loss attack and a per-example likelihood-ratio test against shadow
  models, each beside a retrained model's, with the original model and a second retrained model as controls.
- :mod:`trust.unlearn.membership`: the membership tests themselves.
- :class:`ConceptUnlearner` (:mod:`trust.unlearn.concept`): concept-based class unlearning (CAVs, a post-hoc
  concept bottleneck, Integrated Gradients, a donor class, label poisoning); :func:`digit_concepts`.
- :class:`LabelAgnosticForgetting` (:mod:`trust.unlearn.laf`): label-free unlearning (LAF) and LAF+R.
- :class:`BaselineUnlearner` (:mod:`trust.unlearn.baselines`): retrain, fine-tune, gradient ascent, random
  labels, donor flip.
- :func:`relearn_epochs` (:mod:`trust.unlearn.metrics`); :func:`finetune` (:mod:`trust.unlearn.tuning`).
- :mod:`trust.unlearn.report_section`: the report's "Unlearning" section (evidence kind ``unlearn``).

Names are imported lazily (torch loads only when a model is used).
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_EXPORTS = {
    "run_unlearn": "trust.unlearn.protocol",
    "UnlearnInputs": "trust.unlearn.protocol",
    "UnlearnResult": "trust.unlearn.protocol",
    "certify": "trust.unlearn.certificate",
    "Certificate": "trust.unlearn.certificate",
    "CERTIFICATE_SCHEMA": "trust.unlearn.schema",
    "DEFAULT_POLICY": "trust.unlearn.certificate",
    "fit_shadows": "trust.unlearn.membership",
    "relearn_epochs": "trust.unlearn.metrics",
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
