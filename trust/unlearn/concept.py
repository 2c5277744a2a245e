"""Concept-based class unlearning (Chang et al. 2024): concepts, Integrated Gradients, label poisoning.

>>> from trust.unlearn import ConceptUnlearner, digit_concepts
>>> u = ConceptUnlearner(poison="targeted", random_state=0).fit(model, X_train, y_train, forget_class=3,  # doctest: +SKIP
...                                                           concepts=digit_concepts())
>>> u.model_, u.donor_class_, u.concept_importance_  # doctest: +SKIP

Steps (``fit``):

1. **Concept activation vectors (CAVs).** For each concept ``c`` of the class-by-concept matrix
   ``A`` (classes x concepts, 0/1), a linear SVM (``sklearn.svm.LinearSVC``, balanced classes) on the
   model's embeddings ``e(x)`` (``model.embed``) separates examples of classes with ``A[y, c] = 1``
   from the rest. Its held-out accuracy (on ``eval_set``, else on a stratified quarter of ``X`` kept
   out of every fit below) is ``cav_accuracy_``. A concept that every class present shows, or none,
   has no negatives (or positives) and is skipped (``skipped_concepts_``).
2. **Post-hoc concept bottleneck (PCBM, Yuksekgonul et al. 2023).** Concept scores are signed
   distances to the CAV hyperplanes, ``s_c(x) = (w_c . e(x) + b_c) / ||w_c||``, standardised with the
   fitting rows' mean and sd; a sparse linear classifier on them (logistic regression with an
   elastic-net penalty, l1 ratio 0.99, as PCBM) predicts the class. ``pcbm_accuracy_`` is beside the
   original model's ``model_accuracy_`` on the same held-out rows.
3. **Concept inference.** Captum's ``IntegratedGradients`` attributes the PCBM's class logits to the
   concept scores, with an explicit baseline (``ig_baseline``: the mean standardised score, i.e. 0, or the
   score of an all-zero embedding), ``n_steps`` steps, and the convergence delta (completeness error:
   sum of attributions minus the logit difference between input and baseline) kept in ``ig_delta_``
   (its largest absolute value). The importance of concept ``c`` for class ``k`` is the mean attribution
   to logit ``k`` over (at most ``ig_rows``) fitting rows of class ``k`` (``concept_importance_``, classes x concepts).
4. **Donor class.** The forget class's ``top_concepts`` most important concepts (largest positive
   importance) are compared with every retained class's: the donor is the class whose top set overlaps
   most (Jaccard index), ties broken by the cosine similarity of the importance rows.
5. **Poisoning and fine-tuning.** The forget class's training rows are relabelled: to the donor
   (``poison="targeted"``) or to a uniformly random retained class per row (``"random"``); a copy of the
   model is fine-tuned on the whole training set so relabelled (:func:`trust.unlearn.tuning.finetune`:
   ``trainable`` layers, ``epochs``, ``lr``, SGD with momentum 0.9, batch 32; the paper freezes all but the
   last layers). ``model_`` is that copy; ``seconds_`` the wall-clock time of the whole fit.

Deviations from the paper, said here:

- The paper ranks concepts with Integrated Gradients through the backbone on images; its public code
  ranks them with the PCBM weights. Here IG runs on the PCBM head, from concept scores to class logits;
  as that head is linear, IG equals (score - baseline) x weight exactly and the delta is rounding error:
  the Captum call is kept so that a non-linear head (or a different baseline) is attributed the same way.
- The paper's concepts come with images annotated per concept (or CLIP text embeddings of concept
  names); here they come from the class-level matrix, so a CAV is learnt from class membership.
- Poisoning flips labels only (no image perturbation), which the authors' own notes say forgets fully.
- The elastic-net strength ``pcbm_C`` is fixed, not tuned by cross-validation as in PCBM.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from trust._validation import check_is_fitted, check_labels, check_option, check_random_state, check_scalar, fork_seed
from trust.data.concepts import check_concept_matrix
from trust.errors import ConfigError, DataError

POISONS = ("targeted", "random")
IG_BASELINES = ("mean", "zero")


def check_forget_class(model: Any, y: np.ndarray, forget_class: Any) -> int:
    """``forget_class`` as an int that is a class of ``model``, present in ``y``, with another class left in ``y``."""
    classes = np.asarray(model.classes_)
    if isinstance(forget_class, bool) or not isinstance(forget_class, (int, np.integer)):
        raise ConfigError(f"forget_class={forget_class!r} must be an integer class label, one of {classes.tolist()}")
    k = int(forget_class)
    if k not in classes:
        raise DataError(f"forget_class {k} is not a class of the model (its classes: {classes.tolist()}); "
                        "pick one of those")
    if not (y == k).any():
        raise DataError(f"the training rows hold no example of class {k}, so there is nothing to forget; "
                        "pass the rows the model was trained on")
    left = np.setdiff1d(np.unique(y), [k])
    if len(left) == 0:
        raise DataError(f"forgetting class {k} would leave no other class to predict ({len(left)} left); a classifier "
                        "needs at least one retained class")
    return k


def _concept_matrix_for(model: Any, concepts: Any) -> pd.DataFrame:
    A = check_concept_matrix(concepts)
    classes = np.asarray(model.classes_).tolist()
    if sorted(A.index.tolist()) != sorted(classes):
        raise DataError(f"the concept matrix's classes {A.index.tolist()} do not match the model's classes "
                        f"{classes}; give one row per class of the model")
    return A.loc[classes]


class ConceptUnlearner(BaseEstimator):
    """Forget one class of a fitted :class:`~trust.models.NeuralClassifier` by concept-guided label poisoning.

    Args:
        poison: ``"targeted"`` (relabel to the donor class found by concept inference) or ``"random"``
            (a random retained class per row).
        trainable: layers fine-tuned (``"head"``: all but the last layer frozen, as the paper; ``"all"``;
            or parameter-name prefixes).
        epochs, lr, batch_size, momentum: SGD fine-tuning (paper: 20-30 epochs, lr 1e-3, momentum 0.9, batch 32).
        top_concepts: how many of each class's most important concepts define its overlap with the forget class.
        svm_C: the CAV SVMs' regularisation; pcbm_C: the PCBM's elastic-net strength (inverse);
            pcbm_l1_ratio: its l1 share (0.99 as PCBM).
        ig_baseline: ``"mean"`` (the average standardised concept score) or ``"zero"`` (the concept scores of an
            all-zero embedding); n_steps: IG's steps; ig_rows: at most this many (seeded) fitting rows per class
            are attributed (the importance is their mean).
        holdout: share of ``X`` kept out of the CAV and PCBM fits to measure them, when no ``eval_set`` is given.
        device: where to fine-tune (default: where the model is). random_state: seed of every draw.

    Attributes:
        model_: the unlearned copy. donor_class_: the donor (``None`` with ``poison="random"``; the class it
        would have been is in ``overlap_``). concept_importance_: DataFrame classes x concepts (IG).
        overlap_: Series, each retained class's Jaccard overlap of top concepts with the forget class.
        cav_accuracy_: Series, held-out accuracy per concept. pcbm_accuracy_, model_accuracy_: on the held-out
        rows. ig_delta_: the largest |convergence delta|. concepts_: the concepts used; skipped_concepts_.
        forget_class_, n_relabelled_, seconds_ (whole fit), seconds_finetune_.
    """

    def __init__(self, poison: str = "targeted", *, trainable: str | Sequence[str] = "head", epochs: int = 20,
                 lr: float = 1e-3, batch_size: int = 32, momentum: float = 0.9, top_concepts: int = 3,
                 svm_C: float = 0.1, pcbm_C: float = 1.0, pcbm_l1_ratio: float = 0.99, ig_baseline: str = "mean",
                 n_steps: int = 50, ig_rows: int = 50, holdout: float = 0.25, device: str | None = None,
                 random_state: Any = 0) -> None:
        self.poison = poison
        self.trainable = trainable
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.momentum = momentum
        self.top_concepts = top_concepts
        self.svm_C = svm_C
        self.pcbm_C = pcbm_C
        self.pcbm_l1_ratio = pcbm_l1_ratio
        self.ig_baseline = ig_baseline
        self.n_steps = n_steps
        self.ig_rows = ig_rows
        self.holdout = holdout
        self.device = device
        self.random_state = random_state

    # ------------------------------------------------------------------ steps
    def _check_settings(self) -> None:
        check_option(self.poison, "poison", POISONS)
        check_option(self.ig_baseline, "ig_baseline", IG_BASELINES)
        for key in ("epochs", "batch_size", "top_concepts", "n_steps", "ig_rows"):
            check_scalar(getattr(self, key), key, int, min_val=1)
        for key in ("lr", "svm_C", "pcbm_C"):
            check_scalar(getattr(self, key), key, float, min_val=0.0, include_boundaries="neither")
        check_scalar(self.momentum, "momentum", float, min_val=0.0, max_val=1.0, include_boundaries="left")
        check_scalar(self.pcbm_l1_ratio, "pcbm_l1_ratio", float, min_val=0.0, max_val=1.0)
        check_scalar(self.holdout, "holdout", float, min_val=0.0, max_val=1.0, include_boundaries="neither")

    def _fit_cavs(self, E: np.ndarray, y: np.ndarray, Ev: np.ndarray, yv: np.ndarray, A: pd.DataFrame,
                  seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """CAVs as unit normals ``W`` (concepts, d) and offsets ``b`` (concepts,), held-out accuracy per concept."""
        from sklearn.svm import LinearSVC

        present = np.unique(y)
        kept, normals, offsets, acc, skipped = [], [], [], {}, []
        for c in A.columns:
            pos = A.loc[present, c].to_numpy()
            if pos.all() or not pos.any():
                skipped.append(c)
                continue
            t = A[c].reindex(y).to_numpy()                  # (n,) 0/1 concept label of each row
            svm = LinearSVC(C=self.svm_C, class_weight="balanced", random_state=seed, max_iter=5000).fit(E, t)
            w, b = svm.coef_[0], float(svm.intercept_[0])   # (d,), scalar
            norm = float(np.linalg.norm(w)) or 1.0
            normals.append(w / norm)
            offsets.append(b / norm)
            acc[c] = float(np.mean(svm.predict(Ev) == A[c].reindex(yv).to_numpy())) if len(yv) else float("nan")
            kept.append(c)
        if not kept:
            raise DataError("no concept of the matrix separates the classes present (each is shown by all of them "
                            "or none); give a matrix whose concepts differ between classes")
        self.skipped_concepts_ = skipped
        self.cav_accuracy_ = pd.Series(acc, name="cav_accuracy")
        return np.stack(normals), np.asarray(offsets), kept

    def concept_scores(self, X: Any, model: Any | None = None) -> np.ndarray:
        """``(N, concepts)`` standardised concept scores of ``X`` under ``model`` (default: the original model)."""
        check_is_fitted(self, "cav_normals_")
        E = (model or self.original_).embed(X)             # (N, d) embeddings
        S = E @ self.cav_normals_.T + self.cav_offsets_    # (N, C) signed distances to the CAV hyperplanes
        return (S - self.score_mean_) / self.score_scale_  # (N, C) standardised

    def ig_baseline_scores(self, n: int) -> np.ndarray:
        """``(n, concepts)`` IG baseline in standardised concept-score space (see ``ig_baseline``)."""
        check_is_fitted(self, "pcbm_")
        if self.ig_baseline == "mean":
            return np.zeros((n, len(self.concepts_)))                  # the mean standardised score
        zero = (self.cav_offsets_ - self.score_mean_) / self.score_scale_   # (C,): the scores of e = 0
        return np.broadcast_to(zero, (n, len(self.concepts_))).copy()

    def attribute(self, scores: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        """Integrated Gradients of the PCBM's logit ``target[i]`` w.r.t. the concept scores of row ``i``.

        Args:
            scores: ``(N, concepts)`` standardised concept scores (:meth:`concept_scores`).
            target: ``(N,)`` output columns (positions in the model's ``classes_``).

        Returns ``(attributions (N, concepts), convergence delta (N,))``: by completeness
        ``attributions.sum(1) = logit(scores) - logit(baseline) + delta`` (Captum's sign convention).
        """
        import torch
        from captum.attr import IntegratedGradients

        check_is_fitted(self, "pcbm_")
        S = np.asarray(scores, dtype=np.float64)
        K, C = self.pcbm_.coef_.shape
        head = torch.nn.Linear(C, K).double()
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(self.pcbm_.coef_))       # (K, C)
            head.bias.copy_(torch.as_tensor(self.pcbm_.intercept_))    # (K,)
        head.eval()
        inputs = torch.as_tensor(S)                                    # (N, C) concept scores
        base = torch.as_tensor(self.ig_baseline_scores(len(S)))        # (N, C) explicit baseline
        tgt = torch.as_tensor(np.asarray(target), dtype=torch.long)    # (N,) the logit attributed, per row
        attr, delta = IntegratedGradients(head).attribute(
            inputs, baselines=base, target=tgt, n_steps=self.n_steps, return_convergence_delta=True)  # (N, C), (N,)
        return attr.detach().numpy(), delta.detach().numpy()

    def _importance(self, S: np.ndarray, y_pos: np.ndarray, n_classes: int) -> np.ndarray:
        """Mean IG attribution per (class, concept) over rows of that class, to its own logit; sets ``ig_delta_``."""
        attr, delta = self.attribute(S, y_pos)                         # (N, C), (N,)
        self.ig_delta_ = float(np.abs(delta).max())
        imp = np.zeros((n_classes, S.shape[1]))
        for k in range(n_classes):
            rows = y_pos == k
            if rows.any():
                imp[k] = attr[rows].mean(axis=0)
        return imp                                                     # (K, C)

    def _donor(self, imp: pd.DataFrame, k: int, present: np.ndarray) -> tuple[int, pd.Series]:
        def top(c: Any) -> set[str]:
            row = imp.loc[c]
            row = row[row > 0].sort_values(ascending=False)
            return set(row.index[: self.top_concepts])

        mine, ref = top(k), imp.loc[k].to_numpy()
        scores, ties = {}, {}
        for c in present:
            if c == k:
                continue
            other = top(c)
            union = mine | other
            scores[int(c)] = len(mine & other) / len(union) if union else 0.0
            v = imp.loc[c].to_numpy()
            ties[int(c)] = float(ref @ v / ((np.linalg.norm(ref) * np.linalg.norm(v)) or 1.0))
        donor = max(scores, key=lambda c: (scores[c], ties[c]))
        return donor, pd.Series(scores, name="overlap")

    def _fit_pcbm(self, S: np.ndarray, y_pos: np.ndarray, K: int, seed: int) -> Any:
        """The sparse linear classifier on standardised concept scores (elastic net, l1 ratio ``pcbm_l1_ratio``)."""
        from sklearn.linear_model import LogisticRegression

        pcbm = LogisticRegression(solver="saga", l1_ratio=self.pcbm_l1_ratio, C=self.pcbm_C,  # elastic net
                                  max_iter=2000, random_state=seed)
        pcbm.fit(S, y_pos)
        if len(pcbm.classes_) != K:  # a class absent from the fitting rows: give it a column of -inf-like logits
            coef, icpt = np.zeros((K, S.shape[1])), np.full(K, -1e3)
            coef[pcbm.classes_], icpt[pcbm.classes_] = pcbm.coef_, pcbm.intercept_
            pcbm.coef_, pcbm.intercept_, pcbm.classes_ = coef, icpt, np.arange(K)
        return pcbm

    # ------------------------------------------------------------------ fit
    def fit(self, model: Any, X: Any, y: Any, forget_class: int, concepts: pd.DataFrame, *,
            eval_set: tuple[Any, Any] | None = None) -> "ConceptUnlearner":
        """Unlearn ``forget_class`` from a copy of the fitted ``model``; returns self.

        Args:
            model: a fitted :class:`~trust.models.NeuralClassifier` (with ``embed``); left unchanged.
            X, y: its training rows and labels.
            forget_class: the class to forget.
            concepts: the class-by-concept matrix (DataFrame indexed by the model's classes, 0/1 columns),
                e.g. :func:`trust.unlearn.digit_concepts`.
            eval_set: ``(X_val, y_val)`` to measure the CAVs and the PCBM on (default: a held-out share of ``X``).
        """
        from sklearn.model_selection import train_test_split

        from trust.unlearn.tuning import finetune, model_targets

        t0 = time.perf_counter()
        self._check_settings()
        check_is_fitted(model, "network_")
        labels = check_labels(y, len(X))
        if len(labels) == 0:
            raise DataError("X is empty; pass the model's training rows")
        k = check_forget_class(model, labels, forget_class)
        A = _concept_matrix_for(model, concepts)
        rng = check_random_state(self.random_state)
        seed = fork_seed(rng) % (2 ** 32)  # scikit-learn takes 32-bit seeds
        X = np.asarray(X)
        E = model.embed(X)                                              # (n, d)
        if eval_set is not None:
            Xv, yv = np.asarray(eval_set[0]), check_labels(eval_set[1], len(eval_set[0]), name="y_val")
            fit_idx = np.arange(len(labels))
            Ev = model.embed(Xv)
        else:
            counts = np.bincount(labels)
            strat = labels if counts[counts > 0].min() >= 2 else None
            fit_idx, val_idx = train_test_split(np.arange(len(labels)), test_size=self.holdout, random_state=seed,
                                                stratify=strat)
            Xv, yv, Ev = X[val_idx], labels[val_idx], E[val_idx]
        Ef, yf = E[fit_idx], labels[fit_idx]
        self.original_ = model
        W, b, kept = self._fit_cavs(Ef, yf, Ev, yv, A, seed)
        self.cav_normals_, self.cav_offsets_, self.concepts_ = W, b, kept
        raw = Ef @ W.T + b                                              # (n_fit, C) concept scores
        self.score_mean_, self.score_scale_ = raw.mean(axis=0), raw.std(axis=0)
        self.score_scale_[self.score_scale_ == 0] = 1.0
        S = (raw - self.score_mean_) / self.score_scale_                # (n_fit, C) standardised
        K = len(model.classes_)
        yf_pos = model_targets(model, yf)
        self.pcbm_ = self._fit_pcbm(S, yf_pos, K, seed)
        if len(yv):
            Sv = ((Ev @ W.T + b) - self.score_mean_) / self.score_scale_
            self.pcbm_accuracy_ = float(np.mean(np.asarray(model.classes_)[self.pcbm_.predict(Sv)] == yv))
            self.model_accuracy_ = float(np.mean(model.predict(Xv) == yv))
        else:
            self.pcbm_accuracy_ = self.model_accuracy_ = float("nan")
        ig_idx = np.concatenate([rng.permutation(np.flatnonzero(yf_pos == c))[: self.ig_rows] for c in range(K)])
        imp = self._importance(S[ig_idx], yf_pos[ig_idx], K)
        self.concept_importance_ = pd.DataFrame(imp, index=pd.Index(np.asarray(model.classes_), name="class"),
                                                columns=kept)
        present = np.unique(labels)
        donor, self.overlap_ = self._donor(self.concept_importance_, k, present)
        retained = present[present != k]
        poisoned = labels.copy()
        forget_rows = labels == k
        if self.poison == "targeted":
            poisoned[forget_rows] = donor
            self.donor_class_: int | None = donor
        else:
            poisoned[forget_rows] = rng.choice(retained, int(forget_rows.sum()))
            self.donor_class_ = None
        self.forget_class_, self.n_relabelled_ = k, int(forget_rows.sum())
        t1 = time.perf_counter()
        self.model_ = finetune(model, X, poisoned, trainable=self.trainable, epochs=self.epochs, lr=self.lr,
                               optimizer="sgd", momentum=self.momentum, batch_size=self.batch_size,
                               random_state=rng, device=self.device)
        now = time.perf_counter()
        self.seconds_finetune_ = now - t1
        self.seconds_ = now - t0
        return self


__all__ = ["ConceptUnlearner", "POISONS", "IG_BASELINES", "check_forget_class"]
