"""Post-hoc calibration baselines on a model's logits, the interface of every calibrator
(:class:`~trust.calibrate.base.Calibrator`): ``fit(logits, labels)``, ``predict_proba(logits)``,
``transform(logits)``, ``save(path)`` / ``load(path)`` (an optional ``view_logits`` argument is accepted
and ignored, so that every calibrator is called the same way).

``transform`` returns calibrated logits: ``z / T`` (temperature scaling), ``w * z + b`` (vector
scaling), and for the binning methods, which have no logits of their own, ``log`` of the calibrated
probabilities (clipped at 1e-12), whose softmax is :meth:`predict_proba`.

- :class:`TemperatureScaling` (Guo et al. 2017): ``softmax(z / T)`` with the one ``T > 0`` minimising
  the validation NLL. The NLL is convex in ``beta = 1/T``; we minimise it over ``log beta`` in
  ``[-10, 10]`` with bounded Brent (as scikit-learn's ``CalibratedClassifierCV(method="temperature")``),
  with the loss in float64 and a log-sum-exp, so extreme logits neither overflow nor stall it.
  Keeps the predicted class.
- :class:`VectorScaling` (Guo et al. 2017): ``softmax(w * z + b)`` with per-class ``w, b`` minimising
  the NLL (L-BFGS from ``w = 1, b = 0``, a small L2 penalty ``reg`` on ``w - 1`` and ``b``). May change
  the predicted class.
- :class:`HistogramBinning` (Zadrozny & Elkan 2001), one-vs-rest: for each class ``k`` the scores
  ``P[:, k]`` are cut into ``n_bins`` equal-width bins and each bin maps to the share of its validation
  rows of class ``k`` (an empty bin keeps its centre); the ``K`` outputs are renormalised to sum 1.
  May change the predicted class.
- :class:`IsotonicCalibrator` (Zadrozny & Elkan 2002), one-vs-rest: an increasing map of ``P[:, k]`` to
  ``1[y = k]`` per class (scikit-learn's ``IsotonicRegression``, clipped outside the fitted range),
  renormalised (a row whose maps are all 0 becomes uniform). May change the predicted class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from trust._validation import check_array, check_is_fitted, check_labels, check_scalar
from trust.calibrate.base import Calibrator
from trust.errors import DataError


def softmax(z: Any) -> np.ndarray:
    """Row-wise softmax of ``(N, K)`` logits (shifted by the row maximum)."""
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def check_logits(logits: Any, labels: Any = None, *, n_classes: int | None = None, name: str = "logits",
                 fitting: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """``(Z, y)`` checked: finite ``(N, K)`` logits with ``K >= 2`` (``K = n_classes`` when given), labels in ``0..K-1``.

    With ``fitting``, labels are required and must hold at least two classes.
    """
    Z = check_array(logits, name, ndim=2)
    if Z.shape[1] < 2:
        raise DataError(f"{name} has {Z.shape[1]} column; a classifier's logits have one column per class (K >= 2)")
    if n_classes is not None and Z.shape[1] != n_classes:
        raise DataError(f"{name} has {Z.shape[1]} columns but the calibrator was fitted on {n_classes} classes; "
                        "pass the same model's logits")
    y = None
    if labels is not None:
        y = check_labels(labels, len(Z), name="labels", n_classes=Z.shape[1])
        if len(y) != len(Z):  # pragma: no cover - check_labels already says it
            raise DataError(f"labels has {len(y)} entries but {name} has {len(Z)} rows")
    if fitting:
        if y is None:
            raise DataError("labels are needed to fit a calibrator; pass one label per row of logits")
        if len(np.unique(y)) < 2:
            raise DataError(f"labels hold a single class ({int(y[0])}); a calibrator needs rows of at least two classes")
    return Z, y


class _LogitCalibrator(Calibrator):
    """Shared ``fit`` / ``transform`` plumbing of the baselines (template: subclasses implement ``_fit`` and
    ``_transform``, and ``_state`` / ``_set_state`` for :meth:`~trust.calibrate.base.Calibrator.save`)."""

    def fit(self, logits: Any, labels: Any, view_logits: Any = None) -> "_LogitCalibrator":
        """Fit on validation ``logits`` ``(N, K)`` and ``labels`` (``view_logits`` is ignored); returns self."""
        Z, y = check_logits(logits, labels, fitting=True)
        self.n_classes_ = Z.shape[1]
        self._fit(Z, y)
        return self

    def transform(self, logits: Any, view_logits: Any = None) -> np.ndarray:
        """Calibrated logits ``(N, K)`` (see the module docstring; ``view_logits`` is ignored)."""
        check_is_fitted(self, "n_classes_")
        Z, _ = check_logits(logits, n_classes=self.n_classes_)
        return self._transform(Z)

    def _fit(self, Z: np.ndarray, y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform(self, Z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


def _nll_of_scaled(Z: np.ndarray, y: np.ndarray, beta: float) -> float:
    s = beta * Z
    m = s.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(s - m).sum(axis=1))
    return float(np.mean(lse - s[np.arange(len(y)), y]))


class TemperatureScaling(_LogitCalibrator):
    """One temperature for all rows, minimising the validation NLL (see the module docstring).

    Attributes:
        temperature_: the fitted ``T``; n_classes_.
    """

    def _fit(self, Z: np.ndarray, y: np.ndarray) -> None:
        from scipy.optimize import minimize_scalar

        res = minimize_scalar(lambda lb: _nll_of_scaled(Z, y, float(np.exp(lb))), bounds=(-10.0, 10.0),
                              method="bounded", options={"xatol": 1e-10})
        self.temperature_ = float(np.exp(-res.x))

    def _transform(self, Z: np.ndarray) -> np.ndarray:
        return Z / self.temperature_

    def _state(self) -> dict[str, Any]:
        return {"temperature": self.temperature_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.temperature_ = float(state["temperature"])


class VectorScaling(_LogitCalibrator):
    """Per-class scale and bias of the logits, minimising the validation NLL (see the module docstring).

    Args:
        reg: L2 penalty on ``w - 1`` and ``b`` (keeps the fit finite when a class is separable).

    Attributes:
        weight_, bias_: ``(K,)``; n_classes_.
    """

    def __init__(self, *, reg: float = 1e-4) -> None:
        self.reg = reg

    def _fit(self, Z: np.ndarray, y: np.ndarray) -> None:
        from scipy.optimize import minimize

        reg = check_scalar(self.reg, "reg", float, min_val=0.0)
        n, K = Z.shape
        onehot = np.eye(K)[y]

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[:K], theta[K:]
            s = Z * w + b
            P = softmax(s)
            nll = -np.mean(np.log(np.clip(P[np.arange(n), y], 1e-300, None)))
            g = (P - onehot) / n                         # d nll / d s
            grad = np.concatenate([(g * Z).sum(0) + 2 * reg * (w - 1), g.sum(0) + 2 * reg * b])
            return nll + reg * (np.sum((w - 1) ** 2) + np.sum(b ** 2)), grad

        res = minimize(loss, np.concatenate([np.ones(K), np.zeros(K)]), jac=True, method="L-BFGS-B")
        self.weight_, self.bias_ = res.x[:K].copy(), res.x[K:].copy()

    def _transform(self, Z: np.ndarray) -> np.ndarray:
        return Z * self.weight_ + self.bias_

    def _state(self) -> dict[str, Any]:
        return {"weight": self.weight_.tolist(), "bias": self.bias_.tolist()}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.weight_, self.bias_ = np.asarray(state["weight"], dtype=float), np.asarray(state["bias"], dtype=float)


def _renormalise(Q: np.ndarray) -> np.ndarray:
    s = Q.sum(axis=1, keepdims=True)
    K = Q.shape[1]
    return np.where(s > 0, Q / np.where(s > 0, s, 1.0), 1.0 / K)


class HistogramBinning(_LogitCalibrator):
    """One-vs-rest histogram binning of the softmax scores, renormalised (see the module docstring).

    Args:
        n_bins: equal-width bins per class.

    Attributes:
        bin_values_: ``(K, n_bins)`` calibrated value of each bin; n_classes_.
    """

    def __init__(self, *, n_bins: int = 15) -> None:
        self.n_bins = n_bins

    def _bin(self, p: np.ndarray) -> np.ndarray:
        return np.clip(np.ceil(p * self.n_bins).astype(int) - 1, 0, self.n_bins - 1)

    def _fit(self, Z: np.ndarray, y: np.ndarray) -> None:
        check_scalar(self.n_bins, "n_bins", int, min_val=1)
        P = softmax(Z)
        centres = (np.arange(self.n_bins) + 0.5) / self.n_bins
        values = np.empty((Z.shape[1], self.n_bins))
        for k in range(Z.shape[1]):
            b = self._bin(P[:, k])
            count = np.bincount(b, minlength=self.n_bins)
            hits = np.bincount(b, weights=(y == k).astype(float), minlength=self.n_bins)
            values[k] = np.where(count > 0, hits / np.maximum(count, 1), centres)
        self.bin_values_ = values

    def _transform(self, Z: np.ndarray) -> np.ndarray:
        P = softmax(Z)
        Q = np.stack([self.bin_values_[k][self._bin(P[:, k])] for k in range(Z.shape[1])], axis=1)
        return np.log(np.clip(_renormalise(Q), 1e-12, None))

    def _state(self) -> dict[str, Any]:
        return {"bin_values": self.bin_values_.tolist()}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.bin_values_ = np.asarray(state["bin_values"], dtype=float)


class IsotonicCalibrator(_LogitCalibrator):
    """One-vs-rest isotonic regression of the softmax scores, renormalised (see the module docstring).

    Attributes:
        isotonic_: the ``K`` fitted :class:`sklearn.isotonic.IsotonicRegression`; n_classes_.
    """

    def _fit(self, Z: np.ndarray, y: np.ndarray) -> None:
        from sklearn.isotonic import IsotonicRegression

        P = softmax(Z)
        self.isotonic_ = [IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(P[:, k], (y == k).astype(float))
                          for k in range(Z.shape[1])]

    def _transform(self, Z: np.ndarray) -> np.ndarray:
        P = softmax(Z)
        Q = np.stack([iso.predict(P[:, k]) for k, iso in enumerate(self.isotonic_)], axis=1)
        return np.log(np.clip(_renormalise(Q), 1e-12, None))

    def _state(self) -> dict[str, Any]:
        return {"x": [i.X_thresholds_.tolist() for i in self.isotonic_], "y": [i.y_thresholds_.tolist() for i in self.isotonic_]}

    def _set_state(self, state: dict[str, Any]) -> None:
        from sklearn.isotonic import IsotonicRegression

        # refitting on the fitted thresholds reproduces the same piecewise-linear map
        self.isotonic_ = [IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(np.asarray(x), np.asarray(y))
                          for x, y in zip(state["x"], state["y"])]


BASELINES = {"temperature": TemperatureScaling, "vector": VectorScaling, "histogram": HistogramBinning,
             "isotonic": IsotonicCalibrator}

__all__ = ["softmax", "check_logits", "TemperatureScaling", "VectorScaling", "HistogramBinning", "IsotonicCalibrator",
           "BASELINES"]
