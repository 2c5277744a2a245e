"""A realistic, schema-valid set of evidence documents, for trying the report and writing sections.

The figures are illustrative (shaped like the pipeline's stages: ``prepare``,
``synth_eps_{1,3,10,none}``, ``synth_evaluate``, ``aggregate``), not measured. Tests use
them to exercise every section without running the pipeline.

>>> from trust.report.examples import example_evidence, EXAMPLE_POLICY
>>> from trust.report import build_report
>>> model = build_report(example_evidence(), policy=EXAMPLE_POLICY)
"""

from __future__ import annotations

import hashlib
from typing import Any

from trust.evidence import Check, check, make_evidence

EXAMPLE_POLICY: dict[str, Any] = {
    "max_total_epsilon_per_dataset": 30.0,
    "max_delta": 1.0e-5,
    "min_tstr_ratio_to_real": 0.75,
    "max_dcr_share": 0.60,
    "max_mia_auc": 0.60,
    "max_exact_copies": 0.0,
    "max_aggregate_mse_ratio": 2.0,
    "max_ece": 0.05,
    "max_nfr_ratio_to_naive": 0.8,
    "max_forget_accuracy": 0.05,
    "require_secure_noise": True,
    "internal_non_dp": [
        {"dataset": "adult", "stage": "prepare", "purpose": "split and missing-value counts"},
        {"dataset": "adult", "stage": "synth_eps_none", "purpose": "non-private baseline, never released"},
        {"dataset": "adult", "stage": "synth_evaluate", "purpose": "utility and privacy audits for the auditor"},
    ],
}

_SHA = {"adult/train": "hmac-sha256:a679cd7502befb3715ea4a1a683214561dda6edf7618aad2b07095169d896647",
        "adult/test": "hmac-sha256:79984b208c94e72666de7376ecbfc669f7c38ac3260d3235e4db1c8ba10c5630",
        "adult/holdout": "hmac-sha256:53f30b74779d32391a82285d9824ba501c505eb12358f3f7fff9878b92a44cf5",
        "adult": "hmac-sha256:1d3961d4040ae1e786a16c8bbdcdd867347c2bd67cc629dfbda4ecfa8cb351a7"}
_SRC = "UCI Adult / Census Income (Becker & Kohavi 1996, doi:10.24432/C5XW20)"


def _dp_sgd(eps_target: float, eps: float, noise: float, steps: int) -> dict[str, Any]:
    return {"release": f"synth_eps_{eps_target:g}/critic", "mechanism": "DP-SGD (Poisson subsampled Gaussian)",
            "epsilon": eps, "delta": 1e-5, "accountant": "rdp", "noise_multiplier": noise, "sample_rate": 0.0128,
            "steps": steps, "max_grad_norm": 1.0, "unit_of_privacy": "record", "adjacency": "add/remove",
            "dataset": "adult", "noise_source": "os-entropy", "composition": "sequential",
            "notes": "covers the critic's access to training rows; the generator reads none (post-processing)"}


def _hist(eps_target: float) -> dict[str, Any]:
    return {"release": f"synth_eps_{eps_target:g}/category_counts", "mechanism": "Laplace histogram",
            "epsilon": round(0.05 * eps_target, 4), "delta": 0.0, "accountant": "closed-form",
            "noise_multiplier": round(1 / (0.05 * eps_target), 4), "sample_rate": 1.0, "steps": 1,
            "max_grad_norm": None, "unit_of_privacy": "record", "adjacency": "add/remove",
            "dataset": "adult", "noise_source": "os-entropy", "composition": "sequential", "notes": ""}


