"""Views: seeded random transforms of inputs (augmentations), one interface for images, signals and tables.

Every view is called as ``view(X, random_state)`` and returns a new float32 array of the same
shape (``X`` as the estimator takes it; ``uint8`` images are first scaled to [0, 1]); the same
seed gives the same view. :class:`TableView` must first be ``fit(X)`` on the data whose marginals
it samples from. :func:`make_view` builds one by input kind.

- :class:`ImageView` ``(N, H, W)`` or ``(N, C, H, W)``: a random affine map per image, translation up
  to ``max_shift`` pixels and rotation up to ``max_rotation`` degrees (bilinear, zero padding; one
  ``grid_sample`` for the batch), a horizontal flip with probability ``flip`` (0 by default: flips
  change the meaning of digits), a Gaussian blur with probability ``blur`` (3x3 kernel, sigma
  ``blur_sigma``), and additive Gaussian noise of sd ``noise``.
- :class:`SignalView` ``(N, L)`` or ``(N, C, L)``: a shift (not circular) by up to ``max_shift`` steps
  (zero padding), a scale factor in ``[1 - scale, 1 + scale]``, additive Gaussian noise of sd
  ``noise`` and a masked (zeroed) window of ``mask`` times the length.
- :class:`TableView` ``(N, d)``: SCARF corruption (Bahri et al., ICLR 2022): in each row
  ``round(corruption * d)`` features chosen at random are replaced by the value of that feature in a
  random row of the fitted data, i.e. a draw from its empirical marginal. ``dropout > 0`` also zeroes
  each feature with that probability (feature dropout); both may be set, corruption first.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from trust._validation import check_array, check_is_fitted, check_option, check_random_state, check_scalar, fork_seed

VIEW_KINDS = ("image", "signal", "table")


def _float(X: Any, ndim: tuple[int, ...]) -> np.ndarray:
    arr = check_array(X, "X", ndim=ndim, dtype=None)
    return arr.astype(np.float32) / np.float32(255.0) if arr.dtype == np.uint8 else arr.astype(np.float32)


def _generator(random_state: Any) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(fork_seed(check_random_state(random_state)))
    return g


class View:
    """Base class: ``view(X, random_state) -> X'`` (same shape, float32); ``fit`` returns self."""

    def fit(self, X: Any) -> "View":
        return self

    def __call__(self, X: Any, random_state: Any = None) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({opts})"


class ImageView(View):
    """Random shift, small rotation, optional flip, blur and noise of images (see the module docstring)."""

    def __init__(self, *, max_shift: float = 1.0, max_rotation: float = 10.0, flip: float = 0.0, blur: float = 0.0,
                 blur_sigma: float = 0.8, noise: float = 0.05) -> None:
        self.max_shift = check_scalar(max_shift, "max_shift", float, min_val=0.0)
        self.max_rotation = check_scalar(max_rotation, "max_rotation", float, min_val=0.0, max_val=180.0)
        self.flip = check_scalar(flip, "flip", float, min_val=0.0, max_val=1.0)
        self.blur = check_scalar(blur, "blur", float, min_val=0.0, max_val=1.0)
        self.blur_sigma = check_scalar(blur_sigma, "blur_sigma", float, min_val=0.0, include_boundaries="neither")
        self.noise = check_scalar(noise, "noise", float, min_val=0.0)

    def __call__(self, X: Any, random_state: Any = None) -> np.ndarray:
        arr = _float(X, (3, 4))
        squeeze = arr.ndim == 3
        x = torch.as_tensor(arr[:, None] if squeeze else arr)
        n, _, h, w = x.shape
        g = _generator(random_state)
        angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(self.max_rotation)
        # affine_grid works in [-1, 1] coordinates: a shift of s pixels is 2 s / size
        tx = (torch.rand(n, generator=g) * 2 - 1) * self.max_shift * 2 / w
        ty = (torch.rand(n, generator=g) * 2 - 1) * self.max_shift * 2 / h
        flip = torch.where(torch.rand(n, generator=g) < self.flip, -1.0, 1.0)
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        blur = torch.rand(n, generator=g) < self.blur
        if blur.any():
            k = torch.exp(-torch.tensor([-1.0, 0.0, 1.0]) ** 2 / (2 * self.blur_sigma ** 2))
            k2 = torch.outer(k, k) / torch.outer(k, k).sum()
            c = x.shape[1]
            blurred = F.conv2d(x[blur], k2.expand(c, 1, 3, 3).contiguous(), padding=1, groups=c)
            x[blur] = blurred
        if self.noise > 0:
            x = x + self.noise * torch.randn(x.shape, generator=g)
        out = x.numpy()
        return out[:, 0] if squeeze else out


