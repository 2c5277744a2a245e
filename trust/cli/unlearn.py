"""`trust unlearn` commands: remove a class's (or some rows') influence from a saved model, with a certificate.

Both commands call the one protocol, :func:`trust.unlearn.run_unlearn`: they save the unlearned model and,
given held-out rows (``--test``), retrain the model's recipe without the forgotten data, certify the
unlearned model against it (membership tests against ``--shadows`` shadow models, the original model and a
second retrained model as controls) and print the certificate on stdout; ``--evidence DIR`` writes
evidence of kind ``unlearn`` that ``trust report`` renders. Progress bars go to stderr, and only when
stderr is a terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from trust.cli._common import check_finite, evidence_path, show_progress

app = typer.Typer(no_args_is_help=True)

#: the model directory kind of a NeuralClassifier (``trust.models.classifier.MODEL_KIND``; tested equal)
NEURAL_KIND = "neural-classifier"

_SHADOWS = typer.Option(8, "--shadows", help="Shadow models of the certificate's likelihood-ratio test (even, >= 4; "
                                             "each is one retraining of the model's recipe).")


def _arrays(data: str, flag: str):
    """``(X, y)`` of a bundled array dataset by name, or of an .npz with X and y."""
    from trust.data import DATASETS, load_array_dataset, load_arrays
    from trust.data.io import check_input_file

    if data in DATASETS:
        ds = load_array_dataset(data)
    else:
        ds = load_arrays(check_input_file(Path(data), flag=flag))
    return ds.X, ds.y


def _policy() -> dict[str, Any]:
    """The library's default unlearning thresholds, overridden by ``policy:`` of ./params.yaml if there is one."""
    from trust.report.project import read_params
    from trust.unlearn.certificate import DEFAULT_POLICY

    return {**DEFAULT_POLICY, **(read_params(Path.cwd()).get("policy") or {})}


def _finish(result: Any, out: Path, ev_path: Optional[Path], stage: str, params: dict[str, Any]) -> None:
    """Save the model, print the certificate on stdout, write the evidence."""
    from trust.evidence import write_evidence
    from trust.tracking import git_commit

    result.model.save(out)
    typer.echo(f"{result.title}; model saved to {out}")
    if result.certificate is None:
        return
    cert = result.certificate.with_policy(_policy())
    typer.echo(cert.summary())
    run = result.runtime()
    typer.echo(f"runtime: retraining {result.seconds['retrain']:.3g} s; unlearning {result.seconds['finetune']:.3g} s "
               f"training steps ({run['finetune_over_retrain']:.3g}x), {result.seconds['whole_fit']:.3g} s whole fit "
               f"({run['whole_fit_over_retrain']:.3g}x)")
    if ev_path is not None:
        doc = result.to_evidence(_policy()).document(stage, params=params, git_commit=git_commit(Path.cwd()))
        write_evidence(ev_path, doc)
        typer.echo(f"wrote evidence to {ev_path}")


