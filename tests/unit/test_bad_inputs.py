"""Bad inputs, as a new user makes them, across every CLI command and the public API.

For each case: exit status 2 (CLI) or a TrustError (API); exactly one line on stderr, no traceback; the
offending flag, file or column named; nothing created or changed in the working directory or among the
user's files (a content snapshot before and after). The CLI runs in-process through ``trust.cli.main``;
a handful of cases also run as real subprocesses for the exit-status and one-line contract.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trust.cli import main
from trust.errors import TrustError


# ------------------------------------------------------------------------------------------------
# a small workspace shared by every case (tiny tables, a 1-epoch model)
# ------------------------------------------------------------------------------------------------
def _run(*args) -> int:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    return e.value.code if isinstance(e.value.code, int) else 0


def _toy(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({"x": rng.normal(2.0 * y, 1.0), "k": rng.integers(0, 100, n),
                         "c": np.where(y == 1, "a", "b"), "y": np.where(y == 1, "yes", "no")})


def _reg(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    df["y"] = 2 * df.x1 - df.x2 + 0.3 * rng.normal(size=n)
    return df


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Workspace: toy.csv, reg.csv, schema.json (drafted), model/ (1 epoch), split/, syn.csv."""
    d = tmp_path_factory.mktemp("ws")
    _toy().to_csv(d / "toy.csv", index=False)
    _reg().to_csv(d / "reg.csv", index=False)
    assert _run("data", "schema", "draft", d / "toy.csv", "--target", "y", "--out", d / "schema.json") == 0
    _write(d, "draft-schema.json", (d / "schema.json").read_text())  # kept unreviewed
    reviewed = json.loads((d / "schema.json").read_text())
    reviewed["review"]["status"] = "reviewed"  # the review step
    (d / "schema.json").write_text(json.dumps(reviewed))
    assert _run("synth", "fit", d / "toy.csv", "--target", "y", "--no-dp", "--epochs", 1, "--batch-size", 100,
                "--quiet", "--out", d / "model") == 0
    assert _run("data", "split", d / "toy.csv", "--target", "y", "--out", d / "split") == 0
    assert _run("synth", "sample", d / "model", "-n", 60, "--out", d / "syn.csv", "--seed", 1) == 0
    return d


