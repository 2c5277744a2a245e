"""Loading the ``train`` stage's outputs: one loader, one error, for every stage that adapts a base model.

Kept apart from :mod:`_stage` so that the stages that never read a model (``prepare``, the synthesis
and aggregate stages) do not depend on ``trust/models``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from _stage import ROOT, fingerprint, param, relpath

from trust.errors import ConfigError, DataError


def load_rows(name: str, val_size: float, test_size: float, seed: int):
    """``(X, y, splits, fingerprints, kind)`` of a registry dataset, as the ``train`` stage splits it.

    Tables come from ``outputs/prepare/<name>`` (rows: its ``train`` then its ``test`` split; the
    validation part is carved from ``train``, the holdout is left to the privacy audits); arrays from
    the registry (MNIST-1D keeps its own test rows).
    """
    import json

    import numpy as np
    from trust.data import TableSchema, dataset_info, load_array_dataset, read_table, split_arrays, table_to_arrays

    info = dataset_info(name)
    if info.modality == "table":
        src = ROOT / "outputs" / "prepare" / name
        if not (src / "train.parquet").exists():
            raise DataError(f"'{relpath(src)}/train.parquet' is missing; run `dvc repro prepare` first")
        schema = TableSchema.from_dict(json.loads((src / "schema.json").read_text()))
        frames = [read_table(src / f"{part}.parquet") for part in ("train", "test")]
        (Xtr, Xte), (ytr, yte), _ = table_to_arrays(frames, schema)
        X, y = np.concatenate([Xtr, Xte]), np.concatenate([ytr, yte])
        splits = split_arrays(y, val_size=val_size, test_index=np.arange(len(ytr), len(y)), seed=seed)
        fingerprints = {f"{name}/{part}": fingerprint(f) for part, f in zip(("train", "test"), frames)}
        return X, y, splits, fingerprints, "table"
    ds = load_array_dataset(name)
    splits = split_arrays(ds.y, val_size=val_size, test_size=test_size, test_index=ds.test_index, seed=seed)
    return ds.X, ds.y, splits, {name: fingerprint(ds.as_frame())}, ds.kind


@dataclasses.dataclass(frozen=True)
class Trained:
    """The ``train`` stage's outputs for one dataset: its rows, split indices, fitted model and fingerprints."""

    name: str
    kind: str  # "table", "image" or "signal"
    X: Any
    y: Any
    train: Any
    val: Any
    test: Any
    model: Any
    fingerprints: dict[str, str]

    def data(self, role: str = "input") -> list[dict[str, str]]:
        """The evidence ``data`` entries of these rows (keyed fingerprints only)."""
        return [{"name": n, "fingerprint": h, "role": role} for n, h in self.fingerprints.items()]


def load_trained(params: Mapping[str, Any], name: str, *, device: str = "cpu") -> Trained:
    """Load the ``train`` stage's model and splits of dataset ``name`` (one error for every stage that needs them)."""
    import numpy as np

    from trust.models import NeuralClassifier

    if name not in param(params, "train.datasets", list):
        raise ConfigError(f"dataset '{name}' is not in train.datasets; add it to params.yaml or pick one listed")
    src = ROOT / "outputs" / "train" / name
    if not (src / "model").is_dir() or not (src / "splits.npz").exists():
        raise DataError(f"'{relpath(src)}' has no trained model; run `dvc repro train` first")
    X, y, _, fingerprints, kind = load_rows(name, param(params, f"train.{name}.val_size", float),
                                            param(params, f"train.{name}.test_size", float, default=0.2),
                                            param(params, "train.seed", int))
    with np.load(src / "splits.npz") as z:
        train, val, test = z["train"], z["val"], z["test"]
    model = NeuralClassifier.load(src / "model", device=device)
    return Trained(name, kind, X, y, train, val, test, model, fingerprints)


__all__ = ["load_rows", "Trained", "load_trained"]
