"""Issue 21 item 2: nobody without the lineage key can test a candidate table against dvc.lock or the report.

The attack: dvc.lock (in git) records DVC's md5 of the private splits. Knowing all rows but one, rewrite the split
with the project's own writer for each candidate value of the missing cell, hash it as DVC does, compare. These
tests run that attack with DVC's own hashing code (``dvc_data``) against folders written the way the prepare
stage writes them (``write_table``, then ``salt_outputs``), and against the report rendered from them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trust.data import frame_sha256, write_table
from trust.data.lineage import NPZ_SALT_KEY, SALT_FILE, dvc_md5, salt_metrics, salt_npz, salt_outputs, salts_valid

KEY = b"\x11" * 32
ATTACKER_KEY = b"\x22" * 32  # a guess at the key


@pytest.fixture(scope="module")
def private():
    rng = np.random.default_rng(0)
    n = 60
    return pd.DataFrame({"age": rng.integers(17, 91, n), "hours": rng.integers(1, 99, n),
                         "income": rng.choice(["<=50K", ">50K"], n)})


def write_prepare(root: Path, train: pd.DataFrame, rest: pd.DataFrame, *, key: bytes | None) -> Path:
    """``outputs/prepare`` as the stage writes it: one folder per dataset, three splits, salted with ``key``."""
    out = root / "outputs" / "prepare"
    write_table(train, out / "adult" / "train.parquet")
    write_table(rest.iloc[:20], out / "adult" / "test.parquet")
    write_table(rest.iloc[20:], out / "adult" / "holdout.parquet")
    (out / "adult" / "schema.json").write_text('{"target": "income"}')
    if key is not None:
        salt_outputs(out, key=key)
    return out


def candidates(train: pd.DataFrame) -> list[pd.DataFrame]:
    """The attacker's tables: every row known but the first one's age, which is one of 17..90 (74 candidates)."""
    out = []
    for age in range(17, 91):
        c = train.copy()
        c.loc[0, "age"] = age
        out.append(c)
    return out


@pytest.fixture(scope="module")
def lock(private, tmp_path_factory):
    """What dvc.lock records for the salted private outputs: md5 of outputs/prepare and of outputs/prepare/adult."""
    root = tmp_path_factory.mktemp("proj")
    out = write_prepare(root, private.iloc[:30].reset_index(drop=True), private.iloc[30:], key=KEY)
    return {"outputs/prepare": dvc_md5(out), "outputs/prepare/adult": dvc_md5(out / "adult"), "root": root}


def _attack(private, tmp_path, key):
    train, rest = private.iloc[:30].reset_index(drop=True), private.iloc[30:]
    hits = []
    for i, cand in enumerate(candidates(train)):
        out = write_prepare(tmp_path / str(i), cand, rest, key=key)
        hits.append((int(cand.loc[0, "age"]), dvc_md5(out), dvc_md5(out / "adult")))
    return hits


def test_without_the_key_no_candidate_table_matches_the_md5_in_dvc_lock(private, lock, tmp_path):
    for key in (None, ATTACKER_KEY):  # the project's writer unsalted, or salted under a guessed key
        hits = _attack(private, tmp_path / str(key is None), key)
        assert not [a for a, top, sub in hits if top == lock["outputs/prepare"] or sub == lock["outputs/prepare/adult"]]


def test_with_the_key_exactly_the_true_candidate_matches(private, lock, tmp_path):
    """The attack has power: the key holder (the auditor) finds the true value, and nothing else matches."""
    hits = _attack(private, tmp_path, KEY)
    matched = [a for a, top, sub in hits if top == lock["outputs/prepare"] and sub == lock["outputs/prepare/adult"]]
    assert matched == [int(private.loc[0, "age"])]


def test_unsalted_outputs_are_what_made_the_attack_work(private, tmp_path):
    """The control: without the salt (the old writer) the true candidate's md5 equals the recorded one."""
    train, rest = private.iloc[:30].reset_index(drop=True), private.iloc[30:]
    recorded = dvc_md5(write_prepare(tmp_path / "old", train, rest, key=None))
    hits = _attack(private, tmp_path / "att", None)
    assert [a for a, top, _ in hits if top == recorded] == [int(private.loc[0, "age"])]


def test_salting_is_idempotent_so_dvc_repro_changes_nothing(private, tmp_path):
    train, rest = private.iloc[:30].reset_index(drop=True), private.iloc[30:]
    a = write_prepare(tmp_path / "a", train, rest, key=KEY)
    first = dvc_md5(a)
    salt_outputs(a, key=KEY)
    b = write_prepare(tmp_path / "b", train, rest, key=KEY)
    assert dvc_md5(a) == first == dvc_md5(b)
    assert salts_valid(a, key=KEY) and not salts_valid(a, key=ATTACKER_KEY)


