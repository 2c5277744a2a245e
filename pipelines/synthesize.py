"""Stage `synthesize` (a DVC matrix over epsilon): fit CTAB-GAN+ on the prepared train split and sample from it.

``python pipelines/synthesize.py X`` runs member ``X`` (an epsilon such as ``1``, ``3``, ``10``, or ``none``
for no DP) and writes:

* ``outputs/synthesize/eps_X/synthetic.parquet``: ``synthesize.synthetic_rows`` synthetic rows (a declared,
  public number: never the size of the private train split);
* ``outputs/synthesize/eps_X/model/``: the fitted model (``CTABGANPlus.load``);
* ``outputs/synthesize/eps_X/losses.png``: the training losses per epoch;
* ``metrics/synthesize_eps_X.json`` and ``evidence/synthesize_eps_X.json`` (kind ``synth``: the privacy ledger
  entries, keyed data fingerprints, the loss plot), and an MLflow run.

The *release* is ``synthetic.parquet``, ``model/`` and the ledger entries: none of them carries a hash,
exact count or timing of the private table. The metrics and evidence are audit trail. The fit uses the
dataset's *declared* schema from the registry (:func:`trust.data.dataset_schema`: category lists and bounds
written out from documentation, each with its source), never one inferred from the rows. DP noise is drawn
from fresh OS entropy: no seed of this stage reaches it (``synthesize.seed`` seeds initialisation,
shuffles and sampling only), so two runs release different tables.

Before training, the member checks its epsilon against ``policy.max_total_epsilon_per_dataset`` and refuses
(PrivacyBudgetError) if the configured epsilon alone exceeds it. Rows are never logged.
"""

from __future__ import annotations

import math
import sys
import time

from _stage import ROOT, Stage, fingerprint, main, param, relpath, save_figure

from trust.data import dataset_schema, read_table, write_table
from trust.errors import ConfigError, DataError
from trust.privacy import PrivacyLedger
from trust.evidence import check


def _member() -> tuple[str, float | None]:
    if len(sys.argv) != 2:
        raise ConfigError("usage: python pipelines/synthesize.py EPSILON (a number, or 'none' for no DP)")
    raw = sys.argv[1].strip().lower()
    if raw in ("none", "null", "inf"):
        return "none", None
    try:
        eps = float(raw)
    except ValueError:
        raise ConfigError(f"member '{sys.argv[1]}' is not an epsilon; use a number > 0 or 'none'") from None
    if not eps > 0:
        raise ConfigError(f"member epsilon={eps:g} must be > 0 (or 'none' for no DP)")
    return sys.argv[1].strip(), eps


