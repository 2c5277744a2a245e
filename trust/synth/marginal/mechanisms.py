"""MST and AIM: which marginals to measure, with how much noise, and the graphical model fitted to them.

Both run on integer codes (:mod:`trust.synth.marginal.domain`) held in an :class:`mbi.Dataset`; the
estimation (a Markov random field fitted to the noisy marginals by mirror descent) and the sampling are
``mbi``'s (private-pgm, McKenna et al.); the selection and measurement loops are ours, so that every noise
draw and every exponential-mechanism draw comes from the release's secret generator and every spend is
charged to a :class:`~trust.synth.marginal.accounting.ZCDPBudget`.

**MST** (McKenna, Miklau and Sheldon 2021, "Winning the NIST contest"): a third of ``rho`` measures every
one-way marginal (noise ``sqrt(3 d / (2 rho))`` each, ``d`` columns); values whose noisy count is below 3
standard deviations are merged into one (domain compression; sampling spreads the merged code uniformly
over its values); a third selects a maximum spanning tree over the column pairs, edge by edge, each edge
by the exponential mechanism at ``sqrt(8 (rho / 3) / (d - 1))`` with quality the L1 error of the model fitted
to the one-way marginals (sensitivity 1); the last third measures the tree's ``d - 1`` two-way marginals.

**AIM** (McKenna, Mullins, Sheldon and Miklau 2022): the workload is every pair of columns (weight 1) whose
marginal has at most ``max_cells`` cells; candidates are its downward closure, each weighted by its overlap
with the workload. With ``T`` rounds (default ``16 d``) the one-way marginals are measured at
``sigma = sqrt(T / (2 * 0.9 rho))``; each round then selects the candidate the current model approximates
worst (exponential mechanism at ``epsilon = sqrt(8 * 0.1 rho / T)``, quality ``w (||x - x_hat||_1 -
sqrt(2/pi) sigma n)``, sensitivity ``max w``) among those that keep the model within ``max_model_size`` times
the share of budget spent, measures it with ``sigma``, and refits (warm start). When a measurement barely
moves the model, sigma halves and epsilon doubles (annealing); when less than two rounds' budget remains,
the last round spends exactly what is left.

Without DP (``budget.rho`` infinite) measurements are exact, each selection takes the best candidate (the
exponential mechanism's limit), MST does not compress, and AIM runs ``T`` rounds.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from trust.synth.marginal.accounting import ZCDPBudget


def import_mbi():
    """``mbi`` (imports JAX; its import-time warnings about float32 and JAX's compilation cache are silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mbi

    return mbi


@dataclass
class Settings:
    """The loop settings both mechanisms read (the estimator's, checked there)."""

    iters: int = 500                 # mirror-descent iterations per refit (AIM rounds, MST's selection model)
    final_iters: int = 2000          # iterations of the final fit
    max_model_size: float = 20.0     # AIM: megabytes of the junction tree's largest cliques
    max_cells: int = 10000           # AIM: workload marginals with more cells are left out
    rounds: int | None = None        # AIM: T (None: 16 d)
    progress: Callable[[str], None] | None = None


@dataclass
class Fitted:
    """What a mechanism returns: the fitted model, the measurements it is fitted to, MST's compression maps."""

    model: Any
    measurements: list = field(default_factory=list)
    compress: dict[str, np.ndarray] = field(default_factory=dict)


def _dp(budget: ZCDPBudget) -> bool:
    return math.isfinite(budget.rho)


def measure(data, clique: tuple[str, ...], sigma: float | None, rng: np.random.Generator | None,
            budget: ZCDPBudget):
    """A noisy marginal: counts plus N(0, sigma^2) per cell from the secret ``rng`` (exact when ``sigma`` is None)."""
    mbi = import_mbi()
    x = np.asarray(data.project(clique).datavector(), dtype=float)
    if sigma is None:
        return mbi.LinearMeasurement(x, clique, stddev=1.0)
    budget.gaussian(sigma, clique)
    return mbi.LinearMeasurement(x + rng.normal(0.0, sigma, x.size), clique, stddev=float(sigma))


def exponential(quality: np.ndarray, epsilon: float | None, sensitivity: float, rng: np.random.Generator | None,
                budget: ZCDPBudget) -> int:
    """Index drawn with probability proportional to ``exp(epsilon q / (2 sensitivity))`` (Gumbel-max with the
    secret ``rng``); the argmax when ``epsilon`` is None (no DP)."""
    q = np.asarray(quality, dtype=float)
    if epsilon is None:
        return int(np.argmax(q))
    budget.exponential(epsilon, q.size)
    scores = 0.5 * epsilon / sensitivity * (q - q.max())
    return int(np.argmax(scores + rng.gumbel(size=q.size)))


def marginals_of(model, cliques: list) -> dict[tuple[str, ...], np.ndarray]:
    """The model's marginals on ``cliques`` (flattened as ``mbi``'s datavectors), by contracting the exponentiated
    potentials with NumPy (the variable elimination ``mbi`` does with JAX, without compiling a program per query)."""
    import opt_einsum

    pots = model.potentials
    attrs = list(model.domain.attributes)
    sym = {a: opt_einsum.get_symbol(i) for i, a in enumerate(attrs)}
    factors, subs = [], []
    for cl in pots.cliques:
        f = np.asarray(pots[cl].values, dtype=np.float64)
        factors.append(np.exp(f - f.max()))
        subs.append("".join(sym[a] for a in pots[cl].domain.attributes))
    covered = set().union(*map(set, pots.cliques)) if pots.cliques else set()
    for a in attrs:
        if a not in covered:
            factors.append(np.ones(model.domain[a]))
            subs.append(sym[a])
    total = float(model.total)
    out = {}
    for cl in cliques:
        m = np.asarray(opt_einsum.contract(",".join(subs) + "->" + "".join(sym[a] for a in cl), *factors))
        out[tuple(cl)] = (m / m.sum() * total).ravel()
    return out


def estimate(domain, measurements: list, iters: int, warm_start=None):
    """mbi's mirror descent over the measurements (the total is its minimum-variance estimate from them)."""
    mbi = import_mbi()
    return mbi.estimation.MirrorDescent().estimate(domain, list(measurements), iters=int(iters),
                                                   warm_start=warm_start)


# ------------------------------------------------------------------------------------------------------------
# MST
# ------------------------------------------------------------------------------------------------------------
def _compress(data, log1: list) -> tuple[Any, list, dict[str, np.ndarray]]:
    """MST's domain compression: codes whose noisy one-way count is below 3 sigma merged into one."""
    mapping = {}
    out = []
    for m in log1:
        col = m.clique[0]
        sup = np.asarray(m.noisy_measurement) >= 3.0 * float(m.stddev)
        if sup.all():
            out.append(m)
            continue
        mp = np.full(sup.size, int(sup.sum()), dtype=np.int64)
        mp[sup] = np.arange(int(sup.sum()))
        mapping[col] = mp
        out.append(m.compress({col: mp}, data.domain))
    return (data.compress(mapping) if mapping else data), out, mapping


def _spanning_tree(data, log1: list, epsilon: float | None, rng, budget: ZCDPBudget, iters: int) -> list:
    """The tree's edges, each chosen by the exponential mechanism over the pairs that join two components."""
    from scipy.cluster.hierarchy import DisjointSet

    est = estimate(data.domain, log1, iters)
    cols = list(data.domain.attributes)
    pairs = list(itertools.combinations(cols, 2))
    fitted = marginals_of(est, pairs)
    err = {e: float(np.abs(np.asarray(data.project(e).datavector()) - fitted[e]).sum()) for e in pairs}
    ds = DisjointSet(cols)
    edges = []
    for _ in range(len(cols) - 1):
        cand = [e for e in pairs if not ds.connected(*e)]
        e = cand[exponential(np.array([err[c] for c in cand]), epsilon, 1.0, rng, budget)]
        ds.merge(*e)
        edges.append(e)
    return edges


def run_mst(data, budget: ZCDPBudget, rng: np.random.Generator | None, settings: Settings) -> Fitted:
    """MST on ``data`` (an ``mbi.Dataset`` of codes), spending ``budget.rho`` in three equal parts."""
    d = len(data.domain)
    dp = _dp(budget)
    say = settings.progress or (lambda _msg: None)
    rho = budget.rho
    sigma1 = math.sqrt(3.0 * d / (2.0 * rho)) if dp else None
    log1 = [measure(data, (c,), sigma1, rng, budget) for c in data.domain.attributes]
    data, log1, mapping = _compress(data, log1) if dp else (data, log1, {})
    say(f"MST: one-way marginals measured; selecting a spanning tree over {d} columns")
    eps = math.sqrt(8.0 * (rho / 3.0) / (d - 1)) if dp else None
    edges = _spanning_tree(data, log1, eps, rng, budget, settings.iters)
    sigma2 = math.sqrt(3.0 * (d - 1) / (2.0 * rho)) if dp else None
    log2 = [measure(data, e, sigma2, rng, budget) for e in edges]
    say("MST: tree measured; fitting the graphical model")
    model = estimate(data.domain, log1 + log2, settings.final_iters)
    return Fitted(model, log1 + log2, mapping)


# ------------------------------------------------------------------------------------------------------------
# AIM
# ------------------------------------------------------------------------------------------------------------
def workload_candidates(domain, max_cells: int) -> dict[tuple[str, ...], float]:
    """AIM's candidates for the all-pairs workload: the downward closure, each weighted by
    ``sum over workload cliques s of |r & s|``."""
    work = [cl for cl in itertools.combinations(domain.attributes, 2) if domain.size(cl) <= max_cells]
    closure = {(c,) for c in domain.attributes} | set(work)
    return {r: float(sum(len(set(r) & set(s)) for s in work)) or 1.0 for r in sorted(closure, key=len)}


def _filter(candidates: dict, model, size_limit: float) -> dict:
    """Candidates whose addition keeps the model within ``size_limit`` MB, or already inside it."""
    mbi = import_mbi()
    free = {frozenset(sub) for cl in model.cliques for r in range(1, len(cl) + 1)
            for sub in itertools.combinations(cl, r)}
    out = {}
    for cl, w in candidates.items():
        if frozenset(cl) in free or mbi.junction_tree.hypothetical_model_size(
                model.domain, list(model.cliques) + [cl]) <= size_limit:
            out[cl] = w
    return out


def _select(candidates: dict, answers: dict, model, epsilon, sigma, rng, budget) -> tuple[str, ...]:
    """The worst-approximated candidate by the exponential mechanism (AIM's quality and sensitivity)."""
    keys = list(candidates)
    fitted = marginals_of(model, keys)
    q = []
    for cl in keys:
        bias = math.sqrt(2.0 / math.pi) * (sigma or 0.0) * answers[cl].size
        q.append(candidates[cl] * (float(np.abs(answers[cl] - fitted[cl]).sum()) - bias))
    sens = max(abs(candidates[cl]) for cl in keys)
    return keys[exponential(np.array(q), epsilon, sens, rng, budget)]


def run_aim(data, budget: ZCDPBudget, rng: np.random.Generator | None, settings: Settings) -> Fitted:
    """AIM on ``data`` (an ``mbi.Dataset`` of codes) until ``budget.rho`` is spent (``T`` rounds without DP)."""
    dp, rho, say = _dp(budget), budget.rho, settings.progress or (lambda _msg: None)
    T = settings.rounds or 16 * len(data.domain)
    candidates = workload_candidates(data.domain, settings.max_cells)
    answers = {cl: np.asarray(data.project(cl).datavector(), dtype=float) for cl in candidates}
    sigma = math.sqrt(T / (2.0 * 0.9 * rho)) if dp else None
    eps = math.sqrt(8.0 * 0.1 * rho / T) if dp else None
    meas = [measure(data, cl, sigma, rng, budget) for cl in candidates if len(cl) == 1]
    model = estimate(data.domain, meas, settings.iters)
    t, last = 0, False
    while not last:
        t += 1
        if dp and budget.remaining < 2.0 * (0.5 / sigma ** 2 + eps ** 2 / 8.0):
            rest = budget.remaining
            sigma, eps, last = math.sqrt(1.0 / (2.0 * 0.9 * rest)), math.sqrt(8.0 * 0.1 * rest), True
        share = (budget.used + 0.5 / sigma ** 2 + eps ** 2 / 8.0) / rho if dp else t / T
        last = last or (not dp and t >= T)
        cl = _select(_filter(candidates, model, settings.max_model_size * share), answers, model, eps, sigma, rng,
                     budget)
        meas.append(measure(data, cl, sigma, rng, budget))
        z = marginals_of(model, [cl])[cl]
        model = estimate(data.domain, meas, settings.iters, warm_start=model)
        say(f"AIM round {t}: measured {' x '.join(cl)}" + (f" (sigma {sigma:.3g})" if dp else ""))
        w = marginals_of(model, [cl])[cl]
        if dp and not last and np.abs(w - z).sum() <= math.sqrt(2.0 / math.pi) * sigma * w.size:
            sigma, eps = sigma / 2.0, eps * 2.0
    model = estimate(data.domain, meas, settings.final_iters, warm_start=model)
    return Fitted(model, meas, {})


__all__ = ["Settings", "Fitted", "run_mst", "run_aim", "measure", "exponential", "estimate", "marginals_of",
           "workload_candidates",
           "import_mbi"]
