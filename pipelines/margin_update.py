"""Stage `margin_update`: a class-incremental model update, measured for negative flips.

On the ``train`` stage's splits of ``margin_update.dataset`` (``outputs/train/<dataset>/splits.npz``), with
that stage's model recipe (``train.<dataset>.model``, overridden by ``margin_update.model``), it runs
:func:`trust.update.protocol.run_update_protocol`: an old model on ``old_classes``, the seed floor, and every
update method on all classes from the same old model. The deployed update is the margin-preserving one
(``b`` chosen on the validation rows); its NFR on the old-class test rows is gated by ``policy.max_nfr``.

Writes ``outputs/margin_update/`` (the deployed model, the old model, ``curve.json``, two plots),
``metrics/margin_update.json`` and ``evidence/margin_update.json`` (kind ``update``).
"""

from __future__ import annotations


import numpy as np
import pandas as pd
from _stage import ROOT, Stage, fingerprint, main, param, relpath, save_figure

from trust.data import dataset_info, load_array_dataset
from trust.data.io import atomic_write_json
from trust.data.splits import ArraySplits
from trust.errors import ConfigError
from trust.evidence import check
from trust.update.protocol import METHODS, run_update_protocol

LABELS = {"naive": "naive update", "fd_kl": "focal distillation (KL)", "fd_lm": "focal distillation (LM)",
          "mpt": "margin-preserving (deployed)"}


def _plots(run, out, name: str) -> list[dict[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for m, f in run.figures.items():
        ax.scatter(f["accuracy"], f["nfr"], s=40, label=LABELS[m])
    ax.axhline(run.figures["naive"]["nfr"], color="grey", ls="--", lw=1, label="naive NFR")
    ax.axhline(run.seed_floor, color="k", ls=":", lw=1, label="seed floor (old recipe, 2 seeds)")
    ax.set_xlabel("test accuracy (all classes)")
    ax.set_ylabel("NFR (old-class test samples)")
    ax.set_title(f"{name}: flips vs accuracy per method")
    ax.legend(fontsize=7)
    p1 = save_figure(fig, out / "nfr_vs_accuracy.png")

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for method, style in (("mpt", "o-"), ("margin_only", "s--")):
        pts = sorted((c for c in run.b_curve if c["method"] == method), key=lambda c: c["b"])
        if not pts:
            continue
        bs = [c["b"] for c in pts]
        axes[0].plot(bs, [c["test"]["nfr"] for c in pts], style, label=method)
        axes[1].plot(bs, [c["test"]["new_class_accuracy"] for c in pts], style, label=method)
    for ax, key, ylabel in ((axes[0], "nfr", "NFR (old-class test)"), (axes[1], "new_class_accuracy", "new-class accuracy")):
        ax.axhline(run.figures["naive"][key], color="grey", ls="--", lw=1, label="naive")
        ax.set_xlabel("margin bias b")
        ax.set_ylabel(ylabel)
    axes[0].axhline(run.seed_floor, color="k", ls=":", lw=1, label="seed floor")
    if run.b_chosen is not None:
        for ax in axes:
            ax.axvline(run.b_chosen, color="C3", lw=0.8)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{name}: the trade-off over b (test rows; red line: b chosen on validation)")
    p2 = save_figure(fig, out / "b_curve.png")
    return [{"title": "NFR vs accuracy per update method", "path": relpath(p1)},
            {"title": "Trade-off over the margin bias b", "path": relpath(p2)}]


@main
def run() -> None:
    stage = Stage("margin_update")
    p = stage.params
    name = param(p, "margin_update.dataset", str, choices=["digits", "mnist1d"])
    old_classes = param(p, "margin_update.old_classes", list)
    b_grid = param(p, "margin_update.b_grid", list)
    methods = param(p, "margin_update.methods", list, choices=METHODS)
    if "mpt" not in methods:
        raise ConfigError("params.yaml: 'margin_update.methods' must include 'mpt' (the deployed update)")
    margin_only = param(p, "margin_update.margin_only", bool)
    overrides = param(p, "margin_update.model", dict, default={}) or {}
    seed = param(p, "train.seed", int, low=0)
    threads = param(p, "margin_update.threads", int, low=1)
    recipe = {**param(p, f"train.{name}.model", dict), **overrides}
    max_nfr = param(p, "policy.max_nfr", float, low=0.0)

    import torch

    torch.set_num_threads(threads)
    src = ROOT / "outputs" / "train" / name
    with np.load(src / "splits.npz") as z:
        splits = ArraySplits(train=z["train"], val=z["val"], test=z["test"])
    ds = load_array_dataset(name)
    frame = pd.DataFrame(ds.X.reshape(len(ds.X), -1)).assign(label=ds.y)
    fingerprints = {name: fingerprint(frame)}
    info = dataset_info(name)
    stage_params = {"dataset": name, "old_classes": old_classes, "b_grid": b_grid, "methods": methods,
                    "margin_only": margin_only, "seed": seed, "model": recipe}
    with stage.run(stage_params, fingerprints):
        res = run_update_protocol(ds.X, ds.y, splits, old_classes=old_classes, model=recipe, methods=methods,
                                  b_grid=b_grid, margin_only=margin_only, seed=seed, device="cpu")
        out = stage.out_dir
        out.mkdir(parents=True, exist_ok=True)
        res.models["mpt"].save(out / "model")
        res.old_model.save(out / "old_model")
        atomic_write_json(out / "curve.json", {"b_chosen": res.b_chosen, "curve": res.b_curve})
        plots = _plots(res, out, name)
        metrics = {f"{m}.{k}": v for m, f in res.figures.items() for k, v in f.items()}
        metrics.update({"seed_floor_nfr": res.seed_floor, "b_chosen": res.b_chosen})
        metrics.update({f"curve.{c['method']}.b{c['b']:g}.{k}": c["test"][k] for c in res.b_curve
                        for k in ("nfr", "accuracy", "new_class_accuracy")})
        dep, naive = res.figures["mpt"], res.figures["naive"]
        checks = [
            check(f"{name}: NFR of the deployed update", dep["nfr"], max_nfr, "<=", policy_key="max_nfr",
                  description="share of old-class test samples the old model got right and the updated model gets "
                              f"wrong (margin-preserving update, b = {res.b_chosen:g})"),
            check(f"{name}: deployed update flips less than the naive update", dep["nfr"], naive["nfr"], "<",
                  description="NFR of the margin-preserving update vs the naive retrain, same old model and splits"),
            check(f"{name}: deployed update accuracy within 1 point of the naive update", dep["accuracy"],
                  naive["accuracy"] - 0.01, ">=", description="test accuracy over all classes"),
        ]
        data = [{"name": name, "fingerprint": h, "role": "input", "source": info.source, "licence": info.licence}
                for h in fingerprints.values()]
        details = {"old_classes": res.old_classes, "new_classes": res.new_classes, "b_chosen": res.b_chosen,
                   "deployed_method": "MarginPreservingUpdate", "seed_floor_nfr": res.seed_floor,
                   "figures": res.figures, "curve": res.b_curve, "model_dir": relpath(out / "model"),
                   "old_model_dir": relpath(out / "old_model"),
                   "protocol": "old model on the training rows of the old classes; every update on all training "
                               "rows from that old model with the same seed; NFR on the old-class test rows"}
        stage.finish(kind="update", title=f"Model update: {name} (old classes {res.old_classes} -> all)",
                     metrics=metrics, checks=checks, data=data, plots=plots, details=details)
        if stage.run_ctx is not None:
            stage.run_ctx.log_artifact(out / "curve.json", "update")


if __name__ == "__main__":
    run()
