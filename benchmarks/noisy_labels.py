"""The noisy-labels protocol (issues 14, 23): RCAL beside cross-entropy (and logit adjustment, class-balanced loss,
confident learning) on long-tailed noisy training sets, balanced clean test sets, several seeds.

Settings: digits (imbalance 10) and MNIST-1D (imbalance 10 and 100), symmetric noise 0.2 and 0.4 and
class-size-proportional noise 0.4 (the noise RCAL's theory assumes). Digits: a stratified 75 / 25 split
(seed 0), the 75 % the pool the long-tailed set is drawn from; MNIST-1D: its own 4,000 training rows and 1,000
test rows. Method settings from ``params.yaml`` ``noisy.datasets.<dataset>.methods`` (the stage's), plus two
variants of RCAL: ``rcal_no_mixup`` (``mixup_alpha=0``, the calibrated variant) and ``rcal_oracle`` (stage 2
estimated from the clean labels: the control that shows what distribution recovery could give at best).
Every method of a seed trains on the same rows (:func:`trust.noisy.protocol.run_noisy`). Per setting it prints
each seed's figures, the mean, and each RCAL variant's gain over cross-entropy on head and tail classes (mean
and 95 % t-interval over seeds); results are merged into ``--out``.

Run (the issue-23 measurement: proportional noise, the oracle control, 5 seeds):

    OMP_NUM_THREADS=1 nice python benchmarks/noisy_labels.py --only digits_lt10_prop40,mnist1d_lt100_prop40 \
        --methods ce,rcal,rcal_no_mixup,rcal_oracle --seeds 0,1,2,3,4
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
from trust.noisy.protocol import run_noisy  # noqa: E402

SETTINGS = {  # name: (dataset, imbalance, noise rate, noise kind)
    "digits_lt10_sym20": ("digits", 10, 0.2, "symmetric"),
    "digits_lt10_sym40": ("digits", 10, 0.4, "symmetric"),
    "digits_lt10_prop40": ("digits", 10, 0.4, "proportional"),
    "mnist1d_lt10_sym40": ("mnist1d", 10, 0.4, "symmetric"),
    "mnist1d_lt100_sym20": ("mnist1d", 100, 0.2, "symmetric"),
    "mnist1d_lt100_sym40": ("mnist1d", 100, 0.4, "symmetric"),
    "mnist1d_lt100_prop40": ("mnist1d", 100, 0.4, "proportional"),
}
FIGURES = ("accuracy", "head", "medium", "tail", "ece", "seconds")


def data(name: str):
    ds = load_array_dataset(name)
    if ds.test_index is None:
        s = split_arrays(ds.y, val_size=0.1, test_size=0.25, seed=0)
        pool, test = np.sort(np.concatenate([s.train, s.val])), s.test
    else:
        test = ds.test_index
        pool = np.setdiff1d(np.arange(len(ds.y)), test)
    return ds.X[pool], ds.y[pool], ds.X[test], ds.y[test]


def methods_of(cfg: dict, names: list[str]) -> dict:
    """Method settings by name: the stage's, plus the RCAL variants ``rcal_no_mixup`` and ``rcal_oracle``."""
    base = dict(cfg["methods"])
    base["rcal_no_mixup"] = {**base["rcal"], "method": "rcal", "mixup_alpha": 0.0}
    base["rcal_oracle"] = {**base["rcal"], "method": "rcal", "oracle": True}
    return {m: base[m] or {} for m in names}


def _interval(v: list[float]) -> list[float]:
    from scipy import stats

    v = np.asarray(v, dtype=float)
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
    return [float(v.mean()), float(v.mean() - half), float(v.mean() + half)]


def summarise(runs: list[dict], methods: list[str]) -> dict:
    """Means over seeds per method, and each method's gain over cross-entropy (head, tail, overall) with a t-interval."""
    mean = {m: {k: float(np.mean([r[m][k] for r in runs])) for k in FIGURES} for m in methods}
    gains = {}
    for m in methods:
        if m == "ce":
            continue
        g = {k: [r[m][k] - r["ce"][k] for r in runs] for k in ("accuracy", "head", "tail")}
        gains[m] = {**{k: _interval(v) for k, v in g.items()},
                    "tail_above_head": int(sum(t > h for t, h in zip(g["tail"], g["head"])))}
    return {"mean": mean, "gain_over_ce": gains}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated setting names")
    ap.add_argument("--methods", default="", help="comma-separated method names (default: every method in params.yaml)")
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
        wanted = args.methods.split(",") if args.methods else list(cfg["methods"])
        methods = methods_of(cfg, wanted)
        Xp, yp, Xt, yt = data(dataset)
        runs = []
        for seed in seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = run_noisy(Xp, yp, Xt, yt, network=cfg["network"], methods=methods, setting=name, dataset=dataset,
                              corrupt={"imbalance_ratio": ratio, "noise_rate": rate, "noise_kind": kind},
                              random_state=seed, device="cpu")
            runs.append({m: dict(fig) for m, fig in r.figures.items()})
            print(name, seed, {m: {k: round(v, 3) for k, v in fig.items() if k != "per_class"}
                               for m, fig in r.figures.items()}, flush=True)
        summary = summarise(runs, wanted) if "ce" in wanted else {"mean": {}, "gain_over_ce": {}}
        results[name] = {"seeds": seeds, "runs": runs, **summary}
        print(name, "mean", {m: {k: round(v, 3) for k, v in s.items()} for m, s in summary["mean"].items()}, flush=True)
        print(name, "gain over ce", json.dumps(summary["gain_over_ce"]), flush=True)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
