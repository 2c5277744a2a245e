"""Estimators that learn an instance-level model from aggregate bag responses.

All share one signature::

    est.fit(X, bag_ids, bag_responses)   # X: (n, d) features of every row; bag_ids: (n,) bag number per
                                         # row (-1 = in no bag, ignored); bag_responses: (m,) one per bag
    est.predict(X)                       # (n,) instance-level predictions

Regression (squared loss):

* :class:`BagLevelRegressor`       -- rho = 0: ``L_bag``; unbiased, high variance (under-determined when m < d).
* :class:`InstanceLevelRegressor`  -- rho = 1: ``L_ins = L_bag + R``; each member fitted to its bag's mean.
* :class:`InterpolatingRegressor`  -- ``L_bag + rho R`` for a given rho, or ``rho="auto"``: rho chosen on held-out
  bags (validation bag-level loss; no instance label is needed), then refitted on all bags.

``model="linear"`` uses the closed form of Javanmard et al. (ICLR 2024),
``theta = (Xbar' W Xbar + rho S_w)^+ Xbar' W ybar`` on centred bag means (``W = diag(k_a / n)``, i.e.
``1/m`` for equal bags as in the paper; ``S_w = (1/n) sum_i (x_i - xbar_a)(x_i - xbar_a)'``), solved as a
pseudo-inverse (SVD least squares on the Gram system) so that it is the minimum-norm solution when under-determined;
the intercept is not penalised (it is fitted by the bag-level term, which is all that involves it).
``model="mlp"`` trains a torch MLP with the same loss by minibatches of whole bags (Adam, seeded).

Classification (:class:`InterpolatingClassifier`, :class:`BagLevelClassifier`, :class:`InstanceLevelClassifier`):
bag responses are label proportions in [0, 1]; the loss is ``(1 - rho) L_bag + rho L_ins`` with the log-loss
(``L_bag`` compares the bag's mean predicted probability with its proportion); ``model="linear"`` is a logistic
model, ``model="mlp"`` an MLP, both trained by the same minibatch loop.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from trust.aggregate.bags import check_bags, split_bags, subset_bags
from trust.aggregate.losses import bag_level_loss
from trust._validation import check_array, check_is_fitted, check_option, check_random_state, check_scalar
from trust.errors import ConfigError, DataError

DEFAULT_RHO_GRID: tuple[float, ...] = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
MODELS = ("linear", "mlp")


# --------------------------------------------------------------------------------------------- validation
def _check_X(X, n_features: int | None = None) -> np.ndarray:
    arr = check_array(X, "X", ndim=2)
    if n_features is not None and arr.shape[1] != n_features:
        raise DataError(f"X has {arr.shape[1]} features but the model was fitted on {n_features}")
    return arr


def _check_responses(bag_responses, m: int, task: str) -> np.ndarray:
    y = check_array(np.asarray(bag_responses, dtype=float).reshape(-1), "bag_responses", allow_empty=True)
    if len(y) != m:
        raise DataError(f"there are {m} bags but {len(y)} bag responses; pass one response per bag (bag a -> y[a])")
    if task == "classification" and (y.min() < 0 or y.max() > 1):
        raise DataError("bag responses of a classifier are label proportions and must lie in [0, 1]")
    return y


def _check_rho(rho) -> None:
    if isinstance(rho, str):
        check_option(rho, "rho", ("auto",))
        return
    check_scalar(rho, "rho", float, min_val=0.0)


# --------------------------------------------------------------------------------------------- linear closed form
def linear_path(X, bag_ids, bag_responses, rhos: Sequence[float]) -> list[tuple[np.ndarray, float]]:
    """Closed-form minimisers of ``L_bag + rho R`` over linear models ``x'theta + b`` for each rho in ``rhos``.

    Centring with the size-weighted means (``mu_x`` = mean of the bagged rows' features, ``mu_y`` =
    size-weighted mean of the bag responses) removes the intercept, which only the bag-level term involves;
    then ``theta = (G + rho S_w)^+ c`` with ``G = Xbar_c' W Xbar_c``, ``c = Xbar_c' W ybar_c``, ``W = diag(k_a/n)``
    and ``S_w = (1/n) sum_i (x_i - xbar_a)(x_i - xbar_a)'`` (the paper's formula; ``W = I/m`` for equal bags),
    and ``b = mu_y - mu_x' theta``. The pseudo-inverse (SVD least squares) gives the minimum-norm ``theta``
    where the system is singular, e.g. rho = 0 with fewer bags than features. The Gram matrices are built once
    for the whole path.
    """
    X = _check_X(X)
    ids, m = check_bags(bag_ids, len(X))
    y = _check_responses(bag_responses, m, "regression")
    for r in rhos:
        _check_rho(r)
    keep = ids >= 0
    X, ids = X[keep], ids[keep]
    n = len(X)
    k = np.bincount(ids, minlength=m).astype(float)
    w = k / n
    xbar = np.zeros((m, X.shape[1]))
    np.add.at(xbar, ids, X)
    xbar /= k[:, None]
    mu_x = X.mean(axis=0)  # = sum_a w_a xbar_a
    mu_y = float(np.sum(w * y))
    A = xbar - mu_x
    G = A.T @ (w[:, None] * A)
    c = A.T @ (w * (y - mu_y))
    D = X - xbar[ids]
    S = D.T @ D / n
    out = []
    for r in rhos:
        theta = np.linalg.lstsq(G + float(r) * S, c, rcond=None)[0]
        out.append((theta, float(mu_y - mu_x @ theta)))
    return out


def fit_linear(X, bag_ids, bag_responses, rho: float) -> tuple[np.ndarray, float]:
    """Closed-form minimiser of ``L_bag + rho R`` over linear models ``x'theta + b``; returns ``(theta, b)``.

    Minimum-norm ``theta`` where the problem is under-determined (e.g. rho = 0 with fewer bags than features);
    see :func:`linear_path`.
    """
    return linear_path(X, bag_ids, bag_responses, [rho])[0]


# --------------------------------------------------------------------------------------------- torch training
def _build_net(d: int, hidden: Sequence[int], out_bias: float, seed: int):
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        width = d
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        last = nn.Linear(width, 1)
        layers.append(last)
        net = nn.Sequential(*layers)
    with torch.no_grad():
        last.bias.fill_(out_bias)
    return net


def train_torch(X, bag_ids, bag_responses, rho: float, *, task: str = "regression", hidden: Sequence[int] = (64, 64),
                epochs: int = 30, batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0,
                random_state: int = 0, progress: bool = False, device: str = "auto"):
    """Train a torch model on the interpolating loss by minibatches of whole bags; returns the ``nn.Module`` (on CPU).

    Each step takes about ``batch_size`` rows in whole bags (bags shuffled each epoch) and minimises
    ``(1/N_b) [sum_a k_a l(ybar_a, fbar_a)] + rho (1/N_b) sum_i (f_i - fbar_a)^2`` (regression) or
    ``(1 - rho) (1/N_b) sum_a k_a CE(ybar_a, pbar_a) + rho (1/N_b) sum_i CE(ybar_a, p_i)`` (classification),
    ``N_b`` the rows in the batch: with equal bags an unbiased minibatch estimate of the full loss (with unequal
    bags a ratio estimate, consistent as batches grow). Trained by the shared loop
    (:func:`trust.models.training.fit_torch`, Adam) with the bag batches as its ``batches``, on ``device``
    (``"auto"``: CUDA when available).
    """
    import torch
    import torch.nn.functional as F

    from trust.models.training import fit_torch, resolve_device

    dev = resolve_device(device)
    ids, m = check_bags(bag_ids, len(X))
    keep = ids >= 0
    Xk = np.asarray(X, dtype=np.float32)[keep]
    ids = ids[keep]
    y = np.asarray(bag_responses, dtype=float)
    k = np.bincount(ids, minlength=m)
    mu = float(np.sum(k * y) / k.sum())
    if task == "classification":
        mu = min(max(mu, 1e-3), 1 - 1e-3)
        out_bias = math.log(mu / (1 - mu))
    else:
        out_bias = mu
    net = _build_net(Xk.shape[1], hidden, out_bias, random_state)
    yt = torch.as_tensor(y, dtype=torch.float32, device=dev)
    kt = torch.as_tensor(k, dtype=torch.float32, device=dev)
    bags_per_batch = max(1, int(round(batch_size / max(1.0, len(ids) / m))))
    n_batches = int(math.ceil(m / bags_per_batch))

    def batches(rng: np.random.Generator):
        batch_of_bag = np.empty(m, dtype=np.int64)
        batch_of_bag[rng.permutation(m)] = np.arange(m) // bags_per_batch
        row_batch = batch_of_bag[ids]
        order = np.argsort(row_batch, kind="stable")
        bounds = np.r_[0, np.cumsum(np.bincount(row_batch, minlength=n_batches))]
        return [order[bounds[b]:bounds[b + 1]] for b in range(n_batches)]

    def loss_fn(model, xb, idb):
        uniq, local = torch.unique(idb, sorted=True, return_inverse=True)
        kb, yb = kt[uniq], yt[uniq]
        out = model(xb).squeeze(-1)
        nb = float(idb.numel())
        if task == "regression":
            fbar = torch.zeros(len(uniq), device=out.device).index_add(0, local, out) / kb
            loss = torch.sum(kb * (yb - fbar) ** 2) / nb
            if rho > 0:
                loss = loss + rho * torch.sum((out - fbar[local]) ** 2) / nb
            return loss
        p = torch.sigmoid(out)
        pbar = (torch.zeros(len(uniq), device=out.device).index_add(0, local, p) / kb).clamp(1e-6, 1 - 1e-6)
        l_bag = torch.sum(kb * -(yb * torch.log(pbar) + (1 - yb) * torch.log(1 - pbar))) / nb
        l_ins = F.binary_cross_entropy_with_logits(out, yb[local], reduction="sum") / nb
        return (1 - rho) * l_bag + rho * l_ins

    fit_torch(net, loss_fn, (Xk, ids), epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
              optimizer="adam", batches=batches, random_state=check_random_state(random_state), device=dev,
              progress=progress, desc=f"aggregate mlp rho={rho:g}")
    return net.cpu().eval()


# --------------------------------------------------------------------------------------------- rho selection
def bag_splits(bag_ids, *, val_fraction: float = 0.2, n_folds: int = 1,
               random_state: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (training bags, held-out bags) pairs :func:`choose_rho` scores on: one seeded ``1 - val_fraction`` /
    ``val_fraction`` split of the bags when ``n_folds == 1``, else ``n_folds`` folds each held out once."""
    ids, m = check_bags(bag_ids)
    n_folds = check_scalar(n_folds, "n_folds", int, min_val=1)
    if n_folds == 1:
        return [split_bags(ids, val_fraction, random_state)]
    if n_folds > m:
        raise DataError(f"n_folds={n_folds} is more than the {m} bags; use fewer folds or smaller bags")
    folds = np.array_split(check_random_state(random_state).permutation(m), n_folds)
    return [(np.sort(np.concatenate(folds[:i] + folds[i + 1:])), np.sort(folds[i])) for i in range(n_folds)]


