"""The evidence contract: what every stage writes to ``evidence/<stage>.json``.

Evidence is structured, schema-validated and free of raw rows. It says what was checked, the
figure, the threshold (from ``params.yaml``), pass/fail, the privacy ledger entries of the
stage's releases, the *keyed* fingerprints of the data it read (``hmac-sha256:...``, see
:mod:`trust.data.hashing`; never a plain hash of private data), every use of a private dataset
that is not differentially private (``non_dp``), and the MLflow run that holds the details.

Evidence belongs to the confidential *audit trail*: it may hold exact row counts of private
tables; a *release* (synthetic table, model directory, ledger) may not.

Build one with :func:`make_evidence` and :func:`check`; validate with :func:`validate_evidence`.
The report renders a section per evidence ``kind`` (see :mod:`trust.report`).
"""

from __future__ import annotations

import datetime as _dt
import math
import operator
from typing import Any, Iterable, Mapping

import jsonschema

from trust.data.hashing import FINGERPRINT_PATTERN
from trust.errors import DataError
from trust.privacy.ledger import NOISE_SOURCES

SCHEMA_VERSION = 1

COMPARATORS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}

_number_or_null = {"type": ["number", "null"]}

LEDGER_ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["release", "mechanism", "epsilon", "delta", "accountant", "noise_multiplier", "sample_rate",
                 "steps", "max_grad_norm", "unit_of_privacy", "adjacency", "dataset", "noise_source"],
    "properties": {
        "release": {"type": "string", "minLength": 1},
        "mechanism": {"type": "string", "minLength": 1},
        "epsilon": {"type": "number", "exclusiveMinimum": 0},
        "delta": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
        "accountant": {"type": "string"},
        "noise_multiplier": _number_or_null,
        "sample_rate": _number_or_null,
        "steps": {"type": ["integer", "null"]},
        "max_grad_norm": _number_or_null,
        "unit_of_privacy": {"enum": ["record", "label", "user"]},
        "adjacency": {"enum": ["add/remove", "replace-one"]},
        "dataset": {"type": "string"},
        "noise_source": {"enum": list(NOISE_SOURCES)},
        "composition": {"type": "string"},
        "notes": {"type": "string"},
    },
    "additionalProperties": False,
}

#: one use of a private dataset that is NOT differentially private (a non-DP model, statistics of the rows,
#: an experiment on exact values): it makes the dataset's total epsilon infinite in the report unless the
#: policy declares it audit-trail only (``policy.internal_non_dp``)
NON_DP_USE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["dataset", "artifact", "what"],
    "properties": {"dataset": {"type": "string", "minLength": 1}, "artifact": {"type": "string", "minLength": 1},
                   "what": {"type": "string", "minLength": 1}},
    "additionalProperties": False,
}

EVIDENCE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "trust stage evidence",
    "type": "object",
    "required": ["schema_version", "stage", "kind", "created_at", "git_commit", "mlflow_run_id", "params",
                 "data", "checks", "metrics", "ledger", "plots", "details"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "stage": {"type": "string", "minLength": 1},
        "kind": {"type": "string", "minLength": 1},
        "title": {"type": "string"},
        "created_at": {"type": "string"},
        "git_commit": {"type": "string"},
        "mlflow_run_id": {"type": ["string", "null"]},
        "params": {"type": "object"},
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "fingerprint"],
                "properties": {
                    "name": {"type": "string"},
                    "fingerprint": {"type": "string", "pattern": FINGERPRINT_PATTERN},
                    "rows": {"type": "integer", "minimum": 0},
                    "role": {"type": "string"},
                    "source": {"type": "string"},
                    "licence": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
        "non_dp": {"type": "array", "items": NON_DP_USE_SCHEMA},
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "value", "threshold", "comparator", "passed"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "value": _number_or_null,
                    "threshold": _number_or_null,
                    "comparator": {"enum": list(COMPARATORS) + [None]},
                    "passed": {"type": ["boolean", "null"]},
                    "policy_key": {"type": ["string", "null"]},
                },
            },
        },
        "metrics": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
        "ledger": {"type": "array", "items": LEDGER_ENTRY_SCHEMA},
        "plots": {
            "type": "array",
            "items": {"type": "object", "required": ["title", "path"],
                      "properties": {"title": {"type": "string"}, "path": {"type": "string"}}},
        },
        "details": {"type": "object"},
    },
}


