"""Datasets (tables and arrays), table schemas, validation at the boundary, seeded splits, keyed fingerprints.

The names below are imported on first use (PEP 562), so that ``import trust.data.io`` (what the
command line needs to check a path) does not load pandas and scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "file_sha256": "hashing", "frame_sha256": "hashing", "keyed_fingerprint": "hashing",
    "keyed_file_fingerprint": "hashing", "lineage_key": "hashing",
    "atomic_path": "io", "atomic_write_json": "io", "atomic_write_text": "io", "read_table": "io",
    "write_table": "io",
    "DATASETS": "registry", "DatasetInfo": "registry", "data_dir": "registry", "dataset_info": "registry",
    "dataset_schema": "registry", "list_datasets": "registry", "load_dataset": "registry",
    "KINDS": "schema", "ColumnSpec": "schema", "TableSchema": "schema", "infer_schema": "schema",
    "Splits": "splits", "split_table": "splits", "ArraySplits": "splits", "split_arrays": "splits",
    "ArrayDataset": "arrays", "check_arrays": "arrays", "load_array_dataset": "arrays", "load_arrays": "arrays",
    "table_to_arrays": "arrays",
}

__all__ = [
    "ColumnSpec", "TableSchema", "infer_schema", "KINDS",
    "DatasetInfo", "DATASETS", "data_dir", "dataset_info", "dataset_schema", "list_datasets", "load_dataset",
    "Splits", "split_table", "frame_sha256", "file_sha256", "keyed_fingerprint", "keyed_file_fingerprint",
    "lineage_key", "ArraySplits", "split_arrays", "ArrayDataset", "check_arrays", "load_array_dataset", "load_arrays",
    "table_to_arrays",
    "atomic_path", "atomic_write_json", "atomic_write_text", "read_table", "write_table",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trust.data' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"trust.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
