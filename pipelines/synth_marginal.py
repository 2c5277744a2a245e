"""Stage `synth_marginal` (a DVC matrix over epsilon): the marginal engine (MST or AIM) beside CTAB-GAN+.

``python pipelines/synth_marginal.py X`` fits ``trust.synth.MarginalSynthesizer`` at epsilon ``X`` (``none``: no DP)
on the prepared train split with the dataset's declared schema, and writes the release
``outputs/synth_marginal/<mechanism>_eps_X/{synthetic.parquet,model/}`` (``synthetic_rows`` rows, a declared
number), ``metrics/`` and ``evidence/synth_marginal_eps_X.json`` (kind ``synth``, its zCDP ledger entry). The
``evaluate_synth`` stage scores it beside CTAB-GAN+'s members. DP noise comes from fresh OS entropy.
"""

from __future__ import annotations

import sys

from _stage import ROOT, Stage, fingerprint, main, matrix_member, param, relpath

from trust.data import dataset_schema, read_table, write_table
from trust.errors import DataError
from trust.evidence import check
from trust.privacy import PrivacyLedger


@main
def run() -> None:
    stage0 = Stage("synth_marginal")
    p = stage0.params
    member = matrix_member(sys.argv, param(p, "synth_marginal.epsilons", list), what="epsilon",
                           params_key="synth_marginal.epsilons")
    eps = None if member == "none" else float(member)
    stage = Stage(f"synth_marginal_eps_{member}", p)
    dataset = param(p, "synth_marginal.dataset", str)
    settings = param(p, "synth_marginal.model", dict)
    mechanism = str(settings.get("mechanism", "mst"))
    n_synthetic = param(p, "synth_marginal.synthetic_rows", int, low=1)
    stage.out_dir = ROOT / "outputs" / "synth_marginal" / f"{mechanism}_eps_{member}"
    src = ROOT / "outputs" / "prepare" / dataset
    if not (src / "train.parquet").exists():
        raise DataError(f"'{relpath(src)}' has no train.parquet; run the prepare stage with '{dataset}'")
    if eps is not None:   # this member's epsilon alone must fit the policy, before any row is read
        PrivacyLedger().check_budget(dataset, eps, max_epsilon=param(p, "policy.max_total_epsilon_per_dataset", float),
                                     max_delta=param(p, "policy.max_delta", float) or 1.0,
                                     delta=float(settings.get("delta", 1e-5)))
    train = read_table(src / "train.parquet")
    schema = dataset_schema(dataset)   # declared: written out from the dataset's documentation, no row read
    from trust.synth.marginal import MarginalSynthesizer

    model = MarginalSynthesizer(**{**settings, "epsilon": eps, "dataset_name": dataset,
                                   "release_name": f"{stage.name}/{dataset}"})
    prints = {f"{dataset}/train": fingerprint(train)}
    with stage.run({**p["synth_marginal"], "member": member}, prints):
        model.fit(train, schema)
        synthetic = model.sample(n_synthetic)
        model.save(stage.out_dir / "model")
        write_table(synthetic, stage.out_dir / "synthetic.parquet")
        rep = model.privacy_report()
        checks = [check("synthetic rows equal the declared synth_marginal.synthetic_rows", float(len(synthetic)),
                        float(n_synthetic), "==")]
        if rep["dp"]:
            checks.append(check("total epsilon within the configured target", rep["epsilon"], eps * 1.0001, "<="))
        stage.finish(
            kind="synth", title=f"{mechanism.upper()} synthesis (marginal engine), epsilon {member}",
            metrics={"epsilon": rep["epsilon"], "delta": rep["delta"], "rho": rep["rho"],
                     "synthetic_rows": len(synthetic)},
            checks=checks, ledger=rep["entries"],
            data=[{"name": f"{dataset}/train", "fingerprint": prints[f"{dataset}/train"], "role": "train"},
                  {"name": f"synth_marginal/{mechanism}_eps_{member}", "fingerprint": fingerprint(synthetic),
                   "rows": len(synthetic), "role": "synthetic"}],
            non_dp=[] if rep["dp"] else [{"dataset": dataset, "artifact": relpath(stage.out_dir),
                                          "what": f"{mechanism.upper()} fitted WITHOUT differential privacy"}],
            details={"dp": rep["dp"], "engine": mechanism, "reason": rep["reason"], "guarantee": rep["sentences"],
                     "epsilon_target": eps, "dataset": dataset, "spends": len(rep["spends"]),
                     "release": [relpath(stage.out_dir / "synthetic.parquet"), relpath(stage.out_dir / "model"),
                                 "the ledger entry"],
                     "not_covered": ["the declared schema and settings (public)", "floating-point Gaussian and "
                                     "Gumbel samplers (Mironov 2012 not mitigated)"]})


if __name__ == "__main__":
    run()
