"""`trust aggregate` commands: learn from bag means of your CSV, optionally released with label-DP.

``trust aggregate fit DATA.csv --target price --bag-size 16 --epsilon 1 --clip 2.5 --center 13 --scale 0.5
--log-target --rho auto --out runs/agg`` bags the rows (random bags of 16, or ``--bag-key COL`` for bags keyed by a
column), replaces the target by bag means (label-DP Laplace release with ``--epsilon``), fits the estimator and
writes ``model.pt``, ``summary.json`` and, for a DP release, ``ledger.json`` under ``--out``.

``trust aggregate sweep`` runs the bag-size x epsilon sweep and writes the risk-vs-k plot and the optimal k per
epsilon. A fraction of the rows (``--test-fraction``) is held out, never bagged nor released, to measure the
instance-level test MSE that the summary reports.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from trust.cli._common import (AGGREGATE_FIT_KIND, AGGREGATE_SWEEP_KIND, check_finite,
                               evidence_path, warn_if_vacuous, write_evidence)
from trust.errors import ConfigError, DataError

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

#: Targets beyond this magnitude overflow the squared errors the summary reports.
MAX_ABS_TARGET = 1e150


def _load(data: Path, target: str, bag_keys: list[str], log_target: bool, test_fraction: float, seed: int,
          sep: Optional[str] = None):
    import numpy as np

    from trust.aggregate.experiments import tabular_features
    from trust.data import infer_schema, read_table

    df = read_table(data, sep=sep)
    if target not in df.columns:
        raise DataError(f"column '{target}' (--target) is not in {data}; columns are {list(df.columns)[:20]}")
    for key in bag_keys:
        if key not in df.columns:
            raise DataError(f"bag key column '{key}' (--bag-key) is not in {data}; "
                            f"choose one of {list(df.columns)[:20]}")
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"--test-fraction={test_fraction} must lie in [0, 1)")
    y = np.asarray(df[target], dtype=float) if df[target].dtype.kind in "fiub" else None
    if y is None or not np.all(np.isfinite(y)):
        raise DataError(f"target '{target}' must be numeric without missing values; drop rows without a target")
    if np.abs(y).max() > MAX_ABS_TARGET:
        raise DataError(f"target '{target}' has values beyond {MAX_ABS_TARGET:g} in magnitude, too large to square; "
                        "rescale the column (or use --log-target)")
    if log_target:
        if (y <= 0).any():
            raise DataError(f"--log-target needs a positive target, but '{target}' has values <= 0; drop --log-target")
        y = np.log(y)
    rng = np.random.default_rng(seed)
    n = len(df)
    test = np.zeros(n, dtype=bool)
    if test_fraction > 0:
        test[rng.choice(n, size=max(1, int(round(test_fraction * n))), replace=False)] = True
    schema = infer_schema(df, target=target)
    tr, te = df[~test].reset_index(drop=True), df[test].reset_index(drop=True)
    Xtr, others, names = tabular_features(tr, [te], schema, target=target)
    return tr, Xtr, others[0], y[~test], y[test], names


def _check_privacy(epsilon: Optional[float], clip: Optional[float], scale: float, center: float = 0.0) -> None:
    for flag, v in (("--epsilon", epsilon), ("--clip", clip), ("--scale", scale), ("--center", center)):
        check_finite(v, flag)
    if epsilon is not None and not epsilon > 0:
        raise ConfigError(f"--epsilon={epsilon} must be > 0 (omit it for non-private bag means)")
    if clip is not None and not clip > 0:
        raise ConfigError(f"--clip={clip} must be > 0 (the bound on standardised responses)")
    if epsilon is not None and clip is None:
        raise ConfigError("--epsilon needs --clip C: responses are clipped to [-C, C] after standardising")
    if not scale > 0:
        raise ConfigError(f"--scale={scale} must be > 0")


def _parse_rho(rho: str):
    if rho == "auto":
        return "auto"
    try:
        value = float(rho)
    except ValueError:
        raise ConfigError(f"--rho '{rho}' must be 'auto' or a number >= 0") from None
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"--rho {rho} must be 'auto' or a finite number >= 0")
    return value


@app.command("fit")
def fit(
    data: Path = typer.Argument(..., help="CSV or Parquet with instance-level rows (features and the target)."),
    target: str = typer.Option(..., "--target", help="Numeric response column (replaced by bag means)."),
    bag_size: Optional[int] = typer.Option(None, "--bag-size", help="Rows per bag (random bags; with --bag-key: "
                                                                     "chunks of each key group)."),
    bag_key: list[str] = typer.Option([], "--bag-key", help="Key column(s): bags never mix key values (repeatable)."),
    keep_last: bool = typer.Option(False, "--keep-last", help="Keep the unequal last bag(s) instead of dropping them."),
    epsilon: Optional[float] = typer.Option(None, "--epsilon", help="Release bag means with epsilon-label-DP."),
    clip: Optional[float] = typer.Option(None, "--clip", help="Clip bound C on standardised responses (with DP)."),
    center: float = typer.Option(0.0, "--center", help="Declared public centre of the response (NOT from the data)."),
    scale: float = typer.Option(1.0, "--scale", help="Declared public scale of the response (NOT from the data)."),
    log_target: bool = typer.Option(False, "--log-target", help="Model log(target) (e.g. prices)."),
    rho: str = typer.Option("auto", "--rho", help="'auto' (chosen on held-out bags) or a number: 0 = bag-level, "
                                                   "1 = instance-level."),
    model: str = typer.Option("linear", "--model", help="linear (closed form) or mlp (torch)."),
    epochs: int = typer.Option(30, "--epochs", help="MLP epochs."),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="Rows held out (never bagged) for test MSE."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of bags, split and training (never of DP noise)."),
    out: Path = typer.Option(Path("aggregate-out"), "--out", help="Output folder (new or empty; an earlier "
                                                                  "`aggregate fit` output only with --overwrite)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset name in the privacy ledger (default: "
                                                                   "the file name)."),
    sep: Optional[str] = typer.Option(None, "--sep", help="CSV delimiter (default: detected)."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Also write evidence "
                                                                      "DIR/aggregate-fit-<out>.json."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier output at --out."),
) -> None:
    """Bag the rows, release bag means (optionally with label-DP), fit, and report the test MSE."""
    import numpy as np

    from trust.data.io import check_input_file, check_output_dir, model_dir_writer

    if bag_size is None and not bag_key:
        raise ConfigError("give --bag-size K (random bags) or --bag-key COL (bags keyed by a column)")
    if bag_size is not None and bag_size < 1:
        raise ConfigError(f"--bag-size={bag_size} must be >= 1")
    if model not in ("linear", "mlp"):
        raise ConfigError(f"--model '{model}' is unknown; choose linear or mlp")
    _check_privacy(epsilon, clip, scale, center)
    rho_value = _parse_rho(rho)
    check_input_file(data)
    check_output_dir(out, kind=AGGREGATE_FIT_KIND, overwrite=overwrite)
    stage = f"aggregate-fit-{out.name}"
    ev_path = evidence_path(evidence, stage, overwrite, ledger=epsilon is not None)
    warn_if_vacuous(epsilon)

    from trust.aggregate import InterpolatingRegressor, bag_means, bag_sizes, make_bags, release_bag_means

    tr, Xtr, Xte, ytr, yte, _ = _load(data, target, bag_key, log_target, test_fraction, seed, sep)
    n = len(ytr)
    if bag_size is not None and bag_size > n:
        raise ConfigError(f"--bag-size={bag_size} is larger than the {n} training rows; pick a smaller bag size")
    if bag_key:
        ids = make_bags(n, bag_size, "feature_keyed", keys=tr[bag_key], drop_last=not keep_last, random_state=seed)
    else:
        ids = make_bags(n, bag_size, "random", drop_last=not keep_last, random_state=seed)
    entry = None
    if epsilon is not None:
        name = dataset or Path(data).name
        yb, entry = release_bag_means(ytr, ids, epsilon, clip, center=center, scale=scale,
                                      release=f"aggregate/cli/{name}", dataset=name)
    else:
        yb = bag_means((ytr - center) / scale, ids)
    est = InterpolatingRegressor(rho=rho_value, model=model, epochs=epochs, random_state=seed,
                                 progress=model == "mlp").fit(Xtr, ids, yb)
    sizes = bag_sizes(ids)
    summary = {
        "rows_bagged": int((ids >= 0).sum()), "rows_dropped": int((ids < 0).sum()), "bags": int(len(sizes)),
        "bag_size_min": int(sizes.min()), "bag_size_max": int(sizes.max()), "rho": est.rho_, "model": model,
        "epsilon": epsilon, "clip": clip, "center": center, "scale": scale, "log_target": log_target,
        "rho_validation_loss": None if est.rho_scores_ is None else {str(k): v for k, v in est.rho_scores_.items()},
        "units": "standardised response (y - center) / scale" + (" of log(target)" if log_target else ""),
    }
    if len(yte):
        zte = (yte - center) / scale
        summary["test_rows"] = int(len(yte))
        summary["test_mse"] = float(np.mean((est.predict(Xte) - zte) ** 2))
        summary["test_mse_of_constant"] = float(np.mean((zte - float(np.mean(yb))) ** 2))
    from trust.data.io import atomic_write_json

    with model_dir_writer(out, kind=AGGREGATE_FIT_KIND) as tmp:
        atomic_write_json(tmp / "summary.json", summary, finite=True)
        est.save(tmp / "model.pt")
        if entry is not None:
            atomic_write_json(tmp / "ledger.json", [entry.to_dict()], finite=True)
    print(json.dumps({k: v for k, v in summary.items() if k != "rho_validation_loss"}, indent=2))
    if entry is not None:
        print(entry.sentence())
    write_evidence(ev_path, stage=stage, kind="aggregate", title=f"Aggregate learning on {Path(data).name}",
                   params={"bag_size": bag_size, "epsilon": epsilon, "clip": clip, "center": center, "scale": scale,
                           "model": model, "rho": rho}, metrics={k: v for k, v in summary.items()
                                                                 if isinstance(v, (int, float))},
                   ledger=[entry.to_dict()] if entry is not None else [], details={"units": summary["units"]})


@app.command("sweep")
def sweep(
    data: Path = typer.Argument(..., help="CSV or Parquet with instance-level rows."),
    target: str = typer.Option(..., "--target", help="Numeric response column."),
    epsilons: list[float] = typer.Option([0.5, 1.0, 2.0], "--epsilon", help="Epsilons to sweep (repeatable)."),
    bag_sizes: list[int] = typer.Option([1, 2, 4, 8, 16, 32, 64], "--bag-size", help="Bag sizes (repeatable)."),
    clip: float = typer.Option(..., "--clip", help="Clip bound C on standardised responses."),
    center: float = typer.Option(0.0, "--center", help="Declared public centre of the response."),
    scale: float = typer.Option(1.0, "--scale", help="Declared public scale of the response."),
    log_target: bool = typer.Option(False, "--log-target", help="Model log(target)."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per (epsilon, k)."),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="Rows held out for test MSE."),
    out: Path = typer.Option(Path("aggregate-sweep"), "--out", help="Output folder (new or empty; an earlier sweep "
                                                                    "only with --overwrite)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset name in the privacy ledger (default: "
                                                                   "the file name)."),
    sep: Optional[str] = typer.Option(None, "--sep", help="CSV delimiter (default: detected)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier sweep at --out."),
) -> None:
    """Sweep bag size x epsilon (linear model, rho chosen per release): risk-vs-k plot and k*(epsilon).

    Every (epsilon, k, seed) is a separate label-DP release of the same labels: the sweep as a whole spends the
    sum of their epsilons (written to ledger.json); run it on data you may spend that on, or on public data.
    """
    from trust.data.io import check_input_file, check_output_dir, model_dir_writer

    for e in epsilons:
        _check_privacy(e, clip, scale, center)
    _check_privacy(None, clip, scale, center)
    if seeds < 1:
        raise ConfigError(f"--seeds={seeds} must be >= 1")
    check_input_file(data)
    check_output_dir(out, kind=AGGREGATE_SWEEP_KIND, overwrite=overwrite)
    for e in epsilons:
        warn_if_vacuous(e)

    from trust.aggregate.experiments import dp_sweep, optimal_bag_sizes, plot_risk_vs_k, summarise
    from trust.data.io import atomic_write_json

    _, Xtr, Xte, ytr, yte, _ = _load(data, target, [], log_target, test_fraction, 0, sep)
    if len(yte) == 0:
        raise ConfigError("--test-fraction must be > 0 for a sweep (the test MSE is what it compares)")
    for k in bag_sizes:
        if not 1 <= k <= len(ytr):
            raise ConfigError(f"--bag-size={k} must lie between 1 and the {len(ytr)} training rows")
    rec, ledger = dp_sweep(Xtr, ytr, Xte, yte, epsilons, bag_sizes, list(range(seeds)), clip=clip, center=center,
                           scale=scale, dataset=dataset or Path(data).name, progress=sys.stderr.isatty())
    opt = optimal_bag_sizes(rec, "auto")
    fig = plot_risk_vs_k(rec, title=f"{Path(data).name}: test MSE vs bag size")
    with model_dir_writer(out, kind=AGGREGATE_SWEEP_KIND) as tmp:
        atomic_write_json(tmp / "sweep.json", {"summary": summarise(rec, ("epsilon", "k", "estimator")),
                                               "k_star": {str(e): v["k_star"] for e, v in opt.items()}}, finite=True)
        atomic_write_json(tmp / "ledger.json", [e.to_dict() for e in ledger], finite=True)
        fig.savefig(tmp / "risk_vs_k.png", format="png", dpi=110, bbox_inches="tight")
    for e, v in opt.items():
        print(f"epsilon {e:g}: k* = {v['k_star']} (test MSE {v['mse_at_k_star']:.4f}"
              f"{', interior' if v['interior'] else ', at the edge of the sweep'})")
    print(f"total epsilon spent by the sweep's {len(ledger)} releases: {sum(x.epsilon for x in ledger):g}")
