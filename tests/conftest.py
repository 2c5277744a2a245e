"""Shared fixtures. Tests run on the real libraries and small slices of the bundled data."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd
import pytest

# Two cores on CI: keep torch from oversubscribing them.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Evidence and reports are signed when written (trust.signing): the tests (and the pipelines they start)
# sign with a throw-away key outside any project, never with the user's own ~/.config/trust key.
if "TRUST_SIGNING_KEY_FILE" not in os.environ:
    import tempfile

    os.environ["TRUST_SIGNING_KEY_FILE"] = os.path.join(tempfile.mkdtemp(prefix="trust-test-key-"), "signing-key.pem")
# The lineage key of the tests: a file of its own outside the repository (the default, ~/.config/trust/lineage.key,
# is the user's real key; stages and pipeline copies started by the tests inherit this variable).
os.environ.setdefault("TRUST_LINEAGE_KEY_FILE", os.path.join(tempfile.mkdtemp(prefix="trust-test-key-"), "lineage.key"))


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


# ------------------------------------------------------------------ small seeded tables the tests share
def _audit_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n)
    return pd.DataFrame({
        "x1": x1,
        "x2": rng.normal(5, 2, n) + x1,
        "x3": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(3, n)),
        "cat": rng.choice(["a", "b", "c"], n),
        "y": np.where(x1 + rng.normal(0, 1, n) > 0, "yes", "no"),
    })


def _two_class_table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({
        "x": rng.normal(2.0 * y, 1.0),
        "c": np.where(rng.random(n) < 0.8, np.where(y == 1, "a", "b"), "c"),
        "y": np.where(y == 1, "yes", "no"),
    })


def _utility_table(n: int, seed: int, regression: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n)
    x2 = rng.exponential(2, n)
    cat = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    logit = 1.5 * x1 - 0.6 * x2 + np.where(cat == "a", 1.0, -0.5)
    df = pd.DataFrame({"x1": x1, "x2": x2, "cat": cat, "x3": rng.normal(0, 1, n)})
    if regression:
        df["y"] = logit + rng.normal(0, 0.5, n)
    else:
        df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return df


def _class_signal_table(n=1200, seed=0):
    """Two classes; x shifts with the class, c mostly follows it, z is noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({
        "x": rng.normal(2.5 * y, 1.0),
        "z": rng.gamma(2.0, 1.0, n),
        "c": np.where(rng.random(n) < 0.85, np.where(y == 1, "a", "b"), "c"),
        "y": np.where(y == 1, "yes", "no"),
    })


def _encodings_table(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bimodal = np.where(rng.random(n) < 0.4, rng.normal(-5, 1, n), rng.normal(10, 2, n))
    gain = np.where(rng.random(n) < 0.7, 0.0, np.round(np.exp(rng.normal(7, 1, n))))
    gain[rng.random(n) < 0.05] = np.nan
    color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]).astype(object)
    color[rng.random(n) < 0.05] = None
    return pd.DataFrame({
        "bimodal": bimodal,                                            # continuous, negative values
        "income": np.exp(rng.normal(10, 0.6, n)),                      # continuous, log, min > 0
        "count": rng.poisson(3, n).astype(float),                      # continuous, log, min == 0
        "shifted": rng.gamma(2.0, 3.0, n) - 4.0,                       # general, log, min < 0
        "gain": gain,                                                  # mixed, log: point mass 0, missing
        "age": rng.integers(18, 80, n).astype(float),                  # general, integer
        "color": color,                                                # categorical with missing
        "label": rng.choice(["no", "yes"], n),
    })


_TABLES = {"audit": _audit_table, "two_class": _two_class_table, "utility": _utility_table,
           "class_signal": _class_signal_table, "encodings": _encodings_table}


@pytest.fixture(scope="session")
def make_table():
    """``make_table(kind, n, seed, ...)``: a small seeded table of one of the shapes the tests use.

    ``audit``: numeric + categorical + missing, target ``y`` (privacy audits); ``two_class``: ``x``, ``c``,
    ``y`` with a class signal (DP synthesis); ``utility``: features with a known logit, ``regression=True``
    for a numeric target (utility metrics); ``class_signal``: ``x``, ``z``, ``c``, ``y`` (CTAB-GAN+ fits);
    ``encodings``: one column per encoder case (the data transformer).
    """
    def make(kind: str, *args, **kwargs) -> pd.DataFrame:
        return _TABLES[kind](*args, **kwargs)

    return make
