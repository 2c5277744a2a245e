"""The class-incremental update protocol over seeds: negative flips of each update method beside the naive
update and the seed floor (issues 15 and 23).

MNIST-1D (old model on classes 0-4, new on 0-9) and digits (old 0-5): per seed the train stage's seeded split
(``train.<dataset>``: MNIST-1D keeps its 1,000 test rows, 500 validation rows from its training rows), the train
stage's recipe (``train.<dataset>.model``, optionally overridden with ``--lr`` / ``--epochs``), and one call of
:func:`trust.update.protocol.run_update`: the old model, the naive update, a second naive update with its own seed
(the seed floor, and margin-preserving training's independent teacher), focal distillation (``pct``: the MPT
authors' PCT baseline; ``pct_code``: the PCT authors' code's setting), margin-preserving training with ``b``
chosen on validation from ``--b-grid`` (every ``b``'s test figures kept in the curve) and, with ``--margin-only``,
the margin term alone at each ``b``. NFR on the old-class test rows. Means, medians and per-seed ratios to the
naive update are printed and written to ``benchmarks/results/margin_update[_TAG].json``.

Run:  OMP_NUM_THREADS=1 nice python benchmarks/margin_update.py [--datasets mnist1d] [--seeds 0 1 2 3 4]
      [--b-grid 0 1 2 4] [--methods naive pct pct_code mpt] [--margin-only] [--lr LR] [--epochs N]
      [--update-epochs N] [--tag TAG]
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
from trust.update.metrics import flip_summary  # noqa: E402
from trust.update.protocol import run_update  # noqa: E402

OLD = {"mnist1d": [0, 1, 2, 3, 4], "digits": [0, 1, 2, 3, 4, 5]}
KEYS = ("nfr", "relative_nfr", "pfr", "accuracy", "old_class_accuracy", "new_class_accuracy")


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["mnist1d"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--b-grid", nargs="+", type=float, default=[0.0, 1.0, 2.0, 4.0])
    ap.add_argument("--methods", nargs="+", default=["naive", "pct", "pct_code", "mpt"])
    ap.add_argument("--margin-only", action="store_true", help="also the margin term alone at each b")
    ap.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    ap.add_argument("--lr", type=float, default=None, help="override the recipe's learning rate")
    ap.add_argument("--update-epochs", type=int, default=None, help="epochs of the new models (default: the recipe's)")
    ap.add_argument("--tag", default="", help="suffix of the results file")
    return ap.parse_args()


def _one(name: str, cfg: dict, model: dict, seed: int, args: argparse.Namespace) -> dict:
    ds = load_array_dataset(name)
    s = split_arrays(ds.y, val_size=cfg["val_size"], test_size=cfg.get("test_size", 0.2), test_index=ds.test_index,
                     seed=seed)
    t0 = time.perf_counter()
    r = run_update(ds.X, ds.y, s, old_classes=OLD[name], model=model, methods=args.methods, b=args.b_grid,
                   margin_only=args.margin_only, dataset=name, random_state=seed, device="cpu",
                   model_params={"epochs": args.update_epochs} if args.update_epochs else None)
    tr = s.train
    va = s.val
    val = {m: flip_summary(ds.y[va], r.old_model.predict(ds.X[va]), r.models[m].predict(ds.X[va]),
                           old_classes=OLD[name]) for m in r.models}
    run = {"seed": seed, "figures": {m: dict(f) for m, f in r.figures.items()}, "val_figures": val,
           "seed_floor": r.seed_floor_nfr,
           "b_chosen": r.b_chosen, "curve": [dict(c) for c in r.curve], "seconds": time.perf_counter() - t0,
           "old_model_train_accuracy": r.old_model_train_accuracy,
           "train_accuracy": {m: float(np.mean(r.models[m].predict(ds.X[tr]) == ds.y[tr])) for m in r.models},
           "ratio_to_naive": {m: r.ratio_to_naive("nfr", m) for m in r.figures}}
    print(f"{name} seed {seed} ({run['seconds']:.0f} s): old fit {r.old_model_train_accuracy:.3f}, students fit "
          + "/".join(f"{m} {a:.3f}" for m, a in run["train_accuracy"].items()) + ", floor "
          f"{r.seed_floor_nfr:.4f}, b {r.b_chosen}; " + "; ".join(
              f"{m} nfr {f['nfr']:.4f} ({run['ratio_to_naive'][m]:.2f}x) acc {f['accuracy']:.4f} new "
              f"{f['new_class_accuracy']:.4f}" for m, f in r.figures.items()), flush=True)
    for c in r.curve:
        print(f"  {c['method']} b {c['b']:g}: test nfr {c['test']['nfr']:.4f} acc {c['test']['accuracy']:.4f} new "
              f"{c['test']['new_class_accuracy']:.4f}; val nfr {c['val']['nfr']:.4f} acc {c['val']['accuracy']:.4f}",
              flush=True)
    return run


def _summary(runs: list[dict]) -> dict:
    out = {m: {k: {"mean": float(np.nanmean([r["figures"][m][k] for r in runs])),
                   "median": float(np.nanmedian([r["figures"][m][k] for r in runs]))} for k in KEYS}
           for m in runs[0]["figures"]}
    for m in out:
        out[m]["ratio_to_naive"] = {"mean": float(np.mean([r["ratio_to_naive"][m] for r in runs])),
                                    "min": float(np.min([r["ratio_to_naive"][m] for r in runs])),
                                    "max": float(np.max([r["ratio_to_naive"][m] for r in runs]))}
    curve = {}
    for c0 in runs[0]["curve"]:
        vals = [next(c for c in r["curve"] if c["method"] == c0["method"] and c["b"] == c0["b"]) for r in runs]
        curve[f"{c0['method']}.b{c0['b']:g}"] = {
            **{k: float(np.mean([v["test"][k] for v in vals])) for k in KEYS},
            "ratio_to_naive": float(np.mean([v["test"]["nfr"] / r["figures"]["naive"]["nfr"] for v, r in zip(vals, runs)]))}
    return {"methods": out, "curve_mean": curve, "mean_seed_floor": float(np.mean([r["seed_floor"] for r in runs])),
            "b_chosen": [r["b_chosen"] for r in runs],
            "mean_old_model_train_accuracy": float(np.mean([r["old_model_train_accuracy"] for r in runs]))}


def main() -> None:
    args = _args()
    torch.set_num_threads(1)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    results = {}
    for name in args.datasets:
        cfg = params[name]
        model = {**cfg["model"], **({"epochs": args.epochs} if args.epochs else {}), **({"lr": args.lr} if args.lr else {})}
        runs = [_one(name, cfg, model, seed, args) for seed in args.seeds]
        results[name] = {"old_classes": OLD[name], "model": model, "update_epochs": args.update_epochs,
                         "b_grid": args.b_grid, "runs": runs, **_summary(runs)}
        s = results[name]
        print(f"{name}: floor {s['mean_seed_floor']:.4f}, old fit {s['mean_old_model_train_accuracy']:.3f}, b {s['b_chosen']}; "
              + "; ".join(f"{m} NFR {v['nfr']['mean']:.4f} ({v['ratio_to_naive']['mean']:.2f}x, "
                          f"{v['ratio_to_naive']['min']:.2f}-{v['ratio_to_naive']['max']:.2f}) acc {v['accuracy']['mean']:.4f} "
                          f"new {v['new_class_accuracy']['mean']:.4f}" for m, v in s["methods"].items()), flush=True)
        for k, v in s["curve_mean"].items():
            print(f"  {k}: NFR {v['nfr']:.4f} ({v['ratio_to_naive']:.2f}x) acc {v['accuracy']:.4f} "
                  f"new {v['new_class_accuracy']:.4f}", flush=True)
    out = ROOT / "benchmarks" / "results" / f"margin_update{'_' + args.tag if args.tag else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