def mean_baseline_loss(bag_ids, bag_responses, *, val_fraction: float = 0.2, n_folds: int = 1,
                       random_state: int = 0) -> float:
    """The held-out bag-level squared loss of predicting the training bags' (size-weighted) mean response, on
    the splits of :func:`bag_splits`: the baseline beside :func:`choose_rho`'s scores (both read only the bag
    responses, so on a DP release both are post-processing)."""
    ids, m = check_bags(bag_ids)
    y = _check_responses(bag_responses, m, "regression")
    k = np.bincount(ids[ids >= 0], minlength=m).astype(float)
    losses = []
    for tr, va in bag_splits(ids, val_fraction=val_fraction, n_folds=n_folds, random_state=random_state):
        const = float(np.sum(k[tr] * y[tr]) / k[tr].sum())
        losses.append(float(np.sum(k[va] * (y[va] - const) ** 2) / k[va].sum()))
    return float(np.mean(losses))


def choose_rho(X, bag_ids, bag_responses, rho_grid: Sequence[float] = DEFAULT_RHO_GRID, *, task: str = "regression",
               val_fraction: float = 0.2, n_folds: int = 1, random_state: int = 0,
               **params: Any) -> tuple[float, dict[float, float]]:
    """Pick rho without instance labels: fit on some bags, score the bag-level loss on held-out bags.

    With ``n_folds=1`` the bags (not rows) are split ``1 - val_fraction`` / ``val_fraction`` (seeded); with
    ``n_folds >= 2`` they are cut into that many folds, each held out once, and the losses averaged (less
    selection noise, ``n_folds`` times the fits). For each rho in ``rho_grid`` an interpolating estimator with
    ``params`` (model, hidden, epochs, ...) is fitted on the training bags and scored by the size-weighted
    bag-level loss (squared, or log-loss for classification) on the held-out bags. Ties go to the smaller rho.
    Returns ``(best_rho, {rho: validation loss})``. Training on a DP release and selecting on its held-out bags
    is post-processing: no extra privacy cost.
    """
    grid = [float(r) for r in rho_grid]
    if not grid:
        raise ConfigError("rho_grid is empty; pass some values of rho >= 0, e.g. (0, 0.1, 1)")
    for r in grid:
        _check_rho(r)
    X = _check_X(X)
    ids, m = check_bags(bag_ids, len(X))
    y = _check_responses(bag_responses, m, task)
    splits = bag_splits(ids, val_fraction=val_fraction, n_folds=n_folds, random_state=random_state)
    cls = InterpolatingClassifier if task == "classification" else InterpolatingRegressor
    loss = "log" if task == "classification" else "squared"
    rs = sorted(set(grid))
    per_fold: dict[float, list[float]] = {r: [] for r in rs}
    for tr, va in splits:
        mask_tr, ids_tr = subset_bags(ids, tr)
        mask_va, ids_va = subset_bags(ids, va)
        if task == "regression" and params.get("model", "linear") == "linear":
            for r, (theta, b) in zip(rs, linear_path(X[mask_tr], ids_tr, y[tr], rs)):
                per_fold[r].append(bag_level_loss(X[mask_va] @ theta + b, ids_va, y[va], loss))
        else:
            for r in rs:
                est = cls(rho=r, random_state=random_state, **params).fit(X[mask_tr], ids_tr, y[tr])
                pred = est.predict_proba(X[mask_va])[:, 1] if task == "classification" else est.predict(X[mask_va])
                per_fold[r].append(bag_level_loss(pred, ids_va, y[va], loss))
    scores = {r: float(np.mean(v)) for r, v in per_fold.items()}
    best = min(scores, key=lambda r: (scores[r], r))
    return best, scores


