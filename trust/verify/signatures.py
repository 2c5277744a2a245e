"""Signatures and digests: every evidence file and the report carry a valid signature by the organisation's
key, and every digest their statements vouch for matches the file as it is now."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from trust.verify.claims import Claim, claim
from trust.signing import (KEYED_DIGEST, attestation_path, open_envelope, read_envelope, sha256_file)


def _subjects(stmt: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    return {str(s.get("name")): dict(s.get("digest") or {}) for s in stmt.get("subject", []) if isinstance(s, dict)}


def signed_statement(path: Path, name: str, key, claims: list[Claim], what: str) -> dict[str, Any] | None:
    """The statement signed for ``path`` (appending its signature claim), or None when unsigned or invalid."""
    att = attestation_path(path)
    att_name = str(Path(name).with_name(att.name))
    if not att.exists():
        claims.append(claim("signature", name, f"{what} is signed", False, f"no attestation: {att_name} is missing"))
        return None
    env = read_envelope(att)  # DataError (exit 2) on a corrupt envelope
    if key is None:
        claims.append(claim("signature", name, f"{what} is signed", None,
                            "no public key to check it with (pass --public-key)"))
        return None
    stmt, why = open_envelope(env, key)
    claims.append(claim("signature", name, f"{what} is signed by the organisation's key", stmt is not None,
                        why or f"valid Ed25519 signature by key {key.keyid[:12]} ({att_name})"))
    return stmt


def file_digest_claim(root: Path, name: str, signed: Mapping[str, Mapping[str, str]], category: str,
                      what: str) -> Claim:
    """The file ``root/name`` has the sha256 the statement vouches for."""
    f = root / name
    want = (signed.get(name) or {}).get("sha256")
    if want is None:
        return claim(category, name, what, False, "the signed statement has no sha256 of this file")
    if not f.is_file():  # a release not handed over is not at hand; an evidence or report file is read, so present
        return claim(category, name, what, None if category == "release" else False, "the file is not here")
    have = sha256_file(f)
    return claim(category, name, what, have == want,
                 "sha256 matches the signed statement" if have == want else
                 f"changed after signing: sha256 {have[:12]}..., signed {want[:12]}...")


def evidence_claims(root: Path, evidence: Mapping[str, Mapping[str, Any]], key
                    ) -> tuple[list[Claim], dict[str, dict[str, Any]]]:
    """Signature and digest claims of every evidence file; returns them and the valid statements by stage."""
    claims: list[Claim] = []
    statements: dict[str, dict[str, Any]] = {}
    for name, doc in evidence.items():
        stmt = signed_statement(root / name, name, key, claims, "the evidence file")
        if stmt is None:
            continue
        signed = _subjects(stmt)
        claims.append(file_digest_claim(root, name, signed, "digest", "the evidence is the file that was signed"))
        bad = [d["name"] for d in doc.get("data", [])
               if (signed.get(f"data:{d['name']}") or {}).get(KEYED_DIGEST) != d["fingerprint"].partition(":")[2]]
        if doc.get("data"):
            claims.append(claim("digest", name, "its keyed data fingerprints are the signed ones", not bad,
                                f"differ from the statement: {', '.join(bad)}" if bad else
                                f"{len(doc['data'])} keyed fingerprint(s) in the signed statement"))
        for sname, digest in signed.items():
            if sname == name or sname.startswith("data:"):
                continue
            if "sha256" not in digest:
                claims.append(claim("digest", sname, "a release file is signed with a sha256", False,
                                    f"the statement of {name} gives it no sha256"))
                continue
            claims.append(file_digest_claim(root, sname, signed, "release",
                                            f"release file signed with {name} is unchanged"))
        statements[str(doc["stage"])] = stmt
    return claims, statements


def report_claims(root: Path, report_dir: Path, evidence: Mapping[str, Any], key) -> list[Claim]:
    """The report's signature, the digests of its three files, and that it was rendered from this evidence."""
    claims: list[Claim] = []
    main = report_dir / "compliance.json"
    name = str(main.relative_to(root)) if main.is_relative_to(root) else str(main)
    stmt = signed_statement(main, name, key, claims, "the report")
    if stmt is None:
        return claims
    signed = _subjects(stmt)
    for f in sorted(report_dir.glob("compliance.*")):
        if f.suffix in (".html", ".json", ".md"):
            rel = str(f.relative_to(root)) if f.is_relative_to(root) else str(f)
            claims.append(file_digest_claim(root, rel, signed, "digest", "the report file is the one signed"))
    shown = set(stmt.get("predicate", {}).get("evidence") or [])
    for ev in sorted(set(evidence) | shown):
        if ev not in evidence:
            claims.append(claim("report", ev, "the report's evidence file is present", False,
                                "the report was rendered from it, but it is not in the evidence folder"))
        elif ev not in shown:
            claims.append(claim("report", ev, "the report was rendered from this evidence", False,
                                "the signed report does not cover it (written after the report, or added later)"))
        else:
            claims.append(file_digest_claim(root, ev, signed, "report",
                                            "the report was rendered from this evidence file as it is now"))
    return claims


__all__ = ["signed_statement", "file_digest_claim", "evidence_claims", "report_claims"]
