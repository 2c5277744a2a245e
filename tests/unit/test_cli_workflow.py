"""The CLI workflow a new user runs: split, draft a schema, fit, sample, evaluate, report; and the friction fixes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trust.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys, *args):
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return (e.value.code if isinstance(e.value.code, int) else 0), out.out, out.err


def _toy(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({"x": rng.normal(2.0 * y, 1.0), "k": rng.integers(0, 100, n),
                         "c": np.where(y == 1, "a", "b"), "y": np.where(y == 1, "yes", "no")})


@pytest.fixture(scope="module")
def toy_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("wf") / "toy.csv"
    _toy().to_csv(p, index=False)
    return p


def test_data_split_writes_three_disjoint_stratified_parts(toy_csv, tmp_path, capsys):
    code, _, err = _run(capsys, "data", "split", toy_csv, "--target", "y", "--out", tmp_path / "s", "--test", "0.25",
                        "--holdout", "0.25")
    assert code == 0, err
    parts = {p: pd.read_csv(tmp_path / "s" / f"{p}.csv") for p in ("train", "test", "holdout")}
    assert [len(parts[p]) for p in ("train", "test", "holdout")] == [100, 50, 50]
    whole = pd.concat(parts.values()).sort_values(["x"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, pd.read_csv(toy_csv).sort_values(["x"]).reset_index(drop=True))
    share = pd.read_csv(toy_csv)["y"].eq("yes").mean()
    for df in parts.values():
        assert abs(df["y"].eq("yes").mean() - share) < 0.03


def test_data_split_with_the_same_seed_gives_the_same_rows(toy_csv, tmp_path, capsys):
    for d in ("a", "b"):
        assert _run(capsys, "data", "split", toy_csv, "--target", "y", "--out", tmp_path / d, "--seed", "3")[0] == 0
    assert (tmp_path / "a" / "test.csv").read_bytes() == (tmp_path / "b" / "test.csv").read_bytes()


def test_schema_draft_prints_a_draft_schema_and_says_to_review_it(tmp_path, capsys):
    df = _toy(60)
    df["email"] = [f"p{i}@example.org" for i in range(60)]
    df.to_csv(tmp_path / "t.csv", index=False)
    code, out, err = _run(capsys, "data", "schema", "draft", tmp_path / "t.csv", "--target", "y")
    assert code == 0, err
    from trust.data import TableSchema

    schema = TableSchema.from_dict(json.loads(out))
    assert schema.review == "draft" and schema.target == "y"
    assert json.loads(out)["review"]["status"] == "draft"  # the file says it is a draft, first thing
    assert schema["c"].categories == ("a", "b") and schema["k"].integer
    assert schema["email"].categories is None and "column 'email'" in err
    assert '"status": "reviewed"' in err


def test_a_dp_fit_refuses_an_unreviewed_draft_in_one_line_saying_how_to_mark_it(toy_csv, tmp_path, capsys):
    assert _run(capsys, "data", "schema", "draft", toy_csv, "--target", "y", "--out", tmp_path / "s.json")[0] == 0
    code, _, err = _run(capsys, "synth", "fit", toy_csv, "--epsilon", "5", "--delta", "1e-4", "--epochs", "1",
                        "--schema", tmp_path / "s.json", "--quiet", "--out", tmp_path / "m")
    assert code == 2 and len(err.strip().splitlines()) == 1 and '"status": "reviewed"' in err
    assert not (tmp_path / "m").exists()


def test_the_library_dp_fit_refuses_an_unreviewed_draft_too(toy_csv):
    import pandas as pd

    from trust.data.schema import TableSchema, draft_schema
    from trust.errors import DataError
    from trust.synth import CTABGANPlus

    df = pd.read_csv(toy_csv)
    drafted = TableSchema.from_dict(draft_schema(df, target="y")[0].to_dict())  # the draft file, read back
    with pytest.raises(DataError, match="unreviewed draft"):
        CTABGANPlus(epsilon=5.0, delta=1e-4, epochs=1).fit(df, drafted)
    assert drafted.as_declared().review == "reviewed"  # accepting it in code is the review step


def _mark_reviewed(path):
    d = json.loads(path.read_text())
    d["review"]["status"] = "reviewed"
    path.write_text(json.dumps(d))


def test_a_dp_fit_runs_from_a_drafted_schema_without_opacus_noise_on_stderr(toy_csv, tmp_path, capsys):
    assert _run(capsys, "data", "schema", "draft", toy_csv, "--target", "y", "--out", tmp_path / "s.json")[0] == 0
    _mark_reviewed(tmp_path / "s.json")
    code, _, err = _run(capsys, "synth", "fit", toy_csv, "--epsilon", "5", "--delta", "1e-4", "--epochs", "1",
                        "--batch-size", "100", "--schema", tmp_path / "s.json", "--dataset", "people", "--quiet",
                        "--out", tmp_path / "m")
    assert code == 0, err
    assert "Optimal order" not in err and "RuntimeWarning" not in err
    assert "dataset 'people'" in err


def test_overwrite_replaces_a_model_directory_whole_and_leaves_no_hidden_copy(toy_csv, tmp_path, capsys):
    args = ["synth", "fit", toy_csv, "--target", "y", "--no-dp", "--epochs", "1", "--batch-size", "100", "--quiet",
            "--out", tmp_path / "m"]
    assert _run(capsys, *args)[0] == 0
    (tmp_path / "m" / "model.json").write_text("{}")  # mark the old one
    assert _run(capsys, *args, "--overwrite")[0] == 0
    assert "transformer" in json.loads((tmp_path / "m" / "model.json").read_text())  # the marked one is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["ledger.json", "model.json", "trust-model.json",
                                                            "weights.pt"]


def test_integer_columns_come_back_as_integers(toy_csv, tmp_path, capsys):
    assert _run(capsys, "synth", "fit", toy_csv, "--target", "y", "--no-dp", "--epochs", "1", "--batch-size", "100",
                "--quiet", "--out", tmp_path / "m")[0] == 0
    assert _run(capsys, "synth", "sample", tmp_path / "m", "-n", "30", "--out", tmp_path / "s.csv")[0] == 0
    k = (tmp_path / "s.csv").read_text().splitlines()[1].split(",")[1]
    assert k.lstrip("-").isdigit(), k


def test_evidence_from_fit_and_evaluate_renders_in_trust_report(toy_csv, tmp_path, capsys):
    ev = tmp_path / "evidence"
    assert _run(capsys, "data", "split", toy_csv, "--target", "y", "--out", tmp_path / "s")[0] == 0
    assert _run(capsys, "synth", "fit", tmp_path / "s" / "train.csv", "--target", "y", "--no-dp", "--epochs", "1",
                "--batch-size", "60", "--quiet", "--out", tmp_path / "m", "--evidence", ev)[0] == 0
    assert _run(capsys, "synth", "sample", tmp_path / "m", "-n", "100", "--out", tmp_path / "syn.csv")[0] == 0
    code, _, err = _run(capsys, "synth", "evaluate", "--real-train", tmp_path / "s" / "train.csv", "--real-test",
                        tmp_path / "s" / "test.csv", "--real-holdout", tmp_path / "s" / "holdout.csv", "--synthetic",
                        tmp_path / "syn.csv", "--target", "y", "--evidence", ev, "--quiet")
    assert code == 0, err
    from trust.evidence import validate_evidence

    names = sorted(p.name for p in ev.iterdir() if p.suffix == ".json")   # signatures (.intoto.jsonl) beside them
    assert names == ["synth-evaluate-syn.json", "synth-fit-m.json"]
    for p in ev.glob("*.json"):
        validate_evidence(json.loads(p.read_text()))
    code, out, err = _run(capsys, "report", "--root", tmp_path, "--out", tmp_path / "reports")
    assert code == 0, err
    assert "synth-fit-m" in (tmp_path / "reports" / "compliance.md").read_text()


def test_aggregate_warns_when_most_responses_are_clipped_and_when_epsilon_is_vacuous(tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=200)})
    df["price"] = 500_000 + 50_000 * df.x + rng.normal(size=200)
    df.to_csv(tmp_path / "p.csv", index=False)
    code, _, err = _run(capsys, "aggregate", "fit", tmp_path / "p.csv", "--target", "price", "--bag-size", "4",
                        "--epsilon", "1e9", "--clip", "2", "--out", tmp_path / "a")
    assert code == 0, err
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert any("most responses were probably clipped" in w for w in warnings)
    assert any("vacuous" in w for w in warnings)


def test_aggregate_with_a_declared_centre_and_scale_does_not_warn(tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=200)})
    df["price"] = 500_000 + 50_000 * df.x + rng.normal(size=200)
    df.to_csv(tmp_path / "p.csv", index=False)
    code, _, err = _run(capsys, "aggregate", "fit", tmp_path / "p.csv", "--target", "price", "--bag-size", "4",
                        "--epsilon", "1", "--clip", "3", "--center", "500000", "--scale", "50000",
                        "--out", tmp_path / "a")
    # the clipping warning only: the "no better than the mean" one reads fresh DP noise and may fire at epsilon 1
    assert code == 0 and "released bag means average" not in err, err


def test_a_semicolon_csv_and_a_gzip_named_csv_are_read(tmp_path):
    from trust.data import read_table

    df = _toy(20)
    df.to_csv(tmp_path / "semi.csv", sep=";", index=False)
    df.to_csv(tmp_path / "zipped.csv", index=False, compression="gzip")
    for name in ("semi.csv", "zipped.csv"):
        back = read_table(tmp_path / name)
        assert list(back.columns) == list(df.columns) and len(back) == 20


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    from trust.data.io import atomic_write_text, model_dir_writer

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
        with model_dir_writer(tmp_path / "d", kind="test") as tmp:
            (tmp / "a").write_text("y")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == mode
    assert (tmp_path / "d").stat().st_mode & 0o777 == mode | ((mode & 0o444) >> 2)


def test_an_exit_inside_a_write_removes_the_temporary_file(tmp_path):
    from trust.data.io import atomic_path

    with pytest.raises(SystemExit):
        with atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("half")
            raise SystemExit(143)  # what the CLI's SIGTERM handler raises
    assert list(tmp_path.iterdir()) == []


def test_sigterm_during_a_fit_exits_cleanly_and_leaves_nothing(toy_csv, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, "-m", "trust.cli", "synth", "fit", str(toy_csv), "--no-dp", "--epochs",
                          "100000", "--batch-size", "50", "--out", str(tmp_path / "m")], cwd=tmp_path, env=env,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(6)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_data_list_never_breaks_a_word_at_80_columns():
    from trust.data import list_datasets

    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="80")
    r = subprocess.run([sys.executable, "-m", "trust.cli", "data", "list"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0
    words = set(r.stdout.split())
    for d in list_datasets():
        for w in f"{d.licence} {d.source}".split():
            assert w in words or w + ";" in words, w


def test_evaluate_help_explains_the_sign_of_the_gaps(capsys):
    code, out, _ = _run(capsys, "synth", "evaluate", "--help")
    assert code == 0 and "gap.<model>.<metric> = TRTR - TSTR" in out and "NEGATIVE" in out


def test_the_cli_checks_paths_with_the_synthesizer_s_own_model_kind():
    from trust.cli._common import SYNTH_KIND
    from trust.synth.model import MODEL_KIND

    assert SYNTH_KIND == MODEL_KIND


def test_release_bag_means_warns_when_most_responses_are_clipped():
    from trust.aggregate import make_bags, release_bag_means
    from trust.aggregate.bags import ClippingWarning

    y = np.random.default_rng(0).normal(500_000, 50_000, size=64)
    ids = make_bags(64, 4, random_state=0)
    # the warning reads the noisy release (seeded here so that the test is exact), never the labels
    with pytest.warns(ClippingWarning, match="most responses were probably clipped"):
        release_bag_means(y, ids, 1.0, 2.0, insecure_noise_seed=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ClippingWarning)
        release_bag_means(y, ids, 1.0, 2.0, center=500_000, scale=50_000, insecure_noise_seed=0)


def test_a_large_sample_is_drawn_in_chunks_with_every_row_and_integer_columns(toy_csv, tmp_path, capsys):
    from trust.cli.synth import SAMPLE_CHUNK

    assert _run(capsys, "synth", "fit", toy_csv, "--target", "y", "--no-dp", "--epochs", "1", "--batch-size", "100",
                "--quiet", "--out", tmp_path / "m")[0] == 0
    n = SAMPLE_CHUNK + 7
    code, _, err = _run(capsys, "synth", "sample", tmp_path / "m", "-n", n, "--out", tmp_path / "s.parquet",
                        "--seed", "2", "--quiet")
    assert code == 0, err
    rows = pd.read_parquet(tmp_path / "s.parquet")
    assert len(rows) == n and str(rows["k"].dtype) == "Int64"
    # each chunk has its own seed: the second chunk does not repeat the first one's rows
    assert not rows.iloc[:7].reset_index(drop=True).equals(rows.iloc[SAMPLE_CHUNK:].reset_index(drop=True))
