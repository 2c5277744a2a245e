"""Utility of CTAB-GAN+ synthetic data on Adult: train on synthetic, test on real (TSTR) vs CTGAN.

Runs (pick with ``--runs``): ``none`` (ours, no DP), ``eps1``, ``eps3``, ``eps10`` (ours, whole pipeline DP at
``--delta``: DP histogram release + DP-SGD auxiliary model + DP-SGD critic), ``ncritic5`` (ours, no DP,
5 critic steps per generator step, the paper's setting), ``pac10`` (ours, no DP, CTGAN's packed critic: 10
rows per critic input) and ``ctgan`` (``ctgan.CTGAN``, the model in SDV's
CTGANSynthesizer, at the same epochs and batch size). Each synthesizer trains on the prepared Adult train
split and samples as many rows; ours is fitted through the protocol, :func:`trust.synth.protocol.run_synth`;
utility is ``trust.synth.evaluate.ml_utility`` (gradient boosting and logistic regression fitted on the synthetic
rows, ROC AUC on the real test split; the utility part of ``run_synth_evaluate``, called alone so that the figures
keep their seeds and the runs skip the fidelity and privacy audits), with train-on-real (TRTR) as the reference.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/synth_quality.py --epochs 30 [--runs none,eps1,eps3,eps10,ctgan] \
        [--out benchmarks/results/synth_quality.json]

Small tables (issue 16): ``--train-rows 3000`` fits on a subsample of that many rows of the train split, drawn with
``--seed`` (``train.sample(n=N, random_state=seed)``, as the pipeline's ``synth.max_train_rows`` (without DP)); the
train-on-real reference is then fitted on the same N rows. ``--epochs auto --batch-size auto`` use the library's
adaptive defaults (:func:`trust.synth.plan.auto_schedule`)::

    OMP_NUM_THREADS=1 python benchmarks/synth_quality.py --train-rows 3000 --epochs auto --batch-size auto \
        --runs none,eps1,eps3 --seed 0

Prints a Markdown table and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the value ranges declared public are the dataset registry's (trust.data.registry: Adult's schema declares the
# bounds of every numeric column; this script used to hold an identical copy)
MODEL_ARGS = {"metadata_fraction": "metadata_epsilon_fraction", "aux_fraction": "aux_epsilon_fraction", "lr": "lr",
              "max_grad_norm": "max_grad_norm", "clip_pairs": "clip_pairs", "ema": "generator_ema",
              "marginal_weight": "marginal_weight", "n_generator": "n_generator",
              "critic_lr_schedule": "critic_lr_schedule", "generator_lr_schedule": "generator_lr_schedule",
              "lr_final_fraction": "lr_final_fraction", "downstream_weight": "downstream_weight"}
RUNS = ("none", "eps1", "eps3", "eps10", "ncritic5", "pac10", "ctgan")


def _int_or_auto(text: str):
    return "auto" if text == "auto" else int(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=_int_or_auto, default=30,
                    help="paper: 150 (hours on 2 CPU cores for all runs); 'auto': the library's adaptive default")
    ap.add_argument("--batch-size", type=_int_or_auto, default=500, help="an integer or 'auto' (adaptive default)")
    ap.add_argument("--train-rows", type=int, default=None,
                    help="fit (and train-on-real) on a subsample of this many train rows, drawn with --seed")
    ap.add_argument("--delta", type=float, default=1e-5)
    ap.add_argument("--accountant", default="prv")
    ap.add_argument("--runs", default="none,eps1,eps3,eps10,ctgan")
    # model settings: unset means the library's default
    ap.add_argument("--metadata-fraction", type=float,
                    help="share of epsilon for the DP histogram release (CTABGANPlus.metadata_epsilon_fraction)")
    ap.add_argument("--aux-fraction", type=float,
                    help="share of epsilon for the DP auxiliary model (CTABGANPlus.aux_epsilon_fraction)")
    ap.add_argument("--lr", type=float, help="Adam learning rate of ours (CTABGANPlus.lr; paper: 2e-4)")
    ap.add_argument("--max-grad-norm", type=float, help="DP-SGD per-sample clip bound (CTABGANPlus.max_grad_norm)")
    ap.add_argument("--clip-pairs", action=argparse.BooleanOptionalAction,
                    help="DP: clip each pair loss D(fake_i) - D(real_i) + GP_i jointly (CTABGANPlus.clip_pairs; "
                         "--no-clip-pairs: only the real terms)")
    ap.add_argument("--ema", type=float, help="CTABGANPlus.generator_ema (decay; 0: off)")
    ap.add_argument("--marginal-weight", type=float,
                    help="DP: weight of the marginal anchoring term towards the DP histograms (CTABGANPlus.marginal_weight)")
    ap.add_argument("--n-generator", type=int, help="generator steps per generator turn (CTABGANPlus.n_generator)")
    ap.add_argument("--critic-lr-schedule", choices=("constant", "linear", "cosine"),
                    help="CTABGANPlus.critic_lr_schedule")
    ap.add_argument("--generator-lr-schedule", choices=("constant", "linear", "cosine"),
                    help="CTABGANPlus.generator_lr_schedule")
    ap.add_argument("--lr-final-fraction", type=float, help="the schedules' final lr / lr (CTABGANPlus.lr_final_fraction)")
    ap.add_argument("--downstream-weight", type=float, help="CTABGANPlus.downstream_weight")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "synth_quality.json")
    args = ap.parse_args()
    overrides = {param: getattr(args, arg) for arg, param in MODEL_ARGS.items() if getattr(args, arg) is not None}
    if overrides.get("generator_ema") == 0:
        overrides["generator_ema"] = None
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    bad = [r for r in runs if r not in RUNS]
    if bad:
        sys.exit(f"unknown run(s) {bad}; choose from {RUNS}")
    if "ctgan" in runs and "auto" in (args.epochs, args.batch_size):
        sys.exit("ctgan needs integer --epochs and --batch-size ('auto' is CTAB-GAN+'s adaptive default)")

    import torch

    torch.set_num_threads(args.threads)
    from trust.synth import CTABGANPlus
    from trust.synth.evaluate import ml_utility
    from trust.synth.protocol import run_synth

    from _prepared import ctgan_frame, from_ctgan, load_prepared

    train, test, schema = load_prepared("adult")
    if args.train_rows is not None and args.train_rows < len(train):
        train = train.sample(n=args.train_rows, random_state=args.seed).reset_index(drop=True)
    unbounded = [c for c in schema.names if schema[c].kind != "categorical" and schema[c].bounds is None]
    if unbounded:
        sys.exit(f"the Adult schema declares no bounds for {unbounded}; the registry should declare them")
    load_start = os.getloadavg()
    results: dict[str, dict] = {}
    trtr = None
    for run in runs:
        t = time.perf_counter()
        if run == "ctgan":
            from ctgan import CTGAN

            cdf, discrete = ctgan_frame(train, schema)
            model = CTGAN(epochs=args.epochs, batch_size=args.batch_size, enable_gpu=False)
            model.set_random_state(args.seed)
            model.fit(cdf, discrete)
            syn = from_ctgan(model.sample(len(train)), discrete)
            extra = {}
        else:
            kw = {"ncritic5": {"n_critic": 5}, "pac10": {"pac": 10}}.get(run, {})
            eps = float(run[3:]) if run.startswith("eps") else None
            res = run_synth(train, schema, epsilon=eps, synthetic_rows=len(train), random_state=args.seed,
                            model={"epochs": args.epochs, "batch_size": args.batch_size, "delta": args.delta,
                                   "accountant": args.accountant, **overrides, **kw}, verbose=False)
            model, syn = res.model, res.synthetic
            rep = model.privacy_report()
            extra = {"epsilon": rep["epsilon"], "critic_noise_multiplier": rep["noise_multiplier"],
                     "batch_size": model.batch_size_,
                     "epochs": model.epochs_, "steps": model.steps_}
        fit_s = time.perf_counter() - t
        u = ml_utility(train, test, syn, schema, random_state=args.seed,
                       trtr=None if trtr is None else {k[5:]: v for k, v in trtr.items()})
        trtr = {k: v for k, v in u.items() if k.startswith("trtr.")}
        results[run] = {"tstr_hgb_auc": u["tstr.hgb.auc"], "tstr_linear_auc": u["tstr.linear.auc"],
                        "trtr_hgb_auc": u["trtr.hgb.auc"], "trtr_linear_auc": u["trtr.linear.auc"],
                        "fit_seconds": fit_s, **extra}
        print(run, json.dumps(results[run]), flush=True)
    args.out.write_text(json.dumps({"epochs": args.epochs, "batch_size": args.batch_size, "delta": args.delta,
                                    "train_rows": len(train),
                                    "model_params": {k: v for k, v in CTABGANPlus(**overrides).get_params().items()
                                                     if k in MODEL_ARGS.values()},
                                    "accountant": args.accountant, "seed": args.seed, "results": results,
                                    "load_average": {"start": load_start, "end": os.getloadavg()}}, indent=1))
    print("\n| run | TSTR AUC (HGB) | TSTR AUC (logistic) | total epsilon | fit (s) |\n|---|---|---|---|---|")
    for run, r in results.items():
        eps = f"{r['epsilon']:.3g}" if r.get("epsilon") else "-"
        print(f"| {run} | {r['tstr_hgb_auc']:.3f} | {r['tstr_linear_auc']:.3f} | {eps} | {r['fit_seconds']:.0f} |")
    r0 = next(iter(results.values()))
    print(f"| train on real | {r0['trtr_hgb_auc']:.3f} | {r0['trtr_linear_auc']:.3f} | - | - |")


if __name__ == "__main__":
    main()
