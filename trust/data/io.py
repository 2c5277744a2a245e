"""File boundary: reading user tables and writing outputs atomically.

Every file the toolkit writes goes through :func:`atomic_path`: the content is written to a
temporary file beside the target and renamed into place, so a killed process never leaves a
half-written file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from trust.errors import DataError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; swap it in for ``path`` if the block succeeds.

    On an exception the temporary folder is removed and ``path`` (a previous version, say) is left
    untouched. On success a previous ``path`` is first renamed aside, the new folder renamed into
    place, then the old one deleted; if the second rename fails the old folder is put back. A process
    killed between the two renames leaves the old folder under ``.<name>.old-*/<name>`` beside it,
    never a half-written ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            try:
                os.replace(path, old / path.name)
                try:
                    os.replace(tmp, path)
                except OSError:
                    os.replace(old / path.name, path)  # put the previous version back
                    raise
            finally:
                if path.exists():  # the new or the restored version is in place: drop the aside copy
                    shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON (stable diffs), atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table as Parquet (``.parquet``) or CSV (anything else), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
    return path


def read_table(path: str | os.PathLike[str], *, na_values: list[str] | None = None) -> pd.DataFrame:
    """Read a user's CSV (optionally gzipped) or Parquet file.

    Raises :class:`~trust.errors.DataError` with the path and the fix when the file is missing,
    empty or unparseable. Leading spaces after delimiters are skipped; ``na_values`` are read
    as missing.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"file '{p}' does not exist; check the path or run 'trust data list' for bundled datasets")
    if p.is_dir():
        raise DataError(f"'{p}' is a directory; pass a CSV or Parquet file")
    try:
        if p.suffix == ".parquet":
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p, skipinitialspace=True, na_values=na_values)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"file '{p}' could not be read as a table ({first}); pass a valid CSV or Parquet file") from None
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(f"file '{p}' holds no rows; pass a table with a header and at least one row")
    return df


__all__ = ["atomic_path", "atomic_dir", "atomic_write_text", "atomic_write_bytes", "atomic_write_json", "write_table", "read_table"]
