"""Shared validation: the one place settings, seeds and arrays are checked (scikit-learn's way).

Every estimator, metric and mechanism checks its inputs through these helpers, so one kind of
mistake always reads the same way: the setting's name, the value given, what is allowed, as a
one-line :class:`~trust.errors.ConfigError` or :class:`~trust.errors.DataError` (which the CLI
prints and turns into exit status 2).

- :func:`check_scalar`: a number's type and range (``check_scalar(lr, "lr", float, min_val=0,
  include_boundaries="neither")``), in the spirit of :func:`sklearn.utils.check_scalar`.
- :func:`check_option`: a string setting that must be one of a few names.
- :func:`check_random_state`: ``None`` / an int seed / a :class:`numpy.random.Generator` to a
  Generator. Seeds everything that is *not* privacy noise; DP noise comes from
  :mod:`trust.privacy` (OS entropy) and never from here.
- :func:`check_array`: a finite numeric array of the expected dimensions, as float or as given.
- :func:`check_labels`: class labels of a classification problem, encoded ``0..K-1``.
- :func:`check_is_fitted` and :class:`NotFittedError`: the one "not fitted" error.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

import numpy as np

from trust.errors import ConfigError, DataError, TrustError


class NotFittedError(TrustError):
    """An estimator was used before ``fit`` (the one error for that, everywhere)."""


def _type_names(target_type: type | tuple[type, ...]) -> str:
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    return " or ".join("an integer" if t is numbers.Integral or t is int else
                       "a number" if t in (numbers.Real, float) else t.__name__ for t in types)


def check_scalar(
    x: Any,
    name: str,
    target_type: type | tuple[type, ...],
    *,
    min_val: float | None = None,
    max_val: float | None = None,
    include_boundaries: str = "both",
    allow_none: bool = False,
) -> Any:
    """Check a scalar setting's type and range and return it (``None`` passes when ``allow_none``).

    ``target_type`` is ``int`` (integers only, ``True``/``False`` refused), ``float`` (any finite real,
    integers included) or a tuple of types. ``include_boundaries``: ``"both"``, ``"left"``,
    ``"right"`` or ``"neither"`` says which of ``min_val``/``max_val`` are allowed values.

    Raises:
        ConfigError: naming ``name``, the value and the allowed range.
    """
    if x is None and allow_none:
        return None
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    wants_int = all(t in (int, numbers.Integral) for t in types)
    ok_type = (isinstance(x, numbers.Integral) if wants_int else isinstance(x, numbers.Real)) and not isinstance(x, bool)
    if not ok_type or (not wants_int and not math.isfinite(float(x))):
        what = _type_names(target_type) if wants_int else "a finite number"
        raise ConfigError(f"{name}={x!r} must be {what}" + (" or None" if allow_none else ""))
    if include_boundaries not in ("both", "left", "right", "neither"):
        raise ValueError(f"include_boundaries={include_boundaries!r}")  # a bug in the caller
    lo_incl = include_boundaries in ("both", "left")
    hi_incl = include_boundaries in ("both", "right")
    too_low = min_val is not None and (x < min_val or (x == min_val and not lo_incl))
    too_high = max_val is not None and (x > max_val or (x == max_val and not hi_incl))
    if too_low or too_high:
        parts = []
        if min_val is not None:
            parts.append(f"{'>=' if lo_incl else '>'} {min_val:g}")
        if max_val is not None:
            parts.append(f"{'<=' if hi_incl else '<'} {max_val:g}")
        raise ConfigError(f"{name}={x!r} must be {_type_names(target_type) if wants_int else 'a number'} "
                          f"{' and '.join(parts)}")
    return int(x) if wants_int else x


def check_option(x: Any, name: str, options: Sequence[str]) -> str:
    """Check that a string setting is one of ``options`` and return it."""
    if not isinstance(x, str) or x not in options:
        raise ConfigError(f"{name}={x!r} is unknown; use one of: {', '.join(repr(o) for o in options)}")
    return x


def check_random_state(random_state: Any, name: str = "random_state") -> np.random.Generator:
    """``None`` (fresh OS entropy), an int seed >= 0, or a Generator (returned as is) to a Generator.

    Seeds initialisation, shuffles and synthetic sampling; never DP noise.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) and random_state >= 0:
        return np.random.default_rng(int(random_state))
    raise ConfigError(f"{name}={random_state!r} must be None, an integer seed >= 0 or a numpy Generator")


def fork_seed(rng: np.random.Generator) -> int:
    """A 63-bit seed drawn from ``rng``: how one generator seeds another library's (e.g. torch's)."""
    return int(rng.integers(0, 2**63 - 1))


def check_array(
    X: Any,
    name: str = "X",
    *,
    ndim: int | Iterable[int] | None = None,
    dtype: Any = np.float64,
    allow_empty: bool = False,
    allow_nan: bool = False,
) -> np.ndarray:
    """A numeric array with ``ndim`` dimensions (one or several allowed), finite unless ``allow_nan``.

    ``dtype=None`` keeps a numeric dtype as given (e.g. ``uint8`` images); otherwise the array is cast.

    Raises:
        DataError: not numeric, wrong number of dimensions, empty, or holding NaN/inf; the message
            names ``name``, what was found and what is expected.
    """
    try:
        arr = np.asarray(X) if dtype is None else np.asarray(X, dtype=dtype)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a numeric array; got values that are not numbers") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-d" for d in allowed)
            raise DataError(f"{name} must be a {want} array, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise DataError(f"{name} is empty (shape {arr.shape}); it needs at least one row")
    if not allow_nan and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DataError(f"{name} holds NaN or infinite values; remove or impute them first")
    return arr


def check_labels(y: Any, n: int | None = None, *, name: str = "y", n_classes: int | None = None) -> np.ndarray:
    """Integer class labels ``0..K-1`` as int64 (one per row when ``n`` is given).

    Raises:
        DataError: not 1-d, the wrong length, not whole numbers, negative, or (with ``n_classes``)
            a label ``>= n_classes``.
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(f"{name} must be a 1-d array of class labels, got shape {arr.shape}")
    if n is not None and len(arr) != n:
        raise DataError(f"{name} has {len(arr)} labels but X has {n} rows; give one label per row")
    if arr.dtype.kind not in "biuf" or (arr.dtype.kind == "f" and not (np.isfinite(arr).all()
                                                                        and np.all(arr == np.round(arr)))):
        raise DataError(f"{name} must hold integer class labels 0..K-1; encode the classes as integers first")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise DataError(f"{name} holds a negative label; labels must be 0..K-1")
    if n_classes is not None and arr.size and arr.max() >= n_classes:
        raise DataError(f"{name} holds label {int(arr.max())} but the model knows {n_classes} classes (0..{n_classes - 1})")
    return arr


def check_is_fitted(estimator: Any, attributes: str | Sequence[str] | None = None) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` is fitted.

    Fitted means every name in ``attributes`` is set, or (by default) that some attribute ends in
    ``_`` (scikit-learn's convention for learned state).
    """
    if attributes is None:
        fitted = any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))
    else:
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        fitted = all(getattr(estimator, a, None) is not None for a in names)
    if not fitted:
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet; call fit(...) first")


__all__ = [
    "NotFittedError", "check_scalar", "check_option", "check_random_state", "fork_seed", "check_array",
    "check_labels", "check_is_fitted",
]
