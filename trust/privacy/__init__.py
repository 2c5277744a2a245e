"""Differential privacy: accountants (Opacus RDP/PRV), mechanisms, secret noise, the privacy ledger, audits.

DP-SGD pieces (imports torch) are in :mod:`trust.privacy.dpsgd`."""

from trust.privacy.accountants import ACCOUNTANTS, epsilon_for, make_accountant, noise_for_epsilon
from trust.privacy.ledger import LedgerEntry, PrivacyLedger
from trust.privacy.mechanisms import (discrete_laplace_mechanism, gaussian_mechanism, gaussian_sigma,
                                      laplace_mechanism)
from trust.privacy.noise import NoiseSource, noise_source

__all__ = ["ACCOUNTANTS", "epsilon_for", "make_accountant", "noise_for_epsilon", "LedgerEntry", "PrivacyLedger",
           "gaussian_mechanism", "gaussian_sigma", "laplace_mechanism", "discrete_laplace_mechanism", "NoiseSource",
           "noise_source"]
