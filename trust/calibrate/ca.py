"""The correctness-aware (CA) calibrator (Liu et al. 2024, "Optimizing Calibration by Gaining Aware of
Prediction Correctness") and :func:`view_logits`, which feeds it.

**Model.** A small network predicts one temperature per sample, ``T(x) = g(f(x))``, and the calibrated
logits are ``z / T(x)``; since ``T > 0`` the predicted class never changes. Its input ``f(x)`` is the
classifier's softmax on ``V`` transformed views of the sample (``view_logits``, shape ``(V, n, K)``),
each read at the original prediction's ``top_k`` classes (the classes ranked by the original logits
``z``): ``V * top_k`` numbers (the paper: 3 views x top-4 = 12). ``g`` is ``Linear(V*top_k, hidden)``,
ReLU, ``Linear(hidden, 1)`` (the public code: 12 -> 5 -> 1) and ``T`` is clamped to ``[t_min, t_max]``
(public code: [0.1, 10]).

**Losses** (``loss=``), with ``conf_i = max_k softmax(z_i / T_i)_k`` and ``c_i = 1[argmax z_i = y_i]``:

- ``"ca"`` (the paper's): ``(conf_i - c_i)^2``, correct and wrong rows re-weighted to equal total
  weight (``w_i = 1 / (2 n_correct)`` or ``1 / (2 n_wrong)``; the public code's per-batch weights
  ``1 - acc`` and ``acc`` are the same thing): confidence pushed to 1 on correct and to 0 on wrong
  predictions; with ``balance=False`` the same squared error unweighted (our diagnostic, not in the paper);
- ``"ce"`` (ablation): the cross-entropy ``-log softmax(z_i / T_i)_{y_i}``, unweighted;
- ``"mse"`` (ablation): the Brier loss ``sum_k (softmax(z_i / T_i)_k - 1[y_i = k])^2``, unweighted.

Trained on an in-distribution validation split by :func:`trust.models.training.fit_torch` (Adam).

**The prior shift of the paper's loss.** With the re-weighting, the loss is a squared error under a
changed base rate: take rows whose features give probability ``q`` of a correct prediction, and let
``a = n_correct / n`` be the accuracy on the fitting rows. Their expected weighted loss at confidence
``c`` is ``q (1 - c)^2 / (2 a n) + (1 - q) c^2 / (2 (1 - a) n)``, minimised at

    odds(c*) = odds(q) * (1 - a) / a,        odds(p) = p / (1 - p),

the confidence that is calibrated for a 50 % base rate, not for ``a``. A model right 75 % of the time
whose views carry little correctness signal is pushed towards confidence 0.5: under-confident in
distribution (``benchmarks/README.md``, "## Calibration"). Under a shift that lowers the accuracy the same
under-confidence can look like an advantage.

**Prior-corrected CA** (``prior_correction=True``; our variant, NOT the paper's method). The network
is trained exactly as above; at prediction the shift is undone, ``odds(q) = odds(c) * a / (1 - a)`` with
``c`` the CA confidence and ``a`` the accuracy on the fitting rows (``base_rate_``), and the corrected
confidence ``q`` is realised as a per-sample temperature: ``T'(x)`` solves ``max_k softmax(z / T')_k = q``
(bisection on ``log T'`` in ``[1e-3, 1e3]``; the top-label confidence falls monotonically with ``T``), so
the predicted class never changes either. ``q`` is clipped to ``(1/K, 1)``.

**Views** (:func:`default_views`; ``views=None`` in :func:`view_logits`). The paper's views of colour
photographs (rotation, greyscale, colour jitter) do not apply to grey digits or signals; ours:

- images (``"cnn"``): a rotation of up to 15 degrees; a shift of up to 1 pixel; a 3x3 Gaussian blur;
- signals (``"cnn1d"``): a shift of up to 4 steps; a scaling by up to +-20 %; a zeroed window of 15 %;
- tables (``"mlp"``): SCARF feature corruption of 10 %, 20 % and 30 % of the features from the
  empirical marginals (a :class:`~trust.models.views.TableView` not yet fitted is fitted on ``X`` itself).

No view adds Gaussian noise, so a noise shift is a transform the calibrator never saw.

**Deviations from the paper / public code**, all because our validation splits are 10-100x smaller
than ImageNet's 50k (one batch of 1000 is the whole split, so 10 epochs would be 10 steps):

- defaults ``epochs=300``, ``lr=1e-2`` (paper: 10 epochs at 1e-4, batch 1000);
- the network's output is read as ``log T`` (``T = exp(o)``, then clamped), which keeps ``T`` positive
  without a dead region below 0. The untrained network's output is small but not zero (PyTorch's
  default initialisation of the last layer), so training starts near, not at, ``T = 1``: the initial
  per-row temperatures on the validation rows of our three base models (digits, MNIST-1D, Adult) lie
  between 0.57 and 1.97 over ``random_state`` 0-4 (0.93-1.46 at the default seed 0);
- the weighted mean over a batch is ``sum w_i l_i / sum w_i`` (the one training loop's reduction); with
  one batch per epoch (the default) that is exactly the paper's equal-total-weight loss.
- The metric: we report ECE with 15 bins (the public code uses 25).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trust._validation import (
    check_array, check_is_fitted, check_option, check_random_state, check_scalar, fork_seed,
)
from trust.calibrate.base import Calibrator
from trust.calibrate.baselines import check_logits, softmax
from trust.errors import ConfigError, DataError

LOSSES = ("ca", "ce", "mse")
_KIND_OF_NETWORK = {"cnn": "image", "cnn1d": "signal", "mlp": "table"}


def default_views(kind: str) -> list[Any]:
    """The documented views for inputs of ``kind`` (``"image"``, ``"signal"``, ``"table"``): see the module docstring."""
    from trust.models.views import ImageView, SignalView, TableView, VIEW_KINDS

    check_option(kind, "kind", VIEW_KINDS)
    if kind == "image":
        return [ImageView(max_shift=0.0, max_rotation=15.0, noise=0.0), ImageView(max_shift=1.0, max_rotation=0.0, noise=0.0),
                ImageView(max_shift=0.0, max_rotation=0.0, blur=1.0, noise=0.0)]
    if kind == "signal":
        return [SignalView(max_shift=4, scale=0.0, noise=0.0, mask=0.0), SignalView(max_shift=0, scale=0.2, noise=0.0, mask=0.0),
                SignalView(max_shift=0, scale=0.0, noise=0.0, mask=0.15)]
    return [TableView(corruption=c) for c in (0.1, 0.2, 0.3)]


def view_logits(model: Any, X: Any, views: Sequence[Any] | None = None, *, random_state: Any = 0) -> np.ndarray:
    """The fitted classifier's logits on each view of ``X``: ``(n_views, n, K)``.

    Args:
        model: a fitted :class:`~trust.models.NeuralClassifier` (anything with ``decision_function``;
            ``views=None`` needs its ``network_name_`` to be ``"cnn"``, ``"cnn1d"`` or ``"mlp"``).
        X: the rows, as the model takes them.
        views: callables ``view(X, random_state)`` (:mod:`trust.models.views`); None: :func:`default_views`
            for the model's input kind. A :class:`~trust.models.views.TableView` that is not fitted is fitted on ``X``.
        random_state: seed of the views' randomness (each view gets its own child seed).
    """
    if not callable(getattr(model, "decision_function", None)):
        raise ConfigError(f"model must be a fitted classifier with decision_function (e.g. NeuralClassifier), "
                          f"got {type(model).__name__}")
    check_is_fitted(model)
    if views is None:
        name = getattr(model, "network_name_", "custom")
        if name not in _KIND_OF_NETWORK:
            raise ConfigError(f"no default views for a '{name}' network; pass views=[...] (see trust.models.views)")
        views = default_views(_KIND_OF_NETWORK[name])
    views = list(views)
    if not views:
        raise ConfigError("views is empty; pass at least one view (or None for the defaults)")
    from trust.models.views import TableView

    rng = check_random_state(random_state)
    out = []
    for v in views:
        if isinstance(v, TableView) and not hasattr(v, "pool_"):
            v.fit(X)
        out.append(model.decision_function(v(X, fork_seed(rng))))
    return np.stack(out).astype(np.float64)


def check_view_logits(view_logits_: Any, Z: np.ndarray, n_views: int | None = None) -> np.ndarray:
    """``view_logits`` checked against the logits ``Z``: finite, ``(n_views, n, K)`` with ``Z``'s ``(n, K)``."""
    if view_logits_ is None:
        raise DataError("the CA calibrator needs view_logits (n_views, n, K): the model's logits on transformed views of "
                        "the same rows (trust.calibrate.view_logits(model, X))")
    V = check_array(view_logits_, "view_logits", ndim=3)
    if V.shape[1:] != Z.shape:
        raise DataError(f"view_logits has shape {V.shape} but logits have {Z.shape}; it must be (n_views, {Z.shape[0]}, "
                        f"{Z.shape[1]}): the model's logits on each view of the same rows")
    if n_views is not None and V.shape[0] != n_views:
        raise DataError(f"view_logits has {V.shape[0]} views but the calibrator was fitted on {n_views}; "
                        "compute them with the same views")
    return V


