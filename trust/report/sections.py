"""Report sections: one small renderer per evidence kind, registered with :func:`section`.

A renderer turns the evidence documents of its kind(s) into format-neutral *blocks*; the HTML,
Markdown and JSON renderers draw every block type the same way, so a new stage adds its section
without touching the others or the templates::

    from trust.report.sections import section, checks_block, metrics_blocks, plots_block

    @section("fairness", id="fairness", title="Fairness", order=80)
    def _fairness(docs, ctx):
        blocks = []
        for doc in docs:
            blocks += [checks_block(ctx.gates_of(doc["stage"])), *metrics_blocks(doc["metrics"]), plots_block(doc)]
        return {"blocks": blocks, "limitations": ["Parity is measured on the test split only."]}

Put a capability's renderer in ``trust/<capability>/report_section.py``: :func:`discover_sections`
imports every such module before the report is built, so ``trust/report`` need not change.
A renderer returns a list of blocks, or a dict with ``blocks``, ``claims`` (keys of
:data:`trust.report.compliance.CLAIMS`, for the regulatory mapping), ``limitations`` (plain
sentences) and ``card`` (one line: the capability's guarantee or key figure, shown on its summary
card at the top of the report). Evidence of a kind nobody registered gets the generic section of
:func:`generic_blocks` (checks, metrics, plots, ledger, details).

Block types (dicts with ``type``): ``paragraph`` (text), ``callout`` (level: note|warning|fail|pass,
text), ``heading`` (text), ``table`` (columns, rows, optional caption, id, status_column),
``list`` (items), ``plots`` (items of title/path/stage), ``code`` (text), ``cards`` (items of
title/section/status/figure/gates: the summary cards).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Callable, Iterable, Mapping

Block = dict[str, Any]
Renderer = Callable[[list[dict[str, Any]], "ReportContext"], "list[Block] | dict[str, Any]"]


@dataclasses.dataclass(frozen=True)
class SectionSpec:
    """A registered section: which evidence kinds it renders, its anchor id, title and position."""

    kinds: tuple[str, ...]
    id: str
    title: str
    order: int
    render: Renderer


#: evidence kind -> the section that renders it
SECTION_REGISTRY: dict[str, SectionSpec] = {}

#: the orders of the report's fixed sections (summary, lineage, privacy ledger; mapping, verification,
#: limitations) and of the generic section of a kind nobody registered: no registered section may take them
FIXED_ORDERS = {0: "summary", 10: "lineage", 20: "privacy-ledger", 90: "compliance-mapping", 100: "limitations"}
GENERIC_ORDER = 85


def section(*kinds: str, id: str, title: str, order: int = 50, replace: bool = False) -> Callable[[Renderer], Renderer]:
    """Register ``fn(docs, ctx)`` as the section for evidence of ``kinds``.

    ``id`` is the section's HTML anchor (also its key in the JSON report); ``order`` places it between the
    fixed sections (summary 0, lineage 10, privacy ledger 20; generic sections 85, mapping 90, limitations
    100). Every section has an order of its own: an order another section holds (or a fixed one) is a
    ValueError, so two sections never tie and the report's order never depends on import order. Taken today:
    data 30, models 35, synthetic data 40, aggregate 50, calibration 60, model updates 65, unlearning 70, noisy
    labels 75; free: 95 (after the mapping: a verification summary) and the rest.
    """
    if not kinds:
        raise ValueError("section() needs at least one evidence kind")
    if order in FIXED_ORDERS or order == GENERIC_ORDER:
        raise ValueError(f"section '{id}': order {order} is the fixed section "
                         f"'{FIXED_ORDERS.get(order, 'generic')}'s; pick a free order")

    def deco(fn: Renderer) -> Renderer:
        spec = SectionSpec(tuple(kinds), id, title, order, fn)
        for k in kinds:
            if k in SECTION_REGISTRY and not replace and SECTION_REGISTRY[k].render is not fn:
                raise ValueError(f"evidence kind '{k}' already has section '{SECTION_REGISTRY[k].id}'")
        clash = {s.id for s in SECTION_REGISTRY.values() if s.order == order and s.id != id and s.kinds != spec.kinds
                 and not (replace and set(s.kinds) & set(kinds))}
        if clash:
            raise ValueError(f"section '{id}': order {order} is taken by section {sorted(clash)[0]!r}; pick a free "
                             f"order (taken: {sorted({s.order for s in SECTION_REGISTRY.values()})})")
        for k in kinds:
            SECTION_REGISTRY[k] = spec
        return fn

    return deco


@dataclasses.dataclass
class ReportContext:
    """What a renderer may read besides its own documents: every gate, the ledger, the policy."""

    docs: dict[str, dict[str, Any]]
    gates: list[dict[str, Any]]
    ledger: list[dict[str, Any]]
    policy: dict[str, float]
    stage_checks: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    non_dp: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """every non-DP use the evidence records, each with ``stage`` and ``declared`` (its policy declaration or None)"""

    def gates_of(self, stage: str) -> list[dict[str, Any]]:
        """Every check ``stage`` recorded: its policy gates (re-gated) and its stage checks (ledger gates excluded)."""
        return [g for g in self.gates + self.stage_checks if g["stage"] == stage and g["gate"] != "ledger"]

    def ledger_of(self, stage: str) -> list[dict[str, Any]]:
        return [e for e in self.ledger if e["stage"] == stage]


def discover_sections() -> list[str]:
    """Import every ``trust/<capability>/report_section.py``, so a capability registers its own section.

    Called by :func:`trust.report.build_report`; a module is imported once (Python caches it).
    """
    import importlib
    from pathlib import Path

    import trust

    names = [f"trust.{f.parent.name}.report_section"
             for f in sorted(Path(trust.__file__).parent.glob("*/report_section.py"))]
    for name in names:
        importlib.import_module(name)
    return names


# ----------------------------------------------------------------------------- block helpers

def cell(x: Any) -> Any:
    """A table cell: floats rounded to 4 places, ``None`` left empty, anything else as is."""
    return round(x, 4) if isinstance(x, float) else ("" if x is None else x)


def paragraph(text: str) -> Block:
    return {"type": "paragraph", "text": text}


def heading(text: str) -> Block:
    return {"type": "heading", "text": text}


def callout(text: str, level: str = "note") -> Block:
    return {"type": "callout", "level": level, "text": text}


def table(columns: list[str], rows: list[list[Any]], *, caption: str = "", id: str | None = None,
          status_column: int | None = None) -> Block:
    return {"type": "table", "caption": caption, "columns": list(columns), "rows": [list(r) for r in rows],
            "id": id, "status_column": status_column}


def bullet_list(items: Iterable[str]) -> Block:
    return {"type": "list", "items": list(items)}


def code(text: str) -> Block:
    return {"type": "code", "text": text}


def threshold_text(g: Mapping[str, Any]) -> str:
    if g.get("threshold") is None:
        return ""
    return f"{g.get('comparator') or ''}\u00a0{g['threshold']:.6g}".strip()


def gates_table(gates: list[dict[str, Any]], *, id: str | None = None, caption: str = "") -> Block:
    """Status | claim (one sentence: figure, reference, threshold) | figure | threshold | source | stage | gate | note."""
    rows = [[g["status"].upper(), (g.get("sentence") or g["name"]) + (f" ({g['description']})"
                                                                     if g.get("description") else ""),
             g.get("value"), threshold_text(g), g.get("threshold_source") or "", g.get("stage") or "",
             g["gate"], g.get("note") or ""] for g in gates]
    return table(["Status", "Claim", "Figure", "Threshold", "Threshold from", "Stage", "Gate", "Note"], rows,
                 caption=caption, id=id, status_column=0)


def checks_block(gates: list[dict[str, Any]], caption: str = "Checks") -> Block:
    if not gates:
        return paragraph("This stage recorded no checks.")
    return gates_table(gates, caption=caption)


PRIVACY_WORDS = ("dcr", "nndr", "mia", "membership", "exact", "copies", "copy", "attack", "leak", "risk_priv")
UTILITY_WORDS = ("tstr", "trtr", "utility", "auc", "f1", "accuracy", "acc", "r2", "mse", "mae", "rmse", "loss")
FIDELITY_WORDS = ("fidelity", "sdmetrics", "quality", "shape", "trend", "pair", "column", "ks", "tv", "corr",
                  "jsd", "wasserstein", "similarity", "coverage", "boundary")


def classify_metric(key: str) -> str:
    """``privacy``, ``utility``, ``fidelity`` or ``other``, from words in a metric's name."""
    k = key.lower().replace("-", "_")
    parts = set(k.replace(".", "_").split("_"))
    if any(w in k for w in PRIVACY_WORDS):
        return "privacy"
    if any(w in k for w in FIDELITY_WORDS if len(w) > 3) or parts & {"ks", "tv", "jsd", "pair", "shape"}:
        return "fidelity"
    if any(w in k for w in UTILITY_WORDS if len(w) > 3) or parts & {"auc", "f1", "acc", "r2", "mse", "mae"}:
        return "utility"
    return "other"


