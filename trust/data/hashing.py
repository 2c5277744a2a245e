"""Content hashes for lineage: the same table always hashes to the same sha256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd


def frame_sha256(df: pd.DataFrame) -> str:
    """sha256 of a DataFrame's content: column names, dtypes and values, independent of its index.

    Two frames with equal columns, dtypes and values in the same order hash alike; reordering
    rows or columns changes the hash.
    """
    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


__all__ = ["frame_sha256", "file_sha256"]
