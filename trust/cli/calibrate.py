"""`trust calibrate` commands: fit a calibrator on saved validation logits, apply it, evaluate it.

Inputs are ``.npz`` files with ``logits`` ``(n, K)``, ``labels`` ``(n,)`` and, for the CA calibrator,
``view_logits`` ``(n_views, n, K)`` (the model's logits on transformed views; ``trust.calibrate.view_logits``).
Every command prints its ECE beside the uncalibrated model's on the same rows and warns, in one line, when
the calibrator made it much worse (:data:`MUCH_WORSE_RATIO` and :data:`MUCH_WORSE_POINTS` both exceeded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from trust.cli._common import evidence_path, note, warn

app = typer.Typer(no_args_is_help=True)

METHODS = ("auto", "temperature", "vector", "histogram", "isotonic", "ca", "ca_prior", "ca_ce", "ca_mse", "ca_unbalanced")
#: ``--method auto`` chooses among these (those that need view_logits only when the file has them)
AUTO = ("temperature", "ca", "ca_prior")
#: "much worse": the calibrated ECE above this multiple of the uncalibrated one AND this many points above it
MUCH_WORSE_RATIO, MUCH_WORSE_POINTS = 1.5, 0.02
PREDICTION_SUFFIXES = (".npz", ".csv")


def _read(path: Path, *, labels: bool, views: bool | None, flag: str = "--logits"):
    """``(logits, labels, view_logits)`` from an .npz (labels / views None when not asked for or absent)."""
    import numpy as np

    from trust.data.io import check_input_file
    from trust.errors import DataError

    p = check_input_file(path, flag=flag)
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError):
        raise DataError(f"'{p}' could not be read as an .npz archive; save it with np.savez(path, logits=..., labels=...)") from None
    for key, need in (("logits", True), ("labels", labels), ("view_logits", bool(views))):
        if need and key not in arrays:
            raise DataError(f"'{p}' ({flag}) has no array '{key}'; save it with np.savez(path, logits=..., labels=..., "
                            "view_logits=...)")
    return arrays["logits"], arrays.get("labels") if labels is not False else None, \
        arrays.get("view_logits") if views is not False else None


def compare_ece(calibrated: float, uncalibrated: float, *, where: str, what: str, advice: str) -> None:
    """Print ``calibrated`` beside ``uncalibrated`` (one line on stderr) and warn when it is much worse."""
    note(f"{where}: ECE {calibrated:.4f} with {what} vs {uncalibrated:.4f} uncalibrated")
    if calibrated > MUCH_WORSE_RATIO * uncalibrated and calibrated - uncalibrated > MUCH_WORSE_POINTS:
        warn(f"{what} raised the ECE from {uncalibrated:.3f} to {calibrated:.3f} ({where}); {advice}")


def _advice(method: str) -> str:
    if method.startswith("ca"):
        return ("the CA loss trains confidences for a 50 % base rate; try --method ca_prior (prior-corrected), "
                "--method temperature or --method auto")
    return "try --method temperature or --method auto (chosen by cross-validation), or keep the uncalibrated model"


def write_predictions(out: Path, proba: Any, logits: Any = None) -> None:
    """Predictions in the format ``out``'s suffix names: ``.npz`` (label, proba, logits) or ``.csv`` (label and
    one ``proba_<k>`` column per class), written atomically."""
    import numpy as np
    import pandas as pd

    from trust.data import write_table
    from trust.data.arrays import save_arrays

    P = np.asarray(proba)
    label = P.argmax(axis=1)
    if out.suffix.lower() == ".npz":
        save_arrays(out, label=label, proba=P, **({} if logits is None else {"logits": np.asarray(logits)}))
        return
    frame = pd.DataFrame(P, columns=[f"proba_{k}" for k in range(P.shape[1])])
    frame.insert(0, "label", label)
    write_table(frame, out)


def check_prediction_out(out: Path, inputs: tuple[Path, ...], overwrite: bool) -> Path:
    """``--out`` for predictions: ``.npz`` or ``.csv``, not an input of the command (whatever ``--overwrite``
    says), an existing file only with ``--overwrite``."""
    from trust.data.io import check_output_file
    from trust.errors import DataError

    for p in inputs:
        if Path(p).exists() and Path(out).exists() and Path(out).resolve() == Path(p).resolve():
            raise DataError(f"--out '{out}' is an input of this command; choose another name (an input is never overwritten)")
    return check_output_file(out, flag="--out", overwrite=overwrite, suffixes=PREDICTION_SUFFIXES)


@app.command("fit")
def fit(
    logits: Path = typer.Option(..., "--logits", help="Validation .npz with logits, labels (and view_logits for ca)."),
    out: Path = typer.Option(..., "--out", help="Folder to save the calibrator to (a new or empty folder, or a calibrator with --overwrite)."),
    method: str = typer.Option("auto", "--method", help="auto (the lowest cross-validated NLL among temperature, ca, "
                               "ca_prior), temperature, vector, histogram, isotonic, ca, ca_prior, ca_ce, ca_mse or ca_unbalanced."),
    test: Optional[Path] = typer.Option(None, "--test", help="Test .npz (logits, labels, view_logits for ca): the ECE "
                                                             "is measured there; needed for --evidence."),
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds on the validation rows."),
    ca_epochs: int = typer.Option(300, "--ca-epochs", min=1, help="Training epochs of a CA calibrator's network."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the folds and of the CA calibrator's weights and batch order."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Write gated evidence (kind calibrate) to DIR/calibrate-fit-<out>.json."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a calibrator already at --out (and the evidence file)."),
) -> None:
    """Fit a calibrator on validation logits and labels, print its ECE beside the uncalibrated model's, save it to --out."""
    from trust.data.io import check_output_dir
    from trust.errors import ConfigError

    if method not in METHODS:
        raise ConfigError(f"--method {method!r} is unknown; choose one of {', '.join(METHODS)}")
    if evidence is not None and test is None:
        raise ConfigError("--evidence needs --test: the gates read the ECE on test rows; pass --test test.npz")
    check_output_dir(out, kind="calibrator", overwrite=overwrite)
    stage = f"calibrate-fit-{out.name}"
    ev_path = evidence_path(evidence, stage, overwrite)
    Z, y, V = _read(logits, labels=True, views=None if method == "auto" else method.startswith("ca"))
    candidates = tuple(m for m in AUTO if V is not None or not m.startswith("ca")) if method == "auto" else (method,)
    needs_views = any(m.startswith("ca") for m in candidates)
    tests = {}
    if test is not None:
        Zt, yt, Vt = _read(test, labels=True, views=needs_views, flag="--test")
        from trust.calibrate.experiments import EvalSet

        tests["in_distribution"] = EvalSet.from_logits(Zt, yt, Vt)
    result = _run(Z, y, V if needs_views else None, tests, candidates, folds, seed, out.name, ca_epochs)
    result.deployed_calibrator.save(out)
    _print_fit(result, test is not None, method)
    note(f"{type(result.deployed_calibrator).__name__} fitted on {len(y)} rows; saved to {out}")
    if ev_path is not None:
        _write_evidence(ev_path, stage, result, {"method": method, "folds": folds, "ca_epochs": ca_epochs, "seed": seed})


