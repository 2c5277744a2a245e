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
    schema: dict[str, Any] | None = None
    """The declared schema (:meth:`TableSchema.to_dict` form) written out from the dataset's documentation;
    None: the schema is inferred from the rows (``schema_overrides``) and a DP fit refuses it."""
    modality: str = "table"
    """``table`` (:func:`load_dataset`), or ``image`` / ``signal`` (:func:`trust.data.arrays.load_array_dataset`)."""
    sha256: str = ""
    """For an array dataset bundled as ``.npz``: sha256 of its ``X`` and ``y`` (:func:`trust.data.arrays.arrays_sha256`)."""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "file", "target", "problem_type", "rows",
                                              "source", "licence", "description", "modality")}


# --- Declared schemas -----------------------------------------------------------------------------------
# Written out by hand from each dataset's public documentation, NOT computed from the rows, so that a
# differentially private fit may use them as public metadata (a category list or bound read off the data
# would depend on private values: one row could change it). Sources per column are in ``sources`` and in
# data/README.md. Columns whose bound no documentation gives carry none (a DP fit then spends budget on a
# DP range) unless the project declares a round domain bound, said as such in its source (Adult's fnlwgt upper
# bound is the one left: no documentation found gives it).

_UCI_NAMES = "UCI adult.names (Becker & Kohavi 1996, doi:10.24432/C5XW20)"

