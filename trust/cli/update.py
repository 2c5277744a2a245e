"""`trust update` commands: update a saved model with new classes, and count the flips between two models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from trust.errors import ConfigError

app = typer.Typer(no_args_is_help=True)

#: ``trust.models.classifier.MODEL_KIND`` (tested equal), kept here so paths are checked before torch loads.
NEURAL_KIND = "neural-classifier"
METHODS = ("mpt", "naive", "fd-kl", "fd-lm")


def _check_model(path: Path, flag: str) -> None:
    from trust.data.io import read_model_dir

    read_model_dir(path, kind=NEURAL_KIND, files=("model.json", "weights.pt"), what=f"NeuralClassifier ({flag})")


def _load_model(path: Path):
    from trust.models import NeuralClassifier

    return NeuralClassifier.load(path)


def _arrays(data: Path, kind: Optional[str]):
    from trust.data import load_arrays

    return load_arrays(data, kind=kind)


@app.command("fit")
def fit(
    old: Path = typer.Option(..., "--old", help="The old model folder (a NeuralClassifier over the old classes)."),
    data: Path = typer.Option(..., "--data", help=".npz with X and y holding the old AND the new classes."),
    out: Path = typer.Option(..., "--out", help="Folder for the updated model (new or empty; an earlier model "
                                                "folder only with --overwrite)."),
    method: str = typer.Option("mpt", "--method", help="mpt (margin-preserving), naive, fd-kl or fd-lm "
                                                       "(focal distillation)."),
    b: list[float] = typer.Option([4.0], "--b", help="Margin bias of mpt; repeat for a grid chosen on a "
                                                    "validation part (e.g. --b 0 --b 1 --b 2 --b 4)."),
    val_size: float = typer.Option(0.1, "--val-size", help="Share of rows held out to choose b (grid only)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epochs of the new model (default: the old model's)."),
    kind: Optional[str] = typer.Option(None, "--kind", help="image or signal, for a 3-d .npz."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the new model's weights, batch order and split."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier model folder at --out."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train an updated model over every class in --data from the --old model; save it to --out."""
    from trust.cli._common import check_finite, note, show_progress
    from trust.data.io import check_input_file, check_output_dir

    if method not in METHODS:
        raise ConfigError(f"--method '{method}' is unknown; choose one of {', '.join(METHODS)}")
    if len(b) > 1 and method != "mpt":
        raise ConfigError("several --b values form a grid for --method mpt only; give one or use mpt")
    for v in b:
        check_finite(v, "--b")
    check_finite(val_size, "--val-size", positive=True)
    if not val_size < 1:
        raise ConfigError(f"--val-size {val_size} must be below 1")
    _check_model(old, "--old")
    check_input_file(data, flag="--data")
    check_output_dir(out, kind=NEURAL_KIND, overwrite=overwrite)

    import numpy as np

    from trust.update import FocalDistillationUpdate, MarginPreservingUpdate, NaiveUpdate
    from trust.update.methods import check_class_sets

    old_model = _load_model(old)
    ds = _arrays(data, kind)
    check_class_sets(old_model.classes_, np.unique(ds.y))
    common = {"random_state": seed, "device": device, "progress": show_progress(quiet),
              "model_params": {"epochs": epochs} if epochs else None}
    X, y = ds.X, ds.y
    if method == "mpt" and len(b) > 1:
        from sklearn.model_selection import train_test_split

        tr, va = train_test_split(np.arange(len(y)), test_size=val_size, stratify=y, random_state=seed)
        upd = MarginPreservingUpdate(b=list(b), **common).fit(old_model, X[tr], y[tr], eval_set=(X[va], y[va]))
        note("b chosen on the validation part: " + ", ".join(
            f"b={c['b']:g} NFR {c['val']['nfr']:.4f} accuracy {c['val']['accuracy']:.4f}" for c in upd.candidates_)
            + f" -> b={upd.b_:g}")
    elif method == "mpt":
        upd = MarginPreservingUpdate(b=b[0], **common).fit(old_model, X, y)
    elif method == "naive":
        upd = NaiveUpdate(**common).fit(old_model, X, y)
    else:
        upd = FocalDistillationUpdate(distillation=method[3:], **common).fit(old_model, X, y)
    upd.model_.save(out)
    note(f"updated model over classes {upd.classes_.tolist()} (old: {upd.old_classes_.tolist()}) saved to {out}; "
         f"count its flips with `trust update flips --old {old} --new {out} --data TEST.npz`")


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
