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

from trust.data.release import RELEASE_MANIFEST, read_release_manifest
from trust.signing import release_files
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


def listed_files(folder: Path) -> tuple[set[str] | None, str]:
    """The files a release folder's manifest lists (``trust-release.json``, or a ``trust-model.json`` with ``files``)
    and the manifest's name; None when no manifest lists them."""
    from trust.data.io import MANIFEST

    if (folder / RELEASE_MANIFEST).is_file():
        return set(read_release_manifest(folder / RELEASE_MANIFEST)["files"]), RELEASE_MANIFEST
    try:
        doc = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = doc.get("files") if doc.get("files") is not None else (doc.get("meta") or {}).get("files")
    except (OSError, ValueError, AttributeError):
        files = None
    if isinstance(files, (list, dict)):
        return {str(f) for f in files} | {MANIFEST}, MANIFEST
    return None, ""


def _folder_claims(root: Path, path: Path, stage: str, stmt: Mapping[str, Any] | None,
                   ledger: set[str]) -> list[Claim]:
    rel = str(path.relative_to(root))
    files = [f.relative_to(path).as_posix() for f in release_files(path)] if path.is_dir() else [path.name]
    claims = []
    if path.is_dir():
        listed, manifest = listed_files(path)
        have = set(files) - {manifest}
        if listed is None:
            claims.append(claim("release", rel, "holds only the releasable files its manifest lists", None,
                                f"no manifest lists its files ({RELEASE_MANIFEST}, or trust-model.json 'files')"))
        else:
            extra, missing = sorted(have - listed), sorted(listed - have - {manifest})
            claims.append(claim("release", rel, "holds only the releasable files its manifest lists",
                                not extra and not missing, "; ".join(filter(None, [
                                    extra and f"not listed: {', '.join(extra[:4])}",
                                    missing and f"listed but missing: {', '.join(missing[:4])}"]))
                                or f"{len(have)} file(s), as {manifest} lists"))
        if manifest == RELEASE_MANIFEST:
            unknown = [r for r in read_release_manifest(path / RELEASE_MANIFEST)["ledger"] if r not in ledger]
            claims.append(claim("release", rel, "its ledger entries are in the stage's evidence", not unknown,
                                f"unknown: {', '.join(unknown)}" if unknown else "every one named"))
    signed = {s.get("name") for s in (stmt or {}).get("subject", [])}
    names = [f"{rel}/{f}" if path.is_dir() else rel for f in files]
    unsigned = [n for n in names if n not in signed]
    claims.append(claim("release", rel, f"every file is signed with the evidence of stage '{stage}'",
                        None if stmt is None else not unsigned,
                        "no valid signed evidence of that stage" if stmt is None else
                        (f"not in the signed statement: {', '.join(unsigned[:4])}" if unsigned else
                         f"{len(names)} file digest(s) in the statement")))
    return claims


def _scan_claim(root: Path, path: Path, tables: list[Path]) -> Claim:
    rel = str(path.relative_to(root))
    what = "holds no plain hash, exact count or timing of private data"
    if not tables:
        return claim("release", rel, what, None, "the private tables are not here to scan against")
    hashes, counts = private_markers(tables)
    counts = {n: c for n, c in counts.items() if c >= 10}  # a one-digit count is in every file
    hits = {f: scan_file(f, hashes, counts) for f in release_files(path)}
    hits = {f: h for f, h in hits.items() if h}
    return claim("release", rel, what, not hits,
                 "; ".join(f"{f.name}: {', '.join(h[:3])}" for f, h in list(hits.items())[:3]) if hits else
                 f"scanned {len(release_files(path))} file(s) against {len(tables)} private table(s)")


def _no_release_reason(root: Path, doc: Mapping[str, Any]) -> str:
    named = (doc.get("details") or {}).get("release")
    named = [str(p) for p in named if isinstance(p, str) and "/" in p] if isinstance(named, list) else []
    if named:
        return f"the release paths it names are not here: {', '.join(named[:3])}"
    return "the evidence names no release path (details.release) and no trust-release.json names its stage"


def release_claims(root: Path, evidence: Mapping[str, Mapping[str, Any]],
                   statements: Mapping[str, Mapping[str, Any]], tables: Mapping[str, list[Path]]) -> list[Claim]:
    """Claims about every release of every evidence file, and about manifests no evidence speaks for."""
    from trust.signing import release_paths

    root = root.resolve()
    claims, covered = [], set()
    for name, doc in evidence.items():
        paths = release_paths(root, doc)
        covered |= set(paths)
        entries = doc.get("ledger", [])
        if entries:
            claims.append(claim("release", name, f"its {len(entries)} ledger entr{'y' if len(entries) == 1 else 'ies'} "
                                "cover releases it names", True if paths else None,
                                f"release path(s): {', '.join(str(p.relative_to(root)) for p in paths)}" if paths else
                                _no_release_reason(root, doc)))
        datasets = {e.get("dataset") for e in entries}
        private = sorted({t for d in doc.get("data", []) for t in tables.get(d["name"], [])
                          if not datasets or d["name"].split("/")[0] in datasets})
        for p in paths:
            claims += _folder_claims(root, p, doc["stage"], statements.get(doc["stage"]),
                                     {e["release"] for e in entries})
            claims.append(_scan_claim(root, p, private))
    for m in find_manifests(root):
        if m.parent.resolve() not in covered:
            st = read_release_manifest(m)["stage"]
            claims.append(claim("release", str(m.parent.relative_to(root)), "is a release of a stage with evidence",
                                None, f"no evidence of stage '{st}' is here to vouch for it"))
    return claims


__all__ = ["find_manifests", "private_markers", "scan_file", "listed_files", "release_claims"]