# --------------------------------------------------------------------------------------------- estimators
class _AggregateBase(BaseEstimator):
    _task = "regression"

    def __init__(self, rho: float | str = 0.5, model: str = "linear", *, rho_grid: Sequence[float] = DEFAULT_RHO_GRID,
                 val_fraction: float = 0.2, n_folds: int = 1, hidden: Sequence[int] = (64, 64), epochs: int = 30,
                 batch_size: int = 256,
                 lr: float = 1e-3, weight_decay: float = 0.0, random_state: int = 0, progress: bool = False,
                 device: str = "auto") -> None:
        """Hyperparameters only (scikit-learn convention); see :class:`InterpolatingRegressor`."""
        self.rho = rho
        self.model = model
        self.rho_grid = rho_grid
        self.val_fraction = val_fraction
        self.n_folds = n_folds
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.progress = progress
        self.device = device

    def _rho_value(self):
        return self.rho

    def _torch_params(self) -> dict[str, Any]:
        return dict(hidden=tuple(self.hidden) if self.model == "mlp" else (), epochs=self.epochs,
                    batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay, device=self.device)

    def fit(self, X, bag_ids, bag_responses):
        """Fit on features of every row, bag numbers per row and one aggregate response per bag; returns self."""
        check_option(self.model, "model", MODELS)
        for name in ("epochs", "batch_size"):
            check_scalar(getattr(self, name), name, int, min_val=1)
        check_scalar(self.random_state, "random_state", int, min_val=0)
        if self.model == "mlp" or self._task == "classification":
            from trust.models.training import resolve_device

            resolve_device(self.device)
        rho = self._rho_value()
        _check_rho(rho)
        X = _check_X(X)
        ids, m = check_bags(bag_ids, len(X))
        y = _check_responses(bag_responses, m, self._task)
        self.rho_scores_ = None
        if rho == "auto":
            params = dict(model=self.model, hidden=self.hidden, epochs=self.epochs, batch_size=self.batch_size,
                          lr=self.lr, weight_decay=self.weight_decay, device=self.device)
            rho, self.rho_scores_ = choose_rho(X, ids, y, self.rho_grid, task=self._task,
                                               val_fraction=self.val_fraction, n_folds=self.n_folds,
                                               random_state=int(self.random_state), **params)
        self.rho_ = float(rho)
        self.n_features_in_ = X.shape[1]
        self.n_bags_ = m
        self.n_rows_ = int((ids >= 0).sum())
        if self._task == "regression" and self.model == "linear":
            self.coef_, self.intercept_ = fit_linear(X, ids, y, self.rho_)
            self.net_ = None
        else:
            self.net_ = train_torch(X, ids, y, self.rho_, task=self._task, random_state=int(self.random_state),
                                    progress=self.progress, **self._torch_params())
            self.coef_, self.intercept_ = None, None
        return self

    def _raw(self, X) -> np.ndarray:
        check_is_fitted(self, "rho_")
        X = _check_X(X, self.n_features_in_)
        if self.net_ is None:
            return X @ self.coef_ + self.intercept_
        import torch

        with torch.no_grad():
            return self.net_(torch.as_tensor(X, dtype=torch.float32)).squeeze(-1).double().numpy()

    def save(self, path) -> None:
        """Save hyperparameters and learned state (``torch.save``; load with :meth:`load`)."""
        import torch

        state = {"class": type(self).__name__, "params": self.get_params(), "rho_": self.rho_,
                 "n_features_in_": self.n_features_in_, "n_bags_": self.n_bags_, "n_rows_": self.n_rows_,
                 "rho_scores_": None if self.rho_scores_ is None else
                 {"rho": list(self.rho_scores_), "loss": list(self.rho_scores_.values())}}
        if self.net_ is None:
            state["coef_"] = torch.as_tensor(self.coef_)
            state["intercept_"] = float(self.intercept_)
        else:
            state["net_"] = self.net_.state_dict()
        torch.save(state, path)

    @classmethod
    def load(cls, path):
        """Load an estimator saved with :meth:`save` (the class is checked)."""
        import torch

        try:
            state = torch.load(path, weights_only=True)
        except FileNotFoundError:
            raise DataError(f"model file '{path}' does not exist; check the path") from None
        if state.get("class") != cls.__name__:
            raise DataError(f"'{path}' holds a {state.get('class')}, not a {cls.__name__}; load it with that class")
        params = state["params"]
        if params.get("hidden") is not None:
            params["hidden"] = tuple(params["hidden"])
        est = cls(**params)
        est.rho_ = state["rho_"]
        est.n_features_in_, est.n_bags_, est.n_rows_ = state["n_features_in_"], state["n_bags_"], state["n_rows_"]
        sc = state["rho_scores_"]
        est.rho_scores_ = None if sc is None else dict(zip(sc["rho"], sc["loss"]))
        if "coef_" in state:
            est.coef_, est.intercept_, est.net_ = state["coef_"].numpy(), state["intercept_"], None
        else:
            hidden = tuple(params["hidden"]) if params["model"] == "mlp" else ()
            est.net_ = _build_net(est.n_features_in_, hidden, 0.0, 0)
            est.net_.load_state_dict(state["net_"])
            est.net_.eval()
            est.coef_ = est.intercept_ = None
        if est._task == "classification":
            est.classes_ = np.array([0, 1])
        return est


