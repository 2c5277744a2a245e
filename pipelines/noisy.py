"""Stage `noisy` (a DVC matrix over ``noisy.settings``): RCAL beside cross-entropy on noisy long-tailed labels.

``python pipelines/noisy.py SETTING`` reads the setting's dataset (public: digits, MNIST-1D) with the train
stage's split (``_trained.load_trained``): its train + val rows are the pool a long-tailed, noisily labelled
training set is drawn from, its test rows the clean test set. :func:`trust.noisy.protocol.run_noisy` trains
each method of ``noisy.stage_methods`` (settings under ``noisy.datasets.<dataset>.methods``, checked by the
library) on the same noisy rows and scores it. Writes ``outputs/noisy/SETTING/`` (``rcal/``: the RCAL
model; ``per_class_accuracy.png``, ``recovered_means.png``), ``metrics/noisy_SETTING.json``
(``<method>.accuracy|head|medium|tail|ece``) and ``evidence/noisy_SETTING.json`` (kind ``noisy``: the gates
``min_noisy_accuracy_gain_over_ce`` and ``min_noisy_tail_gain_over_ce``, relative to cross-entropy).
"""

from __future__ import annotations

import sys

import numpy as np
from _stage import ROOT, Stage, load_params, main, matrix_member, param
from _trained import load_trained

from trust.errors import ConfigError
from trust.noisy.protocol import run_noisy


@main
def run() -> None:
    p = load_params()
    name = matrix_member(sys.argv, param(p, "noisy.settings", list), what="setting", params_key="noisy.settings")
    stage = Stage(f"noisy_{name}", p)
    stage.out_dir = ROOT / "outputs" / "noisy" / name
    setup = dict(param(p, f"noisy.setups.{name}", dict))
    dataset = setup.pop("dataset", None)
    if dataset not in param(p, "noisy.datasets", dict):
        raise ConfigError(f"params.yaml: 'noisy.setups.{name}.dataset' = {dataset!r} has no entry under noisy.datasets")
    network = param(p, f"noisy.datasets.{dataset}.network", str)
    all_methods = param(p, f"noisy.datasets.{dataset}.methods", dict)
    names = param(p, "noisy.stage_methods", list, choices=list(all_methods))
    methods = {m: all_methods[m] or {} for m in names}
    seed = param(p, "noisy.seed", int, low=0)

    import torch

    torch.set_num_threads(param(p, "noisy.threads", int, low=1))
    t = load_trained(p, dataset)
    pool = np.sort(np.concatenate([t.train, t.val]))
    with stage.run({"setting": name, "dataset": dataset, **setup, "seed": seed, "network": network,
                    "methods": methods}, t.fingerprints):
        result = run_noisy(t.X[pool], t.y[pool], t.X[t.test], t.y[t.test], methods=methods, network=network,
                           corrupt=setup, setting=name, dataset=dataset, random_state=seed, device="cpu")
        stage.publish(result, data=t.data())


if __name__ == "__main__":
    run()
