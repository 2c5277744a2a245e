"""Shared plumbing for the stage scripts: params, the DVC matrix member, loading the train stage's outputs,
the MLflow run, and publishing a capability's result.

A stage script reads what the pipeline owns (:func:`param`), passes the estimator's settings as a
sub-dict for the library to check, loads its inputs (``_trained.load_trained`` for the models of
the ``train`` stage), makes one protocol call ``run_<capability>(...)`` and hands the result to
:meth:`Stage.publish`, which saves it under ``outputs/<stage>/``, draws its plots, writes
``metrics/<stage>.json`` and ``evidence/<stage>.json`` atomically and logs the run to MLflow. Data enter evidence and MLflow only as keyed fingerprints (:func:`fingerprint`);
what a stage writes under ``outputs/`` as a *release* carries no fingerprint or exact count of
private data. User mistakes (bad params, bad data) end the script with one line on stderr and
exit status 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python pipelines/x.py` from any folder
    sys.path.insert(0, str(ROOT))

from trust.data.hashing import keyed_fingerprint, lineage_key  # noqa: E402
from trust.data.lineage import salt_metrics, salt_outputs  # noqa: E402
from trust.data.io import atomic_write_json, read_yaml_mapping  # noqa: E402
from trust.errors import ConfigError, TrustError  # noqa: E402
from trust.evidence import Evidence, Plot, Result, make_evidence, save_figure, write_evidence  # noqa: E402
from trust.tracking import flatten, git_commit, stage_run  # noqa: E402

_MISSING = object()


def load_params(path: Path | None = None) -> dict[str, Any]:
    """The whole of ``params.yaml`` (ConfigError if it is missing or not a YAML mapping)."""
    path = path if path is not None else ROOT / "params.yaml"
    if not path.exists():
        raise ConfigError(f"'{path}' is missing; restore params.yaml from the repository")
    return read_yaml_mapping(path)


def param(params: Mapping[str, Any], key: str, kind: type | tuple[type, ...] = object, *,
          default: Any = _MISSING, low: float | None = None, high: float | None = None,
          low_open: bool = False, choices: Iterable[Any] | None = None, nullable: bool = False) -> Any:
    """Read ``params['a']['b']`` for key ``'a.b'`` and check it; ConfigError names the key and the fix."""
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            if default is not _MISSING:
                return default
            raise ConfigError(f"params.yaml: key '{key}' is missing; add it (see the comments in params.yaml)")
        node = node[part]
    value = node
    if value is None and nullable:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is not object and (not isinstance(value, kind) or isinstance(value, bool) and kind in (int, float)):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"params.yaml: '{key}' = {value!r} must be of type {names}")
    if choices is not None:
        choices = list(choices)
        vals = value if isinstance(value, list) else [value]
        for v in vals:
            if v not in choices:
                raise ConfigError(f"params.yaml: '{key}' has {v!r}; choose from {choices}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(float(value)):
            raise ConfigError(f"params.yaml: '{key}' = {value!r} must be finite")
        if low is not None and (value < low or (low_open and value == low)):
            raise ConfigError(f"params.yaml: '{key}' = {value!r} must be {'>' if low_open else '>='} {low}")
        if high is not None and value > high:
            raise ConfigError(f"params.yaml: '{key}' = {value!r} must be <= {high}")
    return value


def fingerprint(df: Any) -> str:
    """The keyed (HMAC-SHA256) fingerprint of a table under the project's lineage key (audit trail only)."""
    return keyed_fingerprint(df, root=ROOT)


def matrix_member(argv: list[str], choices: Iterable[str], *, what: str, params_key: str) -> str:
    """The DVC matrix member a stage script was started with (``python pipelines/S.py MEMBER``)."""
    choices = [str(c) for c in choices]
    if len(argv) != 2:
        raise ConfigError(f"usage: python {argv[0] if argv else 'pipelines/<stage>.py'} {what.upper()} "
                          f"(one of {params_key} in params.yaml: {choices})")
    if argv[1] not in choices:
        raise ConfigError(f"{what} '{argv[1]}' is not in {params_key}; add it to params.yaml or pick one of {choices}")
    return argv[1]


