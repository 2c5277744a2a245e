"""The figures of an update result: flips vs accuracy per method, and the trade-off over the margin bias ``b``.

Each function draws one PNG under ``out_dir`` with :func:`trust.evidence.save_figure` (atomic) and returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trust.evidence import save_figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def nfr_accuracy_plot(result: Any, out_dir: Path) -> Path:
    """Each method's test accuracy (x) and NFR (y), the naive update's NFR and the seed floor as lines."""
    from trust.update.protocol import NAMES

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for m, f in result.figures.items():
        ax.scatter(f["accuracy"], f["nfr"], s=40, label=NAMES.get(m, m) + (" (deployed)" if m == result.deployed else ""))
    ax.axhline(result.figures["naive"]["nfr"], color="grey", ls="--", lw=1, label="naive NFR")
    ax.axhline(result.seed_floor_nfr, color="k", ls=":", lw=1, label="seed floor (two naive updates)")
    ax.set_xlabel(f"accuracy, all classes ({result.evaluated_on})")
    ax.set_ylabel("NFR (old-class rows)")
    ax.set_title(f"{result.dataset or 'update'}: flips vs accuracy per method")
    ax.legend(fontsize=6)
    return save_figure(fig, Path(out_dir) / "nfr_vs_accuracy.png")


def b_curve_plot(result: Any, out_dir: Path) -> Path:
    """NFR and new-class accuracy over ``b`` (margin-preserving and margin term alone), naive and floor as lines."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for method, style in (("mpt", "o-"), ("margin_only", "s--")):
        pts = sorted((c for c in result.curve if c["method"] == method), key=lambda c: c["b"])
        if pts:
            bs = [c["b"] for c in pts]
            axes[0].plot(bs, [c["test"]["nfr"] for c in pts], style, label=method)
            axes[1].plot(bs, [c["test"]["new_class_accuracy"] for c in pts], style, label=method)
    for ax, key, ylabel in ((axes[0], "nfr", "NFR (old-class rows)"), (axes[1], "new_class_accuracy", "new-class accuracy")):
        ax.axhline(result.figures["naive"][key], color="grey", ls="--", lw=1, label="naive")
        ax.set_xlabel("margin bias b")
        ax.set_ylabel(ylabel)
    axes[0].axhline(result.seed_floor_nfr, color="k", ls=":", lw=1, label="seed floor")
    if result.b_chosen is not None:
        for ax in axes:
            ax.axvline(result.b_chosen, color="C3", lw=0.8)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{result.dataset or 'update'}: the trade-off over b ({result.evaluated_on}; red: b chosen on validation)")
    return save_figure(fig, Path(out_dir) / "b_curve.png")


__all__ = ["nfr_accuracy_plot", "b_curve_plot"]
