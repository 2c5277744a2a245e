"""The protocol for noisy labels on long-tailed data: ``run_noisy(...) -> NoisyResult`` (the ``noisy`` stage,
``trust noisy fit`` and ``benchmarks/noisy_labels.py`` all call it), and its pieces.

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
- :func:`run_noisy`: every method of ``methods`` trained on the same (noisy) training rows and scored
  on the same clean test rows. With ``corrupt`` the training set is first drawn from a clean pool by
  :func:`noisy_long_tail` (the clean labels are then known: the share of wrong labels, the oracle
  control); without it the labels are used as given. A method's settings may name its estimator
  (``{"method": "rcal", ...}``: variants under other names, e.g. ``rcal_no_mixup``) and, for RCAL,
  ``oracle: true``: stage 2 estimated from the *clean* labels (``RCALClassifier.fit(...,
  statistics_labels=y_clean)``), the control that shows what distribution recovery could give at best.

The result gates RCAL (``primary``) against plain cross-entropy training on the same rows
(``baseline``): its test accuracy (``policy.min_noisy_accuracy_gain_over_ce``) and its tail-class
accuracy (``policy.min_noisy_tail_gain_over_ce``), each a difference in accuracy. The comparison of
tail and head gains (the paper's claim) is reported, not gated: one seed cannot read it
(``benchmarks/README.md`` measures it over 5 seeds).
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from trust._validation import check_labels, check_option, check_scalar
from trust.data.labels import add_label_noise, long_tail
from trust.errors import ConfigError
from trust.evidence import Check, Evidence, Plot, Result, gate, save_figure
from trust.metrics import expected_calibration_error, per_class_accuracy
from trust.noisy.schema import NOISY_SCHEMA


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



#: names of the methods in figures and the report (variants keep their own names)
LABELS = {"ce": "cross-entropy", "rcal": "RCAL", "logit_adjusted": "logit adjustment",
          "class_balanced": "class-balanced loss", "confident_learning": "confident learning",
          "rcal_no_mixup": "RCAL without mixup (mixup_alpha=0, the calibrated variant)",
          "rcal_oracle": "RCAL, oracle statistics (clean labels in stage 2: a control)"}
_FIGS = ("accuracy", "head", "medium", "tail", "ece")


def make_method(name: str, network: str, settings: Mapping[str, Any], *, n_classes: int, random_state: int,
                device: str = "auto"):
    """The estimator ``name`` (``"rcal"`` or a :data:`trust.noisy.baselines.METHODS` entry) with ``settings``."""
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


@dataclasses.dataclass(frozen=True)
class NoisyResult(Result):
    """What :func:`run_noisy` returns: each method's figures on the clean test set (``figures[method]``: accuracy,
    head / medium / tail accuracy, ECE, per-class accuracy, seconds), the fitted ``models``, the training set's
    class ``counts`` and ``groups``, and what RCAL recovered (``recovery``: representations of the training rows,
    their labels and the recovered means, for the plot)."""

    kind: ClassVar[str] = "noisy"

    setting: str
    dataset: str
    figures: Mapping[str, Mapping[str, Any]]
    models: Mapping[str, Any]
    counts: tuple[int, ...]
    groups: Mapping[str, tuple[int, ...]]
    noisy_share: float | None = None
    corruption: Mapping[str, Any] | None = None
    primary: str = "rcal"
    baseline: str = "ce"
    recovery: Mapping[str, np.ndarray] | None = None
    diagnostics: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def gain(self, figure: str = "accuracy") -> float | None:
        """The primary method's ``figure`` minus the baseline's (None when either is missing)."""
        a, b = self.figures.get(self.primary, {}).get(figure), self.figures.get(self.baseline, {}).get(figure)
        return None if a is None or b is None else float(a) - float(b)

    def _checks(self, policy: Mapping[str, Any] | None) -> list[Check]:
        p, b = self.figures.get(self.primary, {}), self.figures.get(self.baseline, {})
        who, ref = LABELS.get(self.primary, self.primary), f"{LABELS.get(self.baseline, self.baseline)} on the same noisy rows"
        return [
            gate(f"{self.setting}: test accuracy of {who}", p.get("accuracy"), policy, "min_noisy_accuracy_gain_over_ce",
                 reference=ref, reference_figure=b.get("accuracy"), relation="difference",
                 description="accuracy on the balanced clean test set; the gain over plain training on the same noisy "
                             "long-tailed rows must reach the threshold"),
            gate(f"{self.setting}: tail-class test accuracy of {who}", p.get("tail"), policy,
                 "min_noisy_tail_gain_over_ce", reference=ref, reference_figure=b.get("tail"), relation="difference",
                 description="mean accuracy of the tail classes (the 30 % with the fewest clean training rows)"),
            Check.relative(f"{self.setting}: {who}'s tail-class gain over {LABELS.get(self.baseline, self.baseline)}",
                           self.gain("tail"), self.gain("head"), reference="its head-class gain", relation="difference",
                           description="the paper's claim (the gain is larger on tail classes); reported, not gated: "
                                       "one seed cannot read it (benchmarks/README.md: 5 seeds)"),
        ]

    def _details(self) -> dict[str, Any]:
        figs = {m: {"label": LABELS.get(m, m), **{k: _finite(f.get(k)) for k in (*_FIGS, "seconds")},
                    "per_class": [_finite(v) for v in f.get("per_class", [])]} for m, f in self.figures.items()}
        out = {"setting": self.setting, "dataset": self.dataset, "primary": self.primary, "baseline": self.baseline,
               "corruption": dict(self.corruption) if self.corruption else None, "noisy_share": _finite(self.noisy_share),
               "counts": [int(c) for c in self.counts], "groups": {g: [int(c) for c in v] for g, v in self.groups.items()},
               "methods": figs, "gain_over_baseline": {k: _finite(self.gain(k)) for k in _FIGS},
               "warnings": list(self.warnings)[:10]}
        if self.diagnostics:
            out["rcal"] = dict(self.diagnostics)
        return out

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """Gates relative to the baseline, flat metrics (``<method>.<figure>``), details valid against
        :data:`~trust.noisy.schema.NOISY_SCHEMA`."""
        metrics = {".".join((m, k)): _finite(f.get(k)) for m, f in self.figures.items() for k in _FIGS}
        if self.noisy_share is not None:
            metrics["noisy_share"] = self.noisy_share
        title = f"Noisy labels: {self.setting}"
        return Evidence(self.kind, title=title, checks=tuple(self._checks(policy)), metrics=metrics,
                        details=self._details(), details_schema=NOISY_SCHEMA)

    def plots(self, out_dir: str | os.PathLike[str]) -> list[Plot]:
        """``per_class_accuracy.png`` and, when RCAL ran, ``recovered_means.png``."""
        from trust.noisy.plots import plot_per_class_accuracy, plot_recovered_means

        out = Path(out_dir)
        title = self._title()
        fig = plot_per_class_accuracy({LABELS.get(m, m): f["per_class"] for m, f in self.figures.items()}, self.counts, title)
        plots = [Plot(f"{title}: per-class test accuracy", str(save_figure(fig, out / "per_class_accuracy.png")))]
        if self.recovery is not None:
            r = self.recovery
            fig = plot_recovered_means(r["Z"], r["y_clean"], r["y_noisy"], r["means"], title)
            plots.append(Plot(f"{title}: recovered vs true class means (PCA of the contrastive representations)",
                              str(save_figure(fig, out / "recovered_means.png"))))
        return plots

    def _title(self) -> str:
        c = self.corruption
        return (f"{self.dataset}, imbalance {c['imbalance_ratio']:g}, {c['noise_kind']} noise {c['noise_rate']:g}"
                if c else f"{self.dataset}, labels as given")

    def save(self, out_dir: str | os.PathLike[str]) -> None:
        """The primary method's model to ``out_dir/<primary>`` (a model directory, when it has ``save``)."""
        model = self.models.get(self.primary)
        if model is not None and callable(getattr(model, "save", None)):
            model.save(Path(out_dir) / self.primary)


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _training_set(X: Any, y: Any, corrupt: Mapping[str, Any] | None, random_state: Any):
    """``(X_train, y_noisy, y_clean or None, corruption)``: the rows the methods train on."""
    if corrupt is None:
        return np.asarray(X), check_labels(y, len(X)), None, None
    unknown = set(corrupt) - {"imbalance_ratio", "noise_rate", "noise_kind"}
    if unknown:
        raise ConfigError(f"corrupt has unknown key(s) {sorted(unknown)}; use imbalance_ratio, noise_rate, noise_kind")
    spec = {"imbalance_ratio": float(corrupt.get("imbalance_ratio", 1.0)), "noise_rate": float(corrupt.get("noise_rate", 0.0)),
            "noise_kind": str(corrupt.get("noise_kind", "symmetric"))}
    ns = noisy_long_tail(y, random_state=random_state, **spec)
    return np.asarray(X)[ns.index], ns.y_noisy, ns.y_clean, spec


