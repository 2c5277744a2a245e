"""Lineage claims: keyed fingerprints recomputed from the data (with the lineage key), ``dvc status`` clean
(every output matches ``dvc.lock``), and each evidence file's MLflow run present with the same metrics."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from trust.verify.claims import Claim, claim

TABLE_SUFFIXES = (".parquet", ".csv")


def table_index(root: Path) -> dict[str, list[Path]]:
    """Tables under ``root/outputs`` by every trailing part of their path without suffix (``adult/train``, ...),
    and a folder holding exactly one table by the folder's path (``synthesize/eps_3``)."""
    out: dict[str, list[Path]] = {}
    base = root / "outputs"
    if not base.is_dir():
        return out
    tables = [f for f in sorted(base.rglob("*")) if f.suffix in TABLE_SUFFIXES and f.is_file()]
    per_folder: dict[Path, list[Path]] = {}
    for f in tables:
        per_folder.setdefault(f.parent, []).append(f)
        parts = f.relative_to(base).with_suffix("").parts
        for i in range(len(parts)):
            out.setdefault("/".join(parts[i:]), []).append(f)
    for folder, fs in per_folder.items():
        parts = folder.relative_to(base).parts
        for i in range(len(parts)):
            if len(fs) == 1 and fs[0] not in out.setdefault("/".join(parts[i:]), []):
                out["/".join(parts[i:])].append(fs[0])
    return out


def registry_table(name: str, params: Mapping[str, Any]):
    """A bundled dataset as the ``prepare`` params sample it (``prepare.max_rows`` rows drawn with
    ``prepare.seed``), or None when ``name`` is not a registry dataset: the "full" table the evidence records."""
    from trust.data import DATASETS, dataset_info, load_array_dataset, load_dataset

    if name not in DATASETS:
        return None
    if dataset_info(name).modality != "table":  # arrays: fingerprinted as the train stage frames them
        return load_array_dataset(name).as_frame()
    df, _ = load_dataset(name)
    prep = params.get("prepare") if isinstance(params.get("prepare"), Mapping) else {}
    n, seed = prep.get("max_rows"), prep.get("seed", 0)
    if isinstance(n, int) and len(df) > n:
        df = df.sample(n=n, random_state=seed).reset_index(drop=True)
    return df


def fingerprint_claims(root: Path, evidence: Mapping[str, Mapping[str, Any]], key: bytes | None,
                       index: Mapping[str, list[Path]], params: Mapping[str, Any] | None = None) -> list[Claim]:
    """One claim per (table, fingerprint) the evidence records: recomputed from the data with the key.

    A table under ``outputs/`` that does not reproduce its fingerprint is a MISMATCH; a bundled dataset (the
    "full" table, re-drawn as the ``prepare`` params sample it) that does not is UNVERIFIABLE (the sampling may
    have been another)."""
    from trust.data.hashing import keyed_fingerprint
    from trust.data.io import read_table

    seen: dict[tuple[str, str], list[str]] = {}
    for name, doc in evidence.items():
        for d in doc.get("data", []):
            seen.setdefault((d["name"], d["fingerprint"]), []).append(name)
    cache: dict[Path, str] = {}
    claims = []
    for (table, fp), files in sorted(seen.items()):
        what = f"keyed fingerprint of '{table}' (recorded by {len(files)} evidence file(s))"
        cands = index.get(table, [])
        if key is None:
            claims.append(claim("lineage", files[0], what, None, "no lineage key (pass --lineage-key, or set "
                                "TRUST_LINEAGE_KEY / TRUST_LINEAGE_KEY_FILE); without it no fingerprint can be tested"))
            continue
        if not cands:
            df = registry_table(table, params or {})
            ok = None if df is None else (keyed_fingerprint(df, key) == fp or None)
            claims.append(claim("lineage", files[0], what, ok,
                                "recomputed from the bundled dataset as the prepare params sample it" if ok else
                                f"no table named '{table}' under outputs/" + ("" if df is None else
                                                                            " and the bundled one differs")))
            continue
        for c in cands:
            if c not in cache:
                cache[c] = keyed_fingerprint(read_table(c), key)
        hit = [c for c in cands if cache[c] == fp]
        if not hit:  # a bundled dataset's name may also end a path under outputs/ ('digits' and .../digits/forget)
            df = registry_table(table, params or {})
            if df is not None and keyed_fingerprint(df, key) == fp:
                claims.append(claim("lineage", files[0], what, True, "recomputed from the bundled dataset as the "
                                    "prepare params sample it"))
                continue
        rel = [str(c.relative_to(root)) for c in (hit or cands)]
        claims.append(claim("lineage", files[0], what, bool(hit),
                            f"recomputed from {rel[0]} with the lineage key" if hit else
                            f"recomputed from {', '.join(rel)}: a different fingerprint (the data changed)"))
    return claims


