"""trust: a privacy-and-trust ML toolkit with auditable pipelines.

Capabilities live in subpackages, each a faithful implementation of a published method:

- :mod:`trust.data`       bundled datasets, table schemas, validation, seeded splits, content hashes
- :mod:`trust.privacy`    DP accountants and mechanisms, the privacy ledger, privacy audits
- :mod:`trust.synth`      CTAB-GAN+ trained with DP-SGD
- :mod:`trust.aggregate`  learning from aggregate bags, with label-DP responses
- :mod:`trust.report`     evidence schema, policy gates and the compliance report
"""

__version__ = "0.1.0"
