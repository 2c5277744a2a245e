"""Keyed salts for private outputs, so that DVC's md5 of a private file cannot be recomputed from its rows.

The attack this closes (issue 21, item 2): ``dvc.lock`` is tracked in git and holds DVC's md5 of every
output and dependency (``outputs/prepare`` is the private train/test/holdout splits). Someone who knows
all rows but one could rewrite the split with the project's own writer for each candidate value of the
last one, hash it as DVC does and compare: the match is the private value. A keyed fingerprint in the
evidence does not help if an unkeyed hash of the same bytes sits next to it in git.

The fix: every private output a stage writes depends, byte for byte, on a value derived from the data
owner's lineage key (:func:`trust.data.hashing.lineage_key`) and the output's content, so DVC's md5 is
not computable from the rows alone, while ``dvc repro`` stays idempotent (same key, same content, same
bytes, same md5):

* every folder a stage writes (except release and model folders, which hold only releasable files) gets a
  salt file :data:`SALT_FILE`; DVC's md5 of a folder (``<md5>.dir``, what ``dvc.lock`` records for a
  directory output or dependency) is the md5 of the list of its files' md5s, the salt file's among them;
* every ``.npz`` archive in those folders carries the salt as an extra array :data:`NPZ_SALT_KEY` (the
  train stage's ``splits.npz`` is a dependency of its own in ``dvc.lock``);
* ``metrics/<stage>.json`` carries it as the string ``lineage_salt`` (:func:`salt_metrics`);
* the evidence files need nothing: each holds the keyed fingerprints of the stage's inputs.

The salt of each item is ``HMAC-SHA256(key, label || content digest)``, expanded with SHAKE-256 to a
keyed length (32 bytes plus up to :data:`MAX_PAD` more), so that the sizes ``dvc.lock`` records (a
folder's total size, a file's size) do not give away small differences between candidates either.

What remains, said in the README: the DVC cache (``.dvc/cache``, and a DVC remote) holds the private files
themselves and the per-file md5s inside each folder's ``.dir`` manifest; it is the data owner's, never
shared. Release folders are not salted: a release is what may leave, and its only privacy claim is its DP
guarantee (a DP release's bytes depend on fresh secret noise; a non-DP model is audit trail, not a release).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "train.csv").write_text("age\\n39\\n")
>>> [p.name for p in salt_outputs(d, key=b"k" * 32)]
['.lineage-salt']
>>> salts_valid(d, key=b"k" * 32), salts_valid(d, key=b"j" * 32)
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import io as _io
import os
from pathlib import Path
from typing import Any, Mapping

SALT_FILE = ".lineage-salt"
NPZ_SALT_KEY = "_lineage_salt"
METRICS_SALT_KEY = "lineage_salt"
#: files that mark a folder as a release or a model directory: never salted, nor anything below it
RELEASE_MANIFESTS = ("trust-model.json", "trust-release.json")
#: the keyed extra length of a salt (bytes of a salt file or array; characters of the metrics salt / 64)
MAX_PAD = 4096
_TAG = b"trust-lineage-salt/v1\0"


def _file_digest(path: Path) -> bytes:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.digest()


def _keyed_bytes(key: bytes, label: str, digest: bytes, *, max_pad: int = MAX_PAD) -> bytes:
    """32 + (keyed) 0..max_pad-1 bytes from HMAC(key, label, digest): unpredictable without the key."""
    mac = hmac.new(key, _TAG + label.encode() + b"\0" + digest, hashlib.sha256).digest()
    pad = int.from_bytes(mac[:4], "big") % max_pad
    return hashlib.shake_256(mac).digest(32 + pad)


def _is_release(folder: Path) -> bool:
    return any((folder / m).exists() for m in RELEASE_MANIFESTS)


def _salted_folders(out_dir: Path) -> list[Path]:
    """``out_dir`` and every folder below it that is not (inside) a release or model folder."""
    if _is_release(out_dir):
        return []
    found, todo = [], [out_dir]
    while todo:
        d = todo.pop()
        found.append(d)
        todo += sorted(c for c in d.iterdir() if c.is_dir() and not c.is_symlink() and not _is_release(c))
    return sorted(found)


def _npz_salt(arrays: Mapping[str, Any], key: bytes, label: str) -> bytes:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        h.update(name.encode() + b"\0" + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return _keyed_bytes(key, label, h.digest(), max_pad=1024)


def salt_npz(path: str | os.PathLike[str], *, key: bytes, label: str | None = None) -> bool:
    """Add (or renew) the keyed array :data:`NPZ_SALT_KEY` of an ``.npz`` archive, atomically; False if it was
    already right (the file is then left untouched)."""
    import numpy as np

    from trust.data.io import atomic_path

    path = Path(path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != NPZ_SALT_KEY}
        old = z[NPZ_SALT_KEY].tobytes() if NPZ_SALT_KEY in z.files else None
    salt = _npz_salt(arrays, key, label or path.name)
    if old == salt:
        return False
    with atomic_path(path) as tmp:
        buf = _io.BytesIO()
        np.savez_compressed(buf, **arrays, **{NPZ_SALT_KEY: np.frombuffer(salt, dtype=np.uint8)})
        tmp.write_bytes(buf.getvalue())
    return True


def _folder_digest(folder: Path) -> bytes:
    """sha256 over (relative path, content sha256) of every file below ``folder`` except salt files."""
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != SALT_FILE):
        h.update(str(f.relative_to(folder)).encode() + b"\0" + _file_digest(f))
    return h.digest()


def salt_outputs(out_dir: str | os.PathLike[str], *, key: bytes) -> list[Path]:
    """Salt a stage's output folder in place: the ``.npz`` archives, then a :data:`SALT_FILE` in every folder
    (release and model folders excepted). Returns the salt files written; idempotent (same key and content,
    same bytes)."""
    from trust.data.io import atomic_write_bytes

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    folders = _salted_folders(out_dir)
    for d in folders:
        for f in sorted(d.glob("*.npz")):
            salt_npz(f, key=key)
    written = []
    for d in folders:
        salt = _keyed_bytes(key, "dir", _folder_digest(d))
        target = d / SALT_FILE
        text = salt.hex() + "\n"
        if not target.exists() or target.read_text() != text:
            atomic_write_bytes(target, text.encode())
        written.append(target)
    return written


def salts_valid(out_dir: str | os.PathLike[str], *, key: bytes) -> bool:
    """True when every folder's salt file (and every archive's salt) is the one ``key`` gives for its content
    (what an auditor holding the key checks; without it the salts are unpredictable)."""
    import numpy as np

    out_dir = Path(out_dir)
    for d in _salted_folders(out_dir):
        target = d / SALT_FILE
        want = _keyed_bytes(key, "dir", _folder_digest(d)).hex() + "\n"
        if not target.is_file() or target.read_text() != want:
            return False
        for f in d.glob("*.npz"):
            with np.load(f, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files if k != NPZ_SALT_KEY}
                got = z[NPZ_SALT_KEY].tobytes() if NPZ_SALT_KEY in z.files else None
            if got != _npz_salt(arrays, key, f.name):
                return False
    return True


def salt_metrics(metrics: Mapping[str, Any], *, key: bytes, label: str) -> dict[str, Any]:
    """``metrics`` plus ``lineage_salt``: a keyed hex string (64 to 127 characters) derived from the figures,
    so that the md5 ``dvc.lock`` records for ``metrics/<stage>.json`` cannot be recomputed without the key."""
    import json

    body = {k: v for k, v in metrics.items() if k != METRICS_SALT_KEY}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).digest()
    return {**body, METRICS_SALT_KEY: _keyed_bytes(key, "metrics:" + label, digest, max_pad=32).hex()}


def dvc_md5(path: str | os.PathLike[str]) -> str:
    """The md5 DVC records in ``dvc.lock`` for ``path`` (``<md5>.dir`` for a folder), computed by DVC's own code
    (``dvc_data``; nothing is written): what an auditor compares with ``dvc.lock``, and what an attacker without
    the key cannot reproduce for a salted output."""
    import tempfile

    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    fs = LocalFileSystem()
    with tempfile.TemporaryDirectory() as tmp:
        _, _, obj = build(HashFileDB(fs, tmp), str(path), fs, "md5", dry_run=True)
    return obj.hash_info.value


__all__ = ["dvc_md5", "SALT_FILE", "NPZ_SALT_KEY", "METRICS_SALT_KEY", "RELEASE_MANIFESTS", "MAX_PAD", "salt_outputs",
           "salt_npz", "salts_valid", "salt_metrics"]
