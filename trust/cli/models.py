"""`trust models` commands: train a NeuralClassifier on an array dataset, predict with any saved classifier."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from trust.errors import ConfigError, DataError

app = typer.Typer(no_args_is_help=True)

#: Model directory kinds `models predict` reads (the ``kind`` in ``trust-model.json``) -> ``"module:Class"`` of an
#: estimator with ``load(path, device=...)``, ``decision_function``, ``predict_proba`` and ``classes_``. A capability
#: whose classifier should predict from the command line adds one line here.
PREDICTORS = {"neural-classifier": "trust.models:NeuralClassifier", "rcal-classifier": "trust.noisy:RCALClassifier"}


def _arrays(data: str, kind: Optional[str]):
    """A bundled array dataset by name, or an .npz path."""
    from trust.data import DATASETS, load_array_dataset, load_arrays

    if data in DATASETS:
        return load_array_dataset(data)
    return load_arrays(Path(data), kind=kind)


def _refuse_input(out: Path, inputs: list[str], flag: str = "--out") -> None:
    """An output path that is one of the command's inputs is refused whatever --overwrite says."""
    for i in inputs:
        p = Path(i)
        if p.exists() and out.exists() and out.resolve() == p.resolve():
            raise DataError(f"{flag} '{out}' is the input '{i}'; writing there would destroy it: choose another file "
                            "(nothing was written)")


def _split(ds, test_size: float, seed: int, classes: list[int]):
    """``ArraySplits(train, [], test)``: no rows held out at --test-size 0, else the dataset's own test rows or a
    stratified share (the first part of :func:`trust.data.split_arrays`, so the rows match earlier versions); with
    ``classes`` the same split keeps the rows of those classes only (so its held-out rows are among the held-out
    rows of a model trained on every class with the same seed)."""
    import numpy as np

    from trust.data import split_arrays
    from trust.data.splits import ArraySplits

    empty = np.arange(0)
    if test_size == 0:
        train, test = np.arange(len(ds.y)), empty
    else:
        s = split_arrays(ds.y, val_size=0.1 if ds.test_index is not None else (1 - test_size) / 2,
                         test_size=test_size, test_index=ds.test_index, seed=seed)
        train, test = np.sort(np.concatenate([s.train, s.val])), s.test
    if classes:
        unknown = sorted(set(classes) - set(np.unique(ds.y).tolist()))
        if unknown:
            raise DataError(f"--classes {unknown[0]} is not a class of the data (classes 0..{int(ds.y.max())})")
        if len(set(classes)) < 2:
            raise ConfigError("--classes needs at least two classes (a classifier tells classes apart)")
        train, test = (idx[np.isin(ds.y[idx], classes)] for idx in (train, test))
    return ArraySplits(train, empty, test)


def _check_train_paths(data: str, out: Path, train_out: Optional[Path], test_out: Optional[Path],
                       test_size: float, overwrite: bool) -> None:
    from trust.cli._common import check_finite
    from trust.data.io import check_output_dir, check_output_file

    check_finite(test_size, "--test-size")
    if not 0 <= test_size < 1:
        raise ConfigError(f"--test-size {test_size:g} must be at least 0 and below 1 (a share of the rows; 0 holds none out)")
    if test_out is not None and test_size == 0:
        raise ConfigError("--test-out with --test-size 0: no rows are held out; drop one of them")
    check_output_dir(out, kind="neural-classifier", overwrite=overwrite)
    files = [(f, flag) for f, flag in ((train_out, "--train-out"), (test_out, "--test-out")) if f is not None]
    for f, flag in files:
        check_output_file(f, flag=flag, overwrite=overwrite, suffixes=(".npz",))
        _refuse_input(f, [data], flag)
    if len(files) == 2 and files[0][0].absolute() == files[1][0].absolute():
        raise ConfigError("--train-out and --test-out are the same file; give two names")


