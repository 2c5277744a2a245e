"""Class-by-concept annotation matrices: which concepts each class's examples show (1) or not (0).

A concept matrix is a DataFrame indexed by class label (integers), one 0/1 column per concept.
:func:`digit_concepts` is the bundled matrix for the digits 0-9 (``data/digit_concepts.csv``; its
provenance is in the file's header and ``data/README.md``); :func:`load_concept_matrix` reads your own
CSV of the same layout (a ``class`` column, then one column per concept; ``#`` lines are comments);
:func:`check_concept_matrix` checks one given as a DataFrame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trust.errors import DataError

DIGIT_CONCEPTS_FILE = "digit_concepts.csv"
#: sha256 of the bundled file (also in data/README.md)
DIGIT_CONCEPTS_SHA256 = "758689ff37bb2a0582932ff33ee865ed76c930a38c009cd676c1607558081279"


def check_concept_matrix(concepts: Any, name: str = "concepts") -> pd.DataFrame:
    """``concepts`` as a DataFrame of 0/1 ints indexed by integer class labels; DataError naming the problem."""
    if not isinstance(concepts, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame (classes x concepts), got {type(concepts).__name__}")
    if concepts.empty or concepts.shape[1] == 0:
        raise DataError(f"{name} is empty; give one row per class and one 0/1 column per concept")
    try:
        index = np.asarray(concepts.index, dtype=np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be indexed by integer class labels (got {list(concepts.index)[:3]}...)") from None
    if len(set(index.tolist())) != len(index):
        raise DataError(f"{name} lists a class twice; give one row per class")
    values = concepts.to_numpy()
    if values.dtype.kind not in "biuf" or not np.isin(values, (0, 1)).all():
        raise DataError(f"{name} must hold 0/1 values only (1 = the class shows the concept)")
    out = pd.DataFrame(values.astype(np.int64), index=pd.Index(index, name="class"),
                       columns=[str(c) for c in concepts.columns])
    return out.sort_index()


def load_concept_matrix(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a concept-matrix CSV (``class`` column, then 0/1 concept columns; ``#`` comment lines)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"concept matrix '{p}' does not exist; pass a CSV with a 'class' column and 0/1 concept columns")
    try:
        df = pd.read_csv(p, comment="#")
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DataError(f"'{p}' could not be read as a CSV ({type(e).__name__}); fix the file") from None
    if "class" not in df.columns:
        raise DataError(f"'{p}' has no 'class' column; the first column must name each row's class label")
    return check_concept_matrix(df.set_index("class"), name=f"'{p}'")


def digit_concepts() -> pd.DataFrame:
    """The bundled class-by-concept matrix of the digits 0-9 (10 x 9: closed_loop, loop_top, ..., open_bowl)."""
    from trust.data.hashing import file_sha256
    from trust.data.registry import data_dir

    path = data_dir() / DIGIT_CONCEPTS_FILE
    if not path.is_file():
        raise DataError(f"bundled file '{path}' is missing; restore data/ from the repository or set TRUST_DATA_DIR")
    if file_sha256(path) != DIGIT_CONCEPTS_SHA256:
        raise DataError(f"'{path}' differs from the bundled concept matrix (sha256); restore it from the repository")
    return load_concept_matrix(path)


__all__ = ["check_concept_matrix", "load_concept_matrix", "digit_concepts", "DIGIT_CONCEPTS_FILE", "DIGIT_CONCEPTS_SHA256"]
