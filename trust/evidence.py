"""The evidence contract: typed records every capability returns and every stage writes.

Layering: this module sits below the report and below every capability (it imports only
:mod:`trust.data`, :mod:`trust.privacy` and :mod:`trust.errors`), so a capability can describe its
evidence and a stage can write it without importing the report renderer; a template edit re-runs
only the ``report`` stage.

Evidence is structured, schema-validated and free of raw rows. It says what was checked, the
figure, its reference and the threshold (from ``params.yaml``'s ``policy:``), pass/fail, the privacy
ledger entries of the stage's releases, the *keyed* fingerprints of the data it read
(``hmac-sha256:...``, see :mod:`trust.data.hashing`; never a plain hash of private data), every use
of a private dataset that is not differentially private (``non_dp``), and the MLflow run that holds
the details. Evidence belongs to the confidential *audit trail*: it may hold exact row counts of
private tables; a *release* (synthetic table, model directory, ledger) may not.

The pieces:

* :class:`Check`: one checked claim, absolute (``ece <= 0.05``) or relative to a reference
  (``nfr / naive_nfr <= 0.8``: :meth:`Check.relative`); :func:`gate` reads its threshold from a
  policy mapping;
* :class:`Plot`, :class:`Evidence`: a capability's evidence before a stage stamps it with its name,
  params, run id and commit (:meth:`Evidence.document`);
* :class:`Result`: the base of every capability's result (``run_<capability>(...)`` returns one):
  ``to_evidence(policy)``, ``plots(out_dir)``, ``save(out_dir)``;
* :func:`write_evidence`: the one way an evidence document reaches disk (validated, atomic);
* the dict layer the report reads: :func:`check`, :func:`make_evidence`, :func:`validate_evidence`,
  :data:`EVIDENCE_SCHEMA`, :func:`schema_problem`.

>>> c = Check.relative("NFR of the update", 0.045, 0.068, reference="naive update", threshold=0.8,
...                    comparator="<=", policy_key="max_nfr_ratio_to_naive")
>>> round(c.value, 3), c.passed
(0.662, True)
>>> c.sentence()
'NFR of the update: 0.045 = 0.662x naive update 0.068; threshold 0.800x (<=): pass'
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as _dt
import math
import operator
import os
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

import jsonschema

from trust.data.hashing import FINGERPRINT_PATTERN
from trust.errors import DataError
from trust.privacy.ledger import NOISE_SOURCES

SCHEMA_VERSION = 1

COMPARATORS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}

_number_or_null = {"type": ["number", "null"]}

#: how a relative check turns its figure and its reference's figure into the value it compares
RELATIONS = ("ratio", "difference")

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
                    "figure": _number_or_null,
                    "reference": {"type": ["string", "null"]},
                    "reference_figure": _number_or_null,
                    "relation": {"enum": list(RELATIONS) + [None]},
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
          *, policy_key: str | None = None, description: str = "", figure: float | None = None,
          reference: str | None = None, reference_figure: float | None = None,
          relation: str | None = None) -> dict[str, Any]:
    """One checked claim as the evidence document stores it: ``value comparator threshold``.

    ``passed`` is None when there is no threshold (the figure is reported, not gated) or the
    value is missing or not finite. A relative claim also names its ``reference``, the reference's
    figure and the ``relation`` (``value`` = figure / reference_figure or figure - reference_figure);
    :class:`Check` builds the same dict from typed fields.
    """
    return Check(name, value, threshold, comparator, policy_key=policy_key, description=description,
                 figure=figure, reference=reference, reference_figure=reference_figure,
                 relation=relation).to_dict()


def _float_or_none(x: Any) -> float | None:
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


@dataclasses.dataclass(frozen=True)
class Check:
    """One checked claim: ``value comparator threshold``, with the figure and the reference it stands on.

    ``value`` is what the threshold is compared with. For an absolute claim it is the ``figure``
    itself; for a relative one (:meth:`relative`) it is ``figure / reference_figure`` (``"ratio"``)
    or ``figure - reference_figure`` (``"difference"``), and ``reference`` names what the figure is
    judged against ("model retrained without the forget set", "naive update", ...). ``policy_key``
    names the ``policy:`` threshold the report re-gates it against; a check without one is a stage
    check (shown, never a gate).
    """

    name: str
    value: float | None
    threshold: float | None = None
    comparator: str | None = None
    policy_key: str | None = None
    description: str = ""
    figure: float | None = None
    reference: str | None = None
    reference_figure: float | None = None
    relation: str | None = None

    def __post_init__(self) -> None:
        if self.comparator is not None and self.comparator not in COMPARATORS:
            raise ValueError(f"comparator '{self.comparator}' is unknown; use one of {list(COMPARATORS)}")
        if self.relation is not None and self.relation not in RELATIONS:
            raise ValueError(f"relation '{self.relation}' is unknown; use one of {list(RELATIONS)}")
        object.__setattr__(self, "value", _float_or_none(self.value))
        object.__setattr__(self, "threshold", _float_or_none(self.threshold))
        object.__setattr__(self, "figure", _float_or_none(self.figure) if self.figure is not None else self.value)
        object.__setattr__(self, "reference_figure", _float_or_none(self.reference_figure))

    @classmethod
    def relative(cls, name: str, figure: float | None, reference_figure: float | None, *, reference: str,
                 relation: str = "ratio", threshold: float | None = None, comparator: str | None = None,
                 policy_key: str | None = None, description: str = "") -> "Check":
        """A claim about ``figure`` judged against ``reference_figure`` (module docstring example).

        A ratio over a reference of 0 is undefined (``value`` None, so the check does not pass).
        """
        f, r = _float_or_none(figure), _float_or_none(reference_figure)
        value = None
        if f is not None and r is not None:
            if relation == "difference":
                value = f - r
            elif r != 0:
                value = f / r
        return cls(name, value, threshold, comparator, policy_key=policy_key, description=description, figure=f,
                   reference=reference, reference_figure=r, relation=relation)

    @property
    def passed(self) -> bool | None:
        """True/False against the threshold; None when nothing is gated or the value is missing."""
        if self.value is None or self.threshold is None or self.comparator is None:
            return None
        return bool(COMPARATORS[self.comparator](self.value, self.threshold))

    def sentence(self) -> str:
        """The claim in one line: its figure, its reference and its threshold."""
        return check_sentence(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The dict the evidence document stores (:data:`EVIDENCE_SCHEMA` ``checks`` item)."""
        return {"name": self.name, "description": self.description, "value": self.value,
                "threshold": self.threshold, "comparator": self.comparator, "passed": self.passed,
                "policy_key": self.policy_key, "figure": self.figure, "reference": self.reference,
                "reference_figure": self.reference_figure, "relation": self.relation}


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def _times(x: float | None) -> str:
    """A ratio with three decimals, so 1.0004 against 1.01 reads 1.000x vs 1.010x, not 1x vs 1.01x."""
    return "n/a" if x is None else f"{x:.3f}x"


