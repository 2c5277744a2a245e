"""``trust.synth.create``: the engines behind one contract, and the ``auto`` rule on public inputs only."""

from __future__ import annotations

import pandas as pd
import pytest

from trust.data import dataset_schema
from trust.errors import ConfigError
from trust.synth import Synthesizer, create
import numpy as np

from trust.synth.engines import COUNT_EPSILON_FRACTION, MAX_PAIR_CELLS, choose_engine, domain_sizes, dp_row_count

from tests.unit._synth_tiny import SMALL, declared_schema, table

FAST = dict(iters=10, final_iters=20, bins=8, verbose=False)


def test_auto_keeps_ctabgan_without_dp():
    assert choose_engine(epsilon=None, delta=1e-5, sizes=domain_sizes(dataset_schema("adult"))).engine == "ctabgan"


@pytest.mark.parametrize("n_dp,epsilon,engine", [(3000, 1.0, "mst"), (3000, 3.0, "mst"), (19536, 1.0, "mst"),
                                                  (19536, 3.0, "ctabgan"), (19536, 10.0, "ctabgan")])
def test_auto_under_dp_follows_the_measured_crossover_in_rows_times_epsilon(n_dp, epsilon, engine):
    choice = choose_engine(epsilon=epsilon, delta=1e-5, sizes=domain_sizes(dataset_schema("adult")), n_dp=n_dp)
    assert choice.engine == engine and f"{n_dp * epsilon:,.0f}" in choice.reason


def test_auto_keeps_ctabgan_where_a_column_has_no_declared_bounds():
    choice = choose_engine(epsilon=1.0, delta=1e-5, sizes=domain_sizes(dataset_schema("king")))
    assert choice.engine == "ctabgan" and "no declared bounds" in choice.reason


def test_auto_keeps_ctabgan_where_the_largest_pair_is_beyond_the_graphical_models_limit():
    big = int(MAX_PAIR_CELLS ** 0.5) + 1
    assert choose_engine(epsilon=1.0, delta=1e-5, sizes={"a": big, "b": big}).engine == "ctabgan"
    assert choose_engine(epsilon=1.0, delta=1e-5, sizes={"a": big - 2, "b": big - 2}, n_dp=100).engine == "mst"


def test_the_dp_row_count_is_a_discrete_laplace_count_whose_ledger_entry_recomputes():
    df = table(400)
    counts = [dp_row_count(df, declared_schema(df), 0.5, release="r", dataset="d", insecure_noise_seed=s)
              for s in range(200)]
    noisy = np.array([c[0] for c in counts])
    assert abs(noisy.mean() - 400) < 1.0 and 2 * 2.0 ** 2 * 0.7 < noisy.var() < 2 * 2.0 ** 2 * 1.3  # Var 2/eps^2
    e = counts[0][1]
    assert e.epsilon == 0.5 and e.delta == 0 and e.steps / e.noise_multiplier == pytest.approx(0.5)


def test_a_setting_no_engine_takes_is_refused_naming_it():
    with pytest.raises(ConfigError, match="setting 'epochz'"):
        create("auto", epsilon=1.0, epochz=3)
    with pytest.raises(ConfigError, match="setting 'epochs' is not a setting of engine 'mst'"):
        create("mst", epochs=3)


def test_auto_under_dp_fits_mst_and_says_why(tmp_path, capsys):
    df = table()
    m = create("auto", epsilon=2.0, delta=1e-5, insecure_noise_seed=1, random_state=0, dataset_name="tiny",
               **{**FAST, "verbose": True}).fit(df, declared_schema(df))
    assert m.engine_ == "mst" and "MST" in m.reason_ and "engine: mst" in capsys.readouterr().err
    rep = m.privacy_report()
    assert rep["engine"] == "mst" and rep["dp"] and rep["entries"][0]["accountant"] == "zcdp"
    count = rep["entries"][1]   # the DP row count auto bought: the engine got the rest of epsilon
    assert count["release"] == "tiny/auto-row-count" and count["epsilon"] == pytest.approx(2.0 * COUNT_EPSILON_FRACTION)
    assert rep["epsilon"] == pytest.approx(2.0, rel=1e-6) and rep["epsilon"] <= 2.0
    m.save(tmp_path / "m")
    back = Synthesizer.load(tmp_path / "m")
    assert back.engine_ == "mst" and back.reason_ == m.estimator_.reason_
    pd.testing.assert_frame_equal(m.sample(40, random_state=3), back.sample(40, random_state=3))


def test_a_named_engine_is_used_as_named_without_dp():
    df = table()
    m = create("ctabgan", epochs=1, batch_size=50, random_state=0, **SMALL).fit(df, declared_schema(df))
    assert m.engine_ == "ctabgan" and isinstance(m.sample(20), pd.DataFrame)
    assert m.privacy_report()["dp"] is False


def test_the_command_line_fits_and_samples_the_marginal_engine(tmp_path, run_cli):
    import json

    df = table(300)
    df.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "s.json").write_text(json.dumps(declared_schema(df).to_dict()))
    code, _, err = run_cli("synth", "fit", tmp_path / "t.csv", "--engine", "mst", "--epsilon", "2", "--schema",
                           tmp_path / "s.json", "--quiet", "--out", tmp_path / "m")
    assert code in (0, None), err
    assert "engine: mst" in err and "zcdp" in err
    code, _, err = run_cli("synth", "sample", tmp_path / "m", "-n", "30", "--out", tmp_path / "s.csv")
    assert code in (0, None), err
    assert len(pd.read_csv(tmp_path / "s.csv")) == 30
    code, _, err = run_cli("synth", "sample", tmp_path / "m", "-n", "30", "--condition", "c=a", "--out",
                           tmp_path / "c.csv")
    assert code == 2 and "without conditions" in err and not (tmp_path / "c.csv").exists()


