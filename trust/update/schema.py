"""The JSON schema of the update evidence's ``details`` (what :class:`~trust.update.protocol.UpdateResult` writes
and the report's Model updates section, :mod:`trust.update.report_section`, reads).

Kept apart from the section so that the protocol and the stage that writes the evidence never import the
report renderer (a template edit re-runs only the ``report`` stage).
"""

from __future__ import annotations

from typing import Any

_num = {"type": ["number", "null"]}

#: the figures of one model on one set of rows (:func:`trust.update.metrics.flip_summary`)
FIGURE_KEYS = ("nfr", "relative_nfr", "pfr", "old_model_accuracy", "accuracy", "old_class_accuracy",
               "new_class_accuracy")

FIGURES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": list(FIGURE_KEYS),
    "properties": {k: _num for k in FIGURE_KEYS},
    "additionalProperties": False,
}

#: JSON schema of the ``details`` of an evidence document of kind ``update``
DETAILS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["dataset", "old_classes", "new_classes", "deployed", "b_chosen", "seed_floor_nfr", "evaluated_on",
                 "figures", "curve", "settings", "protocol"],
    "properties": {
        "dataset": {"type": "string"},
        "old_classes": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
        "new_classes": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
        "deployed": {"type": "string", "minLength": 1},
        "b_chosen": _num,
        "seed_floor_nfr": _num,
        "old_model_train_accuracy": _num,
        "evaluated_on": {"type": "string", "minLength": 1},
        "figures": {"type": "object", "required": ["naive", "teacher"], "additionalProperties": FIGURES_SCHEMA},
        "curve": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["method", "b", "val", "test"],
                "properties": {"method": {"enum": ["mpt", "margin_only"]}, "b": {"type": "number"},
                               "val": {"oneOf": [FIGURES_SCHEMA, {"type": "null"}]}, "test": FIGURES_SCHEMA},
                "additionalProperties": False,
            },
        },
        "settings": {"type": "object"},
        "protocol": {"type": "string"},
    },
    "additionalProperties": False,
}

__all__ = ["FIGURE_KEYS", "FIGURES_SCHEMA", "DETAILS_SCHEMA"]
