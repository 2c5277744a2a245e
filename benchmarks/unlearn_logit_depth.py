"""Where do the forget rows sit? The likelihood-ratio test's statistic for many ways of forgetting one class (issue 23).

The certificate's likelihood-ratio test (:mod:`trust.unlearn.membership`) scores each forget row by its scaled
logit ``phi = log p_y - log(1 - p_y)`` against shadow models trained with the rows (IN) and retrained without
them (OUT). For a forgotten class, a retrained model never saw the class: its logit for it is driven far down
(phi around -30 on digits), which no cheap unlearning reproduces. This benchmark certifies, with the same
shadows, the stages' configurations, labelled variants and diagnostic models that are not methods (the retrained
model with its class logit moved, a head row re-initialised, warm-started fine-tuning at the recipe's optimiser),
and prints for each: the test's AUC and its reverse (1 - AUC), the position of the forget rows between OUT (0)
and IN (1), the median phi and class logit, the forgotten-class and retained-class accuracies, the verdict and
the seconds over a retrain. Fine-tuning goes through :func:`trust.unlearn.finetune` (SGD at the concept paper's
settings unless named, Adam where named), donor labels from :class:`trust.unlearn.ConceptUnlearner`.

Run:  OMP_NUM_THREADS=1 nice .venv/bin/python -W ignore benchmarks/unlearn_logit_depth.py --dataset digits \\
          --classes 3 --seed 0 [--shadows 8]
"""

from __future__ import annotations

import argparse
import copy
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
from trust.unlearn import ConceptUnlearner, LabelAgnosticForgetting, certify, digit_concepts, finetune  # noqa: E402
from trust.unlearn import fit_shadows, per_class_subset  # noqa: E402
from trust.unlearn.certificate import recipe  # noqa: E402
from trust.unlearn.membership import scaled_logit  # noqa: E402


def _shifted(model, k, shift):
    m = copy.deepcopy(model)
    with torch.no_grad():
        m.network_.head.bias[k] += shift
    return m


def _row_reset(model, k, seed):
    m = copy.deepcopy(model)
    head = m.network_.head
    with torch.no_grad():
        torch.manual_seed(seed)
        fresh = torch.nn.Linear(head.in_features, head.out_features)
        head.weight[k], head.bias[k] = fresh.weight[k], fresh.bias[k]
    return m


def _timed(fn):
    t0 = time.perf_counter()
    return fn(), time.perf_counter() - t0


