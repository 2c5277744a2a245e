"""The paper's experiments at our scale, as pure functions returning records (lists of dicts) and figures.

* :func:`synthetic_bias_variance` -- the paper's linear model (Gaussian features, linear response + noise,
  n proportional to d): bias^2, variance and risk of the bag-level, instance-level and interpolating
  estimators vs bag size, by Monte Carlo over fresh data, bags and noise.
* :func:`rho_comparison` -- a real regression (King: log price, standardised): test MSE of bag-level,
  instance-level and ``rho="auto"`` per bag size and seed (linear or MLP), plus the test MSE of every rho
  of the grid (the risk-vs-rho curve).
* :func:`dp_sweep` -- label-DP releases over bag size k and epsilon: test MSE per (epsilon, k, estimator),
  whose minimum over k is the optimal bag size k*(epsilon) (:func:`optimal_bag_sizes`).
* :func:`tabular_features` -- numeric design matrices from a :class:`~trust.data.TableSchema` (features only;
  feature statistics are not protected by label-DP, so they may come from the training features).

No file I/O here: the stage script and the benchmark write what these return.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from trust.aggregate.bags import bag_means, make_bags
from trust.aggregate.dp import release_bag_means, standardise_responses
from trust.aggregate.estimators import DEFAULT_RHO_GRID, InterpolatingRegressor, choose_rho, fit_linear, linear_path
from trust._validation import check_random_state, check_scalar
from trust.errors import DataError


# --------------------------------------------------------------------------------------------- features
def tabular_features(train, others: Sequence[Any] = (), schema=None, *, target: str | None = None,
                     max_levels: int = 100) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
    """Encode features for the estimators: continuous columns (``log1p`` when the schema says ``log``)
    standardised with the training features' mean/sd; categorical columns one-hot on the training levels
    (at most ``max_levels``; unseen levels are all-zero). Returns ``(X_train, [X_other...], names)``.
    """
    import pandas as pd

    target = target or (schema.target if schema is not None else None)
    cols = [c for c in train.columns if c != target]
    if not cols:
        raise DataError("the table has no feature columns besides the target")
    kinds = {}
    for c in cols:
        spec = schema.columns.get(c) if schema is not None else None
        if spec is not None:
            kinds[c] = (spec.kind, bool(spec.log))
        else:
            kinds[c] = ("continuous" if pd.api.types.is_numeric_dtype(train[c]) else "categorical", False)
    blocks_tr, blocks_o, names = [], [[] for _ in others], []
    for c in cols:
        kind, log = kinds[c]
        if kind == "categorical":
            levels = pd.Series(train[c]).astype(str).value_counts().index[:max_levels]
            for fr, out in [(train, blocks_tr)] + list(zip(others, blocks_o)):
                vals = pd.Series(fr[c]).astype(str).to_numpy()
                out.append((vals[:, None] == np.asarray(levels)[None, :]).astype(float))
            names += [f"{c}={v}" for v in levels]
        else:
            def enc(fr):
                v = pd.to_numeric(fr[c], errors="coerce").to_numpy(dtype=float)
                if np.isnan(v).any():
                    raise DataError(f"feature '{c}' has missing or non-numeric values; impute or drop them")
                return np.log1p(np.maximum(v, 0)) if log else v
            v_tr = enc(train)
            mu, sd = v_tr.mean(), v_tr.std() or 1.0
            blocks_tr.append(((v_tr - mu) / sd)[:, None])
            for fr, out in zip(others, blocks_o):
                out.append(((enc(fr) - mu) / sd)[:, None])
            names.append(c)
    return np.hstack(blocks_tr), [np.hstack(b) for b in blocks_o], names


def _mse(a, b) -> float:
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def _grid_mse(X_train, ids, yb, X_test, y_test, grid, seed, params) -> dict[float, float]:
    """Test MSE of the interpolating estimator fitted on all bags for each rho of ``grid``."""
    if params.get("model", "linear") == "linear":
        return {r: _mse(X_test @ t + b, y_test) for r, (t, b) in zip(grid, linear_path(X_train, ids, yb, grid))}
    return {r: _mse(InterpolatingRegressor(rho=r, random_state=seed, **params).fit(X_train, ids, yb).predict(X_test),
                    y_test) for r in grid}


# --------------------------------------------------------------------------------------------- synthetic
def synthetic_bias_variance(n: int = 400, d: int = 100, bag_sizes: Sequence[int] = (1, 2, 4, 8, 16),
                            rhos: Sequence[float] = (0.0, 0.1, 0.3, 1.0), noise_sd: float = 1.0,
                            signal: float = 1.0, n_reps: int = 30, random_state: int = 0) -> list[dict[str, Any]]:
    """Bias^2 / variance / risk of the linear interpolating estimator vs bag size (the paper's model).

    ``x ~ N(0, I_d)``, ``y = x'theta + noise``, ``||theta|| = signal``, ``noise ~ N(0, noise_sd^2)``, ``n``
    rows in random bags of size k. ``theta`` is fixed; each repetition draws fresh features, noise and bags.
    With ``Sigma = I`` the excess prediction risk is ``||theta_hat - theta||^2 = bias^2 + variance`` with
    ``bias^2 = ||E theta_hat - theta||^2`` and ``variance = E ||theta_hat - E theta_hat||^2`` (Monte Carlo over
    ``n_reps``; the bias estimate is corrected for the Monte Carlo error of the mean, ``- variance / n_reps``).
    One record per (k, rho) with keys ``k, rho, bias2, variance, risk``.
    """
    rng = check_random_state(random_state)
    theta = rng.normal(size=d)
    theta *= signal / np.linalg.norm(theta)
    out = []
    for k in bag_sizes:
        est = {r: [] for r in rhos}
        for rep in range(n_reps):
            X = rng.normal(size=(n, d))
            y = X @ theta + noise_sd * rng.normal(size=n)
            ids = make_bags(n, int(k), random_state=rng)
            yb = bag_means(y, ids)
            for r in rhos:
                est[r].append(fit_linear(X, ids, yb, float(r))[0])
        for r in rhos:
            T = np.array(est[r])
            mean = T.mean(axis=0)
            var = float(np.sum((T - mean) ** 2) / (len(T) - 1))  # unbiased
            # ||mean - theta||^2 overestimates bias^2 by var / reps: remove it (clamped at 0)
            bias2 = max(0.0, float(np.sum((mean - theta) ** 2)) - var / len(T))
            out.append({"k": int(k), "rho": float(r), "bias2": bias2, "variance": var, "risk": bias2 + var})
    return out


# --------------------------------------------------------------------------------------------- real data
def rho_comparison(X_train, y_train, X_test, y_test, bag_sizes: Sequence[int], seeds: Sequence[int], *,
                   model: str = "linear", rho_grid: Sequence[float] = DEFAULT_RHO_GRID, val_fraction: float = 0.2,
                   n_folds: int = 1, progress: bool = False, **model_params: Any) -> list[dict[str, Any]]:
    """Test MSE of bag-level (rho = 0), instance-level (rho = 1) and ``rho = "auto"`` per bag size and seed.

    For each seed and k: random bags of the training rows (seeded), bag means of ``y_train``; rho chosen from
    ``rho_grid`` on held-out bags (:func:`choose_rho`, validation bag-level loss) and refitted on all bags; the three
    estimators are scored by instance-level MSE on ``(X_test, y_test)``. Also scores every rho of the grid
    fitted on all bags (the risk-vs-rho curve; ``estimator = "rho=<value>"``). Records: ``k, seed,
    estimator, rho, test_mse``.
    """
    grid = sorted({float(r) for r in rho_grid} | {0.0, 1.0})
    out = []
    combos = [(k, s) for k in bag_sizes for s in seeds]
    if progress:
        from tqdm.auto import tqdm

        combos = tqdm(combos, desc=f"aggregate rho comparison ({model})", unit="fit", disable=None)
    for k, seed in combos:
        ids = make_bags(len(X_train), int(k), random_state=seed)
        yb = bag_means(y_train, ids)
        params = dict(model=model, **model_params)
        mse = _grid_mse(X_train, ids, yb, X_test, y_test, grid, seed, params)
        best, scores = choose_rho(X_train, ids, yb, rho_grid, val_fraction=val_fraction, n_folds=n_folds,
                                  random_state=seed, **params)
        for r in grid:
            out.append({"k": int(k), "seed": int(seed), "estimator": f"rho={r:g}", "rho": r, "test_mse": mse[r]})
        out.append({"k": int(k), "seed": int(seed), "estimator": "bag", "rho": 0.0, "test_mse": mse[0.0]})
        out.append({"k": int(k), "seed": int(seed), "estimator": "instance", "rho": 1.0, "test_mse": mse[1.0]})
        out.append({"k": int(k), "seed": int(seed), "estimator": "auto", "rho": best, "test_mse": mse[best]})
    return out


def dp_sweep(X_train, y_train, X_test, y_test, epsilons: Sequence[float], bag_sizes: Sequence[int],
             seeds: Sequence[int], *, clip: float, center: float = 0.0, scale: float = 1.0, model: str = "linear",
             rho_grid: Sequence[float] = DEFAULT_RHO_GRID, val_fraction: float = 0.2, n_folds: int = 1,
             oracle: bool = True, dataset: str = "", progress: bool = False,
             insecure_noise_seed: int | None = None, **model_params: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """Label-DP bag means over (epsilon, k, seed); estimators trained on the release, scored on the test set.

    ``y_train``/``y_test`` are in original units; the release standardises with the declared ``center``/
    ``scale`` and clips to ``[-clip, clip]``; test MSE is measured in the same standardised units against the
    *unclipped* test responses. Estimators: ``bag`` (rho = 0), ``instance`` (rho = 1) and ``auto`` (rho chosen on
    held-out noisy bags; post-processing) and, with ``oracle=True``, ``oracle``: the best rho of the grid *by test
    MSE* (not deployable: it peeks at test labels; it traces the envelope of the interpolating family, the curve
    the paper's risk-optimal rho describes), plus one record per rho of the grid (``estimator = "rho=<value>"``).
    Returns ``(records, ledger entries)``; records: ``epsilon, k, seed,
    estimator, rho, test_mse``; one ledger entry per release (each a separate release of the same labels:
    the sweep's entries compose sequentially if all were published; the stage reports that total).
    ``insecure_noise_seed`` (tests only) seeds release ``i``'s noise with ``insecure_noise_seed + i``.
    """
    z_test = standardise_responses(y_test, center=center, scale=scale)
    out, ledger = [], []
    combos = [(e, k, s) for e in epsilons for k in bag_sizes for s in seeds]
    if progress:
        from tqdm.auto import tqdm

        combos = tqdm(combos, desc="aggregate DP sweep", unit="release", disable=None)
    params = dict(model=model, **model_params)
    for i, (eps, k, seed) in enumerate(combos):
        check_scalar(eps, "epsilon", float, min_val=0.0, include_boundaries="neither")
        ids = make_bags(len(X_train), int(k), random_state=seed)
        noisy, entry = release_bag_means(y_train, ids, eps, clip, center=center, scale=scale,
                                         release=f"aggregate/dp-sweep/eps{eps:g}/k{int(k)}/seed{int(seed)}",
                                         dataset=dataset, insecure_noise_seed=(None if insecure_noise_seed is None
                                                                               else insecure_noise_seed + i))
        ledger.append(entry)
        fits = {"bag": 0.0, "instance": 1.0}
        best, _ = choose_rho(X_train, ids, noisy, rho_grid, val_fraction=val_fraction, n_folds=n_folds,
                             random_state=seed, **params)
        fits["auto"] = best
        rhos = sorted(set(fits.values()) | (set(float(r) for r in rho_grid) if oracle else set()))
        cache = _grid_mse(X_train, ids, noisy, X_test, z_test, rhos, seed, params)
        if oracle:
            fits["oracle"] = min(rhos, key=lambda r: (cache[r], r))
            fits.update({f"rho={r:g}": r for r in rhos})
        for name, r in fits.items():
            out.append({"epsilon": float(eps), "k": int(k), "seed": int(seed), "estimator": name, "rho": float(r),
                        "test_mse": cache[r]})
    return out, ledger


# --------------------------------------------------------------------------------------------- summaries and plots
def summarise(records: Iterable[dict[str, Any]], by: Sequence[str], value: str = "test_mse") -> list[dict[str, Any]]:
    """Mean and standard error of ``value`` over the records sharing the keys ``by``."""
    groups: dict[tuple, list[float]] = {}
    for r in records:
        groups.setdefault(tuple(r[b] for b in by), []).append(float(r[value]))
    out = []
    for key, vals in groups.items():
        v = np.asarray(vals)
        se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
        out.append({**dict(zip(by, key)), "mean": float(v.mean()), "se": se, "count": len(v)})
    return out


def optimal_bag_sizes(records: Iterable[dict[str, Any]], estimator: str = "auto") -> dict[float, dict[str, Any]]:
    """Per epsilon: the bag size with the lowest mean test MSE (``k_star``), whether it is interior (neither
    the smallest nor the largest k swept), and the mean MSE per k."""
    summ = [s for s in summarise(records, ("epsilon", "k", "estimator")) if s["estimator"] == estimator]
    out = {}
    for eps in sorted({s["epsilon"] for s in summ}):
        row = sorted((s for s in summ if s["epsilon"] == eps), key=lambda s: s["k"])
        ks = [s["k"] for s in row]
        best = min(row, key=lambda s: s["mean"])
        out[eps] = {"k_star": best["k"], "mse_at_k_star": best["mean"],
                    "interior": ks[0] < best["k"] < ks[-1], "mse_by_k": {s["k"]: s["mean"] for s in row}}
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _k_panel(ax, title: str) -> None:
    """A panel over bag sizes: log-2 x axis, log y axis, grid."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("bag size k")
    ax.set_title(title)
    ax.grid(alpha=0.3)


def _finish(fig, legend_ax, title: str, legend_size: int):
    legend_ax.legend(fontsize=legend_size)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_risk_vs_k(records: Iterable[dict[str, Any]], *, group: str = "epsilon", title: str = ""):
    """Test MSE vs bag size (log axis), one line per ``group`` value and estimator (mean +- s.e. over seeds)."""
    plt = _pyplot()
    records = list(records)
    summ = summarise(records, (group, "estimator", "k"))
    ests = [e for e in ("bag", "instance", "auto", "oracle") if any(s["estimator"] == e for s in summ)]
    fig, axes = plt.subplots(1, len(ests), figsize=(4.2 * len(ests), 3.6), sharey=True, squeeze=False)
    for ax, est in zip(axes[0], ests):
        for g in sorted({s[group] for s in summ}):
            row = sorted((s for s in summ if s[group] == g and s["estimator"] == est), key=lambda s: s["k"])
            ks = [s["k"] for s in row]
            ax.errorbar(ks, [s["mean"] for s in row], yerr=[s["se"] for s in row], marker="o", ms=3, capsize=2,
                        label=f"{group} = {g:g}" if isinstance(g, (int, float)) else str(g))
        _k_panel(ax, {"bag": "bag-level (rho=0)", "instance": "instance-level (rho=1)",
                      "auto": "interpolating (rho chosen on bags)",
                      "oracle": "best rho of the grid (by test MSE)"}[est])
    axes[0][0].set_ylabel("test MSE (standardised)")
    return _finish(fig, axes[0][-1], title, legend_size=8)


def plot_risk_vs_k_per_rho(records: Iterable[dict[str, Any]], *, title: str = ""):
    """DP sweep: test MSE vs bag size, one panel per epsilon, one line per rho of the grid (``rho=`` records)."""
    plt = _pyplot()
    recs = [r for r in records if str(r["estimator"]).startswith("rho=")]
    summ = summarise(recs, ("epsilon", "rho", "k"))
    eps_list = sorted({s["epsilon"] for s in summ})
    fig, axes = plt.subplots(1, len(eps_list), figsize=(4.2 * len(eps_list), 3.6), sharey=True, squeeze=False)
    for ax, e in zip(axes[0], eps_list):
        for r in sorted({s["rho"] for s in summ}):
            row = sorted((s for s in summ if s["epsilon"] == e and s["rho"] == r), key=lambda s: s["k"])
            ax.plot([s["k"] for s in row], [s["mean"] for s in row], marker="o", ms=3, label=f"rho = {r:g}")
        _k_panel(ax, f"epsilon = {e:g}")
    axes[0][0].set_ylabel("test MSE (standardised)")
    return _finish(fig, axes[0][-1], title, legend_size=7)


def plot_risk_vs_rho(records: Iterable[dict[str, Any]], *, title: str = ""):
    """Test MSE vs rho (symlog axis), one line per bag size, from :func:`rho_comparison`'s ``rho=`` records."""
    plt = _pyplot()
    recs = [r for r in records if str(r["estimator"]).startswith("rho=")]
    summ = summarise(recs, ("k", "rho"))
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    for k in sorted({s["k"] for s in summ}):
        row = sorted((s for s in summ if s["k"] == k), key=lambda s: s["rho"])
        ax.errorbar([s["rho"] for s in row], [s["mean"] for s in row], yerr=[s["se"] for s in row], marker="o",
                    ms=3, capsize=2, label=f"k = {k}")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_yscale("log")
    ax.set_xlabel("rho (0 = bag-level, 1 = instance-level)")
    ax.set_ylabel("test MSE (standardised)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "test risk vs rho")
    fig.tight_layout()
    return fig


def plot_bias_variance(records: Iterable[dict[str, Any]], *, title: str = ""):
    """Bias^2, variance and risk vs bag size, one line per rho (from :func:`synthetic_bias_variance`)."""
    plt = _pyplot()
    records = list(records)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    for ax, key in zip(axes, ("bias2", "variance", "risk")):
        for r in sorted({x["rho"] for x in records}):
            row = sorted((x for x in records if x["rho"] == r), key=lambda x: x["k"])
            ax.plot([x["k"] for x in row], [max(x[key], 1e-6) for x in row], marker="o", ms=3, label=f"rho = {r:g}")
        _k_panel(ax, {"bias2": "bias^2", "variance": "variance", "risk": "risk = bias^2 + variance"}[key])
    return _finish(fig, axes[0], title, legend_size=8)


__all__ = ["tabular_features", "synthetic_bias_variance", "rho_comparison", "dp_sweep", "summarise",
           "optimal_bag_sizes", "plot_risk_vs_k", "plot_risk_vs_k_per_rho", "plot_risk_vs_rho", "plot_bias_variance"]
