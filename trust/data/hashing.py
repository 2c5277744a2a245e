"""Fingerprints for lineage: keyed (HMAC-SHA256) for private data, plain sha256 only for public bytes.

Two kinds of artifact (see README, "Privacy"):

* a **release** (synthetic table, model directory, its ledger entries) may leave the organisation
  and carries no fingerprint, exact count or timing of private data at all;
* the **audit trail** (evidence, MLflow store, dvc.lock, the DVC cache, the reports) is
  confidential, for the data owner and the auditor. Data fingerprints there are *keyed*:
  ``hmac-sha256:<hex>`` of the table's content under a key the data owner keeps outside the
  repository. The auditor, given the key, recomputes the fingerprint of a table and checks lineage;
  without the key nobody can test a candidate table (e.g. "all rows known but one, the target's
  value among 401 candidates") against it, which a plain content hash allows.

The key is ``$TRUST_LINEAGE_KEY`` (any string of at least 32 characters; hex is read as bytes) or,
when that is unset, the key file ``$TRUST_LINEAGE_KEY_FILE`` (default: a per-user file outside every project,
``$XDG_CONFIG_HOME/trust/lineage.key``, i.e. ``~/.config/trust/lineage.key``), created on first use with 32
random bytes from the operating system and mode 0600 (its folder 0700). A key file inside the project (the
``root`` given, or the repository around the current directory) is refused, read or created: anyone who
copies the workspace would take the key with the audit trail. Losing the key loses the ability to verify
old fingerprints, nothing else; rotating it changes every fingerprint (and every salted output, see
:mod:`trust.data.lineage`).

:func:`frame_sha256` (unkeyed) stays for public or synthetic content only; never record it for a
private table in any artifact.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

from trust.errors import ConfigError

KEY_ENV = "TRUST_LINEAGE_KEY"
KEY_FILE_ENV = "TRUST_LINEAGE_KEY_FILE"
#: where versions before round four kept the key (inside the project): refused now
LEGACY_KEY_FILE = Path(".trust") / "lineage.key"
PREFIX = "hmac-sha256:"
#: the pattern of a keyed fingerprint, as evidence validates it
FINGERPRINT_PATTERN = r"^hmac-sha256:[0-9a-f]{64}$"
_MIN_KEY_BYTES = 32


def _frame_digest_input(df: pd.DataFrame) -> list[bytes]:
    return [repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode(),
            pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()]


def frame_sha256(df: pd.DataFrame) -> str:
    """Plain sha256 of a DataFrame's content (column names, dtypes and values, not its index).

    For public or synthetic tables only: a plain hash of a private table lets anyone who knows all
    rows but one test candidates for the last one. Use :func:`keyed_fingerprint` for private data.
    """
    h = hashlib.sha256()
    for part in _frame_digest_input(df):
        h.update(part)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes (public files only: see :func:`keyed_file_fingerprint`)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _decode_key(text: str, where: str) -> bytes:
    text = text.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = text.encode()
    if len(key) < _MIN_KEY_BYTES:
        raise ConfigError(f"{where} holds a lineage key of {len(key)} bytes; use at least {_MIN_KEY_BYTES} "
                          f"(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
    return key


def default_key_file() -> Path:
    """The per-user key file: ``$XDG_CONFIG_HOME/trust/lineage.key``, else ``~/.config/trust/lineage.key``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trust" / "lineage.key"


def key_file_path(root: str | os.PathLike[str] | None = None) -> Path:  # noqa: ARG001 (kept for callers)
    """Where the key file lives: ``$TRUST_LINEAGE_KEY_FILE``, else :func:`default_key_file` (never the project)."""
    env = os.environ.get(KEY_FILE_ENV)
    return Path(env).expanduser() if env else default_key_file()