def _snapshot(*roots: Path) -> dict[str, tuple]:
    snap = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            key = str(p)
            if p.is_dir():
                snap[key] = ("dir",)
            else:
                snap[key] = ("file", p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return snap


# ------------------------------------------------------------------------------------------------
# helpers that set up one bad input in the case's own folder `t` (before the snapshot)
# ------------------------------------------------------------------------------------------------
def _write(t: Path, name: str, text: str | bytes) -> Path:
    p = t / name
    p.parent.mkdir(parents=True, exist_ok=True)
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return p


def _csv(t: Path, name: str, df: pd.DataFrame) -> Path:
    p = t / name
    df.to_csv(p, index=False)
    return p


def _schema(ws: Path, t: Path, edit) -> Path:
    d = json.loads((ws / "schema.json").read_text())
    edit(d)
    return _write(t, "edited-schema.json", json.dumps(d))


def _col(d, name):
    return next(c for c in d["columns"] if c["name"] == name)


def _copy_model(ws: Path, t: Path, weights: bytes | None = None, manifest: dict | None = None) -> Path:
    m = t / "model-copy"
    m.mkdir()
    for f in (ws / "model").iterdir():
        (m / f.name).write_bytes(f.read_bytes())
    if weights is not None:
        (m / "weights.pt").write_bytes(weights)
    if manifest is not None:
        (m / "trust-model.json").write_text(json.dumps(manifest))
    return m


def _foreign_weights(t: Path) -> bytes:
    import torch

    p = t / "foreign.pt"
    torch.save({"generator": {"w": torch.zeros(2)}, "critic": {"w": torch.zeros(2)}}, p)
    data = p.read_bytes()
    p.unlink()
    return data


def _dup_csv(t):
    return _write(t, "dup.csv", "Income,age,Income\n1,2,3\n4,5,6\n7,8,9\n")


def _ids_csv(t):
    df = _toy(60)
    df["email"] = [f"person{i}@example.org" for i in range(len(df))]
    return _csv(t, "ids.csv", df)


def _ids_schema(ws, t):
    df = _toy(60)
    d = json.loads((ws / "schema.json").read_text())
    d["columns"].append({"name": "email", "kind": "categorical",
                         "categories": [f"person{i}@example.org" for i in range(len(df))]})
    return _write(t, "ids-schema.json", json.dumps(d))


def _numeric_levels_csv(t):
    df = _toy(2000)
    df["income"] = np.arange(len(df)) % 60 * 97
    df["income"] = df["income"].astype(object)
    df.loc[0, "income"] = "abc"
    return _csv(t, "income.csv", df)


def _numeric_levels_schema(ws, t):
    d = json.loads((ws / "schema.json").read_text())
    d["columns"].append({"name": "income", "kind": "categorical",
                         "categories": ["abc"] + [i * 97 for i in range(60)]})
    return _write(t, "income-schema.json", json.dumps(d))


def _split_files(ws):
    s = ws / "split"
    return ["--real-train", s / "train.csv", "--real-test", s / "test.csv", "--real-holdout", s / "holdout.csv"]


def _syn_with(ws, t, edit):
    df = pd.read_csv(ws / "syn.csv")
    df = edit(df)
    return _csv(t, "bad-syn.csv", df)


def _set(df, col, row, value):
    df = df.copy()
    df[col] = df[col].astype(object)
    df.loc[row, col] = value
    return df


def _single_class_test(ws, t):
    test = pd.read_csv(ws / "split" / "test.csv")
    return _csv(t, "test1.csv", test[test.y == "yes"])


def _one_row_class(t):
    df = _toy(60)
    df.loc[0, "y"] = "maybe"
    return _csv(t, "rare.csv", df)


def _reg_with(t, row, value):
    df = _reg()
    df.loc[row, "y"] = value
    return _csv(t, "reg-bad.csv", df)


def _foreign_dir(t, name="keep"):
    _write(t, f"{name}/notes.txt", "my notes")
    return t / name


def _proj(t):
    (t / "proj").mkdir()
    return _csv(t, "proj/train.csv", _toy())


def _file_parent(t):
    _write(t, "afile", "x")
    return t / "afile" / "out"


def _fit(ws, *extra):
    return ["synth", "fit", ws / "toy.csv", "--target", "y", "--epochs", "1", "--batch-size", "100", "--quiet", *extra]


def _agg(data, *extra):
    return ["aggregate", "fit", data, "--target", "y", "--bag-size", "4", *extra]


# (id, build(ws, t) -> argv, needle)
CLI_CASES = [
    # --- trust data ---------------------------------------------------------------------------------
    ("describe-missing-file", lambda ws, t: ["data", "describe", t / "nope.csv"], "nope.csv' does not exist"),
    ("describe-unknown-name", lambda ws, t: ["data", "describe", "not-a-dataset"], "the bundled datasets are: adult"),
    ("describe-misspelt-name", lambda ws, t: ["data", "describe", "adlt"], "did you mean 'adult'"),
    ("train-misspelt-name", lambda ws, t: ["models", "train", "digitz", "--out", t / "m"], "did you mean 'digits'"),
    ("describe-duplicate-columns", lambda ws, t: ["data", "describe", _dup_csv(t)], "two columns named 'Income'"),
    ("describe-spreadsheet-named-csv", lambda ws, t: ["data", "describe", _write(t, "s.csv", b"PK\x03\x04junk")],
     "is binary"),
    ("describe-not-utf8", lambda ws, t: ["data", "describe", _write(t, "l1.csv", "a,b\n\xe9\xff,1\n".encode("latin-1"))],
     "not UTF-8"),
    ("describe-empty-file", lambda ws, t: ["data", "describe", _write(t, "empty.csv", "")], "empty.csv"),
    ("describe-header-only", lambda ws, t: ["data", "describe", _write(t, "h.csv", "a,b\n")], "holds no rows"),
    ("describe-a-directory", lambda ws, t: ["data", "describe", ws / "split" / "."], "is a directory"),
    ("describe-target-of-dataset", lambda ws, t: ["data", "describe", "king", "--target", "x"], "drop --target"),
    ("split-out-is-a-file", lambda ws, t: ["data", "split", ws / "toy.csv", "--out", _write(t, "f", "x")], "is a file"),
    ("split-test-zero", lambda ws, t: ["data", "split", ws / "toy.csv", "--out", t / "s", "--test", "0"], "--test 0.0"),
    ("split-no-train-rows", lambda ws, t: ["data", "split", ws / "toy.csv", "--out", t / "s", "--test", "0.6",
                                           "--holdout", "0.5"], "leaves no training rows"),
    ("split-one-row-class", lambda ws, t: ["data", "split", _one_row_class(t), "--target", "y", "--out", t / "s"],
     "fewer than 3 rows"),
    ("split-existing-part", lambda ws, t: ["data", "split", ws / "toy.csv", "--out",
                                           _write(t, "s/train.csv", "mine").parent], "already exists"),
    ("split-unknown-format", lambda ws, t: ["data", "split", ws / "toy.csv", "--out", t / "s", "--format", "xlsx"],
     "--format 'xlsx'"),
    ("split-negative-seed", lambda ws, t: ["data", "split", ws / "toy.csv", "--out", t / "s", "--seed", "-1"],
     "--seed"),
    ("split-unknown-target", lambda ws, t: ["data", "split", ws / "toy.csv", "--out", t / "s", "--target", "nope"],
     "target 'nope'"),
    ("draft-existing-out", lambda ws, t: ["data", "schema", "draft", ws / "toy.csv", "--out", _write(t, "s.json", "{}")],
     "already exists"),
    ("draft-wrong-extension", lambda ws, t: ["data", "schema", "draft", ws / "toy.csv", "--out", t / "s.txt"],
     "extension '.txt'"),
    ("draft-unknown-target", lambda ws, t: ["data", "schema", "draft", ws / "toy.csv", "--target", "nope"],
     "target 'nope'"),
    ("draft-missing-file", lambda ws, t: ["data", "schema", "draft", t / "gone.csv"], "gone.csv' does not exist"),
    # --- trust synth fit: outputs ------------------------------------------------------------------
    ("fit-out-foreign-dir", lambda ws, t: _fit(ws, "--no-dp", "--out", _foreign_dir(t)), "did not write"),
    ("fit-out-foreign-dir-overwrite", lambda ws, t: _fit(ws, "--no-dp", "--overwrite", "--out", _foreign_dir(t)),
     "did not write"),
    ("fit-out-holds-the-data", lambda ws, t: ["synth", "fit", _proj(t), "--no-dp", "--quiet", "--out", t / "proj"],
     "did not write"),
    ("fit-out-existing-file", lambda ws, t: _fit(ws, "--no-dp", "--out", _write(t, "afile", "x")), "existing file"),
    ("fit-out-existing-file-overwrite", lambda ws, t: _fit(ws, "--no-dp", "--overwrite", "--out", _write(t, "afile", "x")),
     "never replaced"),
    ("fit-out-parent-is-file", lambda ws, t: _fit(ws, "--no-dp", "--out", _file_parent(t)), "is a file"),
    ("fit-out-dot", lambda ws, t: _fit(ws, "--no-dp", "--out", "."), "current directory"),
    ("fit-out-existing-model", lambda ws, t: _fit(ws, "--no-dp", "--out", _copy_model(ws, t)), "--overwrite"),
    ("fit-out-other-kind-of-model", lambda ws, t: _fit(ws, "--no-dp", "--overwrite", "--out",
                                                       _copy_model(ws, t, manifest={"kind": "aggregate-fit",
                                                                                    "format_version": 1})),
     "'aggregate-fit' model"),
    ("fit-evidence-is-a-file", lambda ws, t: _fit(ws, "--no-dp", "--out", t / "m", "--evidence", _write(t, "ev", "x")),
     "--evidence"),
    # --- trust synth fit: options and data ---------------------------------------------------------
    ("fit-negative-seed", lambda ws, t: _fit(ws, "--no-dp", "--out", t / "m", "--seed", "-1"), "--seed"),
    ("fit-zero-epochs", lambda ws, t: _fit(ws, "--no-dp", "--out", t / "m", "--epochs", "0"), "--epochs"),
    ("fit-no-privacy-choice", lambda ws, t: _fit(ws, "--out", t / "m"), "choose --epsilon"),
    ("fit-both-privacy-choices", lambda ws, t: _fit(ws, "--no-dp", "--epsilon", "1", "--out", t / "m"),
     "choose --epsilon"),
    ("fit-epsilon-nan", lambda ws, t: _fit(ws, "--epsilon", "nan", "--schema", ws / "schema.json", "--out", t / "m"),
     "--epsilon nan"),
    ("fit-dp-without-schema", lambda ws, t: _fit(ws, "--epsilon", "1", "--out", t / "m"), "trust data schema draft"),
    ("fit-dp-unreviewed-draft", lambda ws, t: _fit(ws, "--epsilon", "1", "--out", t / "m", "--schema",
                                                   ws / "draft-schema.json"), '"status": "reviewed"'),
    ("fit-dp-category-list-missing", lambda ws, t: _fit(ws, "--epsilon", "1", "--out", t / "m", "--schema",
                                                        _schema(ws, t, lambda d: _col(d, "c").update(categories=None))),
     "column 'c' is categorical without a category list"),
    ("fit-dp-identifier-categories", lambda ws, t: ["synth", "fit", _ids_csv(t), "--epsilon", "1", "--quiet",
                                                    "--schema", _ids_schema(ws, t), "--out", t / "m"],
     "column 'email' declares 60 categories, levels that look like identifiers"),
    ("fit-dp-numeric-categories", lambda ws, t: ["synth", "fit", _numeric_levels_csv(t), "--epsilon", "1", "--quiet",
                                                 "--schema", _numeric_levels_schema(ws, t), "--out", t / "m"],
     "column 'income' declares 61 categories, levels that are mostly numbers"),
    ("fit-schema-not-json", lambda ws, t: _fit(ws, "--no-dp", "--out", t / "m", "--schema", _write(t, "s.json", "{oops")),
     "not valid JSON"),
    ("fit-schema-unknown-key", lambda ws, t: _fit(ws, "--no-dp", "--out", t / "m", "--schema",
                                                  _schema(ws, t, lambda d: _col(d, "x").update(kinds="continuous"))),
     "unknown key 'kinds'"),
    ("fit-schema-no-kind", lambda ws, t: _fit(ws, "--no-dp", "--out", t / "m", "--schema",
                                              _schema(ws, t, lambda d: _col(d, "x").pop("kind"))), "has no 'kind'"),
    ("fit-schema-missing", lambda ws, t: _fit(ws, "--no-dp", "--out", t / "m", "--schema", t / "none.json"),
     "none.json' (--schema) does not exist"),
    ("fit-schema-target-differs", lambda ws, t: ["synth", "fit", ws / "toy.csv", "--target", "c", "--no-dp", "--quiet",
                                                 "--schema", ws / "schema.json", "--out", t / "m"], "differs"),
    ("fit-schema-target-may-be-missing", lambda ws, t: _fit(ws, "--no-dp", "--out", t / "m", "--schema",
                                                            _schema(ws, t, lambda d: _col(d, "y").update(
                                                                allow_missing=True))), "\"allow_missing\": true"),
    ("fit-unknown-target", lambda ws, t: ["synth", "fit", ws / "toy.csv", "--target", "nope", "--no-dp", "--quiet",
                                          "--out", t / "m"], "target 'nope'"),
    ("fit-missing-target-value", lambda ws, t: ["synth", "fit", _csv(t, "miss.csv", _set(_toy(), "y", 3, None)),
                                                "--target", "y", "--no-dp", "--quiet", "--out", t / "m"],
     "target 'y' has missing values"),
    ("fit-huge-values", lambda ws, t: ["synth", "fit", _csv(t, "big.csv", _set(_toy(), "x", 0, 1e300)), "--target",
                                       "y", "--no-dp", "--quiet", "--out", t / "m"], "column 'x'"),
    ("fit-duplicate-columns", lambda ws, t: ["synth", "fit", _dup_csv(t), "--no-dp", "--quiet", "--out", t / "m"],
     "two columns named 'Income'"),
    ("fit-missing-data", lambda ws, t: ["synth", "fit", t / "nope.csv", "--no-dp", "--out", t / "m"],
     "does not exist"),
    # --- trust synth sample -------------------------------------------------------------------------
    ("sample-not-a-model", lambda ws, t: ["synth", "sample", ws / "split", "-n", "5", "--out", t / "s.csv"],
     "not a saved CTAB-GAN+ model"),
    ("sample-truncated-weights", lambda ws, t: ["synth", "sample", _copy_model(ws, t, weights=(ws / "model" /
                                                "weights.pt").read_bytes()[:5000]), "-n", "5", "--out", t / "s.csv"],
     "weights.pt' could not be read"),
    ("sample-foreign-weights", lambda ws, t: ["synth", "sample", _copy_model(ws, t, weights=_foreign_weights(t)),
                                              "-n", "5", "--out", t / "s.csv"], "weights do not fit"),
    ("sample-other-kind-of-model", lambda ws, t: ["synth", "sample", _copy_model(
        ws, t, manifest={"kind": "aggregate-fit", "format_version": 1}), "-n", "5", "--out", t / "s.csv"],
     "'aggregate-fit' model"),
    ("sample-xlsx", lambda ws, t: ["synth", "sample", ws / "model", "-n", "5", "--out", t / "s.xlsx"],
     "extension '.xlsx'"),
    ("sample-out-is-dir", lambda ws, t: ["synth", "sample", ws / "model", "-n", "5", "--out", _foreign_dir(t, "d.csv")],
     "is a directory"),
    ("sample-out-exists", lambda ws, t: ["synth", "sample", ws / "model", "-n", "5", "--out", _write(t, "s.csv", "mine")],
     "already exists"),
    ("sample-unknown-category", lambda ws, t: ["synth", "sample", ws / "model", "-n", "5", "--out", t / "s.csv",
                                               "--condition", "c=zzz"], "zzz"),
    ("sample-condition-no-equals", lambda ws, t: ["synth", "sample", ws / "model", "-n", "5", "--out", t / "s.csv",
                                                  "--condition", "c"], "column=value"),
    ("sample-condition-twice", lambda ws, t: ["synth", "sample", ws / "model", "-n", "5", "--out", t / "s.csv",
                                              "--condition", "c=a", "--condition", "c=b"], "twice"),
    ("sample-zero-rows", lambda ws, t: ["synth", "sample", ws / "model", "-n", "0", "--out", t / "s.csv"], "--rows"),
    ("sample-negative-seed", lambda ws, t: ["synth", "sample", ws / "model", "-n", "5", "--out", t / "s.csv", "--seed",
                                            "-1"], "--seed"),
    # --- trust synth evaluate -------------------------------------------------------------------------
    ("evaluate-label-spelling", lambda ws, t: ["synth", "evaluate", *_split_files(ws), "--target", "y", "--synthetic",
                                               _syn_with(ws, t, lambda d: d.assign(y=d.y.str.upper()))], "'NO'"),
    ("evaluate-single-class-test", lambda ws, t: ["synth", "evaluate", *_split_files(ws)[:2], "--real-test",
                                                  _single_class_test(ws, t), *_split_files(ws)[4:], "--target", "y",
                                                  "--synthetic", ws / "syn.csv"], "single class"),
    ("evaluate-text-in-numeric", lambda ws, t: ["synth", "evaluate", *_split_files(ws), "--target", "y", "--synthetic",
                                                _syn_with(ws, t, lambda d: _set(d, "x", 2, "oops"))],
     "column 'x' of the synthetic table holds text"),
    ("evaluate-nan-in-synthetic", lambda ws, t: ["synth", "evaluate", *_split_files(ws), "--target", "y",
                                                 "--synthetic", _syn_with(ws, t, lambda d: _set(d, "k", 2, None))],
     "column 'k' of the synthetic table has missing values"),
    ("evaluate-target-missing", lambda ws, t: ["synth", "evaluate", *_split_files(ws), "--target", "y", "--synthetic",
                                               _syn_with(ws, t, lambda d: d.drop(columns="y"))],
     "missing from --synthetic"),
    ("evaluate-out-xlsx", lambda ws, t: ["synth", "evaluate", *_split_files(ws), "--target", "y", "--synthetic",
                                         ws / "syn.csv", "--out", t / "r.xlsx"], "extension '.xlsx'"),
    ("evaluate-out-exists", lambda ws, t: ["synth", "evaluate", *_split_files(ws), "--target", "y", "--synthetic",
                                           ws / "syn.csv", "--out", _write(t, "r.json", "{}")], "already exists"),
    ("evaluate-missing-test", lambda ws, t: ["synth", "evaluate", *_split_files(ws)[:2], "--real-test", t / "no.csv",
                                             *_split_files(ws)[4:], "--target", "y", "--synthetic", ws / "syn.csv"],
     "(--real-test) does not exist"),
    ("evaluate-schema-target", lambda ws, t: ["synth", "evaluate", *_split_files(ws), "--target", "c", "--synthetic",
                                              ws / "syn.csv", "--schema", ws / "schema.json"], "not 'c'"),
    # --- trust aggregate ---------------------------------------------------------------------------
    ("aggregate-center-nan", lambda ws, t: _agg(ws / "reg.csv", "--center", "nan", "--out", t / "a"), "--center nan"),
    ("aggregate-scale-inf", lambda ws, t: _agg(ws / "reg.csv", "--scale", "inf", "--out", t / "a"), "--scale inf"),
    ("aggregate-scale-zero", lambda ws, t: _agg(ws / "reg.csv", "--scale", "0", "--out", t / "a"), "--scale"),
    ("aggregate-epsilon-without-clip", lambda ws, t: _agg(ws / "reg.csv", "--epsilon", "1", "--out", t / "a"),
     "--clip"),
    ("aggregate-huge-target", lambda ws, t: _agg(_reg_with(t, 0, 1e300), "--out", t / "a"), "target 'y'"),
    ("aggregate-missing-target", lambda ws, t: _agg(_reg_with(t, 0, np.nan), "--out", t / "a"),
     "without missing values"),
    ("aggregate-out-foreign-dir", lambda ws, t: _agg(ws / "reg.csv", "--out", _foreign_dir(t)), "did not write"),
    ("aggregate-out-file", lambda ws, t: _agg(ws / "reg.csv", "--out", _write(t, "afile", "x")), "existing file"),
    ("aggregate-bag-too-big", lambda ws, t: ["aggregate", "fit", ws / "reg.csv", "--target", "y", "--bag-size",
                                             "100000", "--out", t / "a"], "--bag-size=100000"),
    ("aggregate-rho-text", lambda ws, t: _agg(ws / "reg.csv", "--rho", "abc", "--out", t / "a"), "--rho 'abc'"),
    ("aggregate-unknown-model", lambda ws, t: _agg(ws / "reg.csv", "--model", "forest", "--out", t / "a"),
     "--model 'forest'"),
    ("aggregate-unknown-bag-key", lambda ws, t: _agg(ws / "reg.csv", "--bag-key", "nope", "--out", t / "a"),
     "'nope' (--bag-key)"),
    ("aggregate-negative-seed", lambda ws, t: _agg(ws / "reg.csv", "--seed", "-1", "--out", t / "a"), "--seed"),
    ("aggregate-unknown-target", lambda ws, t: ["aggregate", "fit", ws / "reg.csv", "--target", "z", "--bag-size", "4",
                                                "--out", t / "a"], "'z' (--target)"),
    ("sweep-out-foreign-dir", lambda ws, t: ["aggregate", "sweep", ws / "reg.csv", "--target", "y", "--clip", "2",
                                             "--out", _foreign_dir(t)], "did not write"),
    ("sweep-zero-seeds", lambda ws, t: ["aggregate", "sweep", ws / "reg.csv", "--target", "y", "--clip", "2",
                                        "--seeds", "0", "--out", t / "a"], "--seeds=0"),
    ("sweep-bag-size-zero", lambda ws, t: ["aggregate", "sweep", ws / "reg.csv", "--target", "y", "--clip", "2",
                                           "--bag-size", "0", "--out", t / "a"], "--bag-size=0"),
    # --- trust report and usage ---------------------------------------------------------------------
    ("report-no-evidence", lambda ws, t: ["report", "--root", t, "--out", t / "r"], "no evidence found"),
    ("unknown-option", lambda ws, t: ["synth", "fit", "--bogus"], "--bogus"),
]


@pytest.mark.parametrize("build,needle", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input_is_one_line_exit_2_and_touches_nothing(ws, tmp_path, monkeypatch, capsys, build, needle):
    t = tmp_path / "case"
    t.mkdir()
    argv = build(ws, t)
    monkeypatch.chdir(t)
    capsys.readouterr()
    before = _snapshot(ws, tmp_path)
    code = _run(*argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    assert _snapshot(ws, tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any directory")
def test_an_unwritable_output_directory_is_refused_before_any_work(ws, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = _run("synth", "fit", ws / "toy.csv", "--no-dp", "--quiet", "--out", locked / "m")
        err = capsys.readouterr().err
        assert code == 2 and "not writable" in err and len(err.strip().splitlines()) == 1
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


# ------------------------------------------------------------------------------------------------
# the public API
# ------------------------------------------------------------------------------------------------
def _ledger(arg):
    from trust.privacy.ledger import PrivacyLedger

    return PrivacyLedger.from_list(arg)


def _dup_frame():
    df = _toy(30)
    df.columns = ["x", "k", "x", "y"]
    return df


def _model(ws):
    from trust.synth.model import CTABGANPlus

    return CTABGANPlus.load(ws / "model")


def _evaluate_with(ws, edit):
    from trust.data import TableSchema
    from trust.synth.evaluate import evaluate_synthetic

    s = ws / "split"
    schema = TableSchema.from_dict(json.loads((ws / "schema.json").read_text()))
    syn = edit(pd.read_csv(ws / "syn.csv"))
    return evaluate_synthetic(pd.read_csv(s / "train.csv"), pd.read_csv(s / "test.csv"),
                              pd.read_csv(s / "holdout.csv"), syn, schema)


def _split(df, **kw):
    from trust.data import split_table

    return split_table(df, **kw)


def _write_table(t, name):
    from trust.data import write_table

    return write_table(_toy(5), t / name)


def _write_json(t, obj):
    from trust.data.io import atomic_write_json

    return atomic_write_json(t / "o.json", obj, finite=True)


def _from_dict(d):
    from trust.data import TableSchema

    return TableSchema.from_dict(d)


def _check_categories(n_rows, levels):
    from trust.data.schema import ColumnSpec, TableSchema, check_category_lists

    return check_category_lists(TableSchema({"e": ColumnSpec("e", "categorical", categories=tuple(levels))}), n_rows)


API_CASES = [
    ("ledger-from-none", lambda ws, t: _ledger(None), "not NoneType"),
    ("ledger-from-string", lambda ws, t: _ledger("abc"), "not str"),
    ("ledger-of-strings", lambda ws, t: _ledger(["abc"]), "not str 'abc'"),
    ("ledger-of-none", lambda ws, t: _ledger([None]), "not NoneType"),
    ("ledger-entry-incomplete", lambda ws, t: _ledger([{"release": "r"}]), "ledger entry 'r' lacks field(s)"),
    ("ledger-entries-not-entries", lambda ws, t: __import__("trust.privacy.ledger", fromlist=["x"]).PrivacyLedger(
        entries="ab"), "PrivacyLedger(entries=...)"),
    ("split-one-row-class", lambda ws, t: _split(_set(_toy(60), "y", 0, "maybe"), stratify="y"), "('maybe')"),
    ("split-missing-class", lambda ws, t: _split(_set(_toy(60), "y", 0, None), stratify="y"), "missing values"),
    ("split-negative-seed", lambda ws, t: _split(_toy(60), seed=-1), "seed=-1"),
    ("split-duplicate-columns", lambda ws, t: _split(_dup_frame()), "two columns named 'x'"),
    ("infer-duplicate-columns", lambda ws, t: __import__("trust.data", fromlist=["x"]).infer_schema(_dup_frame()),
     "two columns named 'x'"),
    ("validate-duplicate-columns", lambda ws, t: _from_dict(json.loads((ws / "schema.json").read_text())).validate(
        _dup_frame()), "two columns named 'x'"),
    ("schema-not-a-dict", lambda ws, t: _from_dict([]), "'columns' list"),
    ("schema-column-not-a-dict", lambda ws, t: _from_dict({"columns": ["x"]}), "not an object"),
    ("schema-bounds-not-two", lambda ws, t: _from_dict({"columns": [{"name": "x", "kind": "continuous",
                                                                     "bounds": [1]}]}), "'bounds' must be a list of two"),
    ("schema-integer-not-bool", lambda ws, t: _from_dict({"columns": [{"name": "x", "kind": "continuous",
                                                                       "integer": "yes"}]}), "'integer' must be true"),
    ("schema-duplicate-column", lambda ws, t: _from_dict({"columns": [{"name": "x", "kind": "continuous"}] * 2}),
     "lists column 'x' twice"),
    ("categories-one-per-row", lambda ws, t: _check_categories(40, [f"id{i}" for i in range(40)]), "one level per row"),
    ("categories-too-many", lambda ws, t: _check_categories(1000, [f"v{i}" for i in range(80)]), "more levels than 5%"),
    ("sample-conditions-as-list", lambda ws, t: _model(ws).sample(5, conditions=["c", "a"]), "not a list"),
    ("save-onto-foreign-dir", lambda ws, t: _model(ws).save(_foreign_dir(t)), "did not write"),
    ("save-onto-a-file", lambda ws, t: _model(ws).save(_write(t, "afile", "x")), "existing file"),
    ("load-truncated-weights", lambda ws, t: __import__("trust.synth.model", fromlist=["x"]).CTABGANPlus.load(
        _copy_model(ws, t, weights=b"\x80\x02junk")), "could not be read"),
    ("write-table-xlsx", lambda ws, t: _write_table(t, "s.xlsx"), "extension '.xlsx'"),
    ("write-json-infinite", lambda ws, t: _write_json(t, {"a": {"mse": float("inf")}}), "'a.mse' is not a finite"),
    ("read-table-duplicates", lambda ws, t: __import__("trust.data", fromlist=["x"]).read_table(_dup_csv(t)),
     "two columns named 'Income'"),
    ("evaluate-label-spelling", lambda ws, t: _evaluate_with(ws, lambda d: d.assign(y=d.y.str.upper())), "'NO'"),
    ("evaluate-duplicate-columns", lambda ws, t: _evaluate_with(ws, lambda d: d.set_axis(["x", "k", "x", "y"], axis=1)),
     "two columns named 'x'"),
    ("bag-means-of-text", lambda ws, t: __import__("trust.aggregate", fromlist=["x"]).bag_means(["a", "b"], [0, 0]),
     "numeric values"),
    ("make-bags-negative-seed", lambda ws, t: __import__("trust.aggregate", fromlist=["x"]).make_bags(
        10, 2, random_state=-1), "random_state=-1"),
]


@pytest.mark.parametrize("call,needle", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_api_bad_input_raises_a_one_line_trust_error_and_touches_nothing(ws, tmp_path, call, needle):
    t = tmp_path / "case"
    t.mkdir()
    before = _snapshot(ws, tmp_path)
    with pytest.raises(TrustError) as e:
        call(ws, t)
    msg = str(e.value)
    assert "\n" not in msg and needle in msg, msg
    # The calls above create their fixtures inside the call; only those may be new, nothing else changed.
    after = _snapshot(ws, tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    assert not [k for k in after if k not in before and Path(k).name.startswith(".")]


# ------------------------------------------------------------------------------------------------
# real subprocesses: the exit status and the one-line contract end to end
# ------------------------------------------------------------------------------------------------
SUBPROCESS_CASES = [
    (lambda ws, t: ["synth", "fit", ws / "toy.csv", "--no-dp", "--out", t / "m", "--seed", "-1"], "--seed"),
    (lambda ws, t: ["synth", "fit", ws / "toy.csv", "--no-dp", "--out", _foreign_dir(t)], "did not write"),
    (lambda ws, t: ["aggregate", "fit", ws / "reg.csv", "--target", "y", "--bag-size", "4", "--center", "nan",
                    "--out", t / "a"], "--center nan"),
    (lambda ws, t: ["data", "describe", t / "missing.csv"], "does not exist"),
    (lambda ws, t: ["synth", "sample", _copy_model(ws, t, weights=b"not torch"), "-n", "3", "--out", t / "s.csv"],
     "could not be read"),
]


@pytest.mark.parametrize("build,needle", SUBPROCESS_CASES, ids=["seed", "foreign-out", "center-nan", "missing",
                                                                "bad-weights"])
def test_subprocess_bad_input_exits_2_with_one_line(ws, tmp_path, build, needle):
    t = tmp_path / "case"
    t.mkdir()
    argv = [str(a) for a in build(ws, t)]
    before = _snapshot(ws, tmp_path)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    r = subprocess.run([sys.executable, "-m", "trust.cli", *argv], capture_output=True, text=True, cwd=t, env=env,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr and needle in lines[0], r.stderr
    assert _snapshot(ws, tmp_path) == before
