"""`trust aggregate` as a user runs it: outputs, the ledger, and one-line errors with exit status 2."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from trust.cli import main


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "region": rng.choice(list("abcd"), n)})
    df["y"] = 2 * df.x1 - df.x2 + (df.region == "a") + 0.3 * rng.normal(size=n)
    path = tmp_path_factory.mktemp("data") / "d.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_with_label_dp_writes_model_summary_and_ledger(csv, tmp_path):
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "trust.cli", "aggregate", "fit", str(csv), "--target", "y",
                        "--bag-size", "4", "--epsilon", "2", "--clip", "4", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["ledger.json", "model.pt", "summary.json", "trust-model.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["bags"] == 80 and summary["bag_size_max"] == 4 and summary["epsilon"] == 2.0
    assert summary["test_mse"] < summary["test_mse_of_constant"]
    (entry,) = json.loads((out / "ledger.json").read_text())
    assert entry["unit_of_privacy"] == "label" and entry["epsilon"] == 2.0 and entry["max_grad_norm"] == 4.0
    assert "differentially private for one person's label" in r.stdout


def test_fit_with_a_bag_key_keeps_keys_apart(csv, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["aggregate", "fit", str(csv), "--target", "y", "--bag-key", "region", "--bag-size", "10",
              "--rho", "0.1", "--out", str(tmp_path / "k")])
    assert e.value.code in (0, None)
    summary = json.loads((tmp_path / "k" / "summary.json").read_text())
    assert summary["bag_size_max"] == 10 and summary["rho"] == 0.1 and not (tmp_path / "k" / "ledger.json").exists()


@pytest.mark.parametrize("args,needle", [
    (["--bag-size", "0"], "--bag-size=0 must be >= 1"),
    (["--bag-size", "100000"], "larger than the"),
    (["--bag-size", "4", "--epsilon", "0", "--clip", "1"], "--epsilon=0.0 must be > 0"),
    (["--bag-size", "4", "--epsilon", "-1", "--clip", "1"], "--epsilon=-1.0 must be > 0"),
    (["--bag-size", "4", "--epsilon", "1", "--clip", "0"], "--clip=0.0 must be > 0"),
    (["--bag-size", "4", "--epsilon", "1"], "--epsilon needs --clip"),
    (["--bag-key", "nope"], "bag key column 'nope'"),
    (["--bag-size", "4", "--rho", "-2"], "--rho -2"),
    ([], "give --bag-size"),
])
def test_bad_input_is_one_line_and_exit_2(csv, tmp_path, capsys, args, needle):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as e:
        main(["aggregate", "fit", str(csv), "--target", "y", "--out", str(out), *args])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
