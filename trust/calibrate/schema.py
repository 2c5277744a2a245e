"""The JSON schema of the ``calibrate`` evidence's ``details`` (the writer is
:meth:`trust.calibrate.protocol.CalibrateResult.to_evidence`, the reader :mod:`trust.calibrate.report_section`).

Kept in a module of its own, beside the report section, so that the protocol (and so every stage and
command) validates its details without importing the report renderer.
"""

from __future__ import annotations

from typing import Any

_NUM = {"type": ["number", "null"]}
_INTERVAL = {"type": ["object", "null"], "required": ["value", "low", "high"],
             "properties": {"value": _NUM, "low": _NUM, "high": _NUM}, "additionalProperties": False}

CALIBRATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["dataset", "deployed", "deployed_label", "selection", "n_bins", "ece", "uncalibrated_ece", "methods",
                 "sets"],
    "properties": {
        "dataset": {"type": "string", "minLength": 1},
        "deployed": {"type": "string", "minLength": 1},
        "deployed_label": {"type": "string"},
        "selection": {
            "type": "object", "required": ["best", "rule", "n_folds", "scores"],
            "properties": {"best": {"type": "string"}, "rule": {"enum": ["nll", "ece"]},
                           "n_folds": {"type": "integer", "minimum": 2},
                           "scores": {"type": "object", "additionalProperties": _NUM},
                           "ece": {"type": "object", "additionalProperties": _NUM},
                           "uncalibrated": {"type": "object", "properties": {"ece": _NUM, "nll": _NUM},
                                            "additionalProperties": False}},
            "additionalProperties": False,
        },
        "n_bins": {"type": "integer", "minimum": 1},
        "ece": _INTERVAL,
        "uncalibrated_ece": _INTERVAL,
        "methods": {
            "type": "object",
            "additionalProperties": {
                "type": "object", "required": ["label", "in_distribution", "shifted", "held_out"],
                "properties": {"label": {"type": "string"},
                               "in_distribution": {"type": "object", "additionalProperties": _NUM},
                               "shifted": _NUM, "held_out": _NUM},
                "additionalProperties": False,
            },
        },
        "sets": {
            "type": "object",
            "additionalProperties": {
                "type": "object", "required": ["family", "severity", "held_out", "rows"],
                "properties": {"family": {"type": "string"}, "severity": {"type": "number"},
                               "held_out": {"type": "boolean"}, "rows": {"type": "integer", "minimum": 0}},
                "additionalProperties": False,
            },
        },
        "temperature": _NUM,
        "order": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}

__all__ = ["CALIBRATE_SCHEMA"]
