"""The prior shift of the paper's CA loss and our prior-corrected variant, the selection rule, save/load through the
model directory, and the calibration gates (each shown to FAIL and to PASS)."""

from __future__ import annotations

import numpy as np
import pytest

from trust.calibrate import Calibrator, CorrectnessAwareCalibrator, TemperatureScaling, softmax
from trust.calibrate.ca import temperature_for_confidence, undo_prior_shift
from trust.calibrate.experiments import EvalSet
from trust.calibrate.protocol import run_calibrate
from trust.calibrate.selection import out_of_fold_proba, select_calibrator
from trust.errors import ConfigError, DataError
from trust.metrics import expected_calibration_error, negative_log_likelihood

POLICY = {"max_ece": 0.05, "max_ece_ratio_to_uncalibrated": 1.0}


def _calibrated(n=1500, K=4, scale=1.0, seed=0):
    """Logits whose softmax is the true class probability (calibrated at scale 1), their labels and noisy views."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, K)) * 2.0
    y = np.array([rng.choice(K, p=p) for p in softmax(Z)])
    V = np.stack([Z + rng.normal(0, 0.5, Z.shape) for _ in range(3)])
    return Z * scale, y, V * scale


def test_the_papers_weighted_loss_is_minimised_at_the_confidence_calibrated_for_a_50_percent_base_rate():
    c = np.linspace(0.0005, 0.9995, 20_000)
    for q, a in [(0.9, 0.8), (0.6, 0.95), (0.3, 0.7), (0.5, 0.5)]:
        # expected loss of rows with P(correct) = q, correct rows weighted 1/(2a), wrong ones 1/(2(1-a)) (times 1/n)
        loss = q * (1 - c) ** 2 / (2 * a) + (1 - q) * c ** 2 / (2 * (1 - a))
        best = c[np.argmin(loss)]
        odds = q / (1 - q) * (1 - a) / a
        assert best == pytest.approx(odds / (1 + odds), abs=1e-3)
        assert undo_prior_shift(best, a) == pytest.approx(q, abs=2e-3)


def test_temperature_for_confidence_reaches_the_asked_top_label_confidence():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(50, 5)) * 3
    q = rng.uniform(0.3, 0.99, 50)
    T = temperature_for_confidence(Z, q)
    np.testing.assert_allclose(softmax(Z / T[:, None]).max(axis=1), q, atol=1e-6)


def test_the_prior_corrected_ca_keeps_the_argmax_and_undoes_the_under_confidence_of_the_papers_loss():
    Z, y, V = _calibrated()
    ca = CorrectnessAwareCalibrator(epochs=200, device="cpu").fit(Z[:1000], y[:1000], V[:, :1000])
    prior = CorrectnessAwareCalibrator(epochs=200, prior_correction=True, device="cpu").fit(Z[:1000], y[:1000], V[:, :1000])
    P_ca, P_prior = ca.predict_proba(Z[1000:], V[:, 1000:]), prior.predict_proba(Z[1000:], V[:, 1000:])
    assert np.array_equal(P_prior.argmax(1), Z[1000:].argmax(1))
    assert P_ca.max(1).mean() < P_prior.max(1).mean()                     # the paper's loss is under-confident here
    assert expected_calibration_error(y[1000:], P_prior) < 0.5 * expected_calibration_error(y[1000:], P_ca)


def test_prior_correction_is_refused_for_a_loss_it_does_not_undo():
    Z, y, V = _calibrated(n=100)
    with pytest.raises(ConfigError, match="prior_correction"):
        CorrectnessAwareCalibrator(loss="ce", prior_correction=True, epochs=1, device="cpu").fit(Z, y, V)


def test_the_selection_rule_is_the_lowest_out_of_fold_nll_recomputed_by_hand():
    Z, y, V = _calibrated(n=600, scale=3.0)     # over-confident
    from trust.calibrate.selection import _folds

    cands = {"uncalibrated": None, "temperature": TemperatureScaling()}
    sel = select_calibrator(cands, Z, y, V, n_folds=4, random_state=0)
    seed = int(np.random.default_rng(0).integers(0, 2**31 - 1))
    folds = _folds(y, 4, seed)
    by_hand = {m: negative_log_likelihood(y, out_of_fold_proba(c, Z, y, V, folds)) for m, c in cands.items()}
    assert sel.scores == pytest.approx(by_hand) and sel.best == "temperature" == min(by_hand, key=by_hand.get)


def test_a_tie_goes_to_the_candidate_listed_first():
    Z, y, _ = _calibrated(n=300)
    sel = select_calibrator({"a": TemperatureScaling(), "b": TemperatureScaling()}, Z, y, n_folds=3)
    assert sel.best == "a"


@pytest.mark.parametrize("cls", ["TemperatureScaling", "VectorScaling", "HistogramBinning", "IsotonicCalibrator",
                                 "CorrectnessAwareCalibrator"])
def test_every_calibrator_saves_and_loads_through_the_model_directory(cls, tmp_path):
    import trust.calibrate as tc
    from trust.data.io import model_kind

    Z, y, V = _calibrated(n=300)
    kwargs = {"epochs": 5, "prior_correction": True, "device": "cpu"} if cls == "CorrectnessAwareCalibrator" else {}
    cal = getattr(tc, cls)(**kwargs).fit(Z, y, V)
    cal.save(tmp_path / "c")
    back = Calibrator.load(tmp_path / "c")
    assert type(back) is type(cal) and model_kind(tmp_path / "c") == "calibrator"
    np.testing.assert_allclose(back.predict_proba(Z, V), cal.predict_proba(Z, V), atol=1e-10)


def test_loading_a_calibrator_as_another_class_is_refused(tmp_path):
    Z, y, _ = _calibrated(n=200)
    TemperatureScaling().fit(Z, y).save(tmp_path / "c")
    with pytest.raises(DataError, match="not a CorrectnessAwareCalibrator"):
        CorrectnessAwareCalibrator.load(tmp_path / "c")


def _run(Z, y, V, candidates, methods=None, epochs=200):
    val = EvalSet.from_logits(Z[:800], y[:800], V[:, :800])
    test = {"in_distribution": EvalSet.from_logits(Z[800:], y[800:], V[:, 800:])}
    return run_calibrate(val, test, methods=methods or ("uncalibrated", *candidates), candidates=candidates, n_folds=3,
                         n_boot=20, ca={"epochs": epochs}, dataset="toy", device="cpu")


def _gate(result, key):
    c, = [c for c in result.to_evidence(POLICY).checks if c.policy_key == key]
    return c


def test_an_uncalibrated_overconfident_model_fails_max_ece():
    r = _run(*_calibrated(scale=3.0), candidates=("uncalibrated",))
    assert r.deployed == "uncalibrated" and _gate(r, "max_ece").passed is False


def test_temperature_scaling_of_that_model_passes_max_ece_and_the_relative_gate():
    r = _run(*_calibrated(scale=3.0), candidates=("temperature",))
    assert _gate(r, "max_ece").passed is True
    rel = _gate(r, "max_ece_ratio_to_uncalibrated")
    assert rel.passed is True and rel.value < 0.5 and rel.reference == "uncalibrated model"


def test_a_calibrator_that_raises_the_ece_fails_the_relative_gate():
    r = _run(*_calibrated(), candidates=("ca",))     # the paper's loss on a calibrated model: under-confident
    rel = _gate(r, "max_ece_ratio_to_uncalibrated")
    assert rel.passed is False and rel.value > 1.5
    assert "uncalibrated model" in rel.sentence() and "threshold 1.000x (<=)" in rel.sentence()


def test_the_deployed_calibrator_is_chosen_on_validation_and_saved(tmp_path):
    r = _run(*_calibrated(scale=3.0), candidates=("temperature", "ca", "ca_prior"), epochs=40)
    assert r.deployed == min(r.selection.scores, key=r.selection.scores.get)
    r.save(tmp_path)
    assert type(Calibrator.load(tmp_path / "calibrator")).__name__ == type(r.deployed_calibrator).__name__


def test_the_calibrate_evidence_validates_and_the_section_reads_its_details(tmp_path):
    from trust.report import build_report

    r = _run(*_calibrated(scale=3.0), candidates=("temperature",))
    plots = r.plots(tmp_path)
    doc = r.to_evidence(POLICY).document("calibrate_toy", plots=plots)
    m = build_report({"evidence/calibrate_toy.json": doc}, policy=POLICY, git_commit="0")
    sec, = [s for s in m["sections"] if s["id"] == "calibration"]
    rows = next(b for b in sec["blocks"] if b["type"] == "table" and b["columns"][0] == "Method")["rows"]
    assert [row[0] for row in rows] == ["uncalibrated", "temperature scaling"]
    assert rows[1][2] == round(r.ece[0], 4) and (tmp_path / "reliability.png").exists()


def test_a_set_given_by_its_rows_needs_the_model():
    Z, y, _ = _calibrated(n=100)
    with pytest.raises(ConfigError, match="model="):
        run_calibrate(EvalSet(Z, y), {}, methods=("uncalibrated", "temperature"), candidates=("temperature",))
