"""Learning from aggregate bags: bag-level, instance-level and interpolating estimators, label-DP responses."""