@main
def run() -> None:
    member, eps = _member()
    stage = Stage(f"synthesize_eps_{member}")
    stage.out_dir = ROOT / "outputs" / "synthesize" / f"eps_{member}"
    p = stage.params
    dataset = param(p, "synthesize.dataset", str)
    epsilons = param(p, "synthesize.epsilons", list)
    if member not in [str(e) for e in epsilons]:
        raise ConfigError(f"member '{member}' is not in synthesize.epsilons {epsilons}; add it or pick one of them")
    delta = param(p, "synthesize.delta", float, low=0.0, high=1.0, low_open=True)
    accountant = param(p, "synthesize.accountant", str, choices=["rdp", "prv"])
    epochs = _int_or_auto(p, "synthesize.epochs", 1)
    batch_size = _int_or_auto(p, "synthesize.batch_size", 2)
    max_rows = param(p, "synthesize.max_train_rows", int, low=50, nullable=True)
    n_synthetic = param(p, "synthesize.synthetic_rows", int, low=1)
    architecture = param(p, "synthesize.architecture", str, choices=["mlp", "conv"])
    n_critic = param(p, "synthesize.n_critic", int, low=1)
    lr = param(p, "synthesize.lr", float, low=0.0, low_open=True)
    max_grad_norm = param(p, "synthesize.max_grad_norm", float, low=0.0, low_open=True)
    clip_pairs = param(p, "synthesize.clip_pairs", bool)
    ema = param(p, "synthesize.generator_ema", float, low=0.0, high=1.0, low_open=True, nullable=True)
    meta_frac = param(p, "synthesize.metadata_epsilon_fraction", float, low=0.0, high=0.9, low_open=True)
    aux_frac = param(p, "synthesize.aux_epsilon_fraction", float, low=0.0, high=0.9)
    aux_epochs = param(p, "synthesize.aux_epochs", int, low=1)
    seed = param(p, "synthesize.seed", int, low=0)
    threads = param(p, "synthesize.threads", int, low=1)
    max_eps = param(p, "policy.max_total_epsilon_per_dataset", float, low=0.0, low_open=True)
    max_delta = param(p, "policy.max_delta", float, low=0.0)

    src = ROOT / "outputs" / "prepare" / dataset
    if not (src / "train.parquet").exists():
        raise DataError(f"'{relpath(src)}' has no train.parquet; run the prepare stage with "
                        f"'{dataset}' in prepare.datasets")
    schema = dataset_schema(dataset)  # declared: written out from the dataset's documentation, no row read
    schema, overrides = declared_bounds(schema, param(p, "synthesize.bounds", dict, default={}, nullable=True))
    train = read_table(src / "train.parquet")
    fit_rows = train if max_rows is None or len(train) <= max_rows else \
        train.sample(n=max_rows, random_state=seed).reset_index(drop=True)

    # Budget gate before any training: this member's epsilon alone must fit the policy.
    if eps is not None:
        PrivacyLedger().check_budget(dataset, eps, max_epsilon=max_eps, max_delta=max_delta or 1.0, delta=delta)

    import torch

    torch.set_num_threads(threads)
    from trust.synth import CTABGANPlus

    model = CTABGANPlus(epochs=epochs, batch_size=batch_size, epsilon=eps, delta=delta, accountant=accountant,
                        max_grad_norm=max_grad_norm, clip_pairs=clip_pairs, generator_ema=ema,
                        architecture=architecture, n_critic=n_critic, lr=lr,
                        metadata_epsilon_fraction=meta_frac, aux_epsilon_fraction=aux_frac, aux_epochs=aux_epochs,
                        dataset_name=dataset, release_name=f"{stage.name}/{dataset}", random_state=seed,
                        verbose=True)
    prints = {f"{dataset}/train": fingerprint(train)}
    with stage.run({**p["synthesize"], "member": member}, prints):
        t0 = time.perf_counter()
        model.fit(fit_rows, schema)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        synthetic = model.sample(n_synthetic)
        sample_s = time.perf_counter() - t0
        model.save(stage.out_dir / "model")
        write_table(synthetic, stage.out_dir / "synthetic.parquet")

        plots = [{"title": f"CTAB-GAN+ training losses per epoch (epsilon {member})",
                  "path": relpath(_loss_plot(model, stage.out_dir / "losses.png", member))}]
        rep = model.privacy_report()
        # audit trail only (metrics, evidence); no exact count of the private table: not even here
        metrics = {"epsilon": rep["epsilon"] if rep["dp"] else None, "delta": rep["delta"] if rep["dp"] else None,
                   "fit_seconds": fit_s, "sample_seconds": sample_s,
                   "synthetic_rows": len(synthetic), "steps": model.steps_, "epochs": model.epochs_,
                   "batch_size": model.batch_size_}
        if rep["dp"]:
            metrics.update({"critic_epsilon": rep["critic_epsilon"], "noise_multiplier": rep["noise_multiplier"],
                            "sample_rate": rep["sample_rate"]})
        checks = [check("synthetic rows equal the declared synthesize.synthetic_rows", float(len(synthetic)),
                        float(n_synthetic), "==")]
        if rep["dp"]:
            checks.append(check("total epsilon of this synthesis (all releases composed)", rep["epsilon"], max_eps, "<=",
                                description="transformer histograms + auxiliary DP-SGD + critic DP-SGD, sequential; "
                                            "the report gates the dataset's total over all releases"))
            checks.append(check("total epsilon within the configured target", rep["epsilon"], eps * 1.01, "<=",
                                description="accountant's epsilon after training vs the target (1 % tolerance)"))
        stage.finish(
            kind="synth", title=f"CTAB-GAN+ synthesis, epsilon {member}", metrics=metrics, checks=checks,
            ledger=rep["entries"], plots=plots,
            data=[{"name": f"{dataset}/train", "fingerprint": prints[f"{dataset}/train"], "rows": len(train),
                   "role": "train"},
                  {"name": f"synthesize/eps_{member}", "fingerprint": fingerprint(synthetic), "rows": len(synthetic),
                   "role": "synthetic"}],
            non_dp=[] if rep["dp"] else [{
                "dataset": dataset, "artifact": relpath(stage.out_dir),
                "what": "CTAB-GAN+ trained WITHOUT differential privacy on the train split (model, synthetic table, "
                        "losses)"}],
            details={"dp": rep["dp"], "guarantee": rep["sentences"], "epsilon_target": eps, "dataset": dataset,
                     "public_metadata": {
                         "schema": "declared in the dataset registry (trust.data.dataset_schema)",
                         "bounds": {c: list(spec.bounds) for c, spec in schema.columns.items() if spec.bounds},
                         "bounds_overridden": overrides,
                         "sources": schema.meta.get("sources", {})},
                     "release": [relpath(stage.out_dir / "synthetic.parquet"), relpath(stage.out_dir / "model"),
                                 "the ledger entries"],
                     "fit_rows": len(fit_rows), "architecture": architecture, "schedule": model.schedule_.reason,
                     "not_covered": ([] if rep["dp"] else ["no differential privacy: trained on raw rows"]) +
                                    ["hyperparameters (epochs, learning rate, budget split) were chosen on the "
                                     "private data and are not accounted for"] +
                                    (["information loss disabled under DP (it reads raw feature statistics)"]
                                     if rep["dp"] else []),
                     "synthetic": relpath(stage.out_dir / "synthetic.parquet"),
                     "model": relpath(stage.out_dir / "model")},
        )


