"""Calibration figures: reliability diagrams and confidence histograms (matplotlib figures; no file is written).

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


__all__ = ["reliability_diagram", "confidence_histogram"]
