"""What the exact discrete Laplace costs the label-DP bag means, against the floating-point Laplace it replaced.

Issue 21.10: the bag means moved from ``mean + Laplace(2C / (k eps))`` drawn in floating point (NumPy's sampler,
open to Mironov's 2012 attack) to integer bag sums on the grid ``C / 1024`` plus exact discrete Laplace noise
(:func:`trust.aggregate.dp.release_bag_means`). This measures, on the prepared King splits (log price, the
declared centre 13 and scale 0.5, clip 2.5, as the ``aggregate`` stage):

1. the empirical variance of the noise on the released means, each mechanism against its formula;
2. the test MSE of the linear interpolating estimator (rho chosen on held-out bags, 5 folds) trained on each
   mechanism's release, for bag sizes 1, 4, 16, 64 and epsilon 0.5, 1, 2, over ``--reps`` releases each (noise
   seeded ``0 .. reps-1`` for both, FOR THIS MEASUREMENT ONLY; the bags are the same for both).

The floating-point arm is :func:`trust.privacy.mechanisms.laplace_mechanism` on the clipped bag means: no release
of the toolkit uses it any more. This is a comparison of two mechanisms, so it calls the mechanism and the
estimator directly rather than the aggregate protocol.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/aggregate_mechanism.py [--reps 20]
Writes benchmarks/results/aggregate_mechanism.json.
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

from trust.aggregate import (InterpolatingRegressor, bag_means, clip_responses, log_responses,  # noqa: E402
                             make_bags, noise_variance, release_bag_means)
from trust.aggregate.experiments import tabular_features  # noqa: E402
from trust.privacy.mechanisms import laplace_mechanism  # noqa: E402

CENTER, SCALE, CLIP = 13.0, 0.5, 2.5


def release(mechanism: str, y, ids, k: int, eps: float, seed: int) -> np.ndarray:
    if mechanism == "discrete":
        return release_bag_means(y, ids, eps, CLIP, center=CENTER, scale=SCALE, insecure_noise_seed=seed)[0]
    means = bag_means(clip_responses(y, CLIP, center=CENTER, scale=SCALE), ids)
    return laplace_mechanism(means, 2 * CLIP / k, eps, insecure_noise_seed=seed)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--bag-sizes", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--epsilons", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    a = ap.parse_args()
    train, test, schema = load_prepared("king")
    Xtr, (Xte,), _ = tabular_features(train, [test], schema)
    y = log_responses(train[schema.target])
    zte = (log_responses(test[schema.target]) - CENTER) / SCALE
    print(f"King: {len(Xtr)} train rows, {len(Xte)} test rows; {a.reps} releases per cell")
    rows, t0 = [], time.time()
    for k in a.bag_sizes:
        ids = make_bags(len(Xtr), k, random_state=0)
        exact = bag_means(clip_responses(y, CLIP, center=CENTER, scale=SCALE), ids)
        for eps in a.epsilons:
            cell = {"k": k, "epsilon": eps, "variance_formula": float(noise_variance(k, eps, CLIP))}
            for mech in ("float", "discrete"):
                mse, noise = [], []
                for seed in range(a.reps):
                    noisy = release(mech, y, ids, k, eps, seed)
                    noise.append(noisy - exact)
                    est = InterpolatingRegressor(rho="auto", n_folds=5, random_state=0).fit(Xtr, ids, noisy)
                    mse.append(float(np.mean((est.predict(Xte) - zte) ** 2)))
                cell[mech] = {"test_mse_mean": float(np.mean(mse)), "test_mse_se": float(np.std(mse, ddof=1)
                                                                                         / np.sqrt(len(mse))),
                              "noise_variance": float(np.var(np.concatenate(noise)))}
            d = cell["discrete"]["test_mse_mean"] - cell["float"]["test_mse_mean"]
            se = float(np.hypot(cell["discrete"]["test_mse_se"], cell["float"]["test_mse_se"]))
            cell["difference"], cell["difference_se"] = d, se
            rows.append(cell)
            print(f"k={k:>3} eps={eps:<4g} test MSE float {cell['float']['test_mse_mean']:.4f} "
                  f"discrete {cell['discrete']['test_mse_mean']:.4f} (difference {d:+.4f} +- {se:.4f}); noise "
                  f"variance float {cell['float']['noise_variance']:.4g} discrete {cell['discrete']['noise_variance']:.4g}"
                  f" formula {cell['variance_formula']:.4g}", flush=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    from trust.data.io import atomic_write_json

    atomic_write_json(out / "aggregate_mechanism.json", {"reps": a.reps, "seconds": time.time() - t0, "rows": rows})
    within = sum(abs(r["difference"]) <= 2 * r["difference_se"] for r in rows)
    print(f"{within} of {len(rows)} cells: |difference| within 2 standard errors ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
