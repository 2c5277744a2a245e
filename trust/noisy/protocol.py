"""The evaluation protocol for noisy labels on long-tailed data, shared by the stage and the benchmark.

- :func:`noisy_long_tail`: from a (clean, balanced) training pool, a long-tailed subsample
  (:func:`trust.data.labels.long_tail`, imbalance ratio ``rho``: class ``c`` keeps
  ``n_max * rho^(-c / (K - 1))`` rows) whose labels are then corrupted
  (:func:`trust.data.labels.add_label_noise`: ``"symmetric"`` or ``"proportional"``, the
  class-size-proportional noise RCAL's theory assumes) at ``noise_rate`` in ``[0, 1)``.
- :func:`class_groups`: head / medium / tail classes by clean training count: the largest
  ``round(0.3 K)`` classes are head, the smallest ``round(0.3 K)`` tail, the rest medium (for
  K = 10: 3 / 4 / 3, the usual split for CIFAR-10-LT).
- :func:`evaluate`: overall, head, medium and tail accuracy (means of the per-class accuracies of
  the group, on a balanced clean test set) and top-label ECE (:mod:`trust.metrics`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from trust._validation import check_labels, check_scalar
from trust.data.labels import add_label_noise, long_tail
from trust.metrics import expected_calibration_error, per_class_accuracy


@dataclasses.dataclass(frozen=True)
class NoisySet:
    """A noisy long-tailed training set: ``index`` into the pool, ``y_noisy``, ``y_clean``, clean counts."""

    index: np.ndarray
    y_noisy: np.ndarray
    y_clean: np.ndarray
    counts: np.ndarray

    @property
    def noisy_share(self) -> float:
        return float(np.mean(self.y_noisy != self.y_clean))


def noisy_long_tail(y: Any, *, imbalance_ratio: float, noise_rate: float, noise_kind: str = "symmetric",
                    random_state: Any = 0) -> NoisySet:
    """A seeded long-tailed subsample of labels ``y`` with label noise (module docstring).

    Raises:
        ConfigError: ``noise_rate`` outside ``[0, 1)`` or ``imbalance_ratio < 1``.
    """
    labels = check_labels(y)
    rate = check_scalar(noise_rate, "noise_rate", float, min_val=0.0, max_val=1.0, include_boundaries="left")
    lt = long_tail(labels, imbalance_ratio, random_state=random_state)
    K = int(labels.max()) + 1
    noise = add_label_noise(lt.y, rate, kind=noise_kind, n_classes=K, random_state=random_state)
    return NoisySet(lt.index, noise.y, lt.y, np.bincount(lt.y, minlength=K))


def class_groups(counts: Any) -> dict[str, np.ndarray]:
    """``{"head", "medium", "tail"}`` -> class indices, by ``counts`` (largest first)."""
    counts = np.asarray(counts)
    K = len(counts)
    order = np.argsort(-counts, kind="stable")
    k = max(1, int(round(0.3 * K)))
    return {"head": np.sort(order[:k]), "medium": np.sort(order[k:K - k]), "tail": np.sort(order[K - k:])}


def evaluate(y_true: Any, proba: Any, groups: dict[str, np.ndarray]) -> dict[str, Any]:
    """``{"accuracy", "head", "medium", "tail", "ece", "per_class"}`` of ``proba`` on a clean test set."""
    pc = per_class_accuracy(y_true, proba)
    P = np.asarray(proba)
    out = {"accuracy": float(np.mean(P.argmax(axis=1) == np.asarray(y_true))),
           "ece": expected_calibration_error(y_true, P), "per_class": pc.tolist()}
    for g, cls in groups.items():
        out[g] = float(np.nanmean(pc[cls])) if len(cls) else float("nan")
    return out


__all__ = ["NoisySet", "noisy_long_tail", "class_groups", "evaluate"]


def make_method(name: str, network: str, settings: dict[str, Any], *, n_classes: int, random_state: int,
                device: str = "cpu"):
    """The estimator ``name`` (``"rcal"`` or a :data:`trust.noisy.baselines.METHODS` entry) with ``settings``."""
    from trust._validation import check_option
    from trust.errors import ConfigError
    from trust.noisy.baselines import METHODS, NoisyLabelBaseline
    from trust.noisy.rcal import RCALClassifier

    check_option(name, "method", ("rcal",) + METHODS)
    try:
        if name == "rcal":
            return RCALClassifier(network, **settings, n_classes=n_classes, device=device, random_state=random_state)
        return NoisyLabelBaseline(name, network=network, **settings, n_classes=n_classes, device=device,
                                  random_state=random_state)
    except TypeError as e:
        raise ConfigError(f"unknown setting for method '{name}' ({str(e).split('argument')[-1].strip()})") from None


def run_setting(X_pool: Any, y_pool: Any, X_test: Any, y_test: Any, *, network: str, imbalance_ratio: float,
                noise_rate: float, noise_kind: str, methods: dict[str, dict[str, Any]], seed: int = 0,
                device: str = "cpu") -> dict[str, Any]:
    """Every method of ``methods`` (name -> settings) on one noisy long-tailed set drawn from the pool with ``seed``.

    Returns ``{"noisy_share", "counts", "groups", "methods": {name: evaluate(...) | {"seconds"}}, "models"}``.
    """
    import time

    ns = noisy_long_tail(y_pool, imbalance_ratio=imbalance_ratio, noise_rate=noise_rate, noise_kind=noise_kind,
                         random_state=seed)
    X_train = np.asarray(X_pool)[ns.index]
    K = len(ns.counts)
    groups = class_groups(ns.counts)
    out: dict[str, Any] = {"noisy_share": ns.noisy_share, "counts": ns.counts.tolist(),
                           "groups": {g: v.tolist() for g, v in groups.items()}, "methods": {}, "models": {}}
    for name, settings in methods.items():
        est = make_method(name, network, dict(settings), n_classes=K, random_state=seed, device=device)
        t0 = time.perf_counter()
        est.fit(X_train, ns.y_noisy)
        seconds = time.perf_counter() - t0
        out["methods"][name] = {**evaluate(y_test, est.predict_proba(X_test), groups), "seconds": seconds}
        out["models"][name] = est
    out["train"] = (X_train, ns.y_noisy, ns.y_clean)
    return out


__all__ += ["make_method", "run_setting"]
