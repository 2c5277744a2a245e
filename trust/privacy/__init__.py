"""Differential privacy: accountants (Opacus RDP/PRV), mechanisms, the privacy ledger, audits."""

from trust.privacy.accountants import ACCOUNTANTS, epsilon_for, make_accountant, noise_for_epsilon
from trust.privacy.ledger import LedgerEntry, PrivacyLedger
from trust.privacy.mechanisms import gaussian_mechanism, gaussian_sigma, laplace_mechanism

__all__ = ["ACCOUNTANTS", "epsilon_for", "make_accountant", "noise_for_epsilon", "LedgerEntry", "PrivacyLedger",
           "gaussian_mechanism", "gaussian_sigma", "laplace_mechanism"]
