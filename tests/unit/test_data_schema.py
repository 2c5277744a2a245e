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


# ---------------------------------------------------------------- issue 21 item 5: a draft is marked and refused under DP
def _draftable(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.integers(17, 91, n).astype(float), "kids": rng.integers(0, 4, n),
                         "job": rng.choice(["a", "b", "c"], n), "y": rng.choice(["no", "yes"], n)})


def test_a_draft_says_it_is_a_draft_in_the_file_and_round_trips():
    from trust.data.schema import TableSchema, draft_schema

    schema, _ = draft_schema(_draftable(), target="y")
    d = schema.to_dict()
    assert list(d)[0] == "review" and d["review"]["status"] == "draft" and "reviewed" in d["review"]["how"]
    back = TableSchema.from_dict(d)
    assert back.review == "draft" and back.review_flags == schema.review_flags


def test_require_reviewed_refuses_a_draft_and_passes_a_reviewed_or_hand_written_schema():
    from trust.data.schema import TableSchema, draft_schema, require_reviewed

    d = draft_schema(_draftable(), target="y")[0].to_dict()
    with pytest.raises(DataError, match='"status": "reviewed"'):
        require_reviewed(TableSchema.from_dict(d))
    d["review"]["status"] = "reviewed"
    require_reviewed(TableSchema.from_dict(d))
    del d["review"]
    require_reviewed(TableSchema.from_dict(d))


def test_the_dp_category_check_refuses_a_draft_but_reviewing_it_without_dp_does_not():
    from trust.data.schema import TableSchema, check_category_lists, draft_schema

    drafted = TableSchema.from_dict(draft_schema(_draftable(), target="y")[0].to_dict())
    with pytest.raises(DataError, match="unreviewed draft"):
        check_category_lists(drafted, None)
    check_category_lists(drafted, 200)  # the row-count rules while reviewing: no refusal for being a draft


def test_a_bad_review_block_is_a_one_line_data_error():
    from trust.data.schema import TableSchema

    with pytest.raises(DataError, match="'review'"):
        TableSchema.from_dict({"review": {"status": "ok"}, "columns": [{"name": "x", "kind": "continuous"}]})


def test_the_draft_flags_categories_held_by_few_rows():
    from trust.data.schema import RARE_LEVEL_ROWS, draft_schema

    df = _draftable()
    df.loc[:RARE_LEVEL_ROWS - 2, "job"] = "astronaut"  # held by 4 rows
    _, warnings = draft_schema(df, target="y")
    rare = [w for w in warnings if "column 'job'" in w]
    assert len(rare) == 1 and "astronaut" in rare[0] and f"fewer than {RARE_LEVEL_ROWS} rows" in rare[0]
    _, clean = draft_schema(_draftable(), target="y")
    assert not [w for w in clean if "column 'job'" in w]


def test_the_draft_flags_a_numeric_column_drafted_as_categorical():
    from trust.data.schema import draft_schema

    schema, warnings = draft_schema(_draftable(), target="y")
    assert schema["kids"].kind == "categorical"
    assert [w for w in warnings if "column 'kids' is numeric with 4 distinct values" in w]
    assert not [w for w in warnings if "column 'age'" in w]  # continuous: nothing to flag


def test_a_few_text_tokens_in_a_numeric_column_are_flagged_not_silently_made_259_levels():
    """Issue 25: 'unknown' among 258 numbers made a 259-level categorical without a word."""
    from trust.data.schema import draft_schema

    df = _draftable(400)
    df["income"] = [str(v) for v in range(1000, 1000 + 400)]
    df.loc[[3, 7], "income"] = "unknown"
    schema, warnings = draft_schema(df, target="y")
    assert schema["income"].kind == "categorical"
    flag = [w for w in warnings if "column 'income' is numbers but for text value(s) ['unknown']" in w]
    assert len(flag) == 1 and "--na" in flag[0]
