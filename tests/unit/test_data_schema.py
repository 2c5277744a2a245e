import numpy as np
import pandas as pd
import pytest

from trust.data import ColumnSpec, TableSchema, infer_schema
from trust.errors import ConfigError, DataError


def small_frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "colour": rng.choice(["red", "green", "blue"], n),
        "amount": np.where(rng.random(n) < 0.6, 0.0, rng.lognormal(3, 1, n)),
        "age": rng.integers(18, 90, n),
        "score": rng.normal(0, 1, n),
        "label": rng.choice([0, 1], n),
    })


def test_inference_kinds_and_integer_flag():
    s = infer_schema(small_frame(), target="label")
    assert s["colour"].kind == "categorical"
    assert s["label"].kind == "categorical"  # two distinct values
    assert s["age"].kind == "continuous" and s["age"].integer
    assert s["score"].kind == "continuous" and not s["score"].integer
    assert s.problem_type == "classification"
    assert s.features == ["colour", "amount", "age", "score"]


def test_overrides_win_and_mixed_needs_masses():
    s = infer_schema(small_frame(), target="score", mixed={"amount": [0.0]}, log=["amount"], general=["age"])
    assert s["amount"].kind == "mixed" and s["amount"].point_masses == (0.0,) and s["amount"].log
    assert s["age"].kind == "general"
    assert s.problem_type == "regression"
    with pytest.raises(ConfigError, match="amount"):
        ColumnSpec("amount", "mixed")


def test_conflicting_overrides_and_unknown_columns_are_named():
    df = small_frame()
    with pytest.raises(ConfigError, match="'age'.*both"):
        infer_schema(df, categorical=["age"], continuous=["age"])
    with pytest.raises(DataError, match="'nope'"):
        infer_schema(df, target="nope")


def test_constant_and_empty_columns_are_rejected():
    df = small_frame()
    df["const"] = 7
    with pytest.raises(DataError, match="'const' is constant"):
        infer_schema(df)
    df = small_frame()
    df["empty"] = np.nan
    with pytest.raises(DataError, match="'empty' is entirely missing"):
        infer_schema(df)


def test_text_column_cannot_be_continuous():
    with pytest.raises(DataError, match="'colour'.*not numeric"):
        infer_schema(small_frame(), continuous=["colour"])


def test_validate_names_the_column_and_the_fix():
    df = small_frame()
    s = infer_schema(df, target="label")
    assert list(s.validate(df.assign(extra=1)).columns) == s.names  # extra columns dropped, order kept
    with pytest.raises(DataError, match="target column 'label' is missing"):
        s.validate(df.drop(columns="label"))
    bad = df.copy()
    bad.loc[3, "score"] = np.nan
    with pytest.raises(DataError, match="'score' has 1 missing.*allow_missing"):
        s.validate(bad)
    bad = df.astype({"age": object})
    bad.loc[0, "age"] = "old"
    with pytest.raises(DataError, match="'age'.*non-numeric.*'old'"):
        s.validate(bad)
    assert len(s.validate(df.drop(columns="label"), require_target=False).columns) == 4


def test_declared_categories_and_bounds_are_enforced():
    df = small_frame()
    s = infer_schema(df, categories={"colour": ["red", "green"]}, bounds={"score": (-10, 10)})
    assert s["colour"].categories == ("red", "green")
    with pytest.raises(DataError, match="'colour'.*'blue'"):
        s.validate(df)
    s = infer_schema(df, bounds={"score": (-0.5, 0.5)})
    with pytest.raises(DataError, match="'score'.*outside its declared bounds"):
        s.validate(df)


def test_missing_values_allowed_when_present_or_declared():
    df = small_frame()
    df.loc[::10, "colour"] = None
    s = infer_schema(df, allow_missing=["score"])
    assert s["colour"].allow_missing and s["score"].allow_missing and not s["age"].allow_missing
    s.validate(df)


def test_schema_round_trips_through_dict():
    s = infer_schema(small_frame(), target="label", mixed={"amount": [0.0]}, categories={"colour": ["red", "green", "blue"]},
                     bounds={"score": (-10, 10)})
    again = TableSchema.from_dict(s.to_dict())
    assert again.to_dict() == s.to_dict()
    assert again["amount"].point_masses == (0.0,)
    assert again["score"].bounds == (-10.0, 10.0)


def test_replace_and_select():
    s = infer_schema(small_frame(), target="label")
    s2 = s.replace_column("age", kind="general")
    assert s2["age"].kind == "general" and s["age"].kind == "continuous"
    sub = s.select(["colour", "age"])
    assert sub.names == ["colour", "age"] and sub.target is None
    with pytest.raises(ConfigError, match="'zzz'"):
        s.replace_column("zzz", kind="general")


# --- identifier-like category lists under DP: the decision reads the public list alone -------------------

def _one_list(levels):
    from trust.data.schema import ColumnSpec

    return TableSchema({"c": ColumnSpec("c", "categorical", categories=tuple(levels))})


def test_under_dp_identifier_shaped_levels_are_refused_without_any_row_count():
    from trust.data.schema import check_category_lists

    emails = [f"person{i}@example.org" for i in range(30)]
    with pytest.raises(DataError, match="column 'c' declares 30 categories, levels that look like identifiers"):
        check_category_lists(_one_list(emails), None)


def test_under_dp_a_long_public_list_passes_and_the_absolute_cap_refuses():
    from trust.data.schema import MAX_CATEGORY_LEVELS_DP, check_category_lists

    zip_codes = list(range(98001, 98200))  # King County's 199 documented ZIP codes, declared as numbers
    check_category_lists(_one_list(zip_codes), None)
    with pytest.raises(DataError, match="mostly numbers, with text among them"):  # the same written as text: suspect
        check_category_lists(_one_list([str(z) for z in zip_codes]), None)
    with pytest.raises(DataError, match=f"more than {MAX_CATEGORY_LEVELS_DP} levels"):
        check_category_lists(_one_list([f"level {i}" for i in range(MAX_CATEGORY_LEVELS_DP + 1)]), None)


def test_the_dp_decision_is_the_same_for_every_row_count_the_rules_without_it_would_see():
    from trust.data.schema import check_category_lists

    levels = [f"shop {i}" for i in range(60)]
    check_category_lists(_one_list(levels), None)  # a public list of 60 names: accepted under DP
    with pytest.raises(DataError, match="one level per row"):  # while reviewing a draft of 60 rows it is suspect
        check_category_lists(_one_list(levels), 60)
