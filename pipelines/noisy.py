"""Stage `noisy` (a DVC matrix over settings of imbalance and noise): RCAL beside cross-entropy.

``python pipelines/noisy.py SETTING`` (a name in ``noisy.settings``): the setting's
dataset (public: digits, MNIST-1D) is read with the train stage's split (``outputs/train/<dataset>/
splits.npz``); its train + val rows are the pool a long-tailed, noisily labelled training set is drawn
from (:func:`trust.noisy.protocol.noisy_long_tail`), its test rows the balanced clean test set. Each method
of ``noisy.stage_methods`` (settings under ``noisy.datasets.<dataset>.methods``) is trained on
the noisy set and scored: accuracy overall, on head / medium / tail classes, ECE. Writes:

* ``outputs/noisy/SETTING/``: ``per_class_accuracy.png``, ``recovered_means.png``, ``results.json``;
* ``metrics/noisy_SETTING.json``: ``<method>.accuracy|head|medium|tail|ece``;
* ``evidence/noisy_SETTING.json`` (kind ``noisy``): stage checks of RCAL against cross-entropy.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
from _stage import ROOT, Stage, fingerprint, main, param, relpath, save_figure

from trust.data import dataset_info, load_array_dataset
from trust.data.io import atomic_write_json
from trust.errors import ConfigError
from trust.noisy.plots import plot_per_class_accuracy, plot_recovered_means
from trust.noisy.protocol import run_setting
from trust.evidence import check


@main
def run() -> None:
    if len(sys.argv) != 2:
        raise ConfigError("usage: python pipelines/noisy.py SETTING (one of noisy.settings in params.yaml)")
    name = sys.argv[1]
    stage = Stage(f"noisy_{name}")
    stage.out_dir = ROOT / "outputs" / "noisy" / name
    p = stage.params
    if name not in param(p, "noisy.settings", list):
        raise ConfigError(f"setting '{name}' is not in noisy.settings; add it to params.yaml or pick one listed")
    setup = param(p, f"noisy.setups.{name}", dict)
    dataset = param(p, f"noisy.setups.{name}.dataset", str, choices=("digits", "mnist1d"))
    ratio = param(p, f"noisy.setups.{name}.imbalance_ratio", float, low=1.0)
    rate = param(p, f"noisy.setups.{name}.noise_rate", float)
    kind = param(p, f"noisy.setups.{name}.noise_kind", str)
    seed = param(p, "noisy.seed", int, low=0)
    threads = param(p, "noisy.threads", int, low=1)
    network = param(p, f"noisy.datasets.{dataset}.network", str)
    all_methods = param(p, f"noisy.datasets.{dataset}.methods", dict)
    names = param(p, "noisy.stage_methods", list, choices=list(all_methods))
    if "ce" not in names or "rcal" not in names:
        raise ConfigError("noisy.stage_methods must include 'ce' and 'rcal' (the stage checks one against the other)")
    methods = {m: all_methods[m] or {} for m in names}

    import torch

    torch.set_num_threads(threads)
    ds = load_array_dataset(dataset)
    with np.load(ROOT / "outputs" / "train" / dataset / "splits.npz") as z:
        pool, test = np.sort(np.concatenate([z["train"], z["val"]])), z["test"]
    info = dataset_info(dataset)
    fp = {dataset: fingerprint(pd.DataFrame(ds.X.reshape(len(ds.X), -1)).assign(label=ds.y))}
    with stage.run({"setting": name, **setup, "seed": seed, "network": network, "methods": methods}, fp):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = run_setting(ds.X[pool], ds.y[pool], ds.X[test], ds.y[test], network=network, imbalance_ratio=ratio,
                            noise_rate=rate, noise_kind=kind, methods=methods, seed=seed)
        figs = r["methods"]
        out = stage.out_dir
        out.mkdir(parents=True, exist_ok=True)
        title = f"{dataset}, imbalance {ratio:g}, {kind} noise {rate:g}"
        plots = [{"title": f"{title}: per-class test accuracy", "path": relpath(save_figure(
                     plot_per_class_accuracy({m: f["per_class"] for m, f in figs.items()}, r["counts"], title),
                     out / "per_class_accuracy.png"))}]
        rcal = r["models"]["rcal"]
        X_train, y_noisy, y_clean = r["train"]
        plots.append({"title": f"{title}: recovered vs true class means (PCA of the contrastive representations)",
                      "path": relpath(save_figure(plot_recovered_means(rcal.contrastive_embed(X_train), y_clean, y_noisy,
                                                                       rcal.class_means_, title),
                                                  out / "recovered_means.png"))})
        metrics = {f"{m}.{k}": f[k] for m, f in figs.items() for k in ("accuracy", "head", "medium", "tail", "ece")}
        gain = {g: figs["rcal"][g] - figs["ce"][g] for g in ("accuracy", "head", "tail")}
        checks = [
            check(f"{name}: RCAL accuracy above cross-entropy", figs["rcal"]["accuracy"], figs["ce"]["accuracy"], ">",
                  description="test accuracy on the balanced clean test set, RCAL vs cross-entropy trained on the same "
                              "noisy long-tailed set (one seed; the 3-seed protocol is benchmarks/noisy.py)"),
            check(f"{name}: RCAL's gain over cross-entropy larger on tail than on head classes", gain["tail"],
                  gain["head"], ">", description="tail-class minus head-class accuracy gain of RCAL over cross-entropy"),
        ]
        details = {"setting": setup, "noisy_share": r["noisy_share"], "clean_counts": r["counts"],
                   "groups": r["groups"], "gain_over_ce": gain,
                   "per_class": {m: f["per_class"] for m, f in figs.items()},
                   "seconds": {m: f["seconds"] for m, f in figs.items()},
                   "rcal": {"lof_kept_per_class": rcal.distributions_.counts.tolist(),
                            "borrowed_from": {str(k): v for k, v in rcal.distributions_.borrowed_from.items()},
                            "fallbacks": rcal.distributions_.fallbacks, "sampled": rcal.n_sampled_},
                   "warnings": sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)})[:10]}
        atomic_write_json(out / "results.json", {"metrics": metrics, **details}, finite=True)
        data = [{"name": dataset, "fingerprint": fp[dataset], "role": "input", "source": info.source,
                 "licence": info.licence}]
        stage.finish(kind="noisy", title=f"Noisy labels: {title}", metrics=metrics, checks=checks, data=data,
                     plots=plots, details=details)


if __name__ == "__main__":
    run()
