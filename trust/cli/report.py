"""`trust report`: render the compliance report from the evidence files."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the root app."""

    @app.command("report")
    def report(
        strict: bool = typer.Option(False, "--strict", help="Exit 1 when any policy gate fails or none was evaluated."),
        root: Path = typer.Option(None, "--root", help="Project folder (default: the git work tree here).",
                                  file_okay=False),
        out: Path = typer.Option(None, "--out", help="Folder for the reports (default: <root>/reports).",
                                 file_okay=False),
    ) -> None:
        """Render reports/compliance.{html,json,md} from evidence/*.json, gated against params.yaml 'policy:'.

        Exit status: 0 when rendered (even with failing gates, unless --strict); 1 with --strict when a policy gate fails or no policy gate was evaluated; 2 when there is no evidence or bad evidence.
        """
        from trust.report.model import failed_gates
        from trust.report.project import build_project_report, write_reports
        from trust.tracking import repo_root

        root = Path(root) if root is not None else repo_root()
        model = build_project_report(root)
        paths = write_reports(model, out if out is not None else root / "reports", root=root)
        v = model["verdict"]
        typer.echo(f"{v['line']} -> {', '.join(str(p) for p in paths)}")
        for g in failed_gates(model):
            typer.echo(f"  FAIL {g['name']}: figure {g['value']}, required {g['comparator']} {g['threshold']} "
                       f"({g['threshold_source']})", err=True)
        if strict and v["strict_failure"]:
            typer.echo(f"--strict: {v['strict_failure']}", err=True)
            raise typer.Exit(1)
