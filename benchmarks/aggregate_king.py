"""Quality benchmark for learning from aggregate bags on King house prices (issue 4's numbers).

Measures, on the prepared King splits (``outputs/prepare/king``; falls back to ``load_dataset("king")``
split with seed 0), log price standardised with the declared constants (center 13.0, scale 0.5):

1. rho chosen on held-out bags vs the better of bag-level and instance-level, test MSE, mean over seeds,
   for bag sizes 4..64, with a linear model and an MLP (claim: auto <= 1.01 * min(bag, instance));
2. the label-DP sweep over bag size k and epsilon (claim: interior optimum k*(eps) for eps in {0.5, 1, 2},
   k* non-decreasing as eps shrinks).

Every part runs through the aggregate protocol (:func:`trust.aggregate.protocol.run_aggregate`), one call per part
so that each is timed; the sweep's rows are the protocol's seeded split (``--dp-rows``) or all training rows.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/aggregate_king.py [--quick]
Writes benchmarks/results/aggregate_king.json and its plots under benchmarks/results/aggregate_king/audit/.
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

from _prepared import load_prepared  # noqa: E402

from trust.aggregate.experiments import summarise, tabular_features  # noqa: E402
from trust.aggregate.protocol import run_aggregate, sweep_split  # noqa: E402
from trust.aggregate.result import comparison_table  # noqa: E402

CENTER, SCALE = 13.0, 0.5  # declared public standardisation of log price (not computed from the labels)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--dp-seeds", type=int, default=5)
    ap.add_argument("--bag-sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    ap.add_argument("--dp-bag-sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64, 128, 256])
    ap.add_argument("--epsilons", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    ap.add_argument("--clip", type=float, default=2.5)
    ap.add_argument("--folds", type=int, default=1, help="n_folds of the rho selection (1: one 80/20 split of bags)")
    ap.add_argument("--mlp-epochs", type=int, default=20)
    ap.add_argument("--mlp-grid", type=float, nargs="+", default=[0.0, 0.003, 0.03, 0.3, 1.0])
    ap.add_argument("--no-mlp", action="store_true")
    ap.add_argument("--no-rho", action="store_true", help="skip the rho comparison (DP sweep only)")
    ap.add_argument("--dp-rows", type=int, default=None,
                    help="run the DP sweep on the protocol's seeded split of this many training rows (default: all)")
    ap.add_argument("--quick", action="store_true", help="2 seeds, no MLP (a smoke run)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    a = ap.parse_args()
    if a.quick:
        a.seeds, a.dp_seeds, a.no_mlp = 2, 2, True
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    train, test, schema = load_prepared("king")
    Xtr, (Xte,), _ = tabular_features(train, [test], schema)
    print(f"King: {Xtr.shape[0]} train rows, {Xte.shape[0]} test rows, {Xtr.shape[1]} features")
    result: dict = {"rows_train": int(Xtr.shape[0]), "rows_test": int(Xte.shape[0]), "features": int(Xtr.shape[1]),
                    "center": CENTER, "scale": SCALE, "clip": a.clip}
    seeds = list(range(a.seeds))
    base = {"log_target": True, "center": CENTER, "scale": SCALE, "clip": a.clip, "n_folds": a.folds}

    def protocol(**settings):
        t = time.time()
        res = run_aggregate(train, test, schema, settings={**base, **settings}, dataset="king", progress=True)
        res.plots(out / "aggregate_king")
        return res, time.time() - t

    models = [] if a.no_rho else ["linear"] + ([] if a.no_mlp else ["mlp"])
    for model in models:
        if model == "linear":
            res, secs = protocol(bag_sizes=a.bag_sizes, seeds=seeds)
        else:
            res, secs = protocol(mlp={"enabled": True, "bag_sizes": a.bag_sizes, "seeds": seeds,
                                      "epochs": a.mlp_epochs, "rho_grid": a.mlp_grid, "n_folds": a.folds})
        rows = comparison_table(res.comparison)
        result[f"rho_{model}"] = {"rows": rows, "seconds": secs, "claim_holds": all(r["ratio"] <= 1.01 for r in rows)}
        print(f"\n[{model}] test MSE (standardised log price), mean over {len(seeds)} seeds ({secs:.0f} s)")
        print(f"{'k':>4} {'bag':>8} {'instance':>9} {'auto':>8} {'auto/best':>9}  chosen rho")
        for r in rows:
            print(f"{r['k']:>4} {r['bag']:8.4f} {r['instance']:9.4f} {r['auto']:8.4f} {r['ratio']:9.4f}  "
                  f"{r['rho_chosen']}")

    dp = {"epsilons": a.epsilons, "bag_sizes": a.dp_bag_sizes, "seeds": list(range(a.dp_seeds)),
          "sweep_rows": a.dp_rows if a.dp_rows is not None and a.dp_rows < len(Xtr) else None}
    res, secs = protocol(dp=dp)
    rows, _ = sweep_split(len(Xtr), dp["sweep_rows"], 0)
    print(f"\n[DP sweep] on {len(rows)} training rows, {a.dp_seeds} seeds, clip {a.clip}")
    result["dp_rows"] = int(len(rows))
    print(f"[DP sweep] {len(res.sweep_ledger)} releases, {secs:.0f} s; mean test MSE +- s.e. by k")
    summ = {(s["epsilon"], s["k"], s["estimator"]): (s["mean"], s["se"])
            for s in summarise(res.sweep, ("epsilon", "k", "estimator"))}
    print("eps   " + " ".join(f"{k:>13}" for k in a.dp_bag_sizes))
    for est in ("bag", "instance", "auto", "oracle"):
        print(f"-- {est}")
        for e in a.epsilons:
            print(f"{e:<5} " + " ".join(f"{summ[(e, k, est)][0]:7.4f}±{summ[(e, k, est)][1]:.3f}"
                                       for k in a.dp_bag_sizes))
    per_est = res.k_stars()
    for est, opt in per_est.items():
        print(f"k* ({est}): " + ", ".join(f"eps={e:g}: {v['k_star']} ({'interior' if v['interior'] else 'edge'})"
                                          for e, v in opt.items()))
    ks = per_est["auto"]
    kstar = [ks[e]["k_star"] for e in sorted(ks)]
    # Theory for the instance-level (rho = 1) linear estimator on random bags: risk(k) ~ r^2 (1 - 1/k)^2 + A / k^2
    # with A = 8 C^2 d / (n eps^2) (the Laplace noise through OLS on pseudo-labels), so k* ~ 1 + A / r^2.
    # r^2 = variance of the non-private OLS predictions (theory check only; not part of any release).
    from sklearn.linear_model import LinearRegression

    ztr = (np.log(train["price"].to_numpy(float)) - CENTER) / SCALE
    r2 = float(np.var(LinearRegression().fit(Xtr[rows], ztr[rows]).predict(Xte)))
    d_eff = int(np.linalg.matrix_rank(Xtr[rows]))
    theory = {str(e): 1 + 8 * a.clip ** 2 * d_eff / (len(rows) * e ** 2) / r2 for e in a.epsilons}
    result["instance_k_star_theory"] = theory
    print(f"instance-level theory k* ~ 1 + 8 C^2 d / (n eps^2 r^2) (d = {d_eff}, n = {len(rows)}, r^2 = {r2:.3f}): "
          + ", ".join(f"eps={e}: {v:.2f}" for e, v in theory.items()))
    result["dp_k_star_by_estimator"] = {est: {str(e): v["k_star"] for e, v in o.items()} for est, o in per_est.items()}
    result["dp"] = {"summary": [{"epsilon": e, "k": k, "estimator": est, "mean": v[0], "se": v[1]}
                                for (e, k, est), v in summ.items()],
                    "k_star": {str(e): v["k_star"] for e, v in ks.items()},
                    "interior": {str(e): v["interior"] for e, v in ks.items()},
                    "k_star_non_increasing_in_eps": all(x >= y for x, y in zip(kstar, kstar[1:])),
                    "seconds": secs}
    tag = "" if len(rows) == len(Xtr) else f"_n{len(rows)}"
    from trust.data.io import atomic_write_json

    atomic_write_json(out / f"aggregate_king{tag}.json", result)
    print(f"\nwrote {out / f'aggregate_king{tag}.json'} and plots under {out / 'aggregate_king' / 'audit'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
