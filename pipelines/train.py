"""Stage `train` (a DVC matrix over datasets): the base classifiers later stages calibrate, unlearn and update.

``python pipelines/train.py DATASET`` runs :func:`trust.models.protocol.run_train` with
``NeuralClassifier(**train.<DATASET>.model)`` and publishes its :class:`~trust.models.protocol.TrainResult`:

* ``outputs/train/DATASET/model/``: the model (``NeuralClassifier.load``);
* ``outputs/train/DATASET/splits.npz``: row indices ``train``, ``val``, ``test``;
* ``outputs/train/DATASET/logits.npz``: ``val_logits``, ``val_y``, ``test_logits``, ``test_y``;
* ``metrics/train_DATASET.json``: accuracy, NLL, ECE (raw model) on val and test, training accuracy, test
  accuracy per class;
* ``evidence/train_DATASET.json`` (kind ``model``): the model card, data fingerprints, an MLflow run.

Array datasets (``digits``, ``mnist1d``) come from the registry and are split here (MNIST-1D keeps its own
test rows); table datasets (``adult``) come from ``outputs/prepare/DATASET`` (rows: its ``train`` then its
``test`` split; the validation part is carved from ``train``, the holdout is left to the privacy audits).
A table of people trained without DP is declared a non-DP use (audit trail only, never released).
"""

from __future__ import annotations

import sys

from _stage import ROOT, Stage, load_params, main, matrix_member, param, relpath
from _trained import load_rows

from trust.data import dataset_info
from trust.models.protocol import run_train


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

    import torch

    torch.set_num_threads(threads)
    X, y, splits, fingerprints, kind = load_rows(name, val_size, test_size, seed)
    info = dataset_info(name)
    data = [{"name": n, "fingerprint": h, "role": "input", "source": info.source, "licence": info.licence}
            for n, h in fingerprints.items()]
    with stage.run({"dataset": name, "seed": seed, **cfg}, fingerprints):
        result = run_train(X, y, splits, model=param(p, f"train.{name}.model", dict), dataset=name,
                           intended_use=param(p, "train.intended_use", str), random_state=seed, device="cpu",
                           non_dp_artifact=relpath(stage.out_dir) if info.modality == "table" else None)
        stage.publish(result, data=data)


if __name__ == "__main__":
    run()
