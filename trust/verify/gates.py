"""Gates re-evaluated from the evidence's figures against ``params.yaml``'s ``policy:``, with the verifier's own
comparisons (nothing of :mod:`trust.report.policy`), and the report's figures, gates and verdict checked
against them.

A policy key says its direction in its name: ``max_*`` is ``figure <= threshold``, ``min_*`` is
``figure >= threshold``. A relative check (``relation`` ``ratio`` or ``difference``) is re-derived from its
``figure`` and ``reference_figure`` first; a recorded value that does not follow from them is a MISMATCH.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from trust.verify.claims import Claim, claim

_RULES = ("require_secure_noise", "internal_non_dp")
_OPS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
        "==": lambda a, b: a == b}
SEEDED = "seeded (not a valid guarantee)"


def direction(key: str) -> str | None:
    return "<=" if key.startswith("max_") else ">=" if key.startswith("min_") else None


def thresholds(policy: Mapping[str, Any] | None) -> dict[str, float]:
    """The numeric thresholds of the policy (rules and non-numbers left out)."""
    return {str(k): float(v) for k, v in (policy or {}).items()
            if k not in _RULES and isinstance(v, (int, float)) and not isinstance(v, bool) and direction(str(k))}


def _num(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def derived_value(chk: Mapping[str, Any]) -> tuple[float | None, str]:
    """The value a check is judged by, re-derived from its figures; and a problem when the record disagrees."""
    rel, value = chk.get("relation"), _num(chk.get("value"))
    if rel not in ("ratio", "difference") or chk.get("reference") is None:
        return value, ""
    f, r = _num(chk.get("figure")), _num(chk.get("reference_figure"))
    if f is None or r is None or (rel == "ratio" and r == 0):
        mine = None
    else:
        mine = f / r if rel == "ratio" else f - r
    same = (mine is None and value is None) or (mine is not None and value is not None
                                                and math.isclose(mine, value, rel_tol=1e-9, abs_tol=1e-12))
    return mine, "" if same else f"recorded value {value} does not follow from {f} {rel} {r} = {mine}"


def regate(doc: Mapping[str, Any], chk: Mapping[str, Any], policy: Mapping[str, float]) -> dict[str, Any]:
    """One evidence check re-gated: ``{stage, name, key, value, threshold, comparator, status, problem}``."""
    key = chk.get("policy_key")
    value, problem = derived_value(chk)
    out = {"stage": doc["stage"], "name": chk["name"], "key": key, "value": value, "problem": problem}
    if key and key in policy:
        comp = direction(key)
        status = "fail" if value is None else ("pass" if _OPS[comp](value, policy[key]) else "fail")
        return {**out, "threshold": policy[key], "comparator": comp, "status": status, "gate": "policy"}
    t, comp = _num(chk.get("threshold")), chk.get("comparator")
    status = "not evaluated" if value is None or t is None or comp not in _OPS else \
        ("pass" if _OPS[comp](value, t) else "fail")
    return {**out, "threshold": t, "comparator": comp, "status": status, "gate": "stage check"}


def _report_gates(report: Mapping[str, Any]) -> dict[tuple[Any, Any], Mapping[str, Any]]:
    return {(g.get("stage"), g.get("name")): g for g in [*report.get("gates", []), *report.get("stage_checks", [])]}


def _same(a: Any, b: Any) -> bool:
    a, b = _num(a), _num(b)
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9,
                                                                                          abs_tol=1e-12))


def gate_claims(evidence: Mapping[str, Mapping[str, Any]], policy: Mapping[str, Any] | None,
                report: Mapping[str, Any] | None, report_name: str) -> tuple[list[Claim], list[dict[str, Any]]]:
    """One claim per policy gate of the evidence (re-evaluated, and the report's row compared with it)."""
    pol = thresholds(policy)
    theirs = _report_gates(report or {})
    claims, mine = [], []
    for name, doc in evidence.items():
        for chk in doc.get("checks", []):
            g = regate(doc, chk, pol)
            if g["gate"] != "policy":
                continue
            mine.append(g)
            val = "n/a" if g["value"] is None else f"{g['value']:.6g}"
            what = f"gate '{g['name']}' ({g['stage']}): {val} {g['comparator']} {g['threshold']:.6g} -> {g['status']}"
            r = theirs.get((g["stage"], g["name"]))
            probs = [g["problem"]] if g["problem"] else []
            if report is None:
                claims.append(claim("gate", name, what, False if probs else None,
                                    "; ".join(probs) or "no report to compare with"))
                continue
            if r is None:
                probs.append("the report has no such gate")
            else:
                if not _same(r.get("threshold"), g["threshold"]):
                    probs.append(f"the report's threshold {r.get('threshold')} is not policy.{g['key']} = {g['threshold']}")
                if not _same(r.get("value"), chk.get("value")):
                    probs.append(f"the report's figure {r.get('value')} is not the evidence's {chk.get('value')}")
                if r.get("status") != g["status"]:
                    probs.append(f"the report says {r.get('status')}")
            report_side = len(probs) > (1 if g["problem"] else 0)
            claims.append(claim("gate", report_name if report_side else name, what, not probs,
                                "; ".join(probs) or "re-evaluated from the evidence figure against "
                                f"policy.{g['key']}; the report agrees"))
    return claims, mine


_LEDGER_FIELDS = ("epsilon", "delta", "noise_multiplier", "sample_rate", "steps", "max_grad_norm", "unit_of_privacy",
                  "adjacency", "dataset", "noise_source", "mechanism")


def figures_claims(evidence: Mapping[str, Mapping[str, Any]], report: Mapping[str, Any] | None,
                   report_name: str) -> list[Claim]:
    """Per evidence file: the report shows its check figures, ledger entries, fingerprints and MLflow run as recorded."""
    if report is None:
        return []
    theirs = _report_gates(report)
    entries = {(e.get("stage"), e.get("release")): e for e in (report.get("ledger") or {}).get("entries", [])}
    prints = {(d.get("name"), d.get("fingerprint")) for d in (report.get("lineage") or {}).get("datasets", [])}
    runs = (report.get("lineage") or {}).get("mlflow_runs") or {}
    claims = []
    for name, doc in evidence.items():
        stage, probs = doc["stage"], []
        for chk in doc.get("checks", []):
            r = theirs.get((stage, chk["name"]))
            if r is None:
                probs.append(f"check '{chk['name']}' is not in the report")
            elif not _same(r.get("value"), chk.get("value")):
                probs.append(f"check '{chk['name']}': report {r.get('value')}, evidence {chk.get('value')}")
        for e in doc.get("ledger", []):
            r = entries.get((stage, e["release"])) or entries.get((stage, f"{stage}:{e['release']}"))
            diff = [f for f in _LEDGER_FIELDS if r is None or (r.get(f) != e.get(f) and not _same(r.get(f), e.get(f)))]
            if diff and r is None and any(k[1] == e["release"] for k in entries):
                diff = []  # an identical entry recorded by another stage: the report shows it once
            if diff:
                probs.append(f"ledger '{e['release']}': " + ("not in the report" if r is None else
                                                             f"{', '.join(diff)} differ"))
        probs += [f"fingerprint of '{d['name']}' differs" for d in doc.get("data", [])
                  if (d["name"], d["fingerprint"]) not in prints]
        if runs.get(stage) != doc.get("mlflow_run_id"):
            probs.append(f"MLflow run {runs.get(stage)} in the report, {doc.get('mlflow_run_id')} in the evidence")
        claims.append(claim("report", report_name, f"the report shows the figures of {name}", not probs,
                            "; ".join(probs[:4]) + (" ..." if len(probs) > 4 else "") if probs else
                            f"{len(doc.get('checks', []))} check(s), {len(doc.get('ledger', []))} ledger entries, "
                            f"{len(doc.get('data', []))} fingerprint(s) and the MLflow run as recorded"))
    return claims


def ledger_gates(entries: list[Mapping[str, Any]], tots: Mapping[tuple[str, str, str], Mapping[str, Any]],
                 policy: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The ledger gates of the policy, from the verifier's own totals: total epsilon, delta, secure noise."""
    pol, out = thresholds(policy), []
    if "max_total_epsilon_per_dataset" in pol:
        for k, t in tots.items():
            ok = t["epsilon"] is not None and t["epsilon"] <= pol["max_total_epsilon_per_dataset"] + 1e-12
            out.append({"key": "max_total_epsilon_per_dataset", "name": f"total epsilon {k}", "status":
                        "pass" if ok else "fail", "dataset": k[0], "unit_of_privacy": k[1], "adjacency": k[2]})
    if "max_delta" in pol:
        out += [{"key": "max_delta", "name": f"delta of '{e['release']}'", "status":
                 "pass" if float(e["delta"]) <= pol["max_delta"] else "fail"} for e in entries]
    if (policy or {}).get("require_secure_noise") is True and entries:
        seeded = [e for e in entries if e.get("noise_source") == SEEDED]
        out.append({"key": "require_secure_noise", "name": "no seeded DP noise", "status":
                    "fail" if seeded else "pass"})
    return out


def verdict_claim(mine: list[Mapping[str, Any]], report: Mapping[str, Any] | None, report_name: str) -> Claim:
    """The report's verdict against the verdict of the re-evaluated gates."""
    failed = [g["name"] for g in mine if g["status"] == "fail"]
    status = "fail" if failed else ("pass" if mine else "not evaluated")
    what = f"verdict: {status} ({len(mine) - len(failed)} of {len(mine)} re-evaluated policy gates pass)"
    if report is None:
        return claim("verdict", report_name, what, None, "no report to compare with")
    theirs = (report.get("verdict") or {}).get("status")
    return claim("verdict", report_name, what, theirs == status,
                 f"the report says {theirs}" + (f"; failing: {', '.join(failed[:3])}" if failed else ""))


__all__ = ["direction", "thresholds", "derived_value", "regate", "gate_claims", "figures_claims", "ledger_gates", "verdict_claim"]
