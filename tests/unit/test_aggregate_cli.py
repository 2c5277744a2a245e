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
    assert sorted(p.name for p in out.iterdir()) == ["release", "trust-model.json"]  # no audit/: nothing non-DP
    assert sorted(p.name for p in (out / "release").iterdir()) == ["bag_means.parquet", "ledger.json", "model.pt",
                                                                   "release.json", "trust-model.json"]
    summary = json.loads((out / "release" / "release.json").read_text())
    # under DP no row is held out by default (a test error would be a statistic of private labels)
    assert summary["bags"] == 100 and summary["bag_size_max"] == 4 and summary["epsilon"] == 2.0
    assert not any("test" in k for k in summary)
    (entry,) = json.loads((out / "release" / "ledger.json").read_text())
    assert entry["unit_of_privacy"] == "label" and entry["epsilon"] == 2.0 and entry["max_grad_norm"] == 4.0
    assert "differentially private for one person's label" in r.stdout


def test_fit_with_a_bag_key_keeps_keys_apart(csv, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["aggregate", "fit", str(csv), "--target", "y", "--bag-key", "region", "--bag-size", "10",
              "--rho", "0.1", "--out", str(tmp_path / "k")])
    assert e.value.code in (0, None)
    summary = json.loads((tmp_path / "k" / "release" / "release.json").read_text())
    assert summary["bag_size_max"] == 10 and summary["rho"] == 0.1 and not summary["differentially_private"]
    assert not (tmp_path / "k" / "release" / "ledger.json").exists()
    assert (tmp_path / "k" / "audit" / "test_scores_non_dp.json").exists()  # without DP: scored, beside the release


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


# ---------------------------------------------------------------------------------------------- issue 21.1
def _dp_fit(csv, out, *extra):
    return ["aggregate", "fit", str(csv), "--target", "y", "--bag-size", "4", "--epsilon", "1", "--clip", "4",
            "--seed", "3", "--out", str(out), *extra]


