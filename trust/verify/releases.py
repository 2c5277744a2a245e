"""Release claims: every release folder holds only its manifest's files, every one of them signed with its
stage's evidence, every ledger entry has its folder, and no release file holds a plain hash, an exact row
count or a timing of the private tables (the scan the tests already do, run by the verifier).

The private tables are the ones the evidence fingerprints (found under ``outputs/`` by name). Hashes
scanned for: the table's content sha256 (:func:`trust.data.hashing.frame_sha256`), its file's sha256 and
md5 (what DVC records). Counts: the exact row count of each private table as a number token in every
text file of the release (``.json .txt .yaml .yml .md .csv``). Timing: a JSON key naming seconds,
durations, elapsed or wall-clock time.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from trust.data.release import RELEASE_MANIFEST, folder_files, read_release_manifest
from trust.verify.claims import Claim, claim

TEXT_SUFFIXES = (".json", ".txt", ".yaml", ".yml", ".md", ".csv")
TIMING_KEY = re.compile(r"(second|elapsed|duration|wall|runtime|fit_time|time_s\b|timing)", re.IGNORECASE)


def find_manifests(root: Path) -> list[Path]:
    base = root / "outputs"
    return sorted(base.rglob(RELEASE_MANIFEST)) if base.is_dir() else []


def _token(s: str) -> re.Pattern:
    return re.compile(r"(?<![0-9A-Za-z.])" + re.escape(s) + r"(?![0-9A-Za-z]|\.[0-9])")


def private_markers(tables: Iterable[Path]) -> tuple[dict[str, str], dict[str, int]]:
    """Plain hashes (name -> hex) and exact row counts (name -> n) of the private tables."""
    from trust.data.hashing import frame_sha256
    from trust.data.io import read_table

    hashes, counts = {}, {}
    for t in tables:
        df = read_table(t)
        raw = t.read_bytes()
        hashes[f"{t.name} (content sha256)"] = frame_sha256(df)
        hashes[f"{t.name} (file sha256)"] = hashlib.sha256(raw).hexdigest()
        hashes[f"{t.name} (file md5, as DVC records it)"] = hashlib.md5(raw).hexdigest()
        counts[f"{t.name} rows"] = len(df)
    return hashes, counts


def _timing_keys(obj: Any, out: list[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if TIMING_KEY.search(str(k)):
                out.append(str(k))
            _timing_keys(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _timing_keys(v, out)


def scan_file(f: Path, hashes: Mapping[str, str], counts: Mapping[str, int]) -> list[str]:
    """What in one release file gives away private data: plain hashes, exact counts, timing keys."""
    text = f.read_bytes().decode("latin-1")
    low = text.lower()
    hits = [f"plain hash of {n}" for n, h in hashes.items() if h in low]
    if f.suffix in TEXT_SUFFIXES:
        hits += [f"exact count {n} = {c}" for n, c in counts.items() if _token(str(c)).search(text)]
    if f.suffix == ".json":
        keys: list[str] = []
        try:
            _timing_keys(json.loads(text), keys)
        except json.JSONDecodeError:
            pass
        hits += [f"timing key '{k}'" for k in keys]
    return hits


def release_claims(root: Path, evidence: Mapping[str, Mapping[str, Any]],
                   statements: Mapping[str, Mapping[str, Any]], private_tables: list[Path]) -> list[Claim]:
    """Claims about every release folder and every ledger entry's folder (see the module doc)."""
    manifests = find_manifests(root)
    stages = {d["stage"]: d for d in evidence.values()}
    named: set[tuple[str, str]] = set()
    hashes, counts = private_markers(private_tables) if manifests else ({}, {})
    claims = []
    for m in manifests:
        folder, rel = m.parent, str(m.parent.relative_to(root))
        doc = read_release_manifest(m)
        named |= {(doc["stage"], r) for r in doc["ledger"]}
        have, listed = set(folder_files(folder)), set(doc["files"])
        extra, missing = sorted(have - listed), sorted(listed - have)
        claims.append(claim("release", rel, "holds only the releasable files its manifest lists", not extra and not
                            missing, f"{len(listed)} file(s), as listed" if not (extra or missing) else
                            "; ".join(filter(None, [extra and f"not listed: {', '.join(extra[:4])}",
                                                    missing and f"listed but missing: {', '.join(missing[:4])}"]))))
        stmt = statements.get(doc["stage"])
        signed = {s.get("name") for s in (stmt or {}).get("subject", [])}
        unsigned = [f for f in sorted(listed) if f"{rel}/{f}" not in signed]
        claims.append(claim("release", rel, f"every file is signed with the evidence of stage '{doc['stage']}'",
                            None if stmt is None else not unsigned,
                            "no valid signed evidence of that stage" if stmt is None else
                            (f"not in the signed statement: {', '.join(unsigned[:4])}" if unsigned else
                             f"{len(listed)} file digest(s) in the statement")))
        known = {e["release"] for e in stages.get(doc["stage"], {}).get("ledger", [])}
        unknown = [r for r in doc["ledger"] if r not in known]
        claims.append(claim("release", rel, "its ledger entries are in the stage's evidence", not unknown,
                            f"unknown: {', '.join(unknown)}" if unknown else f"{len(doc['ledger'])} ledger entries"))
        if not private_tables:
            claims.append(claim("release", rel, "holds no plain hash, exact count or timing of private data", None,
                                "the private tables are not here to scan against"))
            continue
        hits = {f: scan_file(folder / f, hashes, counts) for f in sorted(listed & have)}
        hits = {f: h for f, h in hits.items() if h}
        claims.append(claim("release", rel, "holds no plain hash, exact count or timing of private data", not hits,
                            "; ".join(f"{f}: {', '.join(h[:3])}" for f, h in list(hits.items())[:3]) if hits else
                            f"scanned {len(listed)} file(s) against {len(private_tables)} private table(s)"))
    for name, doc in evidence.items():
        for e in doc.get("ledger", []):
            if (doc["stage"], e["release"]) not in named:
                claims.append(claim("release", name, f"ledger release '{e['release']}' sits in a release folder", None,
                                    f"no {RELEASE_MANIFEST} under outputs/ names it (stage '{doc['stage']}')"))
    return claims


__all__ = ["find_manifests", "private_markers", "scan_file", "release_claims"]