class Stage:
    """One execution of a DVC stage.

    >>> st = Stage("prepare")
    >>> with st.run(params_subset, {"adult/train": fingerprint(train)}):
    ...     ...  # compute; write under st.out_dir
    ...     st.finish(kind="data", metrics=..., checks=..., ledger=..., plots=..., details=..., non_dp=...)
    """

    def __init__(self, name: str, params: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.params = dict(params) if params is not None else load_params()
        self.out_dir = ROOT / "outputs" / name
        self.metrics_path = ROOT / "metrics" / f"{name}.json"
        self.evidence_path = ROOT / "evidence" / f"{name}.json"
        self.run_ctx: Any = None
        self.stage_params: dict[str, Any] = {}

    @contextlib.contextmanager
    def run(self, stage_params: Mapping[str, Any], data_fingerprints: str | Mapping[str, str]) -> Iterator[Any]:
        """The MLflow run of this execution (also kept as ``self.run_ctx`` for :meth:`finish`)."""
        self.stage_params = dict(stage_params)
        with stage_run(self.name, stage_params, data_fingerprints, root=ROOT) as run:
            self.run_ctx = run
            yield run

    def finish(self, *, kind: str, title: str = "", metrics: Mapping[str, Any] | None = None,
               checks: Iterable[Mapping[str, Any]] = (), ledger: Iterable[Mapping[str, Any]] = (),
               plots: Iterable[Mapping[str, str]] = (), data: Iterable[Mapping[str, Any]] = (),
               details: Mapping[str, Any] | None = None, non_dp: Iterable[Mapping[str, str]] = ()) -> dict[str, Any]:
        """Write metrics and evidence (atomically), and log them with the plots to MLflow.

        ``non_dp`` lists every use this stage made of a private dataset without differential privacy
        (``{"dataset", "artifact", "what"}``); the report counts each as an infinite epsilon unless
        ``policy.internal_non_dp`` declares it audit-trail only.
        """
        metrics = {k: v for k, v in flatten(metrics or {}).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        plots = [dict(p) for p in plots]
        evidence = make_evidence(
            self.name, kind, title=title, params=self.stage_params, data=data, checks=checks,
            metrics=metrics, ledger=ledger, plots=plots, details=details, non_dp=non_dp,
            mlflow_run_id=self.run_ctx.run_id if self.run_ctx else None, git_commit=git_commit(ROOT),
        )
        return self._write(metrics, evidence)

    def publish(self, result: Result, *, data: Iterable[Mapping[str, Any]] = (), save: bool = True) -> dict[str, Any]:
        """Save ``result`` under :attr:`out_dir`, draw its plots, and write and log its evidence and metrics.

        ``data``: the keyed fingerprints of the inputs (``{"name", "fingerprint", "role"}``). The checks
        are gated against the ``policy:`` block of the params; the report re-gates them at render time.
        """
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if save:
            result.save(self.out_dir)
        plots = [Plot(p.title, relpath(Path(p.path))) for p in result.plots(self.out_dir)]
        ev: Evidence = result.to_evidence(self.params.get("policy") or {})
        evidence = ev.document(self.name, params=self.stage_params, plots=plots, data=data,
                               mlflow_run_id=self.run_ctx.run_id if self.run_ctx else None, git_commit=git_commit(ROOT))
        metrics = {k: v for k, v in evidence["metrics"].items() if v is not None}
        return self._write(metrics, evidence)

    def _write(self, metrics: Mapping[str, float], evidence: Mapping[str, Any]) -> dict[str, Any]:
        # Keyed salts (trust.data.lineage): the md5s dvc.lock records for this stage's outputs and metrics
        # cannot be recomputed from the private rows without the lineage key.
        key = lineage_key(ROOT)
        salt_outputs(self.out_dir, key=key)
        atomic_write_json(self.metrics_path, salt_metrics(metrics, key=key, label=self.name))
        write_evidence(self.evidence_path, evidence)
        if self.run_ctx is not None:
            self.run_ctx.log_metrics(dict(metrics))
            self.run_ctx.log_artifact(self.evidence_path, "evidence")
            for p in evidence["plots"]:
                self.run_ctx.log_artifact(ROOT / p["path"], "plots")
        return dict(evidence)


def relpath(path: Path) -> str:
    """A path relative to the project root, as evidence records it."""
    return str(Path(path).resolve().relative_to(ROOT))


def main(fn: Callable[[], Any]) -> Callable[[], None]:
    """Decorator for a stage's entry point: user mistakes print one line and exit 2."""

    @functools.wraps(fn)
    def wrapper() -> None:
        try:
            fn()
        except TrustError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    return wrapper
