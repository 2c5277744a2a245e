"""Accuracy and wall time of the base classifiers on one CPU thread (issue 10's bar: digits CNN >= 95 %,
MNIST-1D 1-D CNN >= 80 %, each within a minute), and their training accuracy (issue 23: a recipe that fits
its training rows; the update methods need it).

For each dataset, 3 seeds: the seeded stratified split of the train stage (digits: 60 / 20 / 20; MNIST-1D: its
4,000 training rows for training, its 1,000 test rows for testing), ``NeuralClassifier`` with the settings of
``params.yaml`` (``train.<dataset>.model``) trained by :func:`trust.models.run_train` (the train stage's
protocol), its wall time (fit and scoring, one torch thread), test accuracy and training accuracy.
Medians over the seeds are printed and written to ``benchmarks/results/models_accuracy.json``.

Run:  OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/models_accuracy.py
"""

from __future__ import annotations

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
from trust.data.splits import ArraySplits  # noqa: E402
from trust.models import run_train  # noqa: E402

SEEDS = (0, 1, 2)


def main() -> None:
    torch.set_num_threads(1)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    results = {}
    for name in ("digits", "mnist1d"):
        cfg = params[name]
        ds = load_array_dataset(name)
        runs = []
        for seed in SEEDS:
            if ds.test_index is None:
                s = split_arrays(ds.y, val_size=cfg["val_size"], test_size=cfg.get("test_size", 0.2), seed=seed)
                train, test = s.train, s.test
            else:
                test = ds.test_index
                train = np.setdiff1d(np.arange(len(ds.y)), test)
            t0 = time.perf_counter()
            r = run_train(ds.X, ds.y, ArraySplits(train, np.arange(0), test), model=cfg["model"], dataset=name,
                          random_state=seed, device="cpu")
            seconds = time.perf_counter() - t0  # the fit and the scoring of the test and training rows
            acc, fit_acc = float(r.figures["test"]["accuracy"]), r.train_accuracy
            runs.append({"seed": seed, "test_accuracy": acc, "train_accuracy": fit_acc, "fit_seconds": seconds,
                         "train_rows": int(len(train))})
            print(f"{name} seed {seed}: test accuracy {acc:.4f}, training accuracy {fit_acc:.4f}, fit {seconds:.1f} s "
                  f"on {len(train)} rows", flush=True)
        results[name] = {"model": cfg["model"], "runs": runs,
                         "median_test_accuracy": float(np.median([r["test_accuracy"] for r in runs])),
                         "median_train_accuracy": float(np.median([r["train_accuracy"] for r in runs])),
                         "median_fit_seconds": float(np.median([r["fit_seconds"] for r in runs]))}
        print(f"{name}: median test accuracy {results[name]['median_test_accuracy']:.4f}, "
              f"median training accuracy {results[name]['median_train_accuracy']:.4f}, "
              f"median fit {results[name]['median_fit_seconds']:.1f} s", flush=True)
    out = ROOT / "benchmarks" / "results" / "models_accuracy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
