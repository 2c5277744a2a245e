"""Policy gates: every claim of the report, its figure, its threshold and its verdict.

The report is the authority on pass/fail. Stages record their checks with the threshold they
were run with; the report re-gates every check that carries a ``policy_key`` against the
*current* ``policy:`` block of ``params.yaml`` (so changing a threshold only re-runs the report
stage), and computes the privacy-ledger gates itself:

* ``max_total_epsilon_per_dataset``: per (dataset, unit of privacy, adjacency), the total epsilon of the
  DP releases by basic sequential composition (:meth:`trust.privacy.PrivacyLedger.totals`) must not
  pass it. A record-level add/remove epsilon and a label-level replace-one epsilon are never summed
  into one figure. Any use of a dataset WITHOUT differential privacy that a stage records
  (evidence ``non_dp``) makes that dataset's totals infinite (FAIL) unless ``policy.internal_non_dp``
  declares it audit-trail only (``{dataset, stage or artifact (globs), purpose}``);
* ``max_delta``: every release's delta must not pass it;
* ``require_secure_noise: true``: every release's noise came from fresh OS entropy; a release whose
  noise was seeded (``noise_source: "seeded (not a valid guarantee)"``) FAILS.

Stages record what they used; these gates are computed here at render time from the current policy
(the report is the authority on policy).

A policy key that no evidence speaks to yet is listed as ``not evaluated`` (not a failure), apart
from the verdict: a project that runs no calibration stage is not judged on ``max_ece``.

Gate statuses: ``pass``, ``fail``, ``not evaluated``. A gate backed by a policy key whose figure
is missing (NaN, not computed) *fails*: a claim the policy asks for must be backed by a figure.

Checks a stage records without a policy key (or with one the policy does not set) are *stage
checks*: shown with their status against the stage's own threshold, warned about when they fail,
but not policy gates: the verdict and ``trust report --strict`` follow the policy gates only.

Everything here is pure: evidence dicts and the policy mapping in, gate dicts out.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import math
from typing import Any, Iterable, Mapping

from trust.errors import ConfigError, DataError
from trust.privacy.ledger import LedgerEntry, PrivacyLedger
from trust.evidence import COMPARATORS, check_sentence
from trust.evidence import default_comparator as _direction

PASS, FAIL, NOT_EVALUATED = "pass", "fail", "not evaluated"
STATUSES = (PASS, FAIL, NOT_EVALUATED)

LEDGER_POLICY_KEYS = ("max_total_epsilon_per_dataset", "max_delta", "require_secure_noise")
#: policy keys that are rules, not thresholds (validated by :func:`validate_rules`)
RULE_KEYS = ("require_secure_noise", "internal_non_dp")
SEEDED = "seeded (not a valid guarantee)"

@dataclasses.dataclass(frozen=True)
class PolicyKey:
    """A policy key the report knows: what it gates and the range of thresholds that make sense for it.

    ``low``/``high`` bound the threshold (inclusive unless ``low_open``/``high_open``); a value outside them is
    refused (``max_ece: -1`` could never pass and would silently fail every calibration gate).
    """

    key: str
    description: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    capability: str = ""

    def check(self, value: float) -> str | None:
        """Why ``value`` is out of range, or None."""
        lo_bad = self.low is not None and (value < self.low or (self.low_open and value == self.low))
        hi_bad = self.high is not None and (value > self.high or (self.high_open and value == self.high))
        if not (lo_bad or hi_bad):
            return None
        lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        hi = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        return " and ".join(x for x in (lo, hi) if x)


#: every policy key the report knows (the ledger's rules and thresholds, and each capability's keys)
POLICY_KEYS: dict[str, PolicyKey] = {}
#: key -> what it gates, for the summary table (filled by :func:`register_policy_key`)
POLICY_DESCRIPTIONS: dict[str, str] = {}


def register_policy_key(key: str, description: str, *, low: float | None = None, high: float | None = None,
                        low_open: bool = False, high_open: bool = False, capability: str = "") -> PolicyKey:
    """Make ``key`` a known policy key (a capability calls this in its ``report_section.py``).

    A ``policy:`` block with a key nobody registered and no evidence uses is refused (a typo such as
    ``max_ecee`` would otherwise drop its gates without a word); a threshold outside ``[low, high]`` is refused.
    Registering the same key again replaces its entry.
    """
    if key not in RULE_KEYS:
        default_comparator(key)
    spec = PolicyKey(key, description, low, high, low_open, high_open, capability)
    POLICY_KEYS[key] = spec
    POLICY_DESCRIPTIONS[key] = description
    return spec


def default_comparator(policy_key: str) -> str:
    """``<=`` for ``max_*`` keys, ``>=`` for ``min_*`` keys (a policy key must say which it is)."""
    try:
        return _direction(policy_key)
    except ValueError:
        raise ConfigError(f"policy key '{policy_key}' must start with 'max_' or 'min_' so the report knows its "
                          "direction") from None


_PROBABILITY = {"low": 0.0, "high": 1.0}
for _key, _text, _range in (
    ("max_total_epsilon_per_dataset", "total epsilon of the DP releases on one dataset, per unit of privacy and "
     "adjacency (sequential composition; infinite after an undeclared non-DP use)", {"low": 0.0, "low_open": True}),
    ("require_secure_noise", "every DP release drew its noise from fresh OS entropy (no seeded noise)", {}),
    ("internal_non_dp", "uses of a dataset without DP declared audit-trail only", {}),
    ("max_delta", "delta of every DP release", {"low": 0.0, "high": 1.0, "high_open": True}),
):
    register_policy_key(_key, _text, capability="privacy ledger", **_range)
# The capabilities' keys as the pipeline uses them today; a capability may re-register its own (with its
# description and range) in trust/<capability>/report_section.py, and must register every new key there.
for _key, _text, _range, _cap in (
    ("max_aggregate_mse_ratio", "test MSE of the interpolating estimator with rho chosen on held-out bags, relative "
     "to the better of bag-level and instance-level (linear model, mean over seeds, worst bag size)",
     {"low": 0.0, "low_open": True}, "aggregate"),
    ("max_ece", "top-label expected calibration error (15 bins) of the deployed calibrator on in-distribution test "
     "data", _PROBABILITY, "calibrate"),
):
    register_policy_key(_key, _text, capability=_cap, **_range)


def validate_policy(policy: Any, *, known: Iterable[str] = ()) -> dict[str, float]:
    """Check the ``policy:`` block and return its thresholds: ``max_*``/``min_*`` keys to finite numbers.

    A key must be registered (:func:`register_policy_key`) or in ``known`` (the policy keys the evidence's
    checks use); an unknown key is a one-line ConfigError listing the known ones, and a registered key's
    threshold must lie in its range. The rule keys (:data:`RULE_KEYS`) are checked by :func:`validate_rules`
    and left out of the result.
    """
    if policy is None:
        return {}
    if not isinstance(policy, Mapping):
        raise ConfigError("params.yaml: 'policy' must be a mapping of thresholds (e.g. 'max_delta: 1.0e-5')")
    validate_rules(policy)
    allowed = set(POLICY_KEYS) | set(known)
    out: dict[str, float] = {}
    for key, value in policy.items():
        key = str(key)
        if key in RULE_KEYS:
            continue
        if key not in allowed:
            near = difflib.get_close_matches(key, sorted(allowed), n=1)
            raise ConfigError(f"params.yaml: policy key '{key}' is unknown"
                              + (f" (did you mean '{near[0]}'?)" if near else "")
                              + f"; an unknown key gates nothing. Known keys: {', '.join(sorted(allowed))}")
        default_comparator(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            raise ConfigError(f"params.yaml: 'policy.{key}' = {value!r} must be a finite number")
        why = POLICY_KEYS[key].check(float(value)) if key in POLICY_KEYS else None
        if why:
            raise ConfigError(f"params.yaml: 'policy.{key}' = {value!r} is out of range: it must be {why}")
        out[key] = float(value)
    return out


def evidence_policy_keys(docs: Iterable[Mapping[str, Any]]) -> set[str]:
    """The policy keys the checks of these evidence documents use (known to the report by use)."""
    return {c["policy_key"] for d in docs for c in d.get("checks", []) if c.get("policy_key")}


def validate_rules(policy: Any) -> dict[str, Any]:
    """The policy's rules: ``require_secure_noise`` (bool, default False) and ``internal_non_dp`` (a list of
    ``{dataset, stage and/or artifact (glob patterns), purpose}``, default empty). ConfigError names the key."""
    policy = policy if isinstance(policy, Mapping) else {}
    secure = policy.get("require_secure_noise", False)
    if not isinstance(secure, bool):
        raise ConfigError(f"params.yaml: 'policy.require_secure_noise' = {secure!r} must be true or false")
    items = policy.get("internal_non_dp") or []
    if not isinstance(items, list):
        raise ConfigError("params.yaml: 'policy.internal_non_dp' must be a list of {dataset, stage or artifact, "
                          "purpose}")
    decls = []
    for i, d in enumerate(items):
        where = f"params.yaml: 'policy.internal_non_dp[{i}]'"
        if not isinstance(d, Mapping):
            raise ConfigError(f"{where} must be a mapping {{dataset, stage or artifact, purpose}}")
        unknown = set(d) - {"dataset", "stage", "artifact", "purpose"}
        if unknown:
            raise ConfigError(f"{where} has unknown key(s) {sorted(unknown)}; use dataset, stage, artifact, purpose")
        for k in ("dataset", "purpose"):
            if not isinstance(d.get(k), str) or not d[k].strip():
                raise ConfigError(f"{where} needs '{k}' (a non-empty string)")
        if not any(isinstance(d.get(k), str) and d[k] for k in ("stage", "artifact")):
            raise ConfigError(f"{where} needs 'stage' or 'artifact' (a glob naming what is audit-trail only)")
        decls.append({k: str(d[k]) for k in ("dataset", "stage", "artifact", "purpose") if d.get(k)})
    return {"require_secure_noise": secure, "internal_non_dp": decls}


def collect_non_dp(docs: Iterable[Mapping[str, Any]], rules: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every non-DP use the evidence records, with the stage, and the declaration covering it (or None)."""
    out = []
    for doc in docs:
        for use in doc.get("non_dp", []):
            decl = next((d for d in rules.get("internal_non_dp", [])
                         if d["dataset"] == use["dataset"]
                         and ("stage" not in d or fnmatch.fnmatchcase(doc["stage"], d["stage"]))
                         and ("artifact" not in d or fnmatch.fnmatchcase(use["artifact"], d["artifact"]))), None)
            out.append({**use, "stage": doc["stage"], "declared": decl})
    return out


