"""The class-incremental update protocol: one old model, every method, the same splits (:func:`run_update`).

:func:`run_update` on fixed row splits (``train``, ``val``, ``test``) of ``X, y``:

1. the old model: the one given (``old_model=``), or ``NeuralClassifier(**model)`` trained on the training rows
   of ``old_classes`` only;
2. every method on all training rows (old and new classes), from that old model: ``naive``
   (:class:`~trust.update.methods.NaiveUpdate`, the reference), ``pct`` (focal distillation as the MPT authors'
   PCT baseline: CE + focal KL at temperature 5), ``pct_lm`` (its logit-matching form, weight 0.4, as that code),
   ``pct_code`` (the PCT authors' own code's setting, :data:`~trust.update.methods.PCT_CODE`) and ``mpt``
   (:class:`~trust.update.methods.MarginPreservingUpdate`, ``b`` fixed or chosen on the validation rows), all with
   one seed (the same initial weights and batch order: the margin term at ``b = 0`` without distillation is the
   naive update bit for bit); with ``margin_only`` also the margin-calibration term alone at each ``b`` (no
   distillation: what the distillation must win back);
3. the teacher: a second naive update with its own seed, trained independently as the official code trains its
   new model; it is ``mpt``'s second teacher and the **seed
   floor**: the NFR between the two naive updates (both directions, averaged) is what retraining alone flips,
   and the teacher's own NFR against the old model over the naive update's is the ratio a method that does
   nothing gets from seed noise;
4. figures on the test rows (:func:`~trust.update.metrics.flip_summary`: flips on the old-class test rows,
   accuracy overall and on the old and new classes), and the curve over ``b`` on validation and test.

**Seeds** (:func:`protocol_seeds`): the old model, the updates and the teacher each get their own seed, drawn
from ``random_state`` by a :class:`numpy.random.SeedSequence`, never one shared: the official code trains each in
a run of its own, and a shared seed would start the old and the new networks from the same convolution weights
and batch order. (Measured on MNIST-1D seed 0, the naive update's NFR was 0.067 with the shared seed and 0.065
without: within the seed-to-seed spread, which is large: a second naive update flipped 0.093-0.128.)

The result (:class:`UpdateResult`) gates the deployed update against the naive one (``policy`` keys
``max_nfr_ratio_to_naive`` and ``min_accuracy_ratio_to_naive``), states the floor beside the gate, and warns in
one line when the deployed update is much worse than the naive one (:meth:`UpdateResult.warnings`). No file I/O
here except :meth:`UpdateResult.save` / :meth:`UpdateResult.plots` (atomic writers); the ``update`` stage,
``trust update fit`` and ``benchmarks/margin_update.py`` call it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from trust._validation import check_array, check_labels, check_scalar
from trust.data.splits import ArraySplits
from trust.errors import ConfigError, DataError
from trust.evidence import Check, Evidence, Plot, Result, gate
from trust.models.classifier import NeuralClassifier
from trust.update.methods import PCT_CODE, FocalDistillationUpdate, MarginPreservingUpdate, NaiveUpdate
from trust.update.metrics import flip_summary, seed_nfr_floor
from trust.update.schema import DETAILS_SCHEMA, FIGURE_KEYS

METHODS = ("naive", "pct", "pct_lm", "pct_code", "mpt")
DEFAULT_METHODS = ("naive", "pct", "mpt")
NAMES = {"naive": "naive update", "teacher": "naive update, another seed (mpt's teacher)",
         "pct": "focal distillation (PCT, CE + focal KL at T 5)", "pct_lm": "focal distillation (PCT, logit matching)",
         "pct_code": "focal distillation (PCT authors' code: 0.1 CE + 0.9 KL at T 100)",
         "mpt": "margin-preserving update"}
#: the deployed update's accuracy this far below the naive update's draws a warning (5 points)
WARN_ACCURACY_DROP = 0.05
#: an old model below this training accuracy underfits: added loss terms then cost accuracy
WARN_OLD_FIT = 0.95
PROTOCOL = ("old model on the training rows of the old classes (or given); every update on all training rows from "
            "that old model, all with one seed of their own; the teacher a naive update with another seed; NFR on the "
            "old-class rows of the evaluation split")


def _finite(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _figures(f: Mapping[str, float]) -> dict[str, float | None]:
    return {k: _finite(f[k]) for k in FIGURE_KEYS}


@dataclasses.dataclass(frozen=True)
class UpdateResult(Result):
    """What one run of :func:`run_update` measured (figures on ``evaluated_on`` rows) and the models it trained.

    ``models`` holds every method's model and ``"teacher"`` (the naive update with another seed); ``figures``
    the same keys; ``deployed`` names the method whose model :meth:`save` writes as ``model/``.
    """

    kind: ClassVar[str] = "update"
    dataset: str
    old_classes: tuple[int, ...]
    new_classes: tuple[int, ...]
    old_model: NeuralClassifier
    models: Mapping[str, NeuralClassifier]
    figures: Mapping[str, Mapping[str, float]]
    seed_floor_nfr: float
    curve: tuple[Mapping[str, Any], ...] = ()
    b_chosen: float | None = None
    deployed: str = "mpt"
    evaluated_on: str = "test rows"
    old_model_train_accuracy: float | None = None
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def model(self) -> NeuralClassifier:
        """The deployed update's model."""
        return self.models[self.deployed]

    def ratio_to_naive(self, key: str, method: str | None = None) -> float | None:
        """``figures[method][key] / figures["naive"][key]`` (the deployed method by default; None if undefined)."""
        f, r = self.figures[method or self.deployed][key], self.figures["naive"][key]
        return None if r == 0 or not (math.isfinite(f) and math.isfinite(r)) else float(f / r)

    def summary(self) -> str:
        """One line: the deployed update's NFR and accuracy beside the naive update's and the seed floor."""
        d, n = self.figures[self.deployed], self.figures["naive"]
        ratio = self.ratio_to_naive("nfr")
        b = f", b = {self.b_chosen:g}" if self.deployed == "mpt" and self.b_chosen is not None else ""
        return (f"{NAMES[self.deployed]}{b}: NFR {d['nfr']:.4f} "
                f"({'n/a' if ratio is None else f'{ratio:.2f}x'} naive {n['nfr']:.4f}; seed floor "
                f"{self.seed_floor_nfr:.4f}), accuracy {d['accuracy']:.4f} (naive {n['accuracy']:.4f}), new-class "
                f"accuracy {d['new_class_accuracy']:.4f} (naive {n['new_class_accuracy']:.4f}) on the {self.evaluated_on}")

    def warnings(self) -> list[str]:
        """One line per way the deployed update is much worse than the naive update, each saying what to try."""
        d, n, out = self.figures[self.deployed], self.figures["naive"], []
        drop = n["accuracy"] - d["accuracy"]
        fit = self.old_model_train_accuracy
        if drop > WARN_ACCURACY_DROP:
            tips = ["train the update longer (its added loss terms slow the fit)"]
            if self.deployed == "mpt":
                tips.insert(0, "choose b on validation (a grid, e.g. b 0 1 2 4) or a smaller b")
            if fit is not None and fit < WARN_OLD_FIT:
                tips.append(f"the old model fits its training rows at only {fit:.2f}: train it longer or at a higher "
                            "learning rate")
            out.append(f"the {NAMES[self.deployed]} is {100 * drop:.1f} accuracy points below the naive update "
                       f"({d['accuracy']:.3f} vs {n['accuracy']:.3f}): " + "; ".join(tips))
        if self.deployed != "naive" and d["nfr"] > n["nfr"]:
            out.append(f"the {NAMES[self.deployed]} flips more than the naive update (NFR {d['nfr']:.3f} vs "
                       f"{n['nfr']:.3f}, seed floor {self.seed_floor_nfr:.3f}): deploy the naive update or try b on a grid")
        return out

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """Gates relative to the naive update, the floor beside them, flat metrics and schema-checked details."""
        d, n, t = self.figures[self.deployed], self.figures["naive"], self.figures["teacher"]
        floor = (f"seed floor: two naive updates with different seeds flip {self.seed_floor_nfr:.4f} of the old-class "
                 f"rows between them; the second one's NFR is {t['nfr']:.4f}")
        who = f"{self.dataset}: " if self.dataset else ""
        checks = [
            gate(f"{who}NFR of the deployed update ({self.deployed}) relative to the naive update", d["nfr"], policy,
                 "max_nfr_ratio_to_naive", reference="naive update", reference_figure=n["nfr"],
                 description=f"negative flips on the old-class {self.evaluated_on}; {floor}"),
            gate(f"{who}accuracy of the deployed update ({self.deployed}) relative to the naive update", d["accuracy"],
                 policy, "min_accuracy_ratio_to_naive", reference="naive update", reference_figure=n["accuracy"],
                 description=f"accuracy over all classes on the {self.evaluated_on}"),
            Check.relative(f"{who}seed floor: NFR between two naive updates with different seeds", self.seed_floor_nfr,
                           n["nfr"], reference="naive update", description="what retraining alone flips (not gated)"),
            Check.relative(f"{who}a second naive update (another seed) relative to the naive update", t["nfr"], n["nfr"],
                           reference="naive update", description="the ratio a method that does nothing gets from "
                                                                 "seed noise (not gated)"),
        ]
        metrics: dict[str, float | None] = {f"{m}.{k}": _finite(f[k]) for m, f in self.figures.items() for k in FIGURE_KEYS}
        metrics.update({"seed_floor_nfr": _finite(self.seed_floor_nfr), "b_chosen": self.b_chosen,
                        "nfr_ratio_to_naive": self.ratio_to_naive("nfr"),
                        "accuracy_ratio_to_naive": self.ratio_to_naive("accuracy"),
                        "old_model_train_accuracy": self.old_model_train_accuracy})
        metrics.update({f"curve.{c['method']}.b{c['b']:g}.{k}": c["test"][k] for c in self.curve
                        for k in ("nfr", "accuracy", "new_class_accuracy")})
        title = f"Model update: {self.dataset or 'data'} (old classes {list(self.old_classes)} -> all)"
        return Evidence("update", title=title, checks=tuple(checks), metrics=metrics, details=self.details(),
                        details_schema=DETAILS_SCHEMA)

    def details(self) -> dict[str, Any]:
        """The evidence's ``details`` (:data:`trust.update.schema.DETAILS_SCHEMA`)."""
        return {"dataset": self.dataset, "old_classes": list(self.old_classes), "new_classes": list(self.new_classes),
                "deployed": self.deployed, "b_chosen": self.b_chosen, "seed_floor_nfr": _finite(self.seed_floor_nfr),
                "old_model_train_accuracy": self.old_model_train_accuracy, "evaluated_on": self.evaluated_on,
                "figures": {m: _figures(f) for m, f in self.figures.items()},
                "curve": [{"method": c["method"], "b": c["b"], "val": c["val"] and _figures(c["val"]),
                           "test": _figures(c["test"])} for c in self.curve],
                "settings": dict(self.settings), "protocol": PROTOCOL}

    def plots(self, out_dir: str | os.PathLike[str]) -> list[Plot]:
        """Flips vs accuracy per method, and the trade-off over ``b`` (PNG under ``out_dir``)."""
        from trust.update.plots import b_curve_plot, nfr_accuracy_plot

        out = [Plot("NFR vs accuracy per update method", str(nfr_accuracy_plot(self, Path(out_dir))))]
        if self.curve:
            out.append(Plot("Trade-off over the margin bias b", str(b_curve_plot(self, Path(out_dir)))))
        return out

    def save(self, out_dir: str | os.PathLike[str]) -> None:
        """The deployed update's model to ``out_dir/model`` and the old model to ``out_dir/old_model``."""
        self.model.save(Path(out_dir) / "model")
        self.old_model.save(Path(out_dir) / "old_model")


