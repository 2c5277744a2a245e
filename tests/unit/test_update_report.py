"""The report's Model updates section: the methods table beside the floor, the max_nfr gate re-gated by policy."""

from __future__ import annotations

from trust.report import build_report
from trust.evidence import check, make_evidence

FIG = {"nfr": 0.05, "relative_nfr": 0.5, "pfr": 0.02, "accuracy": 0.8, "old_class_accuracy": 0.8,
       "new_class_accuracy": 0.8}


def _doc():
    details = {"figures": {"naive": {**FIG, "nfr": 0.15}, "mpt": FIG}, "seed_floor_nfr": 0.07, "b_chosen": 2.0,
               "old_classes": [0, 1], "new_classes": [2, 3],
               "curve": [{"method": "mpt", "b": 2.0, "val": FIG, "test": FIG}]}
    return make_evidence("margin_update", "update", metrics={"mpt.nfr": 0.05}, details=details,
                         checks=[check("NFR of the deployed update", 0.05, 0.02, "<=", policy_key="max_nfr")])


def _section(policy):
    model = build_report({"evidence/margin_update.json": _doc()}, policy=policy)
    sec, = [s for s in model["sections"] if s["id"] == "model-updates"]
    return model, sec


def test_update_evidence_gets_a_table_of_methods_with_the_seed_floor():
    _, sec = _section({"max_nfr": 0.1})
    methods = next(b for b in sec["blocks"] if b["type"] == "table" and b["columns"][0] == "Method"
                   and "Relative NFR" in b["columns"])
    assert [r[1] for r in methods["rows"]] == [0.15, 0.05, 0.07]


def test_the_deployed_nfr_is_gated_by_the_current_policy():
    for threshold, status in ((0.1, "pass"), (0.02, "fail")):
        model, _ = _section({"max_nfr": threshold})
        gate, = [g for g in model["gates"] if g.get("policy_key") == "max_nfr"]
        assert gate["status"] == status
