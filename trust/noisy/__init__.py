"""Noisy labels on long-tailed data: RCAL (representation calibration) and the baselines users would otherwise use.

Usage (a sketch: ``X_train``... stand for your own arrays; the README's noisy-label section runs end to end)::

    from trust.noisy import RCALClassifier, run_noisy
    rcal = RCALClassifier("cnn", random_state=0).fit(X_train, y_noisy)
    rcal.predict_proba(X_test), rcal.class_means_, rcal.class_covariances_
    result = run_noisy(X_train, y_noisy, X_test, y_test)      # RCAL beside cross-entropy on the same rows
    result.figures["rcal"]["accuracy"], result.to_evidence(policy)

- :class:`RCALClassifier` (:mod:`trust.noisy.rcal`): contrastive encoder, recovered class
  distributions, classifier trained on real and sampled representations (Zhang et al., ICCV 2023).
- :func:`recover_class_distributions` (:mod:`trust.noisy.recovery`): the recovery step on arrays.
- :func:`train_contrastive` (:mod:`trust.noisy.contrastive`): SimCLR through the shared loop.
- :class:`NoisyLabelBaseline`, :func:`find_label_issues` (:mod:`trust.noisy.baselines`): cross-entropy,
  logit adjustment, class-balanced loss, confident learning (implemented here; no cleanlab).
- :func:`run_noisy` -> :class:`NoisyResult` (:mod:`trust.noisy.protocol`): the protocol (methods on the
  same noisy long-tailed rows, head / medium / tail accuracy, ECE, gates relative to cross-entropy).

Names are imported lazily (torch loads only when used).
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_EXPORTS = {
    "RCALClassifier": "trust.noisy.rcal",
    "recover_class_distributions": "trust.noisy.recovery",
    "ClassDistributions": "trust.noisy.recovery",
    "RecoveryWarning": "trust.noisy.recovery",
    "lof_inliers": "trust.noisy.recovery",
    "train_contrastive": "trust.noisy.contrastive",
    "nt_xent": "trust.noisy.contrastive",
    "NoisyLabelBaseline": "trust.noisy.baselines",
    "find_label_issues": "trust.noisy.baselines",
    "noisy_long_tail": "trust.noisy.protocol",
    "class_groups": "trust.noisy.protocol",
    "evaluate": "trust.noisy.protocol",
    "run_noisy": "trust.noisy.protocol",
    "NoisyResult": "trust.noisy.protocol",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