def _segments(key: str) -> list[str]:
    """Split a dotted figure name, keeping decimals whole: ``dp.eps0.5.k8`` -> ``[dp, eps0.5, k8]``."""
    return re.split(r"(?<!\d)\.|\.(?!\d)", key)


def pivot_metrics(metrics: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]] | None:
    """``{"eps_1.tstr_auc": .8, "eps_3.tstr_auc": .85}`` -> a table with one row per prefix, or None."""
    cells: dict[tuple[str, str], Any] = {}
    for k, v in metrics.items():
        seg = _segments(k)
        cells[(".".join(seg[:-1]), seg[-1]) if len(seg) > 1 else (k, "")] = v
    if not cells or any(not c for _, c in cells):
        return None
    rows_keys = list(dict.fromkeys(r for r, _ in cells))
    cols = list(dict.fromkeys(c for _, c in cells))
    if len(rows_keys) < 2 or len(cols) * len(rows_keys) > 4 * len(metrics):
        return None
    rows = [[r] + [cells.get((r, c)) for c in cols] for r in rows_keys]
    return ["", *cols], rows


def metrics_table(metrics: Mapping[str, Any], caption: str = "Figures") -> Block:
    piv = pivot_metrics(metrics)
    if piv is not None:
        return table(piv[0], piv[1], caption=caption)
    return table(["Figure", "Value"], [[k, v] for k, v in metrics.items()], caption=caption)


