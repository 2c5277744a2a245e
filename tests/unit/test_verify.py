"""trust verify (issue 24) on a small signed project (tests/unit/_verify_project.py): a clean project verifies,
and every tampering is a MISMATCH naming the file and the claim."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import _verify_project as vp
from trust.verify import MISMATCH, UNVERIFIABLE, VERIFIED, verify_project


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """The organisation's key (outside every project) and its public key file, and a second, foreign key."""
    from trust.signing import load_signer, public_key_pem

    d = tmp_path_factory.mktemp("keys")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRUST_SIGNING_KEY_FILE", str(d / "org.pem"))
    pub = d / "org.pub"
    pub.write_bytes(public_key_pem(load_signer().public_key))
    (d / "lineage.key").write_text(vp.LINEAGE_KEY.hex())
    yield {"dir": d, "pub": pub, "lineage": d / "lineage.key"}
    mp.undo()


@pytest.fixture(scope="module")
def built(keys, tmp_path_factory):
    return vp.build(tmp_path_factory.mktemp("built") / "proj")


@pytest.fixture
def project(built, tmp_path):
    """A fresh copy of the signed project, free to tamper with."""
    return Path(shutil.copytree(built, tmp_path / "proj"))


def run(root: Path, keys, **kw):
    kw.setdefault("lineage_key", vp.LINEAGE_KEY)
    return verify_project(root, public_key=keys["pub"], dvc=False, mlflow=False, **kw)


def mismatches(v) -> list[tuple[str, str, str]]:
    return [(c.category, c.file, c.claim) for c in v.of(MISMATCH)]


def test_a_clean_project_verifies_every_claim_with_the_independent_epsilons_beside_the_ledgers(project, keys):
    v = run(project, keys)
    assert v.exit_code(strict=True) == 0, v.lines()
    eps = {c.figures["release"]: c.figures for c in v.claims if c.category == "epsilon"}
    assert set(eps) == {"synth/eps_1/critic", "synth/eps_1/histograms", "aggregate/toy/bag-means"}
    critic = eps["synth/eps_1/critic"]
    # the ledger (Opacus RDP) is an upper bound; the PLD value is tighter and computed by other code
    assert critic["independent_epsilon"] < critic["ledger_epsilon"] < 2 * critic["independent_epsilon"]
    assert eps["aggregate/toy/bag-means"]["independent_epsilon"] == pytest.approx(1.0)
    cats = {c.category for c in v.claims}
    assert cats >= {"signature", "digest", "report", "epsilon", "total", "gate", "verdict", "lineage", "release"}


def test_an_edited_evidence_figure_is_a_mismatch_naming_the_file(project, keys):
    f = project / "evidence" / "synth_eps_1.json"
    doc = json.loads(f.read_text())
    doc["checks"][0]["value"] = 0.51  # MIA AUC made to look better
    f.write_text(json.dumps(doc))
    bad = mismatches(run(project, keys))
    assert ("digest", "evidence/synth_eps_1.json", "the evidence is the file that was signed") in bad
    assert any(c == "report" and "synth_eps_1" in w for c, _, w in bad), bad  # the report shows another figure


def test_a_lowered_ledger_epsilon_is_a_mismatch_on_that_epsilon(project, keys):
    f = project / "evidence" / "synth_eps_1.json"
    doc = json.loads(f.read_text())
    doc["ledger"][0]["epsilon"] = 1.0  # the critic's epsilon understated
    f.write_text(json.dumps(doc))
    v = run(project, keys)
    eps = [c for c in v.of(MISMATCH) if c.category == "epsilon"]
    assert [(c.file, c.figures["release"]) for c in eps] == [("evidence/synth_eps_1.json", "synth/eps_1/critic")]
    assert "below the independent" in eps[0].reason
    assert any(c.category == "total" for c in v.of(MISMATCH))  # the report's total no longer adds up


def test_a_gate_threshold_edited_in_the_report_is_a_mismatch_on_that_gate(project, keys):
    f = project / "reports" / "compliance.json"
    rep = json.loads(f.read_text())
    g = next(g for g in rep["gates"] if g["name"] == "MIA AUC")
    g["threshold"] = 0.9
    f.write_text(json.dumps(rep))
    bad = mismatches(run(project, keys))
    assert ("digest", "reports/compliance.json", "the report file is the one signed") in bad
    gate = [(f, w) for c, f, w in bad if c == "gate"]
    assert gate == [("reports/compliance.json", "gate 'MIA AUC' (synth_eps_1): 0.55 <= 0.6 -> pass")]


def test_a_changed_byte_of_a_release_is_a_mismatch_naming_the_release_file(project, keys):
    f = project / "outputs/synth/eps_1/release/synthetic.csv"
    data = bytearray(f.read_bytes())
    data[-3] ^= 1
    f.write_bytes(bytes(data))
    assert mismatches(run(project, keys)) == [
        ("release", "outputs/synth/eps_1/release/synthetic.csv", "release file signed with evidence/synth_eps_1.json "
                                                                 "is unchanged")]