def check_sentence(c: Mapping[str, Any], *, threshold: float | None = None, passed: bool | None = None) -> str:
    """``"<name>: <figure> = <value>x <reference> <ref. figure>; threshold <t>x (<=): pass"`` for a check dict.

    ``threshold`` / ``passed`` override the recorded ones (the report re-gates against the current policy).
    """
    t = c.get("threshold") if threshold is None else threshold
    ok = c.get("passed") if passed is None and threshold is None else passed
    rel, ref = c.get("relation"), c.get("reference")
    fig = c.get("figure", c.get("value"))
    if rel == "ratio" and ref:
        claim = f"{_num(fig)} = {_times(c.get('value'))} {ref} {_num(c.get('reference_figure'))}"
        limit = _times(t)
    elif rel == "difference" and ref:
        v = c.get("value")
        claim = (f"{_num(fig)} vs {ref} {_num(c.get('reference_figure'))} "
                 f"(difference {'n/a' if v is None else f'{v:+.3g}'})")
        limit = _num(t)
    else:
        claim, limit = _num(c.get("value")), _num(t)
    verdict = "not gated" if ok is None else ("pass" if ok else "fail")
    gate = f"; threshold {limit} ({c.get('comparator')})" if t is not None and c.get("comparator") else ""
    return f"{c.get('name')}: {claim}{gate}: {verdict}"


def default_comparator(policy_key: str) -> str:
    """``<=`` for ``max_*`` keys, ``>=`` for ``min_*`` keys (a policy key says its direction in its name)."""
    if policy_key.startswith("max_"):
        return "<="
    if policy_key.startswith("min_"):
        return ">="
    raise ValueError(f"policy key '{policy_key}' must start with 'max_' or 'min_'")


def gate(name: str, figure: float | None, policy: Mapping[str, Any] | None, policy_key: str, *,
         reference: str | None = None, reference_figure: float | None = None, relation: str = "ratio",
         description: str = "") -> Check:
    """A policy gate: its threshold is ``policy[policy_key]`` (None if the policy does not set it), its
    direction the key's prefix (``max_`` / ``min_``); with ``reference`` it is relative (:meth:`Check.relative`)."""
    raw = (policy or {}).get(policy_key)
    threshold = None if raw is None or isinstance(raw, bool) else float(raw)
    comp = default_comparator(policy_key)
    if reference is not None:
        return Check.relative(name, figure, reference_figure, reference=reference, relation=relation,
                              threshold=threshold, comparator=comp, policy_key=policy_key, description=description)
    return Check(name, figure, threshold, comp, policy_key=policy_key, description=description)


