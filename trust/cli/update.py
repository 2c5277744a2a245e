"""`trust update` commands: update a saved model with new classes (beside the naive update), count the flips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from trust.errors import ConfigError, DataError

app = typer.Typer(no_args_is_help=True)

#: ``trust.models.classifier.MODEL_KIND`` (tested equal), kept here so paths are checked before torch loads.
NEURAL_KIND = "neural-classifier"
#: ``--method`` -> the protocol's method name (``trust.update.protocol.METHODS``)
METHODS = {"mpt": "mpt", "naive": "naive", "pct": "pct", "pct-lm": "pct_lm", "pct-code": "pct_code"}


def _check_model(path: Path, flag: str) -> None:
    from trust.data.io import read_model_dir

    read_model_dir(path, kind=NEURAL_KIND, files=("model.json", "weights.pt"), what=f"NeuralClassifier ({flag})")


def _load_model(path: Path):
    from trust.models import NeuralClassifier

    return NeuralClassifier.load(path)


def _arrays(data: Path, kind: Optional[str]):
    from trust.data import load_arrays

    return load_arrays(data, kind=kind)


def _check_paths(old: Path, data: Path, test: Optional[Path], out: Path, overwrite: bool) -> None:
    """Inputs readable, ``--out`` writable and never an input (nor inside one, nor holding one), before any work."""
    from trust.data.io import check_input_file, check_output_dir

    _check_model(old, "--old")
    check_input_file(data, flag="--data")
    if test is not None:
        check_input_file(test, flag="--test")
    o, i = out.resolve(), old.resolve()
    if o == i or i in o.parents or o in i.parents:
        raise DataError(f"--out '{out}' is the --old model's folder (or holds it, or lies in it); the update would "
                        "replace the model it is trained from: choose another folder (nothing was written)")
    check_output_dir(out, kind=NEURAL_KIND, overwrite=overwrite)


def _check_options(method: str, b: list[float], val_size: float) -> None:
    from trust.cli._common import check_finite

    if method not in METHODS:
        raise ConfigError(f"--method '{method}' is unknown; choose one of {', '.join(METHODS)}")
    if len(b) > 1 and method != "mpt":
        raise ConfigError("several --b values form a grid for --method mpt only; give one or use mpt")
    for v in b:
        check_finite(v, "--b")
    check_finite(val_size, "--val-size", positive=True)
    if not val_size < 1:
        raise ConfigError(f"--val-size {val_size} must be below 1")


def _rows(ds, test_ds, val_size: float, seed: int):
    """``(X, y, splits, evaluated_on)``: --data split into training and validation parts, --test (if any) appended."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    from trust.data.splits import ArraySplits

    n = len(ds.y)
    try:
        tr, va = train_test_split(np.arange(n), test_size=val_size, stratify=ds.y, random_state=seed)
    except ValueError as e:
        raise DataError(f"--val-size {val_size} cannot hold out a stratified validation part of --data ({e}); "
                        "give more rows per class or a larger --val-size") from None
    if test_ds is None:
        return ds.X, ds.y, ArraySplits(np.sort(tr), np.sort(va), np.sort(va)), "validation part of --data"
    if test_ds.X.dtype != ds.X.dtype or test_ds.X.shape[1:] != ds.X.shape[1:]:
        raise DataError(f"--test X is {test_ds.X.dtype} {test_ds.X.shape[1:]} but --data X is {ds.X.dtype} "
                        f"{ds.X.shape[1:]}; save both with the same dtype and sample shape")
    X = np.concatenate([ds.X, test_ds.X])
    return X, np.concatenate([ds.y, test_ds.y]), ArraySplits(np.sort(tr), np.sort(va), np.arange(n, len(X))), "--test rows"