def protocol_seeds(random_state: int) -> dict[str, int]:
    """Independent seeds of the old model, the updates and the teacher, drawn from ``random_state`` (module docstring)."""
    old, update, teacher = np.random.SeedSequence(random_state).generate_state(3)
    return {"old": int(old), "update": int(update), "teacher": int(teacher)}


def _check_methods(methods: Sequence[str], deploy: str) -> list[str]:
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"method {unknown[0]!r} is unknown; choose from {list(METHODS)}")
    if deploy not in methods and deploy != "naive":
        raise ConfigError(f"deploy={deploy!r} is not among methods {methods}; add it or deploy one of them")
    return ["naive"] + [m for m in methods if m != "naive"]


def _old_model(X: np.ndarray, y: np.ndarray, train: np.ndarray, old_model: Any, old_classes: Any,
               model: Mapping[str, Any] | None, random_state: int, device: str) -> NeuralClassifier:
    if old_model is not None:
        if old_classes is not None and sorted(old_classes) != np.asarray(old_model.classes_).tolist():
            raise ConfigError(f"old_classes {list(old_classes)} differ from the old model's classes "
                              f"{np.asarray(old_model.classes_).tolist()}; leave old_classes out")
        return old_model
    if old_classes is None:
        raise ConfigError("give old_classes (the classes the old model is trained on) or a fitted old_model")
    old = np.unique(check_labels(np.asarray(list(old_classes)), name="old_classes"))
    rows = train[np.isin(y[train], old)]
    if len(np.unique(y[rows])) != len(old):
        raise DataError(f"the training rows lack some old class of {old.tolist()}; pick old classes present in y")
    settings = {k: v for k, v in dict(model or {}).items() if k not in ("random_state", "device", "n_classes", "progress")}
    return NeuralClassifier(**settings, random_state=random_state, device=device).fit(X[rows], y[rows])