def _run(Z, y, V, tests, candidates, folds, seed, name, ca_epochs):
    from trust.calibrate.experiments import EvalSet
    from trust.calibrate.protocol import run_calibrate

    return run_calibrate(EvalSet.from_logits(Z, y, V), tests, methods=("uncalibrated", *candidates),
                         candidates=candidates, n_folds=folds, ca={"epochs": ca_epochs}, dataset=name, random_state=seed)


def _print_fit(result, tested: bool, method: str) -> None:
    from trust.calibrate.experiments import LABELS

    what = LABELS.get(result.deployed, result.deployed)
    if method == "auto":
        scores = ", ".join(f"{m} {v:.4f}" for m, v in result.selection.scores.items())
        note(f"--method auto chose {result.deployed} (cross-validated NLL on the validation rows: {scores})")
    if tested:
        compare_ece(result.ece[0], result.uncalibrated_ece[0], where="test rows", what=what, advice=_advice(result.deployed))
    else:
        sel = result.selection
        compare_ece(sel.ece[result.deployed], sel.uncalibrated_ece, where=f"validation rows, {sel.n_folds}-fold cross-validated",
                    what=what, advice=_advice(result.deployed))


def _write_evidence(path: Path, stage: str, result, params: dict) -> None:
    from trust.cli._common import write_evidence
    from trust.report.project import read_params

    ev = result.to_evidence(read_params(Path.cwd()).get("policy") or {})
    write_evidence(path, stage=stage, kind=ev.kind, title=ev.title, params=params, metrics=dict(ev.metrics),
                   checks=[c.to_dict() for c in ev.checks], details=dict(ev.details))


