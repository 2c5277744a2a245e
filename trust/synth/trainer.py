"""CTAB-GAN+ training pieces: activations, losses, and DP-SGD with per-sample gradients via ``torch.func``.

DP-SGD for a WGAN-GP critic
---------------------------
The critic's loss on one step is

    L = mean_j D(fake_j)  -  (1/B) sum_i D(real_i)  +  lambda (1/B) sum_i (||grad_x D(xhat_i)|| - 1)^2

with ``xhat_i = a_i real_i + (1 - a_i) fake_i`` (each real row interpolated with its fake partner).
Every term that reads a real row -- the real score *and* the gradient penalty, whose interpolate
contains the row -- belongs to that row's per-sample loss ``l_i = -D(real_i) + lambda * GP_i``.
Opacus's hooks cannot differentiate the penalty's inner gradient a second time, so
:func:`critic_per_sample_grads` computes ``grad_theta l_i`` for every row at once with
``torch.func.vmap(torch.func.grad(l))`` over ``torch.func.functional_call``, the penalty's own
``torch.func.grad`` (with respect to the input) nested inside. The results are set as
``p.grad_sample`` and Opacus's :class:`~opacus.optimizers.DPOptimizer` clips each row's gradient to
``max_grad_norm``, sums, adds ``N(0, (sigma * max_grad_norm)^2)`` and divides by the *expected* batch
size ``B = q n`` (Poisson sampling: the realised batch size is random and must not be used).

The fake-only term ``mean_j D(fake_j)`` reads no real row (fake rows come from the generator, whose
parameters are themselves a post-processing of earlier private steps, with conditional vectors drawn
from the DP-released frequencies), so it costs no privacy. We compute its ordinary gradient separately
and add it to ``p.grad`` *after* the DP step has clipped, noised and scaled the real part, then take the
optimiser step (:func:`trust.privacy.dpsgd.dp_step`). Putting it inside the per-sample terms instead would clip it
with the real terms (biasing it and spending clip norm on a public quantity), so adding it afterwards
is both correct and better. The accountant counts every critic step taken (empty Poisson batches
included: they are still a noised release).

``clip_pairs`` (``CTABGANPlus``) clips each pair's whole loss ``D(fake_i) - D(real_i) + lambda GP_i``
instead (``include_fake=True`` below), so the fake push and the real pull are scaled alike and the update's
balance does not depend on the clip bound.

Per-row randomness (:func:`dp_pairs`). The per-row sensitivity argument (one more row changes the clipped sum by
at most one clipped term) needs every other row's term to stay as it was: each pair's randomness must depend on
its own row only. So under DP every draw that touches a real row is a function of that row's content, the
release's secret key and a public counter (:class:`trust.privacy.noise.RowStreams`: the row's conditional block,
its partner's index, its interpolation weight, its dropout masks for the three critic passes, and the
transformer's mode draw when the row was encoded), never of its position in the table or in the batch.

Partners and BatchNorm (:func:`partner_pool`): the generator has BatchNorm layers, which in training
mode couple the rows of one forward pass. Each step generates one pool of exactly the expected batch size ``b``
(a public number) of fake rows from the release's secret stream ``"partners"`` (conditional vectors, noise and
gumbel noise drawn in the same amount at every step), before anything whose size depends on the private batch,
with its BatchNorm running statistics left untouched (:func:`frozen_batchnorm_stats`). Each real row's partner
is the pool row at a uniform index that is a function of the row (two rows may share a partner; given the pool,
which reads no data, each pair depends on its own row alone). The fake-only term reads the pool. Adding a row,
first or last, changes no other pair's clipped gradient (tested on Adult's conditional blocks with critic dropout
0.5). Deviation from the previous round's chunks (a partner per row by rank): ranks move when a row is inserted.

The DP-SGD machinery itself (Poisson sampling, per-sample gradients, Opacus's clipping and secure noise,
the plan and the ledger entry) is in :mod:`trust.privacy.dpsgd`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from trust.privacy.dpsgd import mask_modules, supplied_masks
from trust.privacy.noise import RowStreams, counter
from trust.synth.networks import Dropout, scaled_keep_mask


# ---------------------------------------------------------------------------------------------
# Output activations and the conditional loss
# ---------------------------------------------------------------------------------------------
class OutputLayout:
    """Where the transformer's spans sit: tanh scalars, softmax groups, and the conditional blocks.

    The per-span work is vectorised: the one-hot spans are laid out side by side in a ``(n_spans, width)``
    grid padded with ``-inf`` (one softmax for all of them), and the conditional blocks likewise (one
    cross-entropy for all rows), so the cost does not grow with the number of columns in Python. Columns are
    gathered with ``index_select`` (the same values and, the indices being unique, the same gradients as
    ``raw[:, idx]``, about 4x faster forward and backward on CPU).
    """

    def __init__(self, spans: Sequence, cond_blocks: Sequence[tuple[int, int]]) -> None:
        self.spans = [(int(s.start), int(s.end), s.activation) for s in spans]
        pos = 0
        for s, e, act in self.spans:
            if s != pos or act not in ("tanh", "softmax"):
                raise ValueError(f"spans must tile the row in order with tanh/softmax activations (at {s}, {act})")
            pos = e
        self.cond_blocks = [(int(s), int(e)) for s, e in cond_blocks]
        self.dim = pos
        tanh = [np.arange(s, e) for s, e, a in self.spans if a == "tanh"]
        self._tanh_idx = torch.as_tensor(np.concatenate(tanh) if tanh else np.zeros(0, dtype=np.int64))
        self._soft_mask = torch.ones(self.dim, dtype=torch.bool)
        self._soft_mask[self._tanh_idx] = False
        soft = [(s, e) for s, e, a in self.spans if a == "softmax"]
        self._soft_cols = torch.as_tensor(np.concatenate([np.arange(s, e) for s, e in soft]) if soft
                                          else np.zeros(0, dtype=np.int64))
        self._soft_grid, _ = self._grid(soft)
        self._soft_cells = torch.as_tensor(np.flatnonzero(self._soft_grid.ravel() >= 0))
        grid, self._block_pad = self._grid(self.cond_blocks)
        self._block_cols = torch.as_tensor(np.maximum(grid, 0))

    def to(self, device: torch.device | str) -> "OutputLayout":
        """Move the index tensors to ``device`` (in place); returns self."""
        for k in ("_tanh_idx", "_soft_mask", "_soft_cols", "_soft_cells", "_block_pad", "_block_cols"):
            setattr(self, k, getattr(self, k).to(device))
        return self

    @staticmethod
    def _grid(ranges: Sequence[tuple[int, int]]) -> tuple[np.ndarray, torch.Tensor]:
        """Column indices of each range in a row of a ``(len(ranges), widest)`` grid, -1 padded; and the padding."""
        width = max((e - s for s, e in ranges), default=1)
        grid = np.full((len(ranges), width), -1, dtype=np.int64)
        for j, (s, e) in enumerate(ranges):
            grid[j, : e - s] = np.arange(s, e)
        return grid, torch.as_tensor(grid < 0)

    @property
    def n_soft(self) -> int:
        """Number of one-hot (gumbel-softmax) columns: the uniforms :meth:`activate` draws per row."""
        return int(len(self._soft_cols))

    def activate(self, raw: torch.Tensor, tau: float = 0.2, u: torch.Tensor | None = None) -> torch.Tensor:
        """tanh on scalar spans, gumbel-softmax (temperature ``tau``, soft) on one-hot spans; ``u``: the gumbel noise's
        uniforms ``(rows, n_soft)`` (default: drawn with ``torch.rand_like``)."""
        b = raw.shape[0]
        out = raw.new_zeros(b, self.dim).index_copy(1, self._tanh_idx,
                                                    torch.tanh(raw.index_select(1, self._tanh_idx)))
        if len(self._soft_cols):
            x = raw.index_select(1, self._soft_cols)
            u = torch.rand_like(x).clamp_(1e-10, 1.0 - 1e-7) if u is None else u.to(x).clamp(1e-10, 1.0 - 1e-7)
            y = (x - torch.log(-torch.log(u))) / tau
            grid = raw.new_full((b, self._soft_grid.size), -torch.inf).index_copy(1, self._soft_cells, y)
            p = torch.softmax(grid.view(b, *self._soft_grid.shape), dim=2).view(b, -1).index_select(1, self._soft_cells)
            out = out.index_copy(1, self._soft_cols, p)
        return out

    def sample_activate(self, raw: torch.Tensor) -> torch.Tensor:
        """For decoding only: tanh on scalars, ``logits + Gumbel noise`` on one-hot spans.

        The arg-max of each one-hot span equals that of :meth:`activate`'s gumbel-softmax with the same noise
        (the temperature does not move the arg-max), and decoding only reads arg-maxes, so this skips the
        softmax (fast sampling).
        """
        u = torch.rand_like(raw).clamp_(1e-10, 1.0 - 1e-7)
        out = torch.where(self._soft_mask, raw - torch.log(-torch.log(u)), raw)
        out[:, self._tanh_idx] = torch.tanh(raw.index_select(1, self._tanh_idx))
        return out

    def cond_loss(self, raw: torch.Tensor, blocks: np.ndarray, cats: np.ndarray) -> torch.Tensor:
        """Cross-entropy of the generator's logits in each row's requested block against the requested category
        (mean over rows)."""
        if len(blocks) == 0:
            return raw.new_zeros(())
        b = torch.as_tensor(blocks, device=raw.device)
        logits = raw.gather(1, self._block_cols[b]).masked_fill(self._block_pad[b], -torch.inf)
        return F.cross_entropy(logits, torch.as_tensor(cats, device=raw.device))


# ---------------------------------------------------------------------------------------------
# Critic losses
# ---------------------------------------------------------------------------------------------
def _safe_norm(g: torch.Tensor) -> torch.Tensor:
    # sqrt(sum g^2 + tiny): differentiable at g = 0 (the plain norm's gradient is NaN there)
    return torch.sqrt((g * g).sum(dim=-1) + 1e-12)


def _penalty(g: torch.Tensor, critic: nn.Module, lambda_gp: float) -> torch.Tensor:
    """``lambda * mean (||g|| - 1)^2`` with one norm per critic input (per pack for a packed critic)."""
    pac = getattr(critic, "pac", 1)
    return lambda_gp * ((_safe_norm(g.reshape(-1, pac * g.shape[-1])) - 1.0) ** 2).mean()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor,
                     lambda_gp: float) -> torch.Tensor:
    """Batch WGAN-GP term ``lambda * mean_i (||grad_x D(xhat_i)|| - 1)^2`` (ordinary autograd, non-DP path)."""
    xhat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    d = critic(xhat)
    g, = torch.autograd.grad(d.sum(), xhat, create_graph=True)
    return _penalty(g, critic, lambda_gp)


def critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor,
                lambda_gp: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The non-DP WGAN-GP critic loss ``mean D(fake) - mean D(real) + GP``.

    ``real`` and ``fake`` have the same number of rows (a multiple of the critic's ``pac``) and are scored in
    one pass (the critic has no batch statistics); the interpolates get their own pass, so the penalty's
    double backward covers them alone. ``alpha`` is one weight per row (for a packed critic, equal within
    each pack so that each interpolate lies on the line between a real and a fake critic input).
    Returns ``(loss, mean D(real), mean D(fake))``.
    """
    d_real, d_fake = critic(torch.cat([real, fake])).chunk(2)
    d_real, d_fake = d_real.mean(), d_fake.mean()
    return d_fake - d_real + gradient_penalty(critic, real, fake, alpha, lambda_gp), d_real, d_fake


