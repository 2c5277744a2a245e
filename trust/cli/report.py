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
        """Render reports/compliance.{html,json,md} from evidence/*.json, gated against params.yaml 'policy:'
        (without one: the documented default policy, trust/report/default_policy.yaml, and the report says so).

        --out may not be the evidence folder or inside it. Exit status: 0 when rendered (even with failing gates, unless --strict); 1 with --strict when a policy gate fails or no policy gate was evaluated; 2 when there is no evidence or bad evidence.
        """
        from trust.report.model import failed_gates
        from trust.report.project import build_project_report, check_report_dir, write_reports
        from trust.tracking import repo_root

        root = Path(root) if root is not None else repo_root()
        out_dir = check_report_dir(out if out is not None else root / "reports", root / "evidence")
        model = build_project_report(root)
        owner = None if out is not None else pipeline_report_stage(root)
        if owner:  # the pipeline's report stage renders reports/ (dvc.lock records it): gate, do not overwrite
            typer.echo(f"note: reports/ is the output of the pipeline's '{owner}' stage (`dvc repro {owner}` "
                       "renders it; overwriting it would make `dvc status` and `trust verify` report it changed): "
                       "not rewritten; pass --out DIR for a copy", err=True)
            paths = [out_dir]
        else:
            paths = write_reports(model, out_dir, root=root)
        v = model["verdict"]
        if not model["policy_source"].startswith("params.yaml"):
            typer.echo(f"note: {model['policy_source']}", err=True)
        typer.echo(f"{v['line']} -> {', '.join(str(p) for p in paths)}")
        for g in failed_gates(model):
            typer.echo(f"  FAIL {g.get('sentence') or g['name']} ({g['threshold_source']})", err=True)
        if strict and v["strict_failure"]:
            typer.echo(f"--strict: {v['strict_failure']}", err=True)
            raise typer.Exit(1)


def pipeline_report_stage(root: Path) -> str | None:
    """The name of the DVC stage of ``root/dvc.yaml`` whose outputs include ``reports/compliance.json``, or None."""
    import yaml

    try:
        stages = (yaml.safe_load((root / "dvc.yaml").read_text()) or {}).get("stages") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    for name, stage in stages.items():
        outs = stage.get("outs") or [] if isinstance(stage, dict) else []
        if any((o if isinstance(o, str) else next(iter(o), None)) == "reports/compliance.json" for o in outs):
            return str(name)
    return None
