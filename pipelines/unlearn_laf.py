"""Stage `unlearn_laf`: label-free unlearning (LAF, and LAF+R) verified against a model retrained from scratch.

``python pipelines/unlearn_laf.py`` reads ``outputs/train/<dataset>/{model/, splits.npz}`` and runs one task
(``unlearn_laf.task``):

* ``class``: forget every training row of ``forget_class`` from the train stage's model;
* ``noisy``: relabel ``noisy.rate`` of the training rows of ``noisy.classes`` wrongly (symmetric noise),
  train the recipe on those labels, then forget exactly the relabelled rows (test accuracy should rise);
* ``random``: forget a random ``random.fraction`` of the training rows of ``random.classes`` from the train
  stage's model (uninformative when the retrained model still classifies the removed rows: see the note
  in the evidence).

:class:`~trust.unlearn.laf.LabelAgnosticForgetting` gets the inputs only (forget rows, remaining rows);
LAF+R then repairs the head on ``repair_per_class`` labelled remaining rows per class. With
``compare_concept`` (class task on digits) the concept method of ``unlearn_concept`` (which needs labels)
runs in the same harness and joins the comparison. The reference is
the train stage's recipe (``train.<dataset>.model``, ``train.seed``) retrained on the remaining rows.
Writes ``outputs/unlearn_laf/{model/, accuracy_per_epoch.png, embeddings.png}``,
``metrics/unlearn_laf.json`` and ``evidence/unlearn_laf.json`` (kind ``unlearning``, the certificate of
``certify``: ``LAF`` or ``LAF+R``; the other, the original and the retrained model in
``details.comparison``). Digits and MNIST-1D are public data: no non-DP declaration is needed.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from _stage import ROOT, Stage, fingerprint, main, param, relpath, save_figure

from trust.data import dataset_info, load_array_dataset
from trust.errors import ConfigError

TASKS = ("class", "noisy", "random")
ARRAY_DATASETS = ("digits", "mnist1d")


def _forget_rows(task: str, y_train: np.ndarray, p: dict, k: int, seed: int):
    """``(forget positions in the training rows, labels the model is trained on, forget_class)``."""
    from trust.data.labels import add_label_noise

    rng = np.random.default_rng(seed)
    if task == "class":
        c = param(p, "unlearn_laf.forget_class", int, low=0, high=k - 1)
        return np.flatnonzero(y_train == c), y_train, c
    if task == "noisy":
        classes = param(p, "unlearn_laf.noisy.classes", list)
        rate = param(p, "unlearn_laf.noisy.rate", float, low=0.0, high=1.0, low_open=True)
        edit = add_label_noise(y_train, rate, kind="symmetric", n_classes=k, random_state=rng)
        rows = edit.changed[np.isin(y_train[edit.changed], classes)]
        labels = y_train.copy()
        labels[rows] = edit.y[rows]
        return np.sort(rows), labels, None
    classes = param(p, "unlearn_laf.random.classes", list)
    frac = param(p, "unlearn_laf.random.fraction", float, low=0.0, high=1.0, low_open=True)
    pool = np.flatnonzero(np.isin(y_train, classes))
    return np.sort(rng.choice(pool, size=max(1, int(round(frac * len(pool)))), replace=False)), y_train, None


@main
def run() -> None:
    stage = Stage("unlearn_laf")
    p = stage.params
    cfg = param(p, "unlearn_laf", dict)
    name = param(p, "unlearn_laf.dataset", str, choices=ARRAY_DATASETS)
    task = param(p, "unlearn_laf.task", str, choices=TASKS)
    certify = param(p, "unlearn_laf.certify", str, choices=("LAF", "LAF+R"))
    per_class = param(p, "unlearn_laf.repair_per_class", int, low=1)
    seed = param(p, "unlearn_laf.seed", int, low=0)
    threads = param(p, "unlearn_laf.threads", int, low=1)
    relearn = param(p, "unlearn_laf.relearn", bool)
    compare_concept = param(p, "unlearn_laf.compare_concept", bool)
    settings = param(p, "unlearn_laf.laf", dict)
    train_seed = param(p, "train.seed", int, low=0)
    recipe = param(p, f"train.{name}.model", dict)
    policy = param(p, "policy", dict)

    import torch

    from trust.models import NeuralClassifier
    from trust.unlearn.laf import LabelAgnosticForgetting, per_class_subset
    from trust.unlearn.laf_plots import plot_accuracy_per_epoch, plot_embeddings
    from trust.unlearn.metrics import certificate_checks, evaluate_unlearning, unlearning_certificate

    torch.set_num_threads(threads)
    src = ROOT / "outputs" / "train" / name
    if not (src / "model").is_dir():
        raise ConfigError(f"'{src / 'model'}' is missing; run the train stage first (dvc repro train@{name})")
    ds = load_array_dataset(name)
    with np.load(src / "splits.npz") as z:
        train_idx, val_idx, test_idx = z["train"], z["val"], z["test"]
    k = int(ds.y.max()) + 1
    Xtr, ytr = ds.X[train_idx], ds.y[train_idx]
    Xte, yte = ds.X[test_idx], ds.y[test_idx]
    forget, labels, forget_class = _forget_rows(task, ytr, p, k, seed)
    keep = np.setdiff1d(np.arange(len(ytr)), forget)

    def recipe_model() -> NeuralClassifier:
        return NeuralClassifier(**recipe, n_classes=k, random_state=train_seed)

    fp_all = fingerprint(pd.DataFrame(ds.X.reshape(len(ds.X), -1)).assign(label=ds.y))
    fp_forget = fingerprint(pd.DataFrame(Xtr[forget].reshape(len(forget), -1)).assign(label=labels[forget]))
    with stage.run({"dataset": name, **cfg}, {name: fp_all, f"{name}/forget": fp_forget}):
        if task == "noisy":  # the original is trained on the noisy labels here
            original = recipe_model().fit(Xtr, labels)
        else:
            original = NeuralClassifier.load(src / "model", device="cpu")
        t0 = time.perf_counter()
        retrained = recipe_model().fit(Xtr[keep], labels[keep])
        retrain_s = time.perf_counter() - t0

        laf = LabelAgnosticForgetting(**settings, record_predictions=True, random_state=seed, progress=False)
        laf.fit(original, Xtr[forget], Xtr[keep])  # inputs only: no labels reach LAF
        laf_model, laf_s = laf.laf_model_, laf.seconds_
        pick = keep[per_class_subset(labels[keep], per_class, random_state=seed)]
        laf.repair(Xtr[pick], labels[pick])
        lafr_model, lafr_s = laf.model_, laf.seconds_ + laf.repair_seconds_

        sets = dict(forget=(Xtr[forget], labels[forget]), retain=(Xtr[keep], labels[keep]), test=(Xte, yte),
                    forget_class=forget_class, relearn=relearn, random_state=seed)
        figs = {"LAF": evaluate_unlearning(laf_model, retrained, seconds=(laf_s, retrain_s), **sets),
                "LAF+R": evaluate_unlearning(lafr_model, retrained, seconds=(lafr_s, retrain_s), **sets),
                "original": evaluate_unlearning(original, retrained, **sets)}
        if compare_concept and task == "class" and name == "digits":
            # the concept method (issue 12) in the same harness; it needs labels and the digit concept matrix
            from trust.unlearn import ConceptUnlearner, digit_concepts

            concept = ConceptUnlearner(**param(p, "unlearn_concept.concept", dict), random_state=seed)
            concept.fit(original, Xtr, ytr, forget_class, digit_concepts(),
                        eval_set=(ds.X[val_idx], ds.y[val_idx]))
            figs["concept (labelled)"] = evaluate_unlearning(concept.model_, retrained,
                                                             seconds=(concept.seconds_, retrain_s), **sets)
        certified = laf_model if certify == "LAF" else lafr_model
        params = {**laf.get_params(), "task": task, "repair_per_class": per_class if certify == "LAF+R" else None}
        params.pop("progress", None)
        cert = unlearning_certificate(
            what="class" if task == "class" else "samples", forget_class=forget_class, count=len(forget),
            fingerprint=fp_forget, method=certify, params=params, unlearned=figs[certify],
            original=figs["original"], seconds={"unlearn": laf_s if certify == "LAF" else lafr_s, "retrain": retrain_s})
        checks = certificate_checks(cert, policy, label=f"{name} {task} ({certify})")

        out = stage.out_dir
        certified.save(out / "model")
        yf, yk = labels[forget], labels[keep]
        f_acc = [float((pred == yf).mean()) for pred in laf.history_["forget_pred"]]
        r_acc = [float((pred == yk).mean()) for pred in laf.history_["remain_pred"]]
        before = (float((original.predict(Xtr[forget]) == yf).mean()), float((original.predict(Xtr[keep]) == yk).mean()))
        ref = {"forget": figs["LAF"]["retrained.forget_accuracy"], "remain": figs["LAF"]["retrained.retain_accuracy"]}
        save_figure(plot_accuracy_per_epoch(f_acc, r_acc, before=before, retrained=ref,
                                            title=f"LAF on {name}, task {task}: training-row accuracy"),
                    out / "accuracy_per_epoch.png")
        sample = keep[np.random.default_rng(seed).permutation(len(keep))[:600]]
        save_figure(plot_embeddings((original.embed(Xtr[forget]), original.embed(Xtr[sample])),
                                    (laf_model.embed(Xtr[forget]), laf_model.embed(Xtr[sample])),
                                    title=f"{name}: embeddings of forget vs remaining rows (PCA of the original's)"),
                    out / "embeddings.png")
        plots = [{"title": "LAF: accuracy on forget / remaining training rows per epoch (dotted: retrained)",
                  "path": relpath(out / "accuracy_per_epoch.png")},
                 {"title": "Embeddings of forget vs remaining rows before and after LAF (PCA)",
                  "path": relpath(out / "embeddings.png")}]

        keys = ("forget_accuracy", "retain_accuracy", "test_retain_accuracy", "test_forget_accuracy",
                "mia_loss", "mia_confidence", "relearn_epochs", "avg_gap", "runtime_ratio")
        comparison = {m: {key: figs[m].get(key) for key in keys if key in figs[m]} for m in figs}
        comparison["retrained"] = {key: figs["LAF"].get(f"retrained.{key}") for key in keys[:7]}
        comparison = {m: {key: (None if v is None or not np.isfinite(v) else float(v)) for key, v in row.items()}
                      for m, row in comparison.items()}
        metrics = {f"{m.split(' ')[0].lower().replace('+', '_')}.{key}": v for m, row in comparison.items()
                   for key, v in row.items() if v is not None}
        metrics.update({"seconds.laf": laf_s, "seconds.laf_r": lafr_s, "seconds.retrain": retrain_s,
                        "laf.steps_per_epoch": float(laf.history_["steps"][0])})
        note = ""
        if task == "random" and comparison["retrained"]["forget_accuracy"] is not None:
            gen = comparison["retrained"]["forget_accuracy"]
            note = (f"The retrained model classifies {gen:.1%} of the removed rows correctly without having seen "
                    "them: random-row removal is uninformative on this data when that is close to the original's.")
        if task == "noisy":
            t_o, t_l, t_r = (comparison[m]["test_retain_accuracy"] for m in ("original", "LAF", "retrained"))
            note = (f"Test accuracy: trained on noisy labels {t_o:.4f}, after LAF {t_l:.4f}, retrained without the "
                    f"noisy rows {t_r:.4f}.")
        from trust.evidence import check
        if task == "noisy":
            checks.append(check(f"{name} noisy: LAF recovers test accuracy", comparison["LAF"]["test_retain_accuracy"],
                                comparison["original"]["test_retain_accuracy"], ">",
                                description="test accuracy after forgetting the mislabelled rows vs the noisy model"))
        stage.finish(kind="unlearning", title=f"Label-agnostic forgetting ({certify}): {name}, task {task}",
                     metrics=metrics, checks=checks, plots=plots,
                     data=[{"name": name, "fingerprint": fp_all, "role": "input", "source": dataset_info(name).source,
                            "licence": dataset_info(name).licence},
                           {"name": f"{name}/forget", "fingerprint": fp_forget, "role": "forgotten"}],
                     details={"certificate": cert, "comparison": comparison, "note": note,
                              "model_dir": relpath(out / "model")})


if __name__ == "__main__":
    run()
