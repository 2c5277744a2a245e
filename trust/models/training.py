"""The one minibatch training loop every torch model in ``trust`` trains with: :func:`fit_torch`.

``fit_torch(model, loss_fn, data, ...)`` runs ``epochs`` passes over ``data`` (arrays or tensors
sharing their first dimension). Each step takes a batch of row indices, calls
``loss_fn(model, *batch)`` and minimises its result:

- a vector of per-sample losses is reduced to ``sum_i w_i l_i / sum_i w_i`` over the batch with the
  ``sample_weight`` ``w`` (the plain mean without weights);
- a scalar is used as is (a loss over a group of rows, e.g. the aggregate estimators' bag losses);
  ``sample_weight`` then has no meaning and is refused.

Batches are a seeded shuffle cut into ``batch_size`` chunks, or whatever ``batches(rng)`` yields
each epoch (e.g. whole bags). A :class:`Callback` can freeze parameters before the optimiser is
built (:meth:`Callback.on_train_begin`), add terms to each batch loss (:meth:`Callback.loss`) and
stop training (:meth:`Callback.on_epoch_end`). With ``val_data`` the validation loss is recorded
each epoch; with ``patience`` too, training stops after that many epochs without improvement
and the best epoch's weights are restored (early stopping).

Seeding: ``random_state`` gives a numpy Generator that draws the batch order; torch's own
randomness during training (dropout) comes from a torch generator seeded from a child of that
Generator inside :func:`torch.random.fork_rng`, so the caller's global torch state is untouched and
the same seed gives the same weights bit for bit on the same device and thread count.
The loop does no file I/O.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from trust._validation import check_array, check_option, check_random_state, check_scalar, fork_seed
from trust.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda"`` as a :class:`torch.device`.

    Raises:
        ConfigError: an unknown name, or ``"cuda"`` on a machine without a CUDA device.
    """
    if isinstance(device, torch.device):
        device = device.type
    check_option(device, "device", DEVICES)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' but no CUDA device is available; use device='cpu' or 'auto'")
    return torch.device(device)


class Callback:
    """Hooks into :func:`fit_torch`; subclass and override what you need (every default does nothing)."""

    def on_train_begin(self, model: nn.Module) -> None:
        """Called before the optimiser is built: set ``requires_grad=False`` here to freeze parameters."""

    def loss(self, model: nn.Module, batch: Sequence[torch.Tensor], loss: torch.Tensor) -> torch.Tensor:
        """Return the batch loss to minimise (after the weighted reduction); add custom terms here."""
        return loss

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        """Called after each epoch with ``logs`` (``loss``, and ``val_loss`` with validation data); True stops."""
        return False


@dataclasses.dataclass
class FitHistory:
    """What :func:`fit_torch` did: the mean training loss (and validation loss) per epoch."""

    loss: list[float] = dataclasses.field(default_factory=list)
    val_loss: list[float] = dataclasses.field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def epochs_run(self) -> int:
        return len(self.loss)


def _as_tensor(a: Any, device: torch.device) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.to(device)
    arr = np.asarray(a)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32, copy=False)
    return torch.as_tensor(arr, device=device)


def _reduce(out: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    if out.dim() == 0:
        if w is not None:
            raise ConfigError("sample_weight was given but loss_fn returns one number per batch; "
                              "return per-sample losses (reduction='none') to weight them")
        return out
    out = out.reshape(-1)
    if w is None:
        return out.mean()
    return (w * out).sum() / w.sum().clamp_min(1e-12)


def _shuffled(n: int, batch_size: int) -> Callable[[np.random.Generator], Iterable[np.ndarray]]:
    def batches(rng: np.random.Generator) -> Iterable[np.ndarray]:
        order = rng.permutation(n)
        return (order[i:i + batch_size] for i in range(0, n, batch_size))

    return batches


def _torch_seed(rng: np.random.Generator) -> int:
    # A child generator, so that the parent's stream (the batch order) is the same with or without it.
    try:
        child = rng.spawn(1)[0]
    except (AttributeError, TypeError, ValueError):
        child = np.random.default_rng(fork_seed(rng))
    return fork_seed(child)


def evaluate_loss(model: nn.Module, loss_fn: Callable[..., torch.Tensor], data: Sequence[torch.Tensor],
                  batch_size: int) -> float:
    """Mean of ``loss_fn`` over ``data`` (eval mode, no gradients, batches of ``batch_size`` rows)."""
    n = len(data[0])
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, n, batch_size):
            batch = [t[i:i + batch_size] for t in data]
            out = loss_fn(model, *batch)
            k = len(batch[0])
            total += float(out.sum()) if out.dim() else float(out) * k
            count += k
    model.train(was_training)
    return total / max(count, 1)