class InterpolatingRegressor(RegressorMixin, _AggregateBase):
    """Minimise ``L_bag + rho * R`` (rho = 0 bag-level, rho = 1 instance-level) over a linear model or an MLP.

    Args:
        rho: a number >= 0, or ``"auto"``: chosen from ``rho_grid`` by the bag-level loss on a held-out
            ``val_fraction`` of the bags, or averaged over ``n_folds`` folds of bags when ``n_folds >= 2``
            (:func:`choose_rho`), then refitted on all bags with that rho.
        model: ``"linear"`` (closed form, minimum norm) or ``"mlp"`` (torch, minibatches of bags).
        hidden, epochs, batch_size (rows per step, whole bags), lr, weight_decay: the MLP's training.
        random_state: integer seed (network initialisation, batch order, validation split).
        progress: a tqdm bar over epochs.
        device: where the MLP / logistic model trains, ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``;
            the trained network is kept on CPU.

    Attributes:
        rho_ (the rho used), rho_scores_ (validation loss per rho when ``rho="auto"``), coef_ and intercept_
        (linear), net_ (mlp), n_features_in_, n_bags_, n_rows_.
    """

    def predict(self, X) -> np.ndarray:
        """Instance-level predictions, shape ``(n,)``."""
        return self._raw(X)