# ------------------------------------------------------------------------------------------------------------------
# the marginal engine as an engine of the synthesis protocol (run_synth(engine=...), the stages' one entry point)
# ------------------------------------------------------------------------------------------------------------------
PROTOCOL_MST = dict(iters=10, final_iters=20, bins=8, insecure_noise_seed=5)


@pytest.fixture(scope="module")
def mst_release():
    from trust.synth.protocol import run_synth

    df = table(300)
    return run_synth(df, declared_schema(df), epsilon=2.0, model=PROTOCOL_MST, synthetic_rows=60, dataset="tiny",
                     release_name="synth_mst_eps_2/tiny", artifact="outputs/synth/mst_eps_2", engine="mst",
                     verbose=False)


def test_the_protocol_fits_the_engine_it_is_given_and_its_evidence_names_it(mst_release):
    from trust.evidence import schema_problem, validate_evidence
    from trust.synth.marginal import MarginalSynthesizer
    from trust.synth.protocol import DEFAULT_POLICY
    from trust.synth.schemas import SYNTH_SCHEMA

    assert isinstance(mst_release.model, MarginalSynthesizer) and mst_release.model.engine_ == "mst"
    doc = validate_evidence(mst_release.to_evidence(DEFAULT_POLICY).document("synth_mst_eps_2"))
    assert schema_problem(doc["details"], SYNTH_SCHEMA) is None
    assert doc["kind"] == "synth" and doc["details"]["engine"] == "mst" and doc["non_dp"] == []
    assert doc["details"]["release"] == ["outputs/synth/mst_eps_2/release"]
    assert [e["accountant"] for e in doc["ledger"]] == ["zcdp"]


def test_a_marginal_release_folder_holds_the_same_files_as_ctabgans_and_loads(mst_release, tmp_path):
    import json

    from trust.synth.marginal import MarginalSynthesizer

    mst_release.save(tmp_path)
    folder = tmp_path / "release"
    meta = json.loads((folder / "trust-model.json").read_text())["meta"]
    assert sorted(p.name for p in folder.iterdir()) == ["ledger.json", "model", "synthetic.parquet", "trust-model.json"]
    assert sorted(meta["files"]) == ["ledger.json", "model", "synthetic.parquet"] and meta["releasable"]
    assert "MarginalSynthesizer" in meta["files"]["model"]
    assert len(MarginalSynthesizer.load(folder / "model").sample(7)) == 7
    assert len(pd.read_parquet(folder / "synthetic.parquet")) == 60


def test_the_verifier_recomputes_the_marginal_release_s_epsilon_with_no_mismatch(mst_release):
    from trust.verify.epsilon import check_entry

    checks = [check_entry(e) for e in mst_release.model.ledger_.to_list()]
    assert [c.status for c in checks] == ["verified"] and checks[0].family == "zcdp"
    assert checks[0].independent_epsilon == pytest.approx(2.0, rel=0.01)


def test_the_protocol_refuses_a_setting_the_named_engine_does_not_take_before_fitting():
    from trust.synth.protocol import run_synth

    df = table(50)
    with pytest.raises(ConfigError, match="setting 'epochs' is not a setting of engine 'mst'"):
        run_synth(df, declared_schema(df), epsilon=1.0, model={"epochs": 3}, engine="mst", verbose=False)


def _figures(tstr: float) -> dict:
    keys = ("utility.tstr.linear.auc", "utility.tstr.hgb.f1_macro", "fidelity.column_shapes",
            "fidelity.column_pair_trends", "fidelity.wasserstein_mean", "fidelity.jsd_mean", "privacy.dcr_share_train",
            "privacy.dcr_p5", "privacy.nndr_p5", "privacy.exact_copies", "privacy.holdout_exact_copies",
            "privacy.mia_auc", "rows.synthetic", "seconds")
    return {**{k: 0.5 for k in keys}, "utility.tstr.hgb.auc": tstr}


def test_the_report_shows_the_engines_side_by_side_one_row_per_engine_and_epsilon():
    import json

    from trust.report import build_report
    from trust.synth.protocol import DEFAULT_POLICY, SynthEvaluateResult

    members = {"eps_1": {"epsilon": 1.0, "engine": "ctabgan", "figures": _figures(0.7)},
               "eps_none": {"epsilon": None, "engine": "ctabgan", "figures": _figures(0.9)},
               "mst_eps_1": {"epsilon": 1.0, "engine": "mst", "figures": _figures(0.8)}}
    res = SynthEvaluateResult("tiny", "y", "classification", {"hgb.auc": 0.8, "linear.auc": 0.8}, members, {})
    rows = res.to_evidence(DEFAULT_POLICY).details["side_by_side"]
    assert [(r["engine"], r["epsilon"]) for r in rows] == [("ctabgan", 1.0), ("mst", 1.0), ("ctabgan", "none")]
    assert rows[1]["tstr_ratio"] == pytest.approx(1.0) and rows[0]["tstr_ratio"] == pytest.approx(0.875)
    model = build_report({"evidence/synth_evaluate.json": res.to_evidence(DEFAULT_POLICY).document("synth_evaluate")},
                         policy=DEFAULT_POLICY)
    sec, = [s for s in model["sections"] if s["id"] == "synthetic-data"]
    table_, = [b for b in sec["blocks"] if b.get("caption", "").startswith("Synthesis engines side by side")]
    assert [r[:2] for r in table_["rows"]] == [["ctabgan", 1.0], ["mst", 1.0], ["ctabgan", "none"]]
    assert "side_by_side" not in json.dumps([b for b in sec["blocks"] if b.get("type") == "details"])
