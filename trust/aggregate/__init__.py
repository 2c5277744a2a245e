"""Learning from aggregate bags: bag-level, instance-level and interpolating estimators, label-DP responses.

Javanmard et al., "Learning from Aggregate responses: Instance Level versus Bag Level Loss Functions"
(ICLR 2024). Rows are grouped into disjoint bags (:func:`make_bags`); only each bag's mean response is seen
(:func:`bag_means`), optionally released with label-DP (:func:`release_bag_means`, exact discrete Laplace on
integer bag sums); estimators learn an instance-level model from them (:class:`BagLevelRegressor`,
:class:`InstanceLevelRegressor`, :class:`InterpolatingRegressor`, and the classifiers on bag label proportions).

The capability map:

* :mod:`~trust.aggregate.protocol`: :func:`run_aggregate`, the one call the ``aggregate`` stage, ``trust aggregate
  fit|sweep`` and ``benchmarks/aggregate_king.py`` make; it returns an :class:`AggregateResult`
  (:mod:`~trust.aggregate.result`) that writes its evidence, plots and files; settings in
  :class:`AggregateSettings` (:mod:`~trust.aggregate.settings`);
* :mod:`~trust.aggregate.release`: :class:`BagRelease`, a release (bag means, model, ledger) in a folder of its own;
* :mod:`~trust.aggregate.bags`, :mod:`~trust.aggregate.losses`, :mod:`~trust.aggregate.estimators`,
  :mod:`~trust.aggregate.dp`, :mod:`~trust.aggregate.experiments`: the pieces;
* :mod:`~trust.aggregate.schema` and :mod:`~trust.aggregate.report_section`: the evidence's details and the
  report's "Aggregate learning" section.
"""

from trust.aggregate.bags import (STRATEGIES, bag_indices, bag_means, bag_sizes, check_bags, make_bags,
                                  split_bags, subset_bags)
from trust.aggregate.dp import (as_responses, clip_responses, laplace_scale, log_responses, noise_variance, release_bag_means,
                                warn_if_release_saturated)
from trust.aggregate.estimators import (DEFAULT_RHO_GRID, MODELS, BagLevelClassifier, BagLevelRegressor,
                                        InstanceLevelClassifier, InstanceLevelRegressor, InterpolatingClassifier,
                                        InterpolatingRegressor, choose_rho, fit_linear, linear_path, train_torch)
from trust.aggregate.losses import (LOSSES, bag_level_loss, instance_level_loss, interpolating_loss,
                                    within_bag_spread)
from trust.aggregate.protocol import AggregateResult, AggregateSettings, run_aggregate
from trust.aggregate.release import BagRelease

__all__ = [
    "STRATEGIES", "make_bags", "check_bags", "bag_sizes", "bag_indices", "bag_means", "split_bags", "subset_bags",
    "LOSSES", "bag_level_loss", "instance_level_loss", "within_bag_spread", "interpolating_loss",
    "DEFAULT_RHO_GRID", "MODELS", "linear_path", "fit_linear", "train_torch", "choose_rho",
    "InterpolatingRegressor", "BagLevelRegressor", "InstanceLevelRegressor",
    "InterpolatingClassifier", "BagLevelClassifier", "InstanceLevelClassifier",
    "as_responses", "clip_responses", "log_responses", "laplace_scale", "noise_variance", "release_bag_means",
    "warn_if_release_saturated", "run_aggregate", "AggregateResult", "AggregateSettings", "BagRelease",
]
