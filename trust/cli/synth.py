"""`trust synth` commands: fit a synthesizer (CTAB-GAN+ with DP-SGD or explicitly without; ``--engine mst|aim|auto``:
the marginal engine or the ``auto`` rule, :mod:`trust.synth.engines`), sample from it, evaluate a table.

``fit`` and ``evaluate`` call the synthesis protocols (:func:`trust.synth.protocol.run_synth`,
:func:`trust.synth.protocol.run_synth_evaluate`) and write their results' evidence (``--evidence``), gated
against ``--policy``, ``./params.yaml`` or the synthesis defaults. Every path and option is checked before the
data is read or a network is built; the numerical stack is imported only then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from trust.cli._common import (SYNTH_KIND, check_finite, check_magnitudes, check_schema_for_dp, check_target,
                               evidence_path, note, read_schema_file, show_progress, warn_if_vacuous)
from trust.errors import ConfigError, DataError

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

_SEP_HELP = "CSV delimiter (default: detected; ',' unless the header is split by ';', tab or '|')."
_POLICY_HELP = ("YAML file whose 'policy:' block gates the evidence (default: ./params.yaml if present, else the "
                "synthesis defaults of trust.synth.protocol.DEFAULT_POLICY).")
#: Above this many rows, `synth sample` draws in chunks (one seed each, derived from --seed) with a progress bar.
SAMPLE_CHUNK = 50_000


@app.command("fit")
def fit(
    data: Path = typer.Argument(..., help="The real table (CSV or Parquet)."),
    out: Path = typer.Option(..., "--out", help="Model directory to create (new or empty; an existing model "
                                                  "directory only with --overwrite; nothing else is ever replaced)."),
    target: Optional[str] = typer.Option(None, "--target", help="Target column (enables the downstream loss; "
                                                                 "default: the schema's)."),
    epsilon: Optional[float] = typer.Option(None, "--epsilon", help="Total privacy budget (DP-SGD + DP metadata); "
                                                                     "needs --schema."),
    delta: float = typer.Option(1e-5, "--delta", help="Total delta; must be below 1/rows."),
    no_dp: bool = typer.Option(False, "--no-dp", help="Train without differential privacy (say so explicitly)."),
    schema_file: Optional[Path] = typer.Option(None, "--schema", help="A reviewed schema.json (required under DP; "
                                                                       "draft one with `trust data schema draft`)."),
    epochs: str = typer.Option("auto", "--epochs", metavar="INT|auto",
                               help="Training epochs (paper: 150), or auto: 150, more only on tiny tables."),
    batch_size: str = typer.Option("auto", "--batch-size", metavar="INT|auto",
                                   help="Rows per step (paper: 500), or auto: adapts to the table and the DP budget "
                                        "(500 from 15,000 rows; trust.synth.plan.auto_schedule)."),
    architecture: str = typer.Option("mlp", "--architecture", help="mlp (CPU default) or conv (the paper's)."),
    accountant: str = typer.Option("rdp", "--accountant", help="rdp or prv (Opacus)."),
    max_grad_norm: float = typer.Option(1.0, "--max-grad-norm", help="DP-SGD per-sample clipping bound."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset name in the privacy ledger (releases of "
                                                                   "one dataset compose; default: the file name)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of initialisation and sampling (never of DP noise, nor of "
                                                      "any draw touching a row under DP)."),
    na: list[str] = typer.Option(["?"], "--na", help="Markers read as missing in a CSV (repeatable)."),
    sep: Optional[str] = typer.Option(None, "--sep", help=_SEP_HELP),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Also write evidence DIR/synth-fit-<out>.json "
                                                                      "for `trust report` (its ledger, or the non-DP "
                                                                      "use of a --no-dp fit)."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help=_POLICY_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing model directory at --out (and "
                                                              "evidence of the same name)."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda: where the networks, "
                                                         "the DP-SGD noise and sampling run."),
    matmul_dtype: str = typer.Option("float32", "--matmul-dtype", help="float32 or bfloat16 (faster on CPUs with "
                                                                      "native bf16 and on GPUs; results then depend "
                                                                      "on the hardware; the DP critic step stays "
                                                                      "float32)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    engine: str = typer.Option("ctabgan", "--engine", help="ctabgan (default), mst or aim (the marginal engine: "
                                                           "needs declared bounds and categories under DP), or auto "
                                                           "(picks by a documented rule on public inputs: "
                                                           "trust.synth.engines)."),
) -> None:
    """Fit a synthesizer (CTAB-GAN+ by default; --engine) on a table, with DP (--epsilon, --schema) or without
    (--no-dp), and save it to --out."""
    model = ({"epochs": _int_or_auto(epochs, "--epochs"), "batch_size": _int_or_auto(batch_size, "--batch-size"),
              "delta": delta, "accountant": accountant, "max_grad_norm": max_grad_norm, "architecture": architecture,
              "matmul_dtype": matmul_dtype} if engine == "ctabgan" else {"delta": delta})
    _check_fit(data, out, epsilon, no_dp, delta, max_grad_norm, schema_file, matmul_dtype, device, overwrite, engine)
    ev_path = evidence_path(evidence, f"synth-fit-{out.name}", overwrite, ledger=epsilon is not None)
    policy = _policy(policy_file) if ev_path is not None else {}
    df, schema, target = _fit_inputs(data, schema_file, target, epsilon, na, sep)
    from trust.synth.protocol import run_synth

    result = run_synth(df, schema, epsilon=epsilon, model=model, dataset=dataset or Path(data).stem, target=target,
                       artifact=str(out), random_state=seed, device=device, verbose=show_progress(quiet),
                       engine=engine)
    result.model.save(out)
    if result.dp:   # the model directory itself is the release the evidence lists (and signs)
        import dataclasses

        result = dataclasses.replace(result, release_paths=(str(out),))
    details = result.to_evidence(policy).details
    note(f"engine: {details['engine']}" + (f" ({details['engine_reason']})" if details.get("engine_reason") else ""))
    note(f"trained with {details['schedule']}")
    for line in result.model.privacy_report()["sentences"] + result.warnings():
        note(line)
    note(f"saved the model to {out}")
    params = ({"epsilon": epsilon, **model, "epochs": result.model.epochs_, "batch_size": result.model.batch_size_,
               "schedule": result.model.schedule_.reason} if details["engine"] == "ctabgan" else
              {"epsilon": epsilon, "delta": delta, "engine": engine})
    _write_result_evidence(ev_path, result, policy, f"synth-fit-{out.name}", params)


def _check_fit(data: Path, out: Path, epsilon: float | None, no_dp: bool, delta: float, max_grad_norm: float,
               schema_file: Path | None, matmul_dtype: str, device: str, overwrite: bool, engine: str) -> None:
    """Every option and path of ``synth fit``, before the data is read (one line on any problem)."""
    from trust.data.io import check_input_file, check_output_dir

    if (epsilon is None) == (not no_dp):
        raise ConfigError("choose --epsilon E (differentially private) or --no-dp (no privacy guarantee), "
                          "exactly one of them")
    check_finite(epsilon, "--epsilon", positive=True)
    check_finite(delta, "--delta")
    check_finite(max_grad_norm, "--max-grad-norm", positive=True)
    check_input_file(data)
    from trust._validation import check_option
    from trust.synth.settings import MATMUL_DTYPES
    from trust.synth.training import resolve_device

    check_option(matmul_dtype, "--matmul-dtype", MATMUL_DTYPES)
    from trust.synth.engines import ENGINES

    check_option(engine, "--engine", ENGINES)
    resolve_device(device, "--device")   # 'cuda' without a GPU: a ConfigError before anything is read or written
    if epsilon is not None and schema_file is None:
        raise ConfigError(f"a DP fit needs a reviewed schema: run `trust data schema draft {data} --out schema.json`, "
                          "check every kind and category list in it, then pass --schema schema.json")
    if engine in ("mst", "aim"):
        from trust.synth.marginal.model import MODEL_KIND

        check_output_dir(out, kind=MODEL_KIND, overwrite=overwrite)
    else:
        check_output_dir(out, kind=SYNTH_KIND, overwrite=overwrite)


def _fit_inputs(data: Path, schema_file: Path | None, target: str | None, epsilon: float | None, na: list[str],
                sep: str | None):
    """``(table, schema, target)`` of ``synth fit``: the declared schema (or, without DP, one inferred), checked."""
    from trust.data import infer_schema, read_table

    schema = read_schema_file(schema_file) if schema_file is not None else None
    df = read_table(data, na_values=na, sep=sep)
    if schema is not None:
        if target is not None and schema.target not in (None, target):
            raise DataError(f"--target '{target}' differs from the target '{schema.target}' of --schema; make them "
                            "agree (or drop --target)")
        target = target or schema.target
    if target is not None and target not in df.columns:
        raise DataError(f"target '{target}' is not a column of '{data}'; its columns are: "
                        f"{', '.join(map(str, list(df.columns)[:12]))}")
    if schema is None:
        schema = infer_schema(df, target=target)
    if target is not None:
        check_target(df, schema if schema_file is not None else None, target, f"'{data}'", dp=epsilon is not None)
    if epsilon is not None:
        check_schema_for_dp(schema, schema_file)
        warn_if_vacuous(epsilon)
    else:
        check_magnitudes(df, schema, f"'{data}'")
    return df, schema, target


def _policy(path: Path | None) -> dict:
    """The policy the evidence is gated against: ``--policy FILE`` (its ``policy:`` block), else ``./params.yaml``'s
    when it has one, else the synthesis defaults (:data:`trust.synth.protocol.DEFAULT_POLICY`)."""
    from trust.data.io import check_input_file, read_yaml_mapping
    from trust.synth.protocol import DEFAULT_POLICY

    if path is None and Path("params.yaml").is_file():
        path = Path("params.yaml")
    elif path is None:
        note("gating against the synthesis defaults (no --policy and no ./params.yaml)")
        return dict(DEFAULT_POLICY)
    else:
        check_input_file(path, flag="--policy")
    block = read_yaml_mapping(path).get("policy")
    if not isinstance(block, dict):
        raise ConfigError(f"--policy '{path}' has no 'policy:' mapping of thresholds; add one (see params.yaml)")
    note(f"gating against the policy in {path}")
    return block


def _write_result_evidence(path: Path | None, result, policy: dict, stage: str, params: dict) -> None:
    """The result's evidence (gated against ``policy``) as a schema-valid file ``trust report --root`` renders."""
    if path is None:
        return
    from trust.evidence import write_evidence
    from trust.tracking import git_commit

    doc = result.to_evidence(policy).document(stage, params=params, git_commit=git_commit(Path.cwd()))
    write_evidence(path, doc)
    note(f"wrote evidence to {path}")


