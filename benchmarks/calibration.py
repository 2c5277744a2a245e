"""Calibration protocol (issue 11): every method on the same logits, 5 seeds, MNIST-1D, digits, Adult.

    nice python benchmarks/calibration.py [--seeds 5] [--datasets mnist1d digits adult] [--out benchmarks/calibration.json]

Per seed: a base model (the train stage's settings, fewer epochs: see EPOCHS) on a seeded split,
every calibrator of :mod:`trust.calibrate.experiments` fitted on the validation split, scored in
distribution and under shift (images / signals: rotation or shift, and held-out noise, 3 severities;
Adult: a covariate-shift split, fitted on people under 45, tested on people 45 and over).
Prints the mean over seeds with a 95 % t-interval and writes every row to ``--out``.
Adult is a private table: this is an internal, non-DP experiment; its figures stay in the audit trail.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trust.calibrate.experiments import EvalSet, run_protocol, shift_average, shifted_sets, summarize  # noqa: E402

EPOCHS = {"mnist1d": 20, "digits": 30, "adult": 5}   # train stage: 40 / 30 / 10


def _arrays(name: str, seed: int):
    from trust.data import load_array_dataset, split_arrays
    from trust.models import NeuralClassifier

    if name == "adult":
        from trust.data import load_dataset, table_to_arrays

        df, schema = load_dataset("adult")
        src, tgt = df[df["age"] < 45], df[df["age"] >= 45]
        (Xs, Xt), (ys, yt), _ = table_to_arrays([src, tgt], schema)
        sp = split_arrays(ys, val_size=0.2, test_size=0.2, seed=seed)
        clf = NeuralClassifier("mlp", epochs=EPOCHS[name], lr=1e-3, batch_size=256, hidden=(128, 128), n_classes=2,
                               random_state=seed).fit(Xs[sp.train], ys[sp.train])
        sets = {"in_distribution": EvalSet(Xs[sp.test], ys[sp.test]),
                "age_45_plus": EvalSet(Xt, yt, "covariate", 1.0, True)}
        return clf, Xs[sp.val], ys[sp.val], sets
    ds = load_array_dataset(name)
    sp = split_arrays(ds.y, val_size=0.1 if name == "mnist1d" else 0.2, test_size=0.2, test_index=ds.test_index, seed=seed)
    net = {"image": "cnn", "signal": "cnn1d"}[ds.kind]
    clf = NeuralClassifier(net, epochs=EPOCHS[name], lr=1e-3 if name == "mnist1d" else 3e-3, batch_size=128,
                           n_classes=ds.n_classes, random_state=seed).fit(ds.X[sp.train], ds.y[sp.train])
    sets = {"in_distribution": EvalSet(ds.X[sp.test], ds.y[sp.test])}
    sets.update(shifted_sets(ds.X[sp.test], ds.y[sp.test], ds.kind, random_state=seed + 100))
    return clf, ds.X[sp.val], ds.y[sp.val], sets


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--datasets", nargs="+", default=["mnist1d", "digits", "adult"])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "calibration.json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    result = {}
    for name in args.datasets:
        t0, rows = time.time(), []
        for seed in range(args.seeds):
            clf, Xv, yv, sets = _arrays(name, seed)
            res = run_protocol(clf, Xv, yv, sets, random_state=seed)
            rows += [{**r, "seed": seed} for r in res.rows]
        per_seed = {}
        for seed in range(args.seeds):
            for m, d in shift_average([r for r in rows if r["seed"] == seed]).items():
                per_seed.setdefault(m, []).append(d)
        avg = {m: {k: float(np.mean([d[k] for d in ds])) for k in ds[0]} for m, ds in per_seed.items()}
        result[name] = {"rows": rows, "summary": summarize(rows), "shift_average": avg, "seconds": time.time() - t0}
        print(f"\n== {name}: {args.seeds} seeds, {time.time() - t0:.0f} s; ECE-15, mean over seeds")
        print(f"{'method':14s} {'in-dist':>8s} {'shifted':>8s} {'held-out':>8s}")
        for m, d in avg.items():
            print(f"{m:14s} {d['in_distribution']:8.4f} {d['shifted']:8.4f} {d['held_out']:8.4f}")
        print(f"{'set':14s} {'method':14s} {'acc':>6s} {'ECE [95% CI]':>24s}")
        for s in result[name]["summary"]:
            print(f"{s['set']:14s} {s['method']:14s} {s['accuracy']:6.3f} {s['ece']:8.4f} [{s['ece_lo']:.4f}, {s['ece_hi']:.4f}]")
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
