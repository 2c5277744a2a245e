"""Stages `synth` and `synth_marginal` (DVC matrices over epsilon): fit a synthesizer on the prepared train split
and release a synthetic table. ``python pipelines/synth.py X ENGINE`` (stage `synth_marginal`, ENGINE one of
``synth_marginal.engines``: ``mst``, ``aim``) runs the marginal engine at the same member through the same protocol
(``run_synth(engine=ENGINE)``, settings ``synth_marginal.model``) into ``outputs/synth/ENGINE_eps_X/`` and
``evidence/synth_ENGINE_eps_X.json``.

``python pipelines/synth.py X`` runs member ``X`` of ``synth.epsilons`` (an epsilon, or ``none`` for no DP) through
:func:`trust.synth.protocol.run_synth` and publishes its :class:`~trust.synth.protocol.SynthResult`:
``outputs/synth/eps_X/release/`` (DP: the synthetic table, ``model/`` and ``ledger.json``, listed in the folder's
manifest; nothing else in it) or ``outputs/synth/eps_X/baseline/`` (``none``: the same files, never released),
``outputs/synth/eps_X/losses.png``, ``metrics/synth_eps_X.json`` and ``evidence/synth_eps_X.json`` (kind ``synth``),
and an MLflow run. The model's settings are the sub-dict ``synth.model``, checked by the library. The schema is
the dataset's declared one from the registry (``synth.bounds`` overrides a bound, recorded as the user's
declaration). Before training the member's epsilon alone is checked against
``policy.max_total_epsilon_per_dataset``. DP noise comes from fresh OS entropy: ``synth.seed`` never reaches it.
"""

from __future__ import annotations

import sys

from _stage import ROOT, Stage, fingerprint, load_params, main, matrix_member, param, relpath

from trust.data import dataset_schema, read_table
from trust.errors import ConfigError, DataError


@main
def run() -> None:
    params, argv = load_params(), list(sys.argv)
    engine = argv.pop(2) if len(argv) == 3 else "ctabgan"
    member = matrix_member(argv, param(params, "synth.epsilons", list), what="epsilon", params_key="synth.epsilons")
    eps = None if member == "none" else float(member)
    if eps is not None and not eps > 0:
        raise ConfigError(f"member epsilon={eps:g} must be > 0 (or 'none' for no DP)")
    if engine != "ctabgan" and engine not in param(params, "synth_marginal.engines", list):
        raise ConfigError(f"engine '{engine}' is not in synth_marginal.engines; add it to params.yaml")
    name = f"eps_{member}" if engine == "ctabgan" else f"{engine}_eps_{member}"
    stage = Stage(f"synth_{name}", params)
    stage.out_dir = ROOT / "outputs" / "synth" / name
    p = stage.params
    dataset = param(p, "synth.dataset", str)
    block = "synth.model" if engine == "ctabgan" else "synth_marginal.model"
    model = dict(param(p, block, dict, default={}, nullable=True) or {})
    src = ROOT / "outputs" / "prepare" / dataset
    if not (src / "train.parquet").exists():
        raise DataError(f"'{relpath(src)}' has no train.parquet; run the prepare stage with '{dataset}' in "
                        "prepare.datasets")
    from trust.privacy import PrivacyLedger
    from trust.synth.protocol import declared_bounds, model_delta, public_metadata, run_synth

    if eps is not None:   # the budget gate, before any training: this member's epsilon alone must fit the policy
        PrivacyLedger().check_budget(dataset, eps, max_epsilon=param(p, "policy.max_total_epsilon_per_dataset", float),
                                     max_delta=param(p, "policy.max_delta", float) or 1.0,
                                     delta=model_delta(engine, model))
    schema, overrides = declared_bounds(dataset_schema(dataset), param(p, "synth.bounds", dict, default={},
                                                                       nullable=True))
    train = read_table(src / "train.parquet")
    import torch

    torch.set_num_threads(param(p, "synth.threads", int, low=1))
    prints = {f"{dataset}/train": fingerprint(train)}
    with stage.run({**p["synth"], "member": member, "engine": engine, "model": model}, prints):
        result = run_synth(train, schema, epsilon=eps, model=model, synthetic_rows=param(p, "synth.synthetic_rows", int,
                                                                                       low=1),
                           dataset=dataset, release_name=f"{stage.name}/{dataset}",
                           max_train_rows=param(p, "synth.max_train_rows", int, low=50, nullable=True),
                           public_metadata=public_metadata(schema, overrides), artifact=relpath(stage.out_dir),
                           random_state=param(p, "synth.seed", int, low=0), engine=engine)
        for line in result.warnings():
            print(line, file=sys.stderr)
        stage.publish(result, data=[
            {"name": f"{dataset}/train", "fingerprint": prints[f"{dataset}/train"], "rows": len(train), "role": "train"},
            {"name": f"synth/{name}/{result.release_dir(stage.out_dir).name}/synthetic",   # its path in outputs/
             "fingerprint": fingerprint(result.synthetic), "rows": len(result.synthetic), "role": "synthetic"}])


if __name__ == "__main__":
    run()
