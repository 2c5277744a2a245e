"""The aggregate-learning protocol: one call that the stage, the CLI and the benchmarks share.

:func:`run_aggregate` takes a training table (features and a numeric response per row), optionally a test table,
and settings (:class:`~trust.aggregate.settings.AggregateSettings`), and runs what the settings ask for, at our
scale, from Javanmard et al. (ICLR 2024):

1. ``synthetic``: the paper's linear model, bias^2 / variance / risk of the estimators vs bag size;
2. the comparison on *exact* bag means (not DP): test MSE of bag-level, instance-level and rho chosen on held-out
   bags, per bag size and seed (linear; optionally an MLP), and the risk-vs-rho curve;
3. ``dp`` sweep: simulated label-DP releases over epsilon x bag size (the optimal bag size k*(epsilon)), scored
   on the test rows, on ``dp.sweep_rows`` rows **disjoint** from the deployed release's rows (so choosing k
   costs the release nothing);
4. ``dp.release_*``: one deployed release of bag means (label-DP with ``release_epsilon``; exact without) on the
   remaining rows and a model trained on it (:class:`~trust.aggregate.release.BagRelease`), scored on the test
   rows only when ``release.score_test`` (a statistic of private labels: audit trail, a non-DP use). It runs
   when ``dp.release_bag_size`` is set or ``release.bag_key`` names key columns (keyed bags; without a bag size
   one bag per key value).

It returns an :class:`~trust.aggregate.result.AggregateResult` (figures, the release, the fitted model) that
writes its evidence, plots and files. Privacy: everything but the release is computed on private labels without
DP and belongs to the audit trail (the result lists it in ``non_dp``). A label that cannot be used (missing,
not a number, not positive under the log) counts as the centre and a huge one is clipped or capped
(:mod:`trust.aggregate.dp`): no error depends on a label's value. Errors name the setting and the fix and are
raised before any label is read; the privacy budget (``max_epsilon``) is checked before too.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(size=400)}).assign(y=lambda d: 2 * d.x + rng.normal(size=400))
>>> result = run_aggregate(df.iloc[:300], df.iloc[300:], target="y", random_state=0, settings={
...     "clip": 3.0, "scale": 2.0, "bag_sizes": [4], "dp": {"release_epsilon": 1.0, "release_bag_size": 10}})
>>> result.release.entry.epsilon, len(result.release.means)
(1.0, 30)
>>> result.to_evidence({"max_aggregate_mse_ratio": 1.01}).checks[0].policy_key
'max_aggregate_mse_ratio'
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from trust._validation import check_scalar
from trust.aggregate.bags import bag_means, make_bags
from trust.aggregate.dp import as_responses, release_bag_means, standardise_responses
from trust.aggregate.estimators import InterpolatingRegressor, choose_rho, mean_baseline_loss
from trust.aggregate.experiments import dp_sweep, rho_comparison, synthetic_bias_variance, tabular_features
from trust.aggregate.release import BagRelease
from trust.aggregate.result import AggregateResult
from trust.aggregate.settings import AggregateSettings
from trust.errors import ConfigError, DataError

#: the bags of the sweep split and of the release: the seed stream of the stage since issue 4 (kept, so the
#: seeded figures reproduce)
_SPLIT_STREAM = 11


def _check_inputs(train, test, schema, target: str | None, s: AggregateSettings) -> str:
    """The target's name; ConfigError/DataError for settings that cannot run on these tables (no label is read)."""
    if schema is not None and getattr(schema, "problem_type", None) == "classification":
        raise DataError(f"the table is a {schema.problem_type} task; learning from bag means here needs a numeric "
                        "(regression) target, e.g. the bundled king")
    target = target or (schema.target if schema is not None else None)
    if target is None or target not in train.columns:
        raise DataError(f"the target column {target!r} is not in the training table; pass target=<column>")
    n = len(train)
    needs_test = bool(s.bag_sizes or s.dp.epsilons or (s.mlp.enabled and s.mlp.bag_sizes))
    if needs_test and (test is None or len(test) == 0):
        raise ConfigError("the comparison and the DP sweep are scored on test rows; pass a test table")
    if (s.dp.epsilons or s.dp.release_epsilon is not None) and s.clip is None:
        raise ConfigError("a label-DP release needs the clip bound: set 'clip' (C > 0, standardised units)")
    if s.dp.epsilons and not s.dp.bag_sizes:
        raise ConfigError("aggregate setting 'dp.bag_sizes' is empty; give the bag sizes the sweep compares")
    deploy = s.dp.release_bag_size if s.dp.release_bag_size is not None else (1 if s.release.bag_key else None)
    sweep_n = n if s.dp.sweep_rows is None else s.dp.sweep_rows
    if deploy is not None and s.dp.epsilons and s.dp.sweep_rows is None:
        raise ConfigError("set 'dp.sweep_rows': the sweep must run on rows disjoint from the deployed release's")
    if deploy is not None and s.dp.epsilons and sweep_n >= n - deploy:
        raise DataError(f"dp.sweep_rows = {sweep_n} leaves no rows of the {n} for the deployed release (the sweep "
                        "runs on a disjoint split); lower it")
    for what, sizes, rows in (("bag_sizes", s.bag_sizes, n), ("mlp.bag_sizes", s.mlp.bag_sizes * s.mlp.enabled, n),
                              ("dp.bag_sizes", s.dp.bag_sizes, sweep_n), ("dp.release_bag_size", (deploy or 1,), n)):
        if any(k > rows for k in sizes):
            raise DataError(f"{what} has a bag size {max(sizes)} larger than the {rows} rows it bags; lower it")
    for key in s.release.bag_key:
        if key not in train.columns:
            raise DataError(f"bag key column '{key}' is not in the training table; choose one of "
                            f"{list(train.columns)[:20]}")
    return target


