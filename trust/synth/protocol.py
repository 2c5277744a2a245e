"""The synthesis protocols: fit and release a synthetic table, and evaluate synthetic tables.

Two protocols, two results, because they produce different things for different readers:

* :func:`run_synth` fits CTAB-GAN+ on a training table (with DP-SGD when ``epsilon`` is given) and samples
  the declared number of rows. Its :class:`SynthResult` is a **release** (the synthetic table, the model
  directory, the ledger: :meth:`SynthResult.save` puts them in a folder of their own, ``release/``, listed in
  a manifest) plus the audit trail of the fit (its evidence: the ledger, the DP figures, the schedule, the
  label-share check). A fit without DP writes the same files into ``baseline/``, marked not releasable.
* :func:`run_synth_evaluate` scores synthetic tables (one or several, e.g. one per epsilon) against the real
  splits: utility (train on synthetic, test on real, against train on real), fidelity and the empirical
  privacy audits. Its :class:`SynthEvaluateResult` is **audit trail only**: every figure reads the real rows
  without DP, so it is recorded as a non-DP use and never released. It evaluates any table, not only ours.

Keeping them apart keeps the release/audit split in the types: nothing an evaluation computes can end up in
a release folder, and a release can be made without ever scoring it on real rows.

Gates (:meth:`SynthEvaluateResult.to_evidence`): utility is judged against its reference, train-on-real on the
same test split with the same models: ``min_tstr_ratio_to_real`` gates TSTR / TRTR (ROC AUC of gradient
boosting for classification, R2 for regression). The privacy audits are absolute quantities and stay absolute
gates, each sentence saying what it measures: ``max_dcr_share`` (share of synthetic rows whose closest real row
is a training row rather than a holdout row; 0.5 is no preference), ``max_mia_auc`` (AUC of the distance-based
membership attack; 0.5 is chance) and ``max_exact_copies`` (synthetic rows identical to a training row, beside
the holdout's count). A copy of the training rows passes the utility gate and fails the privacy gates; an
independent real sample passes all of them (tested).

>>> import numpy as np, pandas as pd
>>> from trust.data import infer_schema
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], 200), "y": rng.choice(["no", "yes"], 200)})
>>> schema = infer_schema(df, target="y", categories={"c": ["a", "b"], "y": ["no", "yes"]},
...                       bounds={"x": (-5.0, 5.0)}).as_declared()   # declared: lists and bounds from documentation
>>> small = dict(generator_dims=(16,), critic_dims=(16,), aux_dims=(8,), noise_dim=4)
>>> res = run_synth(df, schema, epsilon=4.0, synthetic_rows=50, model=dict(epochs=1, batch_size=50, delta=1e-4, **small),
...                 dataset="tiny", verbose=False)
>>> res.synthetic.shape, res.model.dp_
((50, 3), True)
>>> ev = res.to_evidence({"max_total_epsilon_per_dataset": 10})
>>> ev.kind, len(ev.ledger)
('synth', 3)
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np
import pandas as pd

from trust.data.schema import TableSchema
from trust.errors import ConfigError
from trust.evidence import Check, Evidence, Plot, Result, gate, save_figure

#: folder names inside a synthesis output directory: the release (DP) or the non-DP baseline, never released
RELEASE_DIR, BASELINE_DIR = "release", "baseline"
#: the synthetic table inside either folder
TABLE_FILE = "synthetic.parquet"
#: settings the protocol sets itself (from its own arguments), so ``model`` must not repeat them
PROTOCOL_SETTINGS = ("epsilon", "random_state", "device", "dataset_name", "release_name", "verbose")
#: a DP table whose label distribution is this far (total variation) from the DP-released marginal gets a warning
LABEL_TV_WARNING = 0.2
#: a table whose TSTR is below this fraction of train-on-real gets a warning (the policy gate is separate)
TSTR_RATIO_WARNING = 0.85
#: the synthesis policy the command line gates against when no params.yaml is found (the pipeline's defaults)
DEFAULT_POLICY: dict[str, float] = {"max_total_epsilon_per_dataset": 30.0, "min_tstr_ratio_to_real": 0.65,
                                    "max_dcr_share": 0.6, "max_mia_auc": 0.6, "max_exact_copies": 10}


def _model_settings(model: Mapping[str, Any] | None, engine: str = "ctabgan") -> dict[str, Any]:
    from trust.synth.engines import check_engine_settings

    settings = dict(model or {})
    check_engine_settings(engine, settings)
    for k in PROTOCOL_SETTINGS:
        if k in settings:
            raise ConfigError(f"model setting '{k}' is set by the synthesis protocol itself (its own argument); "
                              f"remove it from the model settings")
    return settings


def model_delta(engine: str, model: Mapping[str, Any] | None) -> float:
    """The delta a fit of ``engine`` with the settings ``model`` targets (its default when not set)."""
    if engine == "ctabgan":
        from trust.synth.settings import SynthSettings

        return float(SynthSettings.of(dict(model or {})).delta)
    from trust.synth.marginal.model import MarginalSynthesizer

    return float((model or {}).get("delta", MarginalSynthesizer().delta))


OVERRIDE_SOURCE = ("declared override in params.yaml synth.bounds: the user's declaration, which must come "
                   "from the data's documentation (a data dictionary, a survey's topcodes), never from the rows")


def declared_bounds(schema: TableSchema, overrides: Mapping[str, Any] | None,
                    key: str = "synth.bounds") -> tuple[TableSchema, dict[str, list[float]]]:
    """``schema`` with the bounds of ``overrides`` (``{column: [low, high]}``, e.g. ``params.yaml``'s
    ``synth.bounds``) in place of the declared ones, and the overrides as ``{column: [low, high]}`` (recorded in the
    evidence). Each override's source says it is the user's declaration. A bad entry is a one-line ConfigError
    naming ``key.column``."""
    if not overrides:
        return schema, {}
    out, sources = {}, dict(schema.meta.get("sources", {}))
    for col, bnd in overrides.items():
        name = f"{key}.{col}"
        if col not in schema.columns:
            raise ConfigError(f"params.yaml: '{name}': the {schema.meta.get('dataset', 'dataset')} schema has no column "
                              f"'{col}'; use one of: {', '.join(schema.columns)}")
        if schema[col].kind == "categorical":
            raise ConfigError(f"params.yaml: '{name}': '{col}' is categorical; bounds apply to numeric columns only")
        if not isinstance(bnd, (list, tuple)) or len(bnd) != 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bnd):
            raise ConfigError(f"params.yaml: '{name}' = {bnd!r} must be a list of two finite numbers [low, high]")
        low, high = float(bnd[0]), float(bnd[1])
        if not low < high:
            raise ConfigError(f"params.yaml: '{name}' = {bnd!r} must have low < high")
        schema = schema.replace_column(col, bounds=(low, high))
        out[col] = [low, high]
        sources[col] = f"{OVERRIDE_SOURCE} (registry's source, replaced: {sources.get(col, 'none')})"
    schema.meta["sources"] = sources
    return schema, out


def public_metadata(schema: TableSchema, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """What a fit on a registry dataset's declared schema took as public, for the evidence."""
    return {"schema": "declared in the dataset registry (trust.data.dataset_schema)",
            "bounds": {c: list(spec.bounds) for c, spec in schema.columns.items() if spec.bounds},
            "bounds_overridden": dict(overrides), "sources": schema.meta.get("sources", {})}


