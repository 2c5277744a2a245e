"""Time to quality on Adult: TSTR AUC against training time for CTAB-GAN+ (trust.synth) and SDV's CTGAN, one run.

Both train on the prepared Adult train split (``benchmarks/_prepared.py``) at the same epochs and batch size, no DP,
library defaults otherwise (ours: ``CTABGANPlus()`` through ``trust.synth.protocol.run_synth``; CTGAN: ``ctgan.CTGAN``, the model inside SDV's
CTGANSynthesizer, as ``benchmarks/synth_quality.py`` runs it). At each evaluation epoch (every ``--every``
epochs, plus ``--early``) training is paused, ``--rows`` rows are sampled and scored with
``trust.synth.evaluate.ml_utility`` (gradient boosting trained on the synthetic rows, ROC AUC on the real test
split; the train-on-real figures computed once); the clocks do not run during the evaluation. Each point records
the epoch, the training wall time and CPU time (``time.process_time``, torch on ``--threads`` threads, plus
the CPU of child processes: ctgan's transformer uses joblib worker processes) since ``fit`` was called (so both
include the model's data transformer fit) and the AUC.

Mid-fit sampling: ours through ``CTABGANPlus.fit(on_epoch_end=...)`` (a copy of the averaged generator, the
torch random state restored: tested to leave the fitted model unchanged); CTGAN through its epoch loop's
``tqdm`` iterator (replaced, as ``benchmarks/synth_speed.py`` does), its generator's state dict, train/eval
mode and the global numpy/torch random states saved before and restored after each evaluation.
``--check-hooks`` verifies on a subsample that both fits give the same models with and without the mid-fit
evaluation, then exits.

Reports the first evaluation point of each model at or above CTGAN's own final (``--epochs``) AUC, and its
time as a ratio of CTGAN's full training time (wall and CPU).

Usage::

    OMP_NUM_THREADS=1 nice python benchmarks/synth_time_to_quality.py [--epochs 150] [--every 5] [--rows 10000] \\
        [--seed 0] [--out benchmarks/results/synth_time_to_quality.json] \\
        [--figure benchmarks/figures/synth_time_to_quality.png]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _prepared import ctgan_frame, from_ctgan, load_prepared  # noqa: E402


def cpu_seconds() -> float:
    """CPU time of this process (``time.process_time``: every thread) plus its child processes' (ctgan's data
    transformer runs ``joblib.Parallel(n_jobs=-1)``, whose loky worker processes ``process_time`` would miss):
    live children through psutil, finished ones through ``getrusage(RUSAGE_CHILDREN)``."""
    import resource

    import psutil

    total = time.process_time()
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return total + r.ru_utime + r.ru_stime


class Clock:
    """Wall and CPU time (:func:`cpu_seconds`) accumulated while running (paused during evaluations)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._w = self._c = None

    def start(self) -> None:
        self._w, self._c = time.perf_counter(), cpu_seconds()

    def pause(self) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += cpu_seconds() - self._c



def ctgan_fit_hooked(model, cdf, discrete, on_epoch_end) -> None:
    """Fit ``model`` (a ``ctgan.CTGAN``), calling ``on_epoch_end(epoch)`` (from 1) after each epoch: ctgan's epoch
    loop iterates over a ``tqdm`` object, replaced here by a generator that calls the hook between epochs."""
    import ctgan.synthesizers.ctgan as mod

    original = mod.tqdm

    def hooked(iterable, **_kw):
        for x in iterable:
            yield x
            on_epoch_end(x + 1)

    mod.tqdm = hooked
    try:
        model.fit(cdf, discrete)
    finally:
        mod.tqdm = original


def ctgan_sample_untouched(model, n, discrete):
    """``model.sample(n)`` mid-fit without changing its training: the generator's state dict (BatchNorm running
    statistics), its train/eval mode and the global numpy and torch random states are restored afterwards."""
    import torch

    G = model._generator
    state = {k: v.clone() for k, v in G.state_dict().items()}
    mode = G.training
    np_state, torch_state = np.random.get_state(), torch.get_rng_state()
    try:
        syn = model.sample(n)
    finally:
        G.load_state_dict(state)
        G.train(mode)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)
    return from_ctgan(syn, discrete)


