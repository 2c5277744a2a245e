"""Label-Agnostic Forgetting: do its library defaults finish within a retrain and keep the retained classes? (issue 23)

A new user's case: a few thousand 28x28 images, a CNN trained with ``trust models train``'s defaults
(``NeuralClassifier("cnn")``: 20 epochs, Adam 1e-3, batch 128), one class forgotten with
``LabelAgnosticForgetting()`` as constructed with no settings. No 28x28 set ships with the project and
none may be downloaded, so the images are sklearn's 8x8 digits upsampled to 28x28 (bilinear) plus
``--copies - 1`` copies shifted by up to 2 pixels (3,594 images at ``--copies 2``), split 80 / 20.

For each ``--variants`` (``defaults``: the library's current defaults; ``paper``: the public code's small-CNN
settings with cycled forget batches, the defaults before issue 23; ``stage``: ``params.yaml``'s
``unlearn_laf.laf``): one :func:`trust.unlearn.run_unlearn` (``method="laf"``, no certificate: this benchmark
measures time and accuracy, the certificate is ``benchmarks/unlearn_certificate.py``'s), timed against the
same recipe retrained without the class (:func:`trust.unlearn.protocol.retrain`); figures: seconds and their
ratio to retraining, held-out accuracy on the forgotten and on the retained classes of LAF and LAF+R (5
labelled rows per class), beside the retrained and the original model's.

Run:  OMP_NUM_THREADS=1 nice .venv/bin/python -W ignore benchmarks/unlearn_laf.py [--variants defaults paper]
      [--forget-class 0] [--copies 2] [--seed 0]
Writes ``benchmarks/results/unlearn_laf_defaults.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trust.data import load_array_dataset  # noqa: E402
from trust.models import NeuralClassifier  # noqa: E402
from trust.unlearn import UnlearnInputs, run_unlearn  # noqa: E402
from trust.unlearn.protocol import retrain  # noqa: E402

PAPER = dict(epochs=20, lr=5e-5, align_lr=1e-4, tau=5.0, batch_size=32, cycle_forget=True)


def images28(copies: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's digits upsampled to 28x28 uint8, plus shifted copies (module docstring)."""
    from scipy.ndimage import shift, zoom

    ds = load_array_dataset("digits")
    rng = np.random.default_rng(seed)
    base = np.stack([zoom(im.astype(float), 3.5, order=1) for im in ds.X])          # (1797, 28, 28)
    sets = [base] + [np.stack([shift(im, rng.integers(-2, 3, size=2), order=0) for im in base])
                     for _ in range(copies - 1)]
    X = (np.clip(np.concatenate(sets), 0, 16) / 16.0 * 255).astype(np.uint8)
    return X, np.concatenate([ds.y] * copies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", default=["defaults", "paper"], choices=["defaults", "paper", "stage"])
    ap.add_argument("--try", dest="extra", nargs="*", default=[], metavar="NAME=JSON",
                    help='more variants, e.g. strong_align=\'{"align_lr": 4e-3}\' (LabelAgnosticForgetting settings)')
    ap.add_argument("--forget-class", type=int, default=0)
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    importlib.import_module("torch._dynamo")  # one-off import cost kept out of the timings
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    X, y = images28(args.copies, args.seed)
    idx = np.random.default_rng(args.seed).permutation(len(y))
    tr, te = idx[: int(0.8 * len(y))], idx[int(0.8 * len(y)):]
    model = NeuralClassifier("cnn", n_classes=10, random_state=args.seed).fit(X[tr], y[tr])
    inputs = UnlearnInputs.for_class(model, X[tr], y[tr], args.forget_class, fingerprint="hmac-sha256:" + "0" * 64,
                                     name="digits upsampled to 28x28")
    ref, retrain_s = retrain(model, *inputs.retain)
    k = y[te] == args.forget_class

    def acc(m, rows):
        return float(np.mean(m.predict(X[te][rows]) == y[te][rows]))

    out = {"n_images": int(len(y)), "n_train": int(len(tr)), "retrain_seconds": retrain_s,
           "original": {"forget": acc(model, k), "retain": acc(model, ~k)},
           "retrained": {"forget": acc(ref, k), "retain": acc(ref, ~k)}}
    print(json.dumps(out), flush=True)
    variants = {"defaults": {}, "paper": PAPER, "stage": params["unlearn_laf"]["laf"]}
    extra = dict(item.split("=", 1) for item in args.extra)
    variants.update({name: json.loads(v) for name, v in extra.items()})
    for name in [*args.variants, *extra]:
        r = run_unlearn(inputs, method="laf", settings=variants[name], certified="LAF+R", repair_per_class=5,
                        random_state=args.seed, device="cpu")
        laf = r.others["LAF"]
        out[name] = {"seconds": r.seconds, "whole_fit_over_retrain": r.seconds["whole_fit"] / retrain_s,
                     "laf_r": {"forget": acc(r.model, k), "retain": acc(r.model, ~k)},
                     "steps_per_epoch": r.analysis["steps_per_epoch"]}
        out[name]["laf"] = {"forget": acc(laf, k), "retain": acc(laf, ~k)}
        print(name, json.dumps(out[name]), flush=True)
    dest = ROOT / "benchmarks" / "results" / "unlearn_laf_defaults.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
