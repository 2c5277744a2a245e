"""The ``trust`` command line.

``trust --help`` lists the command groups; each capability owns one module here
(``data``, ``synth``, ``aggregate``, ``report``). A user mistake (a :class:`~trust.errors.TrustError`)
prints one line, ``error: <what> ; <fix>``, and exits with status 2, never a traceback; bugs keep
their traceback.
"""

from __future__ import annotations

import sys

import typer

from trust.errors import TrustError

app = typer.Typer(
    name="trust",
    help="Privacy-and-trust ML toolkit: private synthesis, aggregate learning, compliance reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from trust.cli import aggregate, data, report, synth

    app.add_typer(data.app, name="data", help="Bundled datasets: list and describe, or describe your CSV.")
    app.add_typer(synth.app, name="synth", help="Private tabular synthesis with CTAB-GAN+ and DP-SGD.")
    app.add_typer(aggregate.app, name="aggregate", help="Learning from aggregate bags, with label-DP responses.")
    app.add_typer(__import__("trust.cli.models", fromlist=["app"]).app, name="models", help="Neural classifiers: train, predict.")
    report.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning user mistakes into one line and exit status 2.

    Usage errors (unknown option, missing argument) are click's, which also exit 2.
    """
    try:
        app(args=argv, prog_name="trust")
    except TrustError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