class _TemperatureNet(nn.Module):
    """``T = exp(clamp(g(f), log t_min, log t_max))`` with ``g`` = Linear, ReLU, Linear."""

    def __init__(self, d: int, hidden: int, t_min: float, t_max: float) -> None:
        super().__init__()
        self.g = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.log_min, self.log_max = math.log(t_min), math.log(t_max)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.g(f)[:, 0].clamp(self.log_min, self.log_max))


def temperature_for_confidence(logits: Any, confidence: Any, *, low: float = 1e-3, high: float = 1e3,
                               steps: int = 60) -> np.ndarray:
    """Per row, the temperature ``T`` in ``[low, high]`` whose top-label confidence ``max softmax(z / T)`` is
    ``confidence`` (bisection on ``log T``; the confidence falls monotonically as ``T`` grows)."""
    Z = np.asarray(logits, dtype=np.float64)
    q = np.asarray(confidence, dtype=np.float64)
    lo, hi = np.full(len(Z), math.log(low)), np.full(len(Z), math.log(high))
    for _ in range(steps):
        mid = (lo + hi) / 2
        too_sure = softmax(Z / np.exp(mid)[:, None]).max(axis=1) > q     # T too small: raise it
        lo, hi = np.where(too_sure, mid, lo), np.where(too_sure, hi, mid)
    return np.exp((lo + hi) / 2)


