"""Issue 25: generated bad inputs, thrown at every command, end in one line, exit 2, no traceback, no change.

Hypothesis draws a bad input from a *family* (a table without rows, an array with NaN or inf at a drawn place,
labels out of range, an output path that is the input or an existing file of the user's, ...), writes it into a
scratch folder and runs a command on it in this process. Whatever the draw, the command must answer with exactly
one line on stderr starting ``error:``, exit status 2, no traceback, and leave every file of the workspace and of
the scratch folder as it was (nothing written, nothing replaced).

A command joins with one line in :data:`CASES`: its name, the families of bad input it reads, and its argv with
``{bad}`` for the bad file (``{model}``, ``{logits}``, ``{ok}``, ``{notes}``, ``{out}`` name the workspace's
fixtures: a trained model folder, a valid logits archive, a valid dataset, a file of the user's, a fresh output
path). :data:`TO_FIX` lists the (command, family) pairs that do not pass yet, with their owner.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from trust.cli import main  # noqa: E402

# ----------------------------------------------------------------------------------------------- bad inputs
Writer = Callable[[Path], Path]


def _csv(text: str) -> Writer:
    def write(d: Path) -> Path:
        (d / "bad.csv").write_text(text)
        return d / "bad.csv"
    return write


def _bytes(data: bytes, name: str) -> Writer:
    def write(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name
    return write


def _npz(**arrays) -> Writer:
    def write(d: Path) -> Path:
        np.savez(d / "bad.npz", **arrays)
        return d / "bad.npz"
    return write


def _rows(draw, n_min=4, n_max=40):
    return draw(st.integers(n_min, n_max))


@st.composite
def bad_tables(draw) -> tuple[str, Writer]:
    """A table every command that reads a CSV with target ``y`` must refuse."""
    n = _rows(draw)
    kind = draw(st.sampled_from(["no rows", "no target column", "duplicate columns", "empty file", "binary"]))
    if kind == "no rows":
        return kind, _csv("x,c,y\n")
    if kind == "no target column":
        return kind, _csv("x,c\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(n)))
    if kind == "duplicate columns":
        return kind, _csv("x,x,y\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(n)))
    if kind == "empty file":
        return kind, _csv("")
    return kind, _bytes(draw(st.binary(min_size=8, max_size=64)).replace(b",", b";") + b"\x00\xff", "bad.csv")


@st.composite
def bad_labelled_tables(draw) -> tuple[str, Writer]:
    """A CSV whose target has a hole (missing, NaN): a command that learns from ``y`` without DP must refuse it."""
    n = _rows(draw, 12, 60)
    hole = draw(st.integers(0, n - 1))
    cell = draw(st.sampled_from(["", "nan", "NaN"]))
    rows = "".join(f"{i * 0.5},{'ab'[i % 2]},{cell if i == hole else 'yn'[i % 2]}\n" for i in range(n))
    return "missing target", _csv("x,c,y\n" + rows)


@st.composite
def bad_arrays(draw) -> tuple[str, Writer]:
    """An ``.npz`` with X and y that every command training or scoring on labelled arrays must refuse."""
    n = _rows(draw, 8, 40)
    X = np.random.default_rng(draw(st.integers(0, 99))).normal(size=(n, 12))
    y = np.arange(n) % 2
    kind = draw(st.sampled_from(["non-finite X", "1-d X", "5-d X", "negative label", "fractional label",
                                 "length mismatch", "no rows", "no y", "not an archive", "text X"]))
    if kind == "non-finite X":
        X[draw(st.integers(0, n - 1)), draw(st.integers(0, 11))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return kind, _npz(X=X, y=y)
    if kind == "1-d X":
        return kind, _npz(X=X[:, 0], y=y)
    if kind == "5-d X":
        return kind, _npz(X=X.reshape(n, 1, 1, 3, 4)[:, :, :, :, :, None], y=y)
    if kind == "negative label":
        y = y.copy()
        y[draw(st.integers(0, n - 1))] = -draw(st.integers(1, 5))
        return kind, _npz(X=X, y=y)
    if kind == "fractional label":
        return kind, _npz(X=X, y=y + 0.5)
    if kind == "length mismatch":
        return kind, _npz(X=X, y=y[:-draw(st.integers(1, n - 1))])
    if kind == "no rows":
        return kind, _npz(X=X[:0], y=y[:0])
    if kind == "no y":
        return kind, _npz(X=X)
    if kind == "text X":
        return kind, _npz(X=np.array([["a"] * 12] * n), y=y)
    return kind, _bytes(draw(st.binary(min_size=1, max_size=64)), "bad.npz")


@st.composite
def bad_inputs_X(draw) -> tuple[str, Writer]:
    """An ``.npz`` of inputs ``X`` for the workspace's model (12 features) that a command must refuse."""
    n = _rows(draw, 4, 30)
    X = np.random.default_rng(draw(st.integers(0, 99))).normal(size=(n, 12))
    kind = draw(st.sampled_from(["non-finite X", "wrong width", "1-d X", "no X", "not an archive"]))
    if kind == "non-finite X":
        X[draw(st.integers(0, n - 1)), draw(st.integers(0, 11))] = draw(st.sampled_from([np.nan, np.inf]))
        return kind, _npz(X=X)
    if kind == "wrong width":
        return kind, _npz(X=X[:, :draw(st.integers(1, 11))])
    if kind == "1-d X":
        return kind, _npz(X=X[:, 0])
    if kind == "no X":
        return kind, _npz(Z=X)
    return kind, _bytes(draw(st.binary(min_size=1, max_size=64)), "bad.npz")


