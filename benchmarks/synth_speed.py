"""Speed of CTAB-GAN+ (trust.synth) vs CTGAN (the model inside SDV's CTGANSynthesizer) on Adult.

Measures, each as the median of ``--repeats`` runs, all at the same batch size and torch thread count:

* epoch time: ours (MLP, non-DP; and with CTGAN's packed critic, ``pac=10``), ours under DP-SGD (epsilon 3:
  ghost clipping, and the torch.func ``vmap`` path), ours with the paper's convolutional networks (on a subsample, scaled to the full split), and
  ``ctgan.CTGAN`` (each epoch timed inside its training loop, its transformer excluded, as ours);
* transformer fit time: ours vs CTGAN's ``DataTransformer``;
* sampling time for 100,000 rows: ours vs CTGAN.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/synth_speed.py [--repeats 3] [--threads 1] [--out benchmarks/results/synth_speed.json]

Prints a Markdown table; writes the raw figures as JSON. Runs on the prepared split (``dvc repro prepare``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def ctgan_frame(df, schema):
    out = df.copy()
    discrete = schema.of_kind("categorical")
    for c in discrete:
        out[c] = out[c].astype(object).where(out[c].notna(), "missing").astype(str)
    return out, discrete


def ours_epoch(df, schema, batch, epochs, seed, **kw):
    from trust.synth import CTABGANPlus

    m = CTABGANPlus(epochs=epochs, batch_size=batch, random_state=seed, verbose=False, **kw).fit(df, schema)
    return m, float(np.median(m.epoch_seconds_))


def ctgan_epoch_times(model, cdf, discrete) -> list[float]:
    """Fit ``model`` and return the wall time of each epoch (its transformer excluded): ctgan's epoch loop
    iterates over a ``tqdm`` object, which we replace by one that records a timestamp per epoch."""
    import ctgan.synthesizers.ctgan as mod

    stamps: list[float] = []
    original = mod.tqdm

    def timed(iterable, **_kw):
        for x in iterable:
            stamps.append(time.perf_counter())
            yield x
        stamps.append(time.perf_counter())

    mod.tqdm = timed
    try:
        model.fit(cdf, discrete)
    finally:
        mod.tqdm = original
    return list(np.diff(stamps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--conv-rows", type=int, default=2000, help="subsample for the (slow) convolutional epoch")
    ap.add_argument("--skip-ctgan", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "synth_speed.json")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from trust.synth.transformer import DataTransformer

    from _prepared import load_prepared

    df, _, schema = load_prepared("adult")
    n = len(df)
    res: dict[str, list[float]] = {}

    def add(k, v):
        res.setdefault(k, []).append(float(v))
        print(f"  {k}: {v:.3f}", flush=True)

    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}", flush=True)
        t = time.perf_counter()
        DataTransformer(random_state=r).fit(df, schema)
        add("ours.transformer_fit_s", time.perf_counter() - t)
        m, ep = ours_epoch(df, schema, args.batch_size, 3, r)
        add("ours.epoch_s", ep)
        t = time.perf_counter()
        m.sample(100_000, random_state=r)
        add("ours.sample_100k_s", time.perf_counter() - t)
        _, ep = ours_epoch(df, schema, args.batch_size, 3, r, epsilon=3.0, accountant="prv")
        add("ours.dp_epoch_s", ep)
        _, ep = ours_epoch(df, schema, args.batch_size, 3, r, pac=10)
        add("ours.pac10_epoch_s", ep)
        if r == 0:  # the vmap path is the slow reference: once
            _, ep = ours_epoch(df, schema, args.batch_size, 1, r, epsilon=3.0, accountant="prv", per_sample="vmap")
            add("ours.dp_vmap_epoch_s", ep)
            sub = df.sample(n=min(args.conv_rows, n), random_state=r)
            _, ep = ours_epoch(sub, schema, args.batch_size, 1, r, architecture="conv")
            add("ours.conv_epoch_s_scaled", ep * n / len(sub))
        if not args.skip_ctgan:
            from ctgan import CTGAN
            from ctgan.data_transformer import DataTransformer as CTGANTransformer

            cdf, discrete = ctgan_frame(df, schema)
            t = time.perf_counter()
            CTGANTransformer().fit(cdf, discrete)
            add("ctgan.transformer_fit_s", time.perf_counter() - t)
            c = CTGAN(epochs=3, batch_size=args.batch_size, enable_gpu=False)
            c.set_random_state(r)
            stamps = ctgan_epoch_times(c, cdf, discrete)
            add("ctgan.epoch_s", float(np.median(stamps)))
            t = time.perf_counter()
            c.sample(100_000)
            add("ctgan.sample_100k_s", time.perf_counter() - t)

    med = {k: statistics.median(v) for k, v in res.items()}
    info = {"rows": n, "batch_size": args.batch_size, "threads": args.threads, "repeats": args.repeats,
            "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
            "torch": torch.__version__}
    args.out.write_text(json.dumps({"info": info, "median": med, "runs": res}, indent=1))
    print("\n| measure | median (s) |\n|---|---|")
    for k, v in med.items():
        print(f"| {k} | {v:.3f} |")
    if "ctgan.epoch_s" in med:
        print(f"\nours/CTGAN epoch: {med['ours.epoch_s'] / med['ctgan.epoch_s']:.2f}x; "
              f"DP/non-DP epoch: {med['ours.dp_epoch_s'] / med['ours.epoch_s']:.2f}x")


if __name__ == "__main__":
    main()
