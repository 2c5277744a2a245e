"""The evidence of an unlearning run: its checks and flat metrics (what :class:`~trust.unlearn.UnlearnResult` writes).

- :func:`checks_of`: the unlearned model's gates (each with its policy key; the report re-gates them), then
  stage checks (shown, never gates): the two controls of the certificate (the original model must fail it,
  a second retrained model must pass every gate), how many membership gates the original fails (a
  gate it passes has no power on these data) and, for the concept method, the
  quality of the concept analysis (CAV accuracy, the bottleneck's accuracy, Integrated Gradients'
  completeness).
- :func:`metrics_of`: ``<model>.<figure>`` for the four models of the certificate (``unlearned``,
  ``retrained``, ``original``, ``retrained_other_seed``) and ``comparison.<method>.<figure>`` for the others,
  ``seconds.<part>`` and the runtime ratios, ``certificate.passed`` / ``certificate.power`` (1 or 0).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from trust.evidence import Check
from trust.unlearn.certificate import Certificate, Figures


def _flag(name: str, ok: bool, description: str) -> Check:
    return Check(name, 1.0 if ok else 0.0, 1.0, "==", description=description)


def checks_of(cert: Certificate, analysis: Mapping[str, Any]) -> list[Check]:
    """The model's gates, the controls and the method's stage checks (module docstring)."""
    orig, other = cert.controls["original"], cert.controls["retrained_other_seed"]
    out = list(cert.checks)
    out.append(_flag("Control: the original model, offered as unlearned, fails the certificate", not orig.passed,
                     "the certificate's power: " + "; ".join(c.sentence() for c in orig.checks)))
    out.append(_flag("Control: a second model retrained with another seed passes every gate", other.passed,
                     "; ".join(c.sentence() for c in other.checks)))
    power = cert.membership_power()
    out.append(Check("Control: membership gates the original model fails", float(sum(power.values())),
                     description=f"of {len(power)} ({', '.join(k for k, v in power.items() if not v) or 'none'} "
                                 "passed by the original: no power on these data)"))
    if "cav_accuracy" in analysis:
        cav = [v for v in analysis["cav_accuracy"].values() if v is not None and np.isfinite(v)]
        out += [
            Check("CAVs: mean held-out accuracy", float(np.mean(cav)) if cav else None, 0.5, ">",
                  description="linear SVM per concept on the model's embeddings, scored on held-out rows"),
            Check("Concept bottleneck accuracy: shortfall from the original model",
                  analysis["model_accuracy"] - analysis["pcbm_accuracy"], 0.1, "<=",
                  description="held-out accuracy of the original model minus the concept bottleneck's"),
            Check("Integrated Gradients: largest |convergence delta|", analysis["ig_delta"], 1e-3, "<=",
                  description="completeness error of the attributions (sum vs logit difference to the baseline)"),
        ]
    return out


def metrics_of(cert: Certificate, comparison: Mapping[str, Figures], seconds: Mapping[str, Any]) -> dict[str, float | None]:
    """Flat numbers for DVC and MLflow (module docstring)."""
    out: dict[str, float | None] = {}
    for who, fig in cert.figures.items():
        out.update({f"{who}.{k}": v for k, v in fig.to_dict().items()})
    for name, fig in comparison.items():
        key = name.lower().replace("+", "_").replace(" ", "_")
        out.update({f"comparison.{key}.{k}": v for k, v in fig.to_dict().items()})
    out.update({f"seconds.{k}": (None if v is None else float(v)) for k, v in seconds.items()})
    out["certificate.passed"] = float(cert.passed)
    out["certificate.power"] = float(cert.power)
    return out


__all__ = ["checks_of", "metrics_of"]