@dataclasses.dataclass(frozen=True)
class Plot:
    """A figure a result drew: its title and the file (absolute, or relative to the project root)."""

    title: str
    path: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "path": str(self.path)}


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What a capability says about one run, before a stage stamps it (:meth:`document`).

    ``metrics`` are flat numbers (DVC diffs them); ``details`` is free-form JSON checked against
    ``details_schema`` (each capability owns its schema, as the unlearning certificate does);
    ``ledger`` holds the :class:`~trust.privacy.LedgerEntry` dicts of the run's DP releases;
    ``non_dp`` every use of a private dataset without DP (``{"dataset", "artifact", "what"}``);
    ``data`` the keyed fingerprints of the inputs (``{"name", "fingerprint", "role", ...}``).
    """

    kind: str
    title: str = ""
    checks: tuple[Check, ...] = ()
    metrics: Mapping[str, float | None] = dataclasses.field(default_factory=dict)
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    ledger: tuple[Mapping[str, Any], ...] = ()
    non_dp: tuple[Mapping[str, str], ...] = ()
    data: tuple[Mapping[str, Any], ...] = ()
    details_schema: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "ledger", tuple(dict(e) for e in self.ledger))
        object.__setattr__(self, "non_dp", tuple(dict(u) for u in self.non_dp))
        object.__setattr__(self, "data", tuple(dict(d) for d in self.data))
        bad = [k for k, v in self.metrics.items() if isinstance(v, bool) or not isinstance(v, (int, float, type(None)))]
        if bad:
            raise ValueError(f"evidence metrics must be numbers; {bad[:3]} are not (put them in details)")
        if self.details_schema is not None:
            problem = schema_problem(dict(self.details), self.details_schema)
            if problem:
                raise ValueError(f"{self.kind} evidence details break their schema at {problem}")

    def document(self, stage: str, *, params: Mapping[str, Any] | None = None, plots: Iterable[Plot] = (),
                 mlflow_run_id: str | None = None, git_commit: str = "unknown",
                 data: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
        """The validated evidence document of ``stage`` (:func:`make_evidence`); ``data`` adds input fingerprints."""
        return make_evidence(stage, self.kind, title=self.title, params=params, data=[*self.data, *data],
                             checks=[c.to_dict() for c in self.checks], metrics=dict(self.metrics),
                             ledger=self.ledger, plots=[p.to_dict() for p in plots], details=dict(self.details),
                             mlflow_run_id=mlflow_run_id, git_commit=git_commit, non_dp=self.non_dp)


class Result(abc.ABC):
    """The base of every capability's result: ``run_<capability>(...)`` returns a frozen dataclass deriving it.

    A subclass sets ``kind`` (the capability's one name: package, CLI group, stage prefix and
    evidence kind) and implements the three methods; it keeps figures and fitted models, never files.

    * :meth:`to_evidence`: checks (with policy keys; thresholds from ``policy``), flat metrics,
      details valid against the capability's schema, ledger entries and non-DP uses;
    * :meth:`plots`: draws its figures under ``out_dir`` and returns them (PNG, written atomically);
    * :meth:`save`: writes its models and releases under ``out_dir`` (each release in a folder of its own).
    """

    kind: ClassVar[str] = ""

    @abc.abstractmethod
    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """The evidence of this result, gated against ``policy`` (the ``policy:`` mapping of ``params.yaml``)."""

    def plots(self, out_dir: str | os.PathLike[str]) -> list[Plot]:
        """Draw this result's figures under ``out_dir``; none by default."""
        return []

    @abc.abstractmethod
    def save(self, out_dir: str | os.PathLike[str]) -> None:
        """Write this result's models and releases under ``out_dir``."""


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Save a matplotlib figure as PNG atomically and close it (what :meth:`Result.plots` uses)."""
    import matplotlib.pyplot as plt

    from trust.data.io import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def write_evidence(path: str | os.PathLike[str], doc: Mapping[str, Any]) -> Path:
    """Validate an evidence document, write it atomically and sign it (the one way evidence reaches disk).

    The signature (:func:`trust.signing.sign_evidence`) is written beside it as ``<stem>.intoto.jsonl``."""
    from trust.data.io import atomic_write_json

    from trust.signing import sign_evidence  # the signed writer (imported here: cryptography loads on first write)

    validate_evidence(dict(doc), source=str(path))
    out = atomic_write_json(path, doc)
    sign_evidence(out, doc)  # in-toto statement in a DSSE envelope beside it: <stage>.intoto.jsonl
    return out


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


__all__ = ["SCHEMA_VERSION", "EVIDENCE_SCHEMA", "LEDGER_ENTRY_SCHEMA", "NON_DP_USE_SCHEMA", "COMPARATORS", "RELATIONS",
           "Check", "Plot", "Evidence", "Result", "gate", "default_comparator", "check", "check_sentence",
           "make_evidence", "validate_evidence", "write_evidence", "save_figure", "schema_problem"]
