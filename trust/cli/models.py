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


def _split(ds, test_size: float, seed: int, classes: list[int], val_size: float = 0.0):
    """``ArraySplits(train, val, test)``: no rows held out at --test-size 0, else the dataset's own test rows or a
    stratified share (the first part of :func:`trust.data.split_arrays`, so the rows match earlier versions); at
    ``val_size`` > 0 a stratified validation share of all rows is held out too (never trained on); with
    ``classes`` the same split keeps the rows of those classes only (so its held-out rows are among the held-out
    rows of a model trained on every class with the same seed)."""
    import numpy as np

    from trust.data import split_arrays
    from trust.data.splits import ArraySplits

    empty = np.arange(0)
    if test_size == 0:
        train, val, test = np.arange(len(ds.y)), empty, empty
    elif val_size > 0:
        s = split_arrays(ds.y, val_size=val_size, test_size=test_size, test_index=ds.test_index, seed=seed)
        train, val, test = np.sort(s.train), np.sort(s.val), s.test
    else:
        s = split_arrays(ds.y, val_size=0.1 if ds.test_index is not None else (1 - test_size) / 2,
                         test_size=test_size, test_index=ds.test_index, seed=seed)
        train, val, test = np.sort(np.concatenate([s.train, s.val])), empty, s.test
    if classes:
        unknown = sorted(set(classes) - set(np.unique(ds.y).tolist()))
        if unknown:
            raise DataError(f"--classes {unknown[0]} is not a class of the data (classes 0..{int(ds.y.max())})")
        if len(set(classes)) < 2:
            raise ConfigError("--classes needs at least two classes (a classifier tells classes apart)")
        train, val, test = (idx[np.isin(ds.y[idx], classes)] for idx in (train, val, test))
    return ArraySplits(train, val, test)


def _check_train_paths(data: str, out: Path, outs: dict[str, Optional[Path]], test_size: float, val_size: float,
                       overwrite: bool) -> None:
    from trust.cli._common import check_finite
    from trust.data.io import check_output_dir, check_output_file

    check_finite(test_size, "--test-size")
    check_finite(val_size, "--val-size")
    if not 0 <= test_size < 1:
        raise ConfigError(f"--test-size {test_size:g} must be at least 0 and below 1 (a share of the rows; 0 holds none out)")
    if not 0 <= val_size < 1:
        raise ConfigError(f"--val-size {val_size:g} must be at least 0 and below 1 (a share of the rows; 0 holds none out)")
    if val_size > 0 and test_size == 0:
        raise ConfigError("--val-size with --test-size 0: a validation share is held out beside test rows; give both")
    if val_size + test_size >= 1:
        raise ConfigError(f"--val-size + --test-size = {val_size + test_size:g} leaves no training rows; make them sum below 1")
    if outs["--test-out"] is not None and test_size == 0:
        raise ConfigError("--test-out with --test-size 0: no rows are held out; drop one of them")
    if outs["--val-out"] is not None and val_size == 0:
        raise ConfigError("--val-out needs --val-size (the share of rows held out as validation), e.g. --val-size 0.2")
    check_output_dir(out, kind="neural-classifier", overwrite=overwrite)
    files = [(f, flag) for flag, f in outs.items() if f is not None]
    for f, flag in files:
        check_output_file(f, flag=flag, overwrite=overwrite, suffixes=(".npz",))
        _refuse_input(f, [data], flag)
    names = [f.absolute() for f, _ in files]
    if len(set(names)) < len(names):
        raise ConfigError(f"{', '.join(flag for _, flag in files)} name the same file; give each its own name")


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
    val_size: float = typer.Option(0.0, "--val-size", help="Share of rows also held out as validation rows, never "
                                   "trained on (e.g. to fit a calibrator on their predictions); 0: none."),
    val_out: Optional[Path] = typer.Option(None, "--val-out", help="Also save the validation rows (.npz: X, y, index; "
                                                                   "needs --val-size)."),
    classes: Optional[list[int]] = typer.Option(None, "--classes", help="Train on the rows of these classes only "
                                                "(repeat: --classes 0 --classes 1 ...), e.g. the old model of `trust update fit`."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda."),
    kind: Optional[str] = typer.Option(None, "--kind", help="image or signal, for a 3-d .npz (default: image)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the split, the weights and the batch order."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier model folder at --out and the --train-out / --test-out files."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar (there is none when stderr is not a terminal)."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Write the model card and its check (kind model) "
                                            "to DIR/models-train-<out>.json for `trust report --root`."),
) -> None:
    """Train a classifier on DATA (a stratified share held out), print its held-out and training accuracy on stdout
    and save it to --out."""
    from trust.cli._common import evidence_path, note, publish_evidence, show_progress, warn

    outs = {"--train-out": train_out, "--val-out": val_out, "--test-out": test_out}
    _check_train_paths(data, out, outs, test_size, val_size, overwrite)
    ev_path = evidence_path(evidence, f"models-train-{out.name}", overwrite)
    from trust.data.arrays import save_arrays
    from trust.models.protocol import run_train

    ds = _arrays(data, kind)
    splits = _split(ds, test_size, seed, list(classes or []), val_size)
    settings = {"network": network or {"image": "cnn", "signal": "cnn1d"}[ds.kind], "epochs": epochs, "lr": lr,
                "batch_size": batch_size, "n_classes": None if classes else ds.n_classes}
    result = run_train(ds.X, ds.y, splits, model=settings, dataset=ds.name, random_state=seed, device=device,
                       progress=show_progress(quiet))
    result.model.save(out)
    for f, rows in ((train_out, splits.train), (val_out, splits.val), (test_out, splits.test)):
        if f is not None:
            save_arrays(f, X=ds.X[rows], y=ds.y[rows], index=rows)
    print(f"{result.summary()}; model saved to {out}")
    if ev_path is not None:
        publish_evidence(ev_path, result.to_evidence({}), stage=f"models-train-{out.name}",
                         params={"data": data, **settings, "test_size": test_size, "val_size": val_size, "seed": seed})
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
    from trust.cli._common import read_inputs_npz
    from trust.data import DATASETS, load_array_dataset

    if data in DATASETS:
        ds = load_array_dataset(data)
        return ds.X, ds.y
    p = Path(data)
    if not p.is_file():
        raise DataError(f"file '{p}' does not exist; pass an .npz file with an array X")
    return read_inputs_npz(p)


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
