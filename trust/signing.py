"""Signed runs: every evidence file and every rendered report carries an in-toto Statement in a DSSE envelope.

The format is the supply-chain attestation format SLSA and sigstore use: an in-toto Statement v1
(``{"_type", "subject", "predicateType", "predicate"}``) serialised as the payload of a DSSE envelope
(payload type ``application/vnd.in-toto+json``), signed with Ed25519. Envelopes, keys and signatures are
``securesystemslib``'s (``dsse.Envelope``, ``CryptoSigner``, ``SSlibKey``; MIT, on top of the pinned
``cryptography``); the Statement is plain JSON written here.

**Where the signatures live.** Beside the signed file, one envelope per line (an in-toto bundle):
``evidence/<stage>.json`` -> ``evidence/<stage>.intoto.jsonl``; ``reports/compliance.{html,json,md}`` ->
``reports/compliance.intoto.jsonl``. The public key travels with the report as
``reports/trust-signing-key.pub`` (PEM); an auditor should still obtain the organisation's public key by
another channel and pass it to ``trust verify --public-key``.

**Subjects** (what a statement vouches for):

* the evidence file itself (``sha256``: evidence is audit trail, not private data);
* the files of the stage's releases (``sha256``: a release is public): the paths its evidence's
  ``details.release`` names, and every folder whose ``trust-release.json`` names the stage;
* the keyed fingerprints of the private inputs the evidence records, as ``data:<name>`` with the digest
  ``{"hmac-sha256": <hex>}`` (never a plain digest of private data);
* for a report: the three rendered files and every evidence file it was rendered from (``sha256``).

**The key.** The organisation's Ed25519 private key, PEM (PKCS#8), at ``$TRUST_SIGNING_KEY_FILE`` or,
when that is unset, at the per-user ``$XDG_CONFIG_HOME/trust/signing-key.pem`` (default
``~/.config/trust/signing-key.pem``), created there (mode 0600) on first use. It is never kept in the work
tree: a key path under the project's root is refused, so copying a workspace never copies the key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from trust.errors import ConfigError, DataError

KEY_FILE_ENV = "TRUST_SIGNING_KEY_FILE"
PUBLIC_KEY_NAME = "trust-signing-key.pub"
ATTESTATION_SUFFIX = ".intoto.jsonl"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
EVIDENCE_PREDICATE = "urn:trust:attestation:evidence:v1"
REPORT_PREDICATE = "urn:trust:attestation:report:v1"
VERIFICATION_PREDICATE = "urn:trust:attestation:verification:v1"
KEYED_DIGEST = "hmac-sha256"
_PROJECT_MARKERS = ("dvc.yaml", "params.yaml", ".git")


# ----------------------------------------------------------------------------------------------- keys
def default_key_path() -> Path:
    """``$XDG_CONFIG_HOME/trust/signing-key.pem`` (``~/.config/trust/signing-key.pem`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trust" / "signing-key.pem"


def signing_key_path() -> Path:
    """Where the organisation's private signing key is: ``$TRUST_SIGNING_KEY_FILE``, else :func:`default_key_path`."""
    env = os.environ.get(KEY_FILE_ENV)
    return Path(env).expanduser() if env else default_key_path()


def project_root(path: str | os.PathLike[str]) -> Path:
    """The nearest folder at or above ``path`` holding ``dvc.yaml``, ``params.yaml`` or ``.git`` (else its folder)."""
    p = Path(path).resolve()
    start = p if p.is_dir() else p.parent
    for d in (start, *start.parents):
        if any((d / m).exists() for m in _PROJECT_MARKERS):
            return d
    return start


def _refuse_inside(key_path: Path, roots: Iterable[Path]) -> None:
    k = key_path.expanduser().resolve()
    for r in roots:
        r = Path(r).resolve()
        if k == r or k.is_relative_to(r):
            raise ConfigError(f"the signing key '{key_path}' lies under the project root '{r}', where a copy of the "
                              f"workspace would take it along; keep it outside (unset ${KEY_FILE_ENV} for the "
                              f"per-user {default_key_path()}, or point it outside the project)")


def load_signer(*, project: str | os.PathLike[str] | None = None, create: bool = True):
    """The organisation's signer (securesystemslib ``CryptoSigner``), creating the key on first use.

    Raises :class:`ConfigError` when the key path lies under ``project``, is not an Ed25519 PEM private
    key, or is missing and ``create`` is False.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from securesystemslib.signer import CryptoSigner

    path = signing_key_path()
    _refuse_inside(path, [project] if project is not None else [])
    if not path.exists():
        if not create:
            raise ConfigError(f"no signing key at '{path}'; set ${KEY_FILE_ENV} to the organisation's key file")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption())
        try:  # O_EXCL: two stages starting at once never overwrite each other's key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        except FileExistsError:
            pass
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError(f"'{path}' is not a readable unencrypted PEM private key ({type(e).__name__}); "
                          f"point ${KEY_FILE_ENV} at the organisation's Ed25519 key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"'{path}' holds a {type(key).__name__}, not an Ed25519 private key; use an Ed25519 key")
    return CryptoSigner(key)


def key_from_pem(data: bytes, *, source: str = "public key"):
    """An ``SSlibKey`` from an Ed25519 public key in PEM (ConfigError naming ``source`` otherwise)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from securesystemslib.signer import SSlibKey

    try:
        pub = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{source} is not a PEM public key ({type(e).__name__}); pass the organisation's Ed25519 "
                          f"public key ({PUBLIC_KEY_NAME})") from None
    if not isinstance(pub, Ed25519PublicKey):
        raise ConfigError(f"{source} holds a {type(pub).__name__}, not an Ed25519 public key")
    return SSlibKey.from_crypto(pub)


def load_public_key(path: str | os.PathLike[str]):
    """The Ed25519 public key in the PEM file ``path`` (ConfigError: one line naming the file)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"public key file '{path}' cannot be read ({e.strerror or type(e).__name__}); pass the "
                          f"organisation's {PUBLIC_KEY_NAME}") from None
    return key_from_pem(data, source=f"public key file '{path}'")


def public_key_pem(key) -> bytes:
    """The PEM of an Ed25519 ``SSlibKey`` (what travels with the report)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = bytes.fromhex(key.keyval["public"])
    return Ed25519PublicKey.from_public_bytes(raw).public_bytes(serialization.Encoding.PEM,
                                                               serialization.PublicFormat.SubjectPublicKeyInfo)


# ----------------------------------------------------------------------------------------- statements
def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_subject(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"name": <path relative to root>, "digest": {"sha256": ...}}`` (public or audit-trail files only)."""
    path = Path(path)
    return {"name": Path(os.path.relpath(path.resolve(), Path(root).resolve())).as_posix(),
            "digest": {"sha256": sha256_file(path)}}


def fingerprint_subject(name: str, fingerprint: str) -> dict[str, Any]:
    """``{"name": "data:<name>", "digest": {"hmac-sha256": <hex>}}`` for a keyed fingerprint ``hmac-sha256:<hex>``."""
    algo, _, hexdigest = fingerprint.partition(":")
    if algo != KEYED_DIGEST or not hexdigest:
        raise ValueError(f"'{name}': only keyed fingerprints ({KEYED_DIGEST}:<hex>) may be a subject, not '{algo}'")
    return {"name": f"data:{name}", "digest": {KEYED_DIGEST: hexdigest}}


def statement(subjects: Sequence[Mapping[str, Any]], predicate_type: str, predicate: Mapping[str, Any]
              ) -> dict[str, Any]:
    """An in-toto Statement v1."""
    return {"_type": STATEMENT_TYPE, "subject": [dict(s) for s in subjects], "predicateType": predicate_type,
            "predicate": dict(predicate)}


def sign_statement(stmt: Mapping[str, Any], signer) -> dict[str, Any]:
    """The DSSE envelope (as a dict) of ``stmt`` signed by ``signer``."""
    from securesystemslib.dsse import Envelope

    env = Envelope(payload=json.dumps(stmt, sort_keys=True).encode(), payload_type=PAYLOAD_TYPE, signatures={})
    env.sign(signer)
    return env.to_dict()


def attestation_path(path: str | os.PathLike[str]) -> Path:
    """Where the attestation of ``path`` lives: ``<folder>/<stem>.intoto.jsonl``."""
    path = Path(path)
    return path.with_name(path.stem + ATTESTATION_SUFFIX)


def write_attestation(path: str | os.PathLike[str], envelope: Mapping[str, Any]) -> Path:
    """Write the envelope (one JSON line) atomically beside ``path``; returns the attestation's path."""
    from trust.data.io import atomic_write_text

    return atomic_write_text(attestation_path(path), json.dumps(envelope, sort_keys=True) + "\n")


def read_envelope(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The DSSE envelope in an attestation file (its first line); DataError when it is not one."""
    path = Path(path)
    try:
        line = path.read_text(encoding="utf-8").strip().splitlines()[0]
        env = json.loads(line)
        ok = (isinstance(env, dict) and isinstance(env.get("payload"), str) and isinstance(env.get("signatures"), list)
              and env.get("payloadType") == PAYLOAD_TYPE)
        if ok:
            base64.b64decode(env["payload"], validate=True)
    except (OSError, UnicodeDecodeError, IndexError, json.JSONDecodeError, ValueError) as e:
        raise DataError(f"'{path}': corrupt attestation ({type(e).__name__}); it is not a DSSE envelope of an in-toto "
                        "statement; re-run the stage that wrote it") from None
    if not ok:
        raise DataError(f"'{path}': corrupt attestation: not a DSSE envelope with payload type {PAYLOAD_TYPE}")
    return env


def open_envelope(envelope: Mapping[str, Any], key) -> tuple[dict[str, Any] | None, str]:
    """``(statement, "")`` when ``envelope`` carries a valid signature by ``key``, else ``(None, reason)``."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError

    try:
        env = Envelope.from_dict(dict(envelope))
    except Exception as e:  # noqa: BLE001 - any malformation is a reason, reported as such
        return None, f"malformed envelope ({type(e).__name__})"
    signers = sorted({s.keyid for s in env.signatures.values()})
    try:
        env.verify([key], 1)
    except VerificationError:
        if key.keyid not in signers:
            return None, f"signed by key {', '.join(k[:12] for k in signers) or 'none'}, not by {key.keyid[:12]}"
        return None, f"the signature by key {key.keyid[:12]} does not match the payload"
    try:
        stmt = json.loads(env.payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "the signed payload is not JSON"
    if not isinstance(stmt, dict) or stmt.get("_type") != STATEMENT_TYPE or not isinstance(stmt.get("subject"), list):
        return None, "the signed payload is not an in-toto Statement v1"
    return stmt, ""


# ---------------------------------------------------------------------------------------------- hooks
def release_paths(root: Path, doc: Mapping[str, Any]) -> list[Path]:
    """The release paths of an evidence document: every existing path its ``details.release`` names (a release
    folder, a model directory or a file, relative to ``root``) and every folder under ``root/outputs`` whose
    ``trust-release.json`` names its stage."""
    from trust.data.release import RELEASE_MANIFEST, read_release_manifest

    out: list[Path] = []
    named = (doc.get("details") or {}).get("release")
    for p in named if isinstance(named, list) else []:
        f = (root / str(p)).resolve() if isinstance(p, str) else None
        if f is not None and f.exists() and f.is_relative_to(root.resolve()) and f not in out:
            out.append(f)
    base = root / "outputs"
    for m in sorted(base.rglob(RELEASE_MANIFEST)) if base.is_dir() else []:
        if read_release_manifest(m)["stage"] == doc["stage"] and m.parent.resolve() not in out:
            out.append(m.parent.resolve())
    return out


def release_files(path: Path) -> list[Path]:
    """A release path's files: the file itself, or every file under the folder."""
    return [path] if path.is_file() else sorted(f for f in path.rglob("*") if f.is_file())


def sign_evidence(path: str | os.PathLike[str], doc: Mapping[str, Any]) -> Path:
    """Sign a written evidence file: its digest, its stage's release files and its inputs' keyed fingerprints."""
    path = Path(path)
    root = project_root(path)
    signer = load_signer(project=root)
    subjects = [file_subject(path, root)]
    releases = []
    for rel in release_paths(root, doc):
        subjects += [file_subject(f, root) for f in release_files(rel)]
        releases.append(Path(os.path.relpath(rel, root.resolve())).as_posix())
    subjects += [fingerprint_subject(d["name"], d["fingerprint"]) for d in doc.get("data", [])]
    predicate = {"stage": doc["stage"], "kind": doc["kind"], "mlflow_run_id": doc.get("mlflow_run_id"),
                 "created_at": doc.get("created_at"), "releases": releases}
    return write_attestation(path, sign_statement(statement(subjects, EVIDENCE_PREDICATE, predicate), signer))


def sign_report(paths: Sequence[str | os.PathLike[str]], *, root: str | os.PathLike[str],
                evidence: Iterable[str], verdict: str | None = None) -> Path:
    """Sign the rendered report files together with the evidence files (names relative to ``root``) they show,
    and put the public key beside them (``trust-signing-key.pub``)."""
    from trust.data.io import atomic_write_bytes

    root = Path(root)
    paths = [Path(p) for p in paths]
    signer = load_signer(project=project_root(root))
    subjects = [file_subject(p, root) for p in paths]
    subjects += [file_subject(root / name, root) for name in sorted(evidence) if (root / name).is_file()]
    predicate = {"verdict": verdict, "reports": [s["name"] for s in subjects[:len(paths)]],
                 "evidence": [s["name"] for s in subjects[len(paths):]]}
    atomic_write_bytes(paths[0].parent / PUBLIC_KEY_NAME, public_key_pem(signer.public_key)).chmod(0o644)
    out = write_attestation(paths[0].parent / "compliance.json", sign_statement(
        statement(subjects, REPORT_PREDICATE, predicate), signer))
    out.chmod(0o644)
    return out


__all__ = ["KEY_FILE_ENV", "PUBLIC_KEY_NAME", "ATTESTATION_SUFFIX", "STATEMENT_TYPE", "PAYLOAD_TYPE",
           "EVIDENCE_PREDICATE", "REPORT_PREDICATE", "VERIFICATION_PREDICATE", "KEYED_DIGEST", "default_key_path",
           "signing_key_path", "project_root", "load_signer", "key_from_pem", "load_public_key", "public_key_pem",
           "sha256_file", "file_subject", "fingerprint_subject", "statement", "sign_statement", "attestation_path",
           "write_attestation", "read_envelope", "open_envelope", "release_paths", "release_files", "sign_evidence",
           "sign_report"]