def _fit_one(name: str, settings: Mapping[str, Any], network: str, X: np.ndarray, y: np.ndarray, y_clean: Any, K: int,
             random_state: int, device: str):
    """``(estimator, seconds)``: one method fitted (``settings`` may name its estimator and ask for the oracle)."""
    settings = dict(settings or {})
    method = settings.pop("method", name)
    oracle = bool(settings.pop("oracle", False))
    est = make_method(method, network, settings, n_classes=K, random_state=random_state, device=device)
    if oracle and (method != "rcal" or y_clean is None):
        raise ConfigError(f"method '{name}': oracle=true needs RCAL and known clean labels (run_noisy(..., corrupt=...))")
    t0 = time.perf_counter()
    est.fit(X, y, statistics_labels=y_clean) if oracle else est.fit(X, y)
    return est, time.perf_counter() - t0


def run_noisy(X_train: Any, y_train: Any, X_test: Any, y_test: Any, *,
              methods: Mapping[str, Mapping[str, Any] | None] | None = None, network: str | None = None,
              corrupt: Mapping[str, Any] | None = None, primary: str = "rcal", baseline: str = "ce",
              setting: str = "data", dataset: str | None = None, random_state: int = 0,
              device: str = "auto") -> NoisyResult:
    """Train every method on the same (noisy) training rows and score it on the clean test rows (module docstring).

    Args:
        X_train, y_train: the training rows and their labels (with ``corrupt``: a clean pool to draw from).
        X_test, y_test: the clean test rows.
        methods: name -> settings (default: ``{"ce": {}, "rcal": {}}``).
        network: ``"cnn"``, ``"cnn1d"`` or ``"mlp"`` (None: from the rows' shape, as ``trust noisy fit``).
        corrupt: ``{"imbalance_ratio", "noise_rate", "noise_kind"}``: draw a noisy long-tailed training set first.
        primary, baseline: the method gated and the one it is gated against.
        setting, dataset: names the figures carry.
        random_state: seed of the draw and of every method; device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """
    from trust.data.arrays import infer_kind
    from trust.noisy.rcal import NETWORK_FOR_KIND

    methods = dict(methods if methods is not None else {"ce": {}, "rcal": {}})
    check_scalar(random_state, "random_state", int, min_val=0)
    X, y, y_clean, spec = _training_set(X_train, y_train, corrupt, random_state)
    network = network or NETWORK_FOR_KIND[infer_kind(np.asarray(X))]
    y_test = check_labels(y_test, len(X_test))
    K = int(max(y.max(), y_test.max())) + 1
    counts = np.bincount(y_clean if y_clean is not None else y, minlength=K)
    groups = class_groups(counts)
    figures, models = {}, {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, settings in methods.items():
            est, seconds = _fit_one(name, settings or {}, network, X, y, y_clean, K, random_state, device)
            figures[name] = {**evaluate(y_test, est.predict_proba(X_test), groups), "seconds": seconds}
            models[name] = est
    messages = tuple(sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)}))
    for m in messages:
        warnings.warn(m, UserWarning, stacklevel=2)
    rcal = models.get(primary) if primary in models and hasattr(models.get(primary), "distributions_") else None
    recovery = diagnostics = None
    if rcal is not None:
        recovery = {"Z": rcal.contrastive_embed(X), "y_clean": y_clean if y_clean is not None else y, "y_noisy": y,
                    "means": rcal.class_means_}
        d = rcal.distributions_
        diagnostics = {"lof_kept_per_class": d.counts.tolist(), "fallbacks": list(d.fallbacks),
                       "borrowed_from": {str(k): v for k, v in d.borrowed_from.items()}, "sampled": rcal.n_sampled_}
    share = float(np.mean(y != y_clean)) if y_clean is not None else None
    return NoisyResult(setting, dataset or setting, figures, models, tuple(int(c) for c in counts),
                       {g: tuple(int(c) for c in v) for g, v in groups.items()}, share, spec, primary, baseline,
                       recovery, diagnostics or {}, messages)


__all__ = ["NoisySet", "noisy_long_tail", "class_groups", "evaluate", "LABELS", "make_method", "NoisyResult", "run_noisy"]
