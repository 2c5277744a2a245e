"""Small networks with an explicit representation / head split: ``forward(x) = head(embed(x))``.

Every network here is an :class:`EmbedHead`: ``embed(x)`` maps an input batch to a
``(batch, embed_dim)`` representation and ``head`` is one ``nn.Linear(embed_dim, n_classes)``.
Capabilities that work on representations (contrastive views, concept bottlenecks, unlearning by
re-training the head) use that split instead of guessing where a network's last layer is.

- :class:`MLP`: tables ``(N, d)``; ReLU hidden layers, optional dropout.
- :class:`CNN`: images ``(N, C, H, W)`` of any size: conv-ReLU blocks (the first ``n_pool`` of them
  followed by 2x2 max pooling when the image is large enough), then adaptive average pooling to
  ``1 x 1``, so the head does not depend on the image size.
- :class:`CNN1d`: signals ``(N, C, L)`` of any length: the 1-D analogue (stride-2 convolutions,
  adaptive average pooling).

:func:`build_network` builds one by name from the shape of one input and the number of classes.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from trust._validation import check_option, check_scalar
from trust.errors import ConfigError

NETWORKS = ("mlp", "cnn", "cnn1d")


class EmbedHead(nn.Module):
    """Base class: a representation ``embed`` then a linear ``head``; ``forward = head(embed(x))``."""

    head: nn.Linear

    def embed(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def embed_dim(self) -> int:
        return int(self.head.in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class MLP(EmbedHead):
    """``(N, d) -> (N, hidden[-1])`` by Linear-ReLU(-Dropout) layers, then ``head``."""

    def __init__(self, in_features: int, n_classes: int, hidden: Sequence[int] = (128, 128), dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        width = int(in_features)
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, int(n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))


class CNN(EmbedHead):
    """Images ``(N, C, H, W)``, any ``H, W >= 1``: 3x3 conv-ReLU blocks, max pooling, adaptive pooling.

    Block ``i`` has ``channels[i]`` filters (padding 1, so sizes are kept); after each of the first
    blocks a 2x2 max pool halves the image while both sides are still >= 4 (an 8x8 digit is pooled
    twice, a 28x28 image three times with ``channels`` of length 3). The representation is the
    global average of the last block, ``(N, channels[-1])``.
    """

    def __init__(self, in_channels: int, n_classes: int, channels: Sequence[int] = (32, 64, 128),
                 image_size: tuple[int, int] | None = None):
        super().__init__()
        h, w = image_size if image_size is not None else (1 << 30, 1 << 30)
        layers: list[nn.Module] = []
        width = int(in_channels)
        for c in channels:
            layers += [nn.Conv2d(width, int(c), kernel_size=3, padding=1), nn.ReLU()]
            if h >= 4 and w >= 4:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            width = int(c)
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, int(n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)


class CNN1d(EmbedHead):
    """Signals ``(N, C, L)``, any ``L >= 1``: conv-ReLU blocks (kernel 5, stride 2 while ``L >= 8``), adaptive pooling.

    The MNIST-1D paper's baseline CNN has three conv layers of 25 channels (kernel 5, stride 2);
    ``channels=(32, 64, 128)`` is wider, which reached its accuracy sooner on CPU here.
    """

    def __init__(self, in_channels: int, n_classes: int, channels: Sequence[int] = (32, 64, 128),
                 length: int | None = None):
        super().__init__()
        n = length if length is not None else 1 << 30
        layers: list[nn.Module] = []
        width = int(in_channels)
        for c in channels:
            stride = 2 if n >= 8 else 1
            layers += [nn.Conv1d(width, int(c), kernel_size=5, stride=stride, padding=2), nn.ReLU()]
            n = (n + 2 * 2 - 5) // stride + 1
            width = int(c)
        layers.append(nn.AdaptiveAvgPool1d(1))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, int(n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)


def _check_widths(widths: Sequence[int], name: str) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise ConfigError(f"{name}={widths!r} must be a list of layer widths, e.g. [64, 64]")
    out = tuple(check_scalar(w, f"{name}[{i}]", int, min_val=1) for i, w in enumerate(widths))
    if not out:
        raise ConfigError(f"{name} is empty; give at least one layer width, e.g. [64]")
    return out


def build_network(name: str, input_shape: tuple[int, ...], n_classes: int, *,
                  hidden: Sequence[int] = (128, 128), channels: Sequence[int] = (32, 64, 128),
                  dropout: float = 0.0) -> EmbedHead:
    """The network ``name`` for inputs of ``input_shape`` (one sample, channels first) and ``n_classes``.

    ``"mlp"``: ``input_shape = (d,)`` (any shape is flattened); ``"cnn"``: ``(C, H, W)``;
    ``"cnn1d"``: ``(C, L)``. Weights are initialised from torch's global generator: seed it (the
    estimator does, from its ``random_state``).
    """
    check_option(name, "network", NETWORKS)
    check_scalar(n_classes, "n_classes", int, min_val=2)
    check_scalar(dropout, "dropout", float, min_val=0.0, max_val=1.0, include_boundaries="left")
    if name == "mlp":
        d = 1
        for s in input_shape:
            d *= int(s)
        return MLP(d, n_classes, _check_widths(hidden, "hidden"), dropout)
    if name == "cnn":
        c, h, w = input_shape
        return CNN(c, n_classes, _check_widths(channels, "channels"), image_size=(h, w))
    c, n = input_shape
    return CNN1d(c, n_classes, _check_widths(channels, "channels"), length=n)


__all__ = ["NETWORKS", "EmbedHead", "MLP", "CNN", "CNN1d", "build_network"]