@st.composite
def bad_logits(draw) -> tuple[str, Writer]:
    """An ``.npz`` of logits and labels that a calibration command must refuse."""
    n = _rows(draw, 10, 60)
    logits = np.random.default_rng(draw(st.integers(0, 99))).normal(size=(n, 3))
    labels = np.arange(n) % 3
    kind = draw(st.sampled_from(["non-finite logits", "label out of range", "negative label", "length mismatch",
                                 "1-d logits", "no labels"]))
    if kind == "non-finite logits":
        logits[draw(st.integers(0, n - 1)), draw(st.integers(0, 2))] = draw(st.sampled_from([np.nan, np.inf]))
    elif kind == "label out of range":
        labels = labels.copy()
        labels[draw(st.integers(0, n - 1))] = 3 + draw(st.integers(0, 5))
    elif kind == "negative label":
        labels = labels.copy()
        labels[draw(st.integers(0, n - 1))] = -1
    elif kind == "length mismatch":
        labels = labels[:-draw(st.integers(1, n - 1))]
    elif kind == "1-d logits":
        logits = logits[:, 0]
    else:
        return kind, _npz(logits=logits)
    return kind, _npz(logits=logits, labels=labels)


@st.composite
def clashing_outputs(draw) -> tuple[str, Writer]:
    """An output path that is the command's own input or an existing file of the user's (no --overwrite)."""
    kind = draw(st.sampled_from(["output is the input", "output is a user file"]))
    return kind, lambda d: d / ("notes.csv" if kind == "output is a user file" else "in.npz")


# ----------------------------------------------------------------------------------------------- the commands
@dataclasses.dataclass(frozen=True)
class Case:
    command: str
    inputs: Callable[[], st.SearchStrategy]
    argv: tuple[str, ...]


