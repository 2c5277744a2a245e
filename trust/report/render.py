"""Render a report model (see :mod:`trust.report.model`) as HTML, Markdown or JSON strings (no I/O).

* HTML: one self-contained file (inline CSS, plots embedded as base64 ``data:`` URIs, no network
  assets, print-friendly CSS). Plots are passed in as bytes by the caller.
* Markdown: for pull requests; plots referenced by relative path (``plot_prefix`` + the path the
  evidence records, ``../`` from ``reports/``).
* JSON: the model itself, key-sorted, validated against :data:`trust.report.model.REPORT_SCHEMA`.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any, Mapping

import jinja2
import markupsafe

from trust.report.model import REPORT_SCHEMA, validate_report

_env_html = jinja2.Environment(loader=jinja2.PackageLoader("trust.report", "templates"),
                               autoescape=True, undefined=jinja2.StrictUndefined,
                               trim_blocks=False, lstrip_blocks=False)
_env_md = jinja2.Environment(loader=jinja2.PackageLoader("trust.report", "templates"),
                             autoescape=False, undefined=jinja2.StrictUndefined)


def fmt(value: Any) -> str:
    """A table cell for people: 4 significant digits, 'yes'/'no', '-' for missing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def mdcell(value: Any) -> str:
    """Escape a Markdown table cell (pipes, newlines)."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def is_mono(value: Any) -> bool:
    """Hashes and run ids (long unbroken hex-like strings) are set in a monospace font that may break anywhere."""
    if not isinstance(value, str) or " " in value or len(value) < 12:
        return False
    core = value.removesuffix(".dir").removesuffix("-dirty")
    return len(value) > 48 or all(c in "0123456789abcdef" for c in core)


def wbr(value: Any) -> Any:
    """HTML cell text with line-break opportunities after dots, underscores and slashes in long unbroken names;
    an ``http(s)://`` URL becomes a link (its text: the last part of the path, e.g. an MLflow run id)."""
    text = fmt(value)
    if isinstance(value, str) and value.startswith(("http://", "https://")) and " " not in value:
        label = value.rstrip("/").rsplit("/", 1)[-1] or value
        return markupsafe.Markup(f'<a href="{markupsafe.escape(value)}">{markupsafe.escape(label)}</a>')
    if not isinstance(value, str) or " " in text or len(text) <= 16:
        return text
    out = str(markupsafe.escape(text))
    for ch in "._/":
        out = out.replace(ch, ch + "<wbr>")
    return markupsafe.Markup(out)


_env_html.filters["wbr"] = wbr
for _env in (_env_html, _env_md):
    _env.tests["mono"] = is_mono
    _env.filters["fmt"] = fmt
    _env.filters["mdcell"] = mdcell


def data_uri(png: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(png).decode("ascii")


def _mime(path: str) -> str:
    p = path.lower()
    return "image/svg+xml" if p.endswith(".svg") else "image/jpeg" if p.endswith((".jpg", ".jpeg")) else "image/png"


def render_html(model: Mapping[str, Any], images: Mapping[str, bytes] | None = None) -> str:
    """The self-contained HTML report; ``images`` maps a plot's evidence path to its bytes."""
    uris = {p: data_uri(b, _mime(p)) for p, b in (images or {}).items()}
    return _env_html.get_template("report.html.j2").render(m=model, images=uris)


def render_markdown(model: Mapping[str, Any], plot_prefix: str = "../") -> str:
    """The Markdown report; plots are linked at ``plot_prefix + path``."""
    text = _env_md.get_template("report.md.j2").render(m=model, plot_prefix=plot_prefix)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"


def render_json(model: Mapping[str, Any]) -> str:
    """The machine-readable report (validated), key-sorted and indented."""
    validate_report(dict(model))
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


__all__ = ["render_html", "render_markdown", "render_json", "fmt", "data_uri", "REPORT_SCHEMA"]
