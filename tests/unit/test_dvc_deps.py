"""Every trust/ module a DVC stage runs lies under one of that stage's deps (so an edit re-runs the stage).

The module graph is read from the source: every ``import trust...`` / ``from trust... import ...``
statement in the stage script and, transitively, in the trust modules it reaches, including imports
inside functions (the lazy ones a plain import would not execute) and module names written as strings
(``trust.synth``'s lazy exports, ``importlib.import_module("trust.x.y")``). The report stage renders
every section, so it also runs every ``trust/<capability>/report_section.py`` (``discover_sections``).
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    if len(parts) == 1 and (ROOT / "pipelines" / f"{name}.py").is_file():  # the stage helpers (_stage, _trained)
        return ROOT / "pipelines" / f"{name}.py"
    base = ROOT.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _ours(module: str) -> bool:
    """A trust module or one of the stage helpers in pipelines/ (``_stage``, ``_trained``)."""
    top = module.split(".")[0]
    return top == "trust" or (top.startswith("_") and (ROOT / "pipelines" / f"{top}.py").is_file())


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if _ours(a.name))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _ours(node.module):
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)  # submodules imported by name
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"trust(\.\w+)+", node.value):
            names.add(node.value)  # lazy imports by name
    return names


def trust_files(script: Path) -> set[Path]:
    """The trust/ source files ``script`` can import, transitively."""
    seen: set[Path] = set()
    todo = [script]
    if script.name == "report.py":
        seen.update((ROOT / "trust").glob("*/report_section.py"))
        todo += sorted(seen)
    while todo:
        f = todo.pop()
        for name in _imported(f):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # a package's __init__ runs before its submodules
                mf = _module_file(".".join(parts[:i]))
                if mf is not None and mf not in seen:
                    seen.add(mf)
                    todo.append(mf)
    return seen


def _stages():
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, st in spec.items():
        argv = shlex.split(st["cmd"])
        script = next(a for a in argv if a.endswith(".py"))
        deps = [d if isinstance(d, str) else next(iter(d)) for d in st.get("deps", [])]
        yield name, ROOT / script, deps


@pytest.mark.parametrize("name, script, deps", list(_stages()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_trust_module_a_stage_imports_is_under_its_deps(name, script, deps):
    dep_paths = [(ROOT / d).resolve() for d in deps]
    missing = sorted(str(f.relative_to(ROOT)) for f in trust_files(script) | {script}
                     if not any(f == d or d in f.parents for d in dep_paths))
    assert not missing, f"stage '{name}' imports {missing} but its deps do not cover them"


def test_the_report_stage_runs_every_report_section():
    assert ROOT / "trust" / "models" / "report_section.py" in trust_files(ROOT / "pipelines" / "report.py")


def test_the_scanner_finds_lazy_imports_inside_functions():
    files = {str(f.relative_to(ROOT)) for f in trust_files(ROOT / "trust" / "aggregate" / "estimators.py")}
    assert "trust/models/training.py" in files  # imported inside train_torch only
