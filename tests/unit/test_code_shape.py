"""The shape issue 22 set for the code itself: short stage scripts, short functions and classes, no import
running up from the models base into a capability."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CAPABILITIES = ("synth", "aggregate", "calibrate", "unlearn", "noisy", "update", "report", "verify")


def _sources(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


def _too_long(path: Path, kind: type, limit: int) -> list[str]:
    tree = ast.parse(path.read_text())
    return [f"{path.name}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
            for n in ast.walk(tree) if isinstance(n, kind) and n.end_lineno - n.lineno + 1 > limit]


def test_every_stage_script_but_the_stage_plumbing_is_at_most_80_lines():
    long = [p.name for p in _sources("pipelines") if p.name != "_stage.py" and len(p.read_text().splitlines()) > 80]
    assert long == []


@pytest.mark.parametrize("kind, limit", [((ast.FunctionDef, ast.AsyncFunctionDef), 80), (ast.ClassDef, 350)],
                         ids=["functions", "classes"])
def test_no_function_or_class_of_the_library_or_the_stages_is_over_its_limit(kind, limit):
    assert [hit for p in _sources("trust", "pipelines") for hit in _too_long(p, kind, limit)] == []


def test_the_scan_finds_a_long_function(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n" + "    x = 1\n" * 81)
    assert _too_long(f, ast.FunctionDef, 80) == ["m.py:1 f (82 lines)"]
    assert _too_long(f, ast.FunctionDef, 82) == []


def test_the_models_base_imports_no_capability():
    """trust/models sits below every capability (its own report section excepted, which is the report's plug-in)."""
    ups = []
    for p in _sources("trust/models"):
        if p.name == "report_section.py":
            continue
        for n in ast.walk(ast.parse(p.read_text())):
            mods = [n.module or ""] if isinstance(n, ast.ImportFrom) else \
                [a.name for a in n.names] if isinstance(n, ast.Import) else []
            ups += [f"{p.name}: {m}" for m in mods if m.split(".")[:2] in ([["trust", c] for c in CAPABILITIES])]
    assert ups == []
