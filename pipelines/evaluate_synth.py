"""Stage `evaluate_synth`: utility, fidelity and privacy of every synthetic table the `synthesize` stage wrote.

Reads ``outputs/prepare/<dataset>/{train,test,holdout}.parquet`` + ``schema.json`` and, for each
member ``X`` of the ``synthesize`` matrix (epsilon ``1``, ``3``, ``10``, ``none``, ...),
``outputs/synthesize/eps_X/synthetic.parquet``. Writes ``outputs/evaluate_synth/`` (results JSON,
plots: TSTR AUC vs epsilon with the TRTR line, DCR share and membership-inference AUC vs
epsilon), ``metrics/evaluate_synth.json`` and ``evidence/evaluate_synth.json`` (kind
``synth_eval``) with policy-gated checks, and logs an MLflow run. Only aggregates leave the stage, but
they are NOT differentially private (TRTR, fidelity against the real train rows, distance audits):
everything this stage writes is audit trail, listed under the evidence's ``non_dp``.
"""

from __future__ import annotations

import json
import math
import re

from _stage import ROOT, Stage, fingerprint, main, param, relpath, save_figure

from trust.data import TableSchema, read_table
from trust.data.io import atomic_write_json
from trust.errors import ConfigError, DataError
from trust.evidence import check
from trust.synth.evaluate import evaluate_synthetic, trtr_baseline

_MEMBER = re.compile(r"^(?:(mst|aim)_)?eps_(none|[0-9]+(?:\.[0-9]+)?)$")
#: the folders of the synthesis stages: CTAB-GAN+'s members ``eps_X``, the marginal engine's ``<mechanism>_eps_X``
FOLDERS = ("synthesize", "synth_marginal")


def _members(root) -> list[tuple[str, float]]:
    """``[(member, epsilon or inf)]`` for every ``[<mechanism>_]eps_X/synthetic.parquet`` under the synthesis stages'
    folders (:data:`FOLDERS`), by epsilon then engine; :func:`_member_path` gives each one's table."""
    if not (root / FOLDERS[0]).is_dir():
        raise DataError(f"'{relpath(root / FOLDERS[0])}' does not exist; run the synthesize stage first "
                        "(dvc repro synthesize)")
    found = []
    for folder in (root / f for f in FOLDERS if (root / f).is_dir()):
        for d in folder.iterdir():
            m = _MEMBER.match(d.name)
            if m and d.is_dir():
                if not (d / "synthetic.parquet").exists():
                    raise DataError(f"'{relpath(d / 'synthetic.parquet')}' is missing; rerun that synthesis member")
                found.append((d.name, math.inf if m.group(2) == "none" else float(m.group(2))))
    if not found:
        raise DataError(f"no 'eps_X/synthetic.parquet' under '{relpath(root / FOLDERS[0])}'; run the synthesize "
                        "stage first")
    return sorted(found, key=lambda t: (t[1], t[0]))


def _member_path(root, member: str):
    """The synthetic table of ``member``: CTAB-GAN+'s under ``synthesize/``, the marginal engine's under
    ``synth_marginal/``."""
    return root / FOLDERS[1 if _MEMBER.match(member).group(1) else 0] / member / "synthetic.parquet"


def _engine(member: str) -> str:
    return _MEMBER.match(member).group(1) or "ctabgan"


def _finite(d: dict) -> dict:
    """NaN / inf -> None, for JSON."""
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in d.items()}


def _label(eps: float) -> str:
    return "no DP" if math.isinf(eps) else f"{eps:g}"


