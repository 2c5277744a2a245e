"""`trust data` commands: list the bundled datasets, describe a table, split it, draft its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from trust.cli._common import check_target, note, warn
from trust.errors import ConfigError, DataError

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
schema_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
app.add_typer(schema_app, name="schema", help="Draft a schema.json for a person to review before a DP fit.")

_SEP_HELP = "CSV delimiter (default: detected; ',' unless the header is split by ';', tab or '|')."


@app.command("list")
def list_() -> None:
    """List the bundled datasets with their rows, target, task, licence and source.

    Plain text, one block per dataset, wrapped at spaces to the terminal's width (a word is never broken;
    a URL longer than the line keeps a line of its own).
    """
    import shutil
    import textwrap

    from trust.data import list_datasets

    width = max(40, min(100, shutil.get_terminal_size((80, 24)).columns))
    blocks = []
    for d in list_datasets():
        head = f"{d.name}: {d.rows:,} rows, target '{d.target}' ({d.problem_type}); licence {d.licence}"
        lines = textwrap.wrap(head, width, break_long_words=False, break_on_hyphens=False,
                              subsequent_indent="    ")
        lines += textwrap.wrap(f"source: {d.source}", width, initial_indent="    ", subsequent_indent="    ",
                               break_long_words=False, break_on_hyphens=False)
        blocks.append("\n".join(lines))
    typer.echo("\n".join(blocks))


def _load(name_or_csv: str, na: list[str], sep: Optional[str]):
    from trust.data import DATASETS, load_dataset, read_table

    if name_or_csv in DATASETS:
        return load_dataset(name_or_csv)
    path = Path(name_or_csv)
    if not path.suffix and not path.exists():
        from trust.data.registry import unknown_dataset

        raise DataError(unknown_dataset(name_or_csv, what="dataset or file") + "; or give a CSV/Parquet path")
    return read_table(path, na_values=na, sep=sep), None


@app.command("describe")
def describe(
    name_or_csv: str = typer.Argument(..., help="A bundled dataset name (see `trust data list`) or a CSV/Parquet path."),
    target: Optional[str] = typer.Option(None, "--target", help="Target column of a CSV (checked to exist)."),
    na: list[str] = typer.Option(["?"], "--na", help="Markers read as missing in a CSV (repeatable)."),
    sep: Optional[str] = typer.Option(None, "--sep", help=_SEP_HELP),
) -> None:
    """Describe a table: each column's inferred kind, missing values and a summary (no rows are printed).

    On a terminal: a table fitted to its width. Piped or redirected: one line per column, tab-separated, never
    wrapped (the title first, then a header line).
    """
    import sys

    from trust.data import infer_schema

    df, schema = _load(name_or_csv, na, sep)
    if schema is not None:
        if target is not None and target != schema.target:
            raise DataError(f"dataset '{name_or_csv}' has target '{schema.target}', not '{target}'; drop --target")
    else:
        schema = infer_schema(df, target=target)
    title = (f"{name_or_csv}: {len(df):,} rows x {len(df.columns)} columns"
             + (f", target '{schema.target}' ({schema.problem_type})" if schema.target else ""))
    header = ("column", "kind", "flags", "missing", "distinct", "summary")
    rows = [_describe_row(df[name], name, spec, schema.target) for name, spec in schema.columns.items()]
    if not sys.stdout.isatty():
        typer.echo("\n".join([title, "\t".join(header), *("\t".join(r) for r in rows)]))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in header:
        table.add_column(col)
    for r in rows:
        table.add_row(*r)
    Console().print(table)


def _describe_row(col, name: str, spec, target: Optional[str]) -> tuple[str, ...]:
    """One described column: name, kind, flags, missing, distinct, summary (aggregates only, never a row)."""
    flags = [f for f, on in (("integer", spec.integer), ("log", spec.log),
                             ("public categories", spec.categories is not None)) if on]
    if spec.point_masses:
        flags.append("masses " + ",".join(f"{m:g}" for m in spec.point_masses))
    if spec.kind == "categorical":
        # Category frequencies are aggregates, not rows: at most the top 3, with counts >= 10.
        top = col.value_counts().head(3)
        summary = ", ".join(f"{k} ({v})" for k, v in top.items() if v >= 10)
    else:
        s = col.astype(float).describe()
        summary = f"mean {s['mean']:.4g}, sd {s['std']:.4g}, median {s['50%']:.4g}"
    return (name + (" (target)" if name == target else ""), spec.kind, " ".join(flags),
            str(int(col.isna().sum())), str(int(col.nunique())), summary)


@app.command("split")
def split(
    data: Path = typer.Argument(..., help="The table to split (CSV or Parquet)."),
    out: Path = typer.Option(..., "--out", help="Directory for train/test/holdout files (created if needed; "
                                                  "other files in it are left alone)."),
    target: Optional[str] = typer.Option(None, "--target", help="Target column: a categorical target is "
                                                                 "stratified on (see --no-stratify)."),
    test: float = typer.Option(0.2, "--test", help="Share of rows in the test part (utility is measured on it)."),
    holdout: float = typer.Option(0.2, "--holdout", help="Share of rows in the holdout part (the privacy "
                                                         "reference, never trained on)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the split (same seed, same rows)."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
    no_stratify: bool = typer.Option(False, "--no-stratify", help="Do not stratify on the target."),
    na: list[str] = typer.Option(["?"], "--na", help="Markers read as missing in a CSV (repeatable)."),
    sep: Optional[str] = typer.Option(None, "--sep", help=_SEP_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace train/test/holdout files already in --out."),
) -> None:
    """Split a table into train, test and holdout parts (seeded; stratified on a categorical target), the three
    real inputs of `trust synth evaluate`."""
    from trust.data.io import check_input_file, check_output_file

    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"--format '{fmt}' is unknown; choose csv or parquet")
    for flag, v in (("--test", test), ("--holdout", holdout)):
        if not 0.0 < v < 1.0:
            raise ConfigError(f"{flag} {v} must lie strictly between 0 and 1")
    if test + holdout >= 1.0:
        raise ConfigError(f"--test + --holdout = {test + holdout:g} leaves no training rows; make them sum below 1")
    check_input_file(data)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out '{out}' is a file; give a directory for the three parts")
    paths = {part: check_output_file(out / f"{part}.{fmt}", overwrite=overwrite, suffixes=(f".{fmt}",))
             for part in ("train", "test", "holdout")}

    from trust.data import infer_schema, read_table, split_table, write_table

    df = read_table(data, na_values=na, sep=sep)
    stratify = None
    if target is not None:
        if target not in df.columns:
            raise DataError(f"target '{target}' is not a column of '{data}'; its columns are: "
                            f"{', '.join(map(str, list(df.columns)[:12]))}")
        check_target(df, None, target, f"'{data}'")
        if not no_stratify and infer_schema(df[[target]]).columns[target].kind == "categorical":
            stratify = target
    parts = split_table(df, test_size=test, holdout_size=holdout, stratify=stratify, seed=seed)
    for part, frame in parts.items():
        write_table(frame, paths[part])
    note(f"wrote {', '.join(f'{p} ({len(f)} rows)' for p, f in parts.items())} to {out}"
         + (f", stratified on '{stratify}'" if stratify else ""))


@schema_app.command("draft")
def schema_draft(
    data: Path = typer.Argument(..., help="The table to draft a schema for (CSV or Parquet)."),
    target: Optional[str] = typer.Option(None, "--target", help="Target column."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write schema.json here (default: standard output)."),
    max_categories: int = typer.Option(20, "--max-categories", min=2,
                                       help="Numeric columns with at most this many values are drafted categorical."),
    na: list[str] = typer.Option(["?"], "--na", help="Markers read as missing in a CSV (repeatable)."),
    sep: Optional[str] = typer.Option(None, "--sep", help=_SEP_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
) -> None:
    """Draft a schema.json from the data, for a person to review before `trust synth fit --schema`.

    The draft is read off the rows (kinds, integer, allow_missing, category lists), so it is not public
    metadata until someone checks each entry against documentation; identifier-like columns get no category
    list. The file says so: "review": {"status": "draft", ...} with the flags to look at (rare categories,
    numeric columns drafted as categorical). A DP fit refuses it until you set "status": "reviewed" in the file.
    The format is described in the README (section "schema.json").
    """
    import json

    from trust.data.io import atomic_write_text, check_input_file, check_output_file

    check_input_file(data)
    if out is not None:
        check_output_file(out, overwrite=overwrite, suffixes=(".json",))

    from trust.data import read_table
    from trust.data.schema import draft_schema

    df = read_table(data, na_values=na, sep=sep)
    if target is not None and target not in df.columns:
        raise DataError(f"target '{target}' is not a column of '{data}'; its columns are: "
                        f"{', '.join(map(str, list(df.columns)[:12]))}")
    schema, warnings = draft_schema(df, target=target, max_categories=max_categories)
    text = json.dumps(schema.to_dict(), indent=2) + "\n"
    for w in warnings:
        warn(w)
    note(f"drafted from the rows of '{data}': review every kind, category list and flag against documentation, then "
         "set \"review\": {\"status\": \"reviewed\"} in the file; a DP fit refuses the draft until then "
         "(categories must be public knowledge, not read off private data)")
    if out is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        note(f"wrote {out}")


__all__ = ["app", "list_", "describe", "split", "schema_draft"]
