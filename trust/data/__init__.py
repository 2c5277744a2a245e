"""Datasets (tables and arrays), table schemas, validation at the boundary, seeded splits and content hashes."""

from trust.data.arrays import ArrayDataset, check_arrays, load_array_dataset, load_arrays, table_to_arrays
from trust.data.hashing import file_sha256, frame_sha256
from trust.data.io import atomic_path, atomic_write_json, atomic_write_text, read_table, write_table
from trust.data.registry import DATASETS, DatasetInfo, data_dir, dataset_info, list_datasets, load_dataset
from trust.data.schema import KINDS, ColumnSpec, TableSchema, infer_schema
from trust.data.splits import ArraySplits, Splits, split_arrays, split_table

__all__ = [
    "ColumnSpec", "TableSchema", "infer_schema", "KINDS",
    "DatasetInfo", "DATASETS", "data_dir", "dataset_info", "list_datasets", "load_dataset",
    "Splits", "split_table", "ArraySplits", "split_arrays",
    "ArrayDataset", "check_arrays", "load_array_dataset", "load_arrays", "table_to_arrays", "frame_sha256", "file_sha256",
    "atomic_path", "atomic_write_json", "atomic_write_text", "read_table", "write_table",
]
