"""The noisy-labels protocol (issue 14): RCAL beside cross-entropy, logit adjustment, class-balanced loss
and confident learning, on long-tailed noisy training sets, 3 seeds, balanced clean test sets.

Settings: digits (imbalance 10) and MNIST-1D (imbalance 10 and 100), symmetric noise 0.2 and 0.4 and
class-size-proportional noise 0.4. Digits: a stratified 75 / 25 split (seed 0), the 75 % the pool the
long-tailed set is drawn from; MNIST-1D: its own 4,000 training rows and 1,000 test rows. Method settings
from params.yaml ``noisy.datasets.<dataset>.methods`` (the stage's), overridable with ``--fast`` (fewer epochs).
Medians and means over seeds are printed and written to ``benchmarks/results/noisy_labels.json``.

Run:  OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/noisy_labels.py [--only digits_lt10_sym40,...]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trust.data import load_array_dataset, split_arrays  # noqa: E402
from trust.noisy.protocol import run_setting  # noqa: E402

SEEDS = (0, 1, 2)
SETTINGS = {  # name: (dataset, imbalance, noise rate, noise kind)
    "digits_lt10_sym20": ("digits", 10, 0.2, "symmetric"),
    "digits_lt10_sym40": ("digits", 10, 0.4, "symmetric"),
    "digits_lt10_prop40": ("digits", 10, 0.4, "proportional"),
    "mnist1d_lt10_sym40": ("mnist1d", 10, 0.4, "symmetric"),
    "mnist1d_lt100_sym20": ("mnist1d", 100, 0.2, "symmetric"),
    "mnist1d_lt100_sym40": ("mnist1d", 100, 0.4, "symmetric"),
    "mnist1d_lt100_prop40": ("mnist1d", 100, 0.4, "proportional"),
}


def data(name: str):
    ds = load_array_dataset(name)
    if ds.test_index is None:
        s = split_arrays(ds.y, val_size=0.1, test_size=0.25, seed=0)
        pool, test = np.sort(np.concatenate([s.train, s.val])), s.test
    else:
        test = ds.test_index
        pool = np.setdiff1d(np.arange(len(ds.y)), test)
    return ds.X[pool], ds.y[pool], ds.X[test], ds.y[test]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated setting names")
    ap.add_argument("--methods", default="", help="comma-separated method names (default: all in params.yaml)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", default="benchmarks/results/noisy_labels.json", help="results file (merged into)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())["noisy"]
    names = [n for n in args.only.split(",") if n] or list(SETTINGS)
    seeds = [int(s) for s in args.seeds.split(",")]
    out_path = ROOT / args.out
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for name in names:
        dataset, ratio, rate, kind = SETTINGS[name]
        cfg = params["datasets"][dataset]
        methods = {m: cfg["methods"].get(m, {}) for m in (args.methods.split(",") if args.methods else cfg["methods"])}
        Xp, yp, Xt, yt = data(dataset)
        runs = []
        for seed in seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = run_setting(Xp, yp, Xt, yt, network=cfg["network"], imbalance_ratio=ratio, noise_rate=rate,
                                noise_kind=kind, methods=methods, seed=seed)
            runs.append({m: {k: v for k, v in fig.items()} for m, fig in r["methods"].items()})
            print(name, seed, {m: {k: round(v, 3) for k, v in fig.items() if k != "per_class"}
                               for m, fig in r["methods"].items()}, flush=True)
        summary = {m: {k: float(np.mean([run[m][k] for run in runs]))
                       for k in ("accuracy", "head", "medium", "tail", "ece", "seconds")} for m in methods}
        results[name] = {"seeds": seeds, "runs": runs, "mean": summary}
        print(name, "mean", {m: {k: round(v, 3) for k, v in s.items()} for m, s in summary.items()}, flush=True)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
