"""Concept-based class unlearning, every class forgotten in turn, against a model retrained without it (issue 12).

For each seed: the train stage's split and model recipe (``params.yaml`` ``train.<dataset>``) give the
original model; then for every class: the same recipe retrained from scratch without the class (the gold
standard, timed), ``ConceptUnlearner`` (targeted and random poisoning, the stage's settings
``unlearn_concept.concept``) and the baselines, each scored by ``evaluate_unlearning`` beside the
retrained model. Prints the means over classes and seeds per method and writes every run to
``benchmarks/results/unlearn_concept_<dataset>.json``.

Issue 12's bar (means over classes and seeds): forgotten-class test accuracy <= 1 %, retained-class test
accuracy within 1 point of retrain (2 on MNIST-1D), |MIA(unlearned) - MIA(retrain)| <= 0.03, runtime
<= 10 % of retraining, targeted poisoning at least as good as random labels and the plain donor flip on
the average gap.

Run:  OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/unlearn_concept.py --dataset digits
      (``--seeds 0 1 2``, ``--classes 0 1 ...``, ``--device cuda``, ``--relearn-max-epochs 5``)
"""

from __future__ import annotations

import argparse
import importlib
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
from trust.models import NeuralClassifier  # noqa: E402
from trust.unlearn import BaselineUnlearner, ConceptUnlearner, digit_concepts, evaluate_unlearning  # noqa: E402

BASELINES = ("finetune", "gradient_ascent", "random_labels", "donor_flip")
SUMMARY = ("test_forget_accuracy", "gap.test_retain_accuracy", "gap.mia_loss", "gap.mia_confidence", "runtime_ratio",
           "avg_gap")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits", choices=["digits", "mnist1d"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--classes", type=int, nargs="+", default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--relearn-max-epochs", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name in ("captum.attr", "sklearn.svm", "torch._dynamo"):  # one-off import costs kept out of the timings
        importlib.import_module(name)

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    cfg = params["train"][args.dataset]
    settings = {k: v for k, v in params["unlearn_concept"]["concept"].items() if k != "poison"}
    tune = {k: settings[k] for k in ("trainable", "epochs", "lr", "batch_size") if k in settings}
    ds = load_array_dataset(args.dataset)
    A = digit_concepts()
    runs = []
    for seed in args.seeds:
        sp = split_arrays(ds.y, val_size=cfg["val_size"], test_size=cfg.get("test_size", 0.2),
                          test_index=ds.test_index, seed=seed)
        X, y, tr, va, te = ds.X, ds.y, sp.train, sp.val, sp.test
        model = NeuralClassifier(**cfg["model"], n_classes=ds.n_classes, random_state=seed, device=args.device)
        model.fit(X[tr], y[tr])
        for k in args.classes if args.classes is not None else range(ds.n_classes):
            t0 = time.perf_counter()
            ref = BaselineUnlearner("retrain", random_state=seed).fit(model, X[tr], y[tr], k)
            retrain_s = time.perf_counter() - t0
            f, r = tr[y[tr] == k], tr[y[tr] != k]
            parts = dict(forget=(X[f], y[f]), retain=(X[r], y[r]), test=(X[te], y[te]), forget_class=k,
                         relearn_max_epochs=args.relearn_max_epochs, random_state=seed)
            row = {"seed": seed, "class": k, "retrain_seconds": retrain_s, "methods": {}}
            for poison in ("targeted", "random"):
                u = ConceptUnlearner(poison, **settings, random_state=seed)
                u.fit(model, X[tr], y[tr], k, A, eval_set=(X[va], y[va]))
                row["methods"][f"concept_{poison}"] = evaluate_unlearning(u.model_, ref.model_, **parts,
                                                                          seconds=(u.seconds_, retrain_s))
                if poison == "targeted":
                    row.update(donor=u.donor_class_, pcbm_accuracy=u.pcbm_accuracy_, model_accuracy=u.model_accuracy_,
                               ig_delta=u.ig_delta_, cav_accuracy=u.cav_accuracy_.to_dict())
            for m in BASELINES:
                b = BaselineUnlearner(m, **tune, random_state=seed).fit(model, X[tr], y[tr], k)
                row["methods"][m] = evaluate_unlearning(b.model_, ref.model_, **parts, seconds=(b.seconds_, retrain_s))
                if m == "donor_flip":
                    row["confused_donor"] = b.donor_class_
            runs.append(row)
            t = row["methods"]["concept_targeted"]
            print(f"seed {seed} class {k}: donor {row['donor']} (confused {row['confused_donor']}), targeted "
                  f"forget-test {t['test_forget_accuracy']:.3f}, avg gap {t['avg_gap']:.3f}, "
                  f"runtime ratio {t['runtime_ratio']:.3f}; retrain {retrain_s:.1f} s", flush=True)
    methods = list(runs[0]["methods"])
    summary = {m: {s: float(np.nanmean([r["methods"][m][s] for r in runs])) for s in SUMMARY} for m in methods}
    print(f"\n{args.dataset}: means over {len(runs)} runs (classes x seeds)")
    print("method".ljust(18) + "".join(s.ljust(26) for s in SUMMARY))
    for m in methods:
        print(m.ljust(18) + "".join(f"{summary[m][s]:<26.4f}" for s in SUMMARY))
    extra = {"pcbm_accuracy": float(np.mean([r["pcbm_accuracy"] for r in runs])),
             "model_accuracy": float(np.mean([r["model_accuracy"] for r in runs])),
             "max_ig_delta": float(np.max([r["ig_delta"] for r in runs])),
             "median_retrain_seconds": float(np.median([r["retrain_seconds"] for r in runs])),
             "donor_equals_confused": float(np.mean([r["donor"] == r["confused_donor"] for r in runs]))}
    print(json.dumps(extra))
    out = ROOT / "benchmarks" / "results" / f"unlearn_concept_{args.dataset}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "summary": summary, "extra": extra, "runs": runs}, indent=1,
                              default=float) + "\n")


if __name__ == "__main__":
    main()
