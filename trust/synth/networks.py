"""CTAB-GAN+ networks: generator, critic and the downstream auxiliary model.

Two architectures, chosen with ``architecture=``:

``"conv"``  The paper's (and its public code's): a row, concatenated with its conditional vector,
            is zero-padded to ``side * side`` and read as a one-channel image. The critic is a stack of
            ``Conv2d(4, stride 2)`` + ``LayerNorm`` + ``LeakyReLU(0.2)`` blocks ending in a ``Conv2d`` that
            maps the last feature map to one score; the generator mirrors it with ``ConvTranspose2d`` +
            ``BatchNorm2d`` + ``ReLU`` and its output image is flattened and cut to the row width.
            Deviation from the public code: its critic ends in a ``ReLU``, which zeroes the Wasserstein
            gradient whenever the score is negative; ours ends in the linear score (as WGAN requires).
            Side lengths are computed from the width (the public code keeps a hand-edited list).

``"mlp"``   The CPU default, as CTGAN uses: a residual-MLP generator (each block
            ``Linear -> BatchNorm1d -> ReLU`` whose output is concatenated to its input) and an MLP critic
            (``Linear -> LeakyReLU(0.2) -> Dropout``). The public convolutional version is far slower on CPU
            (figures in ``benchmarks/README.md``).

The critic never uses batch statistics (no BatchNorm): the gradient penalty and DP-SGD's per-sample
gradients both need each row's score to depend on that row alone. Every critic exposes
``features(x)`` (its penultimate activations, for the information loss) and ``head(features)``.
"""

from __future__ import annotations

import torch
from torch import nn

ARCHITECTURES = ("mlp", "conv")


# row i: the 8 bits of the byte i, least significant first, each as 0 or 2 (= 1 / (1 - p) for p = 0.5)
_BIT_TABLE = (((torch.arange(256).unsqueeze(1) >> torch.arange(8)) & 1) << 1).to(torch.uint8)
_BIT_TABLES: dict[torch.device, torch.Tensor] = {}


def _bit_table(device: torch.device) -> torch.Tensor:
    t = _BIT_TABLES.get(device)
    if t is None:
        t = _BIT_TABLES[device] = _BIT_TABLE.to(device)
    return t


def _f32(x: torch.Tensor) -> torch.Tensor:
    """A network's output in float32 (under ``matmul_dtype="bfloat16"``'s autocast the last matrix product gives
    bfloat16; the losses, activations and statistics downstream stay float32). Any other tensor is returned as is."""
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x


def scaled_keep_mask(like: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted-dropout mask shaped like ``like``: each entry ``1 / (1 - p)`` with probability ``1 - p``, else 0.

    For ``p = 0.5`` (the critic's and the auxiliary model's rate) each entry is one random bit: the bits of
    random bytes, unpacked through a 256 x 8 lookup table (one ``index_select``; the same bits as shifting and
    masking, half the time), faster on CPU than thresholding ``rand_like`` (``benchmarks/README.md``) and exactly
    Bernoulli(1/2) (returned as ``uint8`` 0/2; multiplying a float tensor by it promotes to the float type).
    Inside ``torch.func`` transforms (``vmap(..., randomness="different")`` draws one mask per sample) and for
    other rates it thresholds ``rand_like`` (``rand >= p``).
    """
    if p == 0.5 and not torch._C._functorch.is_functorch_wrapped_tensor(like):
        n = like.numel()
        r = torch.empty((n + 7) // 8, dtype=torch.uint8, device=like.device).random_(0, 256)
        bits = _bit_table(like.device).index_select(0, r.int())          # (bytes, 8): 0 or 2 = 1 / (1 - p)
        return bits.view(-1)[:n].view(like.shape)
    return (torch.rand_like(like) >= p).to(like.dtype) * (1.0 / (1.0 - p))


class Dropout(nn.Module):
    """Inverted dropout with :func:`scaled_keep_mask`: the same distribution as :class:`torch.nn.Dropout`,
    faster on CPU, and vmap-able with ``randomness="different"``.

    ``keep_mask``: when set (by :func:`trust.privacy.dpsgd.supplied_masks`, under DP: a mask that is a function of
    the row, :class:`trust.privacy.noise.RowStreams`), the input is multiplied by it instead of a fresh draw.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = float(p)
        self.keep_mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.keep_mask is not None:
            return x * self.keep_mask
        return x * scaled_keep_mask(x, self.p)


# ---------------------------------------------------------------------------------------------
# MLP (CTGAN-style)
# ---------------------------------------------------------------------------------------------
class Residual(nn.Module):
    """CTGAN's residual block: ``concat([relu(bn(linear(x))), x])``."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class MLPGenerator(nn.Module):
    """Residual-MLP generator: ``(noise ++ cond) -> raw row`` (activations applied by the trainer)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: tuple[int, ...] = (256, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden:
            layers.append(Residual(d, h))
            d += h
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return _f32(self.net(z))


def _leaky_blocks(in_dim: int, hidden: tuple[int, ...], dropout: float) -> tuple[list[nn.Module], int]:
    """``Linear -> LeakyReLU(0.2) -> Dropout`` per hidden width (the critic's and the auxiliary model's body)."""
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), nn.LeakyReLU(0.2), Dropout(dropout)]
        d = h
    return layers, d


