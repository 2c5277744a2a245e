"""Independent epsilon: each ledger entry recomputed from its own mechanism parameters, with code that
shares nothing with the accountant that produced it.

What the verifier reads from a ledger entry (:class:`~trust.privacy.LedgerEntry`), by mechanism family:

* **Poisson-subsampled Gaussian (DP-SGD)**: a ``mechanism`` naming SGD, or a Gaussian with
  ``sample_rate < 1``: ``noise_multiplier`` (sigma, noise std over the clip bound), ``sample_rate`` (q),
  ``steps`` and ``delta``. Recomputed with Google's ``dp-accounting`` privacy-loss-distribution (PLD)
  accountant (Apache-2.0; no code in common with Opacus's RDP/PRV accountants that wrote the ledger):
  ``SelfComposed(PoissonSampled(q, Gaussian(sigma)), steps)`` at the entry's delta, with the neighbouring
  relation of the entry's adjacency (add/remove, or replace-one). The PLD is a pessimistic (upper-bound)
  discretisation, so the independent value is an upper bound of the true epsilon up to its discretisation.
* **Gaussian mechanism** (``sample_rate`` 1 or absent): ``noise_multiplier`` = sigma / L2 sensitivity,
  ``steps`` compositions (1 when absent): PLD of ``SelfComposed(Gaussian(sigma), steps)`` at ``delta``
  (the exact Gaussian privacy curve, tighter than the classic ``sqrt(2 ln(1.25/delta))/epsilon`` calibration).
* **Laplace and discrete Laplace**: ``noise_multiplier`` = scale b / L1 sensitivity (b/Delta), and ``steps``
  sequential compositions each of budget ``Delta/b = 1/noise_multiplier`` (1 when absent): ``epsilon =
  steps / noise_multiplier`` (Dwork et al. 2006; for the discrete Laplace ``exp(-|k|/b)`` the same ratio,
  Ghosh et al. 2009). Parallel composition over disjoint parts (bags) counts once.
* **zCDP** (``accountant == "zcdp"`` or a mechanism naming zCDP, e.g. the marginal engines AIM/MST): rho from
  an entry's ``rho`` field when the ledger has one, else ``steps / (2 noise_multiplier^2)`` (``steps``
  Gaussian measurements of L2 sensitivity 1 and noise ``noise_multiplier``), converted to epsilon at the
  entry's delta by ``dp-accounting``'s RDP accountant (``ZCDpEvent(rho)``: RDP ``rho * alpha`` at every
  order, then its RDP-to-(epsilon, delta) conversion).

The verdict of one entry (:func:`check_entry`): MISMATCH when the ledger's epsilon is below the independent
value by more than the tolerance (:data:`RELATIVE_TOLERANCE` of the independent value, so a ledger that
rounds or uses a looser accountant upward passes); UNVERIFIABLE when the entry lacks a parameter its
family needs or names a mechanism the verifier does not know; otherwise VERIFIED.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Mapping

#: the ledger's epsilon may fall below the independent (upper-bound) value by at most this share of it:
#: the PLD's discretisation and the accountants' own numerical tolerances are well inside 1 %
RELATIVE_TOLERANCE = 0.01
#: for the closed forms (Laplace, discrete Laplace) only floating-point rounding is allowed
CLOSED_FORM_TOLERANCE = 1e-9
#: the PLD's discretisation of the privacy loss (dp-accounting's default)
PLD_DISCRETISATION = 1e-4


@dataclass(frozen=True)
class EpsilonCheck:
    """One ledger entry's epsilon beside the independent recomputation."""

    release: str
    family: str
    ledger_epsilon: float
    independent_epsilon: float | None
    method: str
    status: str  # "verified" | "mismatch" | "unverifiable"
    reason: str


def _family(e: Mapping[str, Any]) -> str:
    mech = str(e.get("mechanism", "")).lower()
    acc = str(e.get("accountant", "")).lower()
    if acc == "zcdp" or "zcdp" in mech or "rho" in e:
        return "zcdp"
    if "laplace" in mech:
        return "laplace"
    q = e.get("sample_rate")
    if "sgd" in mech or ("gaussian" in mech and q is not None and q < 1):
        return "subsampled-gaussian"
    if "gaussian" in mech:
        return "gaussian"
    return "unknown"


def _relation(adjacency: str):
    import dp_accounting

    return (dp_accounting.NeighboringRelation.REPLACE_ONE if adjacency == "replace-one"
            else dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE)