CASES = [
    Case("data describe", bad_tables, ("data", "describe", "{bad}", "--target", "y")),
    Case("data split", bad_tables, ("data", "split", "{bad}", "--target", "y", "--out", "{out}")),
    Case("data split", bad_labelled_tables, ("data", "split", "{bad}", "--target", "y", "--out", "{out}")),
    Case("data schema draft", bad_tables, ("data", "schema", "draft", "{bad}", "--target", "y", "--out", "{out}.json")),
    Case("synth fit", bad_tables, ("synth", "fit", "{bad}", "--target", "y", "--no-dp", "--epochs", "1", "--quiet",
                                   "--out", "{out}")),
    Case("synth fit", bad_labelled_tables, ("synth", "fit", "{bad}", "--target", "y", "--no-dp", "--epochs", "1",
                                            "--quiet", "--out", "{out}")),
    Case("aggregate fit", bad_tables, ("aggregate", "fit", "{bad}", "--target", "y", "--out", "{out}")),
    Case("models train", bad_arrays, ("models", "train", "{bad}", "--epochs", "1", "--quiet", "--out", "{out}")),
    Case("models predict", bad_inputs_X, ("models", "predict", "{model}", "{bad}", "--out", "{out}.npz")),
    Case("models predict", clashing_outputs, ("models", "predict", "{model}", "{in}", "--out", "{bad}")),
    Case("calibrate fit", bad_logits, ("calibrate", "fit", "--logits", "{bad}", "--out", "{out}")),
    Case("calibrate evaluate", bad_logits, ("calibrate", "evaluate", "--logits", "{bad}")),
    Case("noisy fit", bad_arrays, ("noisy", "fit", "--data", "{bad}", "--network", "mlp", "--contrastive-epochs", "1",
                                   "--epochs", "1", "--quiet", "--out", "{out}")),
    Case("update flips", bad_arrays, ("update", "flips", "--old", "{model}", "--new", "{model}", "--data", "{bad}")),
    Case("unlearn laf", bad_inputs_X, ("unlearn", "laf", "--model", "{model}", "--forget", "{bad}", "--remain", "{in}",
                                       "--epochs", "1", "--out", "{out}")),
    Case("report", clashing_outputs, ("report", "--root", "{ws}", "--out", "{bad}")),
]

#: (command, bad-input family) -> owner: known not to pass yet (xfail until the owner fixes the command)
TO_FIX: dict[tuple[str, str], str] = {
    ("models predict", "output is the input"): "update",   # issue 25: writes its predictions over its input
    ("models predict", "output is a user file"): "update",  # issue 25: replaces notes.csv; has no --overwrite
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """The workspace: a valid signal dataset ``in.npz`` (X: 60 x 12, y: 2 classes), a model trained on it, a valid
    logits archive, and a file of the user's (``notes.csv``)."""
    d = tmp_path_factory.mktemp("ws")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 12))
    y = (X[:, 0] > 0).astype(int)
    np.savez(d / "in.npz", X=X, y=y)
    (d / "notes.csv").write_text("my,own\n1,2\n")
    np.savez(d / "logits.npz", logits=rng.normal(size=(30, 3)), labels=np.arange(30) % 3)
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()):
        main(["models", "train", str(d / "in.npz"), "--kind", "signal", "--network", "mlp", "--epochs", "1",
              "--quiet", "--out", str(d / "model")])
    assert e.value.code in (0, None)
    (d / "evidence").mkdir()
    return d


def _snapshot(*roots: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for r in roots for p in sorted(r.rglob("*"))}


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def _argv(case: Case, ws: Path, bad: Path, scratch: Path) -> list[str]:
    names = {"bad": bad, "model": ws / "model", "logits": scratch / "logits.npz", "in": scratch / "in.npz",
             "notes": scratch / "notes.csv", "out": scratch / "out", "ws": ws}
    return [a.format(**{k: str(v) for k, v in names.items()}) for a in case.argv]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.command}:{c.inputs.__name__}")