def fit_torch(
    model: nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    data: Sequence[Any],
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: str = "adam",
    momentum: float = 0.9,
    sample_weight: Any = None,
    batches: Callable[[np.random.Generator], Iterable[Any]] | None = None,
    callbacks: Sequence[Callback] = (),
    val_data: Sequence[Any] | None = None,
    patience: int | None = None,
    random_state: Any = 0,
    device: str | torch.device = "auto",
    progress: bool = False,
    desc: str = "training",
) -> FitHistory:
    """Train ``model`` in place on ``data`` by minibatches; returns a :class:`FitHistory`.

    Args:
        model: any ``nn.Module``; moved to ``device`` and left there, in eval mode, after training.
        loss_fn: ``loss_fn(model, *batch) -> loss`` (per-sample vector or scalar; see the module docstring).
        data: arrays or tensors with the same number of rows (float arrays become float32 tensors).
        epochs, batch_size, lr, weight_decay: the usual; ``optimizer`` is ``"adam"``, ``"adamw"`` or
            ``"sgd"`` (with ``momentum``).
        sample_weight: ``(n,)`` non-negative weights of the rows (per-sample losses only).
        batches: ``batches(rng)`` yields each epoch's batches as arrays of row indices (default: a
            seeded shuffle in chunks of ``batch_size``).
        callbacks: :class:`Callback` objects, called in order.
        val_data: arrays like ``data``, scored with ``loss_fn`` after each epoch.
        patience: with ``val_data``, stop after this many epochs without a lower validation loss and
            restore the best weights.
        random_state: seed or Generator of the batch order and of torch's randomness (dropout).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` (:func:`resolve_device`).
        progress: a tqdm bar over epochs showing the running loss.
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model must be a torch nn.Module, got {type(model).__name__}")
    epochs = check_scalar(epochs, "epochs", int, min_val=1)
    batch_size = check_scalar(batch_size, "batch_size", int, min_val=1)
    lr = check_scalar(lr, "lr", float, min_val=0.0, include_boundaries="neither")
    weight_decay = check_scalar(weight_decay, "weight_decay", float, min_val=0.0)
    check_option(optimizer, "optimizer", OPTIMIZERS)
    patience = check_scalar(patience, "patience", int, min_val=1, allow_none=True)
    if patience is not None and val_data is None:
        raise ConfigError("patience (early stopping) needs val_data; pass a validation split or patience=None")
    rng = check_random_state(random_state)
    dev = resolve_device(device)
    tensors, w_all, val = _tensors(data, sample_weight, val_data, dev)
    batches = batches or _shuffled(len(tensors[0]), batch_size)
    model.to(dev)
    for cb in callbacks:
        cb.on_train_begin(model)
    opt = _optimizer(model, optimizer, lr=lr, weight_decay=weight_decay, momentum=momentum)
    history = FitHistory()
    stopper = _EarlyStopping(patience)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(_torch_seed(rng))
        epoch_iter: Iterable[int] = range(epochs)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(epoch_iter, desc=desc, unit="epoch", leave=False, disable=None)  # None: off when not a terminal
            epoch_iter = bar
        model.train()
        for epoch in epoch_iter:
            logs = {"loss": _train_epoch(model, loss_fn, tensors, w_all, batches(rng), callbacks, opt, dev)}
            history.loss.append(logs["loss"])
            if val is not None:
                logs["val_loss"] = evaluate_loss(model, loss_fn, val, batch_size * 4)
                history.val_loss.append(logs["val_loss"])
                stopper.update(epoch, logs["val_loss"], model, history)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
            stop = any([cb.on_epoch_end(epoch, logs) for cb in callbacks])
            if stopper.exhausted:
                history.stopped_early = True
                stop = True
            if stop:
                break
    if stopper.best_state is not None:
        model.load_state_dict(stopper.best_state)
    model.eval()
    return history


def _tensors(data: Sequence[Any], sample_weight: Any, val_data: Sequence[Any] | None, dev: torch.device):
    """``(tensors, row weights or None, validation tensors or None)`` on ``dev``, checked."""
    if not data:
        raise ConfigError("data is empty; pass at least one array, e.g. (X, y)")
    tensors = [_as_tensor(a, dev) for a in data]
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ConfigError(f"data arrays have different numbers of rows: {[len(t) for t in tensors]}")
    w_all = None
    if sample_weight is not None:
        w = check_array(sample_weight, "sample_weight", ndim=1)
        if len(w) != n or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(f"sample_weight must hold {n} non-negative weights, not all zero")
        w_all = torch.as_tensor(w, dtype=torch.float32, device=dev)
    val = [_as_tensor(a, dev) for a in val_data] if val_data is not None else None
    return tensors, w_all, val


def _optimizer(model: nn.Module, optimizer: str, *, lr: float, weight_decay: float,
               momentum: float) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters (all frozen); unfreeze some before training")
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _train_epoch(model: nn.Module, loss_fn: Callable[..., torch.Tensor], tensors: list[torch.Tensor],
                 w_all: torch.Tensor | None, batches: Iterable[Any], callbacks: Sequence[Callback],
                 opt: torch.optim.Optimizer, dev: torch.device) -> float:
    """One pass over ``batches``; the mean training loss per row."""
    total, count = 0.0, 0
    for idx in batches:
        idx_t = torch.as_tensor(np.asarray(idx), device=dev)
        if idx_t.numel() == 0:
            continue
        batch = [t[idx_t] for t in tensors]
        loss = _reduce(loss_fn(model, *batch), None if w_all is None else w_all[idx_t])
        for cb in callbacks:
            loss = cb.loss(model, batch, loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * idx_t.numel()
        count += idx_t.numel()
    return total / max(count, 1)


class _EarlyStopping:
    """The best validation loss so far, its epoch and (with ``patience``) its weights; ``exhausted`` after
    ``patience`` epochs without improvement."""

    def __init__(self, patience: int | None) -> None:
        self.patience = patience
        self.best, self.best_state, self.since_best = math.inf, None, 0

    def update(self, epoch: int, val_loss: float, model: nn.Module, history: FitHistory) -> None:
        if val_loss < self.best:
            self.best, self.since_best, history.best_epoch = val_loss, 0, epoch
            if self.patience is not None:
                self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.since_best += 1

    @property
    def exhausted(self) -> bool:
        return self.patience is not None and self.since_best >= self.patience


__all__ = ["OPTIMIZERS", "DEVICES", "resolve_device", "Callback", "FitHistory", "evaluate_loss", "fit_torch"]