@functools.lru_cache(maxsize=256)
def pld_epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                adjacency: str = "add/remove") -> float:
    """Epsilon of ``steps`` Poisson-subsampled Gaussian steps by dp-accounting's PLD accountant."""
    import dp_accounting
    from dp_accounting.pld import pld_privacy_accountant

    inner = dp_accounting.GaussianDpEvent(noise_multiplier)
    event = inner if sample_rate >= 1 else dp_accounting.PoissonSampledDpEvent(sample_rate, inner)
    acc = pld_privacy_accountant.PLDAccountant(_relation(adjacency), value_discretization_interval=PLD_DISCRETISATION)
    acc.compose(dp_accounting.SelfComposedDpEvent(event, int(steps)))
    return float(acc.get_epsilon(delta))


@functools.lru_cache(maxsize=256)
def zcdp_epsilon(rho: float, delta: float) -> float:
    """Epsilon at ``delta`` of a rho-zCDP mechanism, by dp-accounting's RDP accountant."""
    import dp_accounting
    from dp_accounting.rdp import rdp_privacy_accountant

    acc = rdp_privacy_accountant.RdpAccountant()
    acc.compose(dp_accounting.ZCDpEvent(rho))
    return float(acc.get_epsilon(delta))


def _need(e: Mapping[str, Any], *names: str) -> str | None:
    missing = [n for n in names if e.get(n) is None]
    return f"the entry lacks {', '.join(missing)}" if missing else None


def independent_epsilon(e: Mapping[str, Any]) -> tuple[float | None, str, str, str]:
    """``(epsilon or None, family, method, reason when None)`` for one ledger entry (see the module doc)."""
    fam = _family(e)
    delta, adj = float(e.get("delta") or 0.0), str(e.get("adjacency", "add/remove"))
    steps = int(e["steps"]) if e.get("steps") is not None else 1
    if fam == "unknown":
        return None, fam, "", f"mechanism '{e.get('mechanism')}' is not one the verifier can recompute"
    if fam == "laplace":
        miss = _need(e, "noise_multiplier")
        if miss:
            return None, fam, "", miss
        nm = float(e["noise_multiplier"])
        return steps / nm, fam, f"closed form: {steps} x Delta/b = {steps} / {nm:.6g}", ""
    if fam == "zcdp":
        if e.get("rho") is not None:
            rho, how = float(e["rho"]), "the entry's rho"
        else:
            miss = _need(e, "noise_multiplier")
            if miss:
                return None, fam, "", miss + " (or rho)"
            rho, how = steps / (2 * float(e["noise_multiplier"]) ** 2), f"rho = {steps} / (2 sigma^2)"
        if not 0 < delta < 1:
            return None, fam, "", f"a zCDP guarantee needs delta in (0, 1), the entry has {delta}"
        return zcdp_epsilon(rho, delta), fam, f"dp-accounting RDP, zCDP {how} = {rho:.6g} at delta {delta:.3g}", ""
    miss = _need(e, "noise_multiplier") or (_need(e, "sample_rate") if fam == "subsampled-gaussian" else None)
    if miss:
        return None, fam, "", miss
    if not 0 < delta < 1:
        return None, fam, "", f"a Gaussian guarantee needs delta in (0, 1), the entry has {delta}"
    q = float(e["sample_rate"]) if e.get("sample_rate") is not None else 1.0
    eps = pld_epsilon(float(e["noise_multiplier"]), q, steps, delta, adj)
    return eps, fam, (f"dp-accounting PLD ({adj}): sigma {float(e['noise_multiplier']):.6g}, q {q:.6g}, "
                      f"{steps} steps, delta {delta:.3g}"), ""


def check_entry(e: Mapping[str, Any], *, tolerance: float = RELATIVE_TOLERANCE) -> EpsilonCheck:
    """The ledger's epsilon of one entry against the independent value (see the module doc for the verdict)."""
    ledger = float(e["epsilon"])
    indep, fam, method, why = independent_epsilon(e)
    name = str(e.get("release", "?"))
    if indep is None:
        return EpsilonCheck(name, fam, ledger, None, method, "unverifiable", why)
    if not math.isfinite(indep):
        return EpsilonCheck(name, fam, ledger, indep, method, "mismatch",
                            "the independent accountant finds no finite epsilon at this delta")
    tol = CLOSED_FORM_TOLERANCE if fam == "laplace" else tolerance
    if ledger < indep * (1 - tol):
        return EpsilonCheck(name, fam, ledger, indep, method, "mismatch",
                            f"the ledger's epsilon {ledger:.6g} is below the independent {indep:.6g} by "
                            f"{(indep - ledger) / indep:.2%} (tolerance {tol:.2%})")
    return EpsilonCheck(name, fam, ledger, indep, method, "verified",
                        f"ledger {ledger:.6g} >= independent {indep:.6g}" + (f" - {tol:.0%}" if tol >= 1e-3 else ""))


__all__ = ["RELATIVE_TOLERANCE", "CLOSED_FORM_TOLERANCE", "EpsilonCheck", "pld_epsilon", "zcdp_epsilon",
           "independent_epsilon", "check_entry"]
