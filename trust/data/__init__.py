"""Datasets, table schemas, validation at the boundary, seeded splits, keyed fingerprints."""

from trust.data.hashing import file_sha256, frame_sha256, keyed_file_fingerprint, keyed_fingerprint, lineage_key
from trust.data.io import atomic_path, atomic_write_json, atomic_write_text, read_table, write_table
from trust.data.registry import (DATASETS, DatasetInfo, data_dir, dataset_info, dataset_schema, list_datasets,
                                 load_dataset)
from trust.data.schema import KINDS, ColumnSpec, TableSchema, infer_schema
from trust.data.splits import Splits, split_table

__all__ = [
    "ColumnSpec", "TableSchema", "infer_schema", "KINDS",
    "DatasetInfo", "DATASETS", "data_dir", "dataset_info", "dataset_schema", "list_datasets", "load_dataset",
    "Splits", "split_table", "frame_sha256", "file_sha256", "keyed_fingerprint", "keyed_file_fingerprint",
    "lineage_key",
    "atomic_path", "atomic_write_json", "atomic_write_text", "read_table", "write_table",
]
