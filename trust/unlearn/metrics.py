"""Verification of unlearning: every figure of an unlearned model beside a model retrained without the data.

:func:`evaluate_unlearning` ``(model, reference, forget, retain, test, forget_class=None)`` scores a
model against ``reference``, a model retrained from scratch on the retained data only (same recipe,
same seed: the gold standard). ``forget``, ``retain`` and ``test`` are ``(X, y)`` pairs: the
training rows to forget, the training rows kept, and held-out rows. With ``forget_class`` (class
unlearning) the test rows are split into the retained classes and the forgotten class.

Figures (each computed for ``model`` and for ``reference``):

- ``forget_accuracy``: accuracy on the forget rows (training rows), ``mean(argmax p(x) = y)``;
- ``retain_accuracy``: accuracy on the retained training rows;
- ``test_retain_accuracy``: accuracy on the test rows of the retained classes (all test rows
  without ``forget_class``);
- ``test_forget_accuracy``: accuracy on the test rows of ``forget_class`` (NaN without it, or when
  the test rows hold none);
- ``mia_loss`` / ``mia_confidence``: membership-inference attacks on the forget rows. Following the
  usual unlearning protocol (e.g. Chundawat et al. 2023, Kurmanji et al. 2023), an attacker is fitted
  *on the model under evaluation*: a logistic regression on one feature, the cross-entropy loss
  ``-log p_y(x)`` (loss-based) or the top softmax probability ``max_k p_k(x)`` (confidence-based),
  with the retained training rows as members (label 1) and the test rows of the retained classes as
  non-members (label 0), balanced by subsampling the larger side. The figure is the share of forget
  rows the attacker calls members (``P(member) > 0.5``). A model that still remembers the forget rows
  scores near its retain rows' rate; the retrained reference, which never saw them, scores low: the
  unlearned model must be compared with the reference's value, not with 0.5;
- ``relearn_epochs``: epochs of fine-tuning (all layers, SGD, lr ``relearn_lr``, momentum 0.9,
  batch 32) on the forget rows with their true labels, mixed with as many retained rows, until the
  accuracy on the forget rows reaches 0.5; 0 when it already does, ``relearn_max_epochs + 1`` when it
  does not within the cap. The mixed retained rows keep "predict the forget class everywhere" from
  reaching 0.5 at once. A model that only hides the class relearns it faster than the reference.

Returned keys (a plain dict of floats): each figure above for ``model`` under its own name, for the
reference under ``retrained.<name>``, and the absolute difference under ``gap.<name>``; then

- ``avg_gap``: the mean of the ``gap.*`` of the figures in [0, 1] (:data:`GAP_FIGURES`: the four
  accuracies and the two attacks; ``test_forget_accuracy`` only when defined; relearn epochs are
  not on that scale and are left out);
- ``runtime_ratio``: ``seconds[0] / seconds[1]`` (unlearning time over retraining time) when
  ``seconds=(unlearn_s, retrain_s)`` is given.

:func:`unlearning_certificate` assembles the certificate an unlearning stage puts in its evidence
(``details.certificate``) from two such evaluations (unlearned and original model); :func:`certificate_checks`
turns it into the policy-gated checks. The report renders both (:mod:`trust.unlearn.report_section`).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Mapping, Sequence

import numpy as np

from trust._validation import check_is_fitted, check_labels, check_random_state, check_scalar, fork_seed
from trust.errors import ConfigError, DataError

#: The figures :func:`evaluate_unlearning` computes for each model, in report order.
FIGURES = ("forget_accuracy", "retain_accuracy", "test_retain_accuracy", "test_forget_accuracy",
           "mia_loss", "mia_confidence", "relearn_epochs")
#: The figures on the [0, 1] scale averaged into ``avg_gap``.
GAP_FIGURES = ("forget_accuracy", "retain_accuracy", "test_retain_accuracy", "test_forget_accuracy",
               "mia_loss", "mia_confidence")
#: What the certificate says was forgotten.
WHAT = ("class", "samples")


def _pair(data: Any, name: str) -> tuple[Any, np.ndarray]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise DataError(f"{name} must be an (X, y) pair of arrays; got {type(data).__name__}")
    X, y = np.asarray(data[0]), data[1]
    y = check_labels(y, name=f"{name} labels")
    if len(X) != len(y):
        raise DataError(f"{name} has {len(X)} rows but {len(y)} labels; give one label per row")
    return X, y


def _proba(model: Any, X: Any) -> np.ndarray:
    return model.predict_proba(X) if len(X) else np.zeros((0, len(model.classes_)))


def _accuracy(model: Any, P: np.ndarray, y: np.ndarray) -> float:
    if len(y) == 0:
        return float("nan")
    return float(np.mean(np.asarray(model.classes_)[P.argmax(axis=1)] == y))


def _true_proba(model: Any, P: np.ndarray, y: np.ndarray) -> np.ndarray:
    from trust.unlearn.tuning import model_targets

    return P[np.arange(len(y)), model_targets(model, y)]


def _attack_features(model: Any, P: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    return {"loss": -np.log(np.clip(_true_proba(model, P, y), 1e-12, None)), "confidence": P.max(axis=1)}


def membership_rate(member: np.ndarray, nonmember: np.ndarray, target: np.ndarray, *, random_state: Any = 0) -> float:
    """Share of ``target`` rows a 1-feature logistic-regression attacker calls members.

    The attacker is fitted on ``member`` (label 1) vs ``nonmember`` (label 0) feature values, balanced by
    subsampling the larger side (seeded); the feature is standardised with the training values' mean and sd.
    """
    from sklearn.linear_model import LogisticRegression

    rng = check_random_state(random_state)
    member, nonmember, target = (np.asarray(a, dtype=float).ravel() for a in (member, nonmember, target))
    if min(len(member), len(nonmember)) == 0:
        raise DataError("the membership attack needs member rows (retain) and non-member rows (test of retained "
                        "classes); pass non-empty retain and test sets")
    n = min(len(member), len(nonmember))
    m = member[rng.choice(len(member), n, replace=False)] if len(member) > n else member
    o = nonmember[rng.choice(len(nonmember), n, replace=False)] if len(nonmember) > n else nonmember
    x = np.concatenate([m, o])
    mu, sd = x.mean(), x.std() or 1.0
    attacker = LogisticRegression().fit(((x - mu) / sd)[:, None], np.r_[np.ones(n), np.zeros(n)])
    return float(np.mean(attacker.predict_proba(((target - mu) / sd)[:, None])[:, 1] > 0.5))


def relearn_epochs(model: Any, forget: tuple[Any, np.ndarray], retain: tuple[Any, np.ndarray], *,
                   max_epochs: int = 10, lr: float = 1e-3, target_accuracy: float = 0.5,
                   random_state: Any = 0) -> float:
    """Epochs of fine-tuning (see the module docstring) until forget accuracy reaches ``target_accuracy``.

    0 when it already does; ``max_epochs + 1`` when it does not within ``max_epochs``. ``model`` is not changed.
    """
    from trust.models.training import Callback
    from trust.unlearn.tuning import finetune

    Xf, yf = forget
    Xr, yr = retain
    if _accuracy(model, _proba(model, Xf), yf) >= target_accuracy:
        return 0.0
    rng = check_random_state(random_state)
    pick = rng.choice(len(yr), min(len(yr), len(yf)), replace=False)
    X = np.concatenate([np.asarray(Xf), np.asarray(Xr)[pick]])
    y = np.concatenate([yf, yr[pick]])
    reached: list[int] = []
    probe = copy.copy(model)  # shares no weights with `model`: its network_ is replaced in the callback

    class _Until(Callback):
        def __init__(self) -> None:
            self.network = None

        def on_train_begin(self, net: Any) -> None:
            self.network = net

        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
            probe.network_ = self.network
            self.network.eval()
            hit = _accuracy(probe, _proba(probe, Xf), yf) >= target_accuracy
            self.network.train()
            if hit:
                reached.append(epoch + 1)
            return hit

    finetune(model, X, y, trainable="all", epochs=max_epochs, lr=lr, optimizer="sgd", momentum=0.9,
             batch_size=32, callbacks=[_Until()], random_state=rng)
    return float(reached[0]) if reached else float(max_epochs + 1)


def _figures(model: Any, forget, retain, test_keep, test_forget, *, relearn: bool, relearn_max_epochs: int,
             relearn_lr: float, seed: int) -> dict[str, float]:
    Pf, Pr, Pk, Pq = (_proba(model, d[0]) for d in (forget, retain, test_keep, test_forget))
    out = {"forget_accuracy": _accuracy(model, Pf, forget[1]), "retain_accuracy": _accuracy(model, Pr, retain[1]),
           "test_retain_accuracy": _accuracy(model, Pk, test_keep[1]),
           "test_forget_accuracy": _accuracy(model, Pq, test_forget[1])}
    ff, fr, fk = (_attack_features(model, P, d[1]) for P, d in ((Pf, forget), (Pr, retain), (Pk, test_keep)))
    for kind in ("loss", "confidence"):
        out[f"mia_{kind}"] = membership_rate(fr[kind], fk[kind], ff[kind], random_state=seed)
    out["relearn_epochs"] = (relearn_epochs(model, forget, retain, max_epochs=relearn_max_epochs, lr=relearn_lr,
                                            random_state=seed) if relearn else float("nan"))
    return out


def evaluate_unlearning(model: Any, reference: Any, forget: Sequence[Any], retain: Sequence[Any],
                        test: Sequence[Any], forget_class: int | None = None, *,
                        seconds: tuple[float, float] | None = None, relearn: bool = True,
                        relearn_max_epochs: int = 10, relearn_lr: float = 1e-3,
                        random_state: Any = 0) -> dict[str, float]:
    """Figures of ``model`` beside those of ``reference`` (retrained without the forget rows); see the module docstring.

    Args:
        model: the fitted :class:`~trust.models.NeuralClassifier` to verify (unlearned, or the original).
        reference: the same recipe retrained from scratch on ``retain`` only (its classes must include the
            forgotten class, e.g. ``n_classes=K``, so both models score the same labels).
        forget, retain, test: ``(X, y)`` pairs.
        forget_class: the class forgotten (class unlearning); None for sample unlearning.
        seconds: ``(unlearn_seconds, retrain_seconds)`` for ``runtime_ratio``.
        relearn: compute ``relearn_epochs`` (fine-tunes a copy of each model; the slowest figure).
        relearn_max_epochs, relearn_lr: its cap and learning rate.
        random_state: seed of the attackers' subsampling and of the relearning.

    Returns:
        A flat dict of floats: ``<figure>``, ``retrained.<figure>``, ``gap.<figure>``, ``avg_gap`` and, with
        ``seconds``, ``runtime_ratio``. Neither model is changed.
    """
    for name, m in (("model", model), ("reference", reference)):
        if not hasattr(m, "predict_proba") or not hasattr(m, "classes_"):
            raise ConfigError(f"{name} must be a fitted trust.models.NeuralClassifier")
        check_is_fitted(m, "network_")
    forget, retain, test = _pair(forget, "forget"), _pair(retain, "retain"), _pair(test, "test")
    if len(forget[1]) == 0:
        raise DataError("the forget set is empty; pass the rows to forget (at least one)")
    if len(retain[1]) == 0:
        raise DataError("the retain set is empty; unlearning needs retained rows to compare on")
    relearn_max_epochs = check_scalar(relearn_max_epochs, "relearn_max_epochs", int, min_val=1)
    relearn_lr = check_scalar(relearn_lr, "relearn_lr", float, min_val=0.0, include_boundaries="neither")
    if forget_class is not None:
        forget_class = check_scalar(forget_class, "forget_class", int, min_val=0)
        if forget_class not in np.asarray(model.classes_):
            raise DataError(f"forget_class {forget_class} is not a class of the model "
                            f"({np.asarray(model.classes_).tolist()}); pick one of those")
        keep = test[1] != forget_class
    else:
        keep = np.ones(len(test[1]), dtype=bool)
    X_test = test[0]
    test_keep = (X_test[keep], test[1][keep])
    test_forget = (X_test[~keep], test[1][~keep])
    seed = fork_seed(check_random_state(random_state))
    kw = dict(relearn=relearn, relearn_max_epochs=relearn_max_epochs, relearn_lr=relearn_lr, seed=seed)
    mine = _figures(model, forget, retain, test_keep, test_forget, **kw)
    ref = _figures(reference, forget, retain, test_keep, test_forget, **kw)
    out = dict(mine)
    out.update({f"retrained.{k}": v for k, v in ref.items()})
    out.update({f"gap.{k}": abs(mine[k] - ref[k]) for k in FIGURES})
    gaps = [out[f"gap.{k}"] for k in GAP_FIGURES if math.isfinite(out[f"gap.{k}"])]
    out["avg_gap"] = float(np.mean(gaps))
    if seconds is not None:
        unlearn_s, retrain_s = (check_scalar(float(s), n, float, min_val=0.0)
                                for s, n in zip(seconds, ("unlearn seconds", "retrain seconds")))
        out["runtime_ratio"] = unlearn_s / retrain_s if retrain_s > 0 else float("nan")
    return out


def unlearning_certificate(*, what: str, forget_class: int | None, count: int, fingerprint: str, method: str,
                           params: Mapping[str, Any], unlearned: Mapping[str, float], original: Mapping[str, float],
                           seconds: Mapping[str, float]) -> dict[str, Any]:
    """The certificate of an unlearning run, for an evidence's ``details.certificate``.

    Args:
        what: ``"class"`` or ``"samples"``; forget_class: the class (None for samples).
        count: how many training rows were forgotten (audit trail only: evidence, never a release).
        fingerprint: the keyed fingerprint of the forgotten rows (``pipelines/_stage.fingerprint``).
        method, params: the unlearning method's name and settings.
        unlearned, original: :func:`evaluate_unlearning` of the unlearned and of the original model (each
            with the same reference, so ``retrained.*`` is the reference's figures).
        seconds: ``{"unlearn": s, "retrain": s}``.

    Returns ``{"forgotten": {what, class, count, fingerprint}, "method", "params", "metrics": {figure:
    {"unlearned", "retrained", "original"}}, "seconds": {"unlearn", "retrain"}}``; non-finite figures become None.
    """
    if what not in WHAT:
        raise ConfigError(f"what={what!r} must be one of {list(WHAT)}")
    if (what == "class") != (forget_class is not None):
        raise ConfigError("a class certificate needs forget_class; a samples certificate must have forget_class=None")

    def num(x: Any) -> float | None:
        return float(x) if x is not None and math.isfinite(float(x)) else None

    names = [k for k in FIGURES if k in unlearned] + ["avg_gap"]
    metrics = {k: {"unlearned": num(unlearned.get(k)), "retrained": num(unlearned.get(f"retrained.{k}", 0.0 if k == "avg_gap" else None)),
                   "original": num(original.get(k))} for k in names}
    return {"forgotten": {"what": what, "class": None if forget_class is None else int(forget_class),
                          "count": int(count), "fingerprint": str(fingerprint)},
            "method": str(method), "params": dict(params), "metrics": metrics,
            "seconds": {"unlearn": float(seconds["unlearn"]), "retrain": float(seconds["retrain"])}}


#: policy key -> (figure it gates, description); see :func:`certificate_checks`
POLICY_KEYS = {
    "max_forget_accuracy": "accuracy of the unlearned model on the forgotten class (the larger of its training "
                           "and test rows); class unlearning only",
    "max_mia_gap_to_retrain": "largest |MIA(unlearned) - MIA(retrained)| of the loss- and confidence-based attacks "
                              "on the forget rows",
    "max_retain_gap_to_retrain": "|retained-class test accuracy of the unlearned model - the retrained model's|",
}


def certificate_figures(certificate: Mapping[str, Any], model: str = "unlearned") -> dict[str, float | None]:
    """The gated figures of ``model`` (``"unlearned"``, ``"original"`` or ``"retrained"``) in a certificate."""
    m = certificate["metrics"]

    def get(name: str, who: str) -> float | None:
        v = m.get(name, {}).get(who)
        return None if v is None else float(v)

    out: dict[str, float | None] = {}
    if certificate["forgotten"]["what"] == "class":
        vals = [v for v in (get("forget_accuracy", model), get("test_forget_accuracy", model)) if v is not None]
        out["max_forget_accuracy"] = max(vals) if vals else None
    gaps = []
    for k in ("mia_loss", "mia_confidence"):
        a, r = get(k, model), get(k, "retrained")
        gaps.append(None if a is None or r is None else abs(a - r))
    out["max_mia_gap_to_retrain"] = None if None in gaps else max(gaps)
    a, r = get("test_retain_accuracy", model), get("test_retain_accuracy", "retrained")
    out["max_retain_gap_to_retrain"] = None if a is None or r is None else abs(a - r)
    return out


def certificate_checks(certificate: Mapping[str, Any], policy: Mapping[str, Any], *, label: str = "") -> list[dict[str, Any]]:
    """Evidence checks of the unlearned model's certificate against ``policy`` (thresholds by key).

    One check per key of :data:`POLICY_KEYS` the certificate speaks to (``max_forget_accuracy`` for class
    unlearning only), each with its ``policy_key`` so the report re-gates it; a key missing from ``policy``
    gives a check without a threshold (reported, not gated).
    """
    from trust.evidence import check

    prefix = f"{label}: " if label else ""
    out = []
    for key, value in certificate_figures(certificate).items():
        thr = policy.get(key)
        out.append(check(f"{prefix}{key.removeprefix('max_').replace('_', ' ')}", value,
                         None if thr is None else float(thr), "<=" if thr is not None else None,
                         policy_key=key, description=POLICY_KEYS[key]))
    return out


__all__ = ["FIGURES", "GAP_FIGURES", "POLICY_KEYS", "evaluate_unlearning", "membership_rate", "relearn_epochs",
           "unlearning_certificate", "certificate_figures", "certificate_checks"]