def project_root(root: str | os.PathLike[str] | None = None) -> Path | None:
    """``root`` if given, else the nearest folder around the current directory holding ``.git``, ``.dvc`` or
    ``dvc.yaml`` (the project whose work tree must not hold the key), else None."""
    if root is not None:
        return Path(root).resolve()
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if any((d / m).exists() for m in (".git", ".dvc", "dvc.yaml")):
            return d
    return None


def _check_outside_project(path: Path, root: str | os.PathLike[str] | None) -> None:
    proj = project_root(root)
    if proj is None:
        return
    where = path.expanduser().resolve()
    if where == proj or proj in where.parents:
        raise ConfigError(
            f"the lineage key file '{path}' lies inside the project '{proj}': whoever copies the workspace takes "
            f"the key with the audit trail; move it out (e.g. `mkdir -p {default_key_file().parent} && mv {path} "
            f"{default_key_file()}`) or set ${KEY_FILE_ENV} to a path outside the project")


def lineage_key(root: str | os.PathLike[str] | None = None, *, create: bool = True) -> bytes:
    """The data owner's lineage key: ``$TRUST_LINEAGE_KEY``, else the key file (created 0600 on first use).

    ``root`` is the project folder (default: the repository around the current directory); a key file
    inside it is refused.

    Raises :class:`~trust.errors.ConfigError` when the key is too short, the key file lies inside the project,
    a key left in the project by an earlier version (``.trust/lineage.key``) would be silently replaced, or the
    file is missing and ``create`` is False.
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return _decode_key(env, f"${KEY_ENV}")
    path = key_file_path(root)
    _check_outside_project(path, root)
    if path.exists():
        return _decode_key(path.read_text(encoding="ascii"), f"'{path}'")
    proj = project_root(root)
    legacy = proj / LEGACY_KEY_FILE if proj is not None else None
    if legacy is not None and legacy.exists():
        raise ConfigError(f"the lineage key is still in the project at '{legacy}'; move it out of the work tree "
                          f"(`mkdir -p {path.parent} && mv {legacy} {path}`) so that fingerprints keep their key")
    if not create:
        raise ConfigError(f"no lineage key: set ${KEY_ENV} or restore '{path}' (the data owner keeps it)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:  # O_EXCL: two stages starting at once never overwrite each other's key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _decode_key(path.read_text(encoding="ascii"), f"'{path}'")
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(_MIN_KEY_BYTES) + "\n")
    return _decode_key(path.read_text(encoding="ascii"), f"'{path}'")


def keyed_fingerprint(df: pd.DataFrame, key: bytes | None = None, *, root: str | os.PathLike[str] | None = None
                      ) -> str:
    """``hmac-sha256:<hex>`` of a table's content (as :func:`frame_sha256` reads it) under the lineage key.

    Equal tables give equal fingerprints under one key; without the key a fingerprint says nothing
    about the table and cannot be tested against a candidate.

    >>> import pandas as pd
    >>> a = keyed_fingerprint(pd.DataFrame({"x": [1, 2]}), key=b"k" * 32)
    >>> a.startswith("hmac-sha256:"), a == keyed_fingerprint(pd.DataFrame({"x": [1, 2]}), key=b"k" * 32)
    (True, True)
    """
    h = hmac.new(key if key is not None else lineage_key(root), digestmod=hashlib.sha256)
    for part in _frame_digest_input(df):
        h.update(part)
    return PREFIX + h.hexdigest()


def keyed_file_fingerprint(path: str | os.PathLike[str], key: bytes | None = None, *,
                           root: str | os.PathLike[str] | None = None, chunk: int = 1 << 20) -> str:
    """``hmac-sha256:<hex>`` of a file's bytes under the lineage key."""
    h = hmac.new(key if key is not None else lineage_key(root), digestmod=hashlib.sha256)
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return PREFIX + h.hexdigest()


__all__ = ["frame_sha256", "file_sha256", "keyed_fingerprint", "keyed_file_fingerprint", "lineage_key",
           "key_file_path", "default_key_file", "project_root", "KEY_ENV", "KEY_FILE_ENV", "FINGERPRINT_PATTERN"]
