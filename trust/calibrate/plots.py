"""Calibration figures: reliability diagrams, confidence histograms, ECE against shift severity
(matplotlib figures; no file is written: :meth:`trust.calibrate.protocol.CalibrateResult.plots` saves them).

Labels first, as every metric in :mod:`trust.metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trust.metrics import check_probs, expected_calibration_error, reliability_curve


def reliability_diagram(y_true: Any, proba: Any, *, n_bins: int = 15, title: str = "", ax: Any = None) -> Any:
    """A reliability diagram (accuracy per confidence bin against the diagonal, gaps shaded); returns the figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    c = reliability_curve(y_true, proba, n_bins=n_bins)
    ece = expected_calibration_error(y_true, proba, n_bins=n_bins)
    fig = ax.figure if ax is not None else plt.figure(figsize=(3.6, 3.6))
    ax = ax if ax is not None else fig.add_subplot(111)
    width = 1.0 / n_bins
    centres = c["edges"][:-1] + width / 2
    m = c["count"] > 0
    ax.bar(centres[m], c["accuracy"][m], width=width, edgecolor="black", color="#4c72b0", label="accuracy")
    lo = np.minimum(c["accuracy"][m], c["confidence"][m])
    ax.bar(centres[m], np.abs(c["confidence"][m] - c["accuracy"][m]), bottom=lo, width=width, facecolor="none",
           edgecolor="#c44e52", hatch="//", label="gap to mean confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy",
           title=f"{title} (ECE {ece:.3f})" if title else f"ECE {ece:.3f}")
    ax.legend(loc="upper left", fontsize=7)
    return fig


def confidence_histogram(y_true: Any, proba: Any, *, n_bins: int = 15, title: str = "", ax: Any = None) -> Any:
    """Histogram of the top-label confidence with the accuracy and mean confidence marked; returns the figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    y, P = check_probs(y_true, proba)
    conf = P.max(axis=1)
    fig = ax.figure if ax is not None else plt.figure(figsize=(3.6, 3.0))
    ax = ax if ax is not None else fig.add_subplot(111)
    ax.hist(conf, bins=np.linspace(0, 1, n_bins + 1), color="#4c72b0", edgecolor="black", weights=np.full(len(conf), 1 / len(conf)))
    ax.axvline(float(np.mean(P.argmax(axis=1) == y)), color="black", ls="--", label="accuracy")
    ax.axvline(float(conf.mean()), color="#c44e52", ls="-", label="mean confidence")
    ax.set(xlim=(0, 1), xlabel="confidence", ylabel="share of rows", title=title)
    ax.legend(loc="upper left", fontsize=7)
    return fig


def reliability_panels(y_true: Any, probas: dict[str, Any], *, n_bins: int = 15, title: str = "") -> Any:
    """One reliability diagram per ``{label: proba}``, side by side; returns the figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(probas), figsize=(3.6 * len(probas), 3.6), squeeze=False)
    for ax, (label, P) in zip(axes[0], probas.items()):
        reliability_diagram(y_true, P, n_bins=n_bins, title=label, ax=ax)
    if title:
        fig.suptitle(title, y=1.03)
    return fig


def ece_vs_shift(rows: Any, labels: dict[str, str]) -> Any:
    """ECE against shift severity per shift family (severity 0: in distribution), one line per method of
    ``labels`` (``{method: label}``); ``rows`` as :class:`~trust.calibrate.protocol.CalibrateResult` holds them."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fams = sorted({r["family"] for r in rows if r["family"] != "none"})
    fig, axes = plt.subplots(1, max(len(fams), 1), figsize=(4.2 * max(len(fams), 1), 3.4), squeeze=False)
    for ax, fam in zip(axes[0], fams):
        for m, label in labels.items():
            pts = sorted((r["severity"], r["ece"]) for r in rows if r["method"] == m and r["family"] in (fam, "none"))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        held = any(r["held_out"] for r in rows if r["family"] == fam)
        ax.set(title=f"{fam}{' (held out)' if held else ''}", xlabel="severity (0: in distribution)",
               ylabel="ECE (15 bins)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


__all__ = ["reliability_diagram", "confidence_histogram", "reliability_panels", "ece_vs_shift"]
