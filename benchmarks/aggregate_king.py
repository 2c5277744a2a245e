"""Quality benchmark for learning from aggregate bags on King house prices (issue 4's numbers).

Measures, on the prepared King splits (``outputs/prepare/king``; falls back to ``load_dataset("king")``
split with seed 0), log price standardised with the declared constants (center 13.0, scale 0.5):

1. rho chosen on held-out bags vs the better of bag-level and instance-level, test MSE, mean over seeds,
   for bag sizes 4..64, with a linear model and an MLP (claim: auto <= 1.01 * min(bag, instance));
2. the label-DP sweep over bag size k and epsilon (claim: interior optimum k*(eps) for eps in {0.5, 1, 2},
   k* non-decreasing as eps shrinks).

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/aggregate_king.py [--quick]
Writes benchmarks/results/aggregate_king.json and aggregate_king_*.png.
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

from trust.aggregate.experiments import (dp_sweep, optimal_bag_sizes, plot_risk_vs_k,  # noqa: E402
                                         plot_risk_vs_k_per_rho, plot_risk_vs_rho, rho_comparison, summarise,
                                         tabular_features)
from _prepared import load_prepared  # noqa: E402

CENTER, SCALE = 13.0, 0.5  # declared public standardisation of log price (not computed from the labels)




def rho_claim(records):
    summ = {(s["k"], s["estimator"]): s["mean"] for s in summarise(records, ("k", "estimator"))}
    rows = []
    for k in sorted({r["k"] for r in records}):
        best = min(summ[(k, "bag")], summ[(k, "instance")])
        rows.append({"k": k, "bag": summ[(k, "bag")], "instance": summ[(k, "instance")], "auto": summ[(k, "auto")],
                     "ratio": summ[(k, "auto")] / best,
                     "chosen_rho": sorted(r["rho"] for r in records if r["k"] == k and r["estimator"] == "auto")})
    return rows


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
                    help="subsample the training rows of the DP sweep (seed 0) to this many (default: all)")
    ap.add_argument("--quick", action="store_true", help="2 seeds, no MLP (a smoke run)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    a = ap.parse_args()
    if a.quick:
        a.seeds, a.dp_seeds, a.no_mlp = 2, 2, True
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    train, test, schema = load_prepared("king")
    Xtr, (Xte,), _ = tabular_features(train, [test], schema)
    ly, lyt = np.log(train["price"].to_numpy(float)), np.log(test["price"].to_numpy(float))
    ztr, zte = (ly - CENTER) / SCALE, (lyt - CENTER) / SCALE
    print(f"King: {Xtr.shape[0]} train rows, {Xte.shape[0]} test rows, {Xtr.shape[1]} features")
    result: dict = {"rows_train": int(Xtr.shape[0]), "rows_test": int(Xte.shape[0]), "features": int(Xtr.shape[1]),
                    "center": CENTER, "scale": SCALE, "clip": a.clip}
    seeds = list(range(a.seeds))
    from trust.data.io import atomic_path

    def save(fig, name):
        with atomic_path(out / name) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")

    models = [] if a.no_rho else ["linear"] + ([] if a.no_mlp else ["mlp"])
    for model in models:
        t = time.time()
        kw = {} if model == "linear" else {"epochs": a.mlp_epochs, "rho_grid": a.mlp_grid}
        rec = rho_comparison(Xtr, ztr, Xte, zte, a.bag_sizes, seeds, model=model, n_folds=a.folds, progress=True,
                             **kw)
        rows = rho_claim(rec)
        result[f"rho_{model}"] = {"rows": rows, "seconds": time.time() - t,
                                  "claim_holds": all(r["ratio"] <= 1.01 for r in rows)}
        print(f"\n[{model}] test MSE (standardised log price), mean over {len(seeds)} seeds ({time.time() - t:.0f} s)")
        print(f"{'k':>4} {'bag':>8} {'instance':>9} {'auto':>8} {'auto/best':>9}  chosen rho")
        for r in rows:
            print(f"{r['k']:>4} {r['bag']:8.4f} {r['instance']:9.4f} {r['auto']:8.4f} {r['ratio']:9.4f}  "
                  f"{r['chosen_rho']}")
        save(plot_risk_vs_rho(rec, title=f"King, {model}: test MSE vs rho"), f"aggregate_king_rho_{model}.png")

    t = time.time()
    rows = np.arange(len(Xtr))
    if a.dp_rows is not None and a.dp_rows < len(Xtr):
        rows = np.sort(np.random.default_rng(0).choice(len(Xtr), a.dp_rows, replace=False))
    print(f"\n[DP sweep] on {len(rows)} training rows, {a.dp_seeds} seeds, clip {a.clip}")
    result["dp_rows"] = int(len(rows))
    rec, ledger = dp_sweep(Xtr[rows], ly[rows], Xte, lyt, a.epsilons, a.dp_bag_sizes, list(range(a.dp_seeds)),
                           clip=a.clip, center=CENTER, scale=SCALE, n_folds=a.folds, progress=True)
    print(f"\n[DP sweep] {len(ledger)} releases, {time.time() - t:.0f} s; test MSE by k (estimator 'auto')")
    ks = optimal_bag_sizes(rec, "auto")
    summ = {(s["epsilon"], s["k"], s["estimator"]): (s["mean"], s["se"])
            for s in summarise(rec, ("epsilon", "k", "estimator"))}
    print("eps   " + " ".join(f"{k:>13}" for k in a.dp_bag_sizes))
    for est in ("bag", "instance", "auto", "oracle"):
        print(f"-- {est}")
        for e in a.epsilons:
            print(f"{e:<5} " + " ".join(f"{summ[(e, k, est)][0]:7.4f}±{summ[(e, k, est)][1]:.3f}"
                                       for k in a.dp_bag_sizes))
    for est in ("bag", "instance", "auto", "oracle"):
        opt = optimal_bag_sizes(rec, est)
        print(f"k* ({est}): " + ", ".join(f"eps={e:g}: {v['k_star']} ({'interior' if v['interior'] else 'edge'})"
                                          for e, v in opt.items()))
    kstar = [ks[e]["k_star"] for e in sorted(ks)]
    # Theory for the instance-level (rho = 1) linear estimator on random bags: risk(k) ~ r^2 (1 - 1/k)^2 + A / k^2
    # with A = 8 C^2 d / (n eps^2) (the Laplace noise through OLS on pseudo-labels), so k* ~ 1 + A / r^2.
    # r^2 = variance of the non-private OLS predictions (theory check only; not part of any release).
    from sklearn.linear_model import LinearRegression

    r2 = float(np.var(LinearRegression().fit(Xtr[rows], ztr[rows]).predict(Xte)))
    d_eff = int(np.linalg.matrix_rank(Xtr[rows]))
    theory = {str(e): 1 + 8 * a.clip ** 2 * d_eff / (len(rows) * e ** 2) / r2 for e in a.epsilons}
    result["instance_k_star_theory"] = theory
    print(f"instance-level theory k* ~ 1 + 8 C^2 d / (n eps^2 r^2) (d = {d_eff}, n = {len(rows)}, r^2 = {r2:.3f}): "
          + ", ".join(f"eps={e}: {v:.2f}" for e, v in theory.items()))
    per_est = {est: optimal_bag_sizes(rec, est) for est in ("bag", "instance", "auto", "oracle")}
    result["dp_k_star_by_estimator"] = {est: {str(e): v["k_star"] for e, v in o.items()} for est, o in per_est.items()}
    result["dp"] = {"summary": [{"epsilon": e, "k": k, "estimator": est, "mean": v[0], "se": v[1]}
                                for (e, k, est), v in summ.items()],
                    "k_star": {str(e): v["k_star"] for e, v in ks.items()},
                    "interior": {str(e): v["interior"] for e, v in ks.items()},
                    "k_star_non_increasing_in_eps": all(x >= y for x, y in zip(kstar, kstar[1:])),
                    "seconds": time.time() - t}
    tag = "" if len(rows) == len(Xtr) else f"_n{len(rows)}"
    save(plot_risk_vs_k(rec, title=f"King ({len(rows)} training rows), label-DP bag means: test MSE vs bag size"),
         f"aggregate_king_dp_risk_vs_k{tag}.png")
    save(plot_risk_vs_k_per_rho(rec, title=f"King ({len(rows)} training rows), label-DP: test MSE vs k per rho"),
         f"aggregate_king_dp_risk_vs_k_per_rho{tag}.png")
    with atomic_path(out / f"aggregate_king{tag}.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {out / f'aggregate_king{tag}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
