"""The JSON schema of the ``noisy`` evidence's ``details`` (the writer is
:meth:`trust.noisy.protocol.NoisyResult.to_evidence`, the reader :mod:`trust.noisy.report_section`).

Kept in a module of its own, beside the report section, so that the protocol validates its details
without importing the report renderer.
"""

from __future__ import annotations

from typing import Any

_NUM = {"type": ["number", "null"]}
_FIGURES = {
    "type": "object", "required": ["label", "accuracy", "head", "medium", "tail", "ece", "per_class", "seconds"],
    "properties": {"label": {"type": "string"}, "accuracy": _NUM, "head": _NUM, "medium": _NUM, "tail": _NUM,
                   "ece": _NUM, "per_class": {"type": "array", "items": _NUM}, "seconds": _NUM},
    "additionalProperties": False,
}

NOISY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["setting", "dataset", "primary", "baseline", "corruption", "noisy_share", "counts", "groups", "methods",
                 "gain_over_baseline"],
    "properties": {
        "setting": {"type": "string", "minLength": 1},
        "dataset": {"type": "string", "minLength": 1},
        "primary": {"type": "string"},
        "baseline": {"type": "string"},
        "corruption": {"type": ["object", "null"], "required": ["imbalance_ratio", "noise_rate", "noise_kind"],
                       "properties": {"imbalance_ratio": {"type": "number"}, "noise_rate": {"type": "number"},
                                      "noise_kind": {"type": "string"}},
                       "additionalProperties": False},
        "noisy_share": _NUM,
        "counts": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "groups": {"type": "object", "required": ["head", "medium", "tail"],
                   "additionalProperties": {"type": "array", "items": {"type": "integer", "minimum": 0}}},
        "methods": {"type": "object", "additionalProperties": _FIGURES},
        "gain_over_baseline": {"type": "object", "additionalProperties": _NUM},
        "rcal": {"type": "object"},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}

__all__ = ["NOISY_SCHEMA"]
