"""Figures of a Label-Agnostic Forgetting run (matplotlib figures returned, never saved here).

- :func:`plot_accuracy_per_epoch`: accuracy on the forget rows and the remaining rows after each
  Stage 2 epoch (from ``history_["forget_pred"]`` / ``["remain_pred"]`` of a run with
  ``record_predictions=True``, scored by the caller's labels), with the retrained model's levels.
- :func:`plot_embeddings`: the first two principal components (fitted on the original model's
  embeddings) of forget vs remaining rows, before and after unlearning.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np


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


__all__ = ["plot_accuracy_per_epoch", "plot_embeddings"]