def _compare(value: float | None, comparator: str | None, threshold: float | None) -> bool | None:
    if value is None or threshold is None or comparator is None:
        return None
    return bool(COMPARATORS[comparator](float(value), float(threshold)))


def _status(passed: bool | None) -> str:
    return NOT_EVALUATED if passed is None else (PASS if passed else FAIL)


def gate_check(doc: Mapping[str, Any], chk: Mapping[str, Any], policy: Mapping[str, float]) -> dict[str, Any]:
    """One evidence check as a gate, re-gated against the current policy when it has a policy key."""
    key = chk.get("policy_key")
    value = chk.get("value")
    base = {
        "name": chk["name"], "description": chk.get("description") or "", "stage": doc["stage"],
        "kind": doc["kind"], "policy_key": key, "value": value, "figure": chk.get("figure", value),
        "reference": chk.get("reference"), "reference_figure": chk.get("reference_figure"),
        "relation": chk.get("relation"),
    }
    if key and key in policy:
        comparator = chk.get("comparator") or default_comparator(key)
        threshold = policy[key]
        passed = _compare(value, comparator, threshold)
        note = ""
        if passed is None:
            passed, note = False, "no figure: the stage did not compute it, so the policy claim is not backed"
        elif chk.get("threshold") is not None and float(chk["threshold"]) != threshold:
            note = f"re-gated (the stage used {chk['threshold']:g})"
        return {**base, "gate": "policy", "comparator": comparator, "threshold": threshold,
                "threshold_source": f"policy.{key}", "status": _status(passed), "note": note,
                "sentence": check_sentence({**chk, "comparator": comparator}, threshold=threshold, passed=passed)}
    comparator, threshold = chk.get("comparator"), chk.get("threshold")
    passed = _compare(value, comparator, threshold)
    note = "" if passed is not None else "no figure or no threshold"
    if key:
        note = f"policy key '{key}' is not set in params.yaml 'policy:'; add it to make this a policy gate"
    return {**base, "gate": "stage check", "comparator": comparator, "threshold": threshold,
            "threshold_source": f"{doc['stage']} params", "status": _status(passed), "note": note,
            "sentence": check_sentence(chk, threshold=threshold, passed=passed)}