def test_a_signature_made_with_another_key_is_a_mismatch(project, keys, monkeypatch, tmp_path):
    from trust.signing import sign_evidence

    monkeypatch.setenv("TRUST_SIGNING_KEY_FILE", str(tmp_path / "intruder.pem"))
    f = project / "evidence" / "aggregate.json"
    sign_evidence(f, json.loads(f.read_text()))
    v = run(project, keys)
    bad = v.of(MISMATCH)
    assert [(c.category, c.file) for c in bad] == [("signature", "evidence/aggregate.json")]
    assert "not by" in bad[0].reason


def test_an_accountant_that_under_reports_is_caught_by_the_recomputation_though_every_signature_is_valid(
        keys, tmp_path, monkeypatch):
    import trust.privacy.dpsgd as dpsgd
    from trust.evidence import Evidence, write_evidence

    honest = dpsgd.epsilon_for
    monkeypatch.setattr(dpsgd, "epsilon_for", lambda *a, **k: 0.6 * honest(*a, **k))  # a buggy accountant
    entry = dpsgd.DPSGDPlan(vp.SIGMA, vp.Q, vp.STEPS, 2, vp.DELTA, "prv", 1.0).ledger_entry(
        "synth/eps_1/critic", dataset="toy", noise_source="os-entropy", notes="")
    (tmp_path / "params.yaml").write_text("policy: {}\n")
    write_evidence(tmp_path / "evidence/synth.json", Evidence("synth", ledger=(entry.to_dict(),)).document("synth"))
    v = verify_project(tmp_path, public_key=keys["pub"], lineage_key=None, dvc=False, mlflow=False)
    assert all(c.status == VERIFIED for c in v.claims if c.category in ("signature", "digest"))
    bad = v.of(MISMATCH)
    assert [(c.category, c.file, c.figures["release"]) for c in bad] == [
        ("epsilon", "evidence/synth.json", "synth/eps_1/critic")]


def test_without_the_lineage_key_fingerprints_are_unverifiable_not_verified_nor_mismatched(project, keys):
    v = run(project, keys, lineage_key=None)
    prints = [c for c in v.claims if c.category == "lineage"]
    assert prints and all(c.status == UNVERIFIABLE for c in prints)
    assert v.exit_code() == 0 and v.exit_code(strict=True) == 1


def test_a_changed_private_table_is_a_fingerprint_mismatch_with_the_key(project, keys):
    import pandas as pd

    f = project / "outputs/prepare/toy/train.parquet"
    df = pd.read_parquet(f)
    df.loc[0, "age"] += 1
    df.to_parquet(f)
    bad = [c for c in run(project, keys).of(MISMATCH) if c.category == "lineage"]
    assert len(bad) == 1 and "toy/train" in bad[0].claim


def test_a_file_not_in_the_manifest_makes_the_release_folder_a_mismatch(project, keys):
    (project / "outputs/aggregate/release/records.json").write_text("{}")
    bad = mismatches(run(project, keys))
    assert ("release", "outputs/aggregate/release", "holds only the releasable files its manifest lists") in bad


def test_the_release_scan_finds_a_plain_hash_and_an_exact_count_of_the_private_table(project, keys):
    import hashlib

    from trust.data.release import write_release_manifest

    rel = project / "outputs/aggregate/release"
    raw = (project / "outputs/prepare/toy/train.parquet").read_bytes()
    (rel / "meta.json").write_text(json.dumps({"md5": hashlib.md5(raw).hexdigest(), "n": 40, "fit_seconds": 3.2}))
    write_release_manifest(rel, stage="aggregate", ledger=["aggregate/toy/bag-means"])
    scan = next(c for c in run(project, keys).claims if c.claim.startswith("holds no plain hash")
                and c.file == "outputs/aggregate/release")
    assert scan.status == MISMATCH
    assert "plain hash" in scan.reason and "exact count" in scan.reason and "timing key 'fit_seconds'" in scan.reason


