"""The pieces of the calibration protocol (:func:`trust.calibrate.protocol.run_calibrate` runs them):
the methods by name, the sets they are scored on, and summaries over seeds.

- :data:`METHODS` and :func:`make_calibrators`: every method by name (``"uncalibrated"``, the four
  baselines, the CA calibrator with the paper's loss, its two ablations, the unweighted diagnostic and
  our prior-corrected variant ``"ca_prior"``); :data:`LABELS` their names in figures and reports.
- :class:`EvalSet`: rows to score (``X``, or a model's precomputed ``logits`` and ``view_logits``), their
  labels, and the shift they carry. :func:`shifted_sets` builds the shifted sets of images and signals:

- images: ``rotation`` up to 15 / 30 / 45 degrees (the family of one of the calibrator's views, at
  larger severities), ``noise`` of sd 0.1 / 0.2 / 0.3 (held out: no view adds noise);
- signals: ``shift`` up to 8 / 12 / 16 steps (a view's family, larger), ``noise`` of sd 0.25 / 0.5 / 1.0
  (held out).

Tables are shifted by the caller's choice of rows (a covariate-shift split: fit on one group, test on
another). :func:`summarize` turns the rows of several seeds into mean and a 95 % t-interval per
(set, method); :func:`shift_average` the mean ECE per method in distribution, shifted and held out.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np

from trust._validation import check_option, check_random_state, fork_seed
from trust.calibrate.baselines import BASELINES
from trust.calibrate.ca import CorrectnessAwareCalibrator
from trust.errors import ConfigError

METHODS = ("uncalibrated", "temperature", "vector", "histogram", "isotonic", "ca", "ca_prior", "ca_ce", "ca_mse",
           "ca_unbalanced")
VIEW_METHODS = ("ca", "ca_prior", "ca_ce", "ca_mse", "ca_unbalanced")
#: every method's name in figures and the report (``ca_prior`` is ours, not the paper's)
LABELS = {"uncalibrated": "uncalibrated", "temperature": "temperature scaling", "vector": "vector scaling",
          "histogram": "histogram binning", "isotonic": "isotonic regression", "ca": "CA (paper's loss)",
          "ca_prior": "CA, prior-corrected (ours)", "ca_ce": "CA network, CE loss (ablation)",
          "ca_mse": "CA network, MSE loss (ablation)", "ca_unbalanced": "CA loss, unweighted (diagnostic)"}

SHIFTS: dict[str, dict[str, list[float]]] = {
    "image": {"rotation": [15.0, 30.0, 45.0], "noise": [0.1, 0.2, 0.3]},
    "signal": {"shift": [8, 12, 16], "noise": [0.25, 0.5, 1.0]},
}
HELD_OUT = {"image": ("noise",), "signal": ("noise",)}


def _shift_view(kind: str, family: str, severity: float) -> Any:
    from trust.models.views import ImageView, SignalView

    if kind == "image":
        if family == "rotation":
            return ImageView(max_shift=0.0, max_rotation=float(severity), noise=0.0)
        return ImageView(max_shift=0.0, max_rotation=0.0, noise=float(severity))
    if family == "shift":
        return SignalView(max_shift=int(severity), scale=0.0, noise=0.0, mask=0.0)
    return SignalView(max_shift=0, scale=0.0, noise=float(severity), mask=0.0)


@dataclasses.dataclass
class EvalSet:
    """Rows to score: ``X`` (or a model's ``logits`` on them and, for the CA methods, its ``view_logits``),
    labels ``y``, the shift ``family`` (``"none"`` in distribution), its ``severity`` and whether the family is
    held out from the CA calibrator's views."""

    X: Any
    y: np.ndarray
    family: str = "none"
    severity: float = 0.0
    held_out: bool = False
    logits: Any = None
    view_logits: Any = None

    @classmethod
    def from_logits(cls, logits: Any, y: Any, view_logits: Any = None, **shift: Any) -> "EvalSet":
        """A set given by a model's logits (and view logits) rather than by its rows."""
        return cls(None, np.asarray(y) if y is not None else None, logits=logits, view_logits=view_logits, **shift)


def shifted_sets(X: Any, y: Any, kind: str, *, shifts: Mapping[str, Sequence[float]] | None = None,
                 random_state: Any = 0) -> dict[str, EvalSet]:
    """``{"<family>_<severity>": EvalSet}`` of transformed copies of ``X`` (images or signals; see the module docstring)."""
    check_option(kind, "kind", tuple(SHIFTS))
    rng = check_random_state(random_state)
    out = {}
    for family, severities in (shifts or SHIFTS[kind]).items():
        check_option(family, "shift family", tuple(SHIFTS[kind]))
        for s in severities:
            out[f"{family}_{s:g}"] = EvalSet(_shift_view(kind, family, s)(X, fork_seed(rng)), np.asarray(y), family,
                                             float(s), family in HELD_OUT[kind])
    return out


def make_calibrators(methods: Sequence[str] = METHODS, *, ca: Mapping[str, Any] | None = None,
                     random_state: int = 0) -> dict[str, Any]:
    """Unfitted calibrators by method name (``"uncalibrated"`` maps to None); ``ca``: CA calibrator settings.

    ``ca``, ``ca_ce``, ``ca_mse``: the CA calibrator with the paper's loss and its two ablations;
    ``ca_prior``: the paper's loss with its prior shift undone at prediction (our variant);
    ``ca_unbalanced``: the CA loss without the correct/wrong re-weighting (a diagnostic)."""
    out: dict[str, Any] = {}
    for m in methods:
        check_option(m, "method", METHODS)
        if m == "uncalibrated":
            out[m] = None
        elif m in BASELINES:
            out[m] = BASELINES[m]()
        else:
            loss = {"ca": "ca", "ca_prior": "ca", "ca_ce": "ce", "ca_mse": "mse", "ca_unbalanced": "ca"}[m]
            try:
                out[m] = CorrectnessAwareCalibrator(**{**dict(ca or {}), "loss": loss, "balance": m != "ca_unbalanced",
                                                       "prior_correction": m == "ca_prior", "random_state": random_state})
            except TypeError as e:
                raise ConfigError(f"unknown CA calibrator setting ({str(e).split('argument')[-1].strip()}); see "
                                  "trust.calibrate.CorrectnessAwareCalibrator") from None
    return out


def summarize(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str] = ("accuracy", "ece", "adaptive_ece", "nll"),
              ) -> list[dict[str, Any]]:
    """Per (set, method) over the seeds in ``rows``: ``<metric>`` (mean), ``<metric>_lo``/``_hi`` (95 % t-interval)."""
    from scipy import stats

    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["set"], r["method"]), []).append(r)
    out = []
    for (s, m), rs in groups.items():
        d: dict[str, Any] = {"set": s, "method": m, "family": rs[0]["family"], "severity": rs[0]["severity"],
                             "held_out": rs[0]["held_out"], "n_seeds": len(rs)}
        for k in metrics:
            v = np.array([r[k] for r in rs], dtype=float)
            half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
            d[k], d[f"{k}_lo"], d[f"{k}_hi"] = float(v.mean()), float(v.mean() - half), float(v.mean() + half)
        out.append(d)
    return out


def shift_average(rows: Sequence[Mapping[str, Any]], metric: str = "ece") -> dict[str, dict[str, float]]:
    """Per seed-free method: the mean of ``metric`` in distribution, over all shifted sets and over the held-out ones."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        d = out.setdefault(r["method"], {"in_distribution": [], "shifted": [], "held_out": []})
        if r["family"] == "none":
            d["in_distribution"].append(r[metric])
        else:
            d["shifted"].append(r[metric])
            if r["held_out"]:
                d["held_out"].append(r[metric])
    return {m: {k: float(np.mean(v)) if v else float("nan") for k, v in d.items()} for m, d in out.items()}


__all__ = ["METHODS", "VIEW_METHODS", "LABELS", "SHIFTS", "HELD_OUT", "EvalSet", "shifted_sets", "make_calibrators",
           "summarize", "shift_average"]
