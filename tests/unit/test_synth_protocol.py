"""The synthesis protocols: run_synth's release and evidence, run_synth_evaluate's gates and their negative controls."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from trust.errors import ConfigError
from trust.evidence import check_sentence, schema_problem, validate_evidence
from trust.synth.protocol import DEFAULT_POLICY, label_share, run_synth, run_synth_evaluate
from trust.synth.schemas import SYNTH_EVALUATE_SCHEMA, SYNTH_SCHEMA

from tests.unit._synth_tiny import SMALL, declared_schema, table

NET = {k: v for k, v in SMALL.items() if k != "verbose"}   # the protocol sets verbose itself
MODEL = dict(epochs=1, batch_size=50, delta=1e-4, insecure_noise_seed=3, **NET)


@pytest.fixture(scope="module")
def dp_result():
    df = table(300)
    return run_synth(df, declared_schema(df), epsilon=4.0, model=MODEL, synthetic_rows=60, dataset="tiny",
                     release_name="synth_eps_4/tiny", artifact="outputs/synth/eps_4", verbose=False)


@pytest.fixture(scope="module")
def evaluation():
    """A copy of the training rows, an independent real sample and a real sample with its labels swapped (a model
    trained on it ranks the test rows backwards), scored against equal-size train and holdout splits (so a copy's
    DCR share is not diluted)."""
    train, test, holdout, fresh = table(300, seed=1), table(400, seed=2), table(300, seed=3), table(300, seed=4)
    swapped = fresh.assign(y=np.where(fresh["y"] == "yes", "no", "yes"))
    tables = {"copy": (None, train), "genuine": (None, fresh), "swapped": (None, swapped)}
    return run_synth_evaluate(train, test, holdout, tables, declared_schema(train), dataset="tiny", fidelity_rows=100,
                              privacy_rows=300, random_state=0)


def _check(ev, member, key):
    c, = [c for c in ev.checks if c.policy_key == key and c.name.startswith(f"{member}:")]
    return c


def test_a_dp_synthesis_s_evidence_validates_against_its_schema_with_its_ledger(dp_result):
    ev = dp_result.to_evidence(DEFAULT_POLICY)
    doc = validate_evidence(ev.document("synth_eps_4"))
    assert schema_problem(doc["details"], SYNTH_SCHEMA) is None
    assert doc["kind"] == "synth" and len(doc["ledger"]) == 3 and doc["non_dp"] == []
    assert "post-processing" in doc["details"]["generator"]
    assert doc["details"]["release"] == ["outputs/synth/eps_4/release"]   # what the signing hook signs


def test_the_synthesis_section_renders_a_run_and_its_evaluation(dp_result, evaluation):
    from trust.report import build_report

    docs = {"evidence/synth_eps_4.json": dp_result.to_evidence(DEFAULT_POLICY).document("synth_eps_4"),
            "evidence/synth_evaluate.json": evaluation.to_evidence(DEFAULT_POLICY).document("synth_evaluate")}
    model = build_report(docs, policy=DEFAULT_POLICY)
    sec, = [s for s in model["sections"] if s["id"] == "synthetic-data"]
    assert sec["kinds"] == ["synth", "synth_evaluate"]
    text = json.dumps(sec["blocks"])
    assert "generator never reads a real row" in text and "relative to train-on-real" in text


def test_a_dp_release_folder_holds_only_the_releasable_files_its_manifest_lists(dp_result, tmp_path):
    from trust.synth.model import CTABGANPlus

    dp_result.save(tmp_path)
    folder = tmp_path / "release"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]
    meta = json.loads((folder / "trust-model.json").read_text())["meta"]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*meta["files"], "trust-model.json"]) and \
        sorted(meta["files"]) == ["ledger.json", "model", "synthetic.parquet"]
    assert meta["releasable"] and json.loads((folder / "ledger.json").read_text()) == dp_result.model.ledger_.to_list()
    assert len(CTABGANPlus.load(folder / "model").sample(5)) == 5
    assert len(pd.read_parquet(folder / "synthetic.parquet")) == 60


def test_a_fit_without_dp_is_a_baseline_never_released_and_its_evidence_records_the_non_dp_use(tmp_path):
    df = table(200)
    res = run_synth(df, declared_schema(df), epsilon=None, model=dict(epochs=1, batch_size=50, **NET),
                    synthetic_rows=20, dataset="tiny", artifact="outputs/synth/eps_none", verbose=False)
    doc = res.to_evidence(DEFAULT_POLICY).document("synth_eps_none")
    assert doc["non_dp"] == [{"dataset": "tiny", "artifact": "outputs/synth/eps_none",
                              "what": doc["non_dp"][0]["what"]}] and "WITHOUT differential privacy" in \
        doc["non_dp"][0]["what"]
    assert doc["details"]["release"] == []   # a baseline is not a release
    res.save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["baseline"]
    assert not json.loads((tmp_path / "baseline" / "trust-model.json").read_text())["meta"]["releasable"]


def test_max_train_rows_is_refused_under_dp_and_is_a_seeded_subsample_without_dp():
    df = table(300)
    with pytest.raises(ConfigError, match="max_train_rows=100 is refused under DP") as e:
        run_synth(df, declared_schema(df), epsilon=4.0, model=MODEL, max_train_rows=100, verbose=False)
    assert "\n" not in str(e.value)
    res = run_synth(df, declared_schema(df), epsilon=None, model=dict(epochs=1, batch_size=50, **NET),
                    max_train_rows=100, verbose=False)
    assert res.fit_rows == 100


@pytest.mark.parametrize("settings, match", [({"epochz": 3}, "unknown CTAB-GAN\\+ setting 'epochz'; did you mean "
                                                             "epochs"),
                                             ({"epsilon": 1.0}, "'epsilon' is set by the synthesis protocol"),
                                             ({"lr": -1.0}, "lr=-1.0 must be a number > 0")])
def test_model_settings_are_checked_by_the_library_with_one_line_naming_the_setting(settings, match):
    df = table(100)
    with pytest.raises(ConfigError, match=match) as e:
        run_synth(df, declared_schema(df), epsilon=None, model={**settings, **NET}, verbose=False)
    assert "\n" not in str(e.value)


def test_evaluation_evidence_validates_against_its_schema_and_records_the_non_dp_use(evaluation):
    doc = validate_evidence(evaluation.to_evidence(DEFAULT_POLICY).document("synth_evaluate"))
    assert schema_problem(doc["details"], SYNTH_EVALUATE_SCHEMA) is None
    assert doc["non_dp"] and doc["metrics"]["copy.tstr_auc"] == evaluation.members["copy"]["figures"][
        "utility.tstr.hgb.auc"]


@pytest.mark.parametrize("key", ["max_dcr_share", "max_mia_auc", "max_exact_copies"])
def test_a_copy_of_the_training_rows_fails_each_privacy_audit_and_a_real_sample_passes(evaluation, key):
    ev = evaluation.to_evidence(DEFAULT_POLICY)
    assert _check(ev, "copy", key).passed is False
    assert _check(ev, "genuine", key).passed is True


def test_the_utility_gate_is_relative_to_train_on_real_a_copy_passes_and_swapped_labels_fail(evaluation):
    ev = evaluation.to_evidence(DEFAULT_POLICY)
    copy, genuine, noise = (_check(ev, m, "min_tstr_ratio_to_real") for m in ("copy", "genuine", "swapped"))
    trtr = evaluation.trtr["hgb.auc"]
    assert copy.reference_figure == trtr and copy.value == pytest.approx(copy.figure / trtr)
    assert copy.passed and genuine.passed and noise.passed is False
    assert noise.value < 0.65


def test_each_synthesis_gate_sentence_names_its_figure_reference_and_threshold(evaluation):
    ev = evaluation.to_evidence(DEFAULT_POLICY)
    tstr = check_sentence(_check(ev, "genuine", "min_tstr_ratio_to_real").to_dict())
    assert "TSTR ROC AUC" in tstr and "x train-on-real" in tstr and "threshold 0.650x (>=)" in tstr
    dcr = _check(ev, "genuine", "max_dcr_share")
    assert "closest real row is a training row rather than a holdout row" in dcr.name
    assert "distance-based membership-inference" in _check(ev, "genuine", "max_mia_auc").name
    assert "the holdout, has" in _check(ev, "genuine", "max_exact_copies").description


def test_a_tstr_far_below_train_on_real_gets_a_one_line_warning_saying_what_to_try(evaluation):
    lines = evaluation.warnings()
    assert len(lines) == 1 and lines[0].startswith("warning: swapped: TSTR AUC") and "train-on-real" in lines[0]
    assert "try more epochs" in lines[0] and "\n" not in lines[0]


def test_a_dp_table_far_from_the_released_label_marginal_gets_a_warning(dp_result):
    assert dp_result.labels is not None and 0 <= dp_result.labels["total_variation"] <= 1
    one_label = dp_result.synthetic.assign(y="yes")
    res = dataclasses.replace(dp_result, labels=label_share(dp_result.model, one_label))
    released = dict(zip(res.labels["labels"], res.labels["released"]))
    assert res.labels["total_variation"] == pytest.approx(1 - released["yes"])
    lines = res.warnings()
    assert len(lines) == 1 and "100% 'yes' labels" in lines[0] and "DP-released label marginal" in lines[0]
    assert "try more epochs" in lines[0]


def test_both_results_draw_their_figures_as_png_files(dp_result, evaluation, tmp_path):
    plots = dp_result.plots(tmp_path / "fit") + evaluation.plots(tmp_path / "eval")
    assert [p.title.split(" ")[0] for p in plots] == ["CTAB-GAN+", "Utility", "DCR"]
    assert all(open(p.path, "rb").read(8) == b"\x89PNG\r\n\x1a\n" for p in plots)
