"""The marginal engine: AIM and MST (McKenna et al.) over ``mbi``'s graphical models, beside CTAB-GAN+.

>>> from trust.synth.marginal import MarginalSynthesizer
>>> model = MarginalSynthesizer("aim", epsilon=1.0, delta=1e-5, random_state=0).fit(df, schema)  # doctest: +SKIP
>>> synthetic = model.sample()                                                                 # doctest: +SKIP

:mod:`.domain` discretises a table from its declared schema, :mod:`.accounting` is the zCDP accountant and
the ledger entry, :mod:`.mechanisms` the selection and measurement loops, :mod:`.model` the estimator.
"""

from __future__ import annotations

from trust.synth.marginal.accounting import ZCDPBudget, zcdp_epsilon, zcdp_rho
from trust.synth.marginal.domain import ColumnBins, Discretizer
from trust.synth.marginal.model import MECHANISMS, MODEL_KIND, MarginalSynthesizer

__all__ = ["MarginalSynthesizer", "MECHANISMS", "MODEL_KIND", "Discretizer", "ColumnBins", "ZCDPBudget",
           "zcdp_epsilon", "zcdp_rho"]
