"""Lazy package exports (PEP 562): a package names what it exports, each imported on first use.

``import trust.models`` (or ``trust.data``, the command line's modules, ...) must not load torch,
pandas or scikit-learn until a name that needs them is used: a usage error of the CLI answers in well
under a second, and a stage's import graph stays what it uses. Each package's ``__init__`` does::

    _EXPORTS = {"NeuralClassifier": "trust.models.classifier", ...}
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
    __all__ = list(_EXPORTS)
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` for ``exports`` ({name: module path})."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