class BagLevelRegressor(InterpolatingRegressor):
    """Bag-level loss ``(1/n) sum_a k_a (ybar_a - fbar_a)^2``: :class:`InterpolatingRegressor` with rho = 0."""

    def __init__(self, model: str = "linear", *, hidden: Sequence[int] = (64, 64), epochs: int = 30,
                 batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0, random_state: int = 0,
                 progress: bool = False, device: str = "auto") -> None:
        super().__init__(0.0, model, hidden=hidden, epochs=epochs, batch_size=batch_size, lr=lr,
                         weight_decay=weight_decay, random_state=random_state, progress=progress, device=device)

    def _rho_value(self):
        return 0.0


class InstanceLevelRegressor(InterpolatingRegressor):
    """Instance-level loss ``(1/n) sum_i (ybar_a - f_i)^2``: :class:`InterpolatingRegressor` with rho = 1.

    With ``model="linear"`` this is ordinary least squares on the bag-mean pseudo-labels.
    """

    def __init__(self, model: str = "linear", *, hidden: Sequence[int] = (64, 64), epochs: int = 30,
                 batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0, random_state: int = 0,
                 progress: bool = False, device: str = "auto") -> None:
        super().__init__(1.0, model, hidden=hidden, epochs=epochs, batch_size=batch_size, lr=lr,
                         weight_decay=weight_decay, random_state=random_state, progress=progress, device=device)

    def _rho_value(self):
        return 1.0


