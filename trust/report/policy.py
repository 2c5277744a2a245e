"""Policy gates: every claim of the report, its figure, its threshold and its verdict.

The report is the authority on pass/fail. Stages record their checks with the threshold they
were run with; the report re-gates every check that carries a ``policy_key`` against the
*current* ``policy:`` block of ``params.yaml`` (so changing a threshold only re-runs the report
stage), and computes the privacy-ledger gates itself:

* ``max_total_epsilon_per_dataset``: the total epsilon of every DP release that touches a dataset,
  by basic sequential composition (:meth:`trust.privacy.PrivacyLedger.totals`), must not pass it;
* ``max_delta``: every release's delta must not pass it.

A policy key that no evidence speaks to yet is listed as ``not evaluated`` (not a failure).

Gate statuses: ``pass``, ``fail``, ``not evaluated``. A gate backed by a policy key whose figure
is missing (NaN, not computed) *fails*: a claim the policy asks for must be backed by a figure.

Checks a stage records without a policy key (or with one the policy does not set) are *stage
checks*: shown with their status against the stage's own threshold, warned about when they fail,
but not policy gates: the verdict and ``trust report --strict`` follow the policy gates only.

Everything here is pure: evidence dicts and the policy mapping in, gate dicts out.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from trust.errors import ConfigError, DataError
from trust.privacy.ledger import LedgerEntry, PrivacyLedger
from trust.report.evidence import COMPARATORS

PASS, FAIL, NOT_EVALUATED = "pass", "fail", "not evaluated"
STATUSES = (PASS, FAIL, NOT_EVALUATED)

LEDGER_POLICY_KEYS = ("max_total_epsilon_per_dataset", "max_delta")

#: What each known policy key means, for the summary table. Unknown keys are shown by name.
POLICY_DESCRIPTIONS: dict[str, str] = {
    "max_total_epsilon_per_dataset": "total epsilon of all DP releases on one dataset (sequential composition)",
    "max_delta": "delta of every DP release",
    "min_tstr_auc": "utility of the synthetic data: ROC AUC of a model trained on synthetic, tested on real",
    "max_dcr_share": "share of synthetic rows closer to a training row than to any holdout row (DCR audit)",
    "max_mia_auc": "membership-inference attack AUC against the synthetic data (0.5 = chance)",
    "max_exact_copies": "synthetic rows that are exact copies of training rows",
    "max_aggregate_mse_ratio": "test MSE of the interpolating estimator with rho chosen on held-out bags, relative to the better of bag-level and instance-level (linear model, mean over seeds, worst bag size)",
    "max_ece": "expected calibration error (next-round capability)",
    "max_nfr": "negative flip rate of a model update (next-round capability)",
    "max_forget_accuracy": "accuracy on the forgotten class after unlearning (next-round capability)",
    "max_mia_gap_to_retrain": "membership-inference gap between the unlearned and a retrained model (next-round capability)",
}


def default_comparator(policy_key: str) -> str:
    """``<=`` for ``max_*`` keys, ``>=`` for ``min_*`` keys (a policy key must say which it is)."""
    if policy_key.startswith("max_"):
        return "<="
    if policy_key.startswith("min_"):
        return ">="
    raise ConfigError(f"policy key '{policy_key}' must start with 'max_' or 'min_' so the report knows its direction")


def validate_policy(policy: Any) -> dict[str, float]:
    """Check the ``policy:`` block: a mapping of ``max_*``/``min_*`` keys to finite numbers."""
    if policy is None:
        return {}
    if not isinstance(policy, Mapping):
        raise ConfigError("params.yaml: 'policy' must be a mapping of thresholds (e.g. 'max_delta: 1.0e-5')")
    out: dict[str, float] = {}
    for key, value in policy.items():
        key = str(key)
        default_comparator(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            raise ConfigError(f"params.yaml: 'policy.{key}' = {value!r} must be a finite number")
        out[key] = float(value)
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
        "kind": doc["kind"], "policy_key": key, "value": value,
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
                "threshold_source": f"policy.{key}", "status": _status(passed), "note": note}
    comparator, threshold = chk.get("comparator"), chk.get("threshold")
    passed = _compare(value, comparator, threshold)
    note = "" if passed is not None else "no figure or no threshold"
    if key:
        note = f"policy key '{key}' is not set in params.yaml 'policy:'; add it to make this a policy gate"
    return {**base, "gate": "stage check", "comparator": comparator, "threshold": threshold,
            "threshold_source": f"{doc['stage']} params", "status": _status(passed), "note": note}


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


def ledger_gates(entries: list[dict[str, Any]], policy: Mapping[str, float]) -> tuple[list[dict[str, Any]], list[str]]:
    """The ledger gates (total epsilon per dataset, delta per release) and composition warnings."""
    gates: list[dict[str, Any]] = []
    warnings: list[str] = []
    if not entries:
        return gates, warnings
    led = ledger_of(entries)
    max_eps = policy.get("max_total_epsilon_per_dataset")
    max_delta = policy.get("max_delta")
    for dataset, tot in led.totals().items():
        rel = [e for e in entries if (e.get("dataset") or e["data_sha256"]) == dataset]
        units = sorted({e["unit_of_privacy"] for e in rel})
        if max_eps is not None:
            passed = tot["epsilon"] <= max_eps + 1e-12
            gates.append({
                "name": f"{dataset}: total epsilon of {tot['releases']} DP release(s)",
                "description": "basic sequential composition: the epsilons of every release on this dataset add up"
                               + (f" (units of privacy: {', '.join(units)})" if len(units) > 1 else ""),
                "stage": "report", "kind": "ledger", "policy_key": "max_total_epsilon_per_dataset",
                "value": tot["epsilon"], "comparator": "<=", "threshold": max_eps,
                "threshold_source": "policy.max_total_epsilon_per_dataset", "gate": "ledger",
                "status": PASS if passed else FAIL, "note": "", "dataset": dataset,
            })
            if not passed and len(rel) > 1:
                parts = ", ".join(f"'{e['release']}' (epsilon {e['epsilon']:.4g})" for e in rel)
                alone = all(e["epsilon"] <= max_eps for e in rel)
                warnings.append(
                    f"dataset '{dataset}': releases {parts} add up to epsilon {tot['epsilon']:.4g} by sequential "
                    f"composition, past the policy's {max_eps:g}"
                    + ("; each release alone is within it, their composition is not" if alone else ""))
        for e in rel:
            if max_delta is not None:
                passed = float(e["delta"]) <= max_delta
                gates.append({
                    "name": f"{e['release']}: delta", "description": f"{e['mechanism']} on '{dataset}'",
                    "stage": e["stage"], "kind": "ledger", "policy_key": "max_delta", "value": float(e["delta"]),
                    "comparator": "<=", "threshold": max_delta, "threshold_source": "policy.max_delta",
                    "gate": "ledger", "status": PASS if passed else FAIL, "note": "", "dataset": dataset,
                })
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
    pol = validate_policy(policy)
    checked = [gate_check(doc, chk, pol) for doc in docs for chk in doc.get("checks", [])]
    gates = [g for g in checked if g["gate"] == "policy"]
    stage_checks = [g for g in checked if g["gate"] != "policy"]
    entries, warnings = collect_ledger(docs)
    lg, lw = ledger_gates(entries, pol)
    gates += lg
    warnings += lw
    ledger_warnings = list(warnings)
    used = {g["policy_key"] for g in gates}
    for key, value in pol.items():
        if key in used:
            continue
        why = ("no DP release in the evidence yet" if key in LEDGER_POLICY_KEYS
               else "no evidence speaks to this policy key yet")
        gates.append({"name": POLICY_DESCRIPTIONS.get(key, key), "description": "", "stage": None, "kind": None,
                      "policy_key": key, "value": None, "comparator": default_comparator(key), "threshold": value,
                      "threshold_source": f"policy.{key}", "gate": "policy", "status": NOT_EVALUATED, "note": why})
    rank = {FAIL: 0, PASS: 1, NOT_EVALUATED: 2}
    gates.sort(key=lambda g: (rank[g["status"]], g["gate"] != "policy"))  # failures first; stable within a group
    stage_checks.sort(key=lambda g: rank[g["status"]])
    failed_checks = [g for g in stage_checks if g["status"] == FAIL]
    if failed_checks:
        warnings.append(f"{len(failed_checks)} stage check(s) without a policy key failed: "
                        + "; ".join(f"{g['stage']}: {g['name']}" for g in failed_checks[:5])
                        + ("; ..." if len(failed_checks) > 5 else "")
                        + ". They are findings of the stages, not policy gates; see the stage sections")
    counts = {s: sum(1 for g in gates if g["status"] == s) for s in STATUSES}
    verdict = {"status": FAIL if counts[FAIL] else PASS, "passed": counts[PASS], "failed": counts[FAIL],
               "not_evaluated": counts[NOT_EVALUATED], "gates": len(gates),
               "stage_checks": len(stage_checks), "stage_checks_failed": len(failed_checks)}
    return {"gates": gates, "stage_checks": stage_checks, "warnings": warnings, "ledger_warnings": ledger_warnings,
            "ledger": entries, "verdict": verdict}


__all__ = ["PASS", "FAIL", "NOT_EVALUATED", "STATUSES", "POLICY_DESCRIPTIONS", "LEDGER_POLICY_KEYS",
           "default_comparator", "validate_policy", "gate_check", "collect_ledger", "ledger_of", "ledger_gates",
           "evaluate_gates"]