def example_evidence(policy_threshold_mia: float = 0.6) -> dict[str, dict[str, Any]]:
    """Evidence documents keyed ``evidence/<stage>.json``, every one schema-valid."""
    out: dict[str, dict[str, Any]] = {}
    out["evidence/prepare.json"] = make_evidence(
        "prepare", "data", title="Data preparation", params={"datasets": ["adult"], "seed": 0},
        data=[{"name": n, "fingerprint": h, "rows": r, "role": n.split("/")[-1] if "/" in n else "full", "source": _SRC,
               "licence": "CC BY 4.0"} for (n, h), r in zip(_SHA.items(), (19536, 6513, 6512, 32561))],
        checks=[check("adult: every row lands in exactly one split", 0.0, 0.0, "=="),
                check("adult: class balance kept across splits (max gap)", 8.8e-5, 0.01, "<=")],
        metrics={"adult.train_rows": 19536, "adult.missing_cells": 4262},
        non_dp=[{"dataset": "adult", "artifact": "evidence/prepare.json", "what": "split and missing-value counts"}],
        details={"adult": {"columns": 15, "target": "income", "problem_type": "classification",
                           "missing_by_column": {"workclass": 1836, "occupation": 1843, "native-country": 583}}},
        mlflow_run_id="98ce22fe5a064752ad2950c3d9fb14e9", git_commit="0123abc")
    for target, eps, noise, steps in ((1, 0.95, 1.9, 600), (3, 2.95, 0.95, 600), (10, 9.9, 0.62, 900), (None, 0, 0, 0)):
        stage = f"synth_eps_{target if target is not None else 'none'}"
        out[f"evidence/{stage}.json"] = make_evidence(
            stage, "synth", title=f"CTAB-GAN+ synthesis (epsilon {target if target is not None else 'none'})",
            params={"dataset": "adult", "epsilon": target, "epochs": 30, "batch_size": 250},
            data=[{"name": "adult/train", "fingerprint": _SHA["adult/train"], "rows": 19536, "role": "train"}],
            metrics={"final_generator_loss": 0.71, "final_critic_loss": -0.12, "epsilon_spent": eps or None},
            ledger=[] if target is None else [_dp_sgd(target, eps, noise, steps), _hist(target)],
            plots=[{"title": "Training loss", "path": f"outputs/{stage}/loss.png"}],
            non_dp=[] if target is not None else [{"dataset": "adult", "artifact": f"outputs/{stage}",
                                                   "what": "CTAB-GAN+ trained without DP"}],
            details={"release": [f"outputs/{stage}/synthetic.parquet", f"outputs/{stage}/model"]},
            mlflow_run_id=hashlib.md5(stage.encode()).hexdigest(), git_commit="0123abc")
    variants = {"eps_1": (0.74, 0.51, 0.52, 0, 0.93), "eps_3": (0.78, 0.52, 0.53, 0, 0.91),
                "eps_10": (0.81, 0.53, 0.55, 0, 0.90), "none": (0.84, 0.55, 0.58, 0, 0.87)}
    metrics: dict[str, float] = {"real.trtr_auc": 0.90}
    checks = []
    for v, (auc, dcr, mia, copies, nndr) in variants.items():
        metrics.update({f"{v}.tstr_auc": auc, f"{v}.fidelity_column_shapes": 0.86, f"{v}.fidelity_column_pairs": 0.79,
                        f"{v}.dcr_share": dcr, f"{v}.nndr_p5": nndr, f"{v}.exact_copies": copies, f"{v}.mia_auc": mia})
        checks += [Check.relative(f"{v}: TSTR ROC AUC", auc, metrics["real.trtr_auc"], reference="train-on-real",
                                  threshold=0.75, comparator=">=", policy_key="min_tstr_ratio_to_real",
                                  description="train on synthetic, test on real, over train on real").to_dict(),
                   check(f"{v}: DCR share", dcr, 0.6, "<=", policy_key="max_dcr_share"),
                   check(f"{v}: membership-inference AUC", mia, policy_threshold_mia, "<=", policy_key="max_mia_auc"),
                   check(f"{v}: exact copies of training rows", copies, 0, "<=", policy_key="max_exact_copies")]
    out["evidence/synth_evaluate.json"] = make_evidence(
        "synth_evaluate", "synth_evaluate", title="Synthetic data evaluation", params={"dataset": "adult"},
        data=[{"name": "adult/test", "fingerprint": _SHA["adult/test"], "rows": 6513, "role": "test"},
              {"name": "adult/holdout", "fingerprint": _SHA["adult/holdout"], "rows": 6512, "role": "holdout"}],
        checks=checks, metrics=metrics,
        plots=[{"title": "Utility vs epsilon", "path": "outputs/synth_evaluate/utility_vs_epsilon.png"}],
        details={"attack": "shadow-free distance-based MIA", "reference": "holdout split"},
        non_dp=[{"dataset": "adult", "artifact": "evidence/synth_evaluate.json",
                 "what": "TRTR baseline and distance audits on the real rows"}],
        mlflow_run_id="5c1d0e2f3a4b5c6d7e8f9a0b1c2d3e4f", git_commit="0123abc")
    out["evidence/aggregate.json"] = make_evidence(
        "aggregate", "aggregate", title="Learning from aggregate bags", params={"bag_sizes": [1, 8, 32, 128]},
        data=[{"name": "adult/train", "fingerprint": _SHA["adult/train"], "rows": 19536, "role": "train"}],
        checks=[check("instance-level MSE ratio at the chosen bag size", 1.3, 2.0, "<=",
                      policy_key="max_aggregate_mse_ratio")],
        metrics={f"bag_{k}.{m}": v for k, r in ((1, 0.101), (8, 0.118), (32, 0.129), (128, 0.151))
                 for m, v in (("risk", r), ("label_dp_risk", r + 0.01))},
        ledger=[{"release": "aggregate/bag_responses", "mechanism": "Laplace (bag means)", "epsilon": 1.0,
                 "delta": 0.0, "accountant": "closed-form", "noise_multiplier": 0.125, "sample_rate": 1.0, "steps": 1,
                 "max_grad_norm": 1.0, "unit_of_privacy": "label", "adjacency": "replace-one",
                 "dataset": "adult", "noise_source": "os-entropy", "composition": "sequential",
                 "notes": "features and bag membership are public"}],
        plots=[{"title": "Risk vs bag size", "path": "outputs/aggregate/risk_vs_bag_size.png"}],
        mlflow_run_id="aa11bb22cc33dd44ee55ff6677889900", git_commit="0123abc")
    return out


__all__ = ["EXAMPLE_POLICY", "example_evidence", "example_png"]


def example_png(width: int = 240, height: int = 140) -> bytes:
    """A small, valid PNG (a colour gradient) to stand in for a stage's plot in examples and tests."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 160))
                   for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
