"""Stage `calibrate` (a DVC matrix over ``calibrate.datasets``): the calibrators of one base model, the deployed
one chosen on validation, every method scored in distribution and under shift, the gates.

``python pipelines/calibrate.py DATASET`` loads the train stage's model and splits of DATASET and runs
:func:`trust.calibrate.protocol.run_calibrate` with the settings under ``calibrate.protocol`` (the library
checks them): every method fitted on the validation rows, the deployed calibrator chosen among the
candidates by the cross-validated rule on those rows, all scored on the test rows and on shifted copies
(images / signals: the documented families and severities, noise held out; Adult: the test rows of
people aged ``calibrate.adult_shift_age`` and over, a covariate-shifted subgroup). Writes
``outputs/calibrate/DATASET/`` (``calibrator/``, ``reliability.png``, ``ece_vs_shift.png``),
``metrics/calibrate_DATASET.json`` and ``evidence/calibrate_DATASET.json`` (kind ``calibrate``: the gates
``max_ece`` and ``max_ece_ratio_to_uncalibrated``, the stage check under shift).
"""

from __future__ import annotations

import inspect
import sys

import numpy as np
from _stage import ROOT, Stage, load_params, main, matrix_member, param
from _trained import Trained, load_trained

from trust.calibrate.experiments import EvalSet, shifted_sets
from trust.calibrate.protocol import run_calibrate
from trust.errors import ConfigError


def _test_sets(t: Trained, age_min: float, seed: int) -> dict[str, EvalSet]:
    te = t.test
    sets = {"in_distribution": EvalSet(t.X[te], t.y[te])}
    if t.kind != "table":
        return {**sets, **shifted_sets(t.X[te], t.y[te], t.kind, random_state=seed)}
    from trust.data import read_table

    src = ROOT / "outputs" / "prepare" / t.name
    ages = np.concatenate([read_table(src / f"{part}.parquet")["age"].to_numpy() for part in ("train", "test")])
    older = te[ages[te] >= age_min]
    if len(older):
        sets[f"age_{age_min:g}_plus"] = EvalSet(t.X[older], t.y[older], "covariate", 1.0, True)
    return sets


@main
def run() -> None:
    p = load_params()
    name = matrix_member(sys.argv, param(p, "calibrate.datasets", list), what="dataset", params_key="calibrate.datasets")
    stage = Stage(f"calibrate_{name}", p)
    stage.out_dir = ROOT / "outputs" / "calibrate" / name
    settings = param(p, "calibrate.protocol", dict)
    unknown = sorted(set(settings) - set(inspect.signature(run_calibrate).parameters) - {"val", "tests", "model"})
    if unknown:
        raise ConfigError(f"params.yaml: 'calibrate.protocol' has unknown setting(s) {unknown}; see run_calibrate")
    seed = param(p, "calibrate.seed", int, low=0)
    age_min = param(p, "calibrate.adult_shift_age", float)

    import torch

    torch.set_num_threads(param(p, "calibrate.threads", int, low=1))
    t = load_trained(p, name)
    with stage.run({"dataset": name, "seed": seed, "adult_shift_age": age_min, **settings}, t.fingerprints):
        result = run_calibrate(EvalSet(t.X[t.val], t.y[t.val]), _test_sets(t, age_min, seed), model=t.model,
                               **settings, dataset=name, private=t.kind == "table", random_state=seed, device="cpu")
        stage.publish(result, data=t.data())


if __name__ == "__main__":
    run()