class InterpolatingClassifier(ClassifierMixin, _AggregateBase):
    """Binary classifier from bag label proportions: ``(1 - rho) L_bag + rho L_ins`` with the log-loss.

    ``L_bag`` compares each bag's mean predicted probability with its label proportion, ``L_ins`` every member's
    probability with it. ``model="linear"`` is logistic regression, ``model="mlp"`` an MLP; both trained by
    minibatches of bags (Adam). ``rho="auto"`` chooses rho by the held-out bags' bag-level log-loss.
    Same arguments and attributes as :class:`InterpolatingRegressor`; ``classes_ = [0, 1]``.
    """

    _task = "classification"

    def __init__(self, rho: float | str = 0.5, model: str = "linear", *, rho_grid: Sequence[float] = DEFAULT_RHO_GRID,
                 val_fraction: float = 0.2, n_folds: int = 1, hidden: Sequence[int] = (64, 64), epochs: int = 30,
                 batch_size: int = 256,
                 lr: float = 1e-2, weight_decay: float = 0.0, random_state: int = 0, progress: bool = False,
                 device: str = "auto") -> None:
        super().__init__(rho, model, rho_grid=rho_grid, val_fraction=val_fraction, n_folds=n_folds, hidden=hidden,
                         epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         random_state=random_state, progress=progress, device=device)

    def fit(self, X, bag_ids, bag_responses):
        """Fit on features, bag numbers and each bag's label proportion in [0, 1]; returns self."""
        super().fit(X, bag_ids, bag_responses)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X) -> np.ndarray:
        """``(n, 2)`` class probabilities (column 1: the positive class)."""
        p = 1.0 / (1.0 + np.exp(-self._raw(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Predicted class 0/1 (probability >= 0.5)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class BagLevelClassifier(InterpolatingClassifier):
    """Bag-level log-loss only: :class:`InterpolatingClassifier` with rho = 0."""

    def __init__(self, model: str = "linear", *, hidden: Sequence[int] = (64, 64), epochs: int = 30,
                 batch_size: int = 256, lr: float = 1e-2, weight_decay: float = 0.0, random_state: int = 0,
                 progress: bool = False, device: str = "auto") -> None:
        super().__init__(0.0, model, hidden=hidden, epochs=epochs, batch_size=batch_size, lr=lr,
                         weight_decay=weight_decay, random_state=random_state, progress=progress, device=device)

    def _rho_value(self):
        return 0.0


class InstanceLevelClassifier(InterpolatingClassifier):
    """Instance-level log-loss (every member against its bag's proportion): rho = 1."""

    def __init__(self, model: str = "linear", *, hidden: Sequence[int] = (64, 64), epochs: int = 30,
                 batch_size: int = 256, lr: float = 1e-2, weight_decay: float = 0.0, random_state: int = 0,
                 progress: bool = False, device: str = "auto") -> None:
        super().__init__(1.0, model, hidden=hidden, epochs=epochs, batch_size=batch_size, lr=lr,
                         weight_decay=weight_decay, random_state=random_state, progress=progress, device=device)

    def _rho_value(self):
        return 1.0


__all__ = ["DEFAULT_RHO_GRID", "MODELS", "linear_path", "fit_linear", "train_torch", "choose_rho", "bag_splits",
           "mean_baseline_loss",
           "InterpolatingRegressor", "BagLevelRegressor", "InstanceLevelRegressor", "InterpolatingClassifier", "BagLevelClassifier",
           "InstanceLevelClassifier"]
