"""The unlearning certificate: is a model that claims to have forgotten some rows told apart from one that never saw them?

>>> cert = certify(unlearned, original=model, reference=retrained, forget=(Xf, yf),  # doctest: +SKIP
...                retain=(Xr, yr), test=(Xt, yt), forget_class=3)
>>> cert.passed, [c.sentence() for c in cert.checks]                                  # doctest: +SKIP
>>> print(cert.summary())          # the verdict beside its controls (original: FAIL, 2nd retrain: PASS)  # doctest: +SKIP

:func:`certify` takes any fitted :class:`~trust.models.NeuralClassifier` (``model``) someone claims has
forgotten ``forget``, the ``original`` it came from and a ``reference`` retrained from scratch without
``forget`` (same recipe; its ``n_classes`` fixed so it scores the forgotten class). It measures, for the
model, the reference, the original and a second model retrained with another seed (:class:`Figures`):

- accuracies: on the forget rows, the retained training rows, the held-out rows of the retained classes
  (``test_retain_accuracy``) and of the forgotten class (class unlearning);
- membership (:mod:`trust.unlearn.membership`): the within-class loss attack's advantage ``|acc - 0.5|``
  (forget rows vs held-out rows of the same classes) and the per-example likelihood-ratio test against
  ``n_shadows`` shadow models of the reference's recipe, half trained with the forget rows and half without
  (AUC and TPR at 1 % FPR of the model's scores on the forget rows against the retrained shadows');
- a described behaviour, never gated: the share of forget rows a confidence attacker (fitted on retained
  training vs held-out rows) calls training rows, beside the share of held-out rows of the forget classes
  it calls so ("confident like a training row"; when both are alike it says nothing about membership);
- optionally ``relearn_epochs`` (:func:`trust.unlearn.metrics.relearn_epochs`).

Gates (:data:`POLICY_KEYS`, thresholds from ``policy``, else :data:`DEFAULT_POLICY`), each a
:class:`~trust.evidence.Check` whose sentence names the figure, the reference and the threshold:
forget accuracy is absolute (class unlearning only); the retained accuracy is a ratio to the
reference's; the membership figures are differences from the reference's. The likelihood-ratio test is
gated in both directions: its AUC (the forget rows look *more* trained-on than in retrained models: the
model remembers) and its reverse ``1 - AUC`` (they look *less* trained-on than in any retrained model:
over-forgetting, for instance a forgotten class's logit pushed below where retraining leaves it, which
tells the model from a retrained one as surely and shows that the rows were there). A one-sided test
passed such a model: on digits, the concept method's head fine-tuned at 10x the paper's learning rate
put the class 0.3-0.5 of the IN-OUT distance *below* the retrained shadows and scored AUC 0.02-0.14
(``benchmarks/README.md``). The same gates run on the original model (it must FAIL every membership gate,
:data:`MEMBERSHIP_KEYS`) and on the second retrained model (it must PASS every gate):
:attr:`Certificate.power` says whether both controls behaved, so the certificate shows that its tests
could have failed; the over-forgetting gate's failing control is a model pushed below the retrained ones
(tests). The controls' verdicts never change the model's own.

``ulira_position`` (described, never gated) says how far the model moved: the median over forget rows of
where its scaled logit lies between the retrained shadows' (0) and the trained-with shadows' (1).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np

from trust._validation import check_is_fitted, check_labels, check_random_state, check_scalar, fork_seed
from trust.errors import ConfigError, DataError
from trust.evidence import Check, gate
from trust.unlearn.schema import CERTIFICATE_SCHEMA, MODELS, WHAT, validate_certificate

REFERENCE = "model retrained without the forget rows"

#: policy key -> what it gates (descriptions for params.yaml and the report)
POLICY_KEYS: dict[str, str] = {
    "max_forget_accuracy": "accuracy of the unlearned model on the forgotten class (the larger of its training and "
                           "held-out rows); class unlearning only; absolute",
    "min_retain_accuracy_ratio_to_retrain": "held-out accuracy on the retained classes of the unlearned model / "
                                            "the retrained model's",
    "max_loss_attack_excess_over_retrain": "within-class loss attack advantage |acc - 0.5| (forget rows vs held-out "
                                           "rows of the same classes) of the unlearned model minus the retrained "
                                           "model's",
    "max_ulira_auc_excess_over_retrain": "AUC of the per-example likelihood-ratio test against shadow models trained "
                                         "with and without the forget rows (the model's scores on the forget rows vs "
                                         "retrained shadows') of the unlearned model minus the retrained model's: the "
                                         "forget rows look more trained-on than in models that never saw them",
    "max_ulira_reverse_auc_excess_over_retrain": "the same likelihood-ratio test read the other way, 1 - AUC (the "
                                                 "retrained shadows' scores above the model's: the forget rows look "
                                                 "LESS trained-on than in models that never saw them, over-forgetting, "
                                                 "which tells the model from a retrained one as surely) of the "
                                                 "unlearned model minus the retrained model's",
}
#: the membership gates (the original model must fail every one)
MEMBERSHIP_KEYS = ("max_loss_attack_excess_over_retrain", "max_ulira_auc_excess_over_retrain")
#: the over-forgetting gate: its failing control is a model pushed below every retrained model, not the original
OVERFORGETTING_KEYS = ("max_ulira_reverse_auc_excess_over_retrain",)
#: thresholds used when no policy is given (params.yaml's ``policy:`` documents the same values)
DEFAULT_POLICY: dict[str, float] = {"max_forget_accuracy": 0.05, "min_retain_accuracy_ratio_to_retrain": 0.98,
                                    "max_loss_attack_excess_over_retrain": 0.1,
                                    "max_ulira_auc_excess_over_retrain": 0.2,
                                    "max_ulira_reverse_auc_excess_over_retrain": 0.2}

def _f(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


@dataclasses.dataclass(frozen=True)
class Figures:
    """One model's figures in a certificate (NaN where undefined: no forget class, relearning not run).

    ``ulira_position`` is described, never gated: the median over the forget rows of where the model's scaled logit
    lies between the retrained shadows' (0) and the shadows trained with the rows (1); below 0: lower than a
    retrained model puts it (:meth:`~trust.unlearn.membership.ShadowSet.position`).
    """

    forget_accuracy: float
    retain_accuracy: float
    test_retain_accuracy: float
    test_forget_accuracy: float
    loss_attack_advantage: float
    ulira_auc: float
    ulira_tpr_at_1pct_fpr: float
    training_like_forget: float
    training_like_heldout: float
    relearn_epochs: float = float("nan")
    ulira_position: float = float("nan")

    def to_dict(self) -> dict[str, float | None]:
        return {k: _f(v) for k, v in dataclasses.asdict(self).items()}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The gates of one model: ``passed`` when every gated check passes."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed is not False for c in self.checks)

    def failed(self, keys: Sequence[str]) -> bool:
        """Every check of ``keys`` failed (False when none of them is gated)."""
        picked = [c for c in self.checks if c.policy_key in keys]
        return bool(picked) and all(c.passed is False for c in picked)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [_check_dict(c) for c in self.checks]}


def _check_dict(c: Check) -> dict[str, Any]:
    return {"name": c.name, "policy_key": c.policy_key, "figure": c.figure, "reference_figure": c.reference_figure,
            "value": c.value, "threshold": c.threshold, "comparator": c.comparator, "passed": c.passed,
            "sentence": c.sentence()}


def gates(fig: Figures, ref: Figures, policy: Mapping[str, Any], *, class_unlearning: bool) -> tuple[Check, ...]:
    """The certificate's gates of the figures ``fig`` against the reference's ``ref`` (module docstring)."""
    out = []
    if class_unlearning:
        worst = max(fig.forget_accuracy, np.nan_to_num(fig.test_forget_accuracy, nan=0.0))
        out.append(gate("Forgotten-class accuracy (larger of training and held-out rows)", worst, policy,
                        "max_forget_accuracy", description=POLICY_KEYS["max_forget_accuracy"]))
    out += [
        gate("Held-out accuracy on the retained classes", fig.test_retain_accuracy, policy,
             "min_retain_accuracy_ratio_to_retrain", reference=REFERENCE, reference_figure=ref.test_retain_accuracy,
             description=POLICY_KEYS["min_retain_accuracy_ratio_to_retrain"]),
        gate("Within-class loss attack advantage |acc - 0.5|", fig.loss_attack_advantage, policy,
             "max_loss_attack_excess_over_retrain", reference=REFERENCE, relation="difference",
             reference_figure=ref.loss_attack_advantage, description=POLICY_KEYS["max_loss_attack_excess_over_retrain"]),
        gate("Likelihood-ratio test vs shadow models: AUC of the forget rows' scores above retrained shadows' "
             "(looks trained on them)", fig.ulira_auc, policy,
             "max_ulira_auc_excess_over_retrain", reference=REFERENCE, relation="difference",
             reference_figure=ref.ulira_auc, description=POLICY_KEYS["max_ulira_auc_excess_over_retrain"]),
        gate("Likelihood-ratio test read the other way: 1 - AUC (forget rows look less trained-on than in retrained "
             "shadows: over-forgetting)", 1.0 - fig.ulira_auc, policy,
             "max_ulira_reverse_auc_excess_over_retrain", reference=REFERENCE, relation="difference",
             reference_figure=1.0 - ref.ulira_auc,
             description=POLICY_KEYS["max_ulira_reverse_auc_excess_over_retrain"]),
    ]
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Certificate:
    """What :func:`certify` returns: the model's verdict, its checks, the controls and every figure.

    ``passed``: every gate of the model passes. ``checks``: those gates (:class:`~trust.evidence.Check`:
    ``name``, ``figure``, ``reference_figure``, ``threshold``, ``passed``). ``controls``: the same gates on
    the original model and on a second retrained model. ``power``: the original fails the certificate and the
    second retrained model passes every gate; :meth:`membership_power`: which membership gates the original
    fails. ``figures``: :class:`Figures` per :data:`MODELS`.
    """

    checks: tuple[Check, ...]
    controls: Mapping[str, Verdict]
    figures: Mapping[str, Figures]
    forget_class: int | None
    n_forget: int
    n_heldout: int
    n_shadows: int
    seconds: Mapping[str, float]

    @property
    def passed(self) -> bool:
        return Verdict(self.checks).passed

    @property
    def power(self) -> bool:
        """The original model FAILS the certificate and the second retrained model PASSES it."""
        return not self.controls["original"].passed and self.controls["retrained_other_seed"].passed

    def membership_power(self) -> dict[str, bool]:
        """Per membership gate: did the original model fail it? A gate the original passes cannot tell, on these
        data, a model that forgot from one that did not (no memorisation it can see): its PASS carries no weight."""
        return {k: self.controls["original"].failed((k,)) for k in MEMBERSHIP_KEYS
                if any(c.policy_key == k for c in self.checks)}

    def with_policy(self, policy: Mapping[str, Any]) -> "Certificate":
        """The same figures gated against ``policy`` (the model's checks and both controls')."""
        cls = self.forget_class is not None
        ref = self.figures["retrained"]
        controls = {k: Verdict(gates(self.figures[k], ref, policy, class_unlearning=cls))
                    for k in ("original", "retrained_other_seed")}
        return dataclasses.replace(self, checks=gates(self.figures["unlearned"], ref, policy, class_unlearning=cls),
                                   controls=controls)

    def summary(self) -> str:
        """The verdict beside its controls, one line per gate (what the CLI prints)."""
        lines = [f"certificate: {'PASS' if self.passed else 'FAIL'} (controls: original model "
                 f"{'FAIL' if not self.controls['original'].passed else 'PASS'} [must fail], second retrained model "
                 f"{'PASS' if self.controls['retrained_other_seed'].passed else 'FAIL'} [must pass]; "
                 f"power {'shown' if self.power else 'NOT shown'})"]
        for who, checks in (("unlearned", self.checks), ("original", self.controls["original"].checks),
                            ("retrained_other_seed", self.controls["retrained_other_seed"].checks)):
            lines += [f"  [{who}] {c.sentence()}" for c in checks]
        return "\n".join(lines)

    def to_dict(self, *, fingerprint: str, method: str, params: Mapping[str, Any],
                seconds: Mapping[str, float] | None = None) -> dict[str, Any]:
        """The certificate as the evidence's ``details.certificate`` (:data:`CERTIFICATE_SCHEMA`)."""
        what = "class" if self.forget_class is not None else "samples"
        d = {"forgotten": {"what": what, "class": self.forget_class, "count": int(self.n_forget),
                           "fingerprint": str(fingerprint)},
             "method": str(method), "params": _jsonable(params), "passed": self.passed, "power": self.power,
             "membership_power": self.membership_power(),
             "checks": [_check_dict(c) for c in self.checks],
             "controls": {k: v.to_dict() for k, v in self.controls.items()},
             "figures": {k: v.to_dict() for k, v in self.figures.items()},
             "membership": {"n_shadows": int(self.n_shadows), "n_forget": int(self.n_forget),
                            "n_heldout": int(self.n_heldout)},
             "seconds": {k: _f(v) for k, v in {**self.seconds, **(seconds or {})}.items()}}
        return validate_certificate(d)


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        if isinstance(v, (np.integer, np.floating)):
            v = v.item()
        out[str(k)] = v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else repr(v)
    return out


