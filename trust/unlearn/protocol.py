"""The unlearning protocol: unlearn, retrain the reference, certify, in one call (the stages, CLI and benchmarks use it).

(Not run as doctests: a certificate trains a reference and shadow models, about a minute; the README's Unlearning
blocks run the same calls on digits in `make test`.)

>>> inputs = UnlearnInputs.for_class(model, X_train, y_train, forget_class=3, test=(X_test, y_test))  # doctest: +SKIP
>>> result = run_unlearn(inputs, method="concept", random_state=0)                                    # doctest: +SKIP
>>> result.certificate.passed, result.model, result.reference                                         # doctest: +SKIP
>>> result.to_evidence(policy).checks; result.save("out/"); result.plots("out/")                      # doctest: +SKIP

:func:`run_unlearn` ``(inputs, *, method, settings, ...)``:

1. retrains the reference: the original's recipe (``sklearn.base.clone``: same settings, same seed) fitted
   from scratch on the retained rows only, its ``n_classes`` fixed, timed (``seconds["retrain"]``);
2. unlearns with ``method``: ``"concept"`` (:class:`~trust.unlearn.ConceptUnlearner`, class unlearning, with the
   ``baselines`` of :class:`~trust.unlearn.BaselineUnlearner` in the same harness) or ``"laf"``
   (:class:`~trust.unlearn.LabelAgnosticForgetting`, inputs only, then LAF+R: the head repaired on
   ``repair_per_class`` labelled remaining rows per class, the *label budget*; ``certified`` says which of
   LAF / LAF+R is certified, the other joins the comparison);
3. with held-out rows (``inputs.test``) certifies the unlearned model (:func:`trust.unlearn.certify`: the
   membership tests against ``n_shadows`` shadow models, the controls) and scores every other model of the
   run with the same shadows (``comparison``).

Runtime: ``seconds`` holds ``retrain`` (the reference), ``whole_fit`` (the method's whole fit),
``finetune`` (its training steps: the concept method's fine-tuning, LAF's Stage 2, plus the repair for
LAF+R) and ``cacheable`` (what can be computed once per model and reused across requests: the concept
inference, LAF's Stage-1 VAEs), and ``shadows``. The concept paper times the fine-tuning only.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from trust._validation import check_labels, check_option, check_random_state, check_scalar, fork_seed
from trust.errors import ConfigError, DataError
from trust.evidence import Check, Evidence, Plot, Result, save_figure
from trust.unlearn.certificate import DEFAULT_POLICY, Certificate, Figures
from trust.unlearn.schema import CERTIFICATE_SCHEMA

METHODS = ("concept", "laf")
LAF_VARIANTS = ("LAF", "LAF+R")

#: JSON schema of an unlearn evidence's ``details`` (the certificate is :data:`CERTIFICATE_SCHEMA`)
DETAILS_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["certificate", "comparison", "analysis"],
    "properties": {"certificate": CERTIFICATE_SCHEMA,
                   "comparison": {"type": "object", "additionalProperties": {
                       "type": "object", "additionalProperties": {"type": ["number", "null"]}}},
                   "analysis": {"type": "object"}, "note": {"type": "string"}},
}


def _xy(data: Any, name: str, *, labels: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise DataError(f"{name} must be an (X, y) pair of arrays; got {type(data).__name__}")
    X = np.asarray(data[0])
    if data[1] is None:
        if labels:
            raise DataError(f"{name} has no labels; the certificate and the reference need them")
        return X, None
    y = check_labels(data[1], len(X), name=f"{name} labels")
    return X, y


@dataclasses.dataclass(frozen=True)
class UnlearnInputs:
    """What to unlearn from which model: the original, its training rows split into forget and retain.

    ``forget`` / ``retain``: ``(X, y)`` (``y`` may be None for LAF without a certificate: LAF itself never
    reads labels); ``test``: held-out ``(X, y)`` (None: no certificate); ``forget_class``: the class (class
    unlearning) or None (rows); ``val``: rows to measure the concept bottleneck on; ``fingerprint``: the keyed
    fingerprint of the forget rows (default: computed under the project's lineage key); ``name``: for titles.
    """

    model: Any
    forget: tuple[Any, Any]
    retain: tuple[Any, Any]
    test: tuple[Any, Any] | None = None
    forget_class: int | None = None
    val: tuple[Any, Any] | None = None
    fingerprint: str | None = None
    name: str = "data"

    @classmethod
    def for_class(cls, model: Any, X: Any, y: Any, forget_class: int, **kw: Any) -> "UnlearnInputs":
        """Forget every row of ``forget_class`` among the training rows ``X, y`` (``kw``: the other fields)."""
        from trust.unlearn.concept import check_forget_class

        X = np.asarray(X)
        labels = check_labels(y, len(X))
        k = check_forget_class(model, labels, forget_class)
        f = labels == k
        return cls(model, (X[f], labels[f]), (X[~f], labels[~f]), forget_class=k, **kw)

    def forget_frame(self) -> Any:
        """The forget rows as a DataFrame (features flattened into columns ``x0, x1, ...``, then ``label`` when known):
        what gets fingerprinted, and what a stage keeps in its audit trail so that ``trust verify`` can recompute it."""
        import pandas as pd

        X, y = _xy(self.forget, "forget", labels=False)
        X = X.reshape(len(X), -1)
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        return frame if y is None else frame.assign(label=y)

    def with_fingerprint(self, fingerprint: Any) -> "UnlearnInputs":
        """A copy whose ``fingerprint`` is ``fingerprint(self.forget_frame())`` (a stage's keyed fingerprint)."""
        return dataclasses.replace(self, fingerprint=fingerprint(self.forget_frame()))

    @classmethod
    def for_rows(cls, model: Any, X: Any, y: Any, rows: Any, **kw: Any) -> "UnlearnInputs":
        """Forget the training rows at positions ``rows`` of ``X, y`` (sample unlearning)."""
        X = np.asarray(X)
        labels = check_labels(y, len(X))
        f = np.zeros(len(X), dtype=bool)
        f[np.asarray(rows, dtype=int)] = True
        return cls(model, (X[f], labels[f]), (X[~f], labels[~f]), **kw)


@dataclasses.dataclass(frozen=True)
class _Run:
    model: Any
    method: str
    params: Mapping[str, Any]
    seconds: Mapping[str, float]
    analysis: Mapping[str, Any]
    others: Mapping[str, Any]
    curves: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def retrain(model: Any, X: Any, y: Any) -> tuple[Any, float]:
    """``(reference, seconds)``: ``model``'s recipe (same settings and seed, ``n_classes`` fixed) fitted on ``X, y``."""
    from trust.unlearn.baselines import retrain_on

    t0 = time.perf_counter()
    ref = retrain_on(model, X, y)
    return ref, time.perf_counter() - t0


def _concept(inputs: UnlearnInputs, settings: Mapping[str, Any], concepts: Any, baselines: Sequence[str],
             seed: int, device: str | None) -> _Run:
    from trust.data.concepts import digit_concepts
    from trust.unlearn.baselines import METHODS as BASELINES, BaselineUnlearner
    from trust.unlearn.concept import ConceptUnlearner

    if inputs.forget_class is None:
        raise ConfigError("the concept method forgets a class: give forget_class (UnlearnInputs.for_class)")
    for b in baselines:
        check_option(b, "baselines", [m for m in BASELINES if m != "retrain"])
    (Xf, yf), (Xr, yr) = _xy(inputs.forget, "forget"), _xy(inputs.retain, "retain")
    X, y = np.concatenate([Xf, Xr]), np.concatenate([yf, yr])
    u = ConceptUnlearner(**settings, device=device, random_state=seed)
    u.fit(inputs.model, X, y, inputs.forget_class, digit_concepts() if concepts is None else concepts,
          eval_set=inputs.val)
    tune = {k: v for k, v in u.get_params().items() if k in ("trainable", "epochs", "lr", "batch_size", "momentum")}
    others = {b: BaselineUnlearner(b, **tune, random_state=seed).fit(inputs.model, X, y, inputs.forget_class).model_
              for b in baselines}
    imp = u.concept_importance_
    analysis = {"donor_class": u.donor_class_, "concepts_used": list(u.concepts_),
                "concepts_skipped": list(u.skipped_concepts_),
                "cav_accuracy": {c: float(a) for c, a in u.cav_accuracy_.items()},
                "overlap": {str(c): float(v) for c, v in u.overlap_.items()},
                "pcbm_accuracy": u.pcbm_accuracy_, "model_accuracy": u.model_accuracy_, "ig_delta": u.ig_delta_,
                "importance": {"classes": imp.index.tolist(), "concepts": list(imp.columns),
                               "values": imp.round(6).to_numpy().tolist()}}
    params = {**u.get_params(), "donor_class": u.donor_class_}
    params.pop("device", None)
    return _Run(u.model_, f"concept-based label poisoning ({u.poison})", params,
                {"whole_fit": u.seconds_, "finetune": u.seconds_finetune_,
                 "cacheable": u.seconds_ - u.seconds_finetune_}, analysis, others)


def _laf(inputs: UnlearnInputs, settings: Mapping[str, Any], certified: str, repair_per_class: int | None,
         seed: int, device: str, progress: bool) -> _Run:
    from trust.unlearn.laf import LabelAgnosticForgetting, per_class_subset

    check_option(certified, "certified", LAF_VARIANTS)
    (Xf, yf), (Xr, yr) = (_xy(d, n, labels=False) for d, n in ((inputs.forget, "forget"), (inputs.retain, "retain")))
    record = yf is not None and yr is not None
    est = LabelAgnosticForgetting(**settings, record_predictions=record, device=device, random_state=seed,
                                  progress=progress)
    est.fit(inputs.model, Xf, Xr)                       # inputs only: no label reaches LAF
    laf_model = est.laf_model_
    seconds = {"whole_fit": est.seconds_, "finetune": est.seconds_stage2_, "cacheable": est.seconds_stage1_}
    analysis: dict[str, Any] = {"steps_per_epoch": int(est.history_["steps"][0]), "repair_per_class": repair_per_class}
    models = {"LAF": laf_model}
    if yr is not None and (repair_per_class is None or repair_per_class > 0):
        pick = (np.arange(len(yr)) if repair_per_class is None
                else per_class_subset(yr, repair_per_class, random_state=seed))
        models["LAF+R"] = est.repair(Xr[pick], yr[pick]).model_
        analysis["repair_labels"] = int(len(pick))
        analysis["repair_seconds"] = est.repair_seconds_
    if certified not in models:
        raise ConfigError("LAF+R needs labelled remaining rows and a label budget (repair_per_class >= 1)")
    if certified == "LAF+R":
        seconds = {**seconds, "whole_fit": est.seconds_ + est.repair_seconds_,
                   "finetune": est.seconds_stage2_ + est.repair_seconds_}
    if record:
        analysis["forget_accuracy_per_epoch"] = [float(np.mean(p == yf)) for p in est.history_["forget_pred"]]
        analysis["remain_accuracy_per_epoch"] = [float(np.mean(p == yr)) for p in est.history_["remain_pred"]]
    sample = check_random_state(seed).permutation(len(Xr))[:600]
    curves = {"embeddings": ((inputs.model.embed(Xf), inputs.model.embed(Xr[sample])),
                             (laf_model.embed(Xf), laf_model.embed(Xr[sample])))}
    params = {**est.get_params(), "certified": certified, "repair_per_class": repair_per_class}
    for k in ("progress", "record_predictions", "device"):
        params.pop(k, None)
    others = {k: m for k, m in models.items() if k != certified}
    return _Run(models[certified], certified, params, seconds, analysis, others, curves)


def run_unlearn(inputs: UnlearnInputs, *, method: str = "concept", settings: Mapping[str, Any] | None = None,
                concepts: Any = None, baselines: Sequence[str] = (), certified: str = "LAF",
                repair_per_class: int | None = 5, n_shadows: int = 8, relearn: bool = True,
                relearn_max_epochs: int = 10, reference: tuple[Any, float] | None = None, shadows: Any = None,
                second_reference: Any = None, random_state: Any = 0, device: str = "auto",
                progress: bool = False) -> "UnlearnResult":
    """Unlearn ``inputs.forget`` from ``inputs.model`` with ``method``, retrain the reference, certify (module docstring).

    Args:
        settings: the method's estimator settings (checked by the estimator; ``random_state`` and ``device`` are
            this function's).
        concepts: the class-by-concept matrix of the concept method (default: the bundled digit concepts).
        baselines: concept method only: :class:`~trust.unlearn.BaselineUnlearner` methods in the comparison.
        certified, repair_per_class: LAF only: the model certified (``"LAF"`` / ``"LAF+R"``) and LAF+R's label
            budget (labelled remaining rows per class; None: every remaining row; 0: no repair).
        n_shadows, relearn, relearn_max_epochs: the certificate's settings (:func:`trust.unlearn.certify`).
        reference, shadows, second_reference: a ``(reference model, retrain seconds)``, a fitted
            :class:`~trust.unlearn.membership.ShadowSet` for these rows and the control retrained with another seed,
            reused as given (benchmarks run several methods on one forget set).
        progress: tqdm bars on stderr (the caller decides whether stderr is a terminal).
    """
    from trust.models.training import resolve_device

    check_option(method, "method", METHODS)
    settings = dict(settings or {})
    for k in ("random_state", "device"):
        if k in settings:
            raise ConfigError(f"settings must not hold {k}; pass it to run_unlearn (random_state=, device=)")
    if repair_per_class is not None:
        repair_per_class = check_scalar(repair_per_class, "repair_per_class", int, min_val=0)
    if shadows is None and inputs.test is not None:
        from trust.unlearn.membership import check_n_shadows

        check_n_shadows(n_shadows)   # before the method runs, not after
    rng = check_random_state(random_state)
    seed = fork_seed(rng) % 2 ** 31
    dev = resolve_device(device).type
    _warm_up(method)
    run = (_concept(inputs, settings, concepts, baselines, seed, dev) if method == "concept"
           else _laf(inputs, settings, certified, repair_per_class, seed, dev, progress))
    return _certified(inputs, run, reference=reference, shadows=shadows, second=second_reference, n_shadows=n_shadows,
                      relearn=relearn, relearn_max_epochs=relearn_max_epochs, seed=seed, progress=progress)


def _warm_up(method: str) -> None:
    """Pay a process's one-off costs before any clock starts: the first torch optimiser imports ``torch._dynamo``
    (seconds), and the concept method imports Captum and scikit-learn's solvers; otherwise they land in whichever
    timing comes first."""
    import importlib

    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    if method == "concept":
        for name in ("captum.attr", "sklearn.svm", "sklearn.linear_model", "sklearn.model_selection"):
            importlib.import_module(name)


def _fingerprint(inputs: UnlearnInputs) -> str:
    if inputs.fingerprint is not None:
        return inputs.fingerprint
    from trust.data.hashing import keyed_fingerprint

    return keyed_fingerprint(inputs.forget_frame())


def _certified(inputs: UnlearnInputs, run: _Run, *, reference: Any, shadows: Any, second: Any, n_shadows: int,
               relearn: bool, relearn_max_epochs: int, seed: int, progress: bool) -> "UnlearnResult":
    from trust.unlearn.certificate import certify, recipe
    from trust.unlearn.membership import fit_shadows

    (Xf, yf), (Xr, yr) = (_xy(d, n, labels=False) for d, n in ((inputs.forget, "forget"), (inputs.retain, "retain")))
    base = dict(method=run.method, model=run.model, params=run.params, forget_class=inputs.forget_class,
                n_forget=len(Xf), fingerprint=_fingerprint(inputs), title=_title(inputs, run), analysis=run.analysis,
                curves=run.curves, others=dict(run.others))
    if inputs.test is None or yf is None or yr is None:
        return UnlearnResult(**base, reference=None, certificate=None, comparison={}, seconds=dict(run.seconds))
    test = _xy(inputs.test, "test")
    ref, retrain_s = reference if reference is not None else retrain(inputs.model, Xr, yr)
    if second is None:
        second = recipe(ref, int(ref.random_state) + 1 if isinstance(ref.random_state, (int, np.integer)) else seed)
        second.fit(Xr, yr)
    if shadows is None:
        bar = _bar(n_shadows, progress)
        shadows = fit_shadows(lambda s: recipe(ref, s), (Xr, yr), (Xf, yf), n_shadows=n_shadows, random_state=seed,
                              progress=lambda i: bar.update(1))
        bar.close()
    kw = dict(original=inputs.model, reference=ref, forget=(Xf, yf), retain=(Xr, yr), test=test,
              forget_class=inputs.forget_class, random_state=seed, shadows=shadows, second_reference=second)
    cert = certify(run.model, relearn=relearn, relearn_max_epochs=relearn_max_epochs, **kw)
    comparison = {name: certify(m, **kw).figures["unlearned"] for name, m in run.others.items()}
    seconds = {**run.seconds, "retrain": retrain_s, "shadows": shadows.seconds}
    return UnlearnResult(**base, reference=ref, certificate=cert, comparison=comparison, seconds=seconds)


def _bar(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="shadow models", unit="model", disable=not enabled, leave=False)


def _title(inputs: UnlearnInputs, run: _Run) -> str:
    what = f"class {inputs.forget_class}" if inputs.forget_class is not None else f"{len(inputs.forget[0])} rows"
    return f"Unlearning {what} of {inputs.name} by {run.method}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


@dataclasses.dataclass(frozen=True)
class UnlearnResult(Result):
    """What :func:`run_unlearn` returns: the unlearned model, the reference, the certificate and every figure.

    ``model``: the certified unlearned model; ``reference``: the model retrained without the forget rows (None
    without held-out rows); ``certificate``: :class:`~trust.unlearn.certificate.Certificate` (None without
    held-out rows or labels); ``comparison``: the other models of the run (LAF+R or LAF, baselines) scored the
    same way (``others``: those models); ``seconds``: module docstring; ``analysis``: the method's own figures
    (concepts, LAF's curves).
    """

    kind: ClassVar[str] = "unlearn"
    method: str
    model: Any
    reference: Any
    certificate: Certificate | None
    comparison: Mapping[str, Figures]
    params: Mapping[str, Any]
    seconds: Mapping[str, float]
    forget_class: int | None
    n_forget: int
    fingerprint: str
    title: str
    analysis: Mapping[str, Any]
    curves: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    others: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def _require(self) -> Certificate:
        if self.certificate is None:
            raise ConfigError("this unlearning run has no certificate: give held-out rows with labels (test) and the "
                              "labels of the forget and retained rows")
        return self.certificate

    def data_entry(self, name: str) -> dict[str, Any]:
        """The evidence ``data`` entry of the forgotten rows (keyed fingerprint, count: audit trail only)."""
        role = "forgotten rows (class)" if self.forget_class is not None else "forgotten rows"
        return {"name": f"{name}/forget", "fingerprint": self.fingerprint, "role": role, "rows": int(self.n_forget)}

    def runtime(self) -> dict[str, float | None]:
        """Fine-tuning and whole-fit seconds over retraining seconds."""
        r = self.seconds.get("retrain")
        return {"finetune_over_retrain": _ratio(self.seconds.get("finetune"), r),
                "whole_fit_over_retrain": _ratio(self.seconds.get("whole_fit"), r)}

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """Checks: the model's gates (policy keys) and stage checks of the controls and the method; metrics;
        details valid against :data:`DETAILS_SCHEMA` (``policy`` None: :data:`DEFAULT_POLICY`)."""
        from trust.unlearn.evidence import checks_of, metrics_of

        cert = self._require().with_policy(DEFAULT_POLICY if policy is None else policy)
        seconds = {**self.seconds, **self.runtime()}
        details = {"certificate": cert.to_dict(fingerprint=self.fingerprint, method=self.method, params=self.params,
                                               seconds=seconds),
                   "comparison": {k: v.to_dict() for k, v in self.comparison.items()},
                   "analysis": dict(self.analysis)}
        return Evidence(self.kind, title=self.title, checks=checks_of(cert, self.analysis),
                        metrics=metrics_of(cert, self.comparison, seconds), details=details,
                        details_schema=DETAILS_SCHEMA)

    def plots(self, out_dir: Any) -> list[Plot]:
        """Figures of the certificate (every model beside the retrained one) and of the method."""
        from trust.unlearn import plots as P

        out, drawn = Path(out_dir), []
        if self.certificate is not None:
            figs = {**dict(self.certificate.figures), **dict(self.comparison)}
            drawn.append(Plot("Certificate figures: the unlearned model beside the retrained model and the controls",
                              str(save_figure(P.plot_certificate(figs, title=self.title), out / "certificate.png"))))
        if "importance" in self.analysis:
            drawn.append(Plot("Concept importance per class (Integrated Gradients)", str(save_figure(
                P.plot_importance(self.analysis["importance"], self.forget_class), out / "concept_importance.png"))))
        if "forget_accuracy_per_epoch" in self.analysis:
            drawn.append(Plot("LAF: accuracy on the forget and remaining training rows per epoch", str(save_figure(
                P.plot_accuracy_per_epoch(self.analysis["forget_accuracy_per_epoch"],
                                          self.analysis["remain_accuracy_per_epoch"]), out / "accuracy_per_epoch.png"))))
        if "embeddings" in self.curves:
            drawn.append(Plot("Embeddings of forget vs remaining rows before and after LAF (PCA)", str(save_figure(
                P.plot_embeddings(*self.curves["embeddings"]), out / "embeddings.png"))))
        return drawn

    def save(self, out_dir: Any) -> None:
        """The unlearned model in ``out_dir/model`` (a :class:`~trust.models.NeuralClassifier` folder)."""
        self.model.save(Path(out_dir) / "model")


__all__ = ["run_unlearn", "UnlearnInputs", "UnlearnResult", "retrain", "METHODS", "LAF_VARIANTS", "DETAILS_SCHEMA"]