def _dvc() -> str | None:
    here = Path(sys.executable).parent / "dvc"
    return str(here) if here.exists() else shutil.which("dvc")


def dvc_claims(root: Path) -> list[Claim]:
    """``dvc status``: one claim per stage of ``dvc.lock`` (outputs and dependencies match the lock)."""
    lock = root / "dvc.lock"
    if not (root / "dvc.yaml").exists() or not lock.exists():
        return [claim("lineage", "dvc.lock", "every stage's outputs match dvc.lock", None,
                      "not a DVC project with a dvc.lock: nothing to compare with")]
    exe = _dvc()
    if exe is None:
        return [claim("lineage", "dvc.lock", "every stage's outputs match dvc.lock", None, "dvc is not installed")]
    try:
        r = subprocess.run([exe, "status", "--json"], cwd=root, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "DVC_NO_ANALYTICS": "1"})
        status = json.loads(r.stdout) if r.returncode == 0 else None
    except (subprocess.SubprocessError, json.JSONDecodeError) as e:
        r, status = None, None
        err = type(e).__name__
    if status is None:
        err = (r.stderr.strip().splitlines() or ["no output"])[-1] if r is not None else err
        return [claim("lineage", "dvc.lock", "every stage's outputs match dvc.lock", None, f"`dvc status` failed: {err}")]
    import yaml

    stages = sorted((yaml.safe_load(lock.read_text()) or {}).get("stages", {}))
    claims = []
    for st in sorted(set(stages) | set(status)):
        changes = status.get(st)
        what = f"stage '{st}' is up to date with dvc.lock"
        if not changes:
            claims.append(claim("lineage", "dvc.lock", what, True, "`dvc status`: no change"))
            continue
        text = "; ".join(json.dumps(c, sort_keys=True) if not isinstance(c, str) else c for c in changes)
        claims.append(claim("lineage", "dvc.lock", what, False, f"`dvc status`: {text[:300]}"))
    return claims


def _tracking_uri(root: Path) -> str | None:
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    db = root / "mlflow.db"
    return f"sqlite:///{db.resolve()}" if db.exists() else None


def mlflow_claims(root: Path, evidence: Mapping[str, Mapping[str, Any]]) -> list[Claim]:
    """Each evidence file's MLflow run exists and holds the evidence's metrics."""
    docs = {n: d for n, d in evidence.items() if d.get("mlflow_run_id")}
    claims = [claim("lineage", n, "its MLflow run exists", None, "the evidence records no MLflow run")
              for n, d in evidence.items() if not d.get("mlflow_run_id")]
    if not docs:
        return claims
    uri = _tracking_uri(root)
    if uri is None:
        return claims + [claim("lineage", n, "its MLflow run exists with the same metrics", None,
                               "no MLflow store (set MLFLOW_TRACKING_URI or put mlflow.db in the project)")
                         for n in docs]
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=uri)
    for n, d in docs.items():
        what = f"MLflow run {d['mlflow_run_id']} exists with the same metrics"
        try:
            run = client.get_run(d["mlflow_run_id"])
        except MlflowException:
            claims.append(claim("lineage", n, what, False, f"no such run in {uri}"))
            continue
        logged = run.data.metrics
        want = {k: v for k, v in d.get("metrics", {}).items() if v is not None}
        bad = [k for k, v in want.items() if k not in logged or not math.isclose(float(logged[k]), float(v),
                                                                                 rel_tol=1e-9, abs_tol=1e-12)]
        claims.append(claim("lineage", n, what, not bad,
                            f"{len(want)} metric(s) equal" if not bad else
                            f"{len(bad)} metric(s) differ or are missing: {', '.join(bad[:4])}"))
    return claims


__all__ = ["table_index", "fingerprint_claims", "dvc_claims", "mlflow_claims"]
