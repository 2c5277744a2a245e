"""Classic DP mechanisms for one-shot releases (histograms, bag means, bounds).

Each function returns the noisy values and the parameters an auditor needs; the caller records
a :class:`~trust.privacy.ledger.LedgerEntry`.
"""

from __future__ import annotations

import math

import numpy as np

from trust.errors import ConfigError


def _rng(random_state) -> np.random.Generator:
    return random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)


def laplace_mechanism(values, sensitivity: float, epsilon: float, random_state=None) -> np.ndarray:
    """``values + Laplace(sensitivity / epsilon)``: epsilon-DP for an L1 sensitivity of ``sensitivity``."""
    if not epsilon > 0:
        raise ConfigError(f"epsilon={epsilon} must be > 0")
    if not sensitivity > 0:
        raise ConfigError(f"sensitivity={sensitivity} must be > 0")
    values = np.asarray(values, dtype=float)
    return values + _rng(random_state).laplace(0.0, sensitivity / epsilon, size=values.shape)


def gaussian_sigma(sensitivity: float, epsilon: float, delta: float) -> float:
    """Noise std of the classic Gaussian mechanism, ``sqrt(2 ln(1.25/delta)) * Delta_2 / epsilon`` (epsilon < 1)."""
    if not 0 < epsilon < 1:
        raise ConfigError(f"epsilon={epsilon} must lie in (0, 1) for the classic Gaussian mechanism")
    if not 0 < delta < 1:
        raise ConfigError(f"delta={delta} must lie in (0, 1)")
    return math.sqrt(2.0 * math.log(1.25 / delta)) * sensitivity / epsilon


def gaussian_mechanism(values, sensitivity: float, epsilon: float, delta: float, random_state=None) -> np.ndarray:
    """``values + N(0, sigma^2)`` with the classic calibration: (epsilon, delta)-DP for L2 sensitivity."""
    values = np.asarray(values, dtype=float)
    sigma = gaussian_sigma(sensitivity, epsilon, delta)
    return values + _rng(random_state).normal(0.0, sigma, size=values.shape)


__all__ = ["laplace_mechanism", "gaussian_mechanism", "gaussian_sigma"]