def undo_prior_shift(confidence: Any, base_rate: float) -> np.ndarray:
    """``q`` with ``odds(q) = odds(c) * a / (1 - a)``: the confidence the paper's equal-weight loss would give
    at base rate ``a`` (module docstring), from the confidence ``c`` it gives at 50 %."""
    c = np.clip(np.asarray(confidence, dtype=np.float64), 1e-12, 1 - 1e-12)
    odds = c / (1 - c) * base_rate / (1 - base_rate)
    return odds / (1 + odds)


class CorrectnessAwareCalibrator(Calibrator):
    """Per-sample temperature from the model's softmax on transformed views (see the module docstring).

    Args:
        loss: ``"ca"`` (correctness-aware, the paper's), ``"ce"`` or ``"mse"`` (the paper's ablations).
        balance: with ``loss="ca"``, re-weight correct and wrong rows to equal total weight (the paper);
            False: unweighted (a diagnostic).
        prior_correction: undo the prior shift of the re-weighted loss at prediction (our variant, not the
            paper's; needs ``loss="ca"`` and ``balance=True``; module docstring).
        top_k: classes read from each view's softmax (at most K).
        hidden: width of the hidden layer.
        t_min, t_max: the clamp of the network's temperature.
        epochs, lr, batch_size, weight_decay: training (Adam through :func:`trust.models.training.fit_torch`).
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        random_state: seed of the weights and batch order.

    Attributes:
        network_ (the temperature network), n_classes_, n_views_, top_k_, base_rate_ (the accuracy on the
        fitting rows the re-weighting balanced; 0.5 when nothing was re-weighted), history_.
    """

    needs_views = True

    def __init__(self, *, loss: str = "ca", balance: bool = True, prior_correction: bool = False, top_k: int = 4,
                 hidden: int = 5, t_min: float = 0.1, t_max: float = 10.0, epochs: int = 300, lr: float = 1e-2,
                 batch_size: int = 1000, weight_decay: float = 0.0, device: str = "auto", random_state: Any = 0) -> None:
        self.loss = loss
        self.balance = balance
        self.prior_correction = prior_correction
        self.top_k = top_k
        self.hidden = hidden
        self.t_min = t_min
        self.t_max = t_max
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state

    def _features(self, Z: np.ndarray, V: np.ndarray) -> np.ndarray:
        top = np.argsort(-Z, axis=1, kind="stable")[:, : self.top_k_]                    # (n, k) original top-k classes
        S = np.stack([np.take_along_axis(softmax(v), top, axis=1) for v in V], axis=1)   # (n, V, k)
        return S.reshape(len(Z), -1).astype(np.float32)

    def _check_settings(self) -> tuple[float, float]:
        check_option(self.loss, "loss", LOSSES)
        check_scalar(self.top_k, "top_k", int, min_val=1)
        check_scalar(self.hidden, "hidden", int, min_val=1)
        if self.prior_correction and (self.loss != "ca" or not self.balance):
            raise ConfigError(f"prior_correction=True undoes the re-weighting of loss='ca', balance=True; it does not "
                              f"apply to loss={self.loss!r}, balance={self.balance!r}: set prior_correction=False")
        t_min = check_scalar(self.t_min, "t_min", float, min_val=0.0, include_boundaries="neither")
        return t_min, check_scalar(self.t_max, "t_max", float, min_val=t_min, include_boundaries="neither")

    def fit(self, logits: Any, labels: Any, view_logits: Any = None) -> "CorrectnessAwareCalibrator":
        """Fit on validation ``logits`` ``(n, K)``, ``labels`` and ``view_logits`` ``(n_views, n, K)``; returns self."""
        from trust.models.training import fit_torch

        t_min, t_max = self._check_settings()
        Z, y = check_logits(logits, labels, fitting=True)
        V = check_view_logits(view_logits, Z)
        self.n_classes_, self.n_views_ = Z.shape[1], V.shape[0]
        self.top_k_ = min(self.top_k, self.n_classes_)
        feats = self._features(Z, V)
        correct = (Z.argmax(axis=1) == y).astype(np.float32)
        rng = check_random_state(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(fork_seed(rng))
            net = _TemperatureNet(feats.shape[1], self.hidden, t_min, t_max)
        n_c, n_w = float(correct.sum()), float(len(correct) - correct.sum())
        weight, self.base_rate_ = None, 0.5
        if self.loss == "ca" and self.balance and n_c and n_w:
            weight = np.where(correct > 0, 0.5 / n_c, 0.5 / n_w)
            self.base_rate_ = n_c / len(correct)
        self.history_ = fit_torch(net, _loss_function(self.loss), (feats, Z.astype(np.float32), y, correct),
                                  epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                                  weight_decay=self.weight_decay, sample_weight=weight, random_state=rng,
                                  device=self.device, desc=f"CorrectnessAwareCalibrator({self.loss})")
        self.network_ = net.cpu().eval()
        return self

    def predict_temperature(self, logits: Any, view_logits: Any = None) -> np.ndarray:
        """The per-sample temperature, ``(n,)``: the network's ``T(x)``, or with ``prior_correction`` the ``T'(x)``
        that realises the corrected confidence."""
        check_is_fitted(self, "network_")
        Z, _ = check_logits(logits, n_classes=self.n_classes_)
        V = check_view_logits(view_logits, Z, self.n_views_)
        with torch.no_grad():
            T = self.network_(torch.as_tensor(self._features(Z, V))).double().numpy()
        if not self.prior_correction:
            return T
        q = undo_prior_shift(softmax(Z / T[:, None]).max(axis=1), self.base_rate_)
        return temperature_for_confidence(Z, np.clip(q, 1.0 / Z.shape[1] + 1e-9, 1 - 1e-12))

    def transform(self, logits: Any, view_logits: Any = None) -> np.ndarray:
        """Calibrated logits ``z / T(x)``."""
        Z, _ = check_logits(logits)
        return Z / self.predict_temperature(Z, view_logits)[:, None]

    def _state(self) -> dict[str, Any]:
        return {"n_views": self.n_views_, "top_k": self.top_k_, "base_rate": self.base_rate_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.n_views_, self.top_k_ = int(state["n_views"]), int(state["top_k"])
        self.base_rate_ = float(state.get("base_rate", 0.5))

    def _weights(self) -> dict[str, Any]:
        check_is_fitted(self, "network_")
        return {k: v.detach().cpu() for k, v in self.network_.state_dict().items()}

    def _set_weights(self, weights: dict[str, Any], state: dict[str, Any]) -> None:
        net = _TemperatureNet(self.n_views_ * self.top_k_, int(self.hidden), float(self.t_min), float(self.t_max))
        try:
            net.load_state_dict(weights)
        except (RuntimeError, KeyError):
            raise DataError("the saved CA network's weights do not fit its settings; save the calibrator again") from None
        self.network_ = net.eval()


def _loss_function(name: str):
    """The per-row training loss of ``loss=name`` (module docstring), as ``fit_torch`` calls it."""

    def loss_fn(model: nn.Module, f: torch.Tensor, z: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        s = z / model(f)[:, None]
        if name == "ce":
            return F.cross_entropy(s, t, reduction="none")
        p = torch.softmax(s, dim=1)
        if name == "mse":
            return ((p - F.one_hot(t, p.shape[1]).to(p.dtype)) ** 2).sum(1)
        return (p.max(dim=1).values - c) ** 2

    return loss_fn


__all__ = ["LOSSES", "default_views", "view_logits", "check_view_logits", "CorrectnessAwareCalibrator", "temperature_for_confidence",
           "undo_prior_shift"]