def fit_rows(train: pd.DataFrame, max_train_rows: int | None, *, dp: bool, random_state: int) -> pd.DataFrame:
    """The rows the generator trains on: all of ``train``, or without DP a seeded subsample of ``max_train_rows``.

    Under DP a cap is refused: a seeded fixed-size subsample reproducible from the published seed, chosen by
    comparing the exact row count with the cap, would leak that count and void amplification by subsampling.
    DP-SGD already subsamples (Poisson, secret, accounted) at every step; use fewer epochs to train faster.
    """
    if max_train_rows is None:
        return train
    if dp:
        raise ConfigError(f"max_train_rows={max_train_rows} is refused under DP: a seeded subsample of a fixed size "
                          "reads the exact row count and is not secret; set it to null (DP-SGD already samples "
                          "rows secretly at every step) and use fewer epochs to train faster")
    if len(train) <= max_train_rows:
        return train
    return train.sample(n=max_train_rows, random_state=random_state).reset_index(drop=True)


def label_share(model: Any, synthetic: pd.DataFrame | None) -> dict[str, Any] | None:
    """Under DP with a categorical target: the synthetic label shares beside the DP-released label marginal (the
    transformer's noisy counts; post-processing) and their total variation distance; else None."""
    schema = model.schema_
    target = schema.target
    if synthetic is None or not model.dp_ or target is None or schema[target].kind != "categorical":
        return None
    state = model.transformer_.column(target)
    labels = [str(c) for c in state.categories] + (["(missing)"] if state.missing else [])
    released = np.clip(np.asarray(state.counts, dtype=float), 0, None)
    released = released / released.sum() if released.sum() > 0 else np.full(len(labels), 1.0 / len(labels))
    col = synthetic[target].astype(object).where(synthetic[target].notna(), "(missing)").map(str)
    shares = col.value_counts(normalize=True).reindex(labels, fill_value=0.0).to_numpy(float)
    tv = float(0.5 * np.abs(shares - released).sum())
    return {"labels": labels, "synthetic": [float(x) for x in shares], "released": [float(x) for x in released],
            "total_variation": tv}