@app.command("train")
def train(
    data: str = typer.Argument(..., help="A bundled array dataset (digits, mnist1d) or an .npz with X and y."),
    out: Path = typer.Option(..., "--out", help="Folder to save the model to (new or empty; a model folder only with --overwrite)."),
    network: Optional[str] = typer.Option(None, "--network", help="mlp, cnn (images) or cnn1d (signals); "
                                                                  "default: cnn for images, cnn1d for signals."),
    epochs: int = typer.Option(20, "--epochs", help="Training epochs."),
    lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate."),
    batch_size: int = typer.Option(128, "--batch-size", help="Rows per step."),
    test_size: float = typer.Option(0.2, "--test-size", help="Share of rows held out to measure accuracy (a dataset's "
                                                             "own test rows where it has them; 0: train on every row)."),
    train_out: Optional[Path] = typer.Option(None, "--train-out", help="Also save the rows the model was trained on "
                                             "(.npz: X, y and their row numbers in DATA as index), e.g. for `trust "
                                             "unlearn concept --data`."),
    test_out: Optional[Path] = typer.Option(None, "--test-out", help="Also save the held-out rows (.npz: X, y, index), "
                                                                     "e.g. for `trust models predict` or `--test`."),
    classes: Optional[list[int]] = typer.Option(None, "--classes", help="Train on the rows of these classes only "
                                                "(repeat: --classes 0 --classes 1 ...), e.g. the old model of `trust update fit`."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda."),
    kind: Optional[str] = typer.Option(None, "--kind", help="image or signal, for a 3-d .npz (default: image)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the split, the weights and the batch order."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier model folder at --out and the --train-out / --test-out files."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar (there is none when stderr is not a terminal)."),
) -> None:
    """Train a classifier on DATA (a stratified share held out), print its held-out and training accuracy on stdout
    and save it to --out."""
    from trust.cli._common import note, show_progress, warn

    _check_train_paths(data, out, train_out, test_out, test_size, overwrite)
    from trust.data.arrays import save_arrays
    from trust.models.protocol import run_train

    ds = _arrays(data, kind)
    splits = _split(ds, test_size, seed, list(classes or []))
    settings = {"network": network or {"image": "cnn", "signal": "cnn1d"}[ds.kind], "epochs": epochs, "lr": lr,
                "batch_size": batch_size, "n_classes": None if classes else ds.n_classes}
    result = run_train(ds.X, ds.y, splits, model=settings, dataset=ds.name, random_state=seed, device=device,
                       progress=show_progress(quiet))
    result.model.save(out)
    for f, rows in ((train_out, splits.train), (test_out, splits.test)):
        if f is not None:
            save_arrays(f, X=ds.X[rows], y=ds.y[rows], index=rows)
    print(f"{result.summary()}; model saved to {out}")
    for line in result.warnings():
        warn(line)
    if train_out is None:
        note("the rows it was trained on were not saved; --train-out (and --test-out) save them for later commands")


def _load_predictor(model: Path, device: Optional[str]):
    """The saved classifier at ``model``, whatever its kind in :data:`PREDICTORS`."""
    import importlib

    from trust.data.io import model_kind, read_model_dir

    kind = model_kind(model) or "neural-classifier"  # a folder saved before manifests existed
    if kind not in PREDICTORS:
        read_model_dir(model, kind="neural-classifier", what="classifier")  # names the folder and what it holds
        raise DataError(f"'{model}' holds a '{kind}' model, which does not predict classes; pass a classifier folder "
                        f"({', '.join(PREDICTORS)})")
    module, name = PREDICTORS[kind].split(":")
    return getattr(importlib.import_module(module), name).load(model, device=device)


def _predict_input(data: str):
    """``(X, y or None)`` of a bundled dataset or an .npz with X (y optional)."""
    import numpy as np

    from trust.data import DATASETS, load_array_dataset

    if data in DATASETS:
        ds = load_array_dataset(data)
        return ds.X, ds.y
    p = Path(data)
    if not p.is_file():
        raise DataError(f"file '{p}' does not exist; pass an .npz file with an array X")
    try:
        with np.load(p, allow_pickle=False) as z:
            X = z["X"] if "X" in z.files else None
            y = z["y"] if "y" in z.files else None
    except (ValueError, OSError, EOFError):
        raise DataError(f"'{p}' could not be read as an .npz archive; save it with np.savez(path, X=X)") from None
    if X is None:
        raise DataError(f"'{p}' has no array 'X'; save it with np.savez(path, X=X)")
    return X, y


@app.command("predict")
def predict(
    model: Path = typer.Argument(..., help="A classifier folder (`trust models train`, NeuralClassifier.save, "
                                           "`trust noisy fit`)."),
    data: str = typer.Argument(..., help="A bundled array dataset or an .npz with X (y optional: copied as labels)."),
    out: Path = typer.Option(..., "--out", help="Where to write the predictions (.npz: label, proba, logits, labels if "
                                                "DATA has y, view_logits on request; .csv: label, a probability per "
                                                "class, true_label). Never DATA itself."),
    view_logits: bool = typer.Option(False, "--view-logits", help="Also the model's logits on its transformed views "
                                     "(view_logits, n_views x N x K: what `trust calibrate fit --method ca` needs; .npz only)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the views (with --view-logits)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda (default: as saved)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file (never DATA)."),
) -> None:
    """Predict the class of every row of DATA with a saved classifier; written atomically to --out."""
    from trust.data.io import check_output_file

    _refuse_input(out, [data])
    check_output_file(out, overwrite=overwrite, suffixes=(".npz", ".csv"))
    if view_logits and out.suffix.lower() != ".npz":
        raise ConfigError("--view-logits needs an .npz --out (view logits are n_views x N x K)")
    import numpy as np

    clf = _load_predictor(model, device)
    X, y = _predict_input(data)
    # the model checks X (numeric, finite, shaped like its training data) with one-line errors
    logits = clf.decision_function(X)
    proba = clf.predict_proba(X)
    arrays = {"label": clf.classes_[proba.argmax(axis=1)], "proba": proba, "logits": logits}
    if y is not None:
        arrays["labels"] = np.asarray(y)
    if view_logits:
        arrays["view_logits"] = _view_logits(clf, X, seed)
    _write_predictions(out, arrays, clf.classes_)


def _view_logits(clf, X, seed: int):
    from trust.calibrate import view_logits

    return view_logits(clf, X, random_state=seed)


def _write_predictions(out: Path, arrays: dict, classes) -> None:
    import pandas as pd

    from trust.data import write_table
    from trust.data.arrays import save_arrays

    if out.suffix.lower() == ".npz":
        save_arrays(out, **arrays)
        return
    frame = pd.DataFrame(arrays["proba"], columns=[f"proba_{c}" for c in classes])
    frame.insert(0, "label", arrays["label"])
    if "labels" in arrays:
        frame["true_label"] = arrays["labels"]
    write_table(frame, out)