def _run(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    captured = capsys.readouterr()
    return e.value.code or 0, captured.out, captured.err


def _numbers(text: str) -> list[float]:
    import re

    return [float(m) for m in re.findall(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?", text)]


def _label_candidates(csv, out_files_text: str, seed: int = 3, test_fraction: float = 0.2):
    """The attack of issue 21.1: an attacker who knows every row but one held-out person's label, the split
    seed and the released model treats every number the command wrote or printed as a candidate test MSE and
    solves for that label: ``sum_others (f_i - z_i)^2 + (f_t - z)^2 = n_test * v``. Returns the true held-out
    labels and, per person, the candidates found."""
    from trust.aggregate import InterpolatingRegressor
    from trust.aggregate.experiments import tabular_features
    from trust.data import infer_schema

    df = pd.read_csv(csv)
    n = len(df)
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(seed).choice(n, size=max(1, int(round(test_fraction * n))), replace=False)] = True
    tr, te = df[~test].reset_index(drop=True), df[test].reset_index(drop=True)
    _, (Xte,), _ = tabular_features(tr, [te], infer_schema(df.drop(columns=["y"])), target="y")
    model = InterpolatingRegressor.load(out_files_text[1])
    pred, z = model.predict(Xte), te["y"].to_numpy(float)
    found = []
    for t in range(len(z)):
        others = float(np.sum(np.delete((pred - z) ** 2, t)))
        cands = []
        for v in _numbers(out_files_text[0]):
            r = len(z) * v - others
            if r >= 0:
                cands += [pred[t] + np.sqrt(r), pred[t] - np.sqrt(r)]
        found.append(any(abs(c - z[t]) < 1e-6 for c in cands))
    return found


def _everything_written(out, stdout: str) -> str:
    return stdout + "\n".join(p.read_text() for p in sorted(out.rglob("*.json")))


def test_a_dp_fit_leaves_no_held_out_label_recoverable_from_what_it_writes_and_prints(csv, tmp_path, capsys):
    out = tmp_path / "dp"
    code, stdout, err = _run(capsys, _dp_fit(csv, out, "--test-fraction", "0.2"))
    assert code == 0, err
    model = next(out.rglob("model.pt"))
    found = _label_candidates(csv, (_everything_written(out, stdout), model))
    assert len(found) == 80 and not any(found)
    assert "not scored" in err  # the held-out rows are said to be unused


def test_the_loud_non_dp_option_reports_test_mse_and_then_the_attack_recovers_labels(csv, tmp_path, capsys):
    out = tmp_path / "nondp"
    code, stdout, err = _run(capsys, _dp_fit(csv, out, "--report-test-mse-non-dp", "--evidence", tmp_path / "ev"))
    assert code == 0, err
    assert "NOT differentially private" in stdout
    model = next(out.rglob("model.pt"))
    assert all(_label_candidates(csv, (_everything_written(out, stdout), model)))  # the control: the attack works
    doc = json.loads((tmp_path / "ev" / "aggregate-fit-nondp.json").read_text())
    (use,) = doc["non_dp"]
    assert "raw test labels" in use["what"] and doc["ledger"][0]["epsilon"] == 1.0


def test_a_dp_fit_records_no_non_dp_use_and_a_fit_without_dp_records_one(csv, tmp_path, capsys):
    code, _, err = _run(capsys, _dp_fit(csv, tmp_path / "a", "--evidence", tmp_path / "ev"))
    assert code == 0, err
    code, _, err = _run(capsys, ["aggregate", "fit", csv, "--target", "y", "--bag-size", "4", "--out", tmp_path / "b",
                                 "--evidence", tmp_path / "ev"])
    assert code == 0, err
    docs = {p.name: json.loads(p.read_text()) for p in (tmp_path / "ev").iterdir()}
    assert docs["aggregate-fit-a.json"]["non_dp"] == []
    whats = [u["what"] for u in docs["aggregate-fit-b.json"]["non_dp"]]
    assert any("EXACT bag means" in w for w in whats) and any("test MSE" in w for w in whats)


def _tree(root):
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    keys = {f: sorted(json.loads((root / f).read_text()) if f.endswith("release.json") else []) for f in files}
    return files, keys


@pytest.mark.parametrize("bad, log", [(0.0, True), (-5.0, True), (np.nan, False), (1e151, False), (-1e300, True)])
def test_one_bad_label_under_dp_behaves_exactly_as_the_clean_table(csv, tmp_path, capsys, bad, log):
    df = pd.read_csv(csv)
    df["y"] = np.exp(df["y"] / 4) if log else df["y"]  # positive labels for --log-target
    clean, dirty = tmp_path / "clean.csv", tmp_path / "dirty.csv"
    df.to_csv(clean, index=False)
    df.loc[17, "y"] = bad
    df.to_csv(dirty, index=False)
    import re

    runs = []
    for data in (clean, dirty):
        extra = ["--log-target", "--scale", "0.25"] if log else []
        argv = ["aggregate", "fit", data, "--target", "y", "--bag-size", "10", "--epsilon", "5", "--clip", "4",
                "--out", tmp_path / data.stem, *extra]
        code, stdout, err = _run(capsys, argv)
        runs.append((code, _tree(tmp_path / data.stem), sorted(json.loads(stdout[:stdout.rindex("}") + 1])),
                     re.sub(r"[-+]?\d[\d.e+-]*", "#", err)))  # the DP figures in a warning differ by the noise
    assert runs[0][0] == runs[1][0] == 0
    assert runs[0][1:] == runs[1][1:]  # same files, same keys, same warnings


# ---------------------------------------------------------------------------------------------- issue 21.8
def test_the_release_folder_holds_only_the_files_its_manifest_lists(csv, tmp_path, capsys):
    from trust.aggregate.release import RELEASE_KIND, BagRelease

    out = tmp_path / "r"
    code, _, err = _run(capsys, _dp_fit(csv, out, "--report-test-mse-non-dp"))
    assert code == 0, err
    manifest = json.loads((out / "release" / "trust-model.json").read_text())
    assert manifest["kind"] == RELEASE_KIND and "label" in manifest["meta"]["guarantee"]
    on_disk = sorted(p.name for p in (out / "release").iterdir())
    assert on_disk == sorted([*manifest["meta"]["files"], "trust-model.json"])
    assert not any("test" in k for k in json.loads((out / "release" / "release.json").read_text()))
    assert [p.name for p in (out / "audit").iterdir()] == ["test_scores_non_dp.json"]  # outside the release
    back = BagRelease.load(out / "release")
    assert back.private and back.entry.epsilon == 1.0 and len(back.means) == 80


def test_the_sweep_writes_its_records_ledger_and_plots_to_the_audit_folder(csv, tmp_path, capsys):
    out = tmp_path / "sw"
    code, stdout, err = _run(capsys, ["aggregate", "sweep", csv, "--target", "y", "--clip", "4", "--epsilon", "1",
                                      "--epsilon", "4", "--bag-size", "1", "--bag-size", "4", "--seeds", "1",
                                      "--out", out])
    assert code == 0, err
    assert sorted(p.name for p in (out / "audit").iterdir()) == ["dp_risk_vs_k.png", "dp_risk_vs_k_per_rho.png",
                                                                 "records.json"]
    records = json.loads((out / "audit" / "records.json").read_text())
    assert len(records["sweep_ledger"]) == 4 and set(records["k_star"]["auto"]) == {"1", "4"}
    assert "epsilon 1: k* = " in stdout and "not DP" in stdout


# ---------------------------------------------------------------------------------------------- issue 25
def test_a_dp_fit_no_better_than_the_mean_says_so_in_one_line_with_what_to_try(tmp_path, capsys, monkeypatch):
    import trust.aggregate.dp as dp
    from trust.privacy.noise import noise_source

    monkeypatch.setattr(dp, "noise_source", lambda seed=None, stream=0: noise_source(7, stream=stream))  # exact test
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x1": rng.normal(size=400), "x2": rng.normal(size=400), "y": rng.normal(size=400)})
    df.to_csv(tmp_path / "noise.csv", index=False)  # labels unrelated to the features
    code, stdout, err = _run(capsys, ["aggregate", "fit", tmp_path / "noise.csv", "--target", "y", "--bag-size", "4",
                                      "--epsilon", "0.5", "--clip", "3", "--out", tmp_path / "o"])
    assert code == 0, err
    assert "held-out bags (read off the released bag means): loss" in stdout  # the figure beside its baseline
    (line,) = [ln for ln in err.splitlines() if "no better than predicting the mean" in ln]
    assert line.startswith("warning: ") and "try" in line
