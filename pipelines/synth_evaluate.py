"""Stage `synth_evaluate`: utility, fidelity and privacy audits of every synthetic table the `synth` stage released.

Reads ``outputs/prepare/<dataset>/{train,test,holdout}.parquet`` + ``schema.json`` and, for each member ``X`` of
``synth.epsilons``, ``outputs/synth/eps_X/{release,baseline}/synthetic.parquet`` (CTAB-GAN+) and, per engine E of
``synth_marginal.engines``, ``outputs/synth/E_eps_X/...`` (the marginal engine, same audits); runs
:func:`trust.synth.protocol.run_synth_evaluate` and publishes its result: ``outputs/synth_evaluate/`` (results
JSON; plots of TSTR AUC with the train-on-real line, DCR share and membership-inference AUC against epsilon),
``metrics/synth_evaluate.json`` and ``evidence/synth_evaluate.json`` (kind ``synth_evaluate``: per table the TSTR
gate relative to train-on-real, ``policy.min_tstr_ratio_to_real``, and the absolute audits ``max_dcr_share``,
``max_mia_auc``, ``max_exact_copies``), and an MLflow run. Every figure reads the real rows without DP: all of it
is audit trail, recorded under the evidence's ``non_dp``.
"""

from __future__ import annotations

import json

from _stage import ROOT, Stage, fingerprint, main, param, relpath

from trust.data import TableSchema, read_table
from trust.errors import DataError


def _table(member: str, engine: str):
    """``(name, table)`` of a member's synthetic table; the name is its path under ``outputs/`` (how the verifier
    finds it to recompute the keyed fingerprint)."""
    from trust.synth.protocol import BASELINE_DIR, RELEASE_DIR, TABLE_FILE

    folder = f"eps_{member}" if engine == "ctabgan" else f"{engine}_eps_{member}"
    path = ROOT / "outputs" / "synth" / folder / (BASELINE_DIR if member == "none" else RELEASE_DIR) / TABLE_FILE
    if not path.exists():
        raise DataError(f"'{relpath(path)}' is missing; run that member first (dvc repro synth synth_marginal)")
    return path.relative_to(ROOT / "outputs").with_suffix("").as_posix(), read_table(path)


@main
def run() -> None:
    stage = Stage("synth_evaluate")
    p = stage.params
    dataset = param(p, "synth_evaluate.dataset", str)
    prep = ROOT / "outputs" / "prepare" / dataset
    if not (prep / "schema.json").exists():
        raise DataError(f"'{relpath(prep)}/schema.json' is missing; add '{dataset}' to prepare.datasets and run "
                        "dvc repro prepare")
    schema = TableSchema.from_dict(json.loads((prep / "schema.json").read_text()))
    real = {part: read_table(prep / f"{part}.parquet") for part in ("train", "test", "holdout")}
    members = [str(m) for m in param(p, "synth.epsilons", list)]
    engines = {(f"eps_{m}" if e == "ctabgan" else f"{e}_eps_{m}"): (e, m) for e in
               ["ctabgan", *param(p, "synth_marginal.engines", list)] for m in members}
    named = {k: _table(m, e) for k, (e, m) in engines.items()}
    tables = {k: (None if engines[k][1] == "none" else float(engines[k][1]), t) for k, (_, t) in named.items()}
    prints = {f"{dataset}/{k}": fingerprint(v) for k, v in real.items()}
    prints.update({name: fingerprint(t) for name, t in named.values()})
    from trust.synth.protocol import run_synth_evaluate

    with stage.run(dict(p["synth_evaluate"]), prints):
        result = run_synth_evaluate(
            real["train"], real["test"], real["holdout"], tables, schema, dataset=dataset,
            max_train_rows=param(p, "synth_evaluate.max_train_rows", int, low=50, nullable=True),
            fidelity_rows=param(p, "synth_evaluate.fidelity_rows", int, low=50, nullable=True),
            privacy_rows=param(p, "synth_evaluate.privacy_rows", int, low=50, nullable=True),
            artifact=f"{relpath(stage.out_dir)}, evidence/synth_evaluate.json, metrics/synth_evaluate.json",
            random_state=param(p, "synth_evaluate.seed", int, low=0), progress=True,
            engines={k: e for k, (e, _) in engines.items()})
        data = [{"name": f"{dataset}/{k}", "fingerprint": prints[f"{dataset}/{k}"], "rows": len(v), "role": k}
                for k, v in real.items()]
        data += [{"name": name, "fingerprint": prints[name], "rows": len(t), "role": "synthetic"}
                 for name, t in named.values()]
        stage.publish(result, data=data)


if __name__ == "__main__":
    run()
