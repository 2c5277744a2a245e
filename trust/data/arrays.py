"""Array datasets: images and 1-D signals with integer labels, bundled or your own ``.npz``.

An :class:`ArrayDataset` holds ``X`` (images ``N x H x W`` / ``N x C x H x W``, or signals ``N x L`` /
``N x C x L``), labels ``y`` in ``0..K-1`` with every class present, its ``kind`` (``"image"`` or
``"signal"``) and, where the source fixes one, the rows of its official test split.

- ``load_array_dataset("digits")``: scikit-learn's bundled 8x8 digits (1,797 images, intensities
  0..16 divided by 16, float32 in [0, 1]); read from scikit-learn's own package data, offline.
- ``load_array_dataset("mnist1d")``: MNIST-1D (Greydanus 2020), 5,000 signals of length 40, the first
  4,000 the package's training split and the last 1,000 its test split, read from
  ``data/mnist1d.npz`` and checked against the sha256 recorded in the registry.
  :func:`generate_mnist1d` regenerates it with ``mnist1d.data.make_dataset`` at the pinned
  arguments (never ``get_dataset``, which downloads); a test checks the two are byte-identical.
- :func:`load_arrays`: your own ``.npz`` with arrays ``X`` and ``y`` (and optionally ``kind``).
- :func:`check_arrays`: the validation all of them go through (one-line :class:`~trust.errors.DataError`).
- :func:`table_to_arrays`: a table with a :class:`~trust.data.schema.TableSchema` as a numeric matrix
  (one-hot categories, log1p of declared long-tailed columns) for the MLP.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from trust._validation import check_array, check_labels, check_option
from trust.errors import DataError

ARRAY_KINDS = ("image", "signal")

#: The arguments ``data/mnist1d.npz`` was generated with: ``mnist1d.data.get_dataset_args()`` of
#: mnist1d 0.0.2.post1 (its ``url`` entry, unused by ``make_dataset``, left out).
MNIST1D_ARGS: dict[str, Any] = {
    "num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": [36, 60], "scale_coeff": 0.4,
    "max_translation": 48, "corr_noise_scale": 0.25, "iid_noise_scale": 2e-2, "shear_scale": 0.75,
    "shuffle_seq": False, "final_seq_length": 40, "seed": 42,
}


@dataclasses.dataclass(frozen=True)
class ArrayDataset:
    """Arrays of one dataset: ``X``, labels ``y`` (0..K-1), ``kind``, class names and its fixed test rows."""

    name: str
    X: np.ndarray
    y: np.ndarray
    kind: str
    class_names: tuple[str, ...]
    test_index: np.ndarray | None = None
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def as_frame(self) -> "pd.DataFrame":
        """One row per example: the flattened features and a ``label`` column (what keyed fingerprints are taken of)."""
        return pd.DataFrame(self.X.reshape(len(self.X), -1)).assign(label=self.y)


def arrays_sha256(X: np.ndarray, y: np.ndarray) -> str:
    """sha256 of ``X`` (its dtype, C order) and ``y`` (int64): the integrity check of a bundled public dataset."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X).tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()


def infer_kind(X: np.ndarray) -> str:
    """``"image"`` for 3-d and 4-d arrays (``N x H x W``, ``N x C x H x W``), ``"signal"`` for 2-d (``N x L``).

    A 3-d array of signals with channels (``N x C x L``) needs ``kind="signal"`` said explicitly.
    """
    return "signal" if np.ndim(X) == 2 else "image"


