"""zCDP accounting of the marginal engine, and its one ledger entry.

The marginal mechanisms (MST, AIM) are built from two pieces, each with a zCDP cost (Bun and Steinke 2016):

* a *Gaussian measurement* of a marginal (a vector of counts; adding or removing one row changes one
  cell by 1, so its L2 sensitivity is 1) with noise standard deviation ``sigma``: ``1 / (2 sigma^2)``-zCDP;
* one draw of the *exponential mechanism* at ``epsilon`` (quality sensitivity folded into its scale):
  ``epsilon``-DP and, being a bounded-range mechanism, ``epsilon^2 / 8``-zCDP (Cesar and Rogers 2021, the
  bound AIM and MST use).

zCDP composes by adding rho, adaptively. The total ``rho`` is converted to ``(epsilon, delta)``-DP by the
conversion of Canonne, Kamath and Steinke (2020, Proposition 12 applied to the Renyi curve ``alpha rho``)::

    epsilon(rho, delta) = min over alpha > 1 of  alpha rho + (log(1/delta) + (alpha - 1) log(1 - 1/alpha)
                                                          - log(alpha)) / (alpha - 1)

which is the same formula as the RDP-to-DP conversion of Google's ``dp-accounting`` (so a Gaussian
mechanism of noise multiplier ``1 / sqrt(2 rho)``, whose Renyi curve is exactly ``alpha rho``, recomputes it).
Any ``alpha > 1`` gives a valid bound, so an inexact minimisation only loosens it; we also never report more
than the simpler ``rho + 2 sqrt(rho log(1/delta))`` (Bun and Steinke 2016, Proposition 1.3).

Ledger entry (one per fit, see :func:`ledger_entry`): ``mechanism`` names the engine, ``accountant="zcdp"``,
``noise_multiplier = 1 / sqrt(2 rho)`` (the single Gaussian mechanism with the same zCDP cost), ``sample_rate=1``,
``steps=1``, ``max_grad_norm=None``, ``epsilon = epsilon(rho, delta)``; the notes give ``rho`` and how many
Gaussian measurements and exponential-mechanism draws it sums. The per-step record (each measurement's
sigma, each selection's epsilon) is :attr:`ZCDPBudget.spends`, saved with the model, so an auditor can
recompute ``rho`` from the parts and ``epsilon`` from ``rho``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from trust._validation import check_scalar
from trust.errors import PrivacyBudgetError
from trust.privacy.ledger import LedgerEntry


def _conversion(rho: float, delta: float, alpha: float) -> float:
    return alpha * rho + (math.log(1.0 / delta) + (alpha - 1.0) * math.log1p(-1.0 / alpha)
                          - math.log(alpha)) / (alpha - 1.0)


def zcdp_epsilon(rho: float, delta: float) -> float:
    """The smallest ``epsilon`` such that ``rho``-zCDP implies ``(epsilon, delta)``-DP (see the module docstring).

    >>> round(zcdp_epsilon(0.5 / 4.0 ** 2, 1e-5), 4)   # one Gaussian measurement with sigma 4
    1.0123
    """
    check_scalar(rho, "rho", float, min_val=0)
    check_scalar(delta, "delta", float, min_val=0, max_val=1, include_boundaries="neither")
    if rho == 0:
        return 0.0
    # the optimal alpha solves rho (alpha - 1)^2 + log(alpha) = log(1 / delta): bisection on that increasing
    # function (any alpha > 1 is a valid bound, so stopping early only loosens it)
    target = math.log(1.0 / delta)
    lo, hi = 1.0 + 1e-9, 2.0
    while rho * (hi - 1.0) ** 2 + math.log(hi) < target:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if rho * (mid - 1.0) ** 2 + math.log(mid) < target:
            lo = mid
        else:
            hi = mid
    best = min(_conversion(rho, delta, a) for a in (lo, hi, 0.5 * (lo + hi)))
    return float(min(best, rho + 2.0 * math.sqrt(rho * target)))


def zcdp_rho(epsilon: float, delta: float) -> float:
    """The largest ``rho`` whose :func:`zcdp_epsilon` at ``delta`` is at most ``epsilon`` (bisection, rounded down).

    >>> rho = zcdp_rho(1.0, 1e-5); zcdp_epsilon(rho, 1e-5) <= 1.0
    True
    """
    check_scalar(epsilon, "epsilon", float, min_val=0, include_boundaries="neither")
    check_scalar(delta, "delta", float, min_val=0, max_val=1, include_boundaries="neither")
    lo, hi = 0.0, float(epsilon)   # epsilon(rho) >= rho
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if zcdp_epsilon(mid, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass
class ZCDPBudget:
    """A zCDP budget and every spend on it, in order.

    Attributes:
        rho: the total budget (``inf`` without DP: nothing is charged).
        spends: ``{"kind": "gaussian", "sigma": s, "clique": [...]}`` per Gaussian measurement (L2 sensitivity 1)
            and ``{"kind": "exponential", "epsilon": e, "candidates": k}`` per exponential-mechanism draw.
    """

    rho: float
    spends: list[dict[str, Any]] = field(default_factory=list)
    # running sum of the spends counted so far (the same left-to-right sum; recomputed when spends was changed
    # outside charge): charging n spends costs O(n), not O(n^2)
    _used: float = field(default=0.0, init=False, repr=False, compare=False)
    _counted: int = field(default=0, init=False, repr=False, compare=False)

    @property
    def used(self) -> float:
        """rho spent so far: the sum of ``1 / (2 sigma^2)`` and ``epsilon^2 / 8`` over :attr:`spends`."""
        if self._counted != len(self.spends):
            self._used, self._counted = float(sum(spend_rho(s) for s in self.spends)), len(self.spends)
        return self._used

    @property
    def remaining(self) -> float:
        return self.rho - self.used

    def charge(self, spend: dict[str, Any]) -> None:
        """Record one spend; a spend past the budget (beyond rounding) is a bug and raises."""
        used = self.used + spend_rho(spend)
        self.spends.append(dict(spend))
        self._used, self._counted = used, len(self.spends)
        if used > self.rho * (1 + 1e-9):
            raise PrivacyBudgetError(f"the marginal engine spent rho={self.used:.6g} of a budget of {self.rho:.6g}")

    def gaussian(self, sigma: float, clique: tuple[str, ...]) -> None:
        """Charge one Gaussian measurement of a marginal with noise ``sigma``."""
        self.charge({"kind": "gaussian", "sigma": float(sigma), "clique": list(clique)})

    def exponential(self, epsilon: float, candidates: int) -> None:
        """Charge one exponential-mechanism draw at ``epsilon`` among ``candidates`` candidates."""
        self.charge({"kind": "exponential", "epsilon": float(epsilon), "candidates": int(candidates)})


def spend_rho(spend: dict[str, Any]) -> float:
    """The zCDP cost of one recorded spend (see :class:`ZCDPBudget`)."""
    if spend["kind"] == "gaussian":
        return 0.5 / float(spend["sigma"]) ** 2
    return float(spend["epsilon"]) ** 2 / 8.0


def ledger_entry(budget: ZCDPBudget, delta: float, *, release: str, mechanism: str, dataset: str,
                 noise_source: str, notes: str = "") -> LedgerEntry:
    """The fit's one :class:`~trust.privacy.ledger.LedgerEntry` (fields in the module docstring)."""
    rho = budget.used
    n_gauss = sum(1 for s in budget.spends if s["kind"] == "gaussian")
    n_exp = len(budget.spends) - n_gauss
    text = (f"zCDP: rho={rho:.10g} (budget {budget.rho:.10g}) summed over {n_gauss} Gaussian marginal measurements "
            f"(1/(2 sigma^2) each, L2 sensitivity 1) and {n_exp} exponential-mechanism selections (epsilon^2/8 "
            "each), converted to (epsilon, delta) by Canonne-Kamath-Steinke 2020 (Prop. 12 on the Renyi curve "
            "alpha*rho); noise_multiplier is 1/sqrt(2 rho), the one Gaussian mechanism of the same zCDP cost. "
            + notes).strip()
    return LedgerEntry(release=release, mechanism=mechanism, epsilon=zcdp_epsilon(rho, delta), delta=float(delta),
                       accountant="zcdp", noise_multiplier=1.0 / math.sqrt(2.0 * rho), sample_rate=1.0, steps=1,
                       max_grad_norm=None, unit_of_privacy="record", adjacency="add/remove", dataset=dataset,
                       noise_source=noise_source, notes=text)


__all__ = ["zcdp_epsilon", "zcdp_rho", "ZCDPBudget", "spend_rho", "ledger_entry"]
