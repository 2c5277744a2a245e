"""The bundled datasets: where they come from, their licence, and their schema.

``load_dataset(name)`` returns the table and its :class:`~trust.data.schema.TableSchema`.
Files live in the project's ``data/`` folder (override with ``TRUST_DATA_DIR``); nothing is
downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trust.data.io import read_table
from trust.data.schema import TableSchema, infer_schema
from trust.errors import DataError


@dataclass(frozen=True)
class DatasetInfo:
    """Provenance and schema overrides of one bundled dataset."""

    name: str
    file: str
    target: str
    problem_type: str
    rows: int
    source: str
    licence: str
    description: str
    na_values: tuple[str, ...] = ()
    schema_overrides: dict[str, Any] = field(default_factory=dict)
    public_categories: bool = False
    """Whether the category lists are documented publicly (and may be declared as public metadata)."""
    modality: str = "table"
    """``table`` (:func:`load_dataset`), or ``image`` / ``signal`` (:func:`trust.data.arrays.load_array_dataset`)."""
    sha256: str = ""
    """For an array dataset bundled as ``.npz``: sha256 of its ``X`` and ``y`` (:func:`trust.data.arrays.arrays_sha256`)."""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "file", "target", "problem_type", "rows",
                                              "source", "licence", "description", "modality")}


_ADULT_CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship",
                      "race", "sex", "native-country", "income"]

DATASETS: dict[str, DatasetInfo] = {
    "adult": DatasetInfo(
        name="adult",
        file="adult.csv.gz",
        target="income",
        problem_type="classification",
        rows=32561,
        source="UCI Adult / Census Income, training split adult.data (Becker & Kohavi 1996, doi:10.24432/C5XW20)",
        licence="CC BY 4.0",
        description="Census records; predict whether income exceeds 50K. '?' marks missing values "
                    "(workclass, occupation, native-country).",
        na_values=("?",),
        schema_overrides=dict(
            categorical=_ADULT_CATEGORICAL,
            general=["age", "education-num"],
            continuous=["fnlwgt", "hours-per-week"],
            mixed={"capital-gain": [0.0], "capital-loss": [0.0]},
            log=["fnlwgt", "capital-gain", "capital-loss"],
        ),
        public_categories=True,
    ),
    "adult_ctabgan": DatasetInfo(
        name="adult_ctabgan",
        file="adult_ctabgan.csv.gz",
        target="income",
        problem_type="classification",
        rows=48842,
        source="UCI Adult, train and test combined as in the CTAB-GAN+ paper (Team-TUD/CTAB-GAN-Plus, Real_Datasets/Adult.csv)",
        licence="CC BY 4.0",
        description="Adult as the CTAB-GAN+ paper uses it: education-num dropped, categoricals integer-coded "
                    "alphabetically ('?' its own code), income 0/1.",
        schema_overrides=dict(
            categorical=["workclass", "education", "marital-status", "occupation", "relationship",
                         "race", "gender", "native-country", "income"],
            general=["age"],
            continuous=["fnlwgt", "hours-per-week"],
            mixed={"capital-gain": [0.0], "capital-loss": [0.0]},
        ),
        public_categories=True,
    ),
    "king": DatasetInfo(
        name="king",
        file="king.csv.gz",
        target="price",
        problem_type="regression",
        rows=21613,
        source="House Sales in King County, USA, May 2014 - May 2015 (Team-TUD/CTAB-GAN-Plus, Real_Datasets/king.csv)",
        licence="CC0 (as listed on its public page)",
        description="House sale prices; 'id' dropped, 'date' a day index 0..390.",
        schema_overrides=dict(
            categorical=["waterfront", "view", "condition", "grade", "zipcode"],
            continuous=["date", "bedrooms", "bathrooms", "sqft_living", "sqft_lot", "floors", "sqft_above",
                        "yr_built", "lat", "long", "sqft_living15", "sqft_lot15", "price"],
            mixed={"sqft_basement": [0.0], "yr_renovated": [0.0]},
            log=["price", "sqft_lot", "sqft_lot15"],
        ),
    ),
    # --- array datasets (trust.data.arrays.load_array_dataset) ---
    "digits": DatasetInfo(
        name="digits",
        file="",
        target="digit",
        problem_type="classification",
        rows=1797,
        source="scikit-learn's bundled copy of the UCI Optical Recognition of Handwritten Digits test set "
               "(Alpaydin & Kaynak 1998, doi:10.24432/C50P49), sklearn.datasets.load_digits",
        licence="CC BY 4.0",
        description="8x8 grey images of handwritten digits, 10 classes; intensities 0..16 scaled to [0, 1].",
        modality="image",
    ),
    "mnist1d": DatasetInfo(
        name="mnist1d",
        file="mnist1d.npz",
        target="digit",
        problem_type="classification",
        rows=5000,
        source="MNIST-1D (Greydanus & Kobak 2024, arXiv:2011.14439), generated locally with "
               "mnist1d==0.0.2.post1 make_dataset at its default arguments (seed 42)",
        licence="Apache-2.0",
        description="1-D signals of length 40 from 10 digit templates, shifted, scaled, sheared and noised; "
                    "the first 4,000 rows the package's training split, the last 1,000 its test split.",
        modality="signal",
        sha256="af55b894de711b65cbca8588bd82fe4d4c07571ee3e23400d2299862a1d314b4",
    ),
}


def data_dir() -> Path:
    """The folder holding the bundled data files: ``$TRUST_DATA_DIR`` or the project's ``data/``."""
    env = os.environ.get("TRUST_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


def list_datasets() -> list[DatasetInfo]:
    """Every bundled dataset, in name order."""
    return [DATASETS[k] for k in sorted(DATASETS)]


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise DataError(f"unknown dataset '{name}'; choose one of: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def load_dataset(name: str) -> tuple[pd.DataFrame, TableSchema]:
    """Load a bundled dataset and its schema.

    Missing-value markers (``?`` in Adult) are read as missing on purpose, and the columns that
    hold them are declared ``allow_missing`` so that they are modelled as a category of their
    own rather than dropped. Category lists are declared public metadata where the dataset's
    documentation publishes them (Adult's ``adult.names``).

    >>> df, schema = load_dataset("adult")
    >>> schema.target, schema["capital-gain"].kind
    ('income', 'mixed')
    """
    info = dataset_info(name)
    if info.modality != "table":
        raise DataError(f"dataset '{name}' holds {info.modality}s, not a table; "
                        f"load it with trust.data.load_array_dataset('{name}')")
    path = data_dir() / info.file
    if not path.exists():
        raise DataError(f"bundled file '{path}' is missing; restore data/ from the repository or set TRUST_DATA_DIR")
    df = read_table(path, na_values=list(info.na_values) or None)
    overrides = dict(info.schema_overrides)
    if info.public_categories:
        overrides["categories"] = {
            c: sorted(df[c].dropna().unique().tolist()) for c in overrides.get("categorical", [])
        }
    schema = infer_schema(df, target=info.target, problem_type=info.problem_type, **overrides)
    schema.meta.update({"dataset": info.name, "licence": info.licence, "source": info.source})
    return schema.validate(df), schema


__all__ = ["DatasetInfo", "DATASETS", "data_dir", "list_datasets", "dataset_info", "load_dataset"]
