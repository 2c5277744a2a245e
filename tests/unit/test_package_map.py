"""Issue 22: the package docstring is the capability map, and report sections build no metric key."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trust

TRUST = Path(trust.__file__).parent


def test_the_package_docstring_names_every_subpackage():
    subpackages = sorted(d.name for d in TRUST.iterdir() if (d / "__init__.py").is_file())
    assert subpackages and [s for s in subpackages if f":mod:`trust.{s}`" not in trust.__doc__] == []


def _fstring_metric_keys(path: Path) -> list[str]:
    """Subscripts and ``.get(...)`` calls whose key is an f-string: a section rebuilding a metric's name."""
    hits = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.JoinedStr):
            hits.append(f"{path.name}:{node.lineno}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and node.args and isinstance(node.args[0], ast.JoinedStr)):
            hits.append(f"{path.name}:{node.lineno}")
    return hits


#: sections that still parse metric keys back; each owner moves them to the evidence's details
SECTIONS_TO_FIX = {"models": "update"}

_SECTIONS = sorted(TRUST.glob("*/report_section.py")) + [TRUST / "report" / "sections.py"]


@pytest.mark.parametrize("path", _SECTIONS, ids=lambda p: p.parent.name)
def test_a_report_section_builds_no_metric_key_with_an_f_string(path, request):
    owner = SECTIONS_TO_FIX.get(path.parent.name)
    if owner:
        request.applymarker(pytest.mark.xfail(reason=f"reads metrics by rebuilt keys ({owner} moves it to details)"))
    assert _fstring_metric_keys(path) == []


def test_the_scan_finds_an_f_string_key(tmp_path):
    f = tmp_path / "report_section.py"
    f.write_text("def s(d, name):\n    return d['metrics'].get(f'{name}.ece'), d['metrics'][f'{name}.nll']\n")
    assert _fstring_metric_keys(f) == ["report_section.py:2", "report_section.py:2"]
