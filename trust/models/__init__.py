"""Shared models for the capabilities: networks with ``embed`` + ``head``, one training loop, a classifier, views.

>>> from trust.data import load_array_dataset
>>> from trust.models import NeuralClassifier
>>> ds = load_array_dataset("digits")
>>> clf = NeuralClassifier("cnn", epochs=1, random_state=0).fit(ds.X, ds.y)
>>> clf.predict_proba(ds.X[:3]).shape, clf.decision_function(ds.X[:3]).shape, clf.embed(ds.X[:3]).shape
((3, 10), (3, 10), (3, 128))

- :class:`NeuralClassifier` (:mod:`trust.models.classifier`): the scikit-learn-style classifier every
  capability trains, adapts or compares against (``"mlp"``, ``"cnn"``, ``"cnn1d"`` or an ``nn.Module``).
- :func:`fit_torch` (:mod:`trust.models.training`): the one minibatch training loop.
- :mod:`trust.models.networks`: :class:`MLP`, :class:`CNN`, :class:`CNN1d` (all :class:`EmbedHead`).
- :mod:`trust.models.views`: seeded input transforms (:class:`ImageView`, :class:`SignalView`, :class:`TableView`).
- metrics of a model's outputs (accuracy per class, NLL, ECE) are in :mod:`trust.metrics`.
- :func:`run_train` (:mod:`trust.models.protocol`): fit on fixed splits; a :class:`TrainResult` with the logits,
  figures and model card, which saves itself and writes its evidence (the ``train`` stage, ``trust models train``).

Names are imported lazily (torch loads only when a model is used; the report's Models section does not need it).
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_EXPORTS = {
    "NeuralClassifier": "trust.models.classifier",
    "fit_torch": "trust.models.training",
    "Callback": "trust.models.training",
    "FitHistory": "trust.models.training",
    "resolve_device": "trust.models.training",
    "NETWORKS": "trust.models.networks",
    "EmbedHead": "trust.models.networks",
    "MLP": "trust.models.networks",
    "CNN": "trust.models.networks",
    "CNN1d": "trust.models.networks",
    "build_network": "trust.models.networks",
    "View": "trust.models.views",
    "ImageView": "trust.models.views",
    "SignalView": "trust.models.views",
    "TableView": "trust.models.views",
    "make_view": "trust.models.views",
    "TrainResult": "trust.models.protocol",
    "run_train": "trust.models.protocol",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = list(_EXPORTS)