def run_ours(train, schema, args, score, seed, hook=True):
    from trust.synth.protocol import run_synth

    clock, points = Clock(), []

    def on_epoch_end(view, epoch):
        if epoch not in args.eval_epochs:
            return
        clock.pause()
        t = time.perf_counter()
        auc = score(view.sample(args.rows, random_state=seed))
        points.append({"epoch": epoch, "wall_s": clock.wall, "cpu_s": clock.cpu, **auc,
                       "eval_s": time.perf_counter() - t})
        print(f"  ours epoch {epoch}: wall {clock.wall:.0f}s cpu {clock.cpu:.0f}s auc {auc['auc']:.4f}", flush=True)
        clock.start()

    clock.start()
    model = run_synth(train, schema, epsilon=None, model={"epochs": args.epochs, "batch_size": args.batch_size},
                      on_epoch_end=on_epoch_end if hook else None, random_state=seed, verbose=False).model
    clock.pause()
    return model, points, {"wall_s": clock.wall, "cpu_s": clock.cpu}


def run_ctgan(train, schema, args, score, seed, hook=True):
    from ctgan import CTGAN

    cdf, discrete = ctgan_frame(train, schema)
    clock, points = Clock(), []
    model = CTGAN(epochs=args.epochs, batch_size=args.batch_size, enable_gpu=False)
    model.set_random_state(seed)

    def on_epoch_end(epoch):
        if not hook or epoch not in args.eval_epochs:
            return
        clock.pause()
        t = time.perf_counter()
        auc = score(ctgan_sample_untouched(model, args.rows, discrete))
        points.append({"epoch": epoch, "wall_s": clock.wall, "cpu_s": clock.cpu, **auc,
                       "eval_s": time.perf_counter() - t})
        print(f"  ctgan epoch {epoch}: wall {clock.wall:.0f}s cpu {clock.cpu:.0f}s auc {auc['auc']:.4f}", flush=True)
        clock.start()

    clock.start()
    ctgan_fit_hooked(model, cdf, discrete, on_epoch_end)
    clock.pause()
    return model, points, {"wall_s": clock.wall, "cpu_s": clock.cpu}


def check_hooks(train, schema, args) -> None:
    """Same models with and without mid-fit evaluation (a subsample, few epochs)."""
    import torch

    sub = train.sample(n=min(3000, len(train)), random_state=0)
    args.eval_epochs = set(range(1, args.epochs + 1))

    def score(syn):
        return {"auc": float(len(syn))}

    def same(a, b):
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    a, pa, _ = run_ours(sub, schema, args, score, 0, hook=True)
    b, _, _ = run_ours(sub, schema, args, score, 0, hook=False)
    ok_ours = same(a.generator_.state_dict(), b.generator_.state_dict()) and same(a.critic_.state_dict(),
                                                                                   b.critic_.state_dict())
    c, pc, _ = run_ctgan(sub, schema, args, score, 0, hook=True)
    d, _, _ = run_ctgan(sub, schema, args, score, 0, hook=False)
    ok_ctgan = same(c._generator.state_dict(), d._generator.state_dict())
    print(f"hooks evaluated ours {len(pa)}x, ctgan {len(pc)}x; same model with and without: ours {ok_ours}, "
          f"ctgan {ok_ctgan}")
    sys.exit(0 if ok_ours and ok_ctgan else 1)


def first_reaching(points, target):
    return next((p for p in points if p["auc"] >= target), None)


