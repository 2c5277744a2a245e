"""Calibration protocol (issues 11, 23): every method on the same logits, 5 seeds, MNIST-1D, digits, Adult.

    OMP_NUM_THREADS=1 nice python benchmarks/calibration.py [--seeds 5] [--datasets mnist1d digits adult] \
        [--out benchmarks/results/calibration.json]

Per seed: a base model trained with the train stage's recipe (``params.yaml`` ``train.<dataset>.model``) on a
seeded split with the train stage's proportions, then :func:`trust.calibrate.protocol.run_calibrate`: every
calibrator fitted on the validation split, the deployed one chosen among ``calibrate.protocol.candidates`` by the
cross-validated rule, all scored in distribution and under shift (images / signals: rotation or shift, and
held-out noise, 3 severities; Adult: a covariate-shift split, fitted on people under 45, tested on people 45
and over). Prints the mean over seeds (ECE in distribution, over the shifted sets, over the held-out ones),
the deployed calibrator per seed and its ECE ratio to the uncalibrated model, and writes every row to ``--out``.
Adult is a private table: this is an internal, non-DP experiment; its figures stay in the audit trail.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trust.calibrate.experiments import METHODS, EvalSet, shifted_sets, summarize  # noqa: E402
from trust.calibrate.protocol import run_calibrate  # noqa: E402


def _arrays(name: str, seed: int, params: dict):
    """``(model, val set, test sets, training accuracy)`` of one seed: the train stage's recipe on a seeded split."""
    from trust.data import load_array_dataset, split_arrays
    from trust.models import NeuralClassifier

    recipe = dict(params["train"][name]["model"])
    if name == "adult":
        from trust.data import load_dataset, table_to_arrays

        df, schema = load_dataset("adult")
        src, tgt = df[df["age"] < 45], df[df["age"] >= 45]
        (Xs, Xt), (ys, yt), _ = table_to_arrays([src, tgt], schema)
        sp = split_arrays(ys, val_size=0.2, test_size=0.2, seed=seed)
        clf = NeuralClassifier(**recipe, n_classes=2, random_state=seed).fit(Xs[sp.train], ys[sp.train])
        sets = {"in_distribution": EvalSet(Xs[sp.test], ys[sp.test]),
                "age_45_plus": EvalSet(Xt, yt, "covariate", 1.0, True)}
        return clf, EvalSet(Xs[sp.val], ys[sp.val]), sets, clf.score(Xs[sp.train], ys[sp.train])
    ds = load_array_dataset(name)
    cfg = params["train"][name]
    sp = split_arrays(ds.y, val_size=cfg["val_size"], test_size=cfg.get("test_size", 0.2), test_index=ds.test_index,
                      seed=seed)
    clf = NeuralClassifier(**recipe, n_classes=ds.n_classes, random_state=seed).fit(ds.X[sp.train], ds.y[sp.train])
    sets = {"in_distribution": EvalSet(ds.X[sp.test], ds.y[sp.test])}
    sets.update(shifted_sets(ds.X[sp.test], ds.y[sp.test], ds.kind, random_state=seed + 100))
    return clf, EvalSet(ds.X[sp.val], ds.y[sp.val]), sets, clf.score(ds.X[sp.train], ds.y[sp.train])


def _one_dataset(name: str, seeds: int, params: dict, methods: list[str]) -> dict:
    protocol = params["calibrate"]["protocol"]
    t0, rows, seeds_out = time.time(), [], []
    for seed in range(seeds):
        clf, val, sets, train_acc = _arrays(name, seed, params)
        r = run_calibrate(val, sets, model=clf, methods=methods, candidates=protocol["candidates"], rule=protocol["rule"],
                          n_folds=protocol["n_folds"], ca=protocol["ca"], n_bins=protocol["n_bins"], n_boot=50,
                          dataset=name, random_state=seed, device="cpu")
        rows += [{**row, "seed": seed} for row in r.rows]
        seeds_out.append({"seed": seed, "deployed": r.deployed, "scores": dict(r.selection.scores),
                          "ece": r.ece[0], "uncalibrated_ece": r.uncalibrated_ece[0],
                          "ratio": r.ece[0] / r.uncalibrated_ece[0], "train_accuracy": train_acc,
                          "temperature": getattr(r.calibrators.get("temperature"), "temperature_", None),
                          "shift_average": r.shift_average()})
        print(f"{name} seed {seed}: deployed {r.deployed} ECE {r.ece[0]:.4f} vs uncalibrated {r.uncalibrated_ece[0]:.4f}"
              f" (ratio {r.ece[0] / r.uncalibrated_ece[0]:.2f}); training accuracy {train_acc:.3f}; {time.time() - t0:.0f} s", flush=True)
    avg = {m: {k: float(np.mean([s["shift_average"][m][k] for s in seeds_out])) for k in ("in_distribution", "shifted", "held_out")}
           for m in methods}
    return {"rows": rows, "summary": summarize(rows), "shift_average": avg, "seeds": seeds_out,
            "seconds": time.time() - t0, "recipe": params["train"][name]["model"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--datasets", nargs="+", default=["mnist1d", "digits", "adult"])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "calibration.json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    result = json.loads(args.out.read_text()) if args.out.exists() else {}
    for name in args.datasets:
        result[name] = res = _one_dataset(name, args.seeds, params, args.methods)
        print(f"\n== {name}: {args.seeds} seeds, {res['seconds']:.0f} s; ECE-15, mean over seeds")
        print(f"{'method':14s} {'in-dist':>8s} {'shifted':>8s} {'held-out':>8s}")
        for m, d in res["shift_average"].items():
            print(f"{m:14s} {d['in_distribution']:8.4f} {d['shifted']:8.4f} {d['held_out']:8.4f}")
        print(f"{'set':14s} {'method':14s} {'acc':>6s} {'ECE [95% CI]':>24s}")
        for s in res["summary"]:
            print(f"{s['set']:14s} {s['method']:14s} {s['accuracy']:6.3f} {s['ece']:8.4f} [{s['ece_lo']:.4f}, {s['ece_hi']:.4f}]")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
