"""Stage `calibrate` (after `train`): every calibrator on each base model, in distribution and under shift.

For each dataset of ``calibrate.datasets`` it loads ``outputs/train/<dataset>/{model/, splits.npz}``, fits
every method of :mod:`trust.calibrate.experiments` on the validation rows (the CA calibrator on the
model's logits on its views) and scores them on the test rows and on shifted copies (images / signals:
the documented families and severities, noise held out; Adult: the test rows of people aged
``calibrate.adult_shift_age`` and over, a covariate-shifted subgroup). Writes:

* ``outputs/calibrate/<dataset>/calibrator/``: the deployed calibrator (``calibrate.deployed``);
* ``outputs/calibrate/<dataset>/{reliability.png, ece_vs_shift.png}``;
* ``metrics/calibrate.json``, ``evidence/calibrate.json`` (kind ``calibration``): the policy gate
  ``max_ece`` on the deployed calibrator's in-distribution test ECE, a stage check that it lowers the
  ECE averaged over the shifted sets below the uncalibrated model's, bootstrap intervals; an MLflow run.
"""

from __future__ import annotations

import numpy as np
from _stage import ROOT, Stage, main, param, relpath, save_figure
from _trained import load_rows

from trust.calibrate.experiments import METHODS, EvalSet, run_protocol, shift_average, shifted_sets
from trust.calibrate.plots import reliability_diagram
from trust.metrics import bootstrap_ci, expected_calibration_error
from trust.calibrate.persist import save_calibrator
from trust.errors import ConfigError
from trust.evidence import check

LABELS = {"uncalibrated": "uncalibrated", "temperature": "temperature scaling", "ca": "CA (correctness-aware)",
          "ca_ce": "CA network, CE loss", "ca_mse": "CA network, MSE loss", "ca_unbalanced": "CA loss, unweighted"}


def _test_sets(name: str, kind: str, X, y, test_idx, age_min: float, seed: int) -> dict[str, EvalSet]:
    sets = {"in_distribution": EvalSet(X[test_idx], y[test_idx])}
    if kind == "table":
        from trust.data import read_table

        src = ROOT / "outputs" / "prepare" / name
        ages = np.concatenate([read_table(src / f"{part}.parquet")["age"].to_numpy() for part in ("train", "test")])
        older = test_idx[ages[test_idx] >= age_min]
        if len(older):
            sets[f"age_{age_min:g}_plus"] = EvalSet(X[older], y[older], "covariate", 1.0, True)
    else:
        sets.update(shifted_sets(X[test_idx], y[test_idx], kind, random_state=seed))
    return sets