def plot(res, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = res["target_auc"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, clock, label in zip(axes, ("wall_s", "cpu_s"), ("training wall time (min)", "training CPU time (min)")):
        for name, style in (("ours", dict(color="C0", marker="o", label="CTAB-GAN+ (trust.synth)")),
                            ("ctgan", dict(color="C1", marker="s", label="SDV CTGAN"))):
            pts = res[name]["points"]
            ax.plot([p[clock] / 60 for p in pts], [p["auc"] for p in pts], ms=3, lw=1.2, **style)
        ax.axhline(target, color="C1", ls="--", lw=1, label=f"CTGAN at {res['epochs']} epochs ({target:.3f})")
        ax.axhline(res["trtr_auc"], color="grey", ls=":", lw=1, label=f"train on real ({res['trtr_auc']:.3f})")
        hit = res["ours"]["reach"]
        if hit is not None:
            ax.axvline(hit[clock] / 60, color="C0", ls=":", lw=1)
            ax.annotate(f"{hit[clock + '_ratio']:.2f}x CTGAN's time", (hit[clock] / 60, target),
                        xytext=(8, -28), textcoords="offset points", color="C0", fontsize=9)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("TSTR ROC AUC (HGB, real test split)")
    lo = min(p["auc"] for n in ("ours", "ctgan") for p in res[n]["points"])
    axes[0].set_ylim(max(0.3, lo - 0.02), res["trtr_auc"] + 0.01)
    axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Adult, no DP, batch {res['batch_size']}, {res['rows']:,} synthetic rows per point, seed "
                 f"{res['seed']} (one run, same machine)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--every", type=int, default=5, help="evaluate every this many epochs (and at the last)")
    ap.add_argument("--early", default="1,2,3", help="extra evaluation epochs (comma separated)")
    ap.add_argument("--rows", type=int, default=10000, help="synthetic rows sampled per evaluation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check-hooks", action="store_true", help="check the mid-fit evaluation changes no model, exit")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "synth_time_to_quality.json")
    ap.add_argument("--figure", type=Path, default=None, help="write the plot here (PNG)")
    args = ap.parse_args()
    args.eval_epochs = {e for e in range(args.every, args.epochs + 1, args.every)} | {args.epochs} | {
        int(e) for e in args.early.split(",") if e.strip() and int(e) <= args.epochs}

    import torch

    torch.set_num_threads(args.threads)
    from trust.synth.evaluate import ml_utility

    train, test, schema = load_prepared("adult")
    if args.check_hooks:
        check_hooks(train, schema, args)
    base = ml_utility(train, test, train, schema, random_state=args.seed)
    trtr = {k[5:]: v for k, v in base.items() if k.startswith("trtr.")}

    def score(syn):
        u = ml_utility(train, test, syn, schema, random_state=args.seed, trtr=trtr)
        return {"auc": u["tstr.hgb.auc"], "linear_auc": u["tstr.linear.auc"]}

    res = {"epochs": args.epochs, "batch_size": args.batch_size, "rows": args.rows, "seed": args.seed,
           "threads": args.threads, "eval_epochs": sorted(args.eval_epochs), "trtr_auc": trtr["hgb.auc"],
           "train_rows": len(train), "test_rows": len(test),
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
           "load_avg_start": os.getloadavg(), "torch": torch.__version__}
    print(f"CTGAN, {args.epochs} epochs", flush=True)
    _, pts, total = run_ctgan(train, schema, args, score, args.seed)
    res["ctgan"] = {"points": pts, "fit": total}
    print(f"ours, {args.epochs} epochs", flush=True)
    _, pts, total = run_ours(train, schema, args, score, args.seed)
    res["ours"] = {"points": pts, "fit": total}
    res["load_avg_end"] = os.getloadavg()

    target = res["ctgan"]["points"][-1]["auc"]
    ref = res["ctgan"]["points"][-1]
    res["target_auc"] = target
    for name in ("ours", "ctgan"):
        hit = first_reaching(res[name]["points"], target)
        if hit is not None:
            hit = dict(hit, wall_s_ratio=hit["wall_s"] / ref["wall_s"], cpu_s_ratio=hit["cpu_s"] / ref["cpu_s"])
        res[name]["reach"] = hit
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    if args.figure is not None:
        plot(res, args.figure)

    print(f"\ntarget: CTGAN's {args.epochs}-epoch TSTR AUC {target:.4f} (train on real {trtr['hgb.auc']:.4f})")
    print("| model | epochs to target | wall (s) | CPU (s) | wall / CTGAN's | CPU / CTGAN's | AUC at "
          f"{args.epochs} | {args.epochs}-epoch wall (s) | CPU (s) |\n|---|---|---|---|---|---|---|---|---|")
    for name in ("ours", "ctgan"):
        r, last = res[name]["reach"], res[name]["points"][-1]
        hit = (f"{r['epoch']} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['wall_s_ratio']:.2f}x | "
               f"{r['cpu_s_ratio']:.2f}x" if r else "not reached | - | - | - | -")
        print(f"| {name} | {hit} | {last['auc']:.4f} | {last['wall_s']:.0f} | {last['cpu_s']:.0f} |")


if __name__ == "__main__":
    main()
