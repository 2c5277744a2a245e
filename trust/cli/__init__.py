"""The ``trust`` command line.

``trust --help`` lists the command groups; each capability owns one module here
(``data``, ``synth``, ``aggregate``, ``report``). A user mistake (a :class:`~trust.errors.TrustError`)
prints one line, ``error: <what> ; <fix>``, and exits with status 2, never a traceback; bugs keep
their traceback.

Start-up is kept light: the modules here import typer and the standard library only; pandas, torch,
scikit-learn and the rest load inside the command that needs them, after its paths and options are
checked, so that a usage error or a missing file answers at once (``benchmarks/cli_startup.py``).
"""

from __future__ import annotations

import signal
import sys
import warnings

import typer

from trust.errors import TrustError

app = typer.Typer(
    name="trust",
    help="Privacy-and-trust ML toolkit: private synthesis, aggregate learning, calibration, unlearning, noisy labels, model updates, compliance reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register() -> None:
    # Command modules import only typer and the standard library at the top (heavy imports live inside the
    # commands), so registering all of them keeps a usage error fast.
    from trust.cli import aggregate, calibrate, data, models, noisy, report, synth, unlearn, update, verify

    for module, name, text in (
        (data, "data", "Datasets: list, describe, split your CSV, draft its schema."),
        (synth, "synth", "Private tabular synthesis with CTAB-GAN+ and DP-SGD."),
        (aggregate, "aggregate", "Learning from aggregate bags, with label-DP responses."),
        (models, "models", "Neural classifiers: train, predict."),
        (calibrate, "calibrate", "Calibration: fit, apply, evaluate on saved logits."),
        (unlearn, "unlearn", "Machine unlearning: forget a class or rows of a saved model, with a certificate."),
        (noisy, "noisy", "Noisy labels on long-tailed data: fit RCAL, audit which labels look wrong."),
        (update, "update", "Model updates with new classes: margin-preserving training, negative flips."),
    ):
        app.add_typer(module.app, name=name, help=text)
    report.register(app)
    verify.register(app)


_register()


@app.callback()
def _root(mlflow: bool = typer.Option(False, "--mlflow", help="Also log each command that records evidence as an "
                                                            "MLflow run (experiment 'trust-cli'; the store of "
                                                            "MLFLOW_TRACKING_URI or ./mlflow.db). Same as "
                                                            "TRUST_MLFLOW=1.")) -> None:
    """Privacy-and-trust ML toolkit (see `trust COMMAND --help`)."""
    if mlflow:
        import os

        from trust.cli._common import MLFLOW_ENV

        os.environ[MLFLOW_ENV] = "1"

#: Warnings that say nothing actionable to a CLI user, silenced at the entry point only (library use keeps
#: them): Opacus's note on the RDP order grid, and numpy/pandas/scikit-learn floating-point RuntimeWarnings
#: (empty means, divide by zero) on columns the commands already check.
_QUIET_WARNINGS = (
    dict(message=r"Optimal order is the (largest|smallest) alpha", category=UserWarning),
    dict(category=RuntimeWarning, module=r"(numpy|pandas|sklearn|scipy)(\.|$)"),
)


def _one_line_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
    # A warning that reaches the user is one line, like an error: `warning: <message>`.
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)


def _sigterm(signum, frame):  # noqa: ARG001
    # The same clean exit as Ctrl-C: SystemExit unwinds through every `finally` that removes a temp file.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning user mistakes into one line and exit status 2.

    Usage errors (unknown option, missing argument, a value out of range) are one line as well, exit 2.
    SIGTERM exits like SIGINT, removing any temporary file of a write in progress.
    """
    try:
        old = signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:  # not the main thread
        old = None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            for spec in _QUIET_WARNINGS:
                warnings.filterwarnings("ignore", **spec)
            rc = app(args=argv, prog_name="trust", standalone_mode=False)
    except TrustError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as e:  # click's usage errors (typer's public base class)
        if type(e).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as click shows it
            e.show()
        else:  # one line, naming the option, and where the help is
            ctx = getattr(e, "ctx", None)
            where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            print(f"error: {' '.join(e.format_message().split())}{where}", file=sys.stderr)
        sys.exit(getattr(e, "exit_code", 2))
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
