"""The class-incremental update protocol of issue 15, 5 seeds: negative flips of each update method.

MNIST-1D (old model on classes 0-4, new on 0-9) and digits (old 0-5, new 0-9): the train stage's seeded
splits (``train.seed``; MNIST-1D keeps its 1,000 test rows, 500 validation rows from its training rows;
digits 60 / 20 / 20), the train stage's recipe (``train.<dataset>.model``), and for each seed
:func:`trust.update.protocol.run_update_protocol`: one old model, the seed floor (the old recipe at
another seed), then every method from that old model with the same seed: naive, focal distillation (KL and
logit matching), margin-preserving (``b`` chosen on validation from ``--b-grid``) and the margin term alone
at each ``b``. NFR on the old-class test rows. Means and medians over seeds are printed and written to
``benchmarks/results/margin_update.json``.

Run:  OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/margin_update.py [--datasets mnist1d digits]
      [--seeds 0 1 2 3 4] [--b-grid 0 1 2 4] [--epochs N]
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
from trust.update.protocol import run_update_protocol  # noqa: E402

OLD = {"mnist1d": [0, 1, 2, 3, 4], "digits": [0, 1, 2, 3, 4, 5]}
KEYS = ("nfr", "relative_nfr", "pfr", "accuracy", "old_class_accuracy", "new_class_accuracy")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["mnist1d", "digits"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--b-grid", nargs="+", type=float, default=[0.0, 1.0, 2.0, 4.0])
    ap.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "margin_update.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    results = {}
    for name in args.datasets:
        cfg = params[name]
        model = dict(cfg["model"], **({"epochs": args.epochs} if args.epochs else {}))
        ds = load_array_dataset(name)
        runs = []
        for seed in args.seeds:
            s = split_arrays(ds.y, val_size=cfg["val_size"], test_size=cfg.get("test_size", 0.2),
                             test_index=ds.test_index, seed=seed)
            t0 = time.perf_counter()
            r = run_update_protocol(ds.X, ds.y, s, old_classes=OLD[name], model=model, b_grid=args.b_grid,
                                    margin_only=True, seed=seed, device="cpu")
            runs.append({"seed": seed, "figures": r.figures, "seed_floor": r.seed_floor, "b_chosen": r.b_chosen,
                         "curve": r.b_curve, "seconds": time.perf_counter() - t0})
            print(f"{name} seed {seed} ({runs[-1]['seconds']:.0f} s): floor {r.seed_floor:.4f}, b {r.b_chosen:g}, "
                  + "; ".join(f"{m} nfr {f['nfr']:.4f} acc {f['accuracy']:.4f} new {f['new_class_accuracy']:.4f}"
                              for m, f in r.figures.items()), flush=True)
        summary = {m: {k: {"mean": float(np.mean([r["figures"][m][k] for r in runs])),
                           "median": float(np.median([r["figures"][m][k] for r in runs]))} for k in KEYS}
                   for m in runs[0]["figures"]}
        curve = {}
        for c0 in runs[0]["curve"]:
            key = f"{c0['method']}.b{c0['b']:g}"
            vals = [next(c for c in r["curve"] if c["method"] == c0["method"] and c["b"] == c0["b"])["test"] for r in runs]
            curve[key] = {k: float(np.mean([v[k] for v in vals])) for k in KEYS}
        results[name] = {"old_classes": OLD[name], "model": model, "b_grid": args.b_grid, "runs": runs,
                         "mean_seed_floor": float(np.mean([r["seed_floor"] for r in runs])),
                         "b_chosen": [r["b_chosen"] for r in runs], "summary": summary, "curve_mean": curve}
        print(f"{name}: floor {results[name]['mean_seed_floor']:.4f}; " + "; ".join(
            f"{m} NFR {v['nfr']['mean']:.4f} acc {v['accuracy']['mean']:.4f} new {v['new_class_accuracy']['mean']:.4f}"
            for m, v in summary.items()), flush=True)
        for k, v in curve.items():
            print(f"  {k}: NFR {v['nfr']:.4f} acc {v['accuracy']:.4f} new {v['new_class_accuracy']:.4f}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