def check_arrays(X: Any, y: Any, *, kind: str | None = None, name: str = "X") -> tuple[np.ndarray, np.ndarray, str]:
    """Validate an array dataset; returns ``(X, y, kind)`` (``X`` keeps a uint8 dtype, else float).

    Raises:
        DataError: ``X`` not numeric, the wrong number of dimensions for ``kind``, NaN or infinite
            values, labels not integers ``0..K-1``, a class in ``0..K-1`` with no samples, fewer than
            two classes, or one label per row missing.
    """
    arr = check_array(X, name, ndim=(2, 3, 4), dtype=None)
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float64 if arr.dtype == np.float64 else np.float32)
    kind = infer_kind(arr) if kind is None else check_option(kind, "kind", ARRAY_KINDS)
    if kind == "image" and arr.ndim == 2:
        raise DataError(f"{name} has shape {arr.shape}; images must be N x H x W or N x C x H x W")
    if kind == "signal" and arr.ndim == 4:
        raise DataError(f"{name} has shape {arr.shape}; signals must be N x L or N x C x L")
    labels = check_labels(y, len(arr))
    counts = np.bincount(labels)
    if len(counts) < 2:
        raise DataError("y holds a single class; a classification dataset needs at least 2 classes")
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise DataError(f"class {int(empty[0])} has no samples; labels must be 0..K-1 with every class present "
                        f"(found {len(counts) - empty.size} of {len(counts)}); re-encode them, e.g. np.unique(y, return_inverse=True)")
    return arr, labels, kind


def load_arrays(path: str | os.PathLike[str], *, kind: str | None = None, name: str | None = None) -> ArrayDataset:
    """Load your own ``.npz`` holding ``X`` and ``y`` (optionally a string ``kind``: ``image`` or ``signal``).

    Raises:
        DataError: the file is missing, not an ``.npz`` archive, lacks ``X`` or ``y``, or fails
            :func:`check_arrays`.
    """
    p = Path(path)
    if not p.is_file():
        if not p.suffix and not p.exists():  # a bare name: most likely a misspelt bundled dataset
            from trust.data.registry import unknown_dataset

            raise DataError(unknown_dataset(str(path), what="dataset or file") + "; or pass an .npz file with X and y")
        raise DataError(f"file '{p}' does not exist; pass an .npz file with arrays X and y")
    try:
        with np.load(p, allow_pickle=False) as z:
            files = set(z.files)
            missing = [k for k in ("X", "y") if k not in files]
            if missing:
                raise DataError(f"'{p}' has no array '{missing[0]}' (it holds: {', '.join(sorted(files)) or 'nothing'}); "
                                "save it with np.savez(path, X=X, y=y)")
            X, y = z["X"], z["y"]
            stored_kind = str(z["kind"]) if "kind" in files else None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise DataError(f"'{p}' could not be read as an .npz archive of numeric arrays; save it with np.savez(path, X=X, y=y)") from None
    X, y, kind = check_arrays(X, y, kind=kind or stored_kind, name=f"X in '{p.name}'")
    return ArrayDataset(name or p.stem, X, y, kind, tuple(str(c) for c in range(int(y.max()) + 1)))


def save_arrays(path: str | os.PathLike[str], **arrays: Any) -> Path:
    """Write the named arrays as a compressed ``.npz`` (``load_arrays`` reads ``X``, ``y``), atomically."""
    from trust.data.io import atomic_path

    with atomic_path(path) as tmp:
        with tmp.open("wb") as f:
            np.savez_compressed(f, **arrays)
    return Path(path)