def check(name: str, value: float | None, threshold: float | None = None, comparator: str | None = None,
          *, policy_key: str | None = None, description: str = "") -> dict[str, Any]:
    """One checked claim: ``value comparator threshold`` (e.g. ``tstr_auc >= 0.75``).

    ``passed`` is None when there is no threshold (the figure is reported, not gated) or the
    value is missing or not finite.
    """
    if comparator is not None and comparator not in COMPARATORS:
        raise ValueError(f"comparator '{comparator}' is unknown; use one of {list(COMPARATORS)}")
    v = None if value is None or not math.isfinite(float(value)) else float(value)
    passed = None
    if v is not None and threshold is not None and comparator is not None:
        passed = bool(COMPARATORS[comparator](v, float(threshold)))
    return {"name": name, "description": description, "value": v,
            "threshold": None if threshold is None else float(threshold),
            "comparator": comparator, "passed": passed, "policy_key": policy_key}


def _finite_or_none(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def make_evidence(
    stage: str,
    kind: str,
    *,
    title: str = "",
    params: Mapping[str, Any] | None = None,
    data: Iterable[Mapping[str, Any]] = (),
    checks: Iterable[Mapping[str, Any]] = (),
    metrics: Mapping[str, Any] | None = None,
    ledger: Iterable[Mapping[str, Any]] = (),
    plots: Iterable[Mapping[str, str]] = (),
    details: Mapping[str, Any] | None = None,
    mlflow_run_id: str | None = None,
    git_commit: str = "unknown",
    non_dp: Iterable[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """Assemble and validate one stage's evidence document.

    ``non_dp``: every use of a private dataset this stage made without differential privacy, as
    ``{"dataset", "artifact", "what"}`` (e.g. a non-DP synthesizer trained on it, statistics of its rows
    in the metrics). The report counts each as an infinite epsilon unless the policy declares it
    audit-trail only.
    """
    doc = {
        "schema_version": SCHEMA_VERSION,
        "stage": stage,
        "kind": kind,
        "title": title or stage,
        "created_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "git_commit": git_commit,
        "mlflow_run_id": mlflow_run_id,
        "params": dict(params or {}),
        "data": [dict(d) for d in data],
        "checks": [dict(c) for c in checks],
        "metrics": {k: _finite_or_none(v) for k, v in (metrics or {}).items()},
        "ledger": [dict(e) for e in ledger],
        "plots": [dict(p) for p in plots],
        "details": dict(details or {}),
        "non_dp": [dict(u) for u in non_dp],
    }
    return validate_evidence(doc)


def validate_evidence(doc: Any, *, source: str = "evidence") -> dict[str, Any]:
    """Validate an evidence document against :data:`EVIDENCE_SCHEMA`.

    Raises :class:`~trust.errors.DataError` naming the source, the JSON path and the problem.
    """
    problem = schema_problem(doc, EVIDENCE_SCHEMA)
    if problem:
        raise DataError(f"{source}: invalid evidence at {problem}; re-run the stage that wrote it")
    return doc


def schema_problem(doc: Any, schema: Mapping[str, Any]) -> str | None:
    """``"'<json/path>': <message>"`` for the first way ``doc`` breaks the JSON ``schema``, or None if it conforms
    (the one place the report's documents are checked against their schemas; callers raise their own error)."""
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        return f"'{where}': {e.message}"
    return None


__all__ = ["SCHEMA_VERSION", "EVIDENCE_SCHEMA", "LEDGER_ENTRY_SCHEMA", "NON_DP_USE_SCHEMA", "check", "make_evidence", "validate_evidence"]
