"""`trust unlearn` commands: remove a class's (or some rows') influence from a saved model, with a certificate.

Each command writes the unlearned model (a NeuralClassifier folder) and, given held-out rows, compares it
with a model retrained from scratch without the forgotten data; ``--evidence DIR`` writes evidence of kind
``unlearning`` whose certificate (:mod:`trust.unlearn.report_section`) ``trust report`` renders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from trust.cli._common import check_finite, evidence_path, note

app = typer.Typer(no_args_is_help=True)

#: the model directory kind of a NeuralClassifier (``trust.models.classifier.MODEL_KIND``; tested equal)
NEURAL_KIND = "neural-classifier"


def _arrays(data: str, flag: str):
    """``(X, y)`` of a bundled array dataset by name, or of an .npz with X and y."""
    from trust.data import DATASETS, load_array_dataset, load_arrays
    from trust.data.io import check_input_file

    if data in DATASETS:
        ds = load_array_dataset(data)
    else:
        ds = load_arrays(check_input_file(Path(data), flag=flag))
    return ds.X, ds.y


@app.command("concept")
def concept(
    model: Path = typer.Option(..., "--model", help="A model folder written by `trust models train` or NeuralClassifier.save."),
    data: str = typer.Option(..., "--data", help="The rows the model was trained on: an .npz with X and y, or a bundled "
                                                  "array dataset (digits, mnist1d)."),
    forget_class: int = typer.Option(..., "--forget-class", help="The class to forget."),
    out: Path = typer.Option(..., "--out", help="Folder to save the unlearned model to."),
    test: Optional[str] = typer.Option(None, "--test", help="Held-out rows (.npz with X and y): retrain without the class "
                                                            "and print the certificate (every figure beside retrain's)."),
    concepts: str = typer.Option("digits", "--concepts", help="'digits' (the bundled digit concept matrix) or a CSV: a "
                                                               "'class' column, then one 0/1 column per concept."),
    poison: str = typer.Option("targeted", "--poison", help="targeted (relabel to the donor class) or random."),
    epochs: int = typer.Option(20, "--epochs", help="Fine-tuning epochs (SGD, momentum 0.9)."),
    lr: float = typer.Option(1e-3, "--lr", help="Fine-tuning learning rate."),
    trainable: str = typer.Option("head", "--trainable", help="head (all but the last layer frozen) or all."),
    seed: int = typer.Option(0, "--seed", help="Seed of every draw."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Write evidence/unlearn_concept.json (needs --test)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out (a model folder) and the evidence file."),
) -> None:
    """Forget class --forget-class of --model by concept-guided label poisoning; save the copy to --out."""
    from trust.data.io import check_input_file, check_output_dir
    from trust.errors import ConfigError, DataError

    check_finite(lr, "--lr", positive=True)
    if trainable not in ("head", "all"):
        raise ConfigError(f"--trainable {trainable!r} must be 'head' or 'all'")
    if not model.is_dir():
        raise DataError(f"--model '{model}' is not a model folder; pass one written by `trust models train`")
    out = check_output_dir(out, kind=NEURAL_KIND, overwrite=overwrite)
    if evidence is not None and test is None:
        raise ConfigError("--evidence needs --test: the certificate compares with a model retrained without the class")
    ev_path = evidence_path(evidence, "unlearn_concept", overwrite)
    if concepts != "digits":
        check_input_file(Path(concepts), flag="--concepts")

    import numpy as np
    import pandas as pd

    from trust.data.concepts import digit_concepts, load_concept_matrix
    from trust.models import NeuralClassifier
    from trust.unlearn import BaselineUnlearner, ConceptUnlearner, evaluate_unlearning, unlearning_certificate

    clf = NeuralClassifier.load(model, device="cpu")
    X, y = _arrays(data, "--data")
    A = digit_concepts() if concepts == "digits" else load_concept_matrix(Path(concepts))
    Xt = yt = None
    if test is not None:
        Xt, yt = _arrays(test, "--test")
    u = ConceptUnlearner(poison, epochs=epochs, lr=lr, trainable=trainable, random_state=seed)
    u.fit(clf, X, y, forget_class, A)
    u.model_.save(out)
    donor = f", donor class {u.donor_class_}" if u.donor_class_ is not None else ""
    note(f"class {forget_class} forgotten by {poison} poisoning{donor} in {u.seconds_:.2g} s; "
         f"PCBM accuracy {u.pcbm_accuracy_:.3f} (model {u.model_accuracy_:.3f}); model saved to {out}")
    if test is None:
        return
    labels = np.asarray(y)
    ref = BaselineUnlearner("retrain", random_state=seed).fit(clf, X, labels, forget_class)
    f, r = labels == forget_class, labels != forget_class
    parts = dict(forget=(X[f], labels[f]), retain=(X[r], labels[r]), test=(Xt, yt), forget_class=forget_class,
                 random_state=seed)
    mine = evaluate_unlearning(u.model_, ref.model_, **parts, seconds=(u.seconds_, ref.seconds_))
    original = evaluate_unlearning(clf, ref.model_, **parts)
    from trust.data.hashing import keyed_fingerprint

    fp = keyed_fingerprint(pd.DataFrame(np.asarray(X)[f].reshape(int(f.sum()), -1)).assign(label=labels[f]))
    cert = unlearning_certificate(what="class", forget_class=forget_class, count=int(f.sum()), fingerprint=fp,
                                  method=f"concept-based label poisoning ({poison})",
                                  params={**u.get_params(), "donor_class": u.donor_class_}, unlearned=mine,
                                  original=original, seconds={"unlearn": u.seconds_, "retrain": ref.seconds_})
    typer.echo(json.dumps(cert["metrics"], indent=1))
    if ev_path is not None:
        from trust.cli._common import write_evidence
        from trust.report.project import read_params
        from trust.unlearn.metrics import certificate_checks

        policy = read_params(Path.cwd()).get("policy") or {}  # none here: the checks carry no threshold
        write_evidence(ev_path, stage="unlearn_concept", kind="unlearning",
                       title=f"Concept unlearning: class {forget_class}", params=cert["params"],
                       metrics=mine, checks=certificate_checks(cert, policy),
                       details={"certificate": cert})


# ------------------------------------------------------------------ laf (issue 13)
def _inputs_npz(path: Path, flag: str):
    """The array ``X`` of an .npz (any other array in it, labels included, is not read)."""
    import numpy as np

    from trust.data.io import check_input_file
    from trust.errors import DataError

    p = check_input_file(path, flag=flag)
    try:
        with np.load(p, allow_pickle=False) as z:
            X = z["X"] if "X" in z.files else None
    except (ValueError, OSError, EOFError):
        raise DataError(f"'{p}' ({flag}) could not be read as an .npz archive; save it with np.savez(path, X=X)") from None
    if X is None:
        raise DataError(f"'{p}' ({flag}) has no array 'X'; save the inputs with np.savez(path, X=X)")
    return X


@app.command("laf")
def laf(
    model: Path = typer.Option(..., "--model", help="A model folder (NeuralClassifier.save / `trust models train`)."),
    forget: Path = typer.Option(..., "--forget", help="An .npz whose array X holds the inputs to forget (no labels)."),
    remain: Path = typer.Option(..., "--remain", help="An .npz whose array X holds the remaining inputs (no labels)."),
    out: Path = typer.Option(..., "--out", help="Folder for the unlearned model (written atomically)."),
    epochs: int = typer.Option(20, "--epochs", help="Stage 2 epochs (alternating unlearning / alignment)."),
    lr: float = typer.Option(5e-5, "--lr", help="Adam learning rate of the extractor-unlearning step."),
    align_lr: float = typer.Option(1e-4, "--align-lr", help="Adam learning rate of the alignment step."),
    tau: float = typer.Option(5.0, "--tau", help="Temperature of the alignment loss."),
    cycle_forget: bool = typer.Option(True, "--cycle-forget/--no-cycle-forget",
                                      help="Cycle the forget batches over each pass of the remaining data."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it is a model folder."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda."),
    seed: int = typer.Option(0, "--seed", help="Seed of the VAEs and every batch order."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Label-Agnostic Forgetting: unlearn the --forget inputs from --model using inputs only (no labels).

    Only the array X of each .npz is read. The unlearned copy is saved to --out; the input model is untouched.
    """
    from trust.data.io import check_output_dir
    from trust.models.classifier import MODEL_KIND

    check_output_dir(out, kind=MODEL_KIND, overwrite=overwrite)
    Xf, Xr = _inputs_npz(forget, "--forget"), _inputs_npz(remain, "--remain")

    from rich.console import Console

    from trust.models import NeuralClassifier
    from trust.unlearn.laf import LabelAgnosticForgetting

    clf = NeuralClassifier.load(model, device=device)
    est = LabelAgnosticForgetting(epochs=epochs, lr=lr, align_lr=align_lr, tau=tau, cycle_forget=cycle_forget,
                                  device=device, random_state=seed, progress=not quiet).fit(clf, Xf, Xr)
    est.model_.save(out)
    Console(stderr=True).print(f"LAF: {len(Xf)} inputs forgotten in {est.seconds_:.1f} s "
                               f"({est.history_['steps'][0]} steps per epoch); model saved to {out}")
