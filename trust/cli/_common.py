"""Pieces every command shares: warnings and progress on stderr, the schema file, the evidence file, MLflow.

MLflow, designed once here: ``trust --mlflow COMMAND ...`` (or ``TRUST_MLFLOW=1``) makes every command that
records evidence (:func:`write_evidence`, :func:`publish_evidence`) also log one MLflow run in the experiment
``trust-cli`` (params, metrics, the evidence as an artifact; never rows), and the evidence records its run id,
so the report links it. Without the flag nothing is logged.

Only the standard library and typer at import time (see :mod:`trust.cli`).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from trust.errors import ConfigError, DataError

#: Above this total epsilon a guarantee says next to nothing (a likelihood ratio of e^10, about 22,000):
#: the commands warn, they do not refuse.
VACUOUS_EPSILON = 10.0
#: Model directory kinds (the ``kind`` in ``trust-model.json``); ``SYNTH_KIND`` equals
#: ``trust.synth.model.MODEL_KIND`` (tested), kept here so paths are checked before torch is imported.
SYNTH_KIND = "ctabgan-plus"
AGGREGATE_FIT_KIND = "aggregate-fit"
AGGREGATE_SWEEP_KIND = "aggregate-sweep"


def warn(message: str) -> None:
    """One line on stderr, ``warning: ...``."""
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)


def note(message: str) -> None:
    """One line on stderr for progress and results that are not the command's output."""
    print(message, file=sys.stderr)


def show_progress(quiet: bool) -> bool:
    """Progress bars go to stderr, only when it is a terminal and ``--quiet`` is not given."""
    return not quiet and sys.stderr.isatty()


def check_finite(value: float | None, flag: str, *, positive: bool = False) -> None:
    """A float option must be a finite number (click accepts ``nan`` and ``inf``), > 0 when ``positive``."""
    if value is None:
        return
    if not math.isfinite(value) or (positive and not value > 0):
        raise ConfigError(f"{flag} {value} must be a finite number{' > 0' if positive else ''}")


def warn_if_vacuous(epsilon: float | None) -> None:
    if epsilon is not None and epsilon > VACUOUS_EPSILON:
        warn(f"epsilon {epsilon:g} is above {VACUOUS_EPSILON:g}: the guarantee is vacuous in practice (a likelihood "
             f"ratio up to e^{epsilon:g}); treat the output as not private, or lower --epsilon")


def read_schema_file(path: Path, flag: str = "--schema"):
    """A declared :class:`~trust.data.TableSchema` from a reviewed ``schema.json``; one line on any problem."""
    import json

    from trust.data.io import check_input_file
    from trust.data.schema import TableSchema

    p = check_input_file(path, flag=flag)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"{flag} '{p}' is not valid JSON ({type(e).__name__}: {str(e).splitlines()[0][:80]}); "
                        "fix the file, or draft one with `trust data schema draft DATA --out schema.json`") from None
    try:
        return TableSchema.from_dict(d)
    except (DataError, ConfigError) as e:
        raise type(e)(f"{flag} '{p}': {e}") from None


def read_inputs_npz(p: Path, where: str = "") -> tuple[Any, Any]:
    """``(X, y or None)`` of an existing .npz holding the inputs ``X`` and, optionally, their labels ``y``;
    ``where`` (e.g. ``" (--forget)"``) follows the path in the one-line errors."""
    import numpy as np

    try:
        with np.load(p, allow_pickle=False) as z:
            X = z["X"] if "X" in z.files else None
            y = z["y"] if "y" in z.files else None
    except (ValueError, OSError, EOFError):
        raise DataError(f"'{p}'{where} could not be read as an .npz archive; save it with np.savez(path, X=X)") from None
    if X is None:
        raise DataError(f"'{p}'{where} has no array 'X'; save it with np.savez(path, X=X)")
    return X, y


