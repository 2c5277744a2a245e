"""Datasets (tables and arrays), table schemas, validation at the boundary, seeded splits, keyed fingerprints.

The names below are imported on first use (PEP 562), so that ``import trust.data.io`` (what the
command line needs to check a path) does not load pandas and scikit-learn.
"""

from __future__ import annotations

from trust._lazy import lazy_exports

_MODULES = {
    "hashing": "file_sha256 frame_sha256 keyed_fingerprint keyed_file_fingerprint lineage_key",
    "io": "atomic_path atomic_write_json atomic_write_text read_table write_table",
    "registry": "DATASETS DatasetInfo data_dir dataset_info dataset_schema list_datasets load_dataset",
    "schema": "KINDS ColumnSpec TableSchema infer_schema",
    "splits": "Splits split_table ArraySplits split_arrays",
    "arrays": "ArrayDataset check_arrays load_array_dataset load_arrays table_to_arrays",
}
_EXPORTS = {name: f"trust.data.{module}" for module, names in _MODULES.items() for name in names.split()}

__all__ = [
    "ColumnSpec", "TableSchema", "infer_schema", "KINDS",
    "DatasetInfo", "DATASETS", "data_dir", "dataset_info", "dataset_schema", "list_datasets", "load_dataset",
    "Splits", "split_table", "frame_sha256", "file_sha256", "keyed_fingerprint", "keyed_file_fingerprint",
    "lineage_key", "ArraySplits", "split_arrays", "ArrayDataset", "check_arrays", "load_array_dataset", "load_arrays",
    "table_to_arrays",
    "atomic_path", "atomic_write_json", "atomic_write_text", "read_table", "write_table",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