def critic_per_sample_grads(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor,
                            lambda_gp: float, include_fake: bool = False,
                            masks: Mapping[str, Sequence[torch.Tensor]] | None = None) -> dict[str, torch.Tensor]:
    """Per-row gradients of ``l_i = -D(real_i) + lambda (||grad_x D(xhat_i)|| - 1)^2`` w.r.t. the critic's parameters
    (``include_fake``: of the whole pair loss ``l_i = D(fake_i) - D(real_i) + lambda GP_i``).

    ``real``, ``fake`` (paired row by row) are ``(m, d)`` critic inputs (row ++ conditional vector);
    ``alpha`` is ``(m, 1)``. Returns ``{name: (m, *param.shape)}``. Dropout, if the critic is in training
    mode, draws an independent mask per row (``vmap(randomness="different")``), or with ``masks``
    (``{"real", "hat", "fake"}``: per critic pass, one ``(m, width)`` mask per dropout layer) uses row ``i``'s.
    """
    params = {k: v.detach() for k, v in critic.named_parameters()}
    buffers = {k: v.detach() for k, v in critic.named_buffers()}
    mods = mask_modules(critic)

    def score(p: dict[str, torch.Tensor], x: torch.Tensor, ms: Any) -> torch.Tensor:
        with supplied_masks(mods, ms):
            return functional_call(critic, (p, buffers), (x.unsqueeze(0),)).sum()

    def loss_one(p: dict[str, torch.Tensor], r: torch.Tensor, f: torch.Tensor, a: torch.Tensor,
                 mr: Any, mh: Any, mf: Any) -> torch.Tensor:
        xhat = a * r + (1 - a) * f
        g = grad(score, argnums=1)(p, xhat, mh)   # inner gradient w.r.t. the input, differentiated again below
        gp = (_safe_norm(g) - 1.0) ** 2
        loss = -score(p, r, mr) + lambda_gp * gp
        return loss + score(p, f, mf) if include_fake else loss

    m = real.shape[0]
    if m == 0:
        return {k: v.new_zeros((0,) + tuple(v.shape)) for k, v in params.items()}
    ms = [None] * 3 if masks is None else [tuple(masks[k]) for k in ("real", "hat", "fake")]
    md = None if masks is None else 0
    return vmap(grad(loss_one), in_dims=(None, 0, 0, 0, md, md, md), randomness="different")(
        params, real, fake, alpha, *ms)


