"""The HTML report in a real browser: headless Chromium loads it, the DOM holds every section and the
gate table, and a screenshot is produced. Skipped (with the reason) where Chromium is not installed;
`.ci/run` installs Debian's `chromium` before `make test`."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from trust.report import build_report
from trust.report.examples import EXAMPLE_POLICY, example_evidence, example_png
from trust.report.project import write_reports

CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; "
                                                          ".ci/run does this before make test)")]


def _chromium(profile: Path, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    ev = example_evidence()
    for doc in ev.values():
        for p in doc["plots"]:
            (root / p["path"]).parent.mkdir(parents=True, exist_ok=True)
            (root / p["path"]).write_bytes(example_png())
    model = build_report(ev, policy={**EXAMPLE_POLICY, "max_mia_auc": 0.56}, git_commit="0123abc")
    write_reports(model, root / "reports", root=root)
    return root, model


def test_dom_holds_every_section_and_the_gate_table(report, tmp_path):
    root, model = report
    r = _chromium(tmp_path / "profile", "--dump-dom", (root / "reports" / "compliance.html").as_uri())
    dom = r.stdout
    assert r.returncode == 0 and dom.strip().endswith("</html>"), r.stderr[-2000:]
    ids = set(re.findall(r'<section id="([a-z0-9-]+)"', dom))
    assert ids == {s["id"] for s in model["sections"]}
    assert {"summary", "lineage", "privacy-ledger", "synthetic-data", "aggregate-learning", "compliance-mapping",
            "limitations"} <= ids
    table = re.search(r'<table id="gate-table">(.*?)</table>', dom, re.S)
    assert table is not None
    rows = re.findall(r"<tr>", table.group(1))
    pending = [g for g in model["gates"] if g["status"] == "not evaluated"]
    assert len(rows) == len(model["gates"]) - len(pending) + 1  # header + one row per evaluated gate
    if pending:  # the others are listed apart, one row each
        apart = re.search(r'<table id="not-evaluated">(.*?)</table>', dom, re.S)
        assert apart is not None and len(re.findall(r"<tr>", apart.group(1))) == len(pending) + 1
    assert table.group(1).count('class="status status-fail">FAIL</td>') == 1  # none: MIA 0.58 > 0.56
    assert 'id="verdict">FAIL</span>' in dom
    assert '<table id="stage-checks">' in dom
    assert dom.count('src="data:image/png;base64,') == 6


def test_screenshot_is_produced(report, tmp_path):
    root, _ = report
    shot = tmp_path / "x.png"
    r = _chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000",
                  (root / "reports" / "compliance.html").as_uri())
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000  # a rendered page of tables and colour, not a blank canvas (a blank one is ~10 KB)


@pytest.fixture(scope="module")
def calibration_report(tmp_path_factory):
    """A report holding a calibration section whose plot is a real reliability diagram."""
    import numpy as np

    from trust.calibrate.plots import reliability_diagram
    from trust.evidence import check, make_evidence

    root = tmp_path_factory.mktemp("browser_calibration")
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), 200)
    y = rng.integers(0, 3, 200)
    png = root / "outputs" / "calibrate" / "toy" / "reliability.png"
    png.parent.mkdir(parents=True)
    reliability_diagram(y, P, title="toy").savefig(png, format="png")
    doc = make_evidence("calibrate", "calibrate", title="Calibration correction",
                        checks=[check("toy: ECE of the deployed calibrator", 0.03, 0.05, "<=", policy_key="max_ece")],
                        metrics={"toy.in_distribution.ca.ece": 0.03},
                        plots=[{"title": "toy: reliability diagrams", "path": "outputs/calibrate/toy/reliability.png"}],
                        details={"datasets": {"toy": {"deployed": "ca", "ece_ci": [0.02, 0.04],
                                                      "shift_average": {"ca": {"shifted": 0.1}}}}})
    ev = {**example_evidence(), "calibrate": doc}
    for d in ev.values():
        for p in d["plots"]:
            if not (root / p["path"]).exists():
                (root / p["path"]).parent.mkdir(parents=True, exist_ok=True)
                (root / p["path"]).write_bytes(example_png())
    model = build_report(ev, policy={**EXAMPLE_POLICY, "max_ece": 0.05}, git_commit="0123abc")
    write_reports(model, root / "reports", root=root)
    return root


def test_calibration_section_renders_its_reliability_diagram(calibration_report, tmp_path):
    r = _chromium(tmp_path / "profile", "--dump-dom", (calibration_report / "reports" / "compliance.html").as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    sec = re.search(r'<section id="calibration"(.*?)</section>', r.stdout, re.S)
    assert sec is not None
    assert "toy: reliability diagrams" in sec.group(1)
    img = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', sec.group(1))
    assert img is not None and len(img.group(1)) > 10_000  # the real diagram, not the 1-pixel example PNG
