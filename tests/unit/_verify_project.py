"""A small signed project for the verifier's tests, written by the real writers in a second or two.

Stages (as their evidence says): ``prepare`` (a private 40-row table, its keyed fingerprint, a declared
non-DP use), ``synth_eps_1`` (a DP-SGD entry by the Opacus accountant and a discrete-Laplace histogram
entry; a relative gate; a release folder with its manifest) and ``aggregate`` (a Laplace label-DP entry,
an absolute gate, a release folder). Then the report, rendered and signed by ``write_reports``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

LINEAGE_KEY = bytes(range(32))
POLICY = {"max_total_epsilon_per_dataset": 30.0, "max_delta": 1e-5, "require_secure_noise": True,
          "max_mia_auc": 0.6, "min_tstr_ratio": 0.8,
          "internal_non_dp": [{"dataset": "toy", "stage": "prepare", "purpose": "split counts"}]}
SIGMA, Q, STEPS, DELTA = 1.1, 0.05, 60, 1e-5


def private_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(18, 90, 40), "income": rng.normal(5e4, 1e4, 40).round(2),
                         "y": rng.choice(["no", "yes"], 40)})


def _release(root: Path, folder: str, stage: str, ledger: list[str], files: dict[str, str]) -> None:
    from trust.data.release import write_release_manifest

    d = root / folder
    d.mkdir(parents=True)
    for name, text in files.items():
        (d / name).write_text(text)
    write_release_manifest(d, stage=stage, ledger=ledger)


def build(root: Path) -> Path:
    """Write the project under ``root`` (the signing key must already point outside it)."""
    from trust.data.hashing import keyed_fingerprint
    from trust.data.io import write_table
    from trust.evidence import Check, Evidence, gate, write_evidence
    from trust.privacy import LedgerEntry
    from trust.privacy.dpsgd import DPSGDPlan
    from trust.report.project import build_project_report, write_reports

    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump({"policy": POLICY}))
    table = private_table()
    write_table(table, root / "outputs/prepare/toy/train.parquet")
    data = [{"name": "toy/train", "fingerprint": keyed_fingerprint(table, LINEAGE_KEY), "rows": len(table),
             "role": "train"}]
    prep = Evidence("data", checks=(Check("rows", float(len(table)), 10.0, ">="),), data=tuple(data),
                    non_dp=({"dataset": "toy", "artifact": "evidence/prepare.json", "what": "split counts"},))
    write_evidence(root / "evidence/prepare.json", prep.document("prepare"))

    plan = DPSGDPlan(SIGMA, Q, STEPS, 2, DELTA, "rdp", 1.0)
    critic = plan.ledger_entry("synth/eps_1/critic", dataset="toy", noise_source="os-entropy", notes="critic")
    hist = LedgerEntry("synth/eps_1/histograms", "discrete Laplace (per-column histograms)", 0.3, 0.0, "basic",
                       3 / 0.3, 1.0, 3, None, "record", "add/remove", dataset="toy")
    _release(root, "outputs/synth/eps_1/release", "synth_eps_1", [critic.release, hist.release],
             {"synthetic.csv": "age,income,y\n33,41000.5,no\n61,52000.25,yes\n", "ledger.json": "[]\n"})
    synth = Evidence("synth", checks=(gate("MIA AUC", 0.55, POLICY, "max_mia_auc"),
                                      gate("TSTR AUC", 0.72, POLICY, "min_tstr_ratio", reference="train-on-real",
                                           reference_figure=0.8)),
                     metrics={"mia_auc": 0.55, "tstr_auc": 0.72}, ledger=(critic.to_dict(), hist.to_dict()),
                     data=tuple(data))
    write_evidence(root / "evidence/synth_eps_1.json", synth.document("synth_eps_1"))

    bags = LedgerEntry("aggregate/toy/bag-means", "Laplace (clipped bag means)", 1.0, 0.0, "closed-form", 1.0, 1.0, 1,
                       2.5, "label", "replace-one", dataset="toy")
    _release(root, "outputs/aggregate/release", "aggregate", [bags.release], {"bag_means.csv": "bag,mean\n0,0.1\n"})
    agg = Evidence("aggregate", checks=(gate("MIA AUC of the bag model", 0.5, POLICY, "max_mia_auc"),),
                   ledger=(bags.to_dict(),), data=tuple(data))
    write_evidence(root / "evidence/aggregate.json", agg.document("aggregate"))
    model = build_project_report(root, git_commit="test")
    write_reports(model, root / "reports", root=root)
    return root