def metrics_tables(metrics: Mapping[str, Any], caption: str = "Figures") -> list[Block]:
    """Figures as readable tables: one pivot if the names allow it (``variant.figure``), else one table per
    first name segment (``dp.eps1.k8.mse`` -> table ``dp`` with row ``eps1.k8``, column ``mse``)."""
    if not metrics:
        return []
    if pivot_metrics(metrics) is not None or len(metrics) <= 12:
        return [metrics_table(metrics, caption)]
    groups: dict[str, dict[str, Any]] = {}
    for k, v in metrics.items():
        seg = _segments(k)
        head, rest = (seg[0], ".".join(seg[1:])) if len(seg) > 1 else ("", k)
        if rest:
            groups.setdefault(head, {})[rest] = v
        else:
            groups.setdefault("", {})[k] = v
    blocks = []
    for head, sub in groups.items():
        cap = f"{caption}: {head}" if head else f"{caption}: other"
        blocks.append(metrics_table(sub, cap) if head else table(["Figure", "Value"], [[k, v] for k, v in sub.items()],
                                                                 caption=cap))
    return blocks


def metrics_blocks(metrics: Mapping[str, Any], *, by_kind: bool = False) -> list[Block]:
    """The metrics as tables (one per class utility/fidelity/privacy/other when ``by_kind``)."""
    if not metrics:
        return []
    if not by_kind:
        return metrics_tables(metrics)
    groups: dict[str, dict[str, Any]] = {}
    for k, v in metrics.items():
        groups.setdefault(classify_metric(k), {})[k] = v
    names = {"utility": "Utility", "fidelity": "Fidelity", "privacy": "Privacy risk (empirical audits)",
             "other": "Other figures"}
    return [b for g in ("utility", "fidelity", "privacy", "other") if g in groups
            for b in metrics_tables(groups[g], names[g])]


