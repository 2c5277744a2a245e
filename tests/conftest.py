"""Shared fixtures. Tests run on the real libraries and small slices of the bundled data."""

from __future__ import annotations

import os

import pytest

# Two cores on CI: keep torch from oversubscribing them.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def adult():
    from trust.data import load_dataset

    return load_dataset("adult")


@pytest.fixture(scope="session")
def king():
    from trust.data import load_dataset

    return load_dataset("king")


@pytest.fixture
def run_cli(capsys):
    """Run the ``trust`` command line in-process: ``run_cli(*argv) -> (exit code, stdout, stderr)``."""
    from trust.cli import main

    def run(*argv):
        with pytest.raises(SystemExit) as e:
            main([str(a) for a in argv])
        out = capsys.readouterr()
        return e.value.code, out.out, out.err

    return run