def test_every_folder_but_release_and_model_folders_gets_a_salt(tmp_path):
    out = tmp_path / "outputs" / "train" / "adult"
    (out / "model").mkdir(parents=True)
    (out / "model" / "trust-model.json").write_text("{}")
    (out / "plots").mkdir()
    (out / "plots" / "a.png").write_bytes(b"png")
    salt_outputs(out, key=KEY)
    assert (out / SALT_FILE).is_file() and (out / "plots" / SALT_FILE).is_file()
    assert not (out / "model" / SALT_FILE).exists()  # a model / release folder holds only its own files


def test_an_npz_dvc_hashes_on_its_own_carries_the_salt_and_keeps_its_arrays(tmp_path):
    from trust.data.arrays import save_arrays

    p = save_arrays(tmp_path / "splits.npz", train=np.arange(10), test=np.arange(10, 15))
    plain = dvc_md5(p)
    assert salt_npz(p, key=KEY) and not salt_npz(p, key=KEY)  # added once, then already right
    with np.load(p) as z:
        assert z["train"].tolist() == list(range(10)) and NPZ_SALT_KEY in z.files
    assert dvc_md5(p) != plain
    q = save_arrays(tmp_path / "guess.npz", train=np.arange(10), test=np.arange(10, 15))
    salt_npz(q, key=ATTACKER_KEY)
    assert dvc_md5(q) != dvc_md5(p)


def test_metrics_carry_a_keyed_salt_so_their_md5_is_not_recomputable():
    m = {"adult.train_rows": 30, "accuracy": 0.8125}
    a, b = salt_metrics(m, key=KEY, label="train_adult"), salt_metrics(m, key=ATTACKER_KEY, label="train_adult")
    assert a["lineage_salt"] != b["lineage_salt"] and {k: v for k, v in a.items() if k != "lineage_salt"} == m
    assert salt_metrics(m, key=KEY, label="train_adult") == a  # deterministic: dvc repro stays a no-op


def test_the_sizes_dvc_lock_records_do_not_follow_the_candidate(private, tmp_path):
    """dvc.lock also records sizes; the salt's keyed length hides small differences between candidates."""
    train, rest = private.iloc[:30].reset_index(drop=True), private.iloc[30:]
    sizes = []
    for key in (b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, b"\x04" * 32):
        out = write_prepare(tmp_path / key.hex()[:4], train, rest, key=key)
        sizes.append(sum(f.stat().st_size for f in out.rglob("*") if f.is_file()))
    assert len(set(sizes)) == 4  # the same rows give different sizes under different keys


def test_the_report_copies_no_unkeyed_hash_of_a_private_file(private, lock):
    """Render the report from prepare-like evidence and the dvc.lock of the salted outputs: no md5 or sha256 of
    a split file, of a split table or of the folders appears in any format."""
    from trust.evidence import check, make_evidence
    from trust.report import build_report, render_html, render_json, render_markdown

    out = lock["root"] / "outputs" / "prepare"
    files = [f for f in out.rglob("*") if f.is_file()]
    secrets_ = {hashlib.md5(f.read_bytes()).hexdigest() for f in files}
    secrets_ |= {hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    secrets_ |= {frame_sha256(private.iloc[:30].reset_index(drop=True)), lock["outputs/prepare"].removesuffix(".dir"),
                 lock["outputs/prepare/adult"].removesuffix(".dir")}
    dvc_lock = {"schema": "2.0", "stages": {"prepare": {"cmd": "python pipelines/prepare.py", "outs": [
        {"path": "outputs/prepare", "hash": "md5", "md5": lock["outputs/prepare"], "size": 1234, "nfiles": 5}]}}}
    ev = make_evidence("prepare", "data", checks=[check("rows in one split", 0.0, 0.0, "==")],
                       data=[{"name": "adult/train", "fingerprint": "hmac-sha256:" + "a" * 64, "rows": 30}])
    model = build_report({"evidence/prepare.json": ev}, policy={"max_delta": 1e-5}, dvc_lock=dvc_lock)
    for text in (render_html(model), render_json(model), render_markdown(model)):
        assert not [s for s in secrets_ if s in text]
    assert "outputs/prepare" in render_markdown(model)  # the path is listed, its hash is not


def test_the_salt_file_is_not_the_key_and_does_not_reveal_it(lock):
    salt = (lock["root"] / "outputs" / "prepare" / SALT_FILE).read_text()
    assert KEY.hex() not in salt and len(salt.strip()) >= 64
    assert json.dumps(salt)  # plain text, one line
