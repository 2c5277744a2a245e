"""The data capability's protocol: load, validate and split bundled datasets (what the ``prepare`` stage runs).

:func:`run_prepare` loads each dataset from the registry with its declared schema (validated on load),
optionally subsamples it (seeded), and splits it into train / test / holdout (stratified on a
categorical target). The :class:`PrepareResult` it returns holds the tables; its evidence
(:meth:`PrepareResult.to_evidence`) has two stage checks per dataset (every row lands in one split; the
class balance is kept), flat counts as metrics and per-dataset details valid against
:data:`DATA_DETAILS_SCHEMA` (the report section, :mod:`trust.data.report_section`, reads them); :meth:`PrepareResult.lineage` gives the keyed
fingerprints of every table for the evidence's ``data``.

Everything here is audit trail: the splits are the private data itself, and the exact counts and missing
cells are non-DP statistics of it (listed under the evidence's ``non_dp``).

>>> result = run_prepare(["king"], max_rows=200, random_state=0)
>>> sorted(result.datasets[0].splits), result.to_evidence().kind
(['holdout', 'test', 'train'], 'data')
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

from trust.evidence import Check, Evidence, Result

#: ``details`` of a ``data`` evidence document: dataset name -> what was prepared
DATA_DETAILS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "required": ["columns", "target", "problem_type", "kinds", "missing_by_column", "rows", "schema"],
        "properties": {
            "columns": {"type": "integer", "minimum": 1},
            "target": {"type": ["string", "null"]},
            "problem_type": {"enum": ["classification", "regression", None]},
            "kinds": {"type": "object", "additionalProperties": {"type": "string"}},
            "missing_by_column": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
            "rows": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
            "description": {"type": "string"},
            "source": {"type": "string"},
            "licence": {"type": "string"},
            "schema": {"type": "string"},
        },
    },
}


@dataclasses.dataclass(frozen=True)
class PreparedDataset:
    """One dataset as prepared: its registry entry, declared schema, the (subsampled) table and its splits."""

    name: str
    info: Any
    schema: Any
    full: Any
    splits: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class PrepareResult(Result):
    """What :func:`run_prepare` returns: the prepared datasets (see the module docstring)."""

    kind: ClassVar[str] = "data"
    datasets: tuple[PreparedDataset, ...]

    def _checks(self, d: PreparedDataset) -> list[Check]:
        total = sum(len(f) for f in d.splits.values())
        checks = [Check(f"{d.name}: every row lands in exactly one split", float(total - len(d.full)), 0.0, "==",
                        description="rows(train) + rows(test) + rows(holdout) - rows(full)")]
        target = d.schema.target if d.schema.problem_type == "classification" else None
        if target:
            top = sorted(d.full[target].dropna().unique())[-1]
            rates = [float((f[target] == top).mean()) for f in d.splits.values()]
            checks.append(Check(f"{d.name}: class balance kept across splits (max gap)", max(rates) - min(rates),
                                0.01, "<=", description="largest difference in the positive-class share between splits"))
        return checks

    def _details(self, d: PreparedDataset) -> dict[str, Any]:
        missing = d.full.isna().sum()
        return {"columns": len(d.schema.columns), "target": d.schema.target, "problem_type": d.schema.problem_type,
                "kinds": {k: v.kind for k, v in d.schema.columns.items()},
                "missing_by_column": {str(k): int(v) for k, v in missing.items() if v},
                "rows": {part: len(f) for part, f in d.splits.items()}, "description": d.info.description,
                "source": d.info.source, "licence": d.info.licence,
                "schema": "declared (from the dataset's documentation)" if d.schema.declared else "inferred from the rows"}

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """Stage checks (no policy key), counts as metrics, per-dataset details, one non-DP use per dataset."""
        checks, metrics, details, non_dp = [], {}, {}, []
        for d in self.datasets:
            checks += self._checks(d)
            metrics.update({f"{d.name}.{part}_rows": len(f) for part, f in d.splits.items()})
            metrics[f"{d.name}.missing_cells"] = int(d.full.isna().sum().sum())
            details[d.name] = self._details(d)
            non_dp.append({"dataset": d.name, "artifact": "evidence/prepare.json, metrics/prepare.json",
                           "what": "exact row counts of every split, missing cells by column, class-balance gap"})
        return Evidence(kind=self.kind, title="Data preparation", checks=tuple(checks), metrics=metrics,
                        details=details, non_dp=tuple(non_dp), details_schema=DATA_DETAILS_SCHEMA)

    def save(self, out_dir: str | os.PathLike[str]) -> None:
        """``<out_dir>/<dataset>/{train,test,holdout}.parquet`` and ``schema.json``, each written atomically."""
        from trust.data.io import atomic_write_json, write_table

        for d in self.datasets:
            folder = Path(out_dir) / d.name
            for part, frame in d.splits.items():
                write_table(frame, folder / f"{part}.parquet")
            atomic_write_json(folder / "schema.json", d.schema.to_dict())

    def lineage(self, fingerprint: Callable[[Any], str]) -> list[dict[str, Any]]:
        """The evidence ``data`` entries: every split and full table by its keyed ``fingerprint(frame)``."""
        out = []
        for d in self.datasets:
            src = {"source": d.info.source, "licence": d.info.licence}
            out += [{"name": f"{d.name}/{part}", "fingerprint": fingerprint(f), "rows": len(f), "role": part, **src}
                    for part, f in d.splits.items()]
            out.append({"name": d.name, "fingerprint": fingerprint(d.full), "rows": len(d.full), "role": "full", **src})
        return out


def run_prepare(names: Sequence[str], *, test_size: float = 0.2, holdout_size: float = 0.2,
                max_rows: int | None = None, random_state: int = 0) -> PrepareResult:
    """Load, validate and split each named bundled table dataset (see the module docstring).

    ``max_rows`` subsamples a larger table to that many rows first (seeded by ``random_state``, as the split).
    Raises :class:`~trust.errors.DataError` / :class:`~trust.errors.ConfigError` for an unknown dataset, an
    array dataset, or bad sizes (from the registry and :func:`~trust.data.split_table`).
    """
    from trust._validation import check_scalar
    from trust.data.registry import dataset_info, load_dataset
    from trust.data.splits import split_table

    if max_rows is not None:
        check_scalar(max_rows, "max_rows", int, min_val=10)
    out = []
    for name in names:
        df, schema = load_dataset(name)
        if max_rows is not None and len(df) > max_rows:
            df = df.sample(n=max_rows, random_state=random_state).reset_index(drop=True)
        stratify = schema.target if schema.problem_type == "classification" else None
        splits = split_table(df, test_size=test_size, holdout_size=holdout_size, stratify=stratify, seed=random_state)
        out.append(PreparedDataset(name, dataset_info(name), schema, df, dict(splits.items())))
    return PrepareResult(tuple(out))


__all__ = ["DATA_DETAILS_SCHEMA", "PreparedDataset", "PrepareResult", "run_prepare"]
