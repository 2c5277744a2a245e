"""`trust models` commands: train a NeuralClassifier on an array dataset, predict with a saved one."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(no_args_is_help=True)


def _arrays(data: str, kind: Optional[str]):
    """A bundled array dataset by name, or an .npz path."""
    from trust.data import DATASETS, load_array_dataset, load_arrays

    if data in DATASETS:
        return load_array_dataset(data)
    return load_arrays(Path(data), kind=kind)


@app.command("train")
def train(
    data: str = typer.Argument(..., help="A bundled array dataset (digits, mnist1d) or an .npz with X and y."),
    out: Path = typer.Option(..., "--out", help="Folder to save the model to (replaced atomically)."),
    network: Optional[str] = typer.Option(None, "--network", help="mlp, cnn (images) or cnn1d (signals); "
                                                                  "default: cnn for images, cnn1d for signals."),
    epochs: int = typer.Option(20, "--epochs", help="Training epochs."),
    lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate."),
    batch_size: int = typer.Option(128, "--batch-size", help="Rows per step."),
    test_size: float = typer.Option(0.2, "--test-size", help="Share of rows held out to measure accuracy "
                                                             "(a dataset's own test rows where it has them)."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda."),
    kind: Optional[str] = typer.Option(None, "--kind", help="image or signal, for a 3-d .npz (default: image)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the weights and the batch order."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train a classifier on a stratified split of DATA, print its test accuracy and save it to --out."""
    import numpy as np
    from rich.console import Console

    from trust.data import split_arrays
    from trust.models import NeuralClassifier

    ds = _arrays(data, kind)
    clf = NeuralClassifier(network or {"image": "cnn", "signal": "cnn1d"}[ds.kind], epochs=epochs, lr=lr, batch_size=batch_size, device=device,
                           n_classes=ds.n_classes, random_state=seed, progress=not quiet)
    # a two-way split: the stratified train and validation parts are both trained on
    splits = split_arrays(ds.y, val_size=0.1 if ds.test_index is not None else (1 - test_size) / 2,
                          test_size=test_size, test_index=ds.test_index, seed=seed)
    train_idx = np.sort(np.concatenate([splits.train, splits.val]))
    clf.fit(ds.X[train_idx], ds.y[train_idx])
    acc = clf.score(ds.X[splits.test], ds.y[splits.test])
    clf.save(out)
    Console(stderr=True).print(f"{ds.name}: {clf.network_name_} test accuracy {acc:.4f} "
                               f"({len(splits.test)} rows held out); model saved to {out}")


@app.command("predict")
def predict(
    model: Path = typer.Argument(..., help="A model folder written by `trust models train` or NeuralClassifier.save."),
    data: str = typer.Argument(..., help="A bundled array dataset or an .npz with X (y optional)."),
    out: Path = typer.Option(..., "--out", help="Where to write the predictions (.npz: label, proba, logits; "
                                                "else CSV: label and one probability column per class)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda (default: as saved)."),
) -> None:
    """Predict the class of every row of DATA with a saved model; written atomically to --out."""
    import numpy as np
    import pandas as pd

    from trust.data import DATASETS, load_array_dataset, write_table
    from trust.data.arrays import save_arrays
    from trust.errors import DataError
    from trust.models import NeuralClassifier

    clf = NeuralClassifier.load(model, device=device)
    if data in DATASETS:
        X = load_array_dataset(data).X
    else:
        p = Path(data)
        if not p.is_file():
            raise DataError(f"file '{p}' does not exist; pass an .npz file with an array X")
        try:
            with np.load(p, allow_pickle=False) as z:
                X = z["X"] if "X" in z.files else None
        except (ValueError, OSError, EOFError):
            raise DataError(f"'{p}' could not be read as an .npz archive; save it with np.savez(path, X=X)") from None
        if X is None:
            raise DataError(f"'{p}' has no array 'X'; save it with np.savez(path, X=X)")
    # the model checks X (numeric, finite, shaped like its training data) with one-line errors
    logits = clf.decision_function(X)
    proba = clf.predict_proba(X)
    label = clf.classes_[proba.argmax(axis=1)]
    if out.suffix == ".npz":
        save_arrays(out, label=label, proba=proba, logits=logits)
    else:
        frame = pd.DataFrame(proba, columns=[f"proba_{c}" for c in clf.classes_])
        frame.insert(0, "label", label)
        write_table(frame, out)