def check_schema_for_dp(schema, path: Path) -> None:
    """Public-schema checks a DP fit needs, in CLI terms: category lists declared and not identifier-like,
    a target that cannot become a class of its own. Nothing here reads the private rows: the category-list
    rules are the ones on the public list alone (``check_category_lists(schema, None)``); an unreviewed draft is
    refused first (``require_reviewed``), naming the file."""
    from trust.data.schema import check_category_lists, require_reviewed

    try:
        require_reviewed(schema)
    except DataError as e:
        raise DataError(f"--schema '{path}': {e}") from None
    for name, spec in schema.columns.items():
        if spec.kind == "categorical" and spec.categories is None:
            raise DataError(f"column '{name}' is categorical without a category list in --schema '{path}'; under DP "
                            "the list must be public: add \"categories\": [...] to that column in the file (values "
                            "from documentation, not from the data)")
    check_category_lists(schema, None)


def check_target(df, schema, target: str, source: str, *, dp: bool = False) -> None:
    """The target must be present in every row (a missing target would become a class of its own).

    Under DP only the public part is checked (the declared schema must not allow a missing target): an error
    that depends on whether one private row lacks its target would reveal that row.
    """
    if schema is not None and schema.target is not None and schema[schema.target].allow_missing:
        raise DataError(f"the schema declares target '{schema.target}' with \"allow_missing\": true; a missing "
                        "target would become a class of its own: set it to false and drop rows without a target")
    if not dp and df[target].isna().any():
        raise DataError(f"target '{target}' has missing values in {source}; drop those rows first (a missing target "
                        "would otherwise be learnt as a class of its own)")


#: Numeric values beyond this magnitude overflow the encoders' squares and mixtures.
MAX_ABS_VALUE = 1e150


def check_magnitudes(df, schema, source: str) -> None:
    """Numeric columns must stay within :data:`MAX_ABS_VALUE` (1e300 overflows the encoders to inf/NaN).

    Used on non-DP fits only: under DP an error that depends on one private value would reveal it; there the
    declared bounds govern.
    """
    import numpy as np
    import pandas as pd

    for name, spec in schema.columns.items():
        if spec.is_numeric and name in df:
            v = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if v.size and np.abs(v).max() > MAX_ABS_VALUE:
                raise DataError(f"column '{name}' of {source} has values beyond {MAX_ABS_VALUE:g} in magnitude, which "
                                "overflow the encoder; rescale the column (or mark those values missing)")


def evidence_path(evidence_dir: Path | None, stage: str, overwrite: bool, *, ledger: bool = False) -> Path | None:
    """``DIR/<stage>.json``, checked before any work (see :func:`trust.data.io.check_output_file`); with
    ``ledger`` (a DP release will be recorded) the evidence schema is probed with a ledger entry first."""
    if evidence_dir is None:
        return None
    from trust.data.io import check_output_file

    d = Path(evidence_dir)
    if d.exists() and not d.is_dir():
        raise DataError(f"--evidence '{d}' is a file; give a directory (e.g. evidence/)")
    path = check_output_file(d / f"{stage}.json", flag="--evidence", overwrite=overwrite, suffixes=(".json",))
    if ledger:
        _probe_evidence_schema()
    return path


def _probe_evidence_schema() -> None:
    """Fail before the work, not after it, if this version's evidence schema refuses a ledger entry as the
    ledger writes it (a mismatch between trust.privacy.ledger and trust.evidence: a bug, reported
    as such)."""
    from trust.privacy.ledger import LedgerEntry
    from trust.evidence import make_evidence

    probe = LedgerEntry(release="probe", mechanism="probe", epsilon=1.0, delta=0.0, accountant="closed-form",
                        noise_multiplier=1.0, sample_rate=1.0, steps=1, max_grad_norm=1.0, unit_of_privacy="label",
                        adjacency="replace-one")
    try:
        make_evidence("probe", "probe", ledger=[probe.to_dict()])
    except DataError as e:
        raise RuntimeError(f"trust bug: the evidence schema refuses the ledger's own entries ({e}); --evidence "
                           "cannot work in this version") from None


#: ``TRUST_MLFLOW=1`` (or ``trust --mlflow COMMAND``): every command that records evidence also logs an MLflow run
MLFLOW_ENV = "TRUST_MLFLOW"