def test_the_cli_lists_every_claim_and_a_final_line_and_exits_0(project, keys, run_cli):
    code, out, err = run_cli("verify", "--root", project, "--public-key", keys["pub"], "--lineage-key",
                             keys["lineage"], "--no-dvc")
    assert code == 0, out + err
    lines = out.strip().splitlines()
    assert lines[-1].startswith("verify: PASS: ") and " 0 MISMATCH" in lines[-1]
    assert any(ln.startswith("VERIFIED") and "synth/eps_1/critic" in ln and "independent" in ln for ln in lines)
    # the evidence records no MLflow run: that claim cannot be checked, so --strict fails
    code, out, _ = run_cli("verify", "--root", project, "--public-key", keys["pub"], "--lineage-key",
                           keys["lineage"], "--no-dvc", "--strict", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["summary"]["MISMATCH"] == 0
    assert {c["claim"] for c in doc["claims"] if c["status"] == UNVERIFIABLE} == {"its MLflow run exists"}


def test_the_cli_exits_1_on_a_mismatch(project, keys, run_cli):
    (project / "outputs/aggregate/release/bag_means.csv").write_text("bag,mean\n0,0.2\n")
    code, out, _ = run_cli("verify", "--root", project, "--public-key", keys["pub"], "--no-dvc")
    assert code == 1 and out.strip().splitlines()[-1].startswith("verify: FAIL:")


@pytest.mark.parametrize("case", ["no evidence folder", "corrupt envelope", "wrong key file"])
def test_bad_input_is_one_line_and_exit_2(project, keys, run_cli, case, tmp_path):
    args = ["verify", "--root", project, "--public-key", keys["pub"], "--no-dvc"]
    if case == "no evidence folder":
        shutil.rmtree(project / "evidence")
    elif case == "corrupt envelope":
        (project / "evidence" / "prepare.intoto.jsonl").write_text('{"payload": "@@", "payloadType": 1}\n')
    else:
        (tmp_path / "key.pem").write_text("not a key\n")
        args[4] = tmp_path / "key.pem"
    code, out, err = run_cli(*args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    word = {"no evidence folder": "evidence folder", "corrupt envelope": "corrupt attestation",
            "wrong key file": "not a PEM public key"}[case]
    assert word in err


def test_a_signing_key_under_the_project_root_is_refused(tmp_path, monkeypatch):
    from trust.errors import ConfigError
    from trust.evidence import Evidence, write_evidence

    (tmp_path / "params.yaml").write_text("{}\n")
    monkeypatch.setenv("TRUST_SIGNING_KEY_FILE", str(tmp_path / ".trust" / "signing-key.pem"))
    with pytest.raises(ConfigError, match="under the project root"):
        write_evidence(tmp_path / "evidence/x.json", Evidence("x").document("x"))
    assert not (tmp_path / ".trust" / "signing-key.pem").exists()


def test_the_key_that_travels_with_the_report_alone_cannot_vouch_for_itself(project, keys, monkeypatch, tmp_path):
    monkeypatch.setenv("TRUST_SIGNING_KEY_FILE", str(tmp_path / "none.pem"))  # not the data owner's machine
    v = verify_project(project, lineage_key=vp.LINEAGE_KEY, dvc=False, mlflow=False)
    assert v.count(MISMATCH) == 0
    assert [c.claim for c in v.of(UNVERIFIABLE)] == ["the public key is the organisation's"]


def test_the_report_stage_shows_the_verifiers_summary_in_a_verification_section(project, keys, monkeypatch):
    from trust.report.project import build_project_report
    from trust.verify.report_section import pipeline_verification

    # the report stage runs on the data owner's machine: its lineage key is the one the project was built with
    # (else the process's own test key, created by whichever earlier test used it first, tests every fingerprint)
    monkeypatch.setenv("TRUST_LINEAGE_KEY_FILE", str(keys["lineage"]))
    monkeypatch.delenv("TRUST_LINEAGE_KEY", raising=False)

    model = build_project_report(project, git_commit="test", extra_evidence=pipeline_verification(project))
    sec = next(s for s in model["sections"] if s["id"] == "verification")
    text = json.dumps(sec)
    assert "0 MISMATCH" in text and "synth/eps_1/critic" in text
    assert model["verdict"]["status"] == "pass"


def test_a_bundled_datasets_name_that_also_ends_an_output_path_is_still_verified_from_the_bundled_data(tmp_path):
    """`digits` (the full dataset) and outputs/unlearn_concept/digits/forget.parquet (the only table of a folder named
    digits) share a name in the table index: the fingerprint of the bundled dataset must still verify."""
    import pandas as pd

    from trust.data import load_array_dataset, write_table
    from trust.data.hashing import keyed_fingerprint
    from trust.verify.lineage import fingerprint_claims, table_index

    key = b"k" * 32
    write_table(pd.DataFrame({"x0": [1.0, 2.0], "label": [3, 3]}), tmp_path / "outputs" / "u" / "digits" / "forget.parquet")
    full = keyed_fingerprint(load_array_dataset("digits").as_frame(), key)
    ev = {"evidence/u.json": {"data": [{"name": "digits", "fingerprint": full}]}}
    (c,) = fingerprint_claims(tmp_path, ev, key, table_index(tmp_path))
    assert c.status == VERIFIED and "bundled" in c.reason
    ev["evidence/u.json"]["data"][0]["fingerprint"] = keyed_fingerprint(pd.DataFrame({"x0": [0.0]}), key)
    (c,) = fingerprint_claims(tmp_path, ev, key, table_index(tmp_path))
    assert c.status == MISMATCH
