"""Quality benchmark for the classification counterpart: learning from bag label proportions on Adult.

Random bags of the training rows; each bag reveals only its share of ``income = >50K``. Logistic models trained
with the bag-level (rho = 0), instance-level (rho = 1) and interpolating (rho chosen on held-out bags) log-loss,
scored by test ROC AUC and accuracy against the instance labels; the reference is a logistic model trained on
the instance labels (k = 1). Also a label-DP variant (epsilon 1): labels mapped to ``z = (y - 0.5) / 0.5`` in
[-1, 1] (declared center 0.5, scale 0.5, clip C = 1), bag means released by
:func:`trust.aggregate.release_bag_means` (exact discrete Laplace on the integer bag sums, noise of scale
``2C / (k eps)`` on each mean; seeded here FOR THIS MEASUREMENT ONLY), mapped back to proportions and clipped to
[0, 1] (post-processing).

It calls the estimators and the release directly: the aggregate protocol (:func:`trust.aggregate.run_aggregate`,
which the stage, the CLI and ``aggregate_king.py`` share) covers the regression capability; learning from label
proportions has no stage or command yet.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/aggregate_adult.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.metrics import roc_auc_score  # noqa: E402

from trust.aggregate import InterpolatingClassifier, bag_means, make_bags, release_bag_means  # noqa: E402
from trust.aggregate.experiments import tabular_features  # noqa: E402
from _prepared import load_prepared  # noqa: E402


def main() -> int:
    train, test, schema = load_prepared("adult")
    positive = sorted(train[schema.target].unique())[-1]
    ytr = (train[schema.target] == positive).to_numpy(float)
    yte = (test[schema.target] == positive).to_numpy(float)
    Xtr, (Xte,), _ = tabular_features(train, [test], schema)  # the target column is left out
    print(f"Adult: {len(Xtr)} train rows, {len(Xte)} test rows, {Xtr.shape[1]} features, positive '{positive}'")
    kw = dict(epochs=8, batch_size=512, lr=1e-2)
    rows = []
    t = time.time()
    for k in (1, 8, 32, 128):
        for eps in (None, 1.0):
            for seed in (0, 1):
                ids = make_bags(len(Xtr), k, random_state=seed)
                if eps is None:
                    props = bag_means(ytr, ids)
                else:  # z = (y - 0.5) / 0.5 in [-1, 1]; release with C = 1; map back to a proportion
                    z, _ = release_bag_means(ytr, ids, eps, 1.0, center=0.5, scale=0.5,
                                             insecure_noise_seed=seed)
                    props = np.clip(0.5 + 0.5 * z, 0.0, 1.0)
                ests = {"bag": 0.0, "instance": 1.0, "auto": "auto"} if k > 1 else {"labels": 1.0}
                for name, rho in ests.items():
                    est = InterpolatingClassifier(rho=rho, rho_grid=(0.0, 0.1, 0.3, 1.0), random_state=seed,
                                                  **kw).fit(Xtr, ids, props)
                    p = est.predict_proba(Xte)[:, 1]
                    rows.append({"k": k, "epsilon": eps, "seed": seed, "estimator": name, "rho": est.rho_,
                                 "auc": float(roc_auc_score(yte, p)), "accuracy": float(((p >= 0.5) == yte).mean())})
    print(f"({time.time() - t:.0f} s)\n{'k':>4} {'eps':>5} {'estimator':>9} {'AUC':>7} {'acc':>7}  rho")
    keys = sorted({(r["k"], r["epsilon"] or 0.0, r["estimator"]) for r in rows})
    summary = []
    for k, e, name in keys:
        sel = [r for r in rows if r["k"] == k and (r["epsilon"] or 0.0) == e and r["estimator"] == name]
        auc, acc = np.mean([r["auc"] for r in sel]), np.mean([r["accuracy"] for r in sel])
        summary.append({"k": k, "epsilon": e or None, "estimator": name, "auc": auc, "accuracy": acc,
                        "rho": [r["rho"] for r in sel]})
        print(f"{k:>4} {('-' if not e else f'{e:g}'):>5} {name:>9} {auc:7.4f} {acc:7.4f}  {[r['rho'] for r in sel]}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "aggregate_adult.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
