"""``verify_project``: the verifier's file boundary (like :mod:`trust.report.project`): it reads a project's
evidence, signatures, report, policy, data, ``dvc.lock`` and MLflow store, and returns every claim checked.

What an auditor needs: the evidence folder (with its ``*.intoto.jsonl`` signatures), ``reports/`` (with
the report's signature and ``trust-signing-key.pub``), ``params.yaml`` (the policy) and the organisation's
public key. The release folders, the data (``outputs/``) with the lineage key, ``dvc.lock`` and the MLflow
store turn more claims from UNVERIFIABLE into VERIFIED.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Mapping

from trust.errors import ConfigError, DataError
from trust.verify.claims import UNVERIFIABLE, VERIFIED, Claim, Verification, claim
from trust.verify.epsilon import RELATIVE_TOLERANCE

AUTO = "auto"


def read_evidence(evidence_dir: Path, root: Path) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` in the evidence folder, parsed and schema-checked (DataError: one line, exit 2)."""
    from trust.evidence import validate_evidence

    if not evidence_dir.is_dir():
        raise DataError(f"evidence folder '{evidence_dir}' does not exist; pass --root DIR of the project (or copy the "
                        "evidence you received into DIR/evidence)")
    files = sorted(evidence_dir.glob("*.json"))
    if not files:
        raise DataError(f"evidence folder '{evidence_dir}' holds no evidence (*.json); run the pipeline first")
    out = {}
    for f in files:
        name = os.path.relpath(f, root) if f.resolve().is_relative_to(root.resolve()) else str(f)
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DataError(f"'{name}': not valid JSON ({type(e).__name__}); it was damaged after the run") from None
        out[Path(name).as_posix()] = validate_evidence(doc, source=name)
    return out


def _report(report_dir: Path) -> dict[str, Any] | None:
    f = report_dir / "compliance.json"
    if not f.exists():
        return None
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"'{f}': not valid JSON ({type(e).__name__}); it was damaged after rendering") from None
    if not isinstance(doc, dict):
        raise DataError(f"'{f}': not a report (a JSON object is expected)")
    return doc


def resolve_public_key(public_key: Any, report_dir: Path, root: Path) -> tuple[Any, str, list[Claim]]:
    """The key signatures are checked with, where it came from, and the claim about the key that travels with
    the report: ``--public-key`` > the organisation's key on this machine > the report's own copy."""
    from trust.signing import PUBLIC_KEY_NAME, key_from_pem, load_public_key, load_signer, signing_key_path

    shipped = report_dir / PUBLIC_KEY_NAME
    shipped_key = key_from_pem(shipped.read_bytes(), source=f"'{shipped}'") if shipped.exists() else None
    if public_key is not None:
        key = public_key if hasattr(public_key, "keyid") else load_public_key(public_key)
        source = "the public key given"
    elif signing_key_path().exists():
        try:
            key, source = load_signer(project=root, create=False).public_key, "the organisation's key on this machine"
        except ConfigError:
            key, source = shipped_key, "the key that came with the report"
    else:
        key, source = shipped_key, "the key that came with the report"
    name = str(shipped.relative_to(root)) if shipped.is_relative_to(root) else str(shipped)
    if shipped_key is None:
        rendered = (report_dir / "compliance.json").exists()
        return key, source, [claim("signature", name, "the report carries its public key", False, "it is missing")
                             ] if rendered else []
    if key is shipped_key:
        return key, source, [claim("signature", name, "the public key is the organisation's", None,
                                   "only the report's own copy is at hand; get the organisation's public key by "
                                   "another channel and pass --public-key")]
    same = shipped_key.keyid == key.keyid
    return key, source, [claim("signature", name, "the public key that travels with the report is the organisation's",
                               same, f"key {key.keyid[:12]} ({source})" if same else
                               f"it is key {shipped_key.keyid[:12]}, {source} is {key.keyid[:12]}")]


def resolve_lineage_key(lineage_key: Any, root: Path) -> bytes | None:
    """``--lineage-key FILE`` (or bytes), else the data owner's key as :mod:`trust.data.hashing` finds it, else None."""
    from trust.data.hashing import lineage_key as find_key

    if lineage_key is None or isinstance(lineage_key, bytes):
        return lineage_key
    if lineage_key == AUTO:
        try:
            return find_key(root, create=False)
        except ConfigError:
            return None
    path = Path(lineage_key)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"lineage key file '{path}' cannot be read ({type(e).__name__}); pass the data owner's "
                          "key file") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = text.encode()
    if len(key) < 32:
        raise ConfigError(f"lineage key file '{path}' holds {len(key)} bytes, not a lineage key (at least 32)")
    return key