def _pair(data: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise DataError(f"{name} must be an (X, y) pair of arrays; got {type(data).__name__}")
    X = np.asarray(data[0])
    y = check_labels(data[1], name=f"{name} labels")
    if len(X) != len(y):
        raise DataError(f"{name} has {len(X)} rows but {len(y)} labels; give one label per row")
    return X, y


def _check_model(m: Any, name: str) -> None:
    if not hasattr(m, "decision_function") or not hasattr(m, "classes_"):
        raise ConfigError(f"{name} must be a fitted trust.models.NeuralClassifier, got {type(m).__name__}")
    check_is_fitted(m, "network_")


def recipe(reference: Any, seed: int) -> Any:
    """An unfitted model of the reference's recipe with another seed (its classes fixed, no progress bar)."""
    from sklearn.base import clone

    if getattr(reference, "n_classes", None) is None:
        raise ConfigError("the reference must be trained with n_classes=K (every class of the original, the forgotten "
                          "one included) so that it, its shadows and the second retrained model score the same labels")
    return clone(reference).set_params(random_state=int(seed), progress=False)


@dataclasses.dataclass(frozen=True)
class _Sets:
    forget: tuple[np.ndarray, np.ndarray]
    retain: tuple[np.ndarray, np.ndarray]
    test_retain: tuple[np.ndarray, np.ndarray]      # held-out rows of the retained classes (all, for samples)
    test_forget: tuple[np.ndarray, np.ndarray]      # held-out rows of the forgotten class (empty for samples)
    heldout_same: tuple[np.ndarray, np.ndarray]     # held-out rows of the forget rows' classes
    heldout_other: tuple[np.ndarray, np.ndarray]    # held-out rows of the other classes


def _sets(model: Any, forget: Any, retain: Any, test: Any, forget_class: Any) -> tuple[_Sets, int | None]:
    (Xf, yf), (Xr, yr), (Xt, yt) = _pair(forget, "forget"), _pair(retain, "retain"), _pair(test, "test")
    if len(yf) == 0:
        raise DataError("the forget set is empty; pass the rows to forget (at least one)")
    if len(yr) == 0:
        raise DataError("the retain set is empty; the certificate needs the retained training rows")
    if forget_class is not None:
        forget_class = check_scalar(forget_class, "forget_class", int, min_val=0)
        if forget_class not in np.asarray(model.classes_):
            raise DataError(f"forget_class {forget_class} is not a class of the model "
                            f"({np.asarray(model.classes_).tolist()}); pick one of those")
        if (yf != forget_class).any():
            raise DataError(f"the forget rows hold labels other than forget_class {forget_class}; pass the rows of "
                            "that class (or forget_class=None for sample unlearning)")
    same = np.isin(yt, np.unique(yf))
    if not same.any():
        raise DataError(f"the test rows hold no row of the forgotten class(es) {np.unique(yf).tolist()}; the "
                        "membership tests compare forget rows with held-out rows of the same classes")
    other = ~same if (~same).any() else np.ones_like(same)
    keep = ~same if forget_class is not None else np.ones_like(same)
    sub = (lambda m: (Xt[m], yt[m]))
    return _Sets((Xf, yf), (Xr, yr), sub(keep), sub(~keep), sub(same), sub(other)), forget_class


def _accuracy(model: Any, data: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.mean(model.predict(data[0]) == data[1])) if len(data[1]) else float("nan")


def _figures(model: Any, sets: _Sets, shadows: Any, seed: int, relearn_kw: Mapping[str, Any] | None) -> Figures:
    from trust.unlearn.membership import cross_entropy, loss_attack, training_like_rate
    from trust.unlearn.metrics import relearn_epochs

    la = loss_attack(cross_entropy(model, *sets.forget), cross_entropy(model, *sets.heldout_same), random_state=seed)
    lr = shadows.attack(model, sets.forget)
    like = training_like_rate(model, sets.retain, sets.heldout_other, [sets.forget, sets.heldout_same],
                              random_state=seed)
    relearn = (relearn_epochs(model, sets.forget, sets.retain, random_state=seed, **relearn_kw)
               if relearn_kw is not None else float("nan"))
    return Figures(_accuracy(model, sets.forget), _accuracy(model, sets.retain), _accuracy(model, sets.test_retain),
                   _accuracy(model, sets.test_forget), la["advantage"], lr["auc"], lr["tpr_at_low_fpr"], like[0],
                   like[1], relearn, ulira_position=lr["position"])


def certify(model: Any, *, original: Any, reference: Any, forget: Any, retain: Any, test: Any,
            forget_class: int | None = None, policy: Mapping[str, Any] | None = None, random_state: Any = 0,
            n_shadows: int = 8, shadows: Any = None, second_reference: Any = None, relearn: bool = False,
            relearn_max_epochs: int = 10, progress: Any = None) -> Certificate:
    """Certify that ``model`` has forgotten ``forget``: gated figures beside the reference's, with controls.

    Args:
        model: the fitted classifier that claims to have forgotten ``forget`` (never changed).
        original: the model it came from (trained with ``forget``): the control that must FAIL.
        reference: the same recipe retrained from scratch on ``retain`` only, ``n_classes`` fixed.
        forget, retain, test: ``(X, y)`` pairs: the training rows to forget, the training rows kept, held-out rows
            (those of the forgotten classes are the membership tests' non-members).
        forget_class: the class forgotten (class unlearning); None for sample unlearning.
        policy: thresholds by policy key (:data:`POLICY_KEYS`); None: :data:`DEFAULT_POLICY`.
        random_state: seed of the shadows' seeds, the attacks' subsampling and the relearning.
        n_shadows: shadow models of the likelihood-ratio test (half with the forget rows, half without; even, >= 4).
        shadows: a :class:`~trust.unlearn.membership.ShadowSet` already fitted for these rows (reused as is).
        second_reference: the control retrained with another seed (default: trained here, seed of the reference + 1).
        relearn, relearn_max_epochs: add ``relearn_epochs`` for the model and the reference (fine-tunes copies).
        progress: called with the number of shadow models trained so far.

    Returns a :class:`Certificate` (module docstring). None of the models is changed.
    """
    from trust.unlearn.membership import fit_shadows

    for name, m in (("model", model), ("original", original), ("reference", reference)):
        _check_model(m, name)
    sets, forget_class = _sets(model, forget, retain, test, forget_class)
    relearn_max_epochs = check_scalar(relearn_max_epochs, "relearn_max_epochs", int, min_val=1)
    rng = check_random_state(random_state)
    seed = fork_seed(rng) % 2 ** 31
    ref_seed = reference.random_state if isinstance(reference.random_state, (int, np.integer)) else seed
    if second_reference is None:
        second_reference = recipe(reference, int(ref_seed) + 1).fit(*sets.retain)
    _check_model(second_reference, "second_reference")
    if shadows is None:
        shadows = fit_shadows(lambda s: recipe(reference, s), sets.retain, sets.forget, n_shadows=n_shadows,
                              random_state=seed, progress=progress)
    kw = {"max_epochs": relearn_max_epochs} if relearn else None
    figures = {"unlearned": _figures(model, sets, shadows, seed, kw),
               "retrained": _figures(reference, sets, shadows, seed, kw),
               "original": _figures(original, sets, shadows, seed, None),
               "retrained_other_seed": _figures(second_reference, sets, shadows, seed, None)}
    cert = Certificate((), {}, figures, forget_class, len(sets.forget[1]), len(sets.heldout_same[1]),
                       shadows.n_shadows, {"shadows": shadows.seconds})
    return cert.with_policy(DEFAULT_POLICY if policy is None else policy)


__all__ = ["certify", "recipe", "Certificate", "Figures", "Verdict", "gates", "POLICY_KEYS", "MEMBERSHIP_KEYS",
           "OVERFORGETTING_KEYS", "DEFAULT_POLICY", "CERTIFICATE_SCHEMA", "validate_certificate", "MODELS", "REFERENCE", "WHAT"]
