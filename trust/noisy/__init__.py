"""Noisy labels on long-tailed data: RCAL (representation calibration) and the baselines users would otherwise use.

>>> from trust.noisy import RCALClassifier
>>> rcal = RCALClassifier("cnn", random_state=0).fit(X_train, y_noisy)
>>> rcal.predict_proba(X_test), rcal.class_means_, rcal.class_covariances_

- :class:`RCALClassifier` (:mod:`trust.noisy.rcal`): contrastive encoder, recovered class
  distributions, classifier trained on real and sampled representations (Zhang et al., ICCV 2023).
- :func:`recover_class_distributions` (:mod:`trust.noisy.recovery`): the recovery step on arrays.
- :func:`train_contrastive` (:mod:`trust.noisy.contrastive`): SimCLR through the shared loop.
- :class:`NoisyLabelBaseline`, :func:`find_label_issues` (:mod:`trust.noisy.baselines`): cross-entropy,
  logit adjustment, class-balanced loss, confident learning (implemented here; no cleanlab).
- :mod:`trust.noisy.protocol`: noisy long-tailed sets, head / medium / tail accuracy, ECE.

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
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