def _fit_methods(methods: list[str], old: NeuralClassifier, X: np.ndarray, y: np.ndarray, splits: ArraySplits, *,
                 b: Any, margin_only: bool, mpt: Mapping[str, Any], pct: Mapping[str, Any], teacher: int,
                 common: Mapping[str, Any]) -> tuple[dict[str, Any], MarginPreservingUpdate | None, list]:
    """Every method's fitted model (and ``teacher``), the fitted margin-preserving update and the margin-only models."""
    tr, va = splits.train, splits.val
    models: dict[str, Any] = {"naive": NaiveUpdate(**common).fit(old, X[tr], y[tr]).model_}
    models["teacher"] = NaiveUpdate(**{**common, "random_state": teacher}).fit(old, X[tr], y[tr]).model_
    builders = {"pct": lambda: FocalDistillationUpdate(**{**dict(pct), **common}),
                "pct_lm": lambda: FocalDistillationUpdate(**{"distillation": "lm", "distill_weight": 0.4, **dict(pct),
                                                             **common}),
                "pct_code": lambda: FocalDistillationUpdate(**{**PCT_CODE, **dict(pct), **common})}
    for m in methods:
        if m in builders:
            models[m] = builders[m]().fit(old, X[tr], y[tr]).model_
    upd = None
    grid = list(b) if isinstance(b, (list, tuple)) else [b]
    if "mpt" in methods:
        upd = MarginPreservingUpdate(b=grid if len(grid) > 1 else grid[0], **dict(mpt), **common).fit(
            old, X[tr], y[tr], new_model=models["teacher"], eval_set=(X[va], y[va]) if len(grid) > 1 else None)
        models["mpt"] = upd.model_
    margin = [(float(v), MarginPreservingUpdate(b=v, old_weight=0.0, new_weight=0.0, **common).fit(
        old, X[tr], y[tr], new_model=models["teacher"]).model_) for v in (grid if margin_only else [])]
    return models, upd, margin


