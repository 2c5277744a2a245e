"""Stage 1 of RCAL: label-free contrastive representations (SimCLR, Chen et al. ICML 2020).

:func:`train_contrastive` trains a copy of an encoder (any :class:`~trust.models.networks.EmbedHead`;
its ``head`` is not used) with a two-layer projection head ``g`` on top of ``embed``, by the
NT-Xent loss: each batch of ``n`` inputs ``x`` is turned into two random views ``v1 = view(x)``,
``v2 = view(x)`` (the shared :mod:`trust.models.views`), ``p = normalise(g(embed(v)))`` for all
``2n`` views, and with ``s_ij = p_i . p_j / temperature``

    loss = (1 / 2n) sum_i -log( exp(s_{i,pos(i)}) / sum_{j != i} exp(s_ij) )

where ``pos(i)`` is the other view of the same input. Labels are never read. Training goes
through :func:`trust.models.training.fit_torch`: the loss function draws both views of the batch
itself (from its own seeded generator), so the loop needs no change. The projection head is
thrown away; the encoder's ``embed`` is the representation (as in SimCLR).

Deviation from the paper: RCAL uses MoCo (a momentum encoder and a queue of negatives) with a
ResNet-32 for hundreds of epochs; here SimCLR's in-batch negatives (no queue, no momentum encoder)
train the small CNN / 1-D CNN / MLP of :mod:`trust.models.networks` for tens of epochs on CPU. Both
are instance-discrimination objectives with the same role in RCAL: representations learnt
without the (noisy) labels.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trust._validation import check_random_state, check_scalar, fork_seed
from trust.models.networks import EmbedHead
from trust.models.training import FitHistory, fit_torch
from trust.models.views import View


class ProjectionNet(nn.Module):
    """``encoder.embed`` then a projection head ``Linear-ReLU-Linear`` (SimCLR's ``g``)."""

    def __init__(self, encoder: EmbedHead, proj_dim: int = 64) -> None:
        super().__init__()
        self.encoder = encoder
        d = encoder.embed_dim
        self.projector = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, int(proj_dim)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.encoder.embed(x))


def nt_xent(p1: torch.Tensor, p2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's NT-Xent loss of two ``(n, k)`` batches of projections (row ``i`` of each: views of one input)."""
    n = len(p1)
    z = F.normalize(torch.cat([p1, p2]), dim=1)                     # (2n, k)
    sim = z @ z.T / temperature                                     # (2n, 2n)
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


def train_contrastive(encoder: EmbedHead, X: np.ndarray, view: View, *, epochs: int = 30, batch_size: int = 256,
                      lr: float = 1e-3, temperature: float = 0.5, proj_dim: int = 64, random_state: Any = 0,
                      device: Any = "cpu", progress: bool = False) -> tuple[EmbedHead, FitHistory]:
    """A copy of ``encoder`` trained by SimCLR on ``X`` (network layout, float32) with ``view``; ``(encoder, history)``.

    ``encoder`` itself is not changed. ``view(X_batch, rng)`` must return an array of the batch's shape.
    """
    epochs = check_scalar(epochs, "contrastive_epochs", int, min_val=1)
    batch_size = check_scalar(batch_size, "batch_size", int, min_val=2)
    temperature = check_scalar(temperature, "temperature", float, min_val=0.0, include_boundaries="neither")
    rng = check_random_state(random_state)
    view_rng = np.random.default_rng(fork_seed(rng))
    with torch.random.fork_rng(devices=[]):  # the projection head's initial weights come from the seed
        torch.manual_seed(fork_seed(rng))
        net = ProjectionNet(copy.deepcopy(encoder), proj_dim)

    def loss_fn(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        xa = x.detach().cpu().numpy()
        v = torch.as_tensor(np.concatenate([view(xa, view_rng), view(xa, view_rng)]), device=x.device)
        p = model(v)
        return nt_xent(p[:len(xa)], p[len(xa):], temperature)

    history = fit_torch(net, loss_fn, (X,), epochs=epochs, batch_size=batch_size, lr=lr, random_state=rng,
                        device=device, progress=progress, desc="RCAL contrastive")
    return net.encoder, history


__all__ = ["ProjectionNet", "nt_xent", "train_contrastive"]