@app.command("apply")
def apply(
    calibrator: Path = typer.Argument(..., help="A folder written by `trust calibrate fit`."),
    logits: Path = typer.Option(..., "--logits", help=".npz with logits (view_logits for a CA calibrator; labels, if "
                                                     "present, are used to print the ECE)."),
    out: Path = typer.Option(..., "--out", help="Where to write: .npz (label, proba, logits: calibrated) or .csv (label "
                                                "and one proba_<k> column per class)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists (never an input)."),
) -> None:
    """Calibrated probabilities of saved logits, written atomically to --out."""
    check_prediction_out(out, (logits,), overwrite)
    from trust.calibrate import Calibrator
    from trust.calibrate.baselines import check_logits, softmax
    from trust.metrics import expected_calibration_error

    cal = Calibrator.load(calibrator)
    Z, y, V = _read(logits, labels=None, views=None)
    Z, y = check_logits(Z, y, n_classes=getattr(cal, "n_classes_", None))
    logits_cal = cal.transform(Z, V)
    P = softmax(logits_cal)
    write_predictions(out, P, logits_cal)
    conf, raw = float(P.max(axis=1).mean()), float(softmax(Z).max(axis=1).mean())
    note(f"calibrated probabilities of {len(P)} rows written to {out}; mean confidence {conf:.4f} (uncalibrated {raw:.4f})")
    if y is not None:
        compare_ece(expected_calibration_error(y, P), expected_calibration_error(y, softmax(Z)), where=f"{logits.name}",
                    what=type(cal).__name__, advice=_advice("ca" if cal.needs_views else "temperature"))


@app.command("evaluate")
def evaluate(
    calibrator: Path = typer.Argument(..., help="A folder written by `trust calibrate fit`."),
    logits: Path = typer.Option(..., "--logits", help=".npz with logits, labels (and view_logits for a CA calibrator)."),
    n_bins: int = typer.Option(15, "--bins", min=1, help="Confidence bins of the ECE."),
) -> None:
    """Print the calibration metrics of the raw and the calibrated probabilities (JSON), and the ECE of each."""
    import json

    from trust.calibrate import Calibrator
    from trust.calibrate.baselines import check_logits, softmax
    from trust.metrics import calibration_metrics

    cal = Calibrator.load(calibrator)
    Z, y, V = _read(logits, labels=True, views=None)
    Z, y = check_logits(Z, y, n_classes=getattr(cal, "n_classes_", None))
    out = {"uncalibrated": calibration_metrics(y, softmax(Z), n_bins=n_bins),
           "calibrated": calibration_metrics(y, cal.predict_proba(Z, V), n_bins=n_bins)}
    typer.echo(json.dumps(out, indent=1))
    compare_ece(out["calibrated"]["ece"], out["uncalibrated"]["ece"], where=logits.name, what=type(cal).__name__,
                advice=_advice("ca" if cal.needs_views else "temperature"))
