"""`trust data` commands: list the bundled datasets, describe a dataset or your own CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from trust.data import DATASETS, infer_schema, list_datasets, load_dataset, read_table
from trust.errors import DataError

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("list")
def list_() -> None:
    """List the bundled datasets with their rows, task, licence and source."""
    table = Table(title="Bundled datasets")
    for col in ("name", "rows", "target", "task", "licence", "source"):
        table.add_column(col, overflow="fold")
    for d in list_datasets():
        table.add_row(d.name, f"{d.rows:,}", d.target, d.problem_type, d.licence, d.source)
    console.print(table)


@app.command("describe")
def describe(
    name_or_csv: str = typer.Argument(..., help="A bundled dataset name (see `trust data list`) or a CSV/Parquet path."),
    target: Optional[str] = typer.Option(None, "--target", help="Target column of a CSV (checked to exist)."),
    na: list[str] = typer.Option(["?"], "--na", help="Markers read as missing in a CSV (repeatable)."),
) -> None:
    """Describe a table: each column's inferred kind, missing values and a summary (no rows are printed)."""
    if name_or_csv in DATASETS:
        df, schema = load_dataset(name_or_csv)
        if target is not None and target != schema.target:
            raise DataError(f"dataset '{name_or_csv}' has target '{schema.target}', not '{target}'; drop --target")
    else:
        path = Path(name_or_csv)
        if not path.suffix and not path.exists():
            raise DataError(
                f"'{name_or_csv}' is neither a bundled dataset ({', '.join(sorted(DATASETS))}) nor a file; "
                "check the name or path"
            )
        df = read_table(path, na_values=na)
        schema = infer_schema(df, target=target)
    table = Table(title=f"{name_or_csv}: {len(df):,} rows x {len(df.columns)} columns"
                        + (f", target '{schema.target}' ({schema.problem_type})" if schema.target else ""))
    for col in ("column", "kind", "flags", "missing", "distinct", "summary"):
        table.add_column(col, overflow="fold")
    for name, spec in schema.columns.items():
        col = df[name]
        flags = [f for f, on in (("integer", spec.integer), ("log", spec.log), ("public categories", spec.categories is not None)) if on]
        if spec.point_masses:
            flags.append("masses " + ",".join(f"{m:g}" for m in spec.point_masses))
        if spec.kind == "categorical":
            # Category frequencies are aggregates, not rows: at most the top 3, with counts >= 10.
            top = col.value_counts().head(3)
            summary = ", ".join(f"{k} ({v})" for k, v in top.items() if v >= 10)
        else:
            s = col.astype(float).describe()
            summary = f"mean {s['mean']:.4g}, sd {s['std']:.4g}, median {s['50%']:.4g}"
        table.add_row(name + (" (target)" if name == schema.target else ""), spec.kind, " ".join(flags),
                      str(int(col.isna().sum())), str(int(col.nunique())), summary)
    console.print(table)
