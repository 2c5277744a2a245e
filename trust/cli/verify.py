"""`trust verify`: check every claim of a project's evidence and report (signatures, epsilons, gates, lineage,
releases); VERIFIED, MISMATCH or UNVERIFIABLE for each, and a final line."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``verify`` command to the root app."""

    @app.command("verify")
    def verify(
        root: Path = typer.Option(None, "--root", help="Project folder (default: the git work tree here).",
                                  file_okay=False),
        public_key: Path = typer.Option(None, "--public-key", help="The organisation's Ed25519 public key (PEM). "
                                        "Default: this machine's signing key, else the report's own copy "
                                        "(reports/trust-signing-key.pub, which then cannot vouch for itself)."),
        lineage_key: Path = typer.Option(None, "--lineage-key", help="The data owner's lineage key file, to "
                                         "recompute the keyed fingerprints (default: $TRUST_LINEAGE_KEY or the "
                                         "data owner's key file when present; else fingerprints are UNVERIFIABLE)."),
        as_json: bool = typer.Option(False, "--json", help="Print every claim as JSON instead of lines."),
        strict: bool = typer.Option(False, "--strict", help="Exit 1 also when a claim is UNVERIFIABLE."),
        out: Path = typer.Option(None, "--out", help="Also write verification.json and verification.md, signed, "
                                 "into this folder (e.g. reports).", file_okay=False),
        no_dvc: bool = typer.Option(False, "--no-dvc", help="Skip `dvc status` (its claims are UNVERIFIABLE)."),
    ) -> None:
        """Re-derive the report's verdict from the evidence, the data and the signatures.

        Exit status: 0 when no claim is a MISMATCH (with --strict: none UNVERIFIABLE either); 1 otherwise; 2 on bad input (no evidence folder, a corrupt attestation, a key file that is not a key).
        """
        from trust.tracking import repo_root
        from trust.verify.project import AUTO, verify_project

        root = Path(root) if root is not None else repo_root()
        v = verify_project(root, public_key=public_key, lineage_key=lineage_key if lineage_key is not None else AUTO,
                           dvc=not no_dvc)
        if as_json:
            typer.echo(json.dumps(v.to_dict(strict=strict), indent=2))
        else:
            typer.echo(f"verify: {root} with public key {v.key}")
            for line in v.lines(strict=strict):
                typer.echo(line)
        if out is not None:
            from trust.verify.report_section import write_verification

            write_verification(v, out, root=root, strict=strict)
        code = v.exit_code(strict=strict)
        if code:
            raise typer.Exit(code)
