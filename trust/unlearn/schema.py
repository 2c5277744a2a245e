"""The unlearning certificate's JSON schema (``details.certificate`` of evidence of kind ``unlearn``).

Kept in a module of its own, importing only :mod:`trust.evidence`, so the report's section reads it without
importing the models: :func:`trust.unlearn.certify` writes it (:meth:`Certificate.to_dict`), the report's
Unlearning section (:mod:`trust.unlearn.report_section`) and auditors read it.
"""

from __future__ import annotations

from typing import Any

from trust.errors import DataError
from trust.evidence import schema_problem

WHAT = ("class", "samples")
#: who is measured: the model under test, the reference, and the two controls
MODELS = ("unlearned", "retrained", "original", "retrained_other_seed")

_num = {"type": ["number", "null"]}
_CHECK = {"type": "object", "required": ["name", "figure", "reference_figure", "threshold", "passed"],
          "properties": {"name": {"type": "string"}, "policy_key": {"type": ["string", "null"]}, "figure": _num,
                         "reference_figure": _num, "value": _num, "threshold": _num,
                         "comparator": {"type": ["string", "null"]}, "passed": {"type": ["boolean", "null"]},
                         "sentence": {"type": "string"}}}
_VERDICT = {"type": "object", "required": ["passed", "checks"],
            "properties": {"passed": {"type": "boolean"}, "checks": {"type": "array", "items": _CHECK}}}

#: JSON schema of an evidence's ``details.certificate`` (:meth:`Certificate.to_dict`)
CERTIFICATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["forgotten", "method", "params", "passed", "power", "checks", "controls", "figures", "membership",
                 "seconds"],
    "properties": {
        "forgotten": {"type": "object", "required": ["what", "class", "count", "fingerprint"],
                      "properties": {"what": {"enum": list(WHAT)}, "class": {"type": ["integer", "null"]},
                                     "count": {"type": "integer", "minimum": 0},
                                     "fingerprint": {"type": "string", "pattern": r"^hmac-sha256:"}},
                      "additionalProperties": False},
        "method": {"type": "string", "minLength": 1},
        "params": {"type": "object"},
        "passed": {"type": "boolean"},
        "power": {"type": "boolean"},
        "membership_power": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "checks": {"type": "array", "items": _CHECK},
        "controls": {"type": "object", "required": ["original", "retrained_other_seed"],
                     "properties": {"original": _VERDICT, "retrained_other_seed": _VERDICT}},
        "figures": {"type": "object", "required": list(MODELS),
                    "additionalProperties": {"type": "object", "additionalProperties": _num}},
        "membership": {"type": "object", "required": ["n_shadows", "n_forget", "n_heldout"],
                       "properties": {"n_shadows": {"type": "integer", "minimum": 0},
                                      "n_forget": {"type": "integer", "minimum": 0},
                                      "n_heldout": {"type": "integer", "minimum": 0}}},
        "seconds": {"type": "object", "required": ["retrain"], "additionalProperties": _num},
    },
}


def validate_certificate(cert: Any, *, source: str = "certificate") -> dict[str, Any]:
    """Check ``cert`` against :data:`CERTIFICATE_SCHEMA`; DataError naming the path and the problem."""
    problem = schema_problem(cert, CERTIFICATE_SCHEMA)
    if problem:
        raise DataError(f"{source}: invalid unlearning certificate at {problem}; re-run the stage")
    return cert



__all__ = ["CERTIFICATE_SCHEMA", "validate_certificate", "MODELS", "WHAT"]
