"""``RCALClassifier``: learning with noisy labels on long-tailed data by representation calibration.

RCAL (Zhang et al., "When Noisy Labels Meet Long Tail Dilemmas: A Representation Calibration
Method", ICCV 2023) in three stages, all trained by :func:`trust.models.training.fit_torch`:

1. **Contrastive representations** (:mod:`trust.noisy.contrastive`): an encoder
   (:mod:`trust.models.networks`: ``"cnn"``, ``"cnn1d"``, ``"mlp"``) trained without labels by
   SimCLR on two views per input (:mod:`trust.models.views`: image and signal augmentations,
   SCARF corruption of table rows). ``z0(x)``: its representation of an unaugmented input.
2. **Distribution recovery** (:func:`trust.noisy.recovery.recover_class_distributions`) of the
   training rows' ``z0`` under their noisy labels: LOF outliers dropped per class, a Gaussian per
   class (Ledoit-Wolf shrinkage), tail classes borrowing covariance from their nearest head classes;
   ``class_means_``, ``class_covariances_``. Extra representations are sampled per class so every
   class has as many (real + sampled) as the largest (``n_sampled="balance"``).
3. **Classifier.** A copy of the contrastive encoder with a new linear head, trained on the noisy
   labels with, per batch of real rows ``(x, y)`` and a batch of sampled ``(z_s, y_s)``:

       loss = CE_mixup(head(embed(x_mix)), y, y[perm], lam)
              + CE(head(z_s), y_s)
              + beta * mean_i ||embed(x_i) - z0(x_i)||^2

   with mixup (Zhang et al., ICLR 2018) ``x_mix = lam x + (1 - lam) x[perm]``,
   ``lam ~ Beta(mixup_alpha, mixup_alpha)``, and the L2 pull keeping the learnt representations near
   the contrastive ones (robust to the noisy labels), which also keeps the sampled ``z_s`` (drawn in
   ``z0`` space) meaningful for the head.

**Calibration: ``mixup_alpha=0`` is the calibrated variant.** Mixup (the paper's, our default
``mixup_alpha=1``) trains on soft targets and leaves RCAL under-confident: its ECE is up to twice plain
cross-entropy's; without mixup it is cross-entropy's or lower, at a cost in accuracy where mixup carries the
gain (``benchmarks/README.md``, "## Noisy labels": 5 seeds, proportional noise). Use ``mixup_alpha=0`` when
the probabilities are read as probabilities, or keep mixup and put a calibrator (:mod:`trust.calibrate`) on top.

Deviations from the paper (no public code), each said here:

- SimCLR instead of MoCo, and the small networks of :mod:`trust.models.networks` instead of ResNet-32
  (see :mod:`trust.noisy.contrastive`), for tens of epochs (default ``contrastive_epochs=30``,
  ``epochs=30``; the pipeline uses 100 / 30 on digits, 60 / 40 on MNIST-1D) instead of hundreds: CPU scale.
- Tail borrowing averages covariances only, with equal weights, by default (``borrow_mean=True``
  moves the mean too); the paper fixes neither the weights nor whether the mean moves
  (:mod:`trust.noisy.recovery`). Ledoit-Wolf shrinkage is our choice for "shrinkage where samples
  are few"; LOF runs with scikit-learn's ``contamination="auto"``.
- The sampled representations enter as their own cross-entropy term, one batch of them (as large as
  the real batch) per step, with weight 1; the L2 pull is computed on the unmixed inputs (a second
  forward pass). The paper states the terms, not these batching details.
- The head is linear, as everywhere in :mod:`trust.models`.

Training goes through :func:`trust.models.training.fit_torch` unchanged: the stage-3 loss function draws
its mixup coefficients and sampled batches from its own seeded generator.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from trust._validation import (
    check_is_fitted, check_labels, check_option, check_random_state, check_scalar, fork_seed,
)
from trust.errors import ConfigError, DataError
from trust.models.classifier import network_layout, prepare_input
from trust.models.networks import build_network
from trust.models.training import FitHistory, fit_torch, resolve_device
from trust.models.views import make_view
from trust.noisy.contrastive import train_contrastive
from trust.noisy.recovery import ClassDistributions, recover_class_distributions

MODEL_KIND = "rcal-classifier"
FORMAT = "trust.noisy.RCALClassifier"
FORMAT_VERSION = 1
_CONFIG, _WEIGHTS = "model.json", "weights.pt"
NETWORK_FOR_KIND = {"image": "cnn", "signal": "cnn1d", "table": "mlp"}
VIEW_FOR_NETWORK = {"cnn": "image", "cnn1d": "signal", "mlp": "table"}


def _standardise(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = arr.mean(axis=0)
    scale = arr.std(axis=0)
    scale[scale == 0] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


class RCALClassifier(ClassifierMixin, BaseEstimator):
    """RCAL: contrastive encoder, recovered class distributions, calibrated classifier (module docstring).

    Args:
        network: ``"cnn"`` (images), ``"cnn1d"`` (signals) or ``"mlp"`` (tables).
        channels, hidden: the network's widths (:func:`trust.models.networks.build_network`).
        view: options of the view (:func:`trust.models.views.make_view`) for the network's input kind.
        contrastive_epochs, contrastive_lr, temperature, proj_dim: stage 1 (SimCLR).
        lof_neighbors, contamination, shrinkage, head_quantile, n_borrow, borrow_mean: stage 2
            (:func:`~trust.noisy.recovery.recover_class_distributions`).
        n_sampled: extra representations per class: ``"balance"``, an int, or None (none sampled).
        epochs, lr, batch_size, weight_decay: stage 3.
        beta: weight of the L2 pull towards the contrastive representations.
        mixup_alpha: Beta parameter of mixup (0: no mixup).
        n_classes: fix ``K`` (labels ``0..K-1``); None: ``max(y) + 1``.
        device, random_state, progress: as everywhere.

    Attributes:
        classes_, n_features_in_, input_shape_, network_ (the classifier), encoder_ (the contrastive
        encoder), distributions_ (:class:`~trust.noisy.recovery.ClassDistributions`, not saved),
        class_means_ ``(K, d)``, class_covariances_ ``(K, d, d)``, contrastive_history_, history_.
    """

    def __init__(self, network: str = "cnn", *, channels: Sequence[int] = (32, 64, 128),
                 hidden: Sequence[int] = (128, 128), view: Mapping[str, Any] | None = None,
                 contrastive_epochs: int = 30, contrastive_lr: float = 1e-3, temperature: float = 0.2,
                 proj_dim: int = 64, lof_neighbors: int = 20, contamination: Any = "auto",
                 shrinkage: str = "ledoit-wolf", head_quantile: float = 0.5, n_borrow: int = 2,
                 borrow_mean: bool = False, n_sampled: Any = "balance", epochs: int = 30, lr: float = 1e-3,
                 batch_size: int = 128, weight_decay: float = 0.0, beta: float = 0.1, mixup_alpha: float = 1.0,
                 n_classes: int | None = None, device: str = "auto", random_state: Any = 0,
                 progress: bool = False) -> None:
        self.network = network
        self.channels = channels
        self.hidden = hidden
        self.view = view
        self.contrastive_epochs = contrastive_epochs
        self.contrastive_lr = contrastive_lr
        self.temperature = temperature
        self.proj_dim = proj_dim
        self.lof_neighbors = lof_neighbors
        self.contamination = contamination
        self.shrinkage = shrinkage
        self.head_quantile = head_quantile
        self.n_borrow = n_borrow
        self.borrow_mean = borrow_mean
        self.n_sampled = n_sampled
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.beta = beta
        self.mixup_alpha = mixup_alpha
        self.n_classes = n_classes
        self.device = device
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ inputs
    def _layout(self, X: Any, name: str = "X") -> np.ndarray:
        return network_layout(X, check_option(self.network, "network", tuple(VIEW_FOR_NETWORK)), name)

    def _transform(self, X: Any, name: str = "X") -> np.ndarray:
        check_is_fitted(self, "network_")
        network = check_option(self.network, "network", tuple(VIEW_FOR_NETWORK))
        return prepare_input(X, network, self.input_shape_, self.mean_, self.scale_, name)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any, *, statistics_labels: Any = None) -> "RCALClassifier":
        """Train the three stages on ``X`` and its (noisy) integer labels ``y``; returns self.

        ``statistics_labels``: a control for experiments, never for use: stage 2 estimates the class
        distributions under these labels (e.g. the clean ones) instead of ``y``; stages 1 and 3 still see
        only ``X`` and ``y``. It measures what distribution recovery could give at best.
        """
        check_scalar(self.epochs, "epochs", int, min_val=1)
        check_scalar(self.batch_size, "batch_size", int, min_val=2)
        check_scalar(self.beta, "beta", float, min_val=0.0)
        check_scalar(self.mixup_alpha, "mixup_alpha", float, min_val=0.0)
        check_scalar(self.n_classes, "n_classes", int, min_val=2, allow_none=True)
        if self.view is not None and not isinstance(self.view, Mapping):
            raise ConfigError(f"view={self.view!r} must be a mapping of view options, e.g. {{'noise': 0.05}}")
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        arr = self._layout(X)
        labels = check_labels(y, len(arr), n_classes=self.n_classes)
        K = self.n_classes or int(labels.max()) + 1
        stats = labels if statistics_labels is None else check_labels(statistics_labels, len(arr), n_classes=K,
                                                                        name="statistics_labels")
        if K < 2:
            raise DataError("y holds a single class; a classifier needs at least 2 classes")
        self.mean_ = self.scale_ = None
        if self.network == "mlp":
            self.mean_, self.scale_ = _standardise(arr)
            arr = (arr - self.mean_) / self.scale_
        self.classes_ = np.arange(K)
        self.input_shape_ = tuple(int(s) for s in arr.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self.device_ = device.type
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(fork_seed(rng))
            encoder = build_network(self.network, self.input_shape_, K, hidden=self.hidden, channels=self.channels)
        self._fit_encoder(arr, encoder, rng, device)
        self._fit_classifier(arr, labels, K, rng, device, stats)
        return self

    def _fit_encoder(self, arr: np.ndarray, encoder: nn.Module, rng: np.random.Generator, device: torch.device) -> None:
        # Stage 1: label-free contrastive representations
        view = make_view(VIEW_FOR_NETWORK[self.network], **dict(self.view or {})).fit(arr)
        self.encoder_, self.contrastive_history_ = train_contrastive(
            encoder, arr, view, epochs=self.contrastive_epochs, batch_size=max(self.batch_size, 2),
            lr=self.contrastive_lr, temperature=self.temperature, proj_dim=self.proj_dim, random_state=rng,
            device=device, progress=self.progress)
        for p in self.encoder_.parameters():
            p.requires_grad_(False)

    def _fit_classifier(self, arr: np.ndarray, labels: np.ndarray, K: int, rng: np.random.Generator,
                        device: torch.device, stats: np.ndarray) -> None:
        z0 = self._run(self.encoder_.embed, arr)
        # Stage 2: distributions recovered from the noisy labels (``stats``: see fit), and samples to rebalance
        self.distributions_: ClassDistributions = recover_class_distributions(
            z0, stats, n_classes=K, lof_neighbors=self.lof_neighbors, contamination=self.contamination,
            shrinkage=self.shrinkage, head_quantile=self.head_quantile, n_borrow=self.n_borrow,
            borrow_mean=self.borrow_mean)
        self.class_means_ = self.distributions_.means
        self.class_covariances_ = self.distributions_.covariances
        if self.n_sampled is None:
            Zs, ys = np.zeros((0, z0.shape[1])), np.zeros(0, dtype=np.int64)
        else:
            counts = np.bincount(labels, minlength=K)
            n = (counts.max() - counts) if isinstance(self.n_sampled, str) and self.n_sampled == "balance" else self.n_sampled
            Zs, ys = self.distributions_.sample(n, random_state=rng)
        self.n_sampled_ = int(len(ys))
        # Stage 3: the classifier (a copy of the encoder, a new head), trained through fit_torch
        net = copy.deepcopy(self.encoder_)
        for p in net.parameters():
            p.requires_grad_(True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(fork_seed(rng))
            net.head = nn.Linear(net.embed_dim, K)
        loss_fn = _rcal_loss(Zs.astype(np.float32), ys, beta=float(self.beta), alpha=float(self.mixup_alpha),
                             batch_size=self.batch_size, rng=np.random.default_rng(fork_seed(rng)), device=device)
        self.history_: FitHistory = fit_torch(
            net, loss_fn, (arr, labels, z0.astype(np.float32)), epochs=self.epochs, batch_size=self.batch_size,
            lr=self.lr, weight_decay=self.weight_decay, random_state=rng, device=device, progress=self.progress,
            desc="RCAL classifier")
        self.network_ = net

    def _run(self, fn, arr: np.ndarray) -> np.ndarray:
        dev = torch.device(self.device_)
        outs = []
        with torch.no_grad():
            for i in range(0, len(arr), 1024):
                outs.append(fn(torch.as_tensor(arr[i:i + 1024], device=dev)).float().cpu().numpy())
        return np.concatenate(outs).astype(np.float64)

    # ------------------------------------------------------------------ predict
    def decision_function(self, X: Any) -> np.ndarray:
        """Logits, ``(N, K)``."""
        self.network_.eval()
        return self._run(self.network_, self._transform(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax probabilities, ``(N, K)``."""
        z = self.decision_function(X)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def embed(self, X: Any) -> np.ndarray:
        """The classifier's representation before its linear head, ``(N, d)``."""
        self.network_.eval()
        return self._run(self.network_.embed, self._transform(X))

    def contrastive_embed(self, X: Any) -> np.ndarray:
        """The label-free contrastive representation ``z0``, ``(N, d)`` (the space of ``class_means_``)."""
        check_is_fitted(self, "encoder_")
        self.encoder_.eval()
        return self._run(self.encoder_.embed, self._transform(X))

    # ------------------------------------------------------------------ save / load
    def save(self, path: Any) -> Path:
        """Write the fitted model to the folder ``path`` atomically (:func:`trust.data.io.model_dir_writer`).

        Saved: settings, classes, input shape, the classifier's and the contrastive encoder's weights,
        the standardisation, ``class_means_`` and ``class_covariances_``. No row counts or rows.
        """
        from trust.data.io import write_model_dir

        check_is_fitted(self, "network_")
        params = self.get_params()
        params["random_state"] = self.random_state if isinstance(self.random_state, int) else None
        for k in ("hidden", "channels"):
            params[k] = [int(v) for v in params[k]]
        params["view"] = dict(self.view) if self.view is not None else None
        config = {"format": FORMAT, "version": FORMAT_VERSION, "params": params, "classes": self.classes_.tolist(),
                  "input_shape": list(self.input_shape_), "history": {"loss": self.history_.loss,
                                                                    "contrastive_loss": self.contrastive_history_.loss}}
        state = {f"network.{k}": v.detach().cpu() for k, v in self.network_.state_dict().items()}
        state.update({f"encoder.{k}": v.detach().cpu() for k, v in self.encoder_.state_dict().items()})
        state["means"] = torch.as_tensor(self.class_means_)
        state["covariances"] = torch.as_tensor(self.class_covariances_)
        if self.mean_ is not None:
            state["x_mean"], state["x_scale"] = torch.as_tensor(self.mean_), torch.as_tensor(self.scale_)
        return write_model_dir(path, kind=MODEL_KIND, config=config, config_name=_CONFIG, weights=state,
                               weights_name=_WEIGHTS)

    @classmethod
    def load(cls, path: Any, *, device: str | None = None) -> "RCALClassifier":
        """Load a model written by :meth:`save`."""
        from trust.data.io import read_model_dir

        p = Path(path)
        read_model_dir(p, kind=MODEL_KIND, files=(_CONFIG, _WEIGHTS), what="RCALClassifier")
        try:
            config = json.loads((p / _CONFIG).read_text(encoding="utf-8"))
            state = torch.load(p / _WEIGHTS, map_location="cpu", weights_only=True)
        except (ValueError, OSError, RuntimeError) as e:
            raise DataError(f"'{p}' could not be read as a saved RCALClassifier ({type(e).__name__}); save it again") from None
        if config.get("format") != FORMAT or config.get("version") != FORMAT_VERSION:
            raise DataError(f"'{p}' is not an RCALClassifier of format version {FORMAT_VERSION}; refit it")
        params = dict(config["params"])
        for k in ("hidden", "channels"):
            params[k] = tuple(params[k])
        if device is not None:
            params["device"] = device
        est = cls(**params)
        est.classes_ = np.asarray(config["classes"])
        est.input_shape_ = tuple(config["input_shape"])
        est.n_features_in_ = int(np.prod(est.input_shape_))
        K = len(est.classes_)
        est.mean_ = state["x_mean"].numpy() if "x_mean" in state else None
        est.scale_ = state["x_scale"].numpy() if "x_scale" in state else None
        dev = resolve_device(params["device"])
        est.device_ = dev.type
        nets = []
        for prefix in ("network.", "encoder."):
            net = build_network(params["network"], est.input_shape_, K, hidden=params["hidden"], channels=params["channels"])
            net.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
            nets.append(net.to(dev).eval())
        est.network_, est.encoder_ = nets
        est.class_means_ = state["means"].numpy()
        est.class_covariances_ = state["covariances"].numpy()
        est.history_ = FitHistory(list(config["history"]["loss"]))
        est.contrastive_history_ = FitHistory(list(config["history"]["contrastive_loss"]))
        return est