@app.command("concept")
def concept(
    model: Path = typer.Option(..., "--model", help="A model folder written by `trust models train` or NeuralClassifier.save."),
    data: str = typer.Option(..., "--data", help="The rows the model was trained on: an .npz with X and y, or a bundled "
                                                  "array dataset (digits, mnist1d)."),
    forget_class: int = typer.Option(..., "--forget-class", help="The class to forget."),
    out: Path = typer.Option(..., "--out", help="Folder to save the unlearned model to."),
    test: Optional[str] = typer.Option(None, "--test", help="Held-out rows (.npz with X and y): retrain without the class "
                                                            "and print the certificate beside the retrained model."),
    concepts: str = typer.Option("digits", "--concepts", help="'digits' (the bundled digit concept matrix) or a CSV: a "
                                                               "'class' column, then one 0/1 column per concept."),
    poison: str = typer.Option("targeted", "--poison", help="targeted (relabel to the donor class) or random."),
    epochs: int = typer.Option(20, "--epochs", help="Fine-tuning epochs (SGD, momentum 0.9)."),
    lr: float = typer.Option(1e-3, "--lr", help="Fine-tuning learning rate."),
    trainable: str = typer.Option("head", "--trainable", help="head (all but the last layer frozen) or all."),
    shadows: int = _SHADOWS,
    seed: int = typer.Option(0, "--seed", help="Seed of every draw."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Write DIR/unlearn_concept.json (needs --test)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out (a model folder) and the evidence file."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
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

    from trust.data.concepts import digit_concepts, load_concept_matrix
    from trust.models import NeuralClassifier
    from trust.unlearn import UnlearnInputs, run_unlearn

    clf = NeuralClassifier.load(model, device="cpu")
    X, y = _arrays(data, "--data")
    A = digit_concepts() if concepts == "digits" else load_concept_matrix(Path(concepts))
    inputs = UnlearnInputs.for_class(clf, X, y, forget_class, name=str(data),
                                     test=_arrays(test, "--test") if test is not None else None)
    settings = {"poison": poison, "epochs": epochs, "lr": lr, "trainable": trainable}
    result = run_unlearn(inputs, method="concept", settings=settings, concepts=A, n_shadows=shadows, relearn=False,
                         random_state=seed, device="cpu", progress=show_progress(quiet))
    _finish(result, out, ev_path, "unlearn_concept", {**settings, "forget_class": forget_class, "seed": seed,
                                                      "shadows": shadows})


# ------------------------------------------------------------------ laf (issue 13)
def _npz(path: Path, flag: str) -> tuple[Any, Any]:
    """``(X, y or None)`` of an .npz: the inputs and, if present, their labels (read only for the certificate/LAF+R)."""
    from trust.cli._common import read_inputs_npz
    from trust.data.io import check_input_file

    return read_inputs_npz(check_input_file(path, flag=flag), f" ({flag})")


def _forget_remain(forget: Optional[Path], remain: Optional[Path], data: Optional[Path],
                   forget_class: Optional[int]) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """``((Xf, yf), (Xr, yr))``: the --forget and --remain files, or the rows of --data split by --forget-class."""
    import numpy as np

    from trust.errors import ConfigError, DataError

    if data is not None:
        if forget is not None or remain is not None:
            raise ConfigError("give either --data (with --forget-class) or --forget and --remain, not both")
        if forget_class is None:
            raise ConfigError("--data needs --forget-class: the rows of that class are forgotten, the others remain")
        X, y = _npz(data, "--data")
        if y is None:
            raise DataError(f"'{data}' (--data) has no labels 'y' to find the rows of class {forget_class}; pass "
                            "--forget and --remain instead")
        mask = np.asarray(y) == forget_class
        if not mask.any() or mask.all():
            raise DataError(f"--forget-class {forget_class}: {'no' if not mask.any() else 'every'} row of '{data}' is "
                            f"of that class (classes there: {', '.join(map(str, np.unique(y).tolist()))})")
        return (X[mask], y[mask]), (X[~mask], y[~mask])
    if forget is None or remain is None:
        raise ConfigError("pass --forget and --remain (.npz files of inputs), or --data with --forget-class")
    if forget.resolve() == remain.resolve():
        raise DataError(f"--forget and --remain are the same file ('{forget}'); --remain holds the samples that stay")
    return _npz(forget, "--forget"), _npz(remain, "--remain")


def _laf_inputs(clf: Any, forget: Optional[Path], remain: Optional[Path], test: Optional[str], repair: int, name: str,
                forget_class: Optional[int], data: Optional[Path] = None) -> Any:
    from trust.errors import ConfigError
    from trust.unlearn import UnlearnInputs

    (Xf, yf), (Xr, yr) = _forget_remain(forget, remain, data, forget_class)
    if data is not None and test is None:
        forget_class = None  # it chose the rows; without --test there is no certificate for it to describe
    if test is not None and (yf is None or yr is None):
        raise ConfigError("--test needs labels 'y' in --forget and --remain (the certificate and the retrained model "
                          "use them; LAF itself never reads them)")
    if repair > 0 and yr is None:
        raise ConfigError("--repair-per-class (LAF+R) needs labels 'y' in --remain for the labelled rows it repairs with")
    if forget_class is not None and test is None:
        raise ConfigError("--forget-class says what the certificate gates; it needs --test")
    return UnlearnInputs(clf, (Xf, yf), (Xr, yr), test=_arrays(test, "--test") if test is not None else None,
                         forget_class=forget_class, name=name)


@app.command("laf")
def laf(
    model: Path = typer.Option(..., "--model", help="A model folder (NeuralClassifier.save / `trust models train`)."),
    forget: Optional[Path] = typer.Option(None, "--forget", help="An .npz whose array X holds the inputs to forget (y, "
                                          "if present, only for the certificate)."),
    remain: Optional[Path] = typer.Option(None, "--remain", help="An .npz whose array X holds the remaining inputs (y, "
                                          "if present, only for the certificate and LAF+R)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Instead of --forget and --remain: the rows the model was "
                                        "trained on (.npz with X and y, e.g. `trust models train --train-out`); the rows "
                                        "of --forget-class are forgotten, the others remain."),
    out: Path = typer.Option(..., "--out", help="Folder for the unlearned model (written atomically)."),
    test: Optional[str] = typer.Option(None, "--test", help="Held-out rows (.npz with X and y): retrain without the "
                                                            "forgotten inputs and print the certificate."),
    repair_per_class: int = typer.Option(0, "--repair-per-class", help="LAF+R: repair the head with this many labelled "
                                                                       "--remain rows per class (the label budget)."),
    forget_class: Optional[int] = typer.Option(None, "--forget-class", help="With --test: the --forget inputs are this "
                                                                            "whole class (certified as class unlearning; "
                                                                            "default: as rows); with --data: the class "
                                                                            "whose rows to forget."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Stage 2 epochs (default: the library's)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Adam learning rate of the extractor-unlearning step."),
    align_lr: Optional[float] = typer.Option(None, "--align-lr", help="Adam learning rate of the alignment step."),
    tau: Optional[float] = typer.Option(None, "--tau", help="Temperature of the alignment loss."),
    shadows: int = _SHADOWS,
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Write DIR/unlearn_laf.json (needs --test)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it is a model folder, and the evidence."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda."),
    seed: int = typer.Option(0, "--seed", help="Seed of the VAEs and every batch order."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Label-Agnostic Forgetting: unlearn the --forget inputs from --model using inputs only (no labels).

    With --repair-per-class N the head is then repaired on N labelled remaining rows per class (LAF+R), and
    LAF+R is the model saved and certified. The input model is never changed.
    """
    from trust.data.io import check_output_dir
    from trust.errors import ConfigError
    from trust.models.classifier import MODEL_KIND

    for v, flag in ((lr, "--lr"), (align_lr, "--align-lr"), (tau, "--tau")):
        check_finite(v, flag, positive=True)
    if repair_per_class < 0:
        raise ConfigError(f"--repair-per-class {repair_per_class} must be >= 0 (0: plain LAF)")
    out = check_output_dir(out, kind=MODEL_KIND, overwrite=overwrite)
    if evidence is not None and test is None:
        raise ConfigError("--evidence needs --test: the certificate compares with a model retrained without the inputs")
    ev_path = evidence_path(evidence, "unlearn_laf", overwrite)

    from trust.models import NeuralClassifier
    from trust.unlearn import run_unlearn

    clf = NeuralClassifier.load(model, device=device)
    inputs = _laf_inputs(clf, forget, remain, test, repair_per_class, name=str(model), forget_class=forget_class,
                         data=data)
    settings = {k: v for k, v in (("epochs", epochs), ("lr", lr), ("align_lr", align_lr), ("tau", tau)) if v is not None}
    certified = "LAF+R" if repair_per_class > 0 else "LAF"
    result = run_unlearn(inputs, method="laf", settings=settings, certified=certified, repair_per_class=repair_per_class,
                         n_shadows=shadows, relearn=False, random_state=seed, device=device,
                         progress=show_progress(quiet))
    _finish(result, out, ev_path, "unlearn_laf", {**settings, "certified": certified, "forget_class": forget_class,
                                                  "repair_per_class": repair_per_class, "seed": seed})
