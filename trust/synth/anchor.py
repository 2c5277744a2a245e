"""Marginal anchoring: pull the generator's per-column marginals towards the DP histogram release.

Not in CTAB-GAN+ (an addition, ``CTABGANPlus(marginal_weight=...)``, off by default). Under DP the
critic sees the data only through DP-SGD noise, and at small epsilon the generator's marginals can
drift (on Adult at epsilon 1, one seed's ``age`` drifted to the extremes of its range:
``benchmarks/README.md``). The fit has already paid for a DP release of every column's histogram
(:func:`trust.synth.dp_metadata.release_histograms`, used to fit the transformer); this module turns
that release into per-column target distributions and adds to the generator's loss the total
variation distance between each target and the batch's *soft* marginal of that column:

``L_marg = sum_c TV(m_c(fake), p_c) = sum_c 0.5 * || m_c(fake) - p_c ||_1``

Privacy: the targets are a function of the released histograms alone (and of the transformer fitted from
them), so the term is post-processing of an ``(epsilon_meta, 0)``-DP release and costs no further budget;
the generator reads no real row. It is computed on the generator's own batch, whose conditional vectors
come from the same DP frequencies (:meth:`trust.synth.sampler.CondSampler.sample_generation`: a block
uniformly, a category with its released frequency), so a generator that matched the data would match the
target in expectation. (Without DP the generator's batch is drawn by training-by-sampling, whose
category frequencies are not the marginals, and there is no release: the option needs DP.)

What each column's target and soft marginal are, in the release's own bins:

``categorical``
    Target: the released counts over the declared categories (and the missing bin), negatives set to 0
    (the same counts the conditional vector uses), normalised. Marginal: the batch mean of the column's
    gumbel-softmax span.
``continuous`` / ``mixed`` / ``general``
    Target: the release's continuous bins (denoised as the transformer does before fitting its mixtures:
    bins whose noisy count does not clear the level an empty bin reaches with probability 5 % are set to 0
    when any bin clears it; then adjacent bins are merged into ``bins`` wider ones, which halves the relative
    noise per merged pair); then what the soft assignment below makes of values spread uniformly within each bin
    (a small smoothing across bin edges, so that matching the histogram is optimal rather than a sharpened
    version of it); then the point-mass bins and the missing bin, normalised. Marginal: the decoded
    value of each row (the transformer's inverse, without the clip: ``t = 4 sd_k a + mu_k`` for each mode ``k``
    of a continuous/mixed column, ``t = (a + 1) / 2 (t_max - t_min) + t_min`` for a general one, in the
    release's binning domain, the log domain for ``log`` columns) is assigned softly to the bins, with
    ``P(bin j) = sigmoid((t - e_j) / h) - sigmoid((t - e_{j+1}) / h)``, ``h = bandwidth`` times the bin width,
    and the end bins open (as the release clips values into them); the mode probabilities weigh the
    modes' soft bins, the point-mass and missing probabilities fill their own bins; batch mean.

Soft assignment rather than hard binning so the term has a gradient; with ``bandwidth`` 0.25 a value at a
bin's centre puts 76 % of its mass in that bin, the rest in its neighbours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from trust.errors import ConfigError

#: merged bins per numeric column (the release's bins are merged in groups when they divide evenly)
DEFAULT_BINS = 16
#: width of the soft assignment, as a fraction of a bin's width
DEFAULT_BANDWIDTH = 0.25


@dataclass
class ColumnAnchor:
    """One column's target distribution and where its soft marginal comes from in the generator's output.

    Attributes:
        column, kind: the column and its schema kind.
        target: the normalised target distribution (float64), length ``n_bins + n_fixed``.
        span: ``(start, end)`` of the one-hot span (categorical) or of the mode span (numeric), or None.
        scalar: index of the tanh scalar (numeric only).
        n_bins: continuous bins of the target (numeric; 0 for categoricals).
        edges_lo, edges_hi: range of the bins in the binning domain.
        means, stds: the transformer's continuous modes in the binning domain (continuous / mixed).
        tmin, tmax: the general encoder's range (general only).
        n_fixed: point masses plus the missing bin (numeric), or the span's width (categorical).
        mode_offset: where the continuous modes start in the mode span (after masses and missing).
    """

    column: str
    kind: str
    target: np.ndarray
    span: tuple[int, int] | None = None
    scalar: int = -1
    n_bins: int = 0
    edges_lo: float = 0.0
    edges_hi: float = 1.0
    means: np.ndarray | None = None
    stds: np.ndarray | None = None
    tmin: float = 0.0
    tmax: float = 1.0
    n_fixed: int = 0
    mode_offset: int = 0


def _denoise(counts: np.ndarray, scale: float) -> np.ndarray:
    """The transformer's rule (``DataTransformer._fit_column_hist``): zero bins below ``scale * ln(J / 0.1)``
    when any bin clears it."""
    if scale > 0:
        tau = float(scale) * math.log(len(counts) / (2 * 0.05))
        if (counts > tau).any():
            return np.where(counts > tau, counts, 0.0)
    return counts


def _merge(counts: np.ndarray, bins: int) -> np.ndarray:
    if bins < len(counts) and len(counts) % bins == 0:
        return counts.reshape(bins, -1).sum(axis=1)
    return counts


def _soft_bins_np(u: np.ndarray, j: int, bandwidth: float) -> np.ndarray:
    """numpy twin of :meth:`MarginalAnchor._soft_bins` on positions ``u`` in bin widths."""
    cdf = 0.5 * (1.0 + np.tanh((u[:, None] - np.arange(1, j)[None, :]) / (2.0 * bandwidth)))   # the sigmoid
    cdf = np.concatenate([np.ones((len(u), 1)), cdf, np.zeros((len(u), 1))], axis=1)
    return cdf[:, :-1] - cdf[:, 1:]


def _smear(p: np.ndarray, bandwidth: float, points: int = 64) -> np.ndarray:
    """``S^T p`` with ``S[i, j]`` the mean soft assignment to bin ``j`` of values uniform within bin ``i``."""
    j = len(p)
    u = (np.arange(points) + 0.5) / points
    s = np.stack([_soft_bins_np(i + u, j, bandwidth).mean(axis=0) for i in range(j)])
    return s.T @ p


def _normalise(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 0, None)
    s = p.sum()
    return p / s if s > 0 else np.full(len(p), 1.0 / max(1, len(p)))


class MarginalAnchor:
    """Target marginals from a DP histogram release and the loss that pulls the generator towards them.

    Build with :meth:`from_release`; :meth:`loss` takes the generator's activated output (tanh scalars,
    gumbel-softmax spans; ``OutputLayout.activate``).
    """

    def __init__(self, columns: list[ColumnAnchor], bandwidth: float = DEFAULT_BANDWIDTH) -> None:
        if not bandwidth > 0:
            raise ConfigError(f"bandwidth={bandwidth!r} must be > 0 (a fraction of a bin's width, e.g. 0.25)")
        self.columns = columns
        self.bandwidth = float(bandwidth)
        self.device = torch.device("cpu")
        self._targets = [torch.as_tensor(c.target, dtype=torch.float32) for c in columns]
        # all categorical spans at once (one gather, one mean) for the loss; numeric columns one by one
        cats = [c for c in columns if c.kind == "categorical"]
        self._cat_idx = torch.as_tensor(np.concatenate([np.arange(*c.span) for c in cats]) if cats
                                        else np.zeros(0, dtype=np.int64))
        self._cat_target = torch.as_tensor(np.concatenate([c.target for c in cats]) if cats else np.zeros(0),
                                           dtype=torch.float32)
        self._numeric = [(c, t) for c, t in zip(columns, self._targets) if c.kind != "categorical"]
        self._tensors()

    def _tensors(self) -> None:
        """Per numeric column, its modes and inner bin edges as tensors on :attr:`device` (built once)."""
        self._const = {}
        for c in self.columns:
            if c.kind == "categorical":
                continue
            mu = torch.as_tensor(c.means if c.means is not None else np.zeros(0), dtype=torch.float32)
            sd = torch.as_tensor(c.stds if c.stds is not None else np.zeros(0), dtype=torch.float32)
            inner = torch.arange(1, c.n_bins, dtype=torch.float32)
            self._const[c.column] = tuple(x.to(self.device) for x in (mu, sd, inner))

    @classmethod
    def from_release(cls, release: Any, transformer: Any, *, bins: int = DEFAULT_BINS,
                     bandwidth: float = DEFAULT_BANDWIDTH) -> "MarginalAnchor":
        """The anchor of every column of ``transformer`` (fitted from ``release``), from ``release`` alone.

        Raises:
            ConfigError: the transformer was not fitted from a DP release, or the release lacks one of its columns.
        """
        if not getattr(transformer, "dp_", False):
            raise ConfigError("marginal anchoring needs a transformer fitted from a DP histogram release "
                              "(fit(None, schema, histograms=release))")
        cols: list[ColumnAnchor] = []
        for name in transformer.columns_:
            if name not in release.columns:
                raise ConfigError(f"the histogram release has no column '{name}'; release it with this schema")
            h = release.columns[name]
            state = transformer.column(name)
            spans = transformer.column_spans(name)
            if state.kind == "categorical":
                counts = list(np.asarray(h.counts, dtype=float))
                if state.missing:
                    counts.append(float(h.missing_count or 0.0))
                s = spans[0]
                cols.append(ColumnAnchor(name, "categorical", _normalise(counts), span=(s.start, s.end),
                                         n_fixed=s.width))
                continue
            cont = _merge(_denoise(np.asarray(h.counts, dtype=float), float(h.noise_scale)), bins)
            fixed = list(np.asarray(h.mass_counts, dtype=float)) if state.kind == "mixed" else []
            if state.missing:
                fixed.append(float(h.missing_count or 0.0))
            edges = np.asarray(h.edges, dtype=float)
            mode = spans[1] if len(spans) > 1 else None
            # what the soft assignment makes of values spread uniformly within each bin: the target the generator's
            # soft marginal is compared with (so that matching the histogram, not a sharpened one, is optimal)
            cont = _smear(cont / cont.sum(), bandwidth) * cont.sum() if cont.sum() > 0 else cont
            a = ColumnAnchor(name, state.kind, _normalise(np.concatenate([cont, fixed])),
                             span=None if mode is None else (mode.start, mode.end), scalar=spans[0].start,
                             n_bins=len(cont), edges_lo=float(edges[0]), edges_hi=float(edges[-1]),
                             n_fixed=len(fixed), mode_offset=len(fixed))
            if state.kind == "general":
                a.tmin, a.tmax = float(state.tmin), float(state.tmax)
            else:
                a.means = np.asarray(state.means, dtype=float)
                a.stds = np.asarray(state.stds, dtype=float)
            cols.append(a)
        return cls(cols, bandwidth)

    def to(self, device: torch.device | str) -> "MarginalAnchor":
        """Move the targets to ``device`` (in place); returns self."""
        self.device = torch.device(device)
        self._targets = [t.to(self.device) for t in self._targets]
        self._cat_idx, self._cat_target = self._cat_idx.to(self.device), self._cat_target.to(self.device)
        self._numeric = [(c, t) for c, t in zip(self.columns, self._targets) if c.kind != "categorical"]
        self._tensors()
        return self

    @property
    def targets(self) -> list[np.ndarray]:
        """The target distribution of each column (in the order of :attr:`columns`)."""
        return [c.target for c in self.columns]

    def _soft_bins(self, t: torch.Tensor, c: ColumnAnchor) -> torch.Tensor:
        """``(..., n_bins)`` soft assignment of values ``t`` (binning domain) to the column's bins, end bins open."""
        u = (t - c.edges_lo) * (c.n_bins / (c.edges_hi - c.edges_lo))  # in bin widths
        inner = self._const[c.column][2].to(t.dtype)
        cdf = torch.sigmoid((u.unsqueeze(-1) - inner) * (1.0 / self.bandwidth))   # P(value above edge j)
        ones = torch.ones_like(cdf[..., :1])
        cdf = torch.cat([ones, cdf, torch.zeros_like(ones)], dim=-1)
        return cdf[..., :-1] - cdf[..., 1:]

    def _marginal(self, fake: torch.Tensor, c: ColumnAnchor) -> torch.Tensor:
        """The batch's soft marginal of column ``c`` (same layout as its target)."""
        if c.kind == "categorical":
            return fake[:, c.span[0]:c.span[1]].mean(0)
        a = fake[:, c.scalar]
        if c.kind == "general":
            t = (a + 1.0) / 2.0 * (c.tmax - c.tmin) + c.tmin
            value = self._soft_bins(t, c)                                  # (B, J)
            if c.span is None:
                return value.mean(0)
            p = fake[:, c.span[0]:c.span[1]]                               # [value, missing]
            return torch.cat([(value * p[:, :1]).mean(0), p[:, 1:].mean(0)])
        p = fake[:, c.span[0]:c.span[1]]                                   # [masses, missing?, modes]
        mu, sd, _ = self._const[c.column]
        if len(mu):
            t = torch.addcmul(mu.to(fake.dtype), a[:, None], 4.0 * sd.to(fake.dtype))   # (B, K): each mode's value
            w = p[:, c.mode_offset:]                                       # (B, K)
            cont = (w.unsqueeze(-1) * self._soft_bins(t, c)).sum(1).mean(0)
        else:
            cont = fake.new_zeros(c.n_bins)
        return torch.cat([cont, p[:, :c.mode_offset].mean(0)])

    def marginals(self, fake: torch.Tensor) -> list[torch.Tensor]:
        """The batch's soft marginal of each column (same layout as its target)."""
        return [self._marginal(fake, c) for c in self.columns]

    def loss(self, fake: torch.Tensor) -> torch.Tensor:
        """``sum_c TV(marginal_c, target_c)`` over the columns (0 when every marginal equals its target)."""
        # the batch mean first, then the categorical columns picked from it (a gather of one row, not of the batch)
        total = 0.5 * (fake.mean(0)[self._cat_idx] - self._cat_target.to(fake.dtype)).abs().sum()
        for c, t in self._numeric:
            total = total + 0.5 * (self._marginal(fake, c) - t.to(fake.dtype)).abs().sum()
        return total


__all__ = ["MarginalAnchor", "ColumnAnchor", "DEFAULT_BINS", "DEFAULT_BANDWIDTH"]