def _int_or_auto(value: str, flag: str) -> int | str:
    """``auto`` or a positive integer (the adaptive defaults of :func:`trust.synth.plan.auto_schedule`)."""
    text = value.strip().lower()
    if text == "auto":
        return "auto"
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{flag} {value} must be a positive integer or auto (adapts to the table's size)")
    return int(text)


def _parse_conditions(condition: list[str]) -> dict[str, str]:
    conditions: dict[str, str] = {}
    for c in condition:
        col, sep, value = c.partition("=")
        if not sep or not col:
            raise ConfigError(f"--condition '{c}' must look like column=value")
        if col in conditions:
            raise ConfigError(f"--condition gives column '{col}' twice; give one value per column")
        conditions[col] = value
    return conditions


def _integers_as_integers(rows, schema):
    """Columns the schema marks ``integer`` come back as whole numbers (nullable Int64), not ``7.0``."""
    import pandas as pd

    for name, spec in schema.columns.items():
        if spec.integer and spec.kind != "categorical" and name in rows and pd.api.types.is_float_dtype(rows[name]):
            rows[name] = rows[name].round().astype("Int64")
    return rows


@app.command("sample")
def sample(
    model_dir: Path = typer.Argument(..., help="A model directory written by `trust synth fit`."),
    n: int = typer.Option(..., "-n", "--rows", min=1, help="Number of rows to generate."),
    out: Path = typer.Option(..., "--out", help="Output table (.csv or .parquet), written atomically."),
    condition: list[str] = typer.Option([], "--condition", help="col=value on a categorical column (repeatable)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Seed (default: the model's)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Generate synthetic rows from a fitted model; every row meets the --condition values.

    Integer columns are written as integers. Above 50,000 rows the rows are drawn in chunks, each with a seed
    derived from --seed (so the rows differ from one call of the Python API with the same seed).
    """
    from trust.data.io import TABLE_SUFFIXES, check_output_file, read_model_dir

    conditions = _parse_conditions(condition)
    from trust.synth.marginal.model import MODEL_KIND

    marginal = (model_dir / "trust-model.json").is_file() and \
        f'"kind": "{MODEL_KIND}"' in (model_dir / "trust-model.json").read_text()
    if marginal and conditions:
        raise ConfigError("--condition needs a CTAB-GAN+ model; the marginal engine samples without conditions")
    if not marginal:
        read_model_dir(model_dir, kind=SYNTH_KIND, files=("model.json", "weights.pt"), what="CTAB-GAN+ model")
    check_output_file(out, overwrite=overwrite, suffixes=TABLE_SUFFIXES)

    import numpy as np
    import pandas as pd

    from trust.data import write_table
    from trust.synth.model import CTABGANPlus

    if marginal:
        from trust.synth.marginal import MarginalSynthesizer

        model = MarginalSynthesizer.load(model_dir)
    else:
        model = CTABGANPlus.load(model_dir)
    if n <= SAMPLE_CHUNK:
        rows = model.sample(n, conditions=conditions or None, random_state=seed)
    else:
        from tqdm.auto import tqdm

        base = seed if seed is not None else model.random_state
        sizes = [SAMPLE_CHUNK] * (n // SAMPLE_CHUNK) + ([n % SAMPLE_CHUNK] if n % SAMPLE_CHUNK else [])
        seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(base).spawn(len(sizes))]
        parts = [model.sample(m, conditions=conditions or None, random_state=s)
                 for m, s in tqdm(list(zip(sizes, seeds)), desc="sampling", unit="chunk", file=None,
                                  disable=not show_progress(quiet))]
        rows = pd.concat(parts, ignore_index=True)
    rows = _integers_as_integers(rows, model.schema_)
    write_table(rows, out)
    note(f"wrote {len(rows)} synthetic rows to {out}")


_EVAL_DOC = """Evaluate a synthetic table: utility (TSTR vs TRTR), fidelity (sdmetrics), privacy (DCR, NNDR, MIA).

Prints aggregates only, never rows. Utility: tstr.* are models trained on the synthetic table, trtr.* on the real
training table, both scored on --real-test; gap.<model>.<metric> = TRTR - TSTR, so for scores where higher is
better (auc, f1_macro, accuracy, r2) a positive gap is what the synthetic data loses, while for mape (an error,
lower is better) a NEGATIVE gap means the synthetic-trained model is worse.
"""


@app.command("evaluate", help=_EVAL_DOC)
def evaluate(
    real_train: Path = typer.Option(..., "--real-train", help="Real rows the generator was trained on (CSV/Parquet)."),
    real_test: Path = typer.Option(..., "--real-test", help="Real rows for measuring utility (never trained on)."),
    real_holdout: Path = typer.Option(..., "--real-holdout", help="Real rows never trained on: the privacy reference."),
    synthetic: Path = typer.Option(..., "--synthetic", help="The synthetic table to evaluate."),
    target: str = typer.Option(..., "--target", help="Target column for train-on-synthetic-test-on-real."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the figures as JSON here (.json)."),
    schema_file: Optional[Path] = typer.Option(None, "--schema",
                                               help="A schema.json (else inferred from --real-train)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of every subsample and model."),
    na: list[str] = typer.Option(["?"], "--na", help="Markers read as missing in CSVs (repeatable)."),
    sep: Optional[str] = typer.Option(None, "--sep", help=_SEP_HELP),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Also write evidence "
                                                                      "DIR/synth-evaluate-<synthetic>.json with the "
                                                                      "gated checks."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help=_POLICY_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out (and evidence of the same name)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    from trust.data.io import check_input_file, check_output_file

    paths = {"real-train": real_train, "real-test": real_test, "real-holdout": real_holdout, "synthetic": synthetic}
    for flag, path in paths.items():
        check_input_file(path, flag=f"--{flag}")
    if out is not None:
        check_output_file(out, overwrite=overwrite, suffixes=(".json",))
    stage = f"synth-evaluate-{Path(synthetic).stem}"
    ev_path = evidence_path(evidence, stage, overwrite)
    policy = _policy(policy_file) if ev_path is not None else {}
    schema = read_schema_file(schema_file) if schema_file is not None else None
    if schema is not None and schema.target != target:
        raise DataError(f"--schema has target '{schema.target}', not '{target}'; make them agree")
    tables, schema = _evaluation_inputs(paths, target, schema, na, sep)
    from trust.synth.protocol import run_synth_evaluate

    name = Path(synthetic).stem
    res = run_synth_evaluate(tables["real-train"], tables["real-test"], tables["real-holdout"],
                             {name: (None, tables["synthetic"])}, schema, dataset=Path(real_train).stem,
                             artifact=str(out or ev_path or "the printed figures"), random_state=seed,
                             progress=show_progress(quiet))
    figures = res.members[name]["figures"]
    _print_figures(figures, f"synthetic '{synthetic.name}' vs real (target '{target}', {schema.problem_type})")
    for line in res.warnings():
        note(line)
    if out is not None:
        from trust.data import atomic_write_json

        import math

        undefined = sorted(k for k, v in figures.items() if not math.isfinite(v))   # e.g. no pair of a kind to trend
        results = {k: (v if math.isfinite(v) else None) for k, v in figures.items()}
        atomic_write_json(out, {"target": target, "synthetic": str(synthetic), "results": results,
                                "undefined": undefined}, finite=True)
    _write_result_evidence(ev_path, res, policy, stage, {"target": target, "seed": seed})


def _evaluation_inputs(paths: dict, target: str, schema, na: list[str], sep: str | None):
    """The four tables (each holding the target) and the schema (inferred from the real training rows if none)."""
    from trust.data import infer_schema, read_table

    tables = {name: read_table(path, na_values=na, sep=sep) for name, path in paths.items()}
    for name, df in tables.items():
        if target not in df.columns:
            raise DataError(f"target column '{target}' is missing from --{name}; its columns are: "
                            f"{', '.join(map(str, list(df.columns)[:12]))}")
    return tables, schema if schema is not None else infer_schema(tables["real-train"], target=target)


def _print_figures(figures: dict, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("group", "measure", "value"):
        table.add_column(col)
    for k, v in figures.items():
        group, _, name = k.partition(".")
        table.add_row(group, name or group, f"{int(v):,}" if float(v).is_integer() else f"{v:.4g}")
    Console().print(table)


__all__ = ["app", "fit", "sample", "evaluate"]
