"""Shared models for the capabilities: networks with ``embed`` + ``head``, one training loop, a classifier, views.

- :class:`NeuralClassifier` (:mod:`trust.models.classifier`): the scikit-learn-style classifier every
  capability trains, adapts or compares against (``"mlp"``, ``"cnn"``, ``"cnn1d"`` or an ``nn.Module``).
- :func:`fit_torch` (:mod:`trust.models.training`): the one minibatch training loop.
- :mod:`trust.models.networks`: :class:`MLP`, :class:`CNN`, :class:`CNN1d` (all :class:`EmbedHead`).
- :mod:`trust.models.views`: seeded input transforms (:class:`ImageView`, :class:`SignalView`, :class:`TableView`).
- :mod:`trust.models.metrics`: accuracy per class, NLL, ECE of a model's outputs.
"""

from trust.models.classifier import NeuralClassifier
from trust.models.metrics import classification_summary, expected_calibration_error, negative_log_likelihood, per_class_accuracy
from trust.models.networks import CNN, MLP, NETWORKS, CNN1d, EmbedHead, build_network
from trust.models.training import Callback, FitHistory, fit_torch, resolve_device
from trust.models.views import ImageView, SignalView, TableView, View, make_view

__all__ = [
    "NeuralClassifier", "fit_torch", "Callback", "FitHistory", "resolve_device",
    "NETWORKS", "EmbedHead", "MLP", "CNN", "CNN1d", "build_network",
    "View", "ImageView", "SignalView", "TableView", "make_view",
    "per_class_accuracy", "negative_log_likelihood", "expected_calibration_error", "classification_summary",
]