def _rcal_loss(Zs: np.ndarray, ys: np.ndarray, *, beta: float, alpha: float, batch_size: int,
               rng: np.random.Generator, device: torch.device):
    """The stage-3 batch loss (module docstring); the sampled pool is drawn from with ``rng``."""
    Zs_t = torch.as_tensor(Zs, device=device)
    ys_t = torch.as_tensor(ys, device=device)

    def loss_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
        n = len(x)
        if alpha > 0 and n > 1:
            lam = float(rng.beta(alpha, alpha))
            perm = torch.as_tensor(rng.permutation(n), device=x.device)
            logits = model(lam * x + (1 - lam) * x[perm])
            ce = lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(logits, y[perm])
        else:
            ce = F.cross_entropy(model(x), y)
        loss = ce
        if beta > 0:
            loss = loss + beta * ((model.embed(x) - z0) ** 2).sum(dim=1).mean()
        if len(ys_t):
            idx = torch.as_tensor(rng.integers(0, len(ys_t), size=min(batch_size, len(ys_t))), device=x.device)
            loss = loss + F.cross_entropy(model.head(Zs_t[idx]), ys_t[idx])
        return loss

    return loss_fn


__all__ = ["RCALClassifier", "MODEL_KIND", "NETWORK_FOR_KIND"]
