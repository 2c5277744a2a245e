"""Learning from aggregate bags: bag-level, instance-level and interpolating estimators, label-DP responses.

Javanmard et al., "Learning from Aggregate responses: Instance Level versus Bag Level Loss Functions"
(ICLR 2024). Rows are grouped into disjoint bags (:func:`make_bags`); only each bag's mean response is seen
(:func:`bag_means`), optionally released with label-DP (:func:`release_bag_means`); estimators learn an
instance-level model from them (:class:`BagLevelRegressor`, :class:`InstanceLevelRegressor`,
:class:`InterpolatingRegressor`, and the classifiers on bag label proportions).
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

__all__ = [
    "STRATEGIES", "make_bags", "check_bags", "bag_sizes", "bag_indices", "bag_means", "split_bags", "subset_bags",
    "LOSSES", "bag_level_loss", "instance_level_loss", "within_bag_spread", "interpolating_loss",
    "DEFAULT_RHO_GRID", "MODELS", "linear_path", "fit_linear", "train_torch", "choose_rho",
    "InterpolatingRegressor", "BagLevelRegressor", "InstanceLevelRegressor",
    "InterpolatingClassifier", "BagLevelClassifier", "InstanceLevelClassifier",
    "as_responses", "clip_responses", "log_responses", "laplace_scale", "noise_variance", "release_bag_means",
    "warn_if_release_saturated",
]