OVERRIDE_SOURCE = ("declared override in params.yaml synthesize.bounds: the user's declaration, which must come "
                   "from the data's documentation (a data dictionary, a survey's topcodes), never from the rows")


def declared_bounds(schema, raw):
    """``schema`` with the bounds of ``params.yaml``'s ``synthesize.bounds`` (``{column: [low, high]}``) in place of
    the registry's, and the overrides as ``{column: [low, high]}`` (recorded in the evidence). Each override's
    source says it is the user's declaration. A bad entry is a one-line ConfigError naming its key."""
    if not raw:
        return schema, {}
    out, sources = {}, dict(schema.meta.get("sources", {}))
    for col, bnd in raw.items():
        key = f"synthesize.bounds.{col}"
        if col not in schema.columns:
            raise ConfigError(f"params.yaml: '{key}': the {schema.meta.get('dataset', 'dataset')} schema has no column "
                              f"'{col}'; use one of: {', '.join(schema.columns)}")
        if schema[col].kind == "categorical":
            raise ConfigError(f"params.yaml: '{key}': '{col}' is categorical; bounds apply to numeric columns only")
        if not isinstance(bnd, (list, tuple)) or len(bnd) != 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bnd):
            raise ConfigError(f"params.yaml: '{key}' = {bnd!r} must be a list of two finite numbers [low, high]")
        low, high = float(bnd[0]), float(bnd[1])
        if not low < high:
            raise ConfigError(f"params.yaml: '{key}' = {bnd!r} must have low < high")
        schema = schema.replace_column(col, bounds=(low, high))
        out[col] = [low, high]
        sources[col] = f"{OVERRIDE_SOURCE} (registry's source, replaced: {sources.get(col, 'none')})"
    schema.meta["sources"] = sources
    return schema, out


def _int_or_auto(p, key, low):
    """An integer >= ``low`` or ``auto`` (CTABGANPlus's adaptive default, :func:`trust.synth.plan.auto_schedule`)."""
    value = param(p, key, (int, str), low=low)
    if isinstance(value, str) and value != "auto":
        raise ConfigError(f"params.yaml: '{key}' = {value!r} must be an integer >= {low} or auto")
    return value


def _loss_plot(model, path, member):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = model.loss_history_
    fig, ax = plt.subplots(figsize=(6, 3.5))
    keys = sorted({k for h in hist for k in h})
    for k in keys:
        ax.plot(range(1, len(hist) + 1), [h.get(k, float("nan")) for h in hist], marker="o", ms=3, label=k)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss")
    ax.set_title(f"CTAB-GAN+ losses (epsilon {member})" + (" - generator side only under DP" if model.dp_ else ""))
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


if __name__ == "__main__":
    run()
