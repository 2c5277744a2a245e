"""`trust aggregate` commands: learn from bag means of your CSV, optionally released with label-DP.

``trust aggregate fit DATA.csv --target price --bag-size 16 --epsilon 1 --clip 2.5 --center 13 --scale 0.5
--log-target --rho auto --out runs/agg`` bags the rows (random bags of 16, or ``--bag-key COL`` for bags keyed by a
column), replaces the target by bag means (label-DP release with ``--epsilon``), fits the estimator and writes the
release into ``--out/release/`` (a folder of its own: bag means, model, ``release.json``, for a DP release
``ledger.json``, and a manifest listing them; :class:`trust.aggregate.release.BagRelease`) and any figure
computed on raw labels into ``--out/audit/`` (never part of the release). Without DP a fraction of
the rows (``--test-fraction``) is held out, never bagged, and scored; under ``--epsilon`` nothing computed from a
private label other than the release is written or printed unless ``--report-test-mse-non-dp`` asks for the
test error (then recorded as a non-DP use), and a label that cannot be used is mapped, never an error.

``trust aggregate sweep`` runs the bag-size x epsilon sweep and writes the risk-vs-k plot and the optimal k per
epsilon, scored on held-out rows (not DP as a whole: run it on data you may spend its summed epsilon on).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from trust.cli._common import (AGGREGATE_FIT_KIND, AGGREGATE_SWEEP_KIND, check_finite, evidence_path, note, warn,
                               warn_if_vacuous)
from trust.errors import ConfigError, DataError

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

#: Targets beyond this magnitude overflow the squared errors the summary reports.
MAX_ABS_TARGET = 1e150


def _responses(df, target: str, log_target: bool) -> None:
    """Without DP a label that cannot be used is a one-line error (under DP nothing may depend on a label's value:
    the protocol maps it to the centre instead, see :mod:`trust.aggregate.dp`)."""
    import numpy as np

    y = np.asarray(df[target], dtype=float) if df[target].dtype.kind in "fiub" else None
    if y is None or not np.all(np.isfinite(y)):
        raise DataError(f"target '{target}' must be numeric without missing values; drop rows without a target")
    if np.abs(y).max() > MAX_ABS_TARGET:
        raise DataError(f"target '{target}' has values beyond {MAX_ABS_TARGET:g} in magnitude, too large to square; "
                        "rescale the column (or use --log-target)")
    if log_target and (y <= 0).any():
        raise DataError(f"--log-target needs a positive target, but '{target}' has values <= 0; drop --log-target")


def _load(data: Path, target: str, bag_keys: list[str], log_target: bool, test_fraction: float, seed: int,
          sep: Optional[str] = None, private: bool = False):
    """``(train, test or None, schema of the features)``; without DP a bad label is a one-line error first."""
    import numpy as np

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
    if not private:
        _responses(df, target, log_target)
    n = len(df)
    test = np.zeros(n, dtype=bool)
    if test_fraction > 0:
        test[np.random.default_rng(seed).choice(n, size=max(1, int(round(test_fraction * n))), replace=False)] = True
    features = df.drop(columns=[target])  # the schema is read off the features only, never the labels
    if features.shape[1] == 0:
        raise DataError(f"{data} has no feature columns besides the target '{target}'")
    tr, te = df[~test].reset_index(drop=True), df[test].reset_index(drop=True)
    return tr, (te if len(te) else None), infer_schema(features)


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


#: the option that lets a DP fit score its held-out rows (a statistic of private labels: recorded as non-DP)
NON_DP_FLAG = "--report-test-mse-non-dp"


def _fit_options(bag_size, bag_key, model, epsilon, clip, scale, center, rho, non_dp, test_fraction):
    """Checks of the options as typed (one line naming the flag); returns ``(rho, scored, test_fraction)``."""
    if bag_size is None and not bag_key:
        raise ConfigError("give --bag-size K (random bags) or --bag-key COL (bags keyed by a column)")
    if bag_size is not None and bag_size < 1:
        raise ConfigError(f"--bag-size={bag_size} must be >= 1")
    if model not in ("linear", "mlp"):
        raise ConfigError(f"--model '{model}' is unknown; choose linear or mlp")
    _check_privacy(epsilon, clip, scale, center)
    rho_value = _parse_rho(rho)
    if non_dp and epsilon is None:
        raise ConfigError(f"{NON_DP_FLAG} is for --epsilon runs; without DP the test MSE is always reported")
    scored = epsilon is None or non_dp
    return rho_value, scored, (0.2 if scored else 0.0) if test_fraction is None else test_fraction


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
    test_fraction: Optional[float] = typer.Option(
        None, "--test-fraction", help="Rows held out (never bagged) and scored by test MSE (default 0.2; under "
                                      f"--epsilon 0 unless {NON_DP_FLAG})."),
    report_test_mse_non_dp: bool = typer.Option(
        False, NON_DP_FLAG, help="With --epsilon: also score the held-out rows and print and save their test MSE. "
                                 "NOT differentially private (computed on raw labels; recorded as a non-DP use)."),
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
    """Bag the rows, release bag means (optionally with label-DP) and fit; without DP (or with
    --report-test-mse-non-dp) also score held-out rows.

    Under --epsilon nothing computed from a private label other than the DP release reaches the output
    folder or the terminal: no test error, no error message about a label's value (a label that cannot be
    used counts as the centre; a huge one is clipped), no warning read off the labels.
    """
    from trust.data.io import check_input_file, check_output_dir

    rho_value, scored, test_fraction = _fit_options(bag_size, bag_key, model, epsilon, clip, scale, center, rho,
                                                    report_test_mse_non_dp, test_fraction)
    private = epsilon is not None
    check_input_file(data)
    check_output_dir(out, kind=AGGREGATE_FIT_KIND, overwrite=overwrite)
    stage = f"aggregate-fit-{out.name}"
    ev_path = evidence_path(evidence, stage, overwrite, ledger=private)
    warn_if_vacuous(epsilon)
    if private and test_fraction > 0 and not scored:
        warn(f"--test-fraction {test_fraction:g} holds rows out, but under --epsilon they are not scored (a test "
             f"error is a statistic of private labels); add {NON_DP_FLAG} to score them, recorded as non-DP")

    from trust.aggregate.protocol import run_aggregate
    from trust.data.io import model_dir_writer

    train, test, schema = _load(data, target, bag_key, log_target, test_fraction, seed, sep, private)
    if bag_size is not None and bag_size > len(train):
        raise ConfigError(f"--bag-size={bag_size} is larger than the {len(train)} training rows; pick a smaller bag "
                          "size")
    settings = {"log_target": log_target, "center": center, "scale": scale, "clip": clip,
                "dp": {"release_epsilon": epsilon, "release_bag_size": bag_size},
                "release": {"model": model, "rho": rho_value, "epochs": epochs, "bag_key": bag_key,
                            "keep_last": keep_last, "score_test": scored}}
    name = dataset or Path(data).name
    result = run_aggregate(train, test, schema, target=target, settings=settings, dataset=name, random_state=seed,
                           location=str(out), progress=True)
    with model_dir_writer(out, kind=AGGREGATE_FIT_KIND) as tmp:
        result.save(tmp)
    _report_fit(result, private)
    if ev_path is not None:
        from trust.evidence import write_evidence
        from trust.tracking import git_commit

        doc = result.to_evidence().document(stage, params={"bag_size": bag_size, "epsilon": epsilon, "clip": clip,
                                                           "center": center, "scale": scale, "model": model,
                                                           "rho": rho}, git_commit=git_commit(Path.cwd()))
        write_evidence(ev_path, doc)
        note(f"wrote evidence to {ev_path}")


def _report_fit(result, private: bool) -> None:
    """The release's summary, its guarantee, each figure beside its baseline, and a warning where it is no better."""
    summary = result.release.summary()
    print(json.dumps({k: v for k, v in summary.items() if k not in ("rho_validation_loss", "guarantee")}, indent=2))
    print(result.release.guarantee())
    if "heldout_bag_loss" in summary:
        print(f"held-out bags (read off the released bag means): loss {summary['heldout_bag_loss']:.4g}, predicting "
              f"the mean {summary['heldout_bag_loss_of_mean']:.4g}")
    if result.release_scores is not None:
        print(("NOT differentially private (raw labels of the held-out rows): " if private else "")
              + json.dumps(dict(result.release_scores)))
    for line in result.baseline_warnings():
        warn(line)


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
    sum of their epsilons (their ledger is in audit/records.json) and scores them on raw held-out labels, so it is
    not DP: run it on data you may spend that on, or on public data. Writes audit/records.json and the plots
    audit/dp_risk_vs_k.png, audit/dp_risk_vs_k_per_rho.png under --out.
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

    from trust.aggregate.protocol import run_aggregate

    train, test, schema = _load(data, target, [], log_target, test_fraction, 0, sep)
    if test is None:
        raise ConfigError("--test-fraction must be > 0 for a sweep (the test MSE is what it compares)")
    for k in bag_sizes:
        if not 1 <= k <= len(train):
            raise ConfigError(f"--bag-size={k} must lie between 1 and the {len(train)} training rows")
    settings = {"log_target": log_target, "center": center, "scale": scale, "clip": clip,
                "dp": {"epsilons": epsilons, "bag_sizes": bag_sizes, "seeds": list(range(seeds))}}
    result = run_aggregate(train, test, schema, target=target, settings=settings, dataset=dataset or Path(data).name,
                           location=str(out), progress=True)
    with model_dir_writer(out, kind=AGGREGATE_SWEEP_KIND) as tmp:
        result.save(tmp)
        result.plots(tmp)
    for e, v in result.k_stars()["auto"].items():
        print(f"epsilon {e:g}: k* = {v['k_star']} (test MSE {v['mse_at_k_star']:.4f}"
              f"{', interior' if v['interior'] else ', at the edge of the sweep'})")
    print(f"total epsilon spent by the sweep's {len(result.sweep_ledger)} releases: "
          f"{sum(x.epsilon for x in result.sweep_ledger):g}; its test errors are computed on raw held-out labels "
          f"(not DP); records, ledger and plots in {out}/audit/")
