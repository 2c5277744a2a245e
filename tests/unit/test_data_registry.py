import pandas as pd
import pytest

from trust.data import dataset_info, frame_sha256, list_datasets, load_dataset, split_table
from trust.errors import ConfigError, DataError


def test_adult_loads_with_missing_values_on_purpose(adult):
    df, schema = adult
    info = dataset_info("adult")
    assert len(df) == info.rows == 32561
    assert schema.target == "income" and schema.problem_type == "classification"
    # '?' is read as missing, not kept as a string category
    assert df["workclass"].isna().sum() == 1836
    assert "?" not in set(df["workclass"].dropna())
    assert schema["workclass"].allow_missing and not schema["age"].allow_missing
    # leading spaces of the original file are gone
    assert set(df["income"]) == {"<=50K", ">50K"}
    assert schema["capital-gain"].kind == "mixed" and schema["capital-gain"].point_masses == (0.0,)
    assert schema["fnlwgt"].log and schema["fnlwgt"].integer
    assert schema["workclass"].categories is not None  # documented domains, public metadata


def test_king_schema(king):
    df, schema = king
    assert df.shape == (21613, 20)
    assert schema.problem_type == "regression"
    assert schema["price"].log and schema["sqft_basement"].kind == "mixed"
    assert schema["zipcode"].kind == "categorical"


def test_registry_lists_sources_and_licences():
    names = [d.name for d in list_datasets()]
    assert names == sorted(names) and {"adult", "king", "adult_ctabgan"} <= set(names)
    assert all(d.licence and d.source for d in list_datasets())
    with pytest.raises(DataError, match="unknown dataset 'nope'.*adult"):
        load_dataset("nope")


def test_missing_data_dir_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TRUST_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="TRUST_DATA_DIR"):
        load_dataset("king")


def test_splits_are_seeded_disjoint_and_stratified(adult):
    df, schema = adult
    df = df.iloc[:4000]
    a = split_table(df, test_size=0.2, holdout_size=0.2, stratify="income", seed=3)
    b = split_table(df, test_size=0.2, holdout_size=0.2, stratify="income", seed=3)
    c = split_table(df, test_size=0.2, holdout_size=0.2, stratify="income", seed=4)
    assert frame_sha256(a.train) == frame_sha256(b.train)
    assert frame_sha256(a.train) != frame_sha256(c.train)
    sizes = [len(x) for _, x in a.items()]
    assert sum(sizes) == len(df) and abs(sizes[1] - 800) <= 1 and abs(sizes[2] - 800) <= 1
    # disjoint and complete: every original row lands in exactly one part
    tagged = split_table(df.assign(row_id=range(len(df))), test_size=0.2, holdout_size=0.2, stratify="income", seed=3)
    ids = [set(x["row_id"]) for _, x in tagged.items()]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set().union(*ids) == set(range(len(df)))
    rates = [float((x["income"] == ">50K").mean()) for _, x in a.items()]
    assert max(rates) - min(rates) < 0.01


def test_split_rejects_bad_fractions():
    df = pd.DataFrame({"x": range(100)})
    with pytest.raises(ConfigError, match="test_size"):
        split_table(df, test_size=1.5)
    with pytest.raises(ConfigError, match="leaves no training rows"):
        split_table(df, test_size=0.6, holdout_size=0.4)
    with pytest.raises(DataError, match="stratification column 'y'"):
        split_table(df, stratify="y")


def test_frame_hash_tracks_content_not_index():
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    assert frame_sha256(df) == frame_sha256(df.set_axis([10, 11, 12]))
    assert frame_sha256(df) != frame_sha256(df.iloc[::-1])
    changed = df.copy()
    changed.loc[1, "b"] = "w"
    assert frame_sha256(df) != frame_sha256(changed)
    assert frame_sha256(df) != frame_sha256(df.astype({"a": float}))
    assert len(frame_sha256(df)) == 64 and int(frame_sha256(df), 16) >= 0
