"""The report's Model updates section: the methods beside the naive update and the floor; gates re-gated by policy."""

from __future__ import annotations

from trust.evidence import Evidence, gate
from trust.report import build_report
from trust.update.schema import DETAILS_SCHEMA

FIG = {"nfr": 0.05, "relative_nfr": 0.5, "pfr": 0.02, "old_model_accuracy": 0.9, "accuracy": 0.8,
       "old_class_accuracy": 0.8, "new_class_accuracy": 0.8}


def _doc(policy=None):
    details = {"dataset": "toy", "old_classes": [0, 1], "new_classes": [2, 3], "deployed": "mpt", "b_chosen": 2.0,
               "seed_floor_nfr": 0.07, "evaluated_on": "test rows", "settings": {}, "protocol": "p",
               "figures": {"naive": {**FIG, "nfr": 0.15}, "teacher": {**FIG, "nfr": 0.12}, "mpt": FIG},
               "curve": [{"method": "mpt", "b": 2.0, "val": FIG, "test": FIG}]}
    checks = (gate("NFR relative to naive", 0.05, policy, "max_nfr_ratio_to_naive", reference="naive update",
                   reference_figure=0.15),)
    return Evidence("update", checks=checks, details=details, details_schema=DETAILS_SCHEMA).document("update")


def _section(policy):
    model = build_report({"evidence/update.json": _doc()}, policy=policy)
    sec, = [s for s in model["sections"] if s["id"] == "model-updates"]
    return model, sec


def test_update_evidence_gets_a_table_of_methods_with_the_second_naive_update_and_the_seed_floor():
    _, sec = _section({"max_nfr_ratio_to_naive": 0.8})
    methods = next(b for b in sec["blocks"] if b["type"] == "table" and "Relative NFR" in b["columns"])
    assert [r[1] for r in methods["rows"]] == [0.15, 0.12, 0.05, 0.07]
    assert "deployed" in methods["rows"][2][0] and "Seed floor" in methods["rows"][3][0]


def test_the_flip_ratio_is_gated_by_the_current_policy():
    for threshold, status in ((0.5, "pass"), (0.2, "fail")):
        model, _ = _section({"max_nfr_ratio_to_naive": threshold})
        g, = [g for g in model["gates"] if g.get("policy_key") == "max_nfr_ratio_to_naive"]
        assert g["status"] == status
