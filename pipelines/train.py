"""Stage `train` (a DVC matrix over datasets): the base classifiers later stages calibrate, unlearn and update.

``python pipelines/train.py DATASET`` trains ``NeuralClassifier(**train.<DATASET>.model)`` and writes:

* ``outputs/train/DATASET/model/``: the model (``NeuralClassifier.load``);
* ``outputs/train/DATASET/splits.npz``: row indices ``train``, ``val``, ``test``;
* ``outputs/train/DATASET/logits.npz``: ``val_logits``, ``val_y``, ``test_logits``, ``test_y``;
* ``metrics/train_DATASET.json``: accuracy, NLL, ECE (raw model) on val and test, test accuracy per class;
* ``evidence/train_DATASET.json`` (kind ``model``): the model card, data fingerprints, an MLflow run.

Array datasets (``digits``, ``mnist1d``) come from the registry and are split here (MNIST-1D keeps its own
test rows); table datasets (``adult``) come from ``outputs/prepare/DATASET`` (rows: its ``train`` then its
``test`` split; the validation part is carved from ``train``, the holdout is left to the privacy audits).
"""

from __future__ import annotations

import sys

from _stage import ROOT, Stage, load_params, main, matrix_member, param, relpath
from _trained import load_rows

from trust.data import dataset_info
from trust.data.arrays import save_arrays
from trust.evidence import check
from trust.models.base import train_base_model


@main
def run() -> None:
    p = load_params()
    name = matrix_member(sys.argv, param(p, "train.datasets", list), what="dataset", params_key="train.datasets")
    stage = Stage(f"train_{name}", p)
    stage.out_dir = ROOT / "outputs" / "train" / name
    seed = param(p, "train.seed", int, low=0)
    threads = param(p, "train.threads", int, low=1)
    cfg = param(p, f"train.{name}", dict)
    val_size = param(p, f"train.{name}.val_size", float)
    test_size = param(p, f"train.{name}.test_size", float, default=0.2)
    settings = param(p, f"train.{name}.model", dict)
    intended_use = param(p, "train.intended_use", str)

    import torch

    torch.set_num_threads(threads)
    X, y, splits, fingerprints, kind = load_rows(name, val_size, test_size, seed)
    info = dataset_info(name)
    with stage.run({"dataset": name, "seed": seed, **cfg}, fingerprints):
        base = train_base_model(X, y, splits, model=settings, random_state=seed, intended_use=intended_use,
                                dataset=name)
        out = stage.out_dir
        base.model.save(out / "model")
        save_arrays(out / "splits.npz", train=splits.train, val=splits.val, test=splits.test)
        save_arrays(out / "logits.npz", val_logits=base.logits["val"], val_y=base.labels["val"],
                    test_logits=base.logits["test"], test_y=base.labels["test"])
        metrics = {}
        for part, fig in base.figures.items():
            metrics.update({f"{part}.accuracy": fig["accuracy"], f"{part}.nll": fig["nll"], f"{part}.ece": fig["ece"]})
        metrics.update({f"test.accuracy_class_{c}": a for c, a in enumerate(base.figures["test"]["per_class_accuracy"])})
        k = len(base.model.classes_)
        checks = [check(f"{name}: test accuracy above chance", base.figures["test"]["accuracy"], 1.0 / k, ">",
                        description=f"accuracy of the raw model on the test split vs 1/{k}")]
        data = [{"name": n, "fingerprint": h, "role": "input", "source": info.source, "licence": info.licence}
                for n, h in fingerprints.items()]
        # A table of people (info.private) trained without DP is a non-DP use: audit trail only, never released.
        non_dp = ([{"dataset": name, "artifact": relpath(out), "what": "non-private base classifier (weights, logits, per-class accuracy)"}]
                  if info.modality == "table" else [])
        card = {**base.card, "modality": kind, "model_dir": relpath(out / "model"),
                "outputs": {"splits": relpath(out / "splits.npz"), "logits": relpath(out / "logits.npz")}}
        stage.finish(kind="model", title=f"Base model: {name} ({base.card['architecture']['network']})",
                     metrics=metrics, checks=checks, data=data, details={"model_card": card},
                     non_dp=non_dp)
        if stage.run_ctx is not None:
            stage.run_ctx.log_artifact(out / "model" / "model.json", "model")


if __name__ == "__main__":
    run()
