"""Keyed lineage fingerprints and the declared dataset schemas."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pandas as pd
import pytest

from trust.data import dataset_schema, frame_sha256, keyed_fingerprint, lineage_key
from trust.data.hashing import KEY_ENV, KEY_FILE_ENV
from trust.errors import ConfigError, DataError


@pytest.fixture
def no_env_key(monkeypatch, tmp_path):
    """No key in the environment; the per-user default lives under a fake home (``XDG_CONFIG_HOME``)."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    (tmp_path / "proj").mkdir()
    monkeypatch.chdir(tmp_path / "proj")
    return tmp_path


def test_key_file_is_created_once_per_user_outside_the_project_with_mode_0600(no_env_key):
    proj = no_env_key / "proj"
    key = lineage_key(proj)
    path = no_env_key / "home" / ".config" / "trust" / "lineage.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) == 32
    assert lineage_key(proj) == key
    assert not any(p.is_file() for p in proj.rglob("*")), "the key was written inside the project"


def test_a_key_file_inside_the_project_is_refused_read_or_created(no_env_key, monkeypatch):
    proj = no_env_key / "proj"
    monkeypatch.setenv(KEY_FILE_ENV, str(proj / "keys" / "lineage.key"))
    with pytest.raises(ConfigError, match="inside the project"):
        lineage_key(proj)
    assert not (proj / "keys").exists()
    (proj / "keys").mkdir()
    (proj / "keys" / "lineage.key").write_text("ab" * 32)
    with pytest.raises(ConfigError, match="inside the project"):
        lineage_key(proj)


def test_without_root_the_repository_around_the_working_directory_is_the_project(no_env_key, monkeypatch):
    proj = no_env_key / "proj"
    (proj / ".git").mkdir()
    (proj / "sub").mkdir()
    monkeypatch.chdir(proj / "sub")
    monkeypatch.setenv(KEY_FILE_ENV, str(proj / "lineage.key"))
    with pytest.raises(ConfigError, match="inside the project"):
        lineage_key()


def test_a_key_left_in_the_project_by_an_earlier_version_is_not_silently_replaced(no_env_key):
    proj = no_env_key / "proj"
    (proj / ".trust").mkdir()
    (proj / ".trust" / "lineage.key").write_text("cd" * 32)
    with pytest.raises(ConfigError, match="move it out"):
        lineage_key(proj)
    assert not (no_env_key / "home" / ".config" / "trust" / "lineage.key").exists()


def test_missing_key_without_create_is_a_one_line_error(no_env_key):
    with pytest.raises(ConfigError, match="TRUST_LINEAGE_KEY"):
        lineage_key(no_env_key / "proj", create=False)


def test_environment_key_wins_and_a_short_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "ab" * 32)
    assert lineage_key(tmp_path) == bytes.fromhex("ab" * 32)
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ConfigError, match="at least 32"):
        lineage_key(tmp_path)


def test_fingerprint_is_the_hmac_of_the_content_and_not_its_plain_hash():
    df = pd.DataFrame({"price": [100_000, 250_000], "zip": ["98001", "98002"]})
    key = b"k" * 32
    fp = keyed_fingerprint(df, key)
    h = hmac.new(key, digestmod=hashlib.sha256)  # independent recomputation from the documented content bytes
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    assert fp == "hmac-sha256:" + h.hexdigest()
    assert frame_sha256(df) not in fp
    assert keyed_fingerprint(df, b"j" * 32) != fp  # another key, another fingerprint


def test_without_the_key_a_candidate_cannot_be_tested():
    """The attack of issue 9: all rows known but one; hash each candidate for the last one."""
    known = pd.DataFrame({"price": [100_000, 250_000, 300_000]})
    fp = keyed_fingerprint(known, b"s" * 32)
    candidates = [pd.DataFrame({"price": [100_000, 250_000, p]}) for p in range(290_000, 310_001, 50)]
    assert not any(frame_sha256(c) == fp.split(":")[1] for c in candidates)
    assert not any(keyed_fingerprint(c, b"x" * 32) == fp for c in candidates)  # a guessed key does not help
    assert sum(keyed_fingerprint(c, b"s" * 32) == fp for c in candidates) == 1  # the key holder verifies


def test_declared_schemas_read_no_row(monkeypatch, tmp_path):
    monkeypatch.setenv("TRUST_DATA_DIR", str(tmp_path))  # no data files at all
    adult = dataset_schema("adult")
    assert adult.declared and adult["native-country"].categories[0] == "United-States"
    assert len(adult["native-country"].categories) == 41 and adult["education-num"].bounds == (1.0, 16.0)
    king = dataset_schema("king")
    # documented domains, not the observed ones: grade 2 and most of the ZIP range never occur in the data
    assert king["grade"].categories == tuple(range(1, 14)) and len(king["zipcode"].categories) == 199
    assert all(adult.meta["sources"].get(c) for c, s in adult.columns.items() if s.categories or s.bounds)


def test_declared_categories_cover_the_bundled_rows(adult, king):
    for (df, schema) in (adult, king):
        for name, spec in schema.columns.items():
            if spec.categories is not None:
                assert set(df[name].dropna()) <= set(spec.categories), name


def test_a_dataset_without_a_declared_schema_says_how_to_get_one():
    with pytest.raises(DataError, match="trust data schema draft"):
        dataset_schema("adult_ctabgan")