def test_a_generated_bad_input_is_one_line_exit_2_and_changes_nothing(case, ws, request):
    @settings(max_examples=6, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(drawn=case.inputs())
    def check(drawn):
        family, write = drawn
        owner = TO_FIX.get((case.command, family))
        scratch = Path(tempfile.mkdtemp(dir=ws.parent))
        for f in ("in.npz", "notes.csv", "logits.npz"):  # the user's files, copied: a failing command may harm them
            shutil.copy(ws / f, scratch / f)
        try:
            bad = write(scratch)
            before = _snapshot(ws, scratch)
            code, out, err = _run(_argv(case, ws, bad, scratch))
            ok = (code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: ")
                  and "Traceback" not in err + out and _snapshot(ws, scratch) == before)
            if owner and not ok:
                pytest.xfail(f"{case.command} on {family}: known ({owner} fixes it)")
            assert ok, f"{case.command} on {family}: exit {code}, stderr {err[-600:]!r}"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    check()


# ----------------------------------------------------------------------------------------------- the public API
@st.composite
def bad_probabilities(draw):
    """``(y, P)`` a metric must refuse: NaN/inf, rows not summing to 1, labels out of range, shapes that disagree."""
    n = _rows(draw, 4, 30)
    P = np.full((n, 3), 1 / 3)
    y = np.arange(n) % 3
    kind = draw(st.sampled_from(["non-finite", "not a distribution", "label out of range", "negative label",
                                 "length mismatch", "1-d proba"]))
    i = draw(st.integers(0, n - 1))
    if kind == "non-finite":
        P[i, 0] = draw(st.sampled_from([np.nan, np.inf]))
    elif kind == "not a distribution":
        P[i] = draw(st.sampled_from([[1.0, 1.0, 1.0], [-0.5, 1.0, 0.5]]))
    elif kind == "label out of range":
        y = y.copy()
        y[i] = 3 + draw(st.integers(0, 3))
    elif kind == "negative label":
        y = y.copy()
        y[i] = -1
    elif kind == "length mismatch":
        y = y[: max(1, n - draw(st.integers(1, n - 1)))]
    else:
        P = P[:, 0]
    return kind, (y, P)


@st.composite
def bad_xy(draw):
    """``(X, y)`` the array checks must refuse (the ``bad_arrays`` families, in memory)."""
    n = _rows(draw, 6, 30)
    X = np.random.default_rng(draw(st.integers(0, 99))).normal(size=(n, 8))
    y = np.arange(n) % 2
    kind = draw(st.sampled_from(["non-finite X", "1-d X", "negative label", "fractional label", "length mismatch",
                                 "single class"]))
    if kind == "non-finite X":
        X[draw(st.integers(0, n - 1)), 0] = np.nan
    elif kind == "1-d X":
        X = X[:, 0]
    elif kind == "negative label":
        y = y - 1
    elif kind == "fractional label":
        y = y + 0.25
    elif kind == "length mismatch":
        y = y[:-1]
    else:
        y = np.zeros(n, dtype=int)
    return kind, (X, y)


def _ece(args):
    from trust.metrics import expected_calibration_error

    return expected_calibration_error(*args)


def _check_arrays(args):
    from trust.data import check_arrays

    return check_arrays(*args, kind="signal")


def _temperature(args):
    from trust.calibrate import TemperatureScaling

    y, logits = args
    return TemperatureScaling().fit(logits, y)


def bad_logits_in_memory():
    """``(labels, logits)`` a calibrator must refuse (any real logits are valid: no 'not a distribution' family)."""
    return bad_probabilities().filter(lambda d: d[0] != "not a distribution")


#: (API function, bad-input family): each joins with one line
API_CASES = [
    ("trust.metrics.expected_calibration_error", _ece, bad_probabilities),
    ("trust.data.check_arrays", _check_arrays, bad_xy),
    ("trust.calibrate.TemperatureScaling.fit", _temperature, bad_logits_in_memory),
]


@pytest.mark.parametrize("name, call, inputs", API_CASES, ids=[c[0] for c in API_CASES])
def test_the_public_api_refuses_a_generated_bad_input_with_a_one_line_trust_error(name, call, inputs):
    from trust.errors import TrustError

    @settings(max_examples=12, deadline=None, database=None, derandomize=True)
    @given(drawn=inputs())
    def check(drawn):
        family, args = drawn
        with pytest.raises(TrustError) as e:
            call(args)
        assert "\n" not in str(e.value) and str(e.value), f"{name} on {family}: {e.value!r}"

    check()
