"""trust: a privacy-and-trust ML toolkit with auditable pipelines.

The capability map. Every capability has one name across its package, CLI group (``trust NAME``), DVC stage
prefix and evidence kind, and one protocol, ``trust.<name>.protocol.run_<name>(inputs, *, settings...,
random_state=0, device="auto")``, returning a frozen result that saves itself, draws its plots and writes its
evidence (:class:`trust.evidence.Result`); its report section is ``trust/<name>/report_section.py``.

Capabilities:

- :mod:`trust.data`       datasets (tables and arrays), declared schemas and reviewed drafts, validation at the
                          boundary, seeded splits, keyed fingerprints and salts, atomic I/O; the ``prepare``
                          stage's protocol (:func:`trust.data.prepare.run_prepare`, evidence kind ``data``)
- :mod:`trust.synth`      CTAB-GAN+ trained with DP-SGD (private tabular synthesis); ``trust synth``
- :mod:`trust.aggregate`  learning from aggregate bags, with label-DP bag means; ``trust aggregate``
- :mod:`trust.calibrate`  calibration correction: baselines, the correctness-aware calibrator (and its
                          prior-corrected variant), a validation rule to choose one; ``trust calibrate``
- :mod:`trust.unlearn`    concept-based unlearning and label-agnostic forgetting, with a certificate against a
                          retrained model; ``trust unlearn``
- :mod:`trust.noisy`      RCAL for noisy labels on long-tailed data; ``trust noisy``
- :mod:`trust.update`     margin-preserving model updates and negative flips; ``trust update``

Shared floors, below every capability:

- :mod:`trust.models`     networks, the one training loop, ``NeuralClassifier``, views; ``trust models``
- :mod:`trust.privacy`    DP accountants, mechanisms, secret noise, DP-SGD pieces, the privacy ledger, audits
- :mod:`trust.metrics`    classifier metrics, labels first (accuracy, NLL, ECE variants, Brier)
- :mod:`trust.evidence`   the evidence records every capability returns and every stage writes

Around them:

- :mod:`trust.report`     policy gates, report sections, the compliance report (HTML, Markdown, JSON);
                          ``trust report``
- :mod:`trust.verify`     re-derives the report's verdict independently (signatures, epsilons, gates, lineage);
                          ``trust verify``
- :mod:`trust.cli`        the ``trust`` command line, one module per capability
- :mod:`trust.tracking`   MLflow runs of stages and commands
- :mod:`trust.errors`     ``TrustError`` and its subclasses (one line, exit status 2 on the command line)
"""

__version__ = "0.1.0"