def mlflow_requested() -> bool:
    """True when the user asked for MLflow logging (``trust --mlflow ...`` or ``TRUST_MLFLOW=1``)."""
    import os

    return os.environ.get(MLFLOW_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _log_cli_run(stage: str, params: Mapping[str, Any], metrics: Mapping[str, Any], doc: dict[str, Any],
                 path: Path | None) -> str:
    """One MLflow run of a command (experiment ``trust-cli``, the store of ``MLFLOW_TRACKING_URI`` or the project's
    ``mlflow.db``): its params, metrics and evidence; returns the run id the evidence then records."""
    import tempfile

    from trust.data.io import atomic_write_json
    from trust.tracking import CLI_EXPERIMENT, repo_root, stage_run

    with stage_run(stage, params, {}, root=repo_root(), experiment=CLI_EXPERIMENT) as run:
        run.log_metrics(dict(metrics))
        doc["mlflow_run_id"] = run.run_id
        with tempfile.TemporaryDirectory() as tmp:
            tmp_doc = atomic_write_json(Path(tmp) / (path.name if path else f"{stage}.json"), doc)
            run.log_artifact(tmp_doc, "evidence")
    note(f"logged MLflow run {doc['mlflow_run_id']} (experiment '{CLI_EXPERIMENT}')")
    return doc["mlflow_run_id"]


def write_evidence(path: Path | None, *, stage: str, kind: str, title: str, params: Mapping[str, Any],
                   metrics: Mapping[str, Any], checks: Iterable[Mapping[str, Any]] = (),
                   ledger: Iterable[Mapping[str, Any]] = (), details: Mapping[str, Any] | None = None,
                   non_dp: Iterable[Mapping[str, str]] = ()) -> None:
    """Write schema-valid evidence (``trust.evidence``) that ``trust report --root`` renders, and log the command
    as an MLflow run when asked (:func:`mlflow_requested`; the evidence then records the run id).

    The document carries no data fingerprint (lineage is the pipeline's job) and no rows; the ledger
    entries are the release's own; ``non_dp`` lists every use of the private data without DP (a ``--no-dp`` fit,
    statistics of the labels printed on request), which the report counts as an infinite epsilon unless the
    policy declares it audit-trail only.
    """
    if path is None and not mlflow_requested():
        return
    from trust.data.io import atomic_write_json
    from trust.evidence import make_evidence
    from trust.tracking import git_commit

    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    doc = make_evidence(stage, kind, title=title, params=dict(params), checks=checks, metrics=flat, ledger=ledger,
                        details=details, git_commit=git_commit(Path.cwd()), non_dp=non_dp)
    if mlflow_requested():
        _log_cli_run(stage, params, flat, doc, path)
    if path is not None:
        atomic_write_json(path, doc, finite=True)
        note(f"wrote evidence to {path}")


def publish_evidence(path: Path | None, evidence: Any, *, stage: str, params: Mapping[str, Any]) -> None:
    """:func:`write_evidence` for a protocol's result: ``evidence`` is ``result.to_evidence(policy)``
    (a :class:`trust.evidence.Evidence`), so a command records what the pipeline's stage records."""
    write_evidence(path, stage=stage, kind=evidence.kind, title=evidence.title or stage, params=params,
                   metrics=dict(evidence.metrics), checks=[c.to_dict() for c in evidence.checks],
                   ledger=evidence.ledger, details=dict(evidence.details), non_dp=evidence.non_dp)


__all__ = ["warn", "note", "show_progress", "check_finite", "warn_if_vacuous", "read_schema_file",
           "check_schema_for_dp", "check_target", "check_magnitudes", "MAX_ABS_VALUE", "evidence_path",
           "write_evidence", "publish_evidence", "mlflow_requested", "MLFLOW_ENV", "VACUOUS_EPSILON",
           "SYNTH_KIND", "AGGREGATE_FIT_KIND", "AGGREGATE_SWEEP_KIND"]
