"""The `trust` CLI as a user runs it: a real subprocess, exit codes and stderr."""

import subprocess
import sys

import pytest


def trust(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "trust.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_help_lists_the_command_groups():
    r = trust("--help")
    assert r.returncode == 0
    for group in ("data", "synth", "aggregate", "report"):
        assert group in r.stdout


def test_data_list_and_describe():
    r = trust("data", "list")
    assert r.returncode == 0 and "adult" in r.stdout and "CC BY 4.0" in r.stdout
    r = trust("data", "describe", "king")
    assert r.returncode == 0 and "price" in r.stdout and "regression" in r.stdout


@pytest.mark.parametrize("args,needle", [
    (("data", "describe", "does-not-exist.csv"), "does-not-exist.csv' does not exist"),
    (("data", "describe", "not-a-dataset"), "the bundled datasets are: adult, adult_ctabgan, digits, king, mnist1d"),
    (("data", "describe", "kng"), "did you mean 'king'"),
])
def test_user_errors_exit_2_with_one_line(args, needle, tmp_path):
    r = trust(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert needle in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_csv_with_missing_target_column_exits_2(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,x\n2,y\n3,z\n")
    r = trust("data", "describe", str(csv), "--target", "income")
    assert r.returncode == 2
    assert "'income'" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_describe_a_csv_prints_kinds_not_rows(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("age,city,income\n" + "".join(f"{20 + i % 50},{['Oslo', 'Rome'][i % 2]},{i % 3}\n" for i in range(60)))
    r = trust("data", "describe", str(csv), "--target", "income")
    assert r.returncode == 0, r.stderr
    assert "continuous" in r.stdout and "categorical" in r.stdout and "classification" in r.stdout


def test_describe_piped_prints_one_unwrapped_line_per_column(tmp_path):
    """Issue 25: `data describe` wrapped its table at 80 columns when piped."""
    r = trust("data", "describe", "adult")  # captured: stdout is a pipe
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0].startswith("adult: 32,561 rows x 15 columns")
    assert lines[1].split("\t") == ["column", "kind", "flags", "missing", "distinct", "summary"]
    assert len(lines) == 2 + 15 and all(len(line.split("\t")) == 6 for line in lines[2:])
    assert any(len(line) > 80 for line in lines)  # long lines stay whole