def information_loss(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    """CTAB-GAN's information loss: L1 between feature means plus L1 between feature stds (real detached)."""
    f_real = f_real.detach()
    return (torch.norm(f_fake.mean(0) - f_real.mean(0), 1)
            + torch.norm(f_fake.std(0) - f_real.std(0), 1))


__all__ = ["OutputLayout", "gradient_penalty", "critic_loss", "critic_per_sample_grads", "information_loss",
           "partner_pool", "PairBatch", "frozen_batchnorm_stats", "dp_pairs", "mlp_critic_clipped_sum",
           "MODE", "PAIR", "MASK_REAL", "MASK_HAT", "MASK_FAKE", "AUX_MASK"]


# ---------------------------------------------------------------------------------------------
# Fast path for the MLP critic: per-sample norms and the clipped sum without materialising
# per-sample gradients ("ghost clipping", Goodfellow 2015 / Li et al. 2022), extended to the penalty.
# ---------------------------------------------------------------------------------------------
def mlp_critic_clipped_sum(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor,
                           lambda_gp: float, max_grad_norm: float, include_fake: bool = False,
                           masks: Mapping[str, Sequence[torch.Tensor]] | None = None
                           ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """``sum_i min(1, C / ||g_i||) g_i`` and ``||g_i||`` for ``l_i = -D(real_i) + lambda GP_i`` (``include_fake``:
    for the pair loss ``l_i = D(fake_i) - D(real_i) + lambda GP_i``), MLP critic only.

    Exact for :class:`~trust.synth.networks.MLPCritic` (Linear / LeakyReLU / Dropout blocks and a linear
    score): with a piecewise-linear activation the input gradient ``J = W_1^T D_1 ... W_L^T D_L w`` (``D_k`` the
    activation slopes times the dropout mask) is multilinear in the weights, so each row's gradient of each
    weight matrix is a sum of outer products, ``delta_k h_{k-1}^T`` (the real score) plus ``s_k t_{k-1}^T``
    (the penalty, ``s`` the backward and ``t`` the forward propagation of ``dGP/dJ``), plus the fake score's
    ``delta'_k h'_{k-1}^T`` with ``include_fake``. The squared norm of ``sum_a u_a v_a^T`` is
    ``sum_{a,b} (u_a . u_b)(v_a . v_b)``, and the clipped sum is a few matrix products, so the cost is a few batched
    forward/backward passes instead of ``m`` full gradients. Matches :func:`critic_per_sample_grads` to
    float precision (tested); the noise is still Opacus's (:func:`dp_step_summed`). ``masks``: as in
    :func:`critic_per_sample_grads` (each pass's dropout masks supplied instead of drawn).
    """
    linears = [m for m in critic.body if isinstance(m, nn.Linear)]
    acts = [m for m in critic.body if isinstance(m, nn.LeakyReLU)]
    drops = [m for m in critic.body if isinstance(m, (nn.Dropout, Dropout))]
    if len(acts) != len(linears) or len(drops) not in (0, len(linears)) or getattr(critic, "pac", 1) != 1:
        raise TypeError("mlp_critic_clipped_sum needs an unpacked MLPCritic (Linear, LeakyReLU, Dropout blocks)")
    net = _GhostMLP(linears, acts[0].negative_slope if acts else 0.0, drops[0].p if drops and critic.training else 0.0,
                    critic.out.weight[0], masks)
    m = real.shape[0]
    with torch.no_grad():
        # (A) real score: l = -D(real)
        hs_r, ds_r = net.forward(real, "real")
        deltas = net.backward(ds_r, -1.0, m)
        # (B) penalty at the interpolate
        xhat = alpha * real + (1 - alpha) * fake
        hs_h, ds_h = net.forward(xhat, "hat")
        s = net.backward(ds_h, 1.0, m)
        J = s[0] @ linears[0].weight                      # dD/dxhat, (m, d0)
        nJ = torch.sqrt((J * J).sum(1, keepdim=True) + 1e-12)
        ts = [lambda_gp * 2.0 * (nJ - 1.0) * J / nJ]     # dGP/dJ, then its forward propagation
        for k in range(len(linears)):
            ts.append((ts[-1] @ linears[k].weight.T) * ds_h[k])
        # (C) fake score: l = +D(fake)
        hs_f: list[torch.Tensor] = []
        deltas_f: list[torch.Tensor] = []
        if include_fake:
            hs_f, ds_f = net.forward(fake, "fake")
            deltas_f = net.backward(ds_f, 1.0, m)
        # per layer, the outer-product factors (left, right) of each row's weight gradient
        terms = [[(deltas[k], hs_r[k]), (s[k], ts[k])] + ([(deltas_f[k], hs_f[k])] if include_fake else [])
                 for k in range(len(linears))]
        biases = [deltas[k] + deltas_f[k] if include_fake else deltas[k] for k in range(len(linears))]
        v = -hs_r[-1] + ts[-1] + (hs_f[-1] if include_fake else 0.0)
        return _clipped_sum(critic, linears, terms, biases, v, 0.0 if include_fake else -1.0, max_grad_norm)


class _GhostMLP:
    """The forward and backward propagations of an MLP critic's rows, keeping the per-layer factors ghost clipping
    needs (:func:`mlp_critic_clipped_sum`)."""

    def __init__(self, linears: list[nn.Linear], slope: float, p_drop: float, w_out: torch.Tensor,
                 masks: Mapping[str, Sequence[torch.Tensor]] | None) -> None:
        self.linears, self.slope, self.p_drop, self.w_out, self.masks = linears, slope, p_drop, w_out, masks

    def forward(self, x: torch.Tensor, which: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Inputs of each linear and ``D_k`` = the activation slopes times the dropout mask (diagonals)."""
        hs, ds = [x], []
        h = x
        for k, lin in enumerate(self.linears):
            z = torch.addmm(lin.bias, h, lin.weight.T)
            d = torch.where(z > 0, 1.0, self.slope)          # LeakyReLU's slope, times the dropout mask
            if self.p_drop > 0:
                d = d * (scaled_keep_mask(z, self.p_drop) if self.masks is None else self.masks[which][k])
            h = z * d                                        # dropout(leaky_relu(z))
            hs.append(h)
            ds.append(d)
        return hs, ds

    def backward(self, ds: list[torch.Tensor], sign: float, m: int) -> list[torch.Tensor]:
        """The backward vectors ``dl/dz_k`` of ``l = sign * D(x)`` given the forward's slopes."""
        g = (sign * self.w_out).expand(m, -1)
        out: list[torch.Tensor] = [None] * len(self.linears)   # type: ignore[list-item]
        for k in range(len(self.linears) - 1, -1, -1):
            out[k] = g * ds[k]
            g = out[k] @ self.linears[k].weight
        return out


def _clipped_sum(critic: nn.Module, linears: list[nn.Linear], terms: list[list[tuple[torch.Tensor, torch.Tensor]]],
                 biases: list[torch.Tensor], v: torch.Tensor, bias_out: float,
                 max_grad_norm: float) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Per-row gradient norms from the outer-product factors (``||sum_a u_a v_a^T||^2 = sum_{a,b} (u_a . u_b)(v_a .
    v_b)``) and the clipped sum of the rows' gradients."""
    def rowdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a * b).sum(1)

    sq = torch.full((v.shape[0],), bias_out ** 2, dtype=v.dtype, device=v.device)
    for k in range(len(linears)):
        t = terms[k]
        for a in range(len(t)):
            for b in range(a, len(t)):
                sq = sq + (1 if a == b else 2) * rowdot(t[a][0], t[b][0]) * rowdot(t[a][1], t[b][1])
        sq = sq + rowdot(biases[k], biases[k])
    sq = sq + rowdot(v, v)
    norms = torch.sqrt(sq)
    f = torch.clamp(max_grad_norm / (norms + 1e-6), max=1.0)[:, None]
    out: dict[str, torch.Tensor] = {}
    names = {id(p): n for n, p in critic.named_parameters()}
    for k, lin in enumerate(linears):
        out[names[id(lin.weight)]] = sum((f * left).T @ right for left, right in terms[k])
        out[names[id(lin.bias)]] = (f * biases[k]).sum(0)
    out[names[id(critic.out.weight)]] = (f * v).sum(0, keepdim=True)
    out[names[id(critic.out.bias)]] = bias_out * f.sum(0)
    return out, norms


# ---------------------------------------------------------------------------------------------
# Fake partners for DP-SGD pairs, independent of the private batch (see the module docstring)
# ---------------------------------------------------------------------------------------------
#: :class:`~trust.privacy.noise.RowStreams` purposes of a DP fit (one counter space per purpose)
MODE, PAIR, MASK_REAL, MASK_HAT, MASK_FAKE, AUX_MASK = range(6)


def partner_pool(generator: nn.Module, layout: OutputLayout, sampler, chunk: int, noise_dim: int, tau: float,
                 rng: np.random.Generator) -> torch.Tensor:
    """The fake rows of one DP critic step: ``(chunk, d)`` critic inputs (row ++ conditional vector) in one generator
    pass over exactly ``chunk`` (the public expected batch) rows, BatchNorm running statistics untouched.

    Every draw (conditional vectors from the DP-released frequencies, the generator's noise, the gumbel noise) comes
    from ``rng``, the release's secret stream ``"partners"``, in the same amount at every step: nothing here depends
    on the private batch, and the stream never advances by a private amount.
    """
    device = next(generator.parameters()).device
    cond = torch.as_tensor(sampler.sample_generation(chunk, rng)[0], device=device)
    z = torch.as_tensor(rng.standard_normal((chunk, noise_dim), dtype=np.float32), device=device)
    u = torch.as_tensor(rng.random((chunk, layout.n_soft), dtype=np.float32), device=device)
    with torch.no_grad(), frozen_batchnorm_stats(generator):
        fake = layout.activate(generator(torch.cat([z, cond], dim=1)), tau, u=u)
    return torch.cat([fake, cond], dim=1)


@dataclass
class PairBatch:
    """The pairs of one DP critic step (:func:`dp_pairs`).

    Attributes:
        real: ``(m, d)`` the Poisson-sampled rows, each with the conditional vector derived from itself.
        partner: ``(m, d)`` each real row's fake partner (a row of ``pool``).
        alpha: ``(m, 1)`` interpolation weights of the gradient penalty.
        pool: ``(chunk, d)`` the step's fake rows (the fake-only term's batch).
        masks: ``{"real", "hat", "fake"}`` -> one ``(m, width)`` dropout mask per critic dropout layer, or None.
    """

    real: torch.Tensor
    partner: torch.Tensor
    alpha: torch.Tensor
    pool: torch.Tensor
    masks: dict[str, list[torch.Tensor]] | None = None


def dp_pairs(generator: nn.Module, layout: OutputLayout, sampler, X: torch.Tensor, rows: np.ndarray, chunk: int,
             noise_dim: int, tau: float, *, pool_rng: np.random.Generator, streams: RowStreams, step: int,
             mask_widths: Sequence[int] = (), p_drop: float = 0.0) -> PairBatch:
    """The pairs of one DP critic step (see the module docstring).

    First the fake pool (:func:`partner_pool`, from the secret ``pool_rng``), before anything whose size depends on
    the private batch; then, per real row ``i`` (``rows`` index ``X`` and ``streams``), from draws that are a
    function of the row, the secret key and the public ``step`` only (:class:`~trust.privacy.noise.RowStreams`):
    its conditional block, its partner (a uniform index into the pool, so two rows may share one), its
    interpolation weight and, with ``p_drop > 0``, its dropout masks for the critic's three passes (``mask_widths``:
    the widths of the critic's dropout layers). Adding or removing a row changes no other row's pair.
    """
    pool = partner_pool(generator, layout, sampler, chunk, noise_dim, tau, pool_rng)
    u = streams.uniform(rows, counter(PAIR, step), 3)
    cond_r, _, _ = sampler.cond_from_rows(rows, u[:, 0])
    idx = torch.as_tensor(np.minimum((u[:, 1] * chunk).astype(np.int64), chunk - 1), device=X.device)
    real = torch.cat([X.index_select(0, torch.as_tensor(rows, device=X.device)),
                      torch.as_tensor(cond_r, device=X.device)], dim=1)
    alpha = torch.as_tensor(u[:, 2:3], dtype=torch.float32, device=X.device)
    masks = None
    if p_drop > 0 and mask_widths:
        masks = {which: [torch.as_tensor(streams.keep_mask(rows, counter(purpose, step, k), w, p_drop), device=X.device)
                         for k, w in enumerate(mask_widths)]
                 for which, purpose in (("real", MASK_REAL), ("hat", MASK_HAT), ("fake", MASK_FAKE))}
    return PairBatch(real, pool.index_select(0, idx), alpha, pool, masks)


@contextmanager
def frozen_batchnorm_stats(module: nn.Module) -> Iterator[None]:
    """Inside, BatchNorm layers in training mode normalise with batch statistics but leave their running
    statistics unchanged (momentum 0)."""
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    tracked = [bn.num_batches_tracked.clone() if bn.num_batches_tracked is not None else None for bn in bns]
    for bn in bns:
        bn.momentum = 0.0
    try:
        yield
    finally:
        for bn, m, t in zip(bns, momenta, tracked):
            bn.momentum = m
            if t is not None:
                bn.num_batches_tracked.copy_(t)