def plots_block(*docs: Mapping[str, Any]) -> Block | None:
    items = [{"title": p["title"], "path": p["path"], "stage": d["stage"]} for d in docs for p in d.get("plots", [])]
    return {"type": "plots", "items": items} if items else None


def ledger_block(entries: list[dict[str, Any]]) -> Block | None:
    if not entries:
        return None
    return bullet_list(_sentence(e) for e in entries)


def _sentence(e: Mapping[str, Any]) -> str:
    from trust.privacy.ledger import LedgerEntry

    text = LedgerEntry.from_dict({k: v for k, v in e.items() if k != "stage"}).sentence()
    return text + (f" Note: {e['notes']}" if e.get("notes") else "")


def _scalar_leaves(d: Mapping[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping) and depth < 3:
            out += _scalar_leaves(v, key, depth + 1)
        elif isinstance(v, (int, float, bool)) or v is None:
            out.append((key, v))
        elif isinstance(v, str):
            out.append((key, v if len(v) <= 200 else v[:197] + "..."))
        elif isinstance(v, list) and len(v) <= 10 and all(isinstance(x, (int, float, str)) for x in v):
            out.append((key, json.dumps(v)[:200]))
    return out


def details_block(details: Mapping[str, Any], limit: int = 40, caption: str = "Details") -> Block | None:
    """Scalar leaves of a stage's ``details`` (nested keys dotted; long lists and tables left out)."""
    leaves = _scalar_leaves(details)
    if not leaves:
        return None
    rows = [[k, v] for k, v in leaves[:limit]]
    more = f" (first {limit} of {len(leaves)})" if len(leaves) > limit else ""
    return table(["Detail", "Value"], rows, caption=caption + more)


def run_line(doc: Mapping[str, Any]) -> str:
    run = doc.get("mlflow_run_id") or "none recorded"
    return f"Stage '{doc['stage']}' (evidence kind '{doc['kind']}'), MLflow run {run}, evidence written {doc['created_at']}."


def generic_blocks(doc: Mapping[str, Any], ctx: ReportContext) -> list[Block]:
    """The fallback for a kind with no registered section: checks, figures, plots, ledger, details."""
    blocks: list[Block | None] = [paragraph(run_line(doc)), checks_block(ctx.gates_of(doc["stage"]))]
    blocks += metrics_blocks(doc.get("metrics", {}))
    blocks.append(plots_block(doc))
    entries = ctx.ledger_of(doc["stage"])
    if entries:
        blocks += [heading("Differential-privacy releases"), ledger_block(entries)]
    blocks.append(details_block(doc.get("details", {})))
    return [b for b in blocks if b is not None]


# ----------------------------------------------------------------------------- built-in sections

__all__ = ["SECTION_REGISTRY", "FIXED_ORDERS", "GENERIC_ORDER", "SectionSpec", "ReportContext", "section",
           "discover_sections", "paragraph", "heading", "callout",
           "table", "bullet_list", "code", "gates_table", "checks_block", "metrics_table", "metrics_blocks",
           "metrics_tables", "plots_block", "ledger_block", "details_block", "generic_blocks", "classify_metric", "pivot_metrics",
           "run_line", "threshold_text"]
