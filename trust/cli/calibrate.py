"""`trust calibrate` commands: fit a calibrator on saved validation logits, apply it, evaluate it.

Inputs are ``.npz`` files with ``logits`` ``(n, K)``, ``labels`` ``(n,)`` and, for the CA calibrator,
``view_logits`` ``(n_views, n, K)`` (the model's logits on transformed views; ``trust.calibrate.view_logits``).
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)

METHODS = ("temperature", "vector", "histogram", "isotonic", "ca", "ca_ce", "ca_mse", "ca_unbalanced")


def _read(path: Path, *, labels: bool, views: bool | None):
    """``(logits, labels, view_logits)`` from an .npz (labels / views None when not asked for or absent)."""
    import numpy as np

    from trust.data.io import check_input_file
    from trust.errors import DataError

    p = check_input_file(path, flag="--logits")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError):
        raise DataError(f"'{p}' could not be read as an .npz archive; save it with np.savez(path, logits=..., labels=...)") from None
    for key, need in (("logits", True), ("labels", labels), ("view_logits", bool(views))):
        if need and key not in arrays:
            raise DataError(f"'{p}' has no array '{key}'; save it with np.savez(path, logits=..., labels=..., view_logits=...)")
    return arrays["logits"], arrays.get("labels") if labels else None, arrays.get("view_logits") if views is not False else None


def _proba(cal, logits, views):
    from trust.calibrate.ca import CorrectnessAwareCalibrator
    from trust.errors import DataError

    if isinstance(cal, CorrectnessAwareCalibrator):
        if views is None:
            raise DataError("this CA calibrator needs view_logits in the .npz (the model's logits on its views)")
        return cal.predict_proba(logits, views)
    return cal.predict_proba(logits)


@app.command("fit")
def fit(
    logits: Path = typer.Option(..., "--logits", help="Validation .npz with logits, labels (and view_logits for ca)."),
    out: Path = typer.Option(..., "--out", help="Folder to save the calibrator to (a new or empty folder, or a calibrator)."),
    method: str = typer.Option("temperature", "--method", help="temperature, vector, histogram, isotonic, ca, ca_ce, ca_mse or ca_unbalanced."),
    seed: int = typer.Option(0, "--seed", help="Seed of the CA calibrator's weights and batch order."),
) -> None:
    """Fit a calibrator on validation logits and labels; save it to --out."""
    from trust.data.io import check_output_dir
    from trust.errors import ConfigError

    if method not in METHODS:
        raise ConfigError(f"--method {method!r} is unknown; choose one of {', '.join(METHODS)}")
    check_output_dir(out, kind="calibrator", overwrite=True)
    Z, y, V = _read(logits, labels=True, views=method.startswith("ca"))
    from trust.calibrate.experiments import make_calibrators
    from trust.calibrate.persist import save_calibrator

    cal = make_calibrators([method], random_state=seed)[method]
    cal.fit(Z, y, V) if method.startswith("ca") else cal.fit(Z, y)
    save_calibrator(cal, out)
    typer.echo(f"{type(cal).__name__} fitted on {len(y)} rows; saved to {out}", err=True)


@app.command("apply")
def apply(
    calibrator: Path = typer.Argument(..., help="A folder written by `trust calibrate fit`."),
    logits: Path = typer.Option(..., "--logits", help=".npz with logits (and view_logits for a CA calibrator)."),
    out: Path = typer.Option(..., "--out", help=".npz to write: proba, label."),
) -> None:
    """Calibrated probabilities of saved logits, written atomically to --out."""
    from trust.data.io import check_output_file

    check_output_file(out, flag="--out")
    from trust.calibrate.persist import load_calibrator
    from trust.data.arrays import save_arrays

    cal = load_calibrator(calibrator)
    Z, _, V = _read(logits, labels=False, views=None)
    P = _proba(cal, Z, V)
    save_arrays(out, proba=P, label=P.argmax(axis=1))


@app.command("evaluate")
def evaluate(
    calibrator: Path = typer.Argument(..., help="A folder written by `trust calibrate fit`."),
    logits: Path = typer.Option(..., "--logits", help=".npz with logits, labels (and view_logits for a CA calibrator)."),
    n_bins: int = typer.Option(15, "--bins", help="Confidence bins of the ECE."),
) -> None:
    """Print the calibration metrics of the raw and the calibrated probabilities (JSON)."""
    import json

    from trust.calibrate.baselines import check_logits, softmax
    from trust.metrics import calibration_metrics
    from trust.calibrate.persist import load_calibrator

    cal = load_calibrator(calibrator)
    Z, y, V = _read(logits, labels=True, views=None)
    Z, y = check_logits(Z, y)
    out = {"uncalibrated": calibration_metrics(y, softmax(Z), n_bins=n_bins),
           "calibrated": calibration_metrics(y, _proba(cal, Z, V), n_bins=n_bins)}
    typer.echo(json.dumps(out, indent=1))