@dataclasses.dataclass(frozen=True)
class SynthResult(Result):
    """A fitted CTAB-GAN+ and what it released (:func:`run_synth`).

    Attributes:
        model: the fitted :class:`~trust.synth.model.CTABGANPlus`.
        synthetic: the sampled table (None when no rows were asked for).
        dataset: the protected dataset's name (ledger and evidence).
        epsilon_target: the epsilon asked for (None: no DP).
        synthetic_rows: the declared number of rows sampled (None: none).
        fit_seconds, sample_seconds: wall times (audit trail only; never in the release).
        public_metadata: what was declared public (bounds, overrides, sources), for the evidence.
        fit_rows: rows the fit read (audit trail only).
        artifact: where the caller saves the result (:meth:`save`'s ``out_dir``, relative to the project root), as
            the evidence names it.
        labels: :func:`label_share` (DP, categorical target) or None.
        release_paths: the release's paths as the evidence's ``details.release`` lists them (what the signing hook
            signs); default: ``<artifact>/release`` under DP, none without DP. The command line, which saves the
            model directory itself, sets it to that directory.
    """

    kind: ClassVar[str] = "synth"
    #: the engine (``trust.synth.create``'s name) and what the release's ``model/`` folder holds
    engine: ClassVar[str] = "ctabgan"
    model_text: ClassVar[str] = "a folder: the fitted CTAB-GAN+ (CTABGANPlus.load)"
    model: Any
    synthetic: pd.DataFrame | None
    dataset: str
    epsilon_target: float | None
    synthetic_rows: int | None
    fit_seconds: float
    sample_seconds: float
    public_metadata: Mapping[str, Any]
    fit_rows: int
    artifact: str = "the model and synthetic table"
    labels: Mapping[str, Any] | None = None
    release_paths: tuple[str, ...] | None = None

    @property
    def dp(self) -> bool:
        """Whether the fit used differential privacy."""
        return bool(self.model.dp_)

    def warnings(self) -> list[str]:
        """One line per figure far worse than its baseline, saying what to try."""
        lab = self.labels
        if lab is None or lab["total_variation"] <= LABEL_TV_WARNING:
            return []
        i = int(np.argmax(np.subtract(lab["synthetic"], lab["released"])))   # the most over-represented label
        return [f"warning: the synthetic table has {lab['synthetic'][i]:.0%} '{lab['labels'][i]}' labels against "
                f"{lab['released'][i]:.0%} in the DP-released label marginal (total variation "
                f"{lab['total_variation']:.2f}): try more epochs, a larger epsilon, or aux_epsilon_fraction=0"]

    def release_dir(self, out_dir: str | os.PathLike[str]) -> Path:
        """``out_dir/release`` for a DP fit, ``out_dir/baseline`` without DP (never released)."""
        return Path(out_dir) / (RELEASE_DIR if self.dp else BASELINE_DIR)

    def _budget_checks(self, rep: Mapping[str, Any], policy: Mapping[str, Any] | None, composed: str,
                       accountant: str) -> list[Check]:
        """The checks every engine's fit carries: the declared row count, and under DP its total epsilon against
        the policy's per-dataset limit and against its target (``composed``: what the total composes;
        ``accountant``: whose figure is compared with the target)."""
        checks = [Check("synthetic rows equal the declared number", None if self.synthetic is None else
                        float(len(self.synthetic)), None if self.synthetic_rows is None else float(self.synthetic_rows),
                        "==")]
        if rep["dp"]:
            limit = (policy or {}).get("max_total_epsilon_per_dataset")
            checks += [Check("total epsilon of this synthesis (all releases composed)", rep["epsilon"],
                             None if limit is None else float(limit), "<=",
                             description=f"{composed}; the report gates the dataset's total over all releases"),
                       Check("total epsilon within the target", rep["epsilon"], self.epsilon_target * 1.01, "<=",
                             description=f"{accountant} vs the target (1 % tolerance)")]
        return checks

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """Checks (declared rows, the epsilon against its target and the policy, the label share), flat metrics,
        the ledger, the non-DP use of a fit without DP, details valid against ``SYNTH_SCHEMA``."""
        from trust.synth.schemas import SYNTH_SCHEMA

        rep = self.model.privacy_report()
        checks = self._budget_checks(rep, policy, "transformer histograms + auxiliary DP-SGD + critic DP-SGD, "
                                     "sequential", "the accountant's epsilon after training")
        if self.labels is not None:
            checks.append(Check("label distribution of the synthetic table: total variation distance to the "
                                "DP-released label marginal", self.labels["total_variation"], LABEL_TV_WARNING, "<=",
                                description="a stage check: far from the marginal means the generator collapsed "
                                            "towards some labels"))
        return Evidence(self.kind, f"CTAB-GAN+ synthesis, epsilon {self._member()}", tuple(checks), self._metrics(rep),
                        self._details(rep), tuple(rep["entries"]), self._non_dp(), details_schema=SYNTH_SCHEMA)

    def _member(self) -> str:
        return "none" if self.epsilon_target is None else f"{self.epsilon_target:g}"

    def _metrics(self, rep: Mapping[str, Any]) -> dict[str, float | None]:
        m = self.model
        out: dict[str, float | None] = {
            "epsilon": rep["epsilon"], "delta": rep["delta"], "fit_seconds": self.fit_seconds,
            "sample_seconds": self.sample_seconds, "steps": m.steps_, "epochs": m.epochs_, "batch_size": m.batch_size_,
            "synthetic_rows": None if self.synthetic is None else len(self.synthetic)}
        if rep["dp"]:
            out.update(critic_epsilon=rep["critic_epsilon"], noise_multiplier=rep["noise_multiplier"],
                       sample_rate=rep["sample_rate"])
        if self.labels is not None:
            out["label_total_variation"] = self.labels["total_variation"]
        return out

    def _details(self, rep: Mapping[str, Any]) -> dict[str, Any]:
        m = self.model
        not_covered = (["no differential privacy: trained on raw rows"] if not rep["dp"] else
                       ["information loss disabled under DP (it reads raw feature statistics)"])
        not_covered.append("hyperparameters (epochs, learning rate, budget split) were chosen on the private data "
                           "and are not accounted for")
        return {"engine": self.engine, "dp": bool(rep["dp"]), "guarantee": list(rep["sentences"]),
                "epsilon_target": self.epsilon_target,
                "dataset": self.dataset, "public_metadata": dict(self.public_metadata),
                "release": list(self.release_paths if self.release_paths is not None else
                                ([f"{self.artifact}/{RELEASE_DIR}"] if rep["dp"] else [])),
                "release_folder": {"folder": RELEASE_DIR if rep["dp"] else BASELINE_DIR,
                                   "files": [TABLE_FILE, "model", "ledger.json"], "releasable": bool(rep["dp"])},
                "fit_rows": int(self.fit_rows), "architecture": m.architecture, "schedule": m.schedule_.reason,
                "generator": "post-processing: only the critic and the auxiliary model are trained with DP-SGD; "
                             "the generator never reads a real row" if rep["dp"] else "trained without DP",
                "label_share": None if self.labels is None else dict(self.labels),
                "warnings": self.warnings(), "not_covered": not_covered}

    def _non_dp(self) -> tuple[dict[str, str], ...]:
        if self.dp:
            return ()
        return ({"dataset": self.dataset or "unnamed", "artifact": self.artifact,
                 "what": "CTAB-GAN+ trained WITHOUT differential privacy on the training rows (model, synthetic "
                         "table, losses)"},)

    def plots(self, out_dir: str | os.PathLike[str]) -> list[Plot]:
        """The training losses per epoch (generator-side quantities only under DP)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        hist = self.model.loss_history_
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for k in sorted({k for h in hist for k in h}):
            ax.plot(range(1, len(hist) + 1), [h.get(k, float("nan")) for h in hist], marker="o", ms=3, label=k)
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean loss")
        ax.set_title(f"CTAB-GAN+ losses (epsilon {self._member()})" +
                     (" - generator side only under DP" if self.dp else ""))
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
        path = save_figure(fig, Path(out_dir) / "losses.png")
        return [Plot(f"CTAB-GAN+ training losses per epoch (epsilon {self._member()})", str(path))]

    def save(self, out_dir: str | os.PathLike[str]) -> None:
        """The release folder :meth:`release_dir` (written whole and atomically, replacing an earlier one): the
        synthetic table, the model directory ``model/`` and ``ledger.json``, listed in its manifest
        (``trust-model.json``, kind ``synth-release``) with what they hold and do not hold."""
        import json

        from trust.data.io import model_dir_writer, write_table

        files = {"model": self.model_text, "ledger.json": "the privacy ledger entries"}
        if self.synthetic is not None:
            files[TABLE_FILE] = f"{len(self.synthetic)} synthetic rows (a declared number, not the private count)"
        meta = {"dp": self.dp, "releasable": self.dp, "files": files, "dataset": self.dataset,
                "holds_no": "exact row count, data hash, fit timing or seed of DP noise" if self.dp else
                            "nothing is protected: trained without differential privacy; never release"}
        with model_dir_writer(self.release_dir(out_dir), kind="synth-release", meta=meta) as tmp:
            self.model.save(tmp / "model")
            (tmp / "ledger.json").write_text(json.dumps(self.model.ledger_.to_list(), indent=1, default=float))
            if self.synthetic is not None:
                write_table(self.synthetic, tmp / TABLE_FILE)


def run_synth(train: pd.DataFrame, schema: TableSchema, *, epsilon: float | None, model: Mapping[str, Any] | None = None,
              synthetic_rows: int | None = None, dataset: str = "", release_name: str = "",
              max_train_rows: int | None = None, public_metadata: Mapping[str, Any] | None = None,
              target: str | None = None, artifact: str = "the model and synthetic table", check_rows: int = 2000,
              on_epoch_end: Any = None, random_state: int = 0, device: str = "auto",
              verbose: bool = True, engine: str = "ctabgan") -> SynthResult:
    """Fit a synthesizer on ``train`` (DP when ``epsilon`` is given) and sample ``synthetic_rows`` rows: CTAB-GAN+
    (``engine="ctabgan"``, DP-SGD), the marginal engine (``"mst"``, ``"aim"``: zCDP marginals, a
    :class:`~trust.synth.marginal.result.MarginalSynthResult`) or the one :func:`trust.synth.create`'s ``auto`` rule
    picks (``"auto"``: under DP it spends 1 % of epsilon on a DP row count, in the ledger).

    Args:
        train: the training rows (under DP coerced to the declared ``schema``, never checked row by row).
        schema: the declared schema (required under DP: category lists and bounds from documentation).
        epsilon: the total budget (None: no DP, recorded as a non-DP use in the evidence).
        model: further settings of the engine (:class:`~trust.synth.settings.SynthSettings` for CTAB-GAN+,
            :class:`~trust.synth.marginal.MarginalSynthesizer`'s for ``mst``/``aim``; checked there: an unknown name
            is a one-line ConfigError); not the ones this function sets (:data:`PROTOCOL_SETTINGS`).
        synthetic_rows: rows to sample (a declared public number, never the private count); None: none.
        dataset, release_name: names in the ledger.
        max_train_rows: without DP a seeded subsample of this many rows; refused under DP (:func:`fit_rows`).
        public_metadata: what was declared public, recorded in the evidence.
        target: the downstream target (default: the schema's).
        artifact: where the caller saves the result, for the evidence's non-DP record.
        check_rows: with ``synthetic_rows=None`` under DP, rows sampled (and dropped) for the label-share check
            alone (post-processing, no privacy cost).
        on_epoch_end: passed to :meth:`CTABGANPlus.fit` (score the model mid-fit without changing it).
        random_state: seed of everything that is not DP noise; device: ``auto``, ``cpu`` or ``cuda`` (CTAB-GAN+).
        engine: ``ctabgan`` (default), ``mst``, ``aim`` or ``auto``.

    Returns:
        a :class:`SynthResult` (a :class:`~trust.synth.marginal.result.MarginalSynthResult` for the marginal engine).
    """
    from trust._validation import check_option
    from trust.synth.engines import ENGINES

    check_option(engine, "engine", ENGINES)
    settings = _model_settings(model, engine)
    common = dict(epsilon=epsilon, dataset_name=dataset, release_name=release_name, random_state=random_state,
                  verbose=verbose)
    rows = fit_rows(train, max_train_rows, dp=epsilon is not None, random_state=random_state)
    t0 = time.perf_counter()
    if engine == "ctabgan":
        from trust.synth.model import CTABGANPlus

        est = CTABGANPlus(**settings, **common, device=device).fit(rows, schema, target=target,
                                                                   on_epoch_end=on_epoch_end)
    else:
        from trust.synth.engines import create

        extra = {"device": device} if engine == "auto" and device != "auto" else {}
        chosen = create(engine, **settings, **common, **extra).fit(rows, schema, target=target)
        est = chosen.estimator_
        if chosen.engine_ != "ctabgan":
            from trust.synth.marginal.result import finish_marginal

            return finish_marginal(est, chosen.reason_, rows, time.perf_counter() - t0, dataset=dataset,
                                   epsilon=epsilon, synthetic_rows=synthetic_rows, artifact=artifact,
                                   public_metadata=public_metadata)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    synthetic = None if synthetic_rows is None else est.sample(synthetic_rows)
    sample_s = time.perf_counter() - t0
    checked = synthetic if synthetic is not None or not est.dp else est.sample(check_rows, random_state=random_state + 1)
    return SynthResult(est, synthetic, dataset, epsilon, synthetic_rows, fit_s, sample_s, dict(public_metadata or {}),
                       len(rows), artifact, label_share(est, checked))


# ----------------------------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SynthEvaluateResult(Result):
    """Utility, fidelity and privacy audits of synthetic tables (:func:`run_synth_evaluate`): audit trail only.

    Attributes:
        dataset, target, problem_type: what was evaluated.
        trtr: train-on-real figures (``<model>.<metric>``), the utility reference.
        members: per table name, ``{"epsilon": float | None, "engine": str | None, "figures": evaluate_synthetic's
            flat dict}`` (``engine``: the synthesizer that made the table, when the caller names it).
        settings: the evaluation's bounds (rows compared), for the evidence.
        artifact: where the caller saves the result, for the evidence's non-DP record.
    """

    kind: ClassVar[str] = "synth_evaluate"
    dataset: str
    target: str
    problem_type: str
    trtr: Mapping[str, float]
    members: Mapping[str, Mapping[str, Any]]
    settings: Mapping[str, Any]
    artifact: str = "the evaluation's figures"

    @property
    def metric(self) -> str:
        """The utility metric: ``auc`` (classification) or ``r2`` (regression)."""
        return "auc" if self.problem_type == "classification" else "r2"

    def tstr_ratio(self, member: str) -> float | None:
        """TSTR / TRTR of gradient boosting (None when TRTR is not positive)."""
        ref = self.trtr[f"hgb.{self.metric}"]
        fig = self.members[member]["figures"][f"utility.tstr.hgb.{self.metric}"]
        return fig / ref if ref > 0 and math.isfinite(fig) else None

    def warnings(self) -> list[str]:
        """One line per table whose TSTR is far below train-on-real, saying what to try."""
        out = []
        for m in self.members:
            ratio = self.tstr_ratio(m)
            if ratio is not None and ratio < TSTR_RATIO_WARNING:
                tstr = self.members[m]["figures"][f"utility.tstr.hgb.{self.metric}"]
                out.append(f"warning: {m}: TSTR {self.metric.upper()} {tstr:.3f} vs train-on-real "
                           f"{self.trtr[f'hgb.{self.metric}']:.3f} ({ratio:.2f}x): try more epochs (the paper trains "
                           "150), a larger epsilon, or batch_size='auto' on a small table")
        return out

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """Per table: the TSTR gate relative to train-on-real and the three absolute privacy audits."""
        from trust.synth.schemas import SYNTH_EVALUATE_SCHEMA

        checks: list[Check] = []
        for m in self.members:
            checks += self._checks(m, policy or {})
        non_dp = ({"dataset": self.dataset or "unnamed", "artifact": self.artifact,
                   "what": "non-DP statistics of the real train, test and holdout rows: train-on-real baseline, "
                           "fidelity against the train split, DCR / NNDR / exact-copy / membership-inference audits"},)
        return Evidence(self.kind, "Synthetic data evaluation", tuple(checks), self._metrics(), self._details(),
                        (), non_dp, details_schema=SYNTH_EVALUATE_SCHEMA)

    def _checks(self, m: str, policy: Mapping[str, Any]) -> list[Check]:
        r, metric = self.members[m]["figures"], self.metric
        what = "ROC AUC" if metric == "auc" else "R2"
        return [
            gate(f"{m}: TSTR {what} (gradient boosting) relative to train-on-real", r[f"utility.tstr.hgb.{metric}"],
                 policy, "min_tstr_ratio_to_real", reference="train-on-real", relation="ratio",
                 reference_figure=self.trtr[f"hgb.{metric}"],
                 description="a model trained on the synthetic table and one trained on the real training rows, "
                             "both tested on the real test split"),
            gate(f"{m}: share of synthetic rows whose closest real row is a training row rather than a holdout row",
                 r["privacy.dcr_share_train"], policy, "max_dcr_share",
                 description="DCR audit, train and holdout subsampled to equal sizes; 0.5 = no preference"),
            gate(f"{m}: AUC of a distance-based membership-inference attack", r["privacy.mia_auc"], policy,
                 "max_mia_auc", description="training rows vs holdout rows, each scored by its distance to the "
                                            "closest synthetic row; 0.5 = chance"),
            gate(f"{m}: synthetic rows that are exact copies of a training row", r["privacy.exact_copies"], policy,
                 "max_exact_copies", description=f"an independent real sample, the holdout, has "
                                                 f"{r['privacy.holdout_exact_copies']:g}"),
        ]

    def _metrics(self) -> dict[str, float | None]:
        k = self.metric
        out: dict[str, float | None] = {f"real.trtr_{k}": self.trtr[f"hgb.{k}"],
                                        f"real.trtr_{k}_linear": self.trtr[f"linear.{k}"]}
        keys = {f"tstr_{k}": f"utility.tstr.hgb.{k}", f"tstr_{k}_linear": f"utility.tstr.linear.{k}",
                "fidelity_column_shapes": "fidelity.column_shapes", "fidelity_column_pairs":
                "fidelity.column_pair_trends", "wasserstein_mean": "fidelity.wasserstein_mean",
                "jsd_mean": "fidelity.jsd_mean", "dcr_share": "privacy.dcr_share_train", "dcr_p5": "privacy.dcr_p5",
                "nndr_p5": "privacy.nndr_p5", "exact_copies": "privacy.exact_copies", "mia_auc": "privacy.mia_auc",
                "rows": "rows.synthetic"}
        if k == "auc":
            keys["tstr_f1_macro"] = "utility.tstr.hgb.f1_macro"
        for m, member in self.members.items():
            out.update({f"{m}.{name}": member["figures"][src] for name, src in keys.items()})
            out[f"{m}.tstr_ratio"] = self.tstr_ratio(m)
        return {k: (v if v is not None and math.isfinite(v) else None) for k, v in out.items()}

    def _details(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "target": self.target, "problem_type": self.problem_type,
            "members": {m: ("none" if v["epsilon"] is None else v["epsilon"]) for m, v in self.members.items()},
            "utility": "train on synthetic, test on real (TSTR) vs train on real (TRTR); HistGradientBoosting and "
                       "logistic regression/ridge behind one-hot + scaling fitted per training set",
            "fidelity": "sdmetrics QualityReport (column shapes, column pair trends) on "
                        f"{self.settings.get('fidelity_rows') or 'all'} rows; Wasserstein (min-max scaled) and "
                        "Jensen-Shannon means",
            "privacy": "distances in one encoding fitted on real train only; DCR share vs the holdout split "
                       "(equal-size subsamples), DCR/NNDR 5th percentiles, exact copies, distance-based "
                       "membership inference (train members vs holdout non-members)",
            "seconds": {m: round(float(v["figures"]["seconds"]), 2) for m, v in self.members.items()},
            "engines": {m: v.get("engine") for m, v in self.members.items()},
            "side_by_side": self.side_by_side(),
            "undefined_metrics": sorted(k for k, v in self._metrics().items() if v is None),
            "warnings": self.warnings(),
        }

    def side_by_side(self) -> list[dict[str, Any]]:
        """One row per table, ordered by epsilon (no DP last) then engine: the engine, the epsilon, TSTR and its ratio
        to train-on-real, the DCR share, the membership-inference AUC and the exact copies (the report's table)."""
        k = self.metric

        def order(item: tuple[str, Mapping[str, Any]]) -> tuple[float, str]:
            eps = item[1]["epsilon"]
            return (math.inf if eps is None else float(eps), str(item[1].get("engine") or ""))

        def num(v: Any) -> float | None:
            return float(v) if v is not None and math.isfinite(float(v)) else None

        return [{"member": m, "engine": v.get("engine") or "unnamed",
                 "epsilon": "none" if v["epsilon"] is None else float(v["epsilon"]),
                 "tstr": num(v["figures"][f"utility.tstr.hgb.{k}"]), "tstr_ratio": self.tstr_ratio(m),
                 "dcr_share": num(v["figures"]["privacy.dcr_share_train"]),
                 "mia_auc": num(v["figures"]["privacy.mia_auc"]),
                 "exact_copies": num(v["figures"]["privacy.exact_copies"])}
                for m, v in sorted(self.members.items(), key=order)]

    def plots(self, out_dir: str | os.PathLike[str]) -> list[Plot]:
        """Utility and the privacy audits against epsilon (classification)."""
        if self.metric != "auc":
            return []
        return [_plot_utility(self.members, self.trtr, Path(out_dir)), _plot_privacy(self.members, Path(out_dir))]

    def save(self, out_dir: str | os.PathLike[str]) -> None:
        """``results.json``: every figure of every table and the train-on-real reference (audit trail)."""
        from trust.data.io import atomic_write_json

        def finite(d: Mapping[str, Any]) -> dict[str, Any]:
            return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in d.items()}

        Path(out_dir).mkdir(parents=True, exist_ok=True)
        atomic_write_json(Path(out_dir) / "results.json", {
            "trtr": finite(self.trtr),
            "members": {m: {"epsilon": v["epsilon"], **finite(v["figures"])} for m, v in self.members.items()}})


def _epsilon_axis(ax: Any, members: Mapping[str, Mapping[str, Any]]) -> None:
    engines = {v.get("engine") for v in members.values()}
    ax.set_xticks(range(len(members)), [("" if len(engines) < 2 else f"{v.get('engine')}\n") +
                                        ("no DP" if v["epsilon"] is None else f"{v['epsilon']:g}")
                                        for v in members.values()])
    ax.set_xlabel("epsilon of the synthesis run")


def _plot_utility(members: Mapping[str, Mapping[str, Any]], trtr: Mapping[str, float], out_dir: Path) -> Plot:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for model, style in (("hgb", "o-"), ("linear", "s--")):
        name = "gradient boosting" if model == "hgb" else "logistic"
        line, = ax.plot(range(len(members)), [v["figures"][f"utility.tstr.{model}.auc"] for v in members.values()],
                        style, label=f"TSTR ({name})")
        ax.axhline(trtr[f"{model}.auc"], color=line.get_color(), lw=1, alpha=0.6, label=f"TRTR ({name})")
    _epsilon_axis(ax, members)
    ax.set_ylabel("ROC AUC on the real test split")
    ax.set_title("Utility vs privacy budget")
    ax.legend(fontsize=7)
    path = save_figure(fig, out_dir / "utility_vs_epsilon.png")
    return Plot("Utility (TSTR ROC AUC) vs epsilon, with the train-on-real line", str(path))


def _plot_privacy(members: Mapping[str, Mapping[str, Any]], out_dir: Path) -> Plot:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    xs = range(len(members))
    ax.plot(xs, [v["figures"]["privacy.dcr_share_train"] for v in members.values()], "o-",
            label="DCR share closer to train")
    ax.plot(xs, [v["figures"]["privacy.mia_auc"] for v in members.values()], "s--", label="distance MIA AUC")
    ax.axhline(0.5, color="grey", lw=1, label="ideal (0.5)")
    _epsilon_axis(ax, members)
    ax.set_ylabel("share / AUC")
    ax.set_title("Empirical privacy audit vs privacy budget")
    ax.legend(fontsize=7)
    path = save_figure(fig, out_dir / "privacy_vs_epsilon.png")
    return Plot("DCR share and membership-inference AUC vs epsilon", str(path))


def run_synth_evaluate(real_train: pd.DataFrame, real_test: pd.DataFrame, real_holdout: pd.DataFrame,
                       synthetic: Mapping[str, tuple[float | None, pd.DataFrame]], schema: TableSchema, *,
                       dataset: str = "", max_train_rows: int | None = None, fidelity_rows: int | None = 2000,
                       privacy_rows: int | None = 5000, artifact: str = "the evaluation's figures",
                       random_state: int = 0, progress: bool = False,
                       engines: Mapping[str, str] | None = None) -> SynthEvaluateResult:
    """Score every synthetic table of ``synthetic`` (name -> ``(epsilon or None, table)``) against the real splits
    with one train-on-real reference (:func:`trust.synth.evaluate.evaluate_synthetic`). ``engines`` (name ->
    engine) labels the tables for the side-by-side table; every table gets the same audits whatever made it.

    Raises:
        ConfigError: the schema has no target (utility needs one).
        DataError: a table lacks a schema column, holds text in a numeric column, ... (named).
    """
    from tqdm.auto import tqdm

    from trust.synth.evaluate import evaluate_synthetic, trtr_baseline

    if schema.target is None:
        raise ConfigError(f"dataset '{dataset}' has no target; utility needs one (set the schema's target)")
    if not synthetic:
        raise ConfigError("no synthetic table to evaluate")
    trtr = trtr_baseline(real_train, real_test, schema, max_train_rows=max_train_rows, random_state=random_state)
    members = {}
    for name, (eps, table) in tqdm(list(synthetic.items()), desc="synth evaluate", unit="table", disable=not progress):
        members[name] = {"epsilon": eps, "engine": (engines or {}).get(name), "figures": evaluate_synthetic(
            real_train, real_test, real_holdout, table, schema, random_state=random_state,
            max_train_rows=max_train_rows, fidelity_rows=fidelity_rows, privacy_rows=privacy_rows, trtr=trtr)}
    problem = schema.problem_type or ("classification" if schema[schema.target].kind == "categorical" else "regression")
    settings = {"max_train_rows": max_train_rows, "fidelity_rows": fidelity_rows, "privacy_rows": privacy_rows}
    return SynthEvaluateResult(dataset, schema.target, problem, trtr, members, settings, artifact)


__all__ = ["run_synth", "run_synth_evaluate", "model_delta", "SynthResult", "SynthEvaluateResult", "fit_rows", "label_share",
           "declared_bounds", "public_metadata", "OVERRIDE_SOURCE",
           "RELEASE_DIR", "BASELINE_DIR", "TABLE_FILE", "DEFAULT_POLICY", "PROTOCOL_SETTINGS"]