def run_update(X: Any, y: Any, splits: ArraySplits, *, old_classes: Sequence[int] | None = None,
               old_model: NeuralClassifier | None = None, model: Mapping[str, Any] | None = None,
               methods: Sequence[str] = DEFAULT_METHODS, deploy: str = "mpt", b: float | Sequence[float] = 4.0,
               margin_only: bool = False, mpt: Mapping[str, Any] | None = None, pct: Mapping[str, Any] | None = None,
               model_params: Mapping[str, Any] | None = None, evaluated_on: str = "test rows", dataset: str = "",
               random_state: int = 0, device: str = "auto", progress: bool = False, **unknown: Any) -> UpdateResult:
    """Run the protocol (module docstring) once and return its :class:`UpdateResult`.

    Args:
        X, y: all rows and labels; ``splits``: row indices (``train`` to fit, ``val`` to choose ``b``, ``test``
            to measure; ``val`` and ``test`` may be the same rows, then say so in ``evaluated_on``).
        old_classes / old_model: the old model's classes (it is trained here from ``model``, the
            NeuralClassifier settings of its recipe) or the fitted old model itself.
        methods: any of :data:`METHODS` (``naive`` always runs: the reference); ``deploy``: the method saved.
        b: ``mpt``'s margin bias, or a list of candidates chosen on ``splits.val``.
        margin_only: also the margin term alone at each ``b``. mpt, pct: extra settings of
            :class:`~trust.update.methods.MarginPreservingUpdate` / :class:`~trust.update.methods.FocalDistillationUpdate`.
        model_params: settings of the new models overriding the old model's recipe (e.g. ``{"epochs": 20}``).
        random_state: the seed the old model's, the updates' and the teacher's seeds are drawn from
            (:func:`protocol_seeds`).

    Raises:
        ConfigError: an unknown setting (a settings mapping from ``params.yaml`` with a typo), an unknown method.
    """
    if unknown:
        raise ConfigError(f"unknown update setting {sorted(unknown)[0]!r}; see trust.update.run_update for the settings")
    X = check_array(X, "X", dtype=None, ndim=(2, 3, 4))
    labels = check_labels(y, len(X))
    random_state = check_scalar(random_state, "random_state", int, min_val=0)
    methods = _check_methods(methods, deploy)
    seeds = protocol_seeds(random_state)
    old = _old_model(X, labels, splits.train, old_model, old_classes, model, seeds["old"], device)
    common = {"random_state": seeds["update"], "device": device, "progress": progress, "model_params": model_params}
    models, upd, margin = _fit_methods(methods, old, X, labels, splits, b=b, margin_only=margin_only,
                                       mpt=mpt or {}, pct=pct or {}, teacher=seeds["teacher"], common=common)
    te, va = splits.test, splits.val
    old_test, old_val = old.predict(X[te]), old.predict(X[va])

    def summary(m: NeuralClassifier, rows: np.ndarray = te, old_pred: np.ndarray = old_test) -> dict[str, float]:
        return flip_summary(labels[rows], old_pred, m.predict(X[rows]), old_classes=old.classes_)

    grid = upd.candidates_ if upd is not None and len(upd.candidates_) > 1 else []
    curve = [{"method": "mpt", "b": c["b"], "val": summary(c["model"], va, old_val), "test": summary(c["model"])}
             for c in grid]
    curve += [{"method": "margin_only", "b": v, "val": summary(m, va, old_val), "test": summary(m)} for v, m in margin]
    is_old = np.isin(labels[te], old.classes_)
    floor = seed_nfr_floor(labels[te][is_old], models["naive"].predict(X[te][is_old]),
                           models["teacher"].predict(X[te][is_old]))
    fit_rows = splits.train[np.isin(labels[splits.train], old.classes_)]
    settings = {"methods": methods, "b": b, "margin_only": margin_only, "mpt": dict(mpt or {}), "pct": dict(pct or {}),
                "model_params": dict(model_params or {}), "random_state": random_state}
    return UpdateResult(dataset, tuple(int(c) for c in old.classes_),
                        tuple(int(c) for c in np.setdiff1d(np.unique(labels), old.classes_)), old, models,
                        {m: summary(f) for m, f in models.items()}, float(floor), tuple(curve),
                        None if upd is None else float(upd.b_), deploy, evaluated_on,
                        float(old.score(X[fit_rows], labels[fit_rows])), settings)


__all__ = ["METHODS", "DEFAULT_METHODS", "UpdateResult", "run_update", "protocol_seeds"]