class MLPCritic(nn.Module):
    """MLP critic: ``(row ++ cond) -> score``; no batch statistics, linear output.

    ``pac`` > 1 is CTGAN's packing (PacGAN, Lin et al. 2018): ``pac`` consecutive rows are concatenated into
    one critic input and scored together, so a batch of ``B`` rows gets ``B / pac`` scores (``B`` must be a
    multiple of ``pac``) and the gradient penalty is taken per pack. A pack mixes rows, so DP-SGD, which
    clips each row's gradient, needs ``pac = 1``.
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...] = (256, 256), dropout: float = 0.5, pac: int = 1) -> None:
        super().__init__()
        self.pac = int(pac)
        self.row_dim = in_dim
        layers, d = _leaky_blocks(in_dim * self.pac, hidden, dropout)
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(d, 1)
        self.feature_dim = d

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, d) -> (B / pac, pac * d)``: consecutive rows side by side."""
        return x if self.pac == 1 else x.reshape(-1, self.pac * self.row_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return _f32(self.body(self.pack(x)))

    def head(self, f: torch.Tensor) -> torch.Tensor:
        return _f32(self.out(f))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _f32(self.out(self.body(self.pack(x))))


# ---------------------------------------------------------------------------------------------
# Convolutional (the paper's)
# ---------------------------------------------------------------------------------------------
def square_side(width: int) -> int:
    """Smallest side in 4, 8, 16, 24, 32, 48, 64, ... with ``side**2 >= width``."""
    for s in (4, 8, 16, 24, 32, 48, 64, 96, 128):
        if s * s >= width:
            return s
    raise ValueError(f"a row of width {width} is too wide for the convolutional networks; use architecture='mlp'")


def _conv_plan(side: int, base_channels: int) -> list[tuple[int, int]]:
    """(channels, side) per layer: halve the side (stride-2 convs) while doubling channels, down to <= 4."""
    plan = [(1, side)]
    ch = base_channels
    while side > 4 and side % 2 == 0:
        side //= 2
        plan.append((ch, side))
        ch *= 2
    return plan


class ConvCritic(nn.Module):
    """The paper's convolutional critic over the row padded to a ``side x side`` image.

    Blocks ``Conv2d(k=4, s=2, p=1) -> LayerNorm([C, H, W]) -> LeakyReLU(0.2)``; the score is a
    ``Conv2d`` over the whole last feature map, without the public code's final ReLU.
    """

    def __init__(self, in_dim: int, base_channels: int = 64) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.side = square_side(in_dim)
        plan = _conv_plan(self.side, base_channels)
        layers: list[nn.Module] = []
        for (c0, _s0), (c1, s1) in zip(plan[:-1], plan[1:]):
            layers += [nn.Conv2d(c0, c1, 4, 2, 1), nn.LayerNorm([c1, s1, s1]), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        c_last, s_last = plan[-1]
        self.out = nn.Conv2d(c_last, 1, s_last, 1, 0)
        self.feature_dim = c_last * s_last * s_last

    def _image(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.side * self.side - x.shape[-1]
        if pad:
            x = torch.cat([x, x.new_zeros(x.shape[:-1] + (pad,))], dim=-1)
        return x.reshape(-1, 1, self.side, self.side)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return _f32(self.body(self._image(x)).flatten(1))

    def head(self, f: torch.Tensor) -> torch.Tensor:
        c = self.out.in_channels
        s = self.out.kernel_size[0]
        return _f32(self.out(f.reshape(-1, c, s, s)).reshape(-1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ConvGenerator(nn.Module):
    """The paper's convolutional generator: ``ConvTranspose2d`` up to a ``side x side`` image, cut to the row."""

    def __init__(self, in_dim: int, out_dim: int, base_channels: int = 64) -> None:
        super().__init__()
        self.out_dim = out_dim
        side = square_side(out_dim)
        plan = _conv_plan(side, base_channels)
        c_last, s_last = plan[-1]
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_dim, c_last, s_last, 1, 0)]
        rev = plan[::-1]
        for (c0, _s0), (c1, _s1) in zip(rev[:-1], rev[1:]):
            layers += [nn.BatchNorm2d(c0), nn.ReLU(True), nn.ConvTranspose2d(c0, c1, 4, 2, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        img = self.net(z.reshape(z.shape[0], -1, 1, 1))
        return _f32(img.flatten(1)[:, : self.out_dim])


# ---------------------------------------------------------------------------------------------
# Auxiliary downstream model
# ---------------------------------------------------------------------------------------------
class Auxiliary(nn.Module):
    """The downstream classifier/regressor of CTAB-GAN+ (MLP, LeakyReLU(0.2), dropout 0.5).

    The public code uses 4 hidden layers of 256; ``hidden`` sets them.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: tuple[int, ...] = (256, 256, 256, 256),
                 dropout: float = 0.5) -> None:
        super().__init__()
        layers, d = _leaky_blocks(in_dim, hidden, dropout)
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _f32(self.net(x))


def dropout_widths(net: nn.Module) -> list[int]:
    """The width of each :class:`Dropout` layer of a ``Linear -> LeakyReLU -> Dropout`` stack (the MLP critic's body,
    the auxiliary model), in order: the output width of the linear layer before it."""
    widths, last = [], None
    for m in net.modules():
        if isinstance(m, nn.Linear):
            last = m.out_features
        elif isinstance(m, Dropout):
            widths.append(int(last))
    return widths


def make_networks(architecture: str, data_dim: int, cond_dim: int, noise_dim: int,
                  generator_dims: tuple[int, ...], critic_dims: tuple[int, ...],
                  critic_dropout: float = 0.5, conv_channels: int = 64, pac: int = 1) -> tuple[nn.Module, nn.Module]:
    """Generator and critic for ``architecture`` (``"mlp"`` or ``"conv"``; ``pac`` applies to ``"mlp"``)."""
    if architecture == "mlp":
        return (MLPGenerator(noise_dim + cond_dim, data_dim, generator_dims),
                MLPCritic(data_dim + cond_dim, critic_dims, critic_dropout, pac))
    if pac != 1:
        raise ValueError("packing (pac > 1) is only available for the MLP critic")
    if architecture == "conv":
        return (ConvGenerator(noise_dim + cond_dim, data_dim, conv_channels),
                ConvCritic(data_dim + cond_dim, conv_channels))
    raise ValueError(f"unknown architecture {architecture!r}")


__all__ = ["ARCHITECTURES", "Dropout", "dropout_widths", "scaled_keep_mask", "MLPGenerator", "MLPCritic", "ConvGenerator", "ConvCritic",
           "Auxiliary", "make_networks", "square_side"]