def collect_ledger(docs: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every ledger entry of every evidence document, once, with the stage that recorded it.

    Identical entries recorded by several stages (e.g. an evaluation echoing a synthesis stage's
    releases) count once. Two *different* entries with the same release name both count (the
    conservative choice), renamed ``<stage>:<release>``, and a warning says so.
    """
    seen: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    warnings: list[str] = []
    for doc in docs:
        for raw in doc.get("ledger", []):
            entry = dict(raw)
            name = entry["release"]
            if name in seen:
                prev = {k: v for k, v in seen[name].items() if k != "stage"}
                if prev == entry:
                    continue
                warnings.append(f"release name '{name}' is recorded with different figures by stages "
                                f"'{seen[name]['stage']}' and '{doc['stage']}'; both are counted")
                entry["release"] = f"{doc['stage']}:{name}"
            item = {**entry, "stage": doc["stage"]}
            seen[entry["release"]] = item
            out.append(item)
    return out, warnings


def ledger_of(entries: Iterable[Mapping[str, Any]]) -> PrivacyLedger:
    """A :class:`PrivacyLedger` of collected entries (the ``stage`` field dropped)."""
    led = PrivacyLedger()
    for e in entries:
        try:
            led.append(LedgerEntry.from_dict({k: v for k, v in e.items() if k != "stage"}))
        except ConfigError as err:
            raise DataError(f"evidence/{e.get('stage')}.json: bad ledger entry ({err}); re-run that stage") from None
    return led


def _gate(name: str, key: str | None, value: float | None, comparator: str, threshold: float | None, passed: bool,
          *, description: str = "", stage: str | None = "report", note: str = "", **extra: Any) -> dict[str, Any]:
    sentence = check_sentence({"name": name, "value": value, "comparator": comparator}, threshold=threshold,
                              passed=passed)
    if value is None:  # an infinite epsilon (an undeclared non-DP use) is a figure too: say it
        sentence = sentence.replace(f"{name}: n/a", f"{name}: infinite", 1)
    return {"name": name, "description": description, "stage": stage, "kind": "ledger", "policy_key": key,
            "value": value, "comparator": comparator, "threshold": threshold,
            "threshold_source": f"policy.{key}" if key else "", "gate": "ledger",
            "status": PASS if passed else FAIL, "note": note, "sentence": sentence, **extra}


def ledger_gates(entries: list[dict[str, Any]], policy: Mapping[str, float], *,
                 non_dp: list[dict[str, Any]] | None = None, rules: Mapping[str, Any] | None = None
                 ) -> tuple[list[dict[str, Any]], list[str]]:
    """The ledger gates and composition warnings.

    Per (dataset, unit, adjacency): total epsilon (infinite, so FAIL, when the dataset has an undeclared
    non-DP use); per dataset with undeclared non-DP uses: a FAIL gate naming them; per release: delta;
    with ``require_secure_noise``: no release's noise was seeded.
    """
    gates: list[dict[str, Any]] = []
    warnings: list[str] = []
    rules = rules or {}
    undeclared: dict[str, list[dict[str, Any]]] = {}
    for u in non_dp or []:
        if u["declared"] is None:
            undeclared.setdefault(u["dataset"], []).append(u)
    max_eps = policy.get("max_total_epsilon_per_dataset")
    max_delta = policy.get("max_delta")
    if max_eps is not None:
        for ds, uses in sorted(undeclared.items()):
            what = "; ".join(f"{u['stage']}: {u['what']} ({u['artifact']})" for u in uses)
            gates.append(_gate(f"{ds}: {len(uses)} non-DP use(s) not declared audit-trail only",
                               "max_total_epsilon_per_dataset", None, "<=", max_eps, False, dataset=ds,
                               description="a use of the data without differential privacy has no finite epsilon",
                               note=f"epsilon is infinite: {what}. Declare each in policy.internal_non_dp "
                                    "{dataset, stage, purpose} if its outputs never leave the audit trail"))
    if not entries:
        return gates, warnings
    led = ledger_of(entries)
    for (ds, unit, adj), tot in led.totals().items():
        rel = [e for e in entries if (e.get("dataset", ""), e["unit_of_privacy"], e["adjacency"]) == (ds, unit, adj)]
        if max_eps is not None:
            infinite = ds in undeclared
            passed = not infinite and tot["epsilon"] <= max_eps + 1e-12
            gates.append(_gate(
                f"{ds}: total epsilon of {tot['releases']} DP release(s), {unit} level, {adj}",
                "max_total_epsilon_per_dataset", None if infinite else tot["epsilon"], "<=", max_eps, passed,
                description=f"basic sequential composition of the {unit}-level {adj} releases on this dataset",
                note="infinite: the dataset has a non-DP use not declared audit-trail only" if infinite else "",
                dataset=ds, unit_of_privacy=unit, adjacency=adj))
            if not infinite and not passed and len(rel) > 1:
                parts = ", ".join(f"'{e['release']}' (epsilon {e['epsilon']:.4g})" for e in rel)
                alone = all(e["epsilon"] <= max_eps for e in rel)
                warnings.append(
                    f"dataset '{ds}' ({unit}, {adj}): releases {parts} add up to epsilon {tot['epsilon']:.4g} by "
                    f"sequential composition, past the policy's {max_eps:g}"
                    + ("; each release alone is within it, their composition is not" if alone else ""))
        for e in rel:
            if max_delta is not None:
                gates.append(_gate(f"{e['release']}: delta", "max_delta", float(e["delta"]), "<=", max_delta,
                                   float(e["delta"]) <= max_delta, description=f"{e['mechanism']} on '{ds}'",
                                   stage=e["stage"], dataset=ds))
    if rules.get("require_secure_noise"):
        seeded = [e for e in entries if e.get("noise_source", "os-entropy") == SEEDED]
        gates.append(_gate("DP releases whose noise was seeded (not a valid guarantee)", "require_secure_noise",
                           float(len(seeded)), "==", 0.0, not seeded,
                           description=f"of {len(entries)} release(s); the noise of each must come from fresh OS "
                                       "entropy, never from a seed anyone can hold",
                           note=("seeded: " + ", ".join(f"'{e['release']}' ({e['stage']})" for e in seeded))
                           if seeded else ""))
    return gates, warnings


def evaluate_gates(docs: Iterable[Mapping[str, Any]], policy: Mapping[str, Any]) -> dict[str, Any]:
    """All gates of a report, and the stages' own checks.

    Returns ``{"gates", "stage_checks", "warnings", "ledger", "verdict"}``:

    * ``gates``: the policy gates: evidence checks re-gated against a policy key that ``policy``
      sets, the ledger gates, and policy keys not evaluated yet. The verdict (and ``--strict``)
      follows these only: it is ``fail`` when any gate fails.
    * ``stage_checks``: checks a stage recorded with no policy key set in ``policy`` (sanity checks,
      findings). They are shown with their status, counted in ``verdict["stage_checks_failed"]``
      and warned about when they fail, but they are not policy gates.
    """
    docs = list(docs)
    pol = validate_policy(policy, known=evidence_policy_keys(docs))
    rules = validate_rules(policy)
    checked = [gate_check(doc, chk, pol) for doc in docs for chk in doc.get("checks", [])]
    gates = [g for g in checked if g["gate"] == "policy"]
    stage_checks = [g for g in checked if g["gate"] != "policy"]
    entries, warnings = collect_ledger(docs)
    non_dp = collect_non_dp(docs, rules)
    lg, lw = ledger_gates(entries, pol, non_dp=non_dp, rules=rules)
    gates += lg
    warnings += lw
    ledger_warnings = list(warnings)
    used = {g["policy_key"] for g in gates}
    pending = {**pol, **({"require_secure_noise": 0.0} if rules["require_secure_noise"] else {})}
    for key, value in pending.items():
        if key in used:
            continue
        why = ("no DP release in the evidence yet" if key in LEDGER_POLICY_KEYS
               else "no evidence speaks to this policy key yet")
        comparator = "==" if key in RULE_KEYS else default_comparator(key)
        name = POLICY_DESCRIPTIONS.get(key, key)
        gates.append({"name": name, "description": "", "stage": None, "kind": None,
                      "policy_key": key, "value": None, "comparator": comparator, "threshold": value,
                      "threshold_source": f"policy.{key}", "gate": "policy", "status": NOT_EVALUATED, "note": why,
                      "sentence": check_sentence({"name": name, "value": None, "comparator": comparator},
                                                 threshold=value, passed=None)})
    declared_unused = [d for d in rules["internal_non_dp"] if not any(u["declared"] is d for u in non_dp)]
    for d in declared_unused:
        warnings.append(f"policy.internal_non_dp declares {d['dataset']} / {d.get('stage') or d.get('artifact')} "
                        "audit-trail only, but no evidence records such a use; remove the entry if the stage is gone")
    rank = {FAIL: 0, PASS: 1, NOT_EVALUATED: 2}
    gates.sort(key=lambda g: (rank[g["status"]], g["gate"] != "policy"))  # failures first; stable within a group
    stage_checks.sort(key=lambda g: rank[g["status"]])
    failed_checks = [g for g in stage_checks if g["status"] == FAIL]
    if failed_checks:
        warnings.append(f"{len(failed_checks)} stage check(s) without a policy key failed: "
                        + "; ".join(f"{g['stage']}: {g['name']}" for g in failed_checks[:5])
                        + ("; ..." if len(failed_checks) > 5 else "")
                        + ". They are findings of the stages, not policy gates; see the stage sections")
    return {"gates": gates, "stage_checks": stage_checks, "warnings": warnings, "ledger_warnings": ledger_warnings,
            "ledger": entries, "non_dp": non_dp, "rules": rules,
            "verdict": verdict_of(gates, stage_checks=len(stage_checks), stage_checks_failed=len(failed_checks))}


def verdict_of(gates: list[dict[str, Any]], *, stage_checks: int = 0, stage_checks_failed: int = 0) -> dict[str, Any]:
    """The verdict over the evaluated policy gates; gates not evaluated are counted apart, never in the line.

    ``status`` is ``fail`` when a gate fails, ``pass`` when at least one gate was evaluated and none fails,
    ``not evaluated`` when no gate was evaluated at all (no policy, or no evidence speaks to it).
    ``strict_failure`` is the one line ``trust report --strict`` exits 1 with (None when it passes):
    a failing gate, or nothing evaluated (a report that checked nothing is no pass).
    """
    counts = {s: sum(1 for g in gates if g["status"] == s) for s in STATUSES}
    evaluated = counts[PASS] + counts[FAIL]
    if counts[FAIL]:
        status = FAIL
        failed = [g["name"] for g in gates if g["status"] == FAIL]
        line = f"FAIL: {counts[FAIL]} of {evaluated} evaluated policy gates fail"
        strict = (f"{counts[FAIL]} policy gate(s) fail: " + "; ".join(failed[:3]) + ("; ..." if len(failed) > 3 else ""))
    elif evaluated:
        status, line, strict = PASS, f"PASS: all {evaluated} evaluated policy gates pass", None
    else:
        status = NOT_EVALUATED
        line = "NOT EVALUATED: no policy gate was evaluated"
        strict = ("no policy gate was evaluated: params.yaml has no 'policy:' thresholds that the evidence speaks "
                  "to; add a policy (see params.yaml) or run the stages that record evidence for it")
    return {"status": status, "passed": counts[PASS], "failed": counts[FAIL], "not_evaluated": counts[NOT_EVALUATED],
            "evaluated": evaluated, "gates": len(gates), "line": line, "strict_failure": strict,
            "stage_checks": stage_checks, "stage_checks_failed": stage_checks_failed}


__all__ = ["PASS", "FAIL", "NOT_EVALUATED", "STATUSES", "POLICY_DESCRIPTIONS", "POLICY_KEYS", "PolicyKey",
           "register_policy_key", "evidence_policy_keys", "LEDGER_POLICY_KEYS", "RULE_KEYS",
           "default_comparator", "validate_policy", "validate_rules", "gate_check", "collect_ledger", "collect_non_dp",
           "ledger_of", "ledger_gates", "evaluate_gates", "verdict_of"]