def verify_project(root: str | os.PathLike[str] = ".", *, public_key: Any = None, lineage_key: Any = AUTO,
                   evidence_dir: str | os.PathLike[str] | None = None, report_dir: str | os.PathLike[str] | None = None,
                   params: Mapping[str, Any] | None = None, dvc: bool = True, mlflow: bool = True,
                   report: bool = True, tolerance: float = RELATIVE_TOLERANCE) -> Verification:
    """Check every claim of a project's evidence and report (see :mod:`trust.verify`).

    ``public_key``: a PEM file or a key (default: this machine's organisation key, else the report's copy);
    ``lineage_key``: a key file, bytes, None (none: fingerprints UNVERIFIABLE) or ``"auto"`` (the data owner's);
    ``dvc`` / ``mlflow``: run those lineage checks; ``report=False``: before rendering (the report stage), the
    gates, totals and verdict are re-derived without a report to compare with. Raises :class:`~trust.errors.TrustError` on bad input.
    """
    from trust.data.io import read_yaml_mapping
    from trust.verify import gates, ledger, lineage, releases, signatures

    root = Path(root).resolve()
    if not root.is_dir():
        raise DataError(f"project folder '{root}' does not exist; pass --root DIR")
    evidence = read_evidence(Path(evidence_dir) if evidence_dir else root / "evidence", root)
    rdir = Path(report_dir) if report_dir else root / "reports"
    rep, rname = _report(rdir) if report else None, str((rdir / "compliance.json").relative_to(root)) if rdir.is_relative_to(root) \
        else str(rdir / "compliance.json")
    if params is None:
        params = read_yaml_mapping(root / "params.yaml") if (root / "params.yaml").exists() else {}
    policy = params.get("policy") if isinstance(params.get("policy"), Mapping) else {}
    key, key_source, claims = resolve_public_key(public_key, rdir, root)
    lkey = resolve_lineage_key(lineage_key, root)

    ev_claims, statements = signatures.evidence_claims(root, evidence, key)
    claims += ev_claims
    if rep is not None:
        claims += signatures.report_claims(root, rdir, evidence, key)
    elif report:
        claims.append(claim("report", rname, "the report is present", None, "no report rendered yet (trust report)"))
    claims += gates.figures_claims(evidence, rep, rname)
    entries = ledger.collect_entries(evidence)
    eps_claims, indep = ledger.epsilon_claims(entries, tolerance=tolerance)
    infinite = ledger.undeclared_non_dp(evidence, policy)
    tots = ledger.totals(entries, infinite, indep)
    claims += eps_claims + ledger.total_claims(tots, rep, rname)
    gate_claims, mine = gates.gate_claims(evidence, policy, rep, rname)
    mine += gates.ledger_gates(entries, tots, policy)
    if "max_total_epsilon_per_dataset" in gates.thresholds(policy):
        mine += [{"name": f"undeclared non-DP use of '{ds}'", "status": "fail"} for ds in sorted(infinite)
                 if not any(k[0] == ds for k in tots)]
    claims += gate_claims + [gates.verdict_claim(mine, rep, rname)]
    index = lineage.table_index(root)
    claims += lineage.fingerprint_claims(root, evidence, lkey, index, params)
    if dvc:
        claims += lineage.dvc_claims(root)
    if mlflow:
        claims += lineage.mlflow_claims(root, evidence)
    claims += releases.release_claims(root, evidence, statements, index)
    if not report:  # nothing to compare with yet: a re-derived figure is what the section shows
        claims = [dataclasses.replace(c, status=VERIFIED, reason="re-derived before rendering")
                  if c.status == UNVERIFIABLE and c.reason == "no report to compare with" else c for c in claims]
    return Verification(tuple(claims), root=str(root),
                        key=f"{key.keyid[:16]} ({key_source})" if key is not None else "none")


__all__ = ["AUTO", "read_evidence", "resolve_public_key", "resolve_lineage_key", "verify_project"]