def _plots(name: str, res, deployed: str, out) -> list[dict[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [m for m in dict.fromkeys(("uncalibrated", "temperature", "ca", deployed)) if m in res.probs["in_distribution"]]
    fig, axes = plt.subplots(1, len(shown), figsize=(3.6 * len(shown), 3.6))
    for ax, m in zip(np.atleast_1d(axes), shown):
        reliability_diagram(res.labels["in_distribution"], res.probs["in_distribution"][m], title=LABELS.get(m, m), ax=ax)
    fig.suptitle(f"{name}: reliability on the test split", y=1.03)
    plots = [{"title": f"{name}: reliability diagrams (uncalibrated / temperature scaling / CA), test split",
              "path": relpath(save_figure(fig, out / "reliability.png"))}]
    fams = sorted({r["family"] for r in res.rows if r["family"] != "none"})
    fig, axes = plt.subplots(1, max(len(fams), 1), figsize=(4.2 * max(len(fams), 1), 3.4), squeeze=False)
    for ax, fam in zip(axes[0], fams):
        for m in shown:
            pts = sorted((r["severity"], r["ece"]) for r in res.rows if r["method"] == m and r["family"] in (fam, "none"))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=LABELS.get(m, m))
        ax.set(title=f"{fam}{' (held out)' if any(r['held_out'] for r in res.rows if r['family'] == fam) else ''}",
               xlabel="severity (0: in distribution)", ylabel="ECE (15 bins)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    plots.append({"title": f"{name}: ECE vs shift severity", "path": relpath(save_figure(fig, out / "ece_vs_shift.png"))})
    return plots


@main
def run() -> None:
    stage = Stage("calibrate")
    p = stage.params
    datasets = param(p, "calibrate.datasets", list, choices=param(p, "train.datasets", list))
    deployed = param(p, "calibrate.deployed", str, choices=METHODS[1:])
    methods = param(p, "calibrate.methods", list, choices=METHODS)
    if deployed not in methods or "uncalibrated" not in methods:
        raise ConfigError("calibrate.methods must list 'uncalibrated' and calibrate.deployed; add them")
    n_bins = param(p, "calibrate.n_bins", int, low=1)
    seed = param(p, "calibrate.seed", int, low=0)
    threads = param(p, "calibrate.threads", int, low=1)
    ca = param(p, "calibrate.ca", dict)
    age_min = param(p, "calibrate.adult_shift_age", float)
    n_boot = param(p, "calibrate.n_boot", int, low=1)
    max_ece = param(p, "policy.max_ece", float, low=0.0)

    import torch

    from trust.models import NeuralClassifier

    torch.set_num_threads(threads)
    loaded, fingerprints = {}, {}
    for name in datasets:
        X, y, _, fp, kind = load_rows(name, param(p, f"train.{name}.val_size", float),
                                      param(p, f"train.{name}.test_size", float, default=0.2), param(p, "train.seed", int))
        src = ROOT / "outputs" / "train" / name
        if not (src / "model").exists():
            raise ConfigError(f"'{src / 'model'}' is missing; run the train stage first (dvc repro train)")
        with np.load(src / "splits.npz") as z:
            val_idx, test_idx = z["val"], z["test"]
        loaded[name] = (X, y, kind, val_idx, test_idx, NeuralClassifier.load(src / "model", device="cpu"))
        fingerprints.update(fp)
    with stage.run({"datasets": datasets, "deployed": deployed, "methods": methods, "n_bins": n_bins, "seed": seed,
                    "ca": ca, "adult_shift_age": age_min}, fingerprints):
        metrics, checks, plots, details, non_dp = {}, [], [], {}, []
        for name, (X, y, kind, val_idx, test_idx, model) in loaded.items():
            out = stage.out_dir / name
            out.mkdir(parents=True, exist_ok=True)
            sets = _test_sets(name, kind, X, y, test_idx, age_min, seed)
            res = run_protocol(model, X[val_idx], y[val_idx], sets, methods=methods, ca=ca, n_bins=n_bins,
                               random_state=seed)
            save_calibrator(res.calibrators[deployed], out / "calibrator")
            for r in res.rows:
                keys = ("accuracy", "ece", "adaptive_ece", "classwise_ece", "mce", "brier", "nll", "auroc") \
                    if r["family"] == "none" else ("accuracy", "ece")
                metrics.update({f"{name}.{r['set']}.{r['method']}.{k}": r[k] for k in keys})
            avg = shift_average(res.rows)
            metrics.update({f"{name}.shift_mean.{m}.ece": d["shifted"] for m, d in avg.items()})
            ece, lo, hi = bootstrap_ci(expected_calibration_error, res.labels["in_distribution"],
                                       res.probs["in_distribution"][deployed], n_boot=n_boot, random_state=seed, n_bins=n_bins)
            checks.append(check(f"{name}: ECE of the deployed calibrator ({deployed}), test split", ece, max_ece, "<=",
                                policy_key="max_ece", description=f"top-label ECE, {n_bins} equal-width bins; "
                                f"95% bootstrap interval [{lo:.4f}, {hi:.4f}]"))
            checks.append(check(f"{name}: the deployed calibrator lowers the ECE under shift", avg[deployed]["shifted"],
                                avg["uncalibrated"]["shifted"], "<",
                                description="mean ECE over the shifted test sets vs the uncalibrated model's"))
            details[name] = {"deployed": deployed, "ece_ci": [lo, hi], "shift_average": avg,
                             "sets": {s: {"family": t.family, "severity": t.severity, "held_out": t.held_out}
                                      for s, t in sets.items()},
                             "temperature": res.calibrators.get("temperature").temperature_
                             if res.calibrators.get("temperature") is not None else None}
            plots += _plots(name, res, deployed, out)
            if kind == "table":  # a table of people (the train stage reads it the same way): a non-DP use
                non_dp.append({"dataset": name, "artifact": relpath(out),
                               "what": "non-private calibrators of the Adult base model and their figures on its test rows"})
        data = [{"name": n, "fingerprint": h, "role": "input"} for n, h in fingerprints.items()]
        stage.finish(kind="calibrate", title="Calibration correction", metrics=metrics, checks=checks, data=data,
                     plots=plots, details={"datasets": details, "n_bins": n_bins}, non_dp=non_dp)


if __name__ == "__main__":
    run()