@app.command("fit")
def fit(
    old: Path = typer.Option(..., "--old", help="The old model folder (a NeuralClassifier over the old classes)."),
    data: Path = typer.Option(..., "--data", help=".npz with X and y holding the old AND the new classes."),
    out: Path = typer.Option(..., "--out", help="Folder for the updated model (new or empty; an earlier model "
                                                "folder only with --overwrite; never the --old folder)."),
    test: Optional[Path] = typer.Option(None, "--test", help=".npz with held-out X and y to measure the update and the "
                                                             "naive update on (default: the validation part of --data)."),
    method: str = typer.Option("mpt", "--method", help="mpt (margin-preserving), naive, pct (focal distillation, CE + "
                                                       "focal KL at T 5), pct-lm or pct-code (the PCT authors' setting)."),
    b: Optional[list[float]] = typer.Option(None, "--b", help="Margin bias of mpt; several values form a grid chosen "
                                            "on the validation part (default: 0 1 2 4, the paper's grid; one value, "
                                            "e.g. --b 4, trains only that one)."),
    val_size: float = typer.Option(0.1, "--val-size", help="Share of --data held out to choose b and (without --test) "
                                                           "to measure the update; the model trains on the rest."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs of the new models (default: twice the old "
                                         "model's: with the added loss terms the update needs them to fit its rows)."),
    kind: Optional[str] = typer.Option(None, "--kind", help="image or signal, for a 3-d .npz."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the new models' weights, batch order and the split."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Also write DIR/update.json (evidence of kind "
                                                                     "update) for `trust report --root`."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier model folder at --out (and the evidence file)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train an updated model over every class in --data from the --old model, beside the naive update (retrained on
    everything) and a second naive update with another seed (the seed floor); print the update's figures beside the
    naive update's on stdout and save the update to --out."""
    from trust.cli._common import evidence_path, note, show_progress, warn

    b = list(b or ([0.0, 1.0, 2.0, 4.0] if method == "mpt" else [4.0]))
    _check_options(method, b, val_size)
    _check_paths(old, data, test, out, overwrite)
    ev_path = evidence_path(evidence, "update", overwrite)

    import numpy as np

    from trust.update.methods import check_class_sets
    from trust.update.protocol import run_update

    old_model = _load_model(old)
    ds = _arrays(data, kind)
    test_ds = _arrays(test, kind or ds.kind) if test is not None else None
    check_class_sets(old_model.classes_, np.unique(ds.y))
    X, y, splits, evaluated_on = _rows(ds, test_ds, val_size, seed)
    epochs = epochs or 2 * int(old_model.epochs)
    result = run_update(X, y, splits, old_model=old_model, methods=["naive", METHODS[method]], deploy=METHODS[method],
                        b=list(b) if len(b) > 1 else b[0], model_params={"epochs": epochs},
                        evaluated_on=evaluated_on, random_state=seed, device=device, progress=show_progress(quiet))
    if result.curve:
        note("b chosen on the validation part: " + ", ".join(
            f"b={c['b']:g} NFR {c['val']['nfr']:.4f} accuracy {c['val']['accuracy']:.4f}" for c in result.curve
            if c["method"] == "mpt") + f" -> b={result.b_chosen:g}")
    result.model.save(out)
    print(result.summary())
    for line in result.warnings():
        warn(line)
    if ev_path is not None:
        _write_evidence(ev_path, result)
    note(f"updated model over classes {result.model.classes_.tolist()} saved to {out}; "
         f"count its flips on other rows with `trust update flips --old {old} --new {out} --data TEST.npz`")


def _write_evidence(path: Path, result) -> None:
    """The result's evidence (checks carry their policy keys; the report re-gates them) written atomically."""
    from trust.cli._common import note
    from trust.evidence import write_evidence
    from trust.tracking import git_commit

    doc = result.to_evidence({}).document("update", params=dict(result.settings), git_commit=git_commit(Path.cwd()))
    write_evidence(path, doc)
    note(f"wrote evidence to {path}")


@app.command("flips")
def flips(
    old: Path = typer.Option(..., "--old", help="The old model folder."),
    new: Path = typer.Option(..., "--new", help="The updated model folder (its classes contain the old ones)."),
    data: Path = typer.Option(..., "--data", help=".npz with X and y (test samples; flips count on old classes)."),
    kind: Optional[str] = typer.Option(None, "--kind", help="image or signal, for a 3-d .npz."),
) -> None:
    """Print the negative flip rate and the other update figures of --new against --old on --data (JSON)."""
    from trust.data.io import check_input_file

    _check_model(old, "--old")
    _check_model(new, "--new")
    check_input_file(data, flag="--data")

    import numpy as np

    from trust.update.methods import check_class_sets
    from trust.update.metrics import flip_summary

    old_model, new_model = _load_model(old), _load_model(new)
    check_class_sets(old_model.classes_, new_model.classes_, require_new=False)
    ds = _arrays(data, kind)
    summary = flip_summary(ds.y, old_model.predict(ds.X), new_model.predict(ds.X), old_classes=old_model.classes_)
    summary = {**summary, "old_classes": np.asarray(old_model.classes_).tolist(),
               "new_classes": np.asarray(new_model.classes_).tolist(),
               "old_class_samples": int(np.isin(ds.y, old_model.classes_).sum())}
    print(json.dumps(summary, indent=2))
