"""The calibration protocol: ``run_calibrate(...) -> CalibrateResult`` (the stage, ``trust calibrate fit``
and ``benchmarks/calibration.py`` all call it).

1. Each set's logits (and, for the CA methods, view logits) are computed once from ``model``, or taken
   as given (:meth:`~trust.calibrate.experiments.EvalSet.from_logits`).
2. The **deployed** calibrator is chosen among ``candidates`` on the validation split by
   :func:`~trust.calibrate.selection.select_calibrator` (the lowest cross-validated NLL by default);
   the test sets are never read for the choice.
3. Every method of ``methods`` (always with ``"uncalibrated"`` and the candidates) is fitted on the
   whole validation split and scored on every test set with :func:`trust.metrics.calibration_metrics`;
   the deployed calibrator's and the uncalibrated model's ECE on the ``"in_distribution"`` set get
   percentile bootstrap intervals.

The result gates (:meth:`CalibrateResult.to_evidence`): the deployed calibrator's in-distribution ECE
against ``policy.max_ece`` (absolute), and its ratio to the uncalibrated model's ECE on the same rows
against ``policy.max_ece_ratio_to_uncalibrated`` (relative: a calibrator must not make the model
worse calibrated); under shift a stage check compares the mean ECE over the shifted sets with the
uncalibrated model's.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from trust._validation import check_option, check_random_state, check_scalar, fork_seed
from trust.calibrate.experiments import LABELS, METHODS, VIEW_METHODS, EvalSet, make_calibrators, shift_average
from trust.calibrate.schema import CALIBRATE_SCHEMA
from trust.calibrate.selection import RULES, Selection, select_calibrator
from trust.errors import ConfigError, DataError
from trust.evidence import Check, Evidence, Plot, Result, gate, save_figure
from trust.calibrate.baselines import check_logits, softmax
from trust.metrics import METRICS, bootstrap_ci, calibration_metrics, expected_calibration_error

#: the calibrators the deployed one is chosen from by default: those that keep the predicted class
CANDIDATES = ("uncalibrated", "temperature", "ca", "ca_prior")
IN_DISTRIBUTION = "in_distribution"
_SHIFTED_KEYS = ("accuracy", "ece")


def _interval(t: tuple[float, float, float] | None) -> dict[str, float] | None:
    return None if t is None else {"value": float(t[0]), "low": float(t[1]), "high": float(t[2])}


@dataclasses.dataclass(frozen=True)
class CalibrateResult(Result):
    """What :func:`run_calibrate` returns: every method's figures on every set, the fitted calibrators, the
    deployed one and how it was chosen. ``rows``: one dict per (set, method) with
    :func:`~trust.metrics.calibration_metrics`; ``probs[set][method]`` and ``labels[set]`` feed the plots;
    ``ece`` / ``uncalibrated_ece``: ``(value, low, high)`` on the in-distribution set (None without one)."""

    kind: ClassVar[str] = "calibrate"

    dataset: str
    deployed: str
    selection: Selection
    rows: tuple[Mapping[str, Any], ...]
    calibrators: Mapping[str, Any]
    probs: Mapping[str, Mapping[str, np.ndarray]]
    labels: Mapping[str, np.ndarray]
    sets: Mapping[str, Mapping[str, Any]]
    n_bins: int = 15
    ece: tuple[float, float, float] | None = None
    uncalibrated_ece: tuple[float, float, float] | None = None
    private: bool = False

    @property
    def deployed_calibrator(self) -> Any:
        """The fitted calibrator deployed (None when the uncalibrated model was chosen)."""
        return self.calibrators[self.deployed]

    def figures(self, set_name: str = IN_DISTRIBUTION) -> dict[str, dict[str, float]]:
        """``{method: metrics}`` on one set."""
        return {r["method"]: {k: r[k] for k in METRICS} for r in self.rows if r["set"] == set_name}

    def shift_average(self) -> dict[str, dict[str, float]]:
        """Per method: mean ECE in distribution, over the shifted sets and over the held-out ones."""
        return shift_average(self.rows)

    def _checks(self, policy: Mapping[str, Any] | None) -> list[Check]:
        label = LABELS.get(self.deployed, self.deployed)
        ece = self.ece[0] if self.ece else None
        unc = self.uncalibrated_ece[0] if self.uncalibrated_ece else None
        ci = f"95% bootstrap interval [{self.ece[1]:.4f}, {self.ece[2]:.4f}]; " if self.ece else ""
        how = (f"chosen on the validation split by the lowest {self.selection.n_folds}-fold cross-validated "
               f"{self.selection.rule.upper()} among {', '.join(self.selection.scores)}")
        checks = [
            gate(f"{self.dataset}: ECE of the deployed calibrator ({label}), test split", ece, policy, "max_ece",
                 description=f"top-label ECE, {self.n_bins} equal-width bins; {ci}{how}"),
            gate(f"{self.dataset}: ECE of the deployed calibrator ({label}) relative to the uncalibrated model, test split",
                 ece, policy, "max_ece_ratio_to_uncalibrated", reference="uncalibrated model", reference_figure=unc,
                 description="the deployed calibrator's ECE over the uncalibrated model's on the same test rows; above "
                             "1 the calibrator made the model worse calibrated"),
        ]
        avg = self.shift_average()
        if self.deployed in avg and np.isfinite(avg[self.deployed]["shifted"]):
            checks.append(Check.relative(
                f"{self.dataset}: mean ECE under shift of the deployed calibrator ({label})", avg[self.deployed]["shifted"],
                avg["uncalibrated"]["shifted"], reference="uncalibrated model", threshold=1.0, comparator="<=",
                description="mean ECE over the shifted test sets relative to the uncalibrated model's (a stage check)"))
        return checks

    def _details(self) -> dict[str, Any]:
        avg = self.shift_average()
        ind = self.figures(IN_DISTRIBUTION)
        methods = {m: {"label": LABELS.get(m, m), "in_distribution": {k: _finite(v) for k, v in ind.get(m, {}).items()},
                       "shifted": _finite(avg.get(m, {}).get("shifted")), "held_out": _finite(avg.get(m, {}).get("held_out"))}
                   for m in self.calibrators}
        ts = self.calibrators.get("temperature")
        return {"dataset": self.dataset, "deployed": self.deployed, "deployed_label": LABELS.get(self.deployed, self.deployed),
                "selection": self.selection.to_dict(), "n_bins": self.n_bins, "ece": _interval(self.ece),
                "uncalibrated_ece": _interval(self.uncalibrated_ece), "methods": methods,
                "sets": {k: dict(v) for k, v in self.sets.items()},
                "temperature": getattr(ts, "temperature_", None), "order": list(self.calibrators)}

    def _metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.rows:
            keys = list(METRICS) if r["set"] == IN_DISTRIBUTION else _SHIFTED_KEYS
            out.update({".".join((r["set"], r["method"], k)): r[k] for k in keys})
        for m, d in self.shift_average().items():
            out[".".join(("shift_mean", m, "ece"))] = d["shifted"]
        if self.ece:
            out["deployed.ece"] = self.ece[0]
        return out

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """Checks (``max_ece``, ``max_ece_ratio_to_uncalibrated``, the shift stage check), flat metrics, details
        valid against :data:`~trust.calibrate.schema.CALIBRATE_SCHEMA`; a non-DP use when the rows are private."""
        non_dp = ([{"dataset": self.dataset, "artifact": f"calibrators of the {self.dataset} base model",
                    "what": f"non-private calibrators of the {self.dataset} base model and their figures on its test rows"}]
                  if self.private else [])
        return Evidence(self.kind, title=f"Calibration correction: {self.dataset}", checks=tuple(self._checks(policy)),
                        metrics=self._metrics(), details=self._details(), non_dp=tuple(non_dp),
                        details_schema=CALIBRATE_SCHEMA)

    def plots(self, out_dir: str | os.PathLike[str]) -> list[Plot]:
        """``reliability.png`` (uncalibrated, temperature scaling, CA, the deployed one) and ``ece_vs_shift.png``."""
        from trust.calibrate.plots import ece_vs_shift, reliability_panels

        out = Path(out_dir)
        if IN_DISTRIBUTION not in self.probs:
            return []
        shown = [m for m in dict.fromkeys(("uncalibrated", "temperature", "ca", "ca_prior", self.deployed))
                 if m in self.probs[IN_DISTRIBUTION]]
        fig = reliability_panels(self.labels[IN_DISTRIBUTION], {LABELS.get(m, m): self.probs[IN_DISTRIBUTION][m] for m in shown},
                                 n_bins=self.n_bins, title=f"{self.dataset}: reliability on the test split")
        plots = [Plot(f"{self.dataset}: reliability diagrams ({', '.join(LABELS.get(m, m) for m in shown)}), test split",
                      str(save_figure(fig, out / "reliability.png")))]
        if any(r["family"] != "none" for r in self.rows):
            fig = ece_vs_shift(self.rows, {m: LABELS.get(m, m) for m in shown})
            plots.append(Plot(f"{self.dataset}: ECE vs shift severity", str(save_figure(fig, out / "ece_vs_shift.png"))))
        return plots

    def save(self, out_dir: str | os.PathLike[str]) -> None:
        """The deployed calibrator to ``out_dir/calibrator`` (nothing when the uncalibrated model was chosen)."""
        if self.deployed_calibrator is not None:
            self.deployed_calibrator.save(Path(out_dir) / "calibrator")


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _logits(s: EvalSet, model: Any, need_views: bool, views: Any, seed: int) -> tuple[np.ndarray, Any]:
    """``(logits, view_logits)`` of a set, checked: given, or computed from ``model``."""
    from trust.calibrate.baselines import check_logits
    from trust.calibrate.ca import check_view_logits, view_logits

    if s.logits is not None:
        if need_views and s.view_logits is None:
            raise DataError("the CA methods need view_logits for every set; give them, or drop the CA methods")
        Z, V = s.logits, s.view_logits
    elif model is None:
        raise ConfigError("a set given by its rows needs the fitted model: pass model=")
    else:
        Z = model.decision_function(s.X)
        V = view_logits(model, s.X, views, random_state=seed) if need_views else None
    Z, _ = check_logits(Z, s.y)
    return Z, (check_view_logits(V, Z) if need_views else None)


def _score(tests: Mapping[str, EvalSet], cals: Mapping[str, Any], model: Any, need_views: bool, views: Any,
           n_bins: int, rng: np.random.Generator):
    """Every method on every set: ``(rows, probs, labels, sets)``."""
    rows, probs, labels, sets = [], {}, {}, {}
    for name, ts in tests.items():
        Z, V = _logits(ts, model, need_views, views, fork_seed(rng))
        labels[name], probs[name] = np.asarray(ts.y), {}
        sets[name] = {"family": ts.family, "severity": float(ts.severity), "held_out": bool(ts.held_out), "rows": len(Z)}
        for m, c in cals.items():
            P = softmax(Z) if c is None else c.predict_proba(Z, V)
            probs[name][m] = P
            rows.append({"set": name, "family": ts.family, "severity": float(ts.severity), "held_out": bool(ts.held_out),
                         "method": m, **calibration_metrics(ts.y, P, n_bins=n_bins)})
    return tuple(rows), probs, labels, sets


def _check_methods(methods: Sequence[str], candidates: Sequence[str], rule: str) -> list[str]:
    check_option(rule, "rule", RULES)
    for m in (*methods, *candidates):
        check_option(m, "method", METHODS)
    if not candidates:
        raise ConfigError("candidates is empty; list the calibrators to choose from (e.g. ['temperature'])")
    return list(dict.fromkeys(("uncalibrated", *candidates, *methods)))


def run_calibrate(val: EvalSet, tests: Mapping[str, EvalSet], *, model: Any = None, methods: Sequence[str] = METHODS,
                  candidates: Sequence[str] = CANDIDATES, rule: str = "nll", n_folds: int = 5,
                  ca: Mapping[str, Any] | None = None, views: Sequence[Any] | None = None, n_bins: int = 15,
                  n_boot: int = 200, dataset: str = "data", private: bool = False, random_state: Any = 0,
                  device: str = "auto") -> CalibrateResult:
    """Fit, choose and score calibrators of ``model`` (module docstring).

    Args:
        val: the in-distribution validation set every calibrator is fitted on (and the deployed one chosen on).
        tests: named sets to score; ``"in_distribution"`` is the one the gates read, the others are shifts.
        model: the fitted classifier (``decision_function``), for sets given by their rows.
        methods: every method to fit and score (:data:`~trust.calibrate.experiments.METHODS`).
        candidates: the methods the deployed one is chosen from; rule, n_folds: how (:mod:`trust.calibrate.selection`).
        ca: CA calibrator settings; views: the CA views (None: the defaults of the model's input kind).
        n_bins: ECE bins; n_boot: bootstrap resamples of the in-distribution ECE intervals.
        dataset: the name the figures carry; private: the rows are private (the evidence records a non-DP use).
        random_state: seed of the views, the folds and the CA networks; device: the CA networks' device.
    """
    methods = _check_methods(methods, candidates, rule)
    check_scalar(n_bins, "n_bins", int, min_val=1)
    check_scalar(n_boot, "n_boot", int, min_val=1)
    rng = check_random_state(random_state)
    need_views = any(m in VIEW_METHODS for m in methods)
    settings = {"device": device, **dict(ca or {})}
    Zv, Vv = _logits(val, model, need_views, views, fork_seed(rng))
    _, yv = check_logits(Zv, val.y, fitting=True)
    seed = fork_seed(rng) % (2**31)
    selection = select_calibrator(make_calibrators(candidates, ca=settings, random_state=seed), Zv, yv, Vv, rule=rule,
                                  n_folds=n_folds, n_bins=n_bins, random_state=fork_seed(rng))
    cals = make_calibrators(methods, ca=settings, random_state=seed)
    for c in cals.values():
        if c is not None:
            c.fit(Zv, yv, Vv)
    rows, probs, labels, sets = _score(tests, cals, model, need_views, views, n_bins, rng)
    intervals = {}
    if IN_DISTRIBUTION in probs:
        for m in dict.fromkeys((selection.best, "uncalibrated")):
            intervals[m] = bootstrap_ci(expected_calibration_error, labels[IN_DISTRIBUTION], probs[IN_DISTRIBUTION][m],
                                        n_boot=n_boot, random_state=seed, n_bins=n_bins)
    return CalibrateResult(dataset, selection.best, selection, rows, cals, probs, labels, sets, n_bins,
                           intervals.get(selection.best), intervals.get("uncalibrated"), private)


__all__ = ["CANDIDATES", "IN_DISTRIBUTION", "CalibrateResult", "run_calibrate"]
