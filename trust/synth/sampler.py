"""The conditional vector and training-by-sampling (CTGAN / CTAB-GAN+), vectorised with numpy.

The conditional vector has one slot per category of every *discrete block* of the encoded row (the
transformer's ``cond_blocks_``: one-hot categoricals and, where the transformer lists them, the mode
indicators of continuous/mixed columns). A conditional vector sets one slot of one block to 1.

Three ways to draw them:

* :meth:`CondSampler.sample_train` (non-DP training-by-sampling): pick a block uniformly, pick a
  category with probability proportional to ``log(count + 1)`` and draw real rows *of that
  category* (rows sorted by category once per block; one vectorised draw, no Python loop).
* :meth:`CondSampler.cond_from_rows` (DP training): real rows come from Poisson sampling, and each
  row's conditional vector is derived from the row itself (a block chosen by a uniform that is a function
  of the row, the row's own category in it), so which rows are used does not depend on other rows and the
  sampling rate the accountant uses stays true.
* :meth:`CondSampler.sample_generation`: a block uniformly, a category with its true frequency
  (at generation time and for the fake rows of DP training). Under DP the frequencies come from
  the transformer's DP histogram release, never from the raw rows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class CondSampler:
    """Conditional vectors over discrete blocks ``[(start, end), ...]`` of the encoded row.

    Args:
        blocks: ``(start, end)`` column ranges of each discrete block in the encoded matrix.
        counts: per block, the category counts used for the generation-time frequencies
            (e.g. the transformer's, which are DP under DP training).
        data: the encoded real matrix; needed for training-by-sampling and
            :meth:`cond_from_rows` (each row's category per block is its arg-max).
    """

    def __init__(self, blocks: Sequence[tuple[int, int]], counts: Sequence[Sequence[float]],
                 data: np.ndarray | None = None) -> None:
        self.blocks = [(int(s), int(e)) for s, e in blocks]
        self.n_blocks = len(self.blocks)
        sizes = [e - s for s, e in self.blocks]
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])[:-1].astype(np.int64)  # within the cond vector
        self.dim = int(sum(sizes))
        gen = []
        for (s, e), c in zip(self.blocks, counts):
            c = np.clip(np.asarray(c, dtype=float), 0, None)
            if len(c) != e - s:
                raise ValueError(f"block ({s}, {e}) has {e - s} categories but {len(c)} counts")
            gen.append(c / c.sum() if c.sum() > 0 else np.full(len(c), 1.0 / len(c)))
        self._gen_p = gen
        self._gen_cdf = self._cdf(gen)
        self.row_cats: np.ndarray | None = None
        if data is not None and self.n_blocks:
            # (n, n_blocks): each row's category in each block
            self.row_cats = np.stack([np.argmax(data[:, s:e], axis=1) for s, e in self.blocks], axis=1)
            # per block, the row indices sorted by category; category k's rows are
            # _order[b, _start[b, k] : _start[b, k] + _count[b, k]]
            n, width = len(data), int(self.sizes.max())
            self._order = np.empty((self.n_blocks, n), dtype=np.int64)
            self._start = np.zeros((self.n_blocks, width), dtype=np.int64)
            self._count = np.zeros((self.n_blocks, width), dtype=np.int64)
            log_p = []
            for b, (s, e) in enumerate(self.blocks):
                cats = self.row_cats[:, b]
                self._order[b] = np.argsort(cats, kind="stable")
                cnt = np.bincount(cats, minlength=e - s)
                self._count[b, : e - s] = cnt
                self._start[b, : e - s] = np.concatenate([[0], np.cumsum(cnt)[:-1]])
                cnt = cnt.astype(float)
                lp = np.log(cnt + 1.0) * (cnt > 0)  # never request a category with no rows
                log_p.append(lp / lp.sum())
            self._train_cdf = self._cdf(log_p)

    @staticmethod
    def _cdf(ps: list[np.ndarray]) -> np.ndarray:
        """(n_blocks, max_size) cumulative probabilities, padded with 1."""
        if not ps:
            return np.zeros((0, 0))
        m = max(len(p) for p in ps)
        out = np.ones((len(ps), m))
        for b, p in enumerate(ps):
            out[b, : len(p)] = np.cumsum(p)
            out[b, len(p) - 1:] = 1.0
        return out

    def _draw(self, cdf: np.ndarray, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(len(blocks))[:, None]
        cats = (u > cdf[blocks]).sum(axis=1)
        return np.minimum(cats, self.sizes[blocks] - 1)

    def vectors(self, blocks: np.ndarray, cats: np.ndarray) -> np.ndarray:
        """One-hot conditional vectors for ``(block, category)`` pairs, float32 ``(n, dim)``."""
        out = np.zeros((len(blocks), self.dim), dtype=np.float32)
        if len(blocks):
            out[np.arange(len(blocks)), self.offsets[blocks] + cats] = 1.0
        return out

    # -- the three ways ---------------------------------------------------------------------
    def sample_train(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Training-by-sampling: ``(cond, blocks, cats, row_index)`` for ``n`` rows (non-DP only)."""
        if self.row_cats is None:
            raise RuntimeError("training-by-sampling needs the encoded data")
        blocks = rng.integers(0, self.n_blocks, size=n)
        cats = self._draw(self._train_cdf, blocks, rng)
        # rows of the requested category: a uniform position within that category's rows
        pos = (rng.random(n) * self._count[blocks, cats]).astype(np.int64)
        rows = self._order[blocks, self._start[blocks, cats] + pos]
        return self.vectors(blocks, cats), blocks, cats, rows

    def cond_from_rows(self, rows: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """DP: each row conditioned on its own category in a block chosen at random: ``(cond, blocks, cats)``.

        ``u``: one uniform in [0, 1) per row, which picks its block (``floor(u * n_blocks)``); under DP a function of
        the row itself (:class:`trust.privacy.noise.RowStreams`), so no row's block depends on the other rows.
        """
        if self.row_cats is None:
            raise RuntimeError("cond_from_rows needs the encoded data")
        u = np.asarray(u, dtype=float).reshape(-1)
        blocks = np.minimum((u * self.n_blocks).astype(np.int64), max(self.n_blocks - 1, 0))
        cats = self.row_cats[rows, blocks] if len(rows) else np.zeros(0, dtype=np.int64)
        return self.vectors(blocks, cats), blocks, cats

    def sample_generation(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Generation time: a block uniformly, a category with its (released) frequency: ``(cond, blocks, cats)``."""
        blocks = rng.integers(0, self.n_blocks, size=n)
        cats = self._draw(self._gen_cdf, blocks, rng)
        return self.vectors(blocks, cats), blocks, cats

    def fixed(self, block: int, cat: int, n: int) -> np.ndarray:
        """``n`` copies of the conditional vector asking for category ``cat`` of block ``block``."""
        return self.vectors(np.full(n, block, dtype=np.int64), np.full(n, cat, dtype=np.int64))


__all__ = ["CondSampler"]
