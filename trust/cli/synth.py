"""`trust synth` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(no_args_is_help=True)


def _read_schema(path: Path):
    import json

    from trust.data import TableSchema
    from trust.errors import DataError

    try:
        return TableSchema.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"--schema '{path}' is not a readable schema.json ({type(e).__name__}); "
                        "pass a schema.json such as the prepare stage writes") from None


@app.command("fit")
def fit(
    data: Path = typer.Argument(..., help="The real table (CSV or Parquet)."),
    target: Optional[str] = typer.Option(None, "--target", help="Target column (enables the downstream loss)."),
    out: Path = typer.Option(..., "--out", help="Directory to write the fitted model to (replaced atomically)."),
    epsilon: Optional[float] = typer.Option(None, "--epsilon", help="Total privacy budget (DP-SGD + DP metadata)."),
    delta: float = typer.Option(1e-5, "--delta", help="Total delta; must be below 1/rows."),
    no_dp: bool = typer.Option(False, "--no-dp", help="Train without differential privacy (say so explicitly)."),
    epochs: int = typer.Option(150, "--epochs", help="Training epochs (paper: 150)."),
    batch_size: int = typer.Option(500, "--batch-size", help="Rows per step (paper: 500)."),
    architecture: str = typer.Option("mlp", "--architecture", help="mlp (CPU default) or conv (the paper's)."),
    accountant: str = typer.Option("rdp", "--accountant", help="rdp or prv (Opacus)."),
    max_grad_norm: float = typer.Option(1.0, "--max-grad-norm", help="DP-SGD per-sample clipping bound."),
    schema_file: Optional[Path] = typer.Option(None, "--schema", help="A schema.json (else inferred from the data)."),
    declare_categories: bool = typer.Option(
        False, "--declare-categories",
        help="Treat the category lists seen in the data as public metadata (needed under DP without --schema; "
             "only if the lists are public)."),
    seed: int = typer.Option(0, "--seed", help="Seed of everything random."),
    na: list[str] = typer.Option(["?"], "--na", help="Markers read as missing in a CSV (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Fit CTAB-GAN+ on a table, with DP-SGD (--epsilon) or without (--no-dp), and save it to --out."""
    from rich.console import Console

    from trust.data import infer_schema, read_table
    from trust.errors import ConfigError
    from trust.synth.model import CTABGANPlus

    if (epsilon is None) == (not no_dp):
        raise ConfigError("choose --epsilon E (differentially private) or --no-dp (no privacy guarantee), "
                          "exactly one of them")
    df = read_table(data, na_values=na)
    if schema_file is not None:
        schema = _read_schema(schema_file)
    else:
        from trust.errors import DataError

        if target is not None and target not in df.columns:
            raise DataError(f"target '{target}' is not a column of '{data}'; its columns are: "
                            f"{', '.join(map(str, list(df.columns)[:12]))}")
        schema = infer_schema(df, target=target)
        if declare_categories:
            for name, spec in list(schema.columns.items()):
                if spec.kind == "categorical" and spec.categories is None:
                    schema = schema.replace_column(name, categories=tuple(sorted(df[name].dropna().unique(), key=str)))
    model = CTABGANPlus(epochs=epochs, batch_size=batch_size, epsilon=epsilon, delta=delta, accountant=accountant,
                        max_grad_norm=max_grad_norm, architecture=architecture, random_state=seed,
                        dataset_name=Path(data).stem, verbose=not quiet)
    model.fit(df, schema, target=target)
    model.save(out)
    console = Console(stderr=True)
    for line in model.privacy_report()["sentences"]:
        console.print(line)
    console.print(f"saved the model to {out}")


@app.command("sample")
def sample(
    model_dir: Path = typer.Argument(..., help="A model directory written by `trust synth fit`."),
    n: int = typer.Option(..., "-n", "--rows", help="Number of rows to generate."),
    out: Path = typer.Option(..., "--out", help="Output table (.csv or .parquet), written atomically."),
    condition: list[str] = typer.Option([], "--condition", help="col=value on a categorical column (repeatable)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed (default: the model's)."),
) -> None:
    """Generate synthetic rows from a fitted model; every row meets the --condition values."""
    from trust.data import write_table
    from trust.errors import ConfigError
    from trust.synth.model import CTABGANPlus

    conditions = {}
    for c in condition:
        col, sep, value = c.partition("=")
        if not sep or not col:
            raise ConfigError(f"--condition '{c}' must look like column=value")
        conditions[col] = value
    if n < 1:
        raise ConfigError(f"-n {n} must be at least 1")
    model = CTABGANPlus.load(model_dir)
    rows = model.sample(n, conditions=conditions or None, random_state=seed)
    write_table(rows, out)
    typer.echo(f"wrote {len(rows)} synthetic rows to {out}", err=True)


@app.command("evaluate")
def evaluate(
    real_train: Path = typer.Option(..., "--real-train", help="Real rows the generator was trained on (CSV/Parquet)."),
    real_test: Path = typer.Option(..., "--real-test", help="Real rows for measuring utility (never trained on)."),
    real_holdout: Path = typer.Option(..., "--real-holdout", help="Real rows never trained on: the privacy reference."),
    synthetic: Path = typer.Option(..., "--synthetic", help="The synthetic table to evaluate."),
    target: str = typer.Option(..., "--target", help="Target column for train-on-synthetic-test-on-real."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the figures as JSON here."),
    schema_file: Optional[Path] = typer.Option(None, "--schema", help="A schema.json (else inferred from --real-train)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every subsample and model."),
    na: list[str] = typer.Option(["?"], "--na", help="Markers read as missing in CSVs (repeatable)."),
) -> None:
    """Evaluate a synthetic table: utility (TSTR vs TRTR), fidelity (sdmetrics), privacy (DCR, NNDR, MIA).

    Prints aggregates only, never rows.
    """
    import json

    from rich.console import Console
    from rich.table import Table

    from trust.data import TableSchema, atomic_write_json, infer_schema, read_table
    from trust.errors import DataError
    from trust.synth.evaluate import evaluate_synthetic

    tables = {name: read_table(path, na_values=na) for name, path in
              (("real-train", real_train), ("real-test", real_test), ("real-holdout", real_holdout),
               ("synthetic", synthetic))}
    for name, df in tables.items():
        if target not in df.columns:
            raise DataError(f"target column '{target}' is missing from --{name}; its columns are: "
                            f"{', '.join(map(str, list(df.columns)[:12]))}")
    if schema_file is not None:
        try:
            schema = TableSchema.from_dict(json.loads(Path(schema_file).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DataError(f"--schema '{schema_file}' is not a readable schema.json ({type(e).__name__}); "
                            "pass the schema.json a prepare stage wrote") from None
        if schema.target != target:
            raise DataError(f"--schema has target '{schema.target}', not '{target}'; make them agree")
    else:
        schema = infer_schema(tables["real-train"], target=target)
    res = evaluate_synthetic(tables["real-train"], tables["real-test"], tables["real-holdout"],
                             tables["synthetic"], schema, random_state=seed)
    table = Table(title=f"synthetic '{synthetic.name}' vs real (target '{target}', {schema.problem_type})")
    for col in ("group", "measure", "value"):
        table.add_column(col)
    for k, v in res.items():
        group, _, name = k.partition(".")
        table.add_row(group, name or group, f"{int(v):,}" if float(v).is_integer() else f"{v:.4g}")
    Console().print(table)
    if out is not None:
        atomic_write_json(out, {"target": target, "synthetic": str(synthetic), "results": res})