def generate_mnist1d(args: Mapping[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-1D from ``mnist1d.data.make_dataset`` at ``args`` (default :data:`MNIST1D_ARGS`); ``(X, y)``.

    ``X`` is ``(num_samples, final_seq_length)`` float64 (train rows then test rows, as the package
    splits them), ``y`` int64. ``make_dataset`` seeds numpy's and Python's global generators; their
    state is restored afterwards. Needs the ``mnist1d`` package; nothing is downloaded.
    """
    import random

    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        d = make_dataset(ObjectView({**MNIST1D_ARGS, **dict(args or {})}))
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    X = np.concatenate([d["x"], d["x_test"]]).astype(np.float64)
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    return X, y


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


def _load_mnist1d(path: Path, sha256: str) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"bundled file '{path}' is missing; restore data/ from the repository or set TRUST_DATA_DIR")
    with np.load(path, allow_pickle=False) as z:
        X, y = z["X"], z["y"]
    if arrays_sha256(X, y) != sha256:
        raise DataError(f"'{path}' does not match its recorded sha256; restore it from the repository")
    return X, y


def load_array_dataset(name: str) -> ArrayDataset:
    """A bundled array dataset of the registry (``digits``, ``mnist1d``), validated, offline.

    >>> ds = load_array_dataset("digits")
    >>> ds.X.shape, ds.kind, ds.n_classes
    ((1797, 8, 8), 'image', 10)
    """
    from trust.data.registry import data_dir, dataset_info

    info = dataset_info(name)
    if info.modality == "table":
        raise DataError(f"dataset '{name}' is a table; load it with trust.data.load_dataset('{name}')")
    if name == "digits":
        X, y = _load_digits()
        test_index = None
    elif name == "mnist1d":
        X, y = _load_mnist1d(data_dir() / info.file, info.sha256)
        n_train = int(round(MNIST1D_ARGS["num_samples"] * MNIST1D_ARGS["train_split"]))
        test_index = np.arange(n_train, len(y))
    else:  # pragma: no cover - a registry entry without a loader is a bug
        raise AssertionError(f"no loader for array dataset {name!r}")
    X, y, kind = check_arrays(X, y, kind=info.modality, name=name)
    return ArrayDataset(name, X, y, kind, tuple(str(c) for c in range(int(y.max()) + 1)), test_index,
                        {"source": info.source, "licence": info.licence})


def table_to_arrays(frames: Sequence[pd.DataFrame], schema: Any) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Encode tables sharing ``schema`` as float matrices and integer labels for a neural network.

    Categorical features become one-hot columns over the declared categories, or those of the
    first frame (a missing value is a category of its own; a value not seen there is all zeros);
    numeric features are floats, ``log1p`` where the schema says ``log`` (values >= 0). The target
    (categorical) is coded by its sorted categories. Returns ``(Xs, ys, feature_names)``, one
    matrix and label vector per frame.
    """
    if schema.target is None or schema.problem_type != "classification":
        raise DataError("table_to_arrays needs a classification schema with a target; declare one")
    first = frames[0]
    names: list[str] = []
    encoders = []
    for col, spec in schema.columns.items():
        if col == schema.target:
            continue
        if spec.kind == "categorical":
            cats = list(spec.categories) if spec.categories is not None else sorted(first[col].dropna().unique().tolist(), key=str)
            encoders.append((col, "cat", cats))
            names += [f"{col}={c}" for c in cats] + ([f"{col}=<missing>"] if spec.allow_missing else [])
        else:
            encoders.append((col, "num", spec.log))
            names.append(f"log1p({col})" if spec.log else col)
    tcats = list(schema[schema.target].categories or sorted(first[schema.target].dropna().unique().tolist(), key=str))
    Xs, ys = [], []
    for df in frames:
        parts = []
        for col, how, opt in encoders:
            if col not in df.columns:
                raise DataError(f"column '{col}' is missing from a table; every table needs the schema's columns")
            if how == "cat":
                v = df[col]
                block = np.stack([(v == c).to_numpy() for c in opt], axis=1).astype(np.float32)
                parts.append(block)
                if schema[col].allow_missing:
                    parts.append(v.isna().to_numpy(dtype=np.float32)[:, None])
            else:
                v = df[col].to_numpy(dtype=np.float64)
                if np.isnan(v).any():
                    raise DataError(f"column '{col}' has missing values; impute them before training a network")
                parts.append((np.log1p(np.clip(v, 0, None)) if opt else v).astype(np.float32)[:, None])
        Xs.append(np.concatenate(parts, axis=1))
        t = df[schema.target]
        codes = pd.Categorical(t, categories=tcats).codes.astype(np.int64)
        if (codes < 0).any():
            raise DataError(f"target '{schema.target}' has a value outside its categories {tcats}")
        ys.append(codes)
    return Xs, ys, names


__all__ = ["ARRAY_KINDS", "MNIST1D_ARGS", "ArrayDataset", "arrays_sha256", "infer_kind", "check_arrays",
           "load_arrays", "save_arrays", "generate_mnist1d", "load_array_dataset", "table_to_arrays"]