def _plots(stage: Stage, members, results, trtr, policy) -> list[dict[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eps_order = list(dict.fromkeys(e for _, e in members))
    xs = [eps_order.index(e) for _, e in members]
    labels = [_label(e) for e in eps_order]
    plots = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, style in (("hgb", "o-"), ("linear", "s--")):
        for engine in dict.fromkeys(_engine(m) for m, _ in members):
            pts = [(eps_order.index(e), results[m][f"utility.tstr.{model}.auc"]) for m, e in members
                   if _engine(m) == engine]
            ax.plot([x for x, _ in pts], [y for _, y in pts], style,
                            label=f"TSTR {engine} ({'gradient boosting' if model == 'hgb' else 'logistic'})")
        ax.axhline(trtr[f"{model}.auc"], color="grey" if model == "hgb" else "black",
                   ls="-" if model == "hgb" else "--", lw=1, alpha=0.6,
                   label=f"TRTR ({'gradient boosting' if model == 'hgb' else 'logistic'})")
    if policy.get("min_tstr_auc") is not None:
        ax.axhline(policy["min_tstr_auc"], color="red", ls=":", lw=1, label="policy minimum (DP releases)")
    ax.set_xticks(range(len(eps_order)), labels)
    ax.set_xlabel("epsilon of the synthesis run")
    ax.set_ylabel("ROC AUC on the real test split")
    ax.set_title("Utility vs privacy budget")
    ax.legend(fontsize=7)
    path = stage.out_dir / "utility_vs_epsilon.png"
    save_figure(fig, path)
    plots.append({"title": "Utility (TSTR ROC AUC) vs epsilon, with the train-on-real line", "path": relpath(path)})

    fig, ax = plt.subplots(figsize=(6, 4))
    for engine in dict.fromkeys(_engine(m) for m, _ in members):
        mine = [(x, m) for x, (m, _) in zip(xs, members) if _engine(m) == engine]
        ax.plot([x for x, _ in mine], [results[m]["privacy.dcr_share_train"] for _, m in mine], "o-",
                label=f"DCR share closer to train ({engine})")
        ax.plot([x for x, _ in mine], [results[m]["privacy.mia_auc"] for _, m in mine], "s--",
                label=f"distance MIA AUC ({engine})")
    ax.axhline(0.5, color="grey", lw=1, label="ideal (0.5)")
    for key, colour in (("max_dcr_share", "red"), ("max_mia_auc", "purple")):
        if policy.get(key) is not None:
            ax.axhline(policy[key], color=colour, ls=":", lw=1, label=f"policy {key}")
    ax.set_xticks(range(len(eps_order)), labels)
    ax.set_xlabel("epsilon of the synthesis run")
    ax.set_ylabel("share / AUC")
    ax.set_title("Empirical privacy audit vs privacy budget")
    ax.legend(fontsize=7)
    path = stage.out_dir / "privacy_vs_epsilon.png"
    save_figure(fig, path)
    plots.append({"title": "DCR share and membership-inference AUC vs epsilon", "path": relpath(path)})
    return plots


@main
def run() -> None:
    stage = Stage("evaluate_synth")
    p = stage.params
    dataset = param(p, "evaluate_synth.dataset", str)
    seed = param(p, "evaluate_synth.seed", int, low=0)
    max_train_rows = param(p, "evaluate_synth.max_train_rows", int, low=50, nullable=True)
    fidelity_rows = param(p, "evaluate_synth.fidelity_rows", int, low=50, nullable=True)
    privacy_rows = param(p, "evaluate_synth.privacy_rows", int, low=50, nullable=True)
    policy = {
        "min_tstr_auc": param(p, "policy.min_tstr_auc", float, low=0.0, high=1.0),
        "max_dcr_share": param(p, "policy.max_dcr_share", float, low=0.0, high=1.0),
        "max_mia_auc": param(p, "policy.max_mia_auc", float, low=0.0, high=1.0),
        "max_exact_copies": param(p, "policy.max_exact_copies", int, low=0),
    }

    prep = ROOT / "outputs" / "prepare" / dataset
    if not (prep / "schema.json").exists():
        raise DataError(f"'{relpath(prep)}/schema.json' is missing; add '{dataset}' to prepare.datasets and run "
                        "dvc repro prepare")
    schema = TableSchema.from_dict(json.loads((prep / "schema.json").read_text()))
    if schema.target is None:
        raise ConfigError(f"dataset '{dataset}' has no target; utility needs one")
    real = {part: read_table(prep / f"{part}.parquet") for part in ("train", "test", "holdout")}
    members = _members(ROOT / "outputs")
    synthetic = {m: read_table(_member_path(ROOT / "outputs", m)) for m, _ in members}
    prints = {f"{dataset}/{k}": fingerprint(v) for k, v in real.items()}
    prints.update({f"synthesize/{m}": fingerprint(v) for m, v in synthetic.items()})

    stage_params = dict(p["evaluate_synth"])
    stage_params["policy"] = policy
    with stage.run(stage_params, prints):
        from tqdm import tqdm

        trtr = trtr_baseline(real["train"], real["test"], schema, max_train_rows=max_train_rows, random_state=seed)
        results = {}
        for m, _ in tqdm(members, desc="evaluate_synth", unit="table"):
            results[m] = evaluate_synthetic(real["train"], real["test"], real["holdout"], synthetic[m], schema,
                                            random_state=seed, max_train_rows=max_train_rows,
                                            fidelity_rows=fidelity_rows, privacy_rows=privacy_rows, trtr=trtr)
        auc = schema.problem_type == "classification"
        metric = "auc" if auc else "r2"
        metrics: dict[str, float] = {f"real.trtr_{metric}": trtr[f"hgb.{metric}"],
                                     f"real.trtr_{metric}_linear": trtr[f"linear.{metric}"]}
        checks = []
        for m, eps in members:
            r = results[m]
            metrics.update({
                f"{m}.tstr_{metric}": r[f"utility.tstr.hgb.{metric}"],
                f"{m}.tstr_{metric}_linear": r[f"utility.tstr.linear.{metric}"],
                f"{m}.fidelity_column_shapes": r["fidelity.column_shapes"],
                f"{m}.fidelity_column_pairs": r["fidelity.column_pair_trends"],
                f"{m}.wasserstein_mean": r["fidelity.wasserstein_mean"],
                f"{m}.jsd_mean": r["fidelity.jsd_mean"],
                f"{m}.dcr_share": r["privacy.dcr_share_train"],
                f"{m}.dcr_p5": r["privacy.dcr_p5"],
                f"{m}.nndr_p5": r["privacy.nndr_p5"],
                f"{m}.exact_copies": r["privacy.exact_copies"],
                f"{m}.mia_auc": r["privacy.mia_auc"],
                f"{m}.rows": r["rows.synthetic"],
            })
            if auc:
                metrics[f"{m}.tstr_f1_macro"] = r["utility.tstr.hgb.f1_macro"]
            dp = not math.isinf(eps)
            if auc:
                checks.append(check(
                    f"{m}: TSTR ROC AUC (gradient boosting)", r["utility.tstr.hgb.auc"],
                    policy["min_tstr_auc"] if dp else None, ">=" if dp else None,
                    policy_key="min_tstr_auc" if dp else None,
                    description=("train on synthetic, test on real; gated for DP releases" if dp else
                                 "train on synthetic, test on real; the non-private baseline is reported, not gated")
                                + f"; TRTR {trtr['hgb.auc']:.3f}"))
            checks += [
                check(f"{m}: DCR share closer to train than holdout", r["privacy.dcr_share_train"],
                      policy["max_dcr_share"], "<=", policy_key="max_dcr_share",
                      description="share of synthetic rows whose closest real row is a training row (train and "
                                  "holdout subsampled to equal sizes; 0.5 ideal)"),
                check(f"{m}: membership-inference AUC (distance attack)", r["privacy.mia_auc"],
                      policy["max_mia_auc"], "<=", policy_key="max_mia_auc",
                      description="AUC of -distance to the closest synthetic row, train members vs holdout"),
                check(f"{m}: exact copies of training rows", r["privacy.exact_copies"],
                      policy["max_exact_copies"], "<=", policy_key="max_exact_copies",
                      description=f"synthetic rows identical to a training row (an independent real sample, the "
                                  f"holdout, has {r['privacy.holdout_exact_copies']:g})"),
            ]
        undefined = sorted(k for k, v in metrics.items() if not math.isfinite(v))  # e.g. a one-class synthetic table
        metrics = {k: v for k, v in metrics.items() if k not in undefined}
        stage.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(stage.out_dir / "results.json",
                          {"trtr": _finite(trtr), "members": {m: {"epsilon": None if math.isinf(e) else e,
                                                                  **_finite(results[m])} for m, e in members}})
        plots = _plots(stage, members, results, trtr, policy) if auc else []
        data = [{"name": f"{dataset}/{k}", "fingerprint": prints[f"{dataset}/{k}"], "rows": len(v), "role": k}
                for k, v in real.items()]
        data += [{"name": f"synthesize/{m}", "fingerprint": prints[f"synthesize/{m}"], "rows": len(synthetic[m]),
                  "role": "synthetic"} for m, _ in members]
        details = {
            "dataset": dataset, "target": schema.target, "problem_type": schema.problem_type,
            "members": {m: ("none" if math.isinf(e) else e) for m, e in members},
            "utility": "train on synthetic, test on real (TSTR) vs train on real (TRTR); HistGradientBoosting and "
                       "logistic regression/ridge behind one-hot + scaling fitted per training set",
            "fidelity": "sdmetrics QualityReport (column shapes, column pair trends) on "
                        f"{fidelity_rows or 'all'} rows; Wasserstein (min-max scaled) and Jensen-Shannon means",
            "privacy": "distances in one encoding fitted on real train only; DCR share vs the holdout split "
                       "(equal-size subsamples), DCR/NNDR 5th percentiles, exact copies, distance-based "
                       "membership inference (train members vs holdout non-members)",
            "seconds": {m: round(results[m]["seconds"], 2) for m, _ in members},
            "undefined_metrics": undefined,
        }
        non_dp = [{"dataset": dataset, "artifact": f"{relpath(stage.out_dir)}, evidence/evaluate_synth.json, "
                                                  "metrics/evaluate_synth.json",
                   "what": "non-DP statistics of the real train, test and holdout rows: train-on-real baseline, "
                           "fidelity against the train split, DCR / NNDR / exact-copy / membership-inference audits"}]
        stage.finish(kind="synth_eval", title="Synthetic data evaluation", metrics=metrics, checks=checks,
                     plots=plots, data=data, details=details, non_dp=non_dp)


if __name__ == "__main__":
    run()
