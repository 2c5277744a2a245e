"""Thin, explicit wrappers over Opacus's accountants.

Opacus counts DP-SGD steps with an accountant object (``step(noise_multiplier, sample_rate)``,
``get_epsilon(delta)``); these helpers make the two questions a user asks one call each:
"what epsilon does this training give?" and "what noise gives this epsilon?".
"""

from __future__ import annotations

from trust.errors import ConfigError, PrivacyBudgetError

ACCOUNTANTS = ("rdp", "prv")


def _check(accountant: str, sample_rate: float, steps: int, delta: float) -> None:
    if accountant not in ACCOUNTANTS:
        raise ConfigError(f"accountant '{accountant}' is unknown; use one of {ACCOUNTANTS}")
    if not 0.0 < sample_rate <= 1.0:
        raise ConfigError(f"sample_rate={sample_rate} must lie in (0, 1]")
    if int(steps) < 1:
        raise ConfigError(f"steps={steps} must be at least 1")
    if not 0.0 < delta < 1.0:
        raise ConfigError(f"delta={delta} must lie strictly between 0 and 1")


def make_accountant(accountant: str = "rdp"):
    """A fresh Opacus accountant (``rdp`` or ``prv``)."""
    from opacus.accountants import create_accountant  # imports torch: keep it off the CLI's start-up path

    if accountant not in ACCOUNTANTS:
        raise ConfigError(f"accountant '{accountant}' is unknown; use one of {ACCOUNTANTS}")
    return create_accountant(mechanism=accountant)


def epsilon_for(noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                accountant: str = "rdp") -> float:
    """Epsilon of ``steps`` Poisson-subsampled Gaussian steps at ``(noise_multiplier, sample_rate)``."""
    _check(accountant, sample_rate, steps, delta)
    if noise_multiplier <= 0:
        raise ConfigError(f"noise_multiplier={noise_multiplier} must be > 0")
    acc = make_accountant(accountant)
    acc.history = [(float(noise_multiplier), float(sample_rate), int(steps))]
    return float(acc.get_epsilon(delta=delta))


def noise_for_epsilon(epsilon: float, sample_rate: float, steps: int, delta: float,
                      accountant: str = "rdp", epsilon_tolerance: float = 0.01) -> float:
    """The smallest noise multiplier whose ``steps`` steps stay within ``(epsilon, delta)``.

    Raises :class:`~trust.errors.PrivacyBudgetError` when no noise multiplier up to Opacus's
    search limit meets the budget.
    """
    _check(accountant, sample_rate, steps, delta)
    if not epsilon > 0:
        raise ConfigError(f"epsilon={epsilon} must be > 0")
    from opacus.accountants.utils import get_noise_multiplier

    try:
        sigma = get_noise_multiplier(target_epsilon=float(epsilon), target_delta=float(delta),
                                     sample_rate=float(sample_rate), steps=int(steps),
                                     accountant=accountant, epsilon_tolerance=epsilon_tolerance)
    except ValueError as e:
        raise PrivacyBudgetError(
            f"no noise multiplier reaches epsilon={epsilon:g} at delta={delta:g} with sample rate "
            f"{sample_rate:.4g} over {steps} steps ({e}); train fewer steps, use a smaller sample rate, "
            "or accept a larger epsilon"
        ) from None
    return float(sigma)


__all__ = ["ACCOUNTANTS", "make_accountant", "epsilon_for", "noise_for_epsilon"]
