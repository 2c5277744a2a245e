"""Release manifests: what a release folder holds, so that nothing else leaves with it.

A *release* (a synthetic table, a model directory, its ledger) sits in a folder of its own that holds
only releasable files. The folder's manifest, ``trust-release.json``, lists them::

    {"kind": "trust-release", "format_version": 1,
     "stage": "synth_eps_3",                        # the stage (or command) whose evidence signs it
     "ledger": ["synth/eps_3/critic", ...],          # the ledger entries that cover it (release names)
     "files": ["synthetic.parquet", "model/trust-model.json", ...]}   # every file but the manifest

``files`` are paths relative to the folder (``/``-separated). The manifest holds no digest, count,
timing or seed of private data; the digests of the (public) release files are in the signed
attestation of the stage's evidence (:mod:`trust.signing`). ``trust verify`` checks that the
folder holds exactly the listed files, that their bytes match the signed digests, and scans them for
plain hashes, exact counts and timings of the private tables.

Write it last, after every release file (:func:`write_release_manifest` lists the folder itself).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from trust.errors import DataError

RELEASE_MANIFEST = "trust-release.json"
RELEASE_KIND = "trust-release"
RELEASE_FORMAT_VERSION = 1

RELEASE_MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "format_version", "stage", "ledger", "files"],
    "properties": {
        "kind": {"const": RELEASE_KIND},
        "format_version": {"type": "integer", "minimum": 1},
        "stage": {"type": "string", "minLength": 1},
        "ledger": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "files": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
    "additionalProperties": False,
}


def folder_files(folder: str | os.PathLike[str]) -> list[str]:
    """Every file under ``folder`` but the manifest, as sorted ``/``-separated relative paths."""
    folder = Path(folder)
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.name != RELEASE_MANIFEST)


def write_release_manifest(folder: str | os.PathLike[str], *, stage: str, ledger: Iterable[str]) -> Path:
    """Write ``folder/trust-release.json`` listing every file the folder holds now (call it last)."""
    from trust.data.io import atomic_write_json

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"release folder '{folder}' does not exist; save the release before its manifest")
    doc = {"kind": RELEASE_KIND, "format_version": RELEASE_FORMAT_VERSION, "stage": str(stage),
           "ledger": [str(x) for x in ledger], "files": folder_files(folder)}
    return atomic_write_json(folder / RELEASE_MANIFEST, doc)


def read_release_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A release manifest, validated (DataError naming the file and the problem)."""
    from trust.evidence import schema_problem

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"'{path}': not a readable release manifest ({type(e).__name__}); write it again") from None
    problem = schema_problem(doc, RELEASE_MANIFEST_SCHEMA)
    if problem:
        raise DataError(f"'{path}': invalid release manifest at {problem}")
    return doc


__all__ = ["RELEASE_MANIFEST", "RELEASE_MANIFEST_SCHEMA", "folder_files", "write_release_manifest",
           "read_release_manifest"]
