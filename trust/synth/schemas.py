"""The JSON schemas of the synthesis evidence's ``details`` (re-exported by :mod:`trust.synth.report_section`).

Kept apart from the section so that the results (:mod:`trust.synth.protocol`) validate their details without
importing the report: the synthesis stages then do not depend on ``trust/report``.
"""

from __future__ import annotations

from typing import Any

_strings = {"type": "array", "items": {"type": "string"}}

#: ``details`` of a synthesis run's evidence (kind ``synth``)
SYNTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["dp", "guarantee", "epsilon_target", "dataset", "release", "schedule", "generator", "warnings",
                 "not_covered"],
    "properties": {
        "engine": {"enum": ["ctabgan", "mst", "aim"]},
        "engine_reason": {"type": "string"},
        "dp": {"type": "boolean"},
        "guarantee": _strings,
        "epsilon_target": {"type": ["number", "null"]},
        "dataset": {"type": "string"},
        "public_metadata": {"type": "object"},
        "release": _strings,
        "release_folder": {"type": "object", "required": ["folder", "files", "releasable"],
                           "properties": {"folder": {"enum": ["release", "baseline"]}, "files": _strings,
                                          "releasable": {"type": "boolean"}}},
        "fit_rows": {"type": "integer", "minimum": 0},
        "architecture": {"type": "string"},
        "schedule": {"type": "string"},
        "generator": {"type": "string"},
        "label_share": {"type": ["object", "null"], "required": ["labels", "synthetic", "released", "total_variation"]},
        "warnings": _strings,
        "not_covered": _strings,
    },
}

#: ``details`` of an evaluation's evidence (kind ``synth_evaluate``)
SYNTH_EVALUATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["dataset", "target", "problem_type", "members", "warnings", "undefined_metrics"],
    "properties": {
        "dataset": {"type": "string"},
        "target": {"type": "string"},
        "problem_type": {"enum": ["classification", "regression"]},
        "members": {"type": "object", "additionalProperties": {"type": ["number", "string"]}},
        "utility": {"type": "string"}, "fidelity": {"type": "string"}, "privacy": {"type": "string"},
        "seconds": {"type": "object", "additionalProperties": {"type": "number"}},
        "engines": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "side_by_side": {"type": "array", "items": {"type": "object", "required": ["member", "engine", "epsilon"]}},
        "undefined_metrics": _strings,
        "warnings": _strings,
    },
}


__all__ = ["SYNTH_SCHEMA", "SYNTH_EVALUATE_SCHEMA"]
