"""The JSON schema of the ``model`` evidence's ``details`` (what :class:`~trust.models.protocol.TrainResult` writes
and the report's Models section, :mod:`trust.models.report_section`, reads). Kept apart from the section so that
the ``train`` stage never imports the report renderer."""

from __future__ import annotations

from typing import Any

#: JSON schema of an evidence document's ``details`` of kind ``model``: the model card
DETAILS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model_card"],
    "properties": {
        "model_card": {
            "type": "object",
            "required": ["dataset", "intended_use", "architecture", "training", "accuracy_per_class", "figures_of",
                         "files"],
            "properties": {
                "dataset": {"type": "string"},
                "intended_use": {"type": "string"},
                "modality": {"type": "string"},
                "architecture": {
                    "type": "object",
                    "required": ["network", "class", "parameters", "input_shape", "classes"],
                    "properties": {"network": {"type": "string"}, "class": {"type": "string"},
                                   "parameters": {"type": "integer", "minimum": 0},
                                   "embed_dim": {"type": ["integer", "null"]},
                                   "input_shape": {"type": "array", "items": {"type": "integer"}},
                                   "classes": {"type": "array", "items": {"type": "integer"}},
                                   "layers": {"type": "array", "items": {"type": "string"}}},
                },
                "training": {"type": "object"},
                "accuracy_per_class": {"type": "object",
                                       "additionalProperties": {"type": "array", "items": {"type": ["number", "null"]}}},
                "figures_of": {"type": "string"},
                "files": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    },
    "additionalProperties": False,
}

__all__ = ["DETAILS_SCHEMA"]
