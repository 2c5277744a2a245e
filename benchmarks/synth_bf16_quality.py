"""TSTR AUC and epoch time of CTAB-GAN+ (no DP) with float32 vs bfloat16 matrix products, same seeds, one run.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/synth_bf16_quality.py [--epochs 30] [--seeds 0 1] \\
        [--out benchmarks/results/synth_bf16_quality.json]

Each seed fits ``matmul_dtype="float32"`` then ``"bfloat16"`` on the prepared Adult split, samples as many rows and
scores them with ``trust.synth.evaluate.ml_utility`` (HGB TSTR AUC on the real test split); records the median wall
and process CPU time of an epoch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "synth_bf16_quality.json")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from _prepared import load_prepared
    from trust.synth.evaluate import ml_utility
    from trust.synth.protocol import run_synth

    train, test, schema = load_prepared("adult")
    out = []
    for seed in args.seeds:
        for dt in ("float32", "bfloat16"):
            m = run_synth(train, schema, epsilon=None, model={"epochs": args.epochs, "batch_size": 500,
                                                              "matmul_dtype": dt},
                          random_state=seed, device="cpu", verbose=False).model
            u = ml_utility(train, test, m.sample(len(train), random_state=seed), schema, random_state=0)
            r = {"seed": seed, "matmul_dtype": dt, "auc": u["tstr.hgb.auc"], "trtr": u["trtr.hgb.auc"],
                 "epoch_wall_med": statistics.median(m.epoch_seconds_),
                 "epoch_cpu_med": statistics.median(m.epoch_cpu_seconds_), "last_losses": m.loss_history_[-1]}
            print(json.dumps(r), flush=True)
            out.append(r)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"epochs": args.epochs, "runs": out}, indent=1))


if __name__ == "__main__":
    main()
