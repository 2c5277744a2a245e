"""Label-Agnostic Forgetting vs retraining: class removal and noisy-label removal (issue 13).

For each dataset and seed: the train stage's seeded split and recipe (``params.yaml`` ``train.<dataset>``),
the original model, the recipe retrained without the forget rows (the reference, timed), and LAF in the
variants below (each timed), each followed by LAF+R (head repair on ``repair_per_class`` labelled remaining
rows per class). Figures: forgotten-class test accuracy, retained-class test accuracy, the loss- and
confidence-MIA rates of :func:`trust.unlearn.evaluate_unlearning` (no relearning figure, for time), seconds.

Variants:
  ``stage``  the unlearn_laf stage's settings (``params.yaml`` ``unlearn_laf.laf``: cycled forget batches);
  ``public`` the paper's / public code's settings for a small CNN (20 epochs, lr 5e-5 / 1e-4, forget batches
             not cycled: an epoch has as many steps as the forget set has batches);
  ``paper_lr_cycled`` the paper's learning rates and epochs with the forget batches cycled;
  ``vae_all`` the stage's settings with the remaining VAE fitted on all training rows (the public code).

Tasks: ``class`` (forget class ``seed``), ``noisy`` (60 % of the rows of classes 0-4 relabelled wrongly,
symmetric; the original is trained on those labels; forget exactly those rows).

Run:  OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/unlearn_laf.py [--datasets digits] [--seeds 0 1 2]
      [--tasks class noisy] [--variants stage public]
Writes ``benchmarks/results/unlearn_laf.json`` and prints means over seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trust.data import load_array_dataset, split_arrays  # noqa: E402
from trust.data.labels import add_label_noise  # noqa: E402
from trust.models import NeuralClassifier  # noqa: E402
from trust.unlearn import evaluate_unlearning  # noqa: E402
from trust.unlearn.laf import LabelAgnosticForgetting, per_class_subset  # noqa: E402

PUBLIC = dict(epochs=20, lr=5e-5, align_lr=1e-4, tau=5.0, batch_size=32, cycle_forget=False)


def _variants(stage: dict) -> dict[str, dict]:
    return {"stage": dict(stage), "public": {**stage, **PUBLIC},
            "paper_lr_cycled": {**stage, **PUBLIC, "cycle_forget": True},
            "vae_all": {**stage, "remain_vae_data": "all"}}


def _one(name, seed, task, variants, params):
    tr = params["train"][name]
    ds = load_array_dataset(name)
    sp = split_arrays(ds.y, val_size=tr["val_size"], test_size=tr.get("test_size", 0.2), test_index=ds.test_index,
                      seed=seed)
    k = int(ds.y.max()) + 1
    Xtr, ytr, Xte, yte = ds.X[sp.train], ds.y[sp.train], ds.X[sp.test], ds.y[sp.test]
    labels = ytr.copy()
    if task == "class":
        forget_class = seed % k
        forget = np.flatnonzero(ytr == forget_class)
    else:
        forget_class = None
        edit = add_label_noise(ytr, 0.6, kind="symmetric", n_classes=k, random_state=seed)
        forget = np.sort(edit.changed[np.isin(ytr[edit.changed], [0, 1, 2, 3, 4])])
        labels[forget] = edit.y[forget]
    keep = np.setdiff1d(np.arange(len(ytr)), forget)

    def recipe():
        return NeuralClassifier(**tr["model"], n_classes=k, random_state=seed, device="cpu")

    original = recipe().fit(Xtr, labels)
    t0 = time.perf_counter()
    retrained = recipe().fit(Xtr[keep], labels[keep])
    retrain_s = time.perf_counter() - t0
    sets = dict(forget=(Xtr[forget], labels[forget]), retain=(Xtr[keep], labels[keep]), test=(Xte, yte),
                forget_class=forget_class, relearn=False, random_state=seed)
    ev = evaluate_unlearning(original, retrained, **sets)
    out = {"retrain_s": retrain_s, "n_forget": int(len(forget)),
           "original": {k_: ev[k_] for k_ in ("test_forget_accuracy", "test_retain_accuracy", "mia_loss", "mia_confidence")},
           "retrained": {k_: ev[f"retrained.{k_}"] for k_ in ("test_forget_accuracy", "test_retain_accuracy", "mia_loss",
                                                                "mia_confidence")}}
    pick = keep[per_class_subset(labels[keep], params["unlearn_laf"]["repair_per_class"], random_state=seed)]
    for vname, settings in variants.items():
        laf = LabelAgnosticForgetting(**settings, device="cpu", random_state=seed).fit(original, Xtr[forget], Xtr[keep])
        e1 = evaluate_unlearning(laf.laf_model_, retrained, **sets)
        laf.repair(Xtr[pick], labels[pick])
        e2 = evaluate_unlearning(laf.model_, retrained, **sets)
        out[vname] = {"seconds": laf.seconds_, "steps_per_epoch": laf.history_["steps"][0],
                      "runtime_ratio": laf.seconds_ / retrain_s,
                      **{k_: e1[k_] for k_ in ("test_forget_accuracy", "test_retain_accuracy", "mia_loss", "mia_confidence")},
                      "laf_r.test_forget_accuracy": e2["test_forget_accuracy"],
                      "laf_r.test_retain_accuracy": e2["test_retain_accuracy"]}
        print(f"{name} {task} seed {seed} {vname}: " + ", ".join(f"{a} {b:.4f}" for a, b in out[vname].items()),
              flush=True)
    print(f"{name} {task} seed {seed} original {out['original']} retrained {out['retrained']} "
          f"retrain {retrain_s:.1f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["digits"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--tasks", nargs="+", default=["class", "noisy"])
    ap.add_argument("--variants", nargs="+", default=["stage", "public", "paper_lr_cycled", "vae_all"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    variants = {k: v for k, v in _variants(params["unlearn_laf"]["laf"]).items() if k in args.variants}
    results: dict = {}
    for name in args.datasets:
        for task in args.tasks:
            runs = [_one(name, s, task, variants, params) for s in args.seeds]
            summary = {}
            for who in ("original", "retrained", *variants):
                keys = runs[0][who].keys()
                summary[who] = {k_: float(np.nanmean([r[who][k_] for r in runs])) for k_ in keys}
            summary["retrain_s"] = float(np.median([r["retrain_s"] for r in runs]))
            results[f"{name}/{task}"] = {"seeds": args.seeds, "runs": runs, "mean": summary}
            print(f"== {name} {task}, mean over seeds {args.seeds}:", json.dumps(summary, indent=1), flush=True)
    out = ROOT / "benchmarks" / "results" / "unlearn_laf.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
