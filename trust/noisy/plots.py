"""Figures of the noisy-labels stage: per-class accuracy by method, and recovered vs true class means in 2-D.

Both return a matplotlib figure (the caller saves it); no file I/O here.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np


def plot_per_class_accuracy(per_class: Mapping[str, Any], counts: Any, title: str = "") -> Any:
    """Grouped bars: test accuracy of each class (ordered by training count, largest first) per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(counts)
    order = np.argsort(-counts, kind="stable")
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(len(per_class), 1)
    for i, (name, acc) in enumerate(per_class.items()):
        ax.bar(np.arange(len(order)) + i * width, np.asarray(acc)[order], width, label=name)
    ax.set_xticks(np.arange(len(order)) + 0.4 - width / 2)
    ax.set_xticklabels([f"{c}\n({counts[c]})" for c in order], fontsize=8)
    ax.set_xlabel("class (clean training rows)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title(title or "Per-class test accuracy (head to tail)")
    return fig


def plot_recovered_means(Z: Any, y_clean: Any, y_noisy: Any, recovered_means: Any, title: str = "") -> Any:
    """PCA of the contrastive representations ``Z``: rows coloured by true class; per class the true mean
    (circle), the naive mean under the noisy labels (cross) and the recovered mean (star)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    Z, y_clean, y_noisy = np.asarray(Z), np.asarray(y_clean), np.asarray(y_noisy)
    K = len(recovered_means)
    pca = PCA(n_components=2, random_state=0).fit(Z)
    P = pca.transform(Z)
    true = pca.transform(np.stack([Z[y_clean == c].mean(0) for c in range(K)]))
    naive = pca.transform(np.stack([Z[y_noisy == c].mean(0) for c in range(K)]))
    rec = pca.transform(np.asarray(recovered_means))
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10")
    ax.scatter(P[:, 0], P[:, 1], c=[cmap(c % 10) for c in y_clean], s=4, alpha=0.25)
    for c in range(K):
        col = cmap(c % 10)
        ax.plot(*true[c], "o", color=col, ms=9, mec="k")
        ax.plot(*naive[c], "x", color=col, ms=9, mew=2)
        ax.plot(*rec[c], "*", color=col, ms=13, mec="k")
        ax.plot([true[c, 0], rec[c, 0]], [true[c, 1], rec[c, 1]], "-", color=col, lw=0.8)
    ax.plot([], [], "ko", label="true mean (clean labels)")
    ax.plot([], [], "kx", label="naive mean (noisy labels)")
    ax.plot([], [], "k*", label="recovered mean (RCAL)")
    ax.legend(fontsize=8)
    ax.set_title(title or "Contrastive representations (PCA): recovered vs true class means")
    return fig


__all__ = ["plot_per_class_accuracy", "plot_recovered_means"]
