"""`trust unlearn` commands: remove a class's (or some rows') influence from a saved model, with a certificate.

Each command writes the unlearned model (a NeuralClassifier folder) and can write evidence of kind
``unlearning`` whose certificate (:mod:`trust.unlearn.report_section`) compares it with a model retrained
from scratch without the forgotten data.
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