def models(orig, ref, X, y, f, r, k, seed, params):
    """name -> (model, seconds or None): the configurations measured (module docstring)."""
    Xa, ya = np.concatenate([X[f], X[r]]), np.concatenate([y[f], y[r]])
    u = ConceptUnlearner(**params["unlearn_concept"]["concept"], random_state=seed).fit(orig, Xa, ya, k,
                                                                                       digit_concepts())
    poisoned = ya.copy()
    poisoned[:len(f)] = u.donor_class_
    fine = {  # (data, finetune settings)
        "concept, paper (head, SGD 1e-3, 20 ep)": (poisoned, {}),
        "concept, head, 100 ep": (poisoned, {"epochs": 100}),
        "concept, head, SGD 1e-2 (10x lr)": (poisoned, {"lr": 1e-2}),
        "concept, all layers (SGD 1e-3, 20 ep)": (poisoned, {"trainable": "all"}),
        "concept, all layers, 60 ep": (poisoned, {"trainable": "all", "epochs": 60}),
        "concept, all layers, Adam 3e-3 20 ep": (poisoned, {"trainable": "all", "optimizer": "adam", "lr": 3e-3}),
        "concept, all layers, Adam 3e-3 60 ep, batch 128": (poisoned, {"trainable": "all", "optimizer": "adam",
                                                                        "lr": 3e-3, "epochs": 60, "batch_size": 128}),
        "retained rows only, head (SGD 1e-3, 20 ep)": (None, {}),
        "retained rows only, all layers (SGD 1e-3, 20 ep)": (None, {"trainable": "all"}),
        "retained rows only, head, Adam 3e-3": (None, {"optimizer": "adam", "lr": 3e-3}),
    }
    out = {"retrained, class logit -20": (_shifted(ref, k, -20.0), None),
           "retrained, class logit -5": (_shifted(ref, k, -5.0), None),
           "retrained, class logit +5": (_shifted(ref, k, 5.0), None)}
    for name, (labels, kw) in fine.items():
        data = (Xa, labels) if labels is not None else (X[r], y[r])
        out[name] = _timed(lambda: finetune(orig, *data, **{"random_state": seed, **kw}))
    reset = _row_reset(orig, k, seed)
    out["original, class head row re-initialised"] = (reset, None)
    out["row reset + retained rows, all layers, Adam 3e-3 30 ep, batch 128 (warm retrain)"] = _timed(
        lambda: finetune(reset, X[r], y[r], trainable="all", optimizer="adam", lr=3e-3, epochs=30, batch_size=128,
                         random_state=seed))
    laf = LabelAgnosticForgetting(**params["unlearn_laf"]["laf"], random_state=seed, device="cpu")
    laf.fit(orig, X[f], X[r])
    out["LAF (stage settings)"] = (laf.laf_model_, laf.seconds_stage2_)
    for per in (5, None):
        pick = np.arange(len(r)) if per is None else per_class_subset(y[r], per, random_state=seed)
        laf.repair(X[r][pick], y[r][pick])
        out[f"LAF+R, {'every remaining label' if per is None else f'{per} labels per class'}"] = (
            laf.model_, laf.seconds_stage2_ + laf.repair_seconds_)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits", choices=["digits", "mnist1d"])
    ap.add_argument("--classes", type=int, nargs="+", default=[3])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shadows", type=int, default=8)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "unlearn_logit_depth.jsonl")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name in ("captum.attr", "sklearn.svm", "torch._dynamo"):
        importlib.import_module(name)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    cfg = params["train"][args.dataset]
    ds = load_array_dataset(args.dataset)
    X, y, seed = ds.X, ds.y, args.seed
    sp = split_arrays(y, val_size=cfg["val_size"], test_size=cfg.get("test_size", 0.2), test_index=ds.test_index,
                      seed=seed)
    orig = NeuralClassifier(**cfg["model"], n_classes=ds.n_classes, random_state=seed, device="cpu")
    orig.fit(X[sp.train], y[sp.train])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for k in args.classes:
        tr = sp.train
        f, r = tr[y[tr] == k], tr[y[tr] != k]
        ref, retrain_s = _timed(lambda: recipe(orig, seed).fit(X[r], y[r]))
        second = recipe(orig, seed + 1).fit(X[r], y[r])
        shadows = fit_shadows(lambda s: recipe(orig, s), (X[r], y[r]), (X[f], y[f]), n_shadows=args.shadows,
                              random_state=seed)
        kw = dict(original=orig, reference=ref, forget=(X[f], y[f]), retain=(X[r], y[r]),
                  test=(X[sp.test], y[sp.test]), forget_class=k, policy=params["policy"], random_state=seed,
                  shadows=shadows, second_reference=second)
        rows = {"original": (orig, None), "retrained (reference)": (ref, retrain_s),
                "retrained, other seed": (second, None), **models(orig, ref, X, y, f, r, k, seed, params)}
        print(f"\n{args.dataset} seed {seed} class {k} (retrain {retrain_s:.1f} s)\n"
              "| model | AUC | 1 - AUC | position | median phi | median class logit | forgotten-class acc. (test) "
              "| retained acc. (test) | verdict (failed gates) | seconds / retrain |\n|---|---|---|---|---|---|---|---|---|---|")
        for name, (m, secs) in rows.items():
            cert = certify(m, **kw)
            fig = cert.figures["unlearned"]
            phi = scaled_logit(m, X[f], y[f])
            zk = float(np.median(m.decision_function(X[f])[:, k]))
            failed = [c.policy_key for c in cert.checks if c.passed is False]
            rec = {"dataset": args.dataset, "seed": seed, "class": k, "model": name, "passed": cert.passed,
                   "failed": failed, "figures": fig.to_dict(), "median_phi": float(np.median(phi)),
                   "median_class_logit": zk, "seconds_over_retrain": None if secs is None else secs / retrain_s}
            with args.out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            short = ", ".join(p.replace("max_", "").replace("_excess_over_retrain", "") for p in failed) or "-"
            ratio = "-" if secs is None else f"{secs / retrain_s:.2f}"
            print(f"| {name} | {fig.ulira_auc:.3f} | {1 - fig.ulira_auc:.3f} | {fig.ulira_position:.2f} | "
                  f"{np.median(phi):.1f} | {zk:.1f} | {fig.test_forget_accuracy:.2f} | {fig.test_retain_accuracy:.3f} | "
                  f"{'PASS' if cert.passed else 'FAIL'} ({short}) | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
