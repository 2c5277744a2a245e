"""Figures of an unlearning run (matplotlib figures returned, never saved here: :meth:`UnlearnResult.plots` saves).

- :func:`plot_certificate`: the certificate's figures (accuracies and membership tests) of every model of the
  run beside the retrained model's.
- :func:`plot_importance`: the concept method's Integrated-Gradients importance, classes x concepts.
- :func:`plot_accuracy_per_epoch`: accuracy on the forget rows and the remaining rows after each
  Stage 2 epoch (from ``history_["forget_pred"]`` / ``["remain_pred"]`` of a run with
  ``record_predictions=True``, scored by the caller's labels), with the retrained model's levels.
- :func:`plot_embeddings`: the first two principal components (fitted on the original model's
  embeddings) of forget vs remaining rows, before and after unlearning.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: the figures drawn by :func:`plot_certificate`, in order
CERTIFICATE_FIGURES = ("forget_accuracy", "test_forget_accuracy", "test_retain_accuracy", "loss_attack_advantage",
                       "ulira_auc", "ulira_tpr_at_1pct_fpr", "training_like_forget", "training_like_heldout")


def plot_certificate(figures: Mapping[str, Any], *, title: str = ""):
    """Grouped bars: each model's (``{name: Figures}``) certificate figures; the retrained model is the target."""
    plt = _pyplot()
    names = list(figures)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        d = figures[name].to_dict()
        vals = [d.get(k) if d.get(k) is not None else 0.0 for k in CERTIFICATE_FIGURES]
        ax.bar(np.arange(len(CERTIFICATE_FIGURES)) + i * width, vals, width, label=name.replace("_", " "))
    ax.set_xticks(np.arange(len(CERTIFICATE_FIGURES)) + 0.4 - width / 2,
                  [k.replace("_", " ") for k in CERTIFICATE_FIGURES], rotation=25, ha="right", fontsize=8)
    ax.set(ylabel="value", ylim=(0, 1.05), title=title or "Certificate: every model beside the retrained model")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_importance(importance: Mapping[str, Any], forget_class: int | None = None):
    """Heat map of ``{"classes", "concepts", "values"}`` (mean IG attribution to each class's own logit)."""
    plt = _pyplot()
    V = np.asarray(importance["values"], dtype=float)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    lim = float(np.abs(V).max()) or 1.0
    im = ax.imshow(V, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(V.shape[1]), importance["concepts"], rotation=45, ha="right")
    ax.set_yticks(range(V.shape[0]), [f"{c}{' (forget)' if c == forget_class else ''}" for c in importance["classes"]])
    ax.set(xlabel="concept", ylabel="class", title="Concept importance (mean Integrated Gradients to the class logit)")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return fig


def plot_accuracy_per_epoch(forget_acc: Sequence[float], remain_acc: Sequence[float], *,
                            before: tuple[float, float] | None = None,
                            retrained: Mapping[str, float] | None = None, title: str = ""):
    """Accuracy on the forget and remaining rows per epoch (epoch 0: the original model, ``before``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    start = 0 if before is not None else 1
    f = ([before[0]] if before else []) + list(forget_acc)
    r = ([before[1]] if before else []) + list(remain_acc)
    epochs = np.arange(start, start + len(f))
    ax.plot(epochs, f, "o-", color="tab:red", label="forget rows")
    ax.plot(epochs, r, "s-", color="tab:blue", label="remaining rows")
    if retrained:
        ax.axhline(retrained["forget"], color="tab:red", ls=":", label="retrained: forget")
        ax.axhline(retrained["remain"], color="tab:blue", ls=":", label="retrained: remaining")
    ax.set(xlabel="LAF epoch (0 = original model)", ylabel="accuracy", ylim=(-0.03, 1.03), title=title)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig


def plot_embeddings(before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray], *,
                    max_points: int = 600, random_state: Any = 0, title: str = ""):
    """PCA of ``(forget, remaining)`` embeddings before and after; the axes are fitted on ``before``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(random_state)

    def sample(a: np.ndarray) -> np.ndarray:
        return a if len(a) <= max_points else a[rng.choice(len(a), max_points, replace=False)]

    pca = PCA(n_components=2, random_state=0).fit(np.concatenate(before))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, (ef, er), name in zip(axes, (before, after), ("original model", "after LAF")):
        zr, zf = pca.transform(sample(er)), pca.transform(sample(ef))
        ax.scatter(zr[:, 0], zr[:, 1], s=6, alpha=0.4, color="tab:blue", label="remaining")
        ax.scatter(zf[:, 0], zf[:, 1], s=8, alpha=0.7, color="tab:red", label="forget")
        ax.set(title=name, xlabel="PC 1", ylabel="PC 2")
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


__all__ = ["plot_certificate", "plot_importance", "plot_accuracy_per_epoch", "plot_embeddings", "CERTIFICATE_FIGURES"]