#: Category lists in the order adult.names lists them; '?' marks an unknown value (read as missing).
ADULT_CATEGORIES: dict[str, list[str]] = {
    "workclass": ["Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov", "State-gov",
                  "Without-pay", "Never-worked"],
    "education": ["Bachelors", "Some-college", "11th", "HS-grad", "Prof-school", "Assoc-acdm", "Assoc-voc", "9th",
                  "7th-8th", "12th", "Masters", "1st-4th", "10th", "Doctorate", "5th-6th", "Preschool"],
    "marital-status": ["Married-civ-spouse", "Divorced", "Never-married", "Separated", "Widowed",
                       "Married-spouse-absent", "Married-AF-spouse"],
    "occupation": ["Tech-support", "Craft-repair", "Other-service", "Sales", "Exec-managerial", "Prof-specialty",
                   "Handlers-cleaners", "Machine-op-inspct", "Adm-clerical", "Farming-fishing", "Transport-moving",
                   "Priv-house-serv", "Protective-serv", "Armed-Forces"],
    "relationship": ["Wife", "Own-child", "Husband", "Not-in-family", "Other-relative", "Unmarried"],
    "race": ["White", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other", "Black"],
    "sex": ["Female", "Male"],
    "native-country": ["United-States", "Cambodia", "England", "Puerto-Rico", "Canada", "Germany",
                       "Outlying-US(Guam-USVI-etc)", "India", "Japan", "Greece", "South", "China", "Cuba", "Iran",
                       "Honduras", "Philippines", "Italy", "Poland", "Jamaica", "Vietnam", "Mexico", "Portugal",
                       "Ireland", "France", "Dominican-Republic", "Laos", "Ecuador", "Taiwan", "Haiti", "Columbia",
                       "Hungary", "Guatemala", "Nicaragua", "Scotland", "Thailand", "Yugoslavia", "El-Salvador",
                       "Trinadad&Tobago", "Peru", "Hong", "Holand-Netherlands"],
    "income": [">50K", "<=50K"],
}

# adult.names: "A set of reasonably clean records was extracted using the following conditions:
# ((AAGE>16) && (AGI>100) && (AFNLWGT>1) && (HRSWK>0))" -- documented lower bounds of age, fnlwgt and hours.
_EXTRACTION = f"{_UCI_NAMES}: the extraction conditions ((AAGE>16) && (AGI>100) && (AFNLWGT>1) && (HRSWK>0))"
# Upper bounds: the CPS (Adult's source: the March 1994 Current Population Survey) as IPUMS-CPS documents its
# variables (Flood et al., IPUMS CPS, cps.ipums.org); the Census Bureau's 1994 codebook itself was not found in
# the sources searched, so these cite IPUMS's documentation of the same survey fields.
_IPUMS = "IPUMS-CPS variable documentation (cps.ipums.org)"
_PROJECT = ("no documented upper value found (adult.names calls the column 'continuous' with no range; the CPS "
            "documentation searched gives none): the upper bound is the project's round domain bound, chosen with "
            "knowledge of Adult (NOTES.md); a deployment takes its bounds from its own data dictionary")


def _col(name: str, kind: str, *, integer: bool = False, log: bool = False, point_masses: tuple = (),
         allow_missing: bool = False, categories: list | None = None, bounds: tuple | None = None) -> dict[str, Any]:
    return {"name": name, "kind": kind, "integer": integer, "log": log, "point_masses": list(point_masses),
            "allow_missing": allow_missing, "categories": categories,
            "bounds": None if bounds is None else [float(bounds[0]), float(bounds[1])]}


def _adult_col(name: str, kind: str, **kw: Any) -> dict[str, Any]:
    if kind == "categorical" and name != "income":
        kw["allow_missing"] = True  # adult.names: unknown values are '?', in any attribute it lists
    return _col(name, kind, categories=ADULT_CATEGORIES.get(name), **kw)


ADULT_SCHEMA: dict[str, Any] = {
    "target": "income", "problem_type": "classification",
    "columns": [
        _adult_col("age", "general", integer=True, bounds=(17, 90)),
        _adult_col("workclass", "categorical"),
        _adult_col("fnlwgt", "continuous", integer=True, log=True, bounds=(1, 2_000_000)),
        _adult_col("education", "categorical"),
        _adult_col("education-num", "general", integer=True, bounds=(1, 16)),
        _adult_col("marital-status", "categorical"),
        _adult_col("occupation", "categorical"),
        _adult_col("relationship", "categorical"),
        _adult_col("race", "categorical"),
        _adult_col("sex", "categorical"),
        _adult_col("capital-gain", "mixed", integer=True, log=True, point_masses=(0.0,), bounds=(0, 99_999)),
        _adult_col("capital-loss", "mixed", integer=True, log=True, point_masses=(0.0,), bounds=(0, 99_999)),
        _adult_col("hours-per-week", "continuous", integer=True, bounds=(1, 99)),
        _adult_col("native-country", "categorical"),
        _adult_col("income", "categorical"),
    ],
    "meta": {"sources": {
        **{c: f"{_UCI_NAMES}: the attribute's value list" for c in ADULT_CATEGORIES},
        "age": f"low 17: {_EXTRACTION} (AAGE>16, whole years); high 90: {_IPUMS}, the CPS age variable of "
               "1985_07-2002 in the monthly files, March included (cps.ipums.org/cps-action/variables/466839): "
               "'Ages are top coded at 90 for July 1985-December 2002'",
        "fnlwgt": f"low 1: {_EXTRACTION} (AFNLWGT>1); high 2,000,000: {_PROJECT}",
        "education-num": f"{_UCI_NAMES}: 16 education levels, numbered 1..16",
        "capital-gain": f"low 0: amounts of net capital gain, {_IPUMS} CAPGAIN ('Both CAPLOSS and CAPGAIN report "
                        "net losses and gains, respectively; at least one of them is always zero'); high 99,999: "
                        "the same page codes the amount in five digits ('99999 = N.I.U.', '99997 = Top Code'), "
                        "so no recorded amount exceeds 99,999",
        "capital-loss": f"low 0: amounts of net capital loss, {_IPUMS} CAPLOSS (as CAPGAIN); high 99,999: the same "
                        "page codes the amount in five digits ('99999 = N.I.U.'; no topcode below it is documented), "
                        "so the bound is the field's range: wide, which costs a DP fit resolution, not validity",
        "hours-per-week": f"low 1: {_EXTRACTION} (HRSWK>0, whole hours); high 99: {_IPUMS} UH_HOURS_A4 ('Hours "
                          "worked last week at all jobs - 1994-2025', ASEC: a 2-digit variable, '99 = 99+')",
        "kinds": "the column kinds, integer and log flags are modelling choices declared here (CTAB-GAN+'s "
                 "encoders), not inferred",
    }},
}

_KC = ("King County house sales data dictionary (the dataset's public page, 'House Sales in King County, USA', "
       "kc_house_data)")

KING_SCHEMA: dict[str, Any] = {
    "target": "price", "problem_type": "regression",
    "columns": [
        _col("date", "continuous", integer=True, bounds=(0, 390)),
        _col("bedrooms", "continuous", integer=True),
        _col("bathrooms", "continuous"),
        _col("sqft_living", "continuous", integer=True),
        _col("sqft_lot", "continuous", integer=True, log=True),
        _col("floors", "continuous"),
        _col("waterfront", "categorical", categories=[0, 1]),
        _col("view", "categorical", categories=[0, 1, 2, 3, 4]),
        _col("condition", "categorical", categories=[1, 2, 3, 4, 5]),
        _col("grade", "categorical", categories=list(range(1, 14))),
        _col("sqft_above", "continuous", integer=True),
        _col("sqft_basement", "mixed", integer=True, point_masses=(0.0,)),
        _col("yr_built", "continuous", integer=True),
        _col("yr_renovated", "mixed", integer=True, point_masses=(0.0,)),
        _col("zipcode", "categorical", categories=list(range(98001, 98200))),
        _col("lat", "continuous"),
        _col("long", "continuous"),
        _col("sqft_living15", "continuous", integer=True),
        _col("sqft_lot15", "continuous", integer=True, log=True),
        _col("price", "continuous", integer=True, log=True),
    ],
    "meta": {"sources": {
        "date": "data/README.md: sales from May 2014 to May 2015 recoded as a day index 0..390",
        "waterfront": f"{_KC}: 0/1, whether the house overlooks the waterfront",
        "view": f"{_KC}: an index from 0 to 4 of how good the view is",
        "condition": f"{_KC}: an index from 1 to 5 of the condition",
        "grade": f"{_KC}: an index from 1 to 13 of construction and design (King County grading system)",
        "zipcode": "USPS: King County's ZIP codes lie in 98001..98199 (the whole range is declared; a code with "
                   "no house is an empty category)",
        "yr_renovated": f"{_KC}: year of the last renovation, 0 when never renovated",
        "other columns": "no documented range: no bound declared (a DP fit would spend budget on a DP range)",
        "kinds": "the column kinds, integer and log flags are modelling choices declared here, not inferred",
    }},
}

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
        schema=ADULT_SCHEMA,
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
        schema=KING_SCHEMA,
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


def unknown_dataset(name: str, *, what: str = "dataset") -> str:
    """The message for a name that is not a bundled dataset: the closest bundled name, then every one.

    >>> unknown_dataset("adlt")
    "unknown dataset 'adlt' (did you mean 'adult'?); the bundled datasets are: adult, adult_ctabgan, digits, king, mnist1d"
    """
    import difflib

    near = difflib.get_close_matches(str(name), sorted(DATASETS), n=1, cutoff=0.6)
    return (f"unknown {what} '{name}'" + (f" (did you mean '{near[0]}'?)" if near else "")
            + f"; the bundled datasets are: {', '.join(sorted(DATASETS))}")


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise DataError(unknown_dataset(name))
    return DATASETS[name]


def dataset_schema(name: str) -> TableSchema:
    """The *declared* schema of a bundled dataset, built from its documentation without reading any row.

    Raises :class:`~trust.errors.DataError` for a dataset that has none (its schema is inferred from
    the rows by :func:`load_dataset`; write one out with ``trust data schema draft`` and review it).
    """
    info = dataset_info(name)
    if info.schema is None:
        raise DataError(f"dataset '{name}' has no declared schema; draft one with `trust data schema draft`, "
                        "review it and pass it with --schema")
    schema = TableSchema.from_dict(info.schema)
    schema.meta.update({"dataset": info.name, "licence": info.licence, "source": info.source})
    return schema


def load_dataset(name: str) -> tuple[pd.DataFrame, TableSchema]:
    """Load a bundled dataset and its schema.

    Missing-value markers (``?`` in Adult) are read as missing on purpose, and the columns that
    may hold them are declared ``allow_missing`` so that they are modelled as a category of their
    own rather than dropped. Adult and King come with a declared schema (:func:`dataset_schema`:
    category lists and bounds written out from their documentation, never computed from the rows);
    the rows are validated against it. Other datasets get an inferred schema, which a DP fit refuses.

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
    if info.schema is not None:
        schema = dataset_schema(name)
        return schema.validate(df), schema
    overrides = dict(info.schema_overrides)
    if info.public_categories:
        overrides["categories"] = {
            c: sorted(df[c].dropna().unique().tolist()) for c in overrides.get("categorical", [])
        }
    schema = infer_schema(df, target=info.target, problem_type=info.problem_type, **overrides)
    schema.meta.update({"dataset": info.name, "licence": info.licence, "source": info.source})
    return schema.validate(df), schema


__all__ = ["DatasetInfo", "DATASETS", "ADULT_SCHEMA", "ADULT_CATEGORIES", "KING_SCHEMA", "data_dir", "list_datasets",
           "dataset_info", "dataset_schema", "load_dataset"]
