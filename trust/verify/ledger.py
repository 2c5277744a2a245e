"""Epsilon claims: every ledger entry beside its independent epsilon, and the totals per (dataset, unit of
privacy, adjacency) re-added and compared with the report's."""

from __future__ import annotations

import fnmatch
import math
from typing import Any, Iterable, Mapping

from trust.verify.claims import Claim, claim
from trust.verify.epsilon import RELATIVE_TOLERANCE, check_entry

_STATUS = {"verified": True, "mismatch": False, "unverifiable": None}


def collect_entries(evidence: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every ledger entry with its evidence file and stage; identical entries recorded twice count once."""
    out, seen = [], {}
    for name, doc in evidence.items():
        for e in doc.get("ledger", []):
            e = dict(e)
            if e["release"] in seen and seen[e["release"]] == e:
                continue
            seen.setdefault(e["release"], e)
            out.append({**e, "_file": name, "_stage": doc["stage"]})
    return out


def epsilon_claims(entries: Iterable[Mapping[str, Any]], *, tolerance: float = RELATIVE_TOLERANCE
                   ) -> tuple[list[Claim], dict[str, float | None]]:
    """One claim per ledger entry; returns them and the independent epsilon per release."""
    claims, indep = [], {}
    for e in entries:
        r = check_entry(e, tolerance=tolerance)
        indep[e["release"]] = r.independent_epsilon
        what = f"release '{e['release']}': epsilon {r.ledger_epsilon:.6g} at delta {float(e['delta']):.3g}"
        reason = r.reason + (f"; {r.method}" if r.method else "")
        claims.append(claim("epsilon", e["_file"], what, _STATUS[r.status], reason, release=e["release"],
                            family=r.family, ledger_epsilon=r.ledger_epsilon, independent_epsilon=r.independent_epsilon))
    return claims, indep


def undeclared_non_dp(evidence: Mapping[str, Mapping[str, Any]], policy: Mapping[str, Any]) -> set[str]:
    """Datasets with a non-DP use no ``policy.internal_non_dp`` declaration covers (their totals are infinite)."""
    decls = [d for d in (policy.get("internal_non_dp") or []) if isinstance(d, Mapping)]
    out = set()
    for doc in evidence.values():
        for use in doc.get("non_dp", []):
            if not any(d.get("dataset") == use["dataset"]
                       and (not d.get("stage") or fnmatch.fnmatchcase(doc["stage"], str(d["stage"])))
                       and (not d.get("artifact") or fnmatch.fnmatchcase(use["artifact"], str(d["artifact"])))
                       for d in decls):
                out.add(use["dataset"])
    return out


def totals(entries: Iterable[Mapping[str, Any]], infinite: set[str], indep: Mapping[str, float | None]
           ) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per (dataset, unit, adjacency): the ledger's total epsilon (None = infinite), delta, releases, independent total."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in entries:
        k = (str(e.get("dataset", "")), str(e["unit_of_privacy"]), str(e["adjacency"]))
        t = out.setdefault(k, {"epsilon": 0.0, "delta": 0.0, "releases": 0, "independent": 0.0})
        t["epsilon"] += float(e["epsilon"])
        t["delta"] += float(e["delta"])
        t["releases"] += 1
        i = indep.get(e["release"])
        t["independent"] = None if i is None or t["independent"] is None else t["independent"] + i
    for k, t in out.items():
        t["delta"] = min(1.0, t["delta"])
        if k[0] in infinite:
            t["epsilon"] = None
    return out


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def total_claims(mine: Mapping[tuple[str, str, str], Mapping[str, Any]], report: Mapping[str, Any] | None,
                 report_name: str) -> list[Claim]:
    """The report's totals against the verifier's re-added ones (one claim per guarantee)."""
    theirs = {}
    for t in ((report or {}).get("ledger") or {}).get("totals") or []:
        theirs[(t.get("dataset", ""), t.get("unit_of_privacy"), t.get("adjacency"))] = t
    claims = []
    for k in sorted(set(mine) | set(theirs)):
        what = f"total epsilon of '{k[0]}' ({k[1]}, {k[2]})"
        m, r = mine.get(k), theirs.get(k)
        eps = None if m is None else m["epsilon"]
        fig = {"ledger_total": eps, "independent_total": None if m is None else m["independent"],
               "report_total": None if r is None else r.get("epsilon")}
        if report is None:
            claims.append(claim("total", report_name, what, None, "no report to compare with", **fig))
        elif m is None or r is None:
            claims.append(claim("total", report_name, what, False,
                                "the report shows a total the ledger does not have" if m is None else
                                "the report has no total for this guarantee", **fig))
        else:
            ok = _close(eps, r.get("epsilon")) and _close(m["delta"], r.get("delta"))
            shown = "infinite" if eps is None else f"{eps:.6g}"
            claims.append(claim("total", report_name, what, ok,
                                f"re-added {m['releases']} release(s): {shown} (independent "
                                f"{'n/a' if m['independent'] is None else format(m['independent'], '.6g')}), "
                                f"delta {m['delta']:.3g}; report says {r.get('epsilon')}, delta {r.get('delta')}",
                                **fig))
    return claims


__all__ = ["collect_entries", "epsilon_claims", "undeclared_non_dp", "totals", "total_claims"]
