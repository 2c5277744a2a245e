"""``NeuralClassifier``: a scikit-learn-style classifier over the shared networks and training loop.

>>> import tempfile
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = np.arange(40) % 2
>>> X = (rng.random((40, 8, 8)) * 0.5 + 0.5 * y[:, None, None] * np.eye(8)).astype(np.float32)  # (N, H, W) images
>>> clf = NeuralClassifier("cnn", epochs=2, channels=(8,), random_state=0).fit(X, y)
>>> clf.predict_proba(X).shape, clf.decision_function(X).shape, clf.embed(X).shape  # probabilities, logits, features
((40, 2), (40, 2), (40, 8))
>>> path = clf.save(tempfile.mkdtemp() + "/model")
>>> bool((NeuralClassifier.load(path).decision_function(X) == clf.decision_function(X)).all())
True

Inputs: ``"mlp"`` takes tables ``(N, d)`` (any other shape is flattened) and standardises each
feature with the training mean and sd; ``"cnn"`` takes images ``(N, H, W)`` or ``(N, C, H, W)``;
``"cnn1d"`` signals ``(N, L)`` or ``(N, C, L)``; an ``nn.Module`` gets the array as given. ``uint8``
arrays are divided by 255 (pixel intensities to [0, 1]); float arrays are used as given, except float images
for ``"cnn"`` whose values all lie in [0, 255] with some above 1: those are pixel intensities someone forgot to
scale (a CNN trained on them reached 0.21 accuracy instead of 0.58), so they are divided by 255 like ``uint8``
with a one-line :class:`UserWarning` when fitting (prediction scales them the same way, silently).

Labels: integers. With ``n_classes=None`` the classes are ``np.unique(y)`` (``classes_``) and the
logits have one column per class present; with ``n_classes=K`` they are ``0..K-1`` whether or not
all occur (what a model retrained without a class needs to stay comparable), and a label ``>= K``
is refused.

Training: cross-entropy by :func:`trust.models.training.fit_torch` (Adam by default). The network's
weights are initialised from a torch generator seeded from ``random_state`` (in a forked torch
RNG), so the same seed gives byte-identical logits on the same device and thread count.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from trust._validation import (
    check_array, check_is_fitted, check_labels, check_option, check_random_state, check_scalar, fork_seed,
)
from trust.errors import ConfigError, DataError
from trust.models.networks import NETWORKS, build_network
from trust.models.training import Callback, FitHistory, fit_torch, resolve_device

FORMAT = "trust.models.NeuralClassifier"
FORMAT_VERSION = 1
MODEL_KIND = "neural-classifier"  # the model directory's manifest kind (trust.data.io.model_dir_writer)
_CONFIG, _WEIGHTS = "model.json", "weights.pt"


class NeuralClassifier(ClassifierMixin, BaseEstimator):
    """A torch classifier (MLP, CNN or 1-D CNN, or your own ``nn.Module``) with the scikit-learn interface.

    Args:
        network: ``"mlp"`` (tables), ``"cnn"`` (images of any size), ``"cnn1d"`` (signals of any length),
            or an ``nn.Module`` mapping a float batch to ``(batch, K)`` logits (used with its weights as
            given; ``embed`` needs it to have an ``embed`` method, e.g. a
            :class:`~trust.models.networks.EmbedHead`).
        epochs, lr, batch_size, weight_decay, optimizer: the training loop's settings.
        hidden: MLP hidden widths; channels: CNN / 1-D CNN filters per block; dropout: MLP dropout.
        n_classes: fix the number of classes (labels ``0..n_classes-1``); None: the classes in ``y``.
        standardize: standardise features with the training mean and sd; ``"auto"``: for ``"mlp"`` only.
        patience: early stopping on ``eval_set`` (see :meth:`fit`); None: train all epochs.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        random_state: seed of weights, batch order and dropout.
        progress: a tqdm bar with the running loss.

    Attributes:
        classes_, n_features_in_ (features per sample, ``C*H*W`` for images), input_shape_ (one sample's
        shape as the network sees it), network_ (the trained module, on ``device_``), network_name_
        (``"mlp"``, ``"cnn"``, ``"cnn1d"`` or ``"custom"``), device_,
        history_ (a :class:`~trust.models.training.FitHistory`), mean_, scale_ (standardisation or None).
    """

    def __init__(self, network: str | nn.Module = "mlp", *, epochs: int = 20, lr: float = 1e-3,
                 batch_size: int = 128, weight_decay: float = 0.0, optimizer: str = "adam",
                 hidden: Sequence[int] = (128, 128), channels: Sequence[int] = (32, 64, 128), dropout: float = 0.0,
                 n_classes: int | None = None, standardize: bool | str = "auto", patience: int | None = None,
                 device: str = "auto", random_state: Any = 0, progress: bool = False) -> None:
        self.network = network
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.hidden = hidden
        self.channels = channels
        self.dropout = dropout
        self.n_classes = n_classes
        self.standardize = standardize
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ inputs
    def _network_name(self) -> str:
        if isinstance(self.network, nn.Module):
            return "custom"
        if not isinstance(self.network, str):
            raise ConfigError(f"network={self.network!r} must be one of {', '.join(NETWORKS)} or a torch nn.Module")
        return check_option(self.network, "network", NETWORKS)

    def _shape(self, X: Any, name: str = "X") -> np.ndarray:
        """Check ``X`` and return it as float32 in the layout the network takes (uint8 scaled to [0, 1])."""
        return network_layout(X, self._network_name(), name)

    def _transform(self, X: Any, name: str = "X") -> np.ndarray:
        check_is_fitted(self, "network_")
        return prepare_input(X, self._network_name(), self.input_shape_, self.mean_, self.scale_, name)

    def network_input(self, X: Any) -> np.ndarray:
        """``X`` as the fitted network takes it: checked, shaped, scaled and standardised like the training
        data (float32). What code that fine-tunes ``network_`` with :func:`~trust.models.training.fit_torch`
        feeds it."""
        return self._transform(X)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any, sample_weight: Any = None, *, eval_set: tuple[Any, ...] | None = None,
            callbacks: Sequence[Callback] = (), loss: Any = None, extra: Sequence[Any] = ()) -> "NeuralClassifier":
        """Train on ``X`` (tables, images or signals) and integer labels ``y``; returns self.

        Args:
            sample_weight: non-negative weight per row (a weighted mean of the cross-entropy).
            eval_set: ``(X_val, y_val)``: the validation loss is recorded each epoch in ``history_``;
                with ``patience`` set, training stops early and keeps the best epoch's weights.
            callbacks: :class:`~trust.models.training.Callback` hooks (custom loss terms, frozen layers).
            loss: ``loss(network, x, target, *extra) -> per-sample losses`` in place of the cross-entropy
                (``x`` the batch as the network takes it, ``target`` indices into ``classes_``); also scores
                ``eval_set``. Default: the cross-entropy.
            extra: arrays with one row per row of ``X`` (e.g. a teacher's logits), batched with it and passed to
                ``loss`` after ``target``; ``eval_set`` then carries its own after ``X_val, y_val``.
        """
        net_name = self._network_name()
        for key, kind, lo in (("epochs", int, 1), ("batch_size", int, 1)):
            check_scalar(getattr(self, key), key, kind, min_val=lo)
        check_scalar(self.lr, "lr", float, min_val=0.0, include_boundaries="neither")
        check_scalar(self.n_classes, "n_classes", int, min_val=2, allow_none=True)
        check_scalar(self.patience, "patience", int, min_val=1, allow_none=True)
        if not (isinstance(self.standardize, bool) or self.standardize == "auto"):
            raise ConfigError(f"standardize={self.standardize!r} must be True, False or 'auto'")
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        arr = self._shape(X)
        labels = check_labels(y, len(arr), n_classes=self.n_classes)
        if self.n_classes is None:
            classes = np.unique(labels)
            if len(classes) < 2:
                raise DataError(f"y holds only class {int(classes[0])}; a classifier needs at least 2 classes")
            target = np.searchsorted(classes, labels)
        else:
            classes, target = np.arange(self.n_classes), labels
        if eval_set is not None and len(eval_set) != 2 + len(extra):
            raise ConfigError(f"eval_set must be (X_val, y_val) followed by the {len(extra)} extra array(s) passed to fit")
        if self.patience is not None and eval_set is None:
            raise ConfigError("patience (early stopping) needs eval_set=(X_val, y_val) in fit; pass one or set patience=None")
        standardize = net_name == "mlp" if self.standardize == "auto" else bool(self.standardize)
        if standardize:
            mean = arr.mean(axis=0)
            scale = arr.std(axis=0)
            scale[scale == 0] = 1.0
            self.mean_, self.scale_ = mean.astype(np.float32), scale.astype(np.float32)
            arr = (arr - self.mean_) / self.scale_
        else:
            self.mean_ = self.scale_ = None
        self.classes_ = classes
        self.input_shape_ = tuple(int(s) for s in arr.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(fork_seed(rng))
            if net_name == "custom":
                net = copy.deepcopy(self.network)
            else:
                net = build_network(net_name, self.input_shape_, len(classes), hidden=self.hidden,
                                    channels=self.channels, dropout=self.dropout)
        self.network_ = net
        self.network_name_ = net_name
        self.device_ = device.type
        val = None
        if eval_set is not None:
            Xv = self._transform(eval_set[0], "X_val")
            yv = check_labels(eval_set[1], len(Xv), name="y_val", n_classes=len(classes) if self.n_classes else None)
            if self.n_classes is None:
                unknown = np.setdiff1d(yv, classes)
                if unknown.size:
                    raise DataError(f"y_val holds class {int(unknown[0])}, absent from y; validate on the training classes")
                yv = np.searchsorted(classes, yv)
            val = (Xv, yv, *eval_set[2:])
        self.history_: FitHistory = fit_torch(
            net, loss or _cross_entropy, (arr, target, *extra), epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, optimizer=self.optimizer, sample_weight=sample_weight,
            callbacks=callbacks, val_data=val, patience=self.patience, random_state=rng, device=device,
            progress=self.progress, desc=f"NeuralClassifier({net_name})")
        return self

    # ------------------------------------------------------------------ predict
    def _batched(self, X: Any, fn) -> np.ndarray:
        arr = self._transform(X)
        dev = torch.device(self.device_)
        self.network_.eval()
        outs = []
        with torch.no_grad():
            for i in range(0, len(arr), 1024):
                outs.append(fn(torch.as_tensor(arr[i:i + 1024], device=dev)).float().cpu().numpy())
        return np.concatenate(outs).astype(np.float64)

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits, ``(N, K)`` (column ``j`` is ``classes_[j]``); two columns for two classes, unlike
        scikit-learn's one-column binary convention."""
        check_is_fitted(self, "network_")
        return self._batched(X, self.network_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax probabilities, ``(N, K)``."""
        z = self.decision_function(X)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, from ``classes_``."""
        logits = self.decision_function(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def embed(self, X: Any) -> np.ndarray:
        """The network's representation before its linear head, ``(N, embed_dim)``."""
        check_is_fitted(self, "network_")
        if not callable(getattr(self.network_, "embed", None)):
            raise ConfigError(f"the network ({type(self.network_).__name__}) has no embed(x) method; "
                              "subclass trust.models.networks.EmbedHead to get embeddings")
        return self._batched(X, self.network_.embed)

    # ------------------------------------------------------------------ save / load
    def save(self, path: Any) -> Path:
        """Write the model to the folder ``path`` atomically (``model.json`` + ``weights.pt``); returns it.

        ``path`` may be new, empty or a NeuralClassifier directory (replaced whole, only once the new one is
        completely written); a directory holding anything else, or a file, is refused with a DataError and left
        untouched (see :func:`trust.data.io.model_dir_writer`). A custom
        ``nn.Module`` network is saved as weights only: pass the same module to :meth:`load`.
        """
        from trust.data.io import write_model_dir

        check_is_fitted(self, "network_")
        params = self.get_params()
        params["network"] = self._network_name()
        params["random_state"] = self.random_state if isinstance(self.random_state, int) else None
        for k in ("hidden", "channels"):
            params[k] = [int(v) for v in params[k]]
        config = {"format": FORMAT, "version": FORMAT_VERSION, "params": params,
                  "classes": self.classes_.tolist(), "input_shape": list(self.input_shape_),
                  "n_features_in": self.n_features_in_, "standardized": self.mean_ is not None,
                  "history": {"loss": self.history_.loss, "val_loss": self.history_.val_loss,
                              "best_epoch": self.history_.best_epoch, "stopped_early": self.history_.stopped_early}}
        state = {k: v.detach().cpu() for k, v in self.network_.state_dict().items()}
        if self.mean_ is not None:
            state["_trust.mean"], state["_trust.scale"] = torch.as_tensor(self.mean_), torch.as_tensor(self.scale_)
        return write_model_dir(path, kind=MODEL_KIND, config=config, config_name=_CONFIG, weights=state,
                               weights_name=_WEIGHTS)

    @classmethod
    def load(cls, path: Any, *, network: nn.Module | None = None, device: str | None = None) -> "NeuralClassifier":
        """Load a model saved with :meth:`save`.

        Args:
            network: the module a custom-network model was trained with (its weights are replaced).
            device: where to predict (default: the saved ``device`` setting, resolved on this machine).
        """
        from trust.data.io import read_model_dir

        p = Path(path)
        read_model_dir(p, kind=MODEL_KIND, files=(_CONFIG, _WEIGHTS), what="NeuralClassifier")
        try:
            config = json.loads((p / _CONFIG).read_text(encoding="utf-8"))
            state = torch.load(p / _WEIGHTS, map_location="cpu", weights_only=True)
        except (ValueError, OSError, RuntimeError) as e:
            raise DataError(f"'{p}' could not be read as a saved NeuralClassifier ({type(e).__name__}); save it again") from None
        if config.get("format") != FORMAT:
            raise DataError(f"'{p / _CONFIG}' is not a {FORMAT} (format {config.get('format')!r})")
        if config.get("version") != FORMAT_VERSION:
            raise DataError(f"'{p}' was saved in format version {config.get('version')}; this trust reads "
                            f"version {FORMAT_VERSION}: retrain or use the trust version that wrote it")
        params = dict(config["params"])
        for k in ("hidden", "channels"):
            params[k] = tuple(params[k])
        if params["network"] == "custom":
            if network is None:
                raise ConfigError(f"'{p}' holds a custom network; pass it: NeuralClassifier.load(path, network=module)")
            params["network"] = network
        if device is not None:
            params["device"] = device
        est = cls(**params)
        est.classes_ = np.asarray(config["classes"])
        est.input_shape_ = tuple(config["input_shape"])
        est.n_features_in_ = int(config["n_features_in"])
        mean, scale = state.pop("_trust.mean", None), state.pop("_trust.scale", None)
        est.mean_ = None if mean is None else mean.numpy()
        est.scale_ = None if scale is None else scale.numpy()
        if params["network"] is network and network is not None:
            net = copy.deepcopy(network)
        else:
            net = build_network(params["network"], est.input_shape_, len(est.classes_), hidden=params["hidden"],
                                channels=params["channels"], dropout=params["dropout"])
        try:
            net.load_state_dict(state)
        except RuntimeError:
            raise DataError(f"the weights in '{p}' do not fit the network; pass the module it was trained with") from None
        dev = resolve_device(params["device"])
        est.network_ = net.to(dev).eval()
        est.network_name_ = config["params"]["network"]
        est.device_ = dev.type
        h = config.get("history", {})
        est.history_ = FitHistory(list(h.get("loss", [])), list(h.get("val_loss", [])), h.get("best_epoch"),
                                  bool(h.get("stopped_early", False)))
        return est


def network_layout(X: Any, network: str, name: str = "X", *, warn: bool = True) -> np.ndarray:
    """``X`` checked and as float32 in the layout ``network`` takes (``"mlp"``, ``"cnn"``, ``"cnn1d"`` or ``"custom"``).

    ``uint8`` arrays are divided by 255, and so are float images for ``"cnn"`` with values in [0, 255] above 1
    (with a warning unless ``warn=False``: fitting warns, predicting scales silently; see the module docstring);
    ``"mlp"`` flattens each sample, ``"cnn"`` adds a channel axis to
    ``N x H x W``, ``"cnn1d"`` to ``N x L``; ``"custom"`` keeps the shape. Other estimators that train the
    shared networks (e.g. :mod:`trust.noisy`) shape their inputs with it, so all take the same arrays.
    """
    raw = check_array(X, name, dtype=None, ndim=(1, 2, 3, 4) if network == "custom" else (2, 3, 4))
    arr = raw.astype(np.float32) / np.float32(255.0) if raw.dtype == np.uint8 else raw.astype(np.float32)
    if network == "cnn" and raw.dtype.kind == "f" and arr.size and 1.0 < arr.max() <= 255.0 and arr.min() >= 0.0:
        if warn:
            warnings.warn("float images with values in 0..255 (some above 1): taken as pixel intensities and divided by 255 "
                          "(pass uint8, or floats in [0, 1], to silence this)", UserWarning, stacklevel=3)
        arr = arr / np.float32(255.0)
    if network == "mlp":
        arr = arr.reshape(len(arr), -1)
    elif network == "cnn":
        if arr.ndim == 2:
            raise DataError(f"{name} has shape {arr.shape}; network='cnn' takes images N x H x W or N x C x H x W "
                            "(use 'mlp' for tables, 'cnn1d' for signals)")
        if arr.ndim == 3:
            arr = arr[:, None]
    elif network == "cnn1d":
        if arr.ndim == 4:
            raise DataError(f"{name} has shape {arr.shape}; network='cnn1d' takes signals N x L or N x C x L "
                            "(use 'cnn' for images)")
        if arr.ndim == 2:
            arr = arr[:, None]
    return np.ascontiguousarray(arr)


def prepare_input(X: Any, network: str, input_shape: tuple[int, ...], mean: np.ndarray | None = None,
                  scale: np.ndarray | None = None, name: str = "X") -> np.ndarray:
    """``X`` as a fitted network takes it: :func:`network_layout`, its sample shape checked against
    ``input_shape`` (one-line DataError otherwise), then standardised with ``mean``/``scale`` if given."""
    arr = network_layout(X, network, name, warn=False)
    if tuple(arr.shape[1:]) != tuple(input_shape):
        raise DataError(f"{name} has samples of shape {tuple(arr.shape[1:])} but the model was fitted on "
                        f"{tuple(input_shape)}; pass data shaped like the training data")
    return arr if mean is None else (arr - mean) / scale


def _cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(model(x), y, reduction="none")


__all__ = ["NeuralClassifier", "network_layout", "FORMAT", "FORMAT_VERSION"]
