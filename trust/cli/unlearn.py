"""`trust unlearn` commands: remove a class's (or some rows') influence from a saved model, with a certificate.

Each command writes the unlearned model (a NeuralClassifier folder) and can write evidence of kind
``unlearning`` whose certificate (:mod:`trust.unlearn.report_section`) compares it with a model retrained
from scratch without the forgotten data.
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


# ------------------------------------------------------------------ laf (issue 13)
from pathlib import Path  # noqa: E402


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
