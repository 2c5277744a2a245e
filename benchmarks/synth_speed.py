"""Speed of CTAB-GAN+ (trust.synth) vs CTGAN (the model inside SDV's CTGANSynthesizer) on Adult.

Measures, each as the median of ``--repeats`` runs, all at the same batch size and torch thread count:

* epoch time, wall and process CPU time (``time.process_time``: on a busy machine the robust figure): ours (MLP,
  non-DP; with ``matmul_dtype="bfloat16"``, its first epoch reported too; and with CTGAN's packed critic, ``pac=10``),
  ours under DP-SGD (epsilon 3: ghost clipping, and the torch.func ``vmap`` path), ours with the paper's convolutional
  networks (on a subsample, scaled to the full split), and ``ctgan.CTGAN`` (each epoch timed inside its training loop, its transformer excluded, as ours);
* transformer fit time: ours vs CTGAN's ``DataTransformer``;
* sampling time for 100,000 rows: ours vs CTGAN.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/synth_speed.py [--repeats 3] [--threads 1] [--device cpu|cuda] [--epochs-only] \
        [--out benchmarks/results/synth_speed.json]

``--device cuda`` runs ours (every network, the DP path included) and CTGAN (``enable_gpu=True``) on the GPU; the
default ``cpu`` measures both on the CPU whatever is present. ``--epochs-only`` measures the non-DP epochs alone (ours float32,
ours bfloat16, CTGAN), for a short run.

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



def ours_epoch(df, schema, batch, epochs, seed, device="cpu", **kw):
    """Fit ours; returns the model and the median wall time of an epoch."""
    m = ours_fit(df, schema, batch, epochs, seed, device, **kw)
    return m, float(np.median(m.epoch_seconds_))


def ours_fit(df, schema, batch, epochs, seed, device="cpu", epsilon=None, **kw):
    """Ours through the protocol (:func:`trust.synth.protocol.run_synth`); the fitted model."""
    from trust.synth.protocol import run_synth

    return run_synth(df, schema, epsilon=epsilon, model={"epochs": epochs, "batch_size": batch, **kw},
                     random_state=seed, device=device, verbose=False).model


def ctgan_epoch_times(model, cdf, discrete, cpu: list[float] | None = None) -> list[float]:
    """Fit ``model`` and return the wall time of each epoch (its transformer excluded): ctgan's epoch loop
    iterates over a ``tqdm`` object, which we replace by one that records a timestamp per epoch. ``cpu``: a list
    that receives each epoch's process CPU time."""
    import ctgan.synthesizers.ctgan as mod

    stamps: list[float] = []
    cpu_stamps: list[float] = []
    original = mod.tqdm

    def timed(iterable, **_kw):
        for x in iterable:
            stamps.append(time.perf_counter())
            cpu_stamps.append(time.process_time())
            yield x
        stamps.append(time.perf_counter())
        cpu_stamps.append(time.process_time())

    mod.tqdm = timed
    try:
        model.fit(cdf, discrete)
    finally:
        mod.tqdm = original
    if cpu is not None:
        cpu.extend(np.diff(cpu_stamps))
    return list(np.diff(stamps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--conv-rows", type=int, default=2000, help="subsample for the (slow) convolutional epoch")
    ap.add_argument("--skip-ctgan", action="store_true")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="where ours and CTGAN train (cuda: every network and the DP path on the GPU)")
    ap.add_argument("--epochs-only", action="store_true",
                    help="only the non-DP epochs: ours float32, ours bfloat16 matrix products, CTGAN")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "synth_speed.json")
    args = ap.parse_args()

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA device is available")
    torch.set_num_threads(args.threads)
    dev = args.device
    from trust.synth.transformer import DataTransformer

    from _prepared import ctgan_frame, load_prepared

    df, _, schema = load_prepared("adult")
    n = len(df)
    res: dict[str, list[float]] = {}

    def add(k, v):
        res.setdefault(k, []).append(float(v))
        print(f"  {k}: {v:.3f}", flush=True)

    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}", flush=True)
        if not args.epochs_only:
            t = time.perf_counter()
            DataTransformer(random_state=r).fit(df, schema)
            add("ours.transformer_fit_s", time.perf_counter() - t)
        m = ours_fit(df, schema, args.batch_size, 3, r, dev)
        add("ours.epoch_s", np.median(m.epoch_seconds_))
        add("ours.epoch_cpu_s", np.median(m.epoch_cpu_seconds_))
        b = ours_fit(df, schema, args.batch_size, 3, r, dev, matmul_dtype="bfloat16")
        add("ours.bf16_epoch_s", np.median(b.epoch_seconds_))
        add("ours.bf16_epoch_cpu_s", np.median(b.epoch_cpu_seconds_))
        add("ours.bf16_first_epoch_s", b.epoch_seconds_[0])
        if not args.epochs_only:
            t = time.perf_counter()
            m.sample(100_000, random_state=r)
            add("ours.sample_100k_s", time.perf_counter() - t)
            _, ep = ours_epoch(df, schema, args.batch_size, 3, r, dev, epsilon=3.0, accountant="prv")
            add("ours.dp_epoch_s", ep)
            _, ep = ours_epoch(df, schema, args.batch_size, 3, r, dev, pac=10)
            add("ours.pac10_epoch_s", ep)
        if r == 0 and not args.epochs_only:  # the vmap path is the slow reference: once
            _, ep = ours_epoch(df, schema, args.batch_size, 1, r, dev, epsilon=3.0, accountant="prv",
                               per_sample="vmap")
            add("ours.dp_vmap_epoch_s", ep)
            sub = df.sample(n=min(args.conv_rows, n), random_state=r)
            _, ep = ours_epoch(sub, schema, args.batch_size, 1, r, dev, architecture="conv")
            add("ours.conv_epoch_s_scaled", ep * n / len(sub))
        if not args.skip_ctgan:
            from ctgan import CTGAN
            from ctgan.data_transformer import DataTransformer as CTGANTransformer

            cdf, discrete = ctgan_frame(df, schema)
            if not args.epochs_only:
                t = time.perf_counter()
                CTGANTransformer().fit(cdf, discrete)
                add("ctgan.transformer_fit_s", time.perf_counter() - t)
            c = CTGAN(epochs=3, batch_size=args.batch_size, enable_gpu=dev == "cuda")
            c.set_random_state(r)
            cpu: list[float] = []
            stamps = ctgan_epoch_times(c, cdf, discrete, cpu)
            add("ctgan.epoch_s", float(np.median(stamps)))
            add("ctgan.epoch_cpu_s", float(np.median(cpu)))
            if not args.epochs_only:
                t = time.perf_counter()
                c.sample(100_000)
                add("ctgan.sample_100k_s", time.perf_counter() - t)

    med = {k: statistics.median(v) for k, v in res.items()}
    info = {"rows": n, "batch_size": args.batch_size, "threads": args.threads, "repeats": args.repeats,
            "device": dev, "gpu": torch.cuda.get_device_name() if dev == "cuda" else None,
            "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
            "torch": torch.__version__}
    args.out.write_text(json.dumps({"info": info, "median": med, "runs": res}, indent=1))
    print("\n| measure | median (s) |\n|---|---|")
    for k, v in med.items():
        print(f"| {k} | {v:.3f} |")
    if "ctgan.epoch_s" in med:
        for k in ("epoch", "bf16_epoch"):
            print(f"ours ({k})/CTGAN epoch: wall {med[f'ours.{k}_s'] / med['ctgan.epoch_s']:.2f}x, "
                  f"CPU time {med[f'ours.{k}_cpu_s'] / med['ctgan.epoch_cpu_s']:.2f}x")
    if "ours.dp_epoch_s" in med:
        print(f"DP/non-DP epoch: {med['ours.dp_epoch_s'] / med['ours.epoch_s']:.2f}x")


if __name__ == "__main__":
    main()