def _comparison(X, z, Xte, zte, s: AggregateSettings, device: str, progress: bool) -> list[dict[str, Any]]:
    """Records of the comparison on exact bag means, each with its ``model``."""
    out = []
    if s.bag_sizes:
        rec = rho_comparison(X, z, Xte, zte, s.bag_sizes, s.seeds, rho_grid=s.rho_grid, val_fraction=s.val_fraction,
                             n_folds=s.n_folds, progress=progress)
        out += [{**r, "model": "linear"} for r in rec]
    if s.mlp.enabled and s.mlp.bag_sizes:
        m = s.mlp
        rec = rho_comparison(X, z, Xte, zte, m.bag_sizes, m.seeds, model="mlp", rho_grid=m.rho_grid,
                             val_fraction=s.val_fraction, n_folds=m.n_folds, hidden=m.hidden, epochs=m.epochs,
                             device=device, progress=progress)
        out += [{**r, "model": "mlp"} for r in rec]
    return out


def sweep_split(n: int, sweep_rows: int | None, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(sweep rows, release rows)`` of ``n`` training rows: a seeded split into ``sweep_rows`` rows and the
    rest (disjoint), or all rows for both when ``sweep_rows`` is None."""
    rows = np.arange(n)
    if sweep_rows is None:
        return rows, rows
    perm = np.random.default_rng([random_state, _SPLIT_STREAM]).permutation(n)
    return np.sort(perm[:sweep_rows]), np.sort(perm[sweep_rows:])


def _deploy(train, X, y, s: AggregateSettings, *, dataset: str, random_state: int, device: str,
            insecure_noise_seed: int | None, progress: bool) -> BagRelease:
    """The deployed release (label-DP bag means, or exact ones without ``release_epsilon``) and its model."""
    r, eps = s.release, s.dp.release_epsilon
    n = len(X)
    if r.bag_key:
        ids = make_bags(n, s.dp.release_bag_size, "feature_keyed", keys=train[list(r.bag_key)],
                        drop_last=not r.keep_last, random_state=random_state)
    else:
        ids = make_bags(n, s.dp.release_bag_size, drop_last=not r.keep_last, random_state=random_state)
    entry = None
    if eps is not None:
        means, entry = release_bag_means(y, ids, eps, s.clip, center=s.center, scale=s.scale,
                                         release=f"aggregate/{dataset or 'data'}/bag-means", dataset=dataset,
                                         insecure_noise_seed=insecure_noise_seed)
    else:
        means = bag_means(standardise_responses(y, center=s.center, scale=s.scale), ids)
    est = InterpolatingRegressor(rho=r.rho, model=r.model, rho_grid=s.rho_grid, val_fraction=s.val_fraction,
                                 n_folds=s.n_folds, hidden=r.hidden, epochs=r.epochs, random_state=random_state,
                                 progress=progress and r.model == "mlp", device=device).fit(X, ids, means)
    public = {"epsilon": eps, "clip": s.clip, "center": s.center, "scale": s.scale, "log_target": s.log_target,
              "units": "standardised response (y - center) / scale" + (" of log(target)" if s.log_target else ""),
              "rows_dropped": int((ids < 0).sum()), **_heldout(X, ids, means, est, s, random_state)}
    return BagRelease(means, np.bincount(ids[ids >= 0]), est, entry, public)


def _heldout(X, ids, means, est, s: AggregateSettings, random_state: int) -> dict[str, float]:
    """The model's held-out bag-level loss beside predicting the mean, on the bag splits rho was chosen on: a
    figure and its baseline read off the released bag means only (post-processing), so printable under DP."""
    scores = est.rho_scores_
    if scores is None and est.model == "linear":  # a fixed rho: score it on the same splits
        _, scores = choose_rho(X, ids, means, [est.rho_], val_fraction=s.val_fraction, n_folds=s.n_folds,
                               random_state=random_state)
    if scores is None or len(means) < 2:
        return {}
    base = mean_baseline_loss(ids, means, val_fraction=s.val_fraction, n_folds=s.n_folds, random_state=random_state)
    return {"heldout_bag_loss": float(scores[est.rho_]), "heldout_bag_loss_of_mean": base}


def run_aggregate(train, test=None, schema=None, *, target: str | None = None,
                  settings: AggregateSettings | Mapping[str, Any] | None = None, dataset: str = "",
                  random_state: int = 0, device: str = "auto", max_epsilon: float | None = None,
                  location: str = "", progress: bool = False,
                  insecure_noise_seed: int | None = None) -> AggregateResult:
    """Run the aggregate-learning protocol (module docstring) and return its result.

    Args:
        train, test: pandas tables of features and the response (``test`` scores the comparison, the sweep and,
            with ``release.score_test``, the deployed model; None when none of those runs).
        schema: an optional :class:`~trust.data.TableSchema` (column kinds, the target; a regression task).
        target: the response column (default: the schema's target).
        settings: :class:`~trust.aggregate.settings.AggregateSettings` or a mapping of them (checked).
        dataset: the dataset's name in the ledger and the evidence.
        random_state: seed of the synthetic model, the sweep/release split, the release's bags and its model
            (the comparison and the sweep use their own ``seeds``); never of DP noise.
        device: where an MLP trains (``"auto"``, ``"cpu"``, ``"cuda"``).
        max_epsilon: the dataset's privacy budget; a release above it is refused before any label is read.
        location: where the caller will save the result (``outputs/aggregate``, a CLI ``--out``), as its
            evidence names the files.
        progress: tqdm bars on stderr (off when stderr is not a terminal).
        insecure_noise_seed: FOR TESTS ONLY: reproducible DP noise (the ledger then says it is not a guarantee).
    """
    s = settings if isinstance(settings, AggregateSettings) else AggregateSettings.from_mapping(settings)
    check_scalar(random_state, "random_state", int, min_val=0)
    target = _check_inputs(train, test, schema, target, s)
    if max_epsilon is not None and s.dp.release_epsilon is not None:
        from trust.privacy import PrivacyLedger

        PrivacyLedger().check_budget(dataset, s.dp.release_epsilon, max_epsilon=max_epsilon)
    X, others, names = tabular_features(train, [] if test is None else [test], schema, target=target)
    y = as_responses(train[target], log=s.log_target)
    yte = None if test is None else as_responses(test[target], log=s.log_target)
    z = standardise_responses(y, center=s.center, scale=s.scale)
    zte = None if yte is None else standardise_responses(yte, center=s.center, scale=s.scale)
    Xte = others[0] if others else None
    syn = s.synthetic
    synthetic = (synthetic_bias_variance(syn.n, syn.d, syn.bag_sizes, syn.rhos, n_reps=syn.reps,
                                         random_state=random_state) if syn.bag_sizes else [])
    comparison = _comparison(X, z, Xte, zte, s, device, progress)
    sweep_rows, release_rows = sweep_split(len(X), s.dp.sweep_rows if s.dp.epsilons else None, random_state)
    sweep, sweep_ledger = [], []
    if s.dp.epsilons:
        sweep, sweep_ledger = dp_sweep(X[sweep_rows], y[sweep_rows], Xte, yte, s.dp.epsilons, s.dp.bag_sizes,
                                       s.dp.seeds, clip=s.clip, center=s.center, scale=s.scale, rho_grid=s.rho_grid,
                                       val_fraction=s.val_fraction, n_folds=s.n_folds,
                                       dataset=f"{dataset}/sweep-split" if s.dp.release_bag_size else dataset,
                                       insecure_noise_seed=insecure_noise_seed, progress=progress)
    release, scores = None, None
    if s.dp.release_bag_size is not None or s.release.bag_key:
        release = _deploy(train.iloc[release_rows], X[release_rows], y[release_rows], s, dataset=dataset,
                               random_state=random_state, device=device, insecure_noise_seed=insecure_noise_seed,
                               progress=progress)
        if s.release.score_test and Xte is not None and len(Xte):
            const = float(np.average(release.means, weights=release.sizes))
            scores = {"test_rows": int(len(Xte)), "test_mse": float(np.mean((release.model.predict(Xte) - zte) ** 2)),
                      "test_mse_of_constant": float(np.mean((zte - const) ** 2))}
    rows = {"train": len(X), "test": 0 if Xte is None else len(Xte), "features": len(names),
            "sweep": int(len(sweep_rows)) if sweep else 0, "release": int(len(release_rows)) if release else 0}
    return AggregateResult(settings=s, dataset=dataset, target=target, random_state=random_state, rows=rows,
                           synthetic=tuple(synthetic), comparison=tuple(comparison), sweep=tuple(sweep),
                           sweep_ledger=tuple(sweep_ledger), release=release, release_scores=scores,
                           location=location)


__all__ = ["run_aggregate", "sweep_split", "AggregateResult", "AggregateSettings"]
