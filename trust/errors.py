"""Errors for user mistakes.

Every user-facing mistake raises a :class:`TrustError` subclass whose message is one line
naming the offending thing (column, key, value, path) and the fix. The CLI prints that line
and exits with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TrustError(Exception):
    """Base class for mistakes a user can fix (bad input, bad params, budget exceeded)."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # Keep the message on one line: the CLI prints it verbatim.
        super().__init__(" ".join(str(message).split()))


class DataError(TrustError):
    """A dataset, file or DataFrame does not meet the expected schema."""


class ConfigError(TrustError):
    """A parameter or option has an invalid value."""


class PrivacyBudgetError(TrustError):
    """A differentially private release would exceed (or cannot meet) its privacy budget."""


__all__ = ["TrustError", "DataError", "ConfigError", "PrivacyBudgetError"]
