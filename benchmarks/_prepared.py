"""The splits every benchmark runs on: the prepare stage's ``outputs/prepare/<name>/`` when it has run,
else the same seeded split of the bundled dataset (20 % test, 20 % holdout, stratified on a
classification target)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from trust.data import TableSchema, load_dataset, read_table, split_table  # noqa: E402


def load_prepared(name: str):
    """``(train, test, schema)`` of the bundled dataset ``name``."""
    d = ROOT / "outputs" / "prepare" / name
    if (d / "train.parquet").exists():
        schema = TableSchema.from_dict(json.loads((d / "schema.json").read_text()))
        return read_table(d / "train.parquet"), read_table(d / "test.parquet"), schema
    df, schema = load_dataset(name)
    stratify = schema.target if schema.problem_type == "classification" else None
    sp = split_table(df, test_size=0.2, holdout_size=0.2, stratify=stratify, seed=0)
    return sp.train, sp.test, schema


def ctgan_frame(df, schema):
    """``(frame, discrete columns)`` as ``ctgan.CTGAN.fit`` takes them: categorical columns as strings, a missing
    value as the category ``"missing"`` (CTGAN has no missing-value handling of its own)."""
    out = df.copy()
    discrete = schema.of_kind("categorical")
    for c in discrete:
        out[c] = out[c].astype(object).where(out[c].notna(), "missing").astype(str)
    return out, discrete


def from_ctgan(syn, discrete):
    """CTGAN's sample with the ``"missing"`` category turned back into missing values (inverse of ctgan_frame)."""
    for c in discrete:
        syn[c] = syn[c].where(syn[c] != "missing", None)
    return syn
