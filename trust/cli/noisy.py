"""`trust noisy` commands: fit RCAL on noisily labelled data (beside plain cross-entropy when a clean test set
is given), audit which labels look wrong. A fitted RCAL model predicts through `trust models predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from trust.cli._common import check_finite, evidence_path, note, show_progress, warn

app = typer.Typer(no_args_is_help=True)

#: equals ``trust.noisy.rcal.MODEL_KIND`` (tested); kept here so paths are checked before torch is imported
RCAL_KIND = "rcal-classifier"


def _load(data: Path, kind: Optional[str]):
    from trust.data import load_arrays
    from trust.data.io import check_input_file

    return load_arrays(check_input_file(data, flag="--data"), kind=kind)


def _rcal(network: Optional[str], kind: str, contrastive_epochs: int, epochs: int, lr: float, device: str, seed: int,
          quiet: bool, mixup: float = 1.0):
    from trust.noisy.rcal import NETWORK_FOR_KIND, RCALClassifier

    return RCALClassifier(network or NETWORK_FOR_KIND[kind], contrastive_epochs=contrastive_epochs, epochs=epochs,
                          lr=lr, mixup_alpha=mixup, device=device, random_state=seed, progress=show_progress(quiet))


_DATA = typer.Option(..., "--data", help="An .npz with X (images N x H x W, signals N x L, or tables) and noisy labels y.")
_KIND = typer.Option(None, "--kind", help="image or signal, for a 3-d X (default: image; 2-d X is a signal).")
_NETWORK = typer.Option(None, "--network", help="cnn, cnn1d or mlp (default: cnn for images, cnn1d for signals).")
_CEPOCHS = typer.Option(30, "--contrastive-epochs", min=1, help="Epochs of the label-free contrastive stage.")
_EPOCHS = typer.Option(30, "--epochs", min=1, help="Epochs of the classifier stage.")
_LR = typer.Option(1e-3, "--lr", help="Adam learning rate of the classifier stage.")
_DEVICE = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda.")
_SEED = typer.Option(0, "--seed", min=0, help="Seed of the weights, views, samples and batch order.")
_QUIET = typer.Option(False, "--quiet", help="No progress bar.")


#: RCAL "much worse" than cross-entropy: test accuracy this many points below it
MUCH_WORSE_POINTS = 0.02


@app.command("fit")
def fit(data: Path = _DATA, out: Path = typer.Option(..., "--out", help="Folder to save the RCAL model to."),
        test: Optional[Path] = typer.Option(None, "--test", help="A clean test .npz (X, y): RCAL's accuracy is measured "
                                                                 "there beside cross-entropy trained on the same rows."),
        network: Optional[str] = _NETWORK, kind: Optional[str] = _KIND, contrastive_epochs: int = _CEPOCHS,
        epochs: int = _EPOCHS, lr: float = _LR,
        mixup: float = typer.Option(1.0, "--mixup", min=0.0, help="Mixup's Beta parameter (the paper: 1; 0: no mixup, "
                                                                 "the calibrated variant)."),
        device: str = _DEVICE, seed: int = _SEED,
        evidence: Optional[Path] = typer.Option(None, "--evidence", help="Write gated evidence (kind noisy) to "
                                                                         "DIR/noisy-fit-<out>.json (needs --test)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an RCAL model already at --out (and the "
                                                                  "evidence file)."),
        quiet: bool = _QUIET) -> None:
    """Fit RCAL (contrastive representations, recovered class distributions, calibrated classifier) on DATA.

    With --test, cross-entropy is trained on the same rows and both are scored on the test rows; the command prints
    RCAL's accuracy beside it and warns when RCAL is much worse.
    """
    from trust.data.io import check_output_dir
    from trust.errors import ConfigError

    check_finite(lr, "--lr", positive=True)
    check_finite(mixup, "--mixup")
    if evidence is not None and test is None:
        raise ConfigError("--evidence needs --test: the gates compare RCAL with cross-entropy on clean test rows")
    check_output_dir(out, kind=RCAL_KIND, flag="--out", overwrite=overwrite)
    stage = f"noisy-fit-{out.name}"
    ev_path = evidence_path(evidence, stage, overwrite)
    ds = _load(data, kind)
    if test is None:
        rcal = _rcal(network, ds.kind, contrastive_epochs, epochs, lr, device, seed, quiet, mixup).fit(ds.X, ds.y)
        rcal.save(out)
        d = rcal.distributions_
        note(f"RCAL fitted on {len(ds.y)} rows, {len(rcal.classes_)} classes: LOF kept {int(d.inliers.sum())} rows, "
             f"{rcal.n_sampled_} representations sampled to rebalance; model saved to {out} (pass --test to measure "
             "it beside cross-entropy)")
        return
    result = _fit_with_baseline(ds, _load(test, kind or ds.kind), network, contrastive_epochs, epochs, lr, mixup,
                                device, seed, quiet)
    result.models["rcal"].save(out)
    _print_fit(result)
    note(f"model saved to {out}")
    if ev_path is not None:
        _write_evidence(ev_path, stage, result, {"contrastive_epochs": contrastive_epochs, "epochs": epochs, "lr": lr,
                                                  "mixup_alpha": mixup, "seed": seed})


def _fit_with_baseline(ds, test, network, contrastive_epochs, epochs, lr, mixup, device, seed, quiet):
    from trust.noisy.protocol import run_noisy
    from trust.noisy.rcal import NETWORK_FOR_KIND

    net = network or NETWORK_FOR_KIND[ds.kind]
    methods = {"ce": {"epochs": epochs, "lr": lr},
               "rcal": {"contrastive_epochs": contrastive_epochs, "epochs": epochs, "lr": lr, "mixup_alpha": mixup,
                        "progress": show_progress(quiet)}}
    return run_noisy(ds.X, ds.y, test.X, test.y, methods=methods, network=net, setting=ds.name, dataset=ds.name,
                     random_state=seed, device=device)


def _print_fit(result) -> None:
    r, c = result.figures["rcal"], result.figures["ce"]
    note(f"test accuracy: RCAL {r['accuracy']:.4f} vs cross-entropy {c['accuracy']:.4f} trained on the same rows "
         f"(tail classes {r['tail']:.4f} vs {c['tail']:.4f}; ECE {r['ece']:.4f} vs {c['ece']:.4f})")
    if r["accuracy"] < c["accuracy"] - MUCH_WORSE_POINTS:
        warn(f"RCAL's test accuracy {r['accuracy']:.3f} is below plain cross-entropy's {c['accuracy']:.3f} on the same "
             "rows; try more --contrastive-epochs or --epochs, or keep cross-entropy (the labels may be cleaner or "
             "less long-tailed than RCAL assumes)")


def _write_evidence(path: Path, stage: str, result, params: dict) -> None:
    from trust.cli._common import write_evidence
    from trust.report.project import read_params

    ev = result.to_evidence(read_params(Path.cwd()).get("policy") or {})
    write_evidence(path, stage=stage, kind=ev.kind, title=ev.title, params=params, metrics=dict(ev.metrics),
                   checks=[c.to_dict() for c in ev.checks], details=dict(ev.details))


@app.command("audit")
def audit(data: Path = _DATA, out: Path = typer.Option(..., "--out", help="CSV of the labels that look wrong, "
                                                                         "most suspicious first."),
          model: Optional[Path] = typer.Option(None, "--model", help="An RCAL model folder (`trust noisy fit`) whose "
                                                                      "contrastive encoder to use; default: fit one."),
          folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds for out-of-sample probabilities."),
          network: Optional[str] = _NETWORK, kind: Optional[str] = _KIND, contrastive_epochs: int = _CEPOCHS,
          device: str = _DEVICE, seed: int = _SEED,
          overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
          quiet: bool = _QUIET) -> None:
    """List the rows of DATA whose label looks wrong, for a person to review (nothing is relabelled).

    The label-free contrastive representation of every row (RCAL's stage 1: the labels are not used to learn it)
    is classified by logistic regression with cross-validation, so each row's probabilities come from a model
    that did not see its label; confident learning (per-class thresholds, prune by noise rate) flags the rows.
    """
    from trust.data.io import check_output_file, model_kind

    check_output_file(out, flag="--out", overwrite=overwrite, suffixes=(".csv",))
    if model is not None:
        if model_kind(model) != RCAL_KIND:
            from trust.errors import DataError

            raise DataError(f"--model '{model}' is not an RCAL model folder; write one with `trust noisy fit --out DIR`")
    ds = _load(data, kind)

    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from trust.data import write_table
    from trust.errors import DataError
    from trust.noisy.baselines import find_label_issues
    from trust.noisy.rcal import RCALClassifier

    if model is not None:
        rcal = RCALClassifier.load(model, device=device)
    else:
        rcal = _rcal(network, ds.kind, contrastive_epochs, 1, 1e-3, device, seed, quiet).fit(ds.X, ds.y)
    Z = rcal.contrastive_embed(ds.X)
    K = int(ds.y.max()) + 1
    smallest = int(np.bincount(ds.y, minlength=K).min())
    if smallest < folds:
        raise DataError(f"class {int(np.bincount(ds.y, minlength=K).argmin())} has {smallest} rows, fewer than "
                        f"--folds {folds}; lower --folds")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    P = cross_val_predict(clf, Z, ds.y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba")
    issues = find_label_issues(ds.y, P)
    rows = np.flatnonzero(issues)
    suggested = P[rows].argmax(axis=1)
    frame = pd.DataFrame({"row": rows, "given_label": ds.y[rows], "suggested_label": suggested,
                          "p_given": P[rows, ds.y[rows]], "p_suggested": P[rows, suggested]})
    frame = frame.assign(margin=frame.p_suggested - frame.p_given).sort_values("margin", ascending=False)
    write_table(frame.reset_index(drop=True), out)
    note(f"{len(rows)} of {len(ds.y)} labels look wrong; listed in {out} (most suspicious first) for review")