class SignalView(View):
    """Random shift, scaling, noise and a masked window of 1-D signals (see the module docstring)."""

    def __init__(self, *, max_shift: int = 4, scale: float = 0.1, noise: float = 0.05, mask: float = 0.1) -> None:
        self.max_shift = check_scalar(max_shift, "max_shift", int, min_val=0)
        self.scale = check_scalar(scale, "scale", float, min_val=0.0, max_val=1.0, include_boundaries="left")
        self.noise = check_scalar(noise, "noise", float, min_val=0.0)
        self.mask = check_scalar(mask, "mask", float, min_val=0.0, max_val=1.0, include_boundaries="left")

    def __call__(self, X: Any, random_state: Any = None) -> np.ndarray:
        arr = _float(X, (2, 3))
        squeeze = arr.ndim == 2
        x = torch.as_tensor(arr[:, None] if squeeze else arr)
        n, _, length = x.shape
        g = _generator(random_state)
        shift = torch.randint(-self.max_shift, self.max_shift + 1, (n,), generator=g)
        src = torch.arange(length)[None, :] - shift[:, None]                      # (n, L): where each step comes from
        valid = (src >= 0) & (src < length)
        x = torch.gather(x, 2, src.clamp(0, length - 1)[:, None, :].expand_as(x)) * valid[:, None, :]
        x = x * (1 + (torch.rand(n, 1, 1, generator=g) * 2 - 1) * self.scale)
        if self.noise > 0:
            x = x + self.noise * torch.randn(x.shape, generator=g)
        width = int(round(self.mask * length))
        if width > 0:
            start = torch.randint(0, length - width + 1, (n,), generator=g)
            steps = torch.arange(length)[None, :]
            keep = ~((steps >= start[:, None]) & (steps < start[:, None] + width))
            x = x * keep[:, None, :]
        out = x.numpy()
        return out[:, 0] if squeeze else out


class TableView(View):
    """SCARF-style corruption from the empirical marginals, and/or feature dropout, of table rows."""

    def __init__(self, *, corruption: float = 0.3, dropout: float = 0.0) -> None:
        self.corruption = check_scalar(corruption, "corruption", float, min_val=0.0, max_val=1.0)
        self.dropout = check_scalar(dropout, "dropout", float, min_val=0.0, max_val=1.0)

    def fit(self, X: Any) -> "TableView":
        """Keep ``X`` (2-d) as the pool the corrupted values are drawn from."""
        self.pool_ = _float(X, (2,))
        return self

    def __call__(self, X: Any, random_state: Any = None) -> np.ndarray:
        check_is_fitted(self, "pool_")
        x = _float(X, (2,)).copy()
        if x.shape[1] != self.pool_.shape[1]:
            from trust.errors import DataError

            raise DataError(f"X has {x.shape[1]} features but the view was fitted on {self.pool_.shape[1]}")
        rng = check_random_state(random_state)
        n, d = x.shape
        q = int(round(self.corruption * d))
        if q > 0:
            replace = rng.random((n, d)).argsort(axis=1) < q   # q distinct features per row
            donor = rng.integers(0, len(self.pool_), size=(n, d))
            x[replace] = self.pool_[donor, np.arange(d)[None, :].repeat(n, 0)][replace]
        if self.dropout > 0:
            x[rng.random((n, d)) < self.dropout] = 0.0
        return x


def make_view(kind: str, **options: Any) -> View:
    """The view for inputs of ``kind`` (``"image"``, ``"signal"`` or ``"table"``) with ``options``."""
    check_option(kind, "kind", VIEW_KINDS)
    return {"image": ImageView, "signal": SignalView, "table": TableView}[kind](**options)


__all__ = ["VIEW_KINDS", "View", "ImageView", "SignalView", "TableView", "make_view"]
