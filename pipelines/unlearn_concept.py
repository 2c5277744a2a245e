"""Stage `unlearn_concept`: forget one class of a base classifier by concept-guided label poisoning, certified.

``python pipelines/unlearn_concept.py`` reads the ``train`` stage's model and splits of
``unlearn_concept.dataset`` (``outputs/train/<dataset>/``), retrains the same recipe from scratch without
``forget_class`` (the gold standard), runs :class:`trust.unlearn.ConceptUnlearner` and the baselines of
``unlearn_concept.baselines`` in the same harness, and scores each with
:func:`trust.unlearn.evaluate_unlearning` beside the retrained model. Writes:

* ``outputs/unlearn_concept/model/``: the unlearned model (``NeuralClassifier.load``);
* ``outputs/unlearn_concept/concept_importance.png``, ``methods_vs_retrain.png``: the plots;
* ``metrics/unlearn_concept.json``: every figure of every method, the retrained and the original model;
* ``evidence/unlearn_concept.json`` (kind ``unlearning``): the certificate (``details.certificate``), the
  methods' comparison, the concept analysis, checks gated by ``policy:``, an MLflow run.

Digits and MNIST-1D are public data: no non-DP use to declare.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _stage import ROOT, Stage, fingerprint, main, param, relpath, save_figure

from trust.data import dataset_info, load_array_dataset
from trust.data.concepts import digit_concepts, load_concept_matrix
from trust.errors import ConfigError, DataError
from trust.models import NeuralClassifier
from trust.evidence import check
from trust.unlearn.baselines import METHODS, BaselineUnlearner
from trust.unlearn.concept import ConceptUnlearner
from trust.unlearn.metrics import FIGURES, certificate_checks, evaluate_unlearning, unlearning_certificate


def _plots(stage: Stage, importance: pd.DataFrame, comparison: dict, forget_class: int) -> list[dict[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = stage.out_dir
    fig, ax = plt.subplots(figsize=(7, 4.2))
    lim = float(np.abs(importance.to_numpy()).max()) or 1.0
    im = ax.imshow(importance.to_numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(importance.shape[1]), importance.columns, rotation=45, ha="right")
    ax.set_yticks(range(importance.shape[0]), [f"{c}{' (forget)' if c == forget_class else ''}" for c in importance.index])
    ax.set_xlabel("concept")
    ax.set_ylabel("class")
    ax.set_title("Concept importance (mean Integrated Gradients to the class logit)")
    fig.colorbar(im, ax=ax)
    save_figure(fig, out / "concept_importance.png")

    figs = ["forget_accuracy", "test_forget_accuracy", "test_retain_accuracy", "mia_loss", "mia_confidence"]
    methods = list(comparison)
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(methods)
    for i, m in enumerate(methods):
        ax.bar(np.arange(len(figs)) + i * width, [comparison[m].get(f) or 0.0 for f in figs], width, label=m)
    ax.set_xticks(np.arange(len(figs)) + 0.4 - width / 2, figs, rotation=20, ha="right")
    ax.set_ylabel("value")
    ax.set_title(f"Forgetting class {forget_class}: each method beside the retrained model")
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, out / "methods_vs_retrain.png")
    return [{"title": "Concept importance per class (IG)", "path": relpath(out / "concept_importance.png")},
            {"title": "Unlearning methods vs retrain", "path": relpath(out / "methods_vs_retrain.png")}]


@main
def run() -> None:
    stage = Stage("unlearn_concept")
    p = stage.params
    name = param(p, "unlearn_concept.dataset", str)
    forget_class = param(p, "unlearn_concept.forget_class", int, low=0)
    seed = param(p, "unlearn_concept.seed", int, low=0)
    threads = param(p, "unlearn_concept.threads", int, low=1)
    concepts_src = param(p, "unlearn_concept.concepts", str)
    settings = param(p, "unlearn_concept.concept", dict)
    baselines = param(p, "unlearn_concept.baselines", list, choices=[m for m in METHODS if m != "retrain"])
    relearn_max = param(p, "unlearn_concept.relearn_max_epochs", int, low=1)
    policy = param(p, "policy", dict)
    if "random_state" in settings:
        raise ConfigError("params.yaml: 'unlearn_concept.concept' must not hold random_state; unlearn_concept.seed is used")

    import torch

    torch.set_num_threads(threads)
    src = ROOT / "outputs" / "train" / name
    if not (src / "model").is_dir():
        raise DataError(f"'{relpath(src)}/model' is missing; run the train stage for '{name}' first (dvc repro train)")
    model = NeuralClassifier.load(src / "model", device="cpu")
    with np.load(src / "splits.npz") as z:
        tr, va, te = z["train"], z["val"], z["test"]
    ds = load_array_dataset(name)
    X, y = ds.X, ds.y
    concepts = digit_concepts() if concepts_src == "digits" else load_concept_matrix(ROOT / concepts_src)
    forget_rows = tr[y[tr] == forget_class]
    retain_rows = tr[y[tr] != forget_class]
    fp_all = fingerprint(pd.DataFrame(X.reshape(len(X), -1)).assign(label=y))
    fp_forget = fingerprint(pd.DataFrame(X[forget_rows].reshape(len(forget_rows), -1)).assign(label=y[forget_rows]))
    info = dataset_info(name)
    with stage.run({"dataset": name, "forget_class": forget_class, "seed": seed, "concepts": concepts_src,
                    "baselines": baselines, **{f"concept.{k}": v for k, v in settings.items()}},
                   {name: fp_all, f"{name}/forget": fp_forget}):
        import captum.attr  # noqa: F401  (imported before the clocks start: one-off costs of the process)
        import sklearn.linear_model  # noqa: F401
        import sklearn.model_selection  # noqa: F401
        import sklearn.svm  # noqa: F401
        import torch._dynamo  # noqa: F401  (the first optimiser imports it: seconds, once per process)

        retrain = BaselineUnlearner("retrain", random_state=seed).fit(model, X[tr], y[tr], forget_class)
        retrain_s = retrain.seconds_
        unlearner = ConceptUnlearner(**settings, random_state=seed)
        unlearner.fit(model, X[tr], y[tr], forget_class, concepts, eval_set=(X[va], y[va]))
        concept_s = unlearner.seconds_
        ref = retrain.model_
        parts = dict(forget=(X[forget_rows], y[forget_rows]), retain=(X[retain_rows], y[retain_rows]),
                     test=(X[te], y[te]), forget_class=forget_class, relearn_max_epochs=relearn_max,
                     random_state=seed)
        tune = {k: settings[k] for k in ("trainable", "epochs", "lr", "batch_size", "momentum") if k in settings}
        figures = {"concept": evaluate_unlearning(unlearner.model_, ref, **parts, seconds=(concept_s, retrain_s)),
                   "original": evaluate_unlearning(model, ref, **parts)}
        for m in baselines:
            b = BaselineUnlearner(m, **tune, random_state=seed).fit(model, X[tr], y[tr], forget_class)
            figures[m] = evaluate_unlearning(b.model_, ref, **parts, seconds=(b.seconds_, retrain_s))
        cert = unlearning_certificate(
            what="class", forget_class=forget_class, count=len(forget_rows), fingerprint=fp_forget,
            method=f"concept-based label poisoning ({unlearner.poison})",
            params={**unlearner.get_params(), "donor_class": unlearner.donor_class_},
            unlearned=figures["concept"], original=figures["original"],
            seconds={"unlearn": concept_s, "retrain": retrain_s})
        comparison = {"retrained": {k: figures["concept"][f"retrained.{k}"] for k in FIGURES} | {"avg_gap": 0.0}}
        for m, f in figures.items():
            comparison[m] = {k: f[k] for k in (*FIGURES, "avg_gap", "runtime_ratio") if k in f}
        comparison = {m: {k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in f.items()}
                      for m, f in comparison.items()}
        unlearner.model_.save(stage.out_dir / "model")
        plots = _plots(stage, unlearner.concept_importance_, comparison, forget_class)
        cav = unlearner.cav_accuracy_
        checks = certificate_checks(cert, policy, label=f"{name} class {forget_class}")
        checks += [
            check("CAVs: mean held-out accuracy above 0.5", float(cav.mean()), 0.5, ">",
                  description="linear SVM per concept on the model's embeddings, scored on the validation split"),
            check("PCBM accuracy within 0.1 of the original model", unlearner.model_accuracy_ - unlearner.pcbm_accuracy_,
                  0.1, "<=", description="validation accuracy of the original model minus the concept bottleneck's"),
            check("Integrated Gradients: largest |convergence delta|", unlearner.ig_delta_, 1e-3, "<=",
                  description="completeness error of the attributions (sum vs logit difference to the baseline)"),
        ]
        metrics = {f"{m}.{k}": v for m, f in comparison.items() for k, v in f.items() if v is not None}
        metrics.update({f"cav_accuracy.{c}": float(a) for c, a in cav.items()})
        metrics.update({"pcbm_accuracy": unlearner.pcbm_accuracy_, "model_accuracy": unlearner.model_accuracy_,
                        "ig_delta": unlearner.ig_delta_, "seconds.unlearn": concept_s, "seconds.retrain": retrain_s})
        data = [{"name": name, "fingerprint": fp_all, "role": "input", "source": info.source, "licence": info.licence},
                {"name": f"{name}/forget", "fingerprint": fp_forget, "role": "forgotten rows (class)",
                 "rows": int(len(forget_rows))}]
        imp = unlearner.concept_importance_
        details = {"certificate": cert, "comparison": comparison,
                   "concepts": {"source": concepts_src, "used": unlearner.concepts_,
                                "skipped": unlearner.skipped_concepts_,
                                "cav_accuracy": {c: float(a) for c, a in cav.items()},
                                "importance": {"classes": imp.index.tolist(), "concepts": list(imp.columns),
                                               "values": imp.round(6).to_numpy().tolist()},
                                "donor_class": unlearner.donor_class_,
                                "overlap": {str(c): float(v) for c, v in unlearner.overlap_.items()},
                                "pcbm_accuracy": unlearner.pcbm_accuracy_, "model_accuracy": unlearner.model_accuracy_,
                                "ig_delta": unlearner.ig_delta_},
                   "model_dir": relpath(stage.out_dir / "model"), "base_model": relpath(src / "model")}
        stage.finish(kind="unlearning", title=f"Concept unlearning: {name}, class {forget_class}",
                     metrics=metrics, checks=checks, data=data, plots=plots, details=details)


if __name__ == "__main__":
    run()
