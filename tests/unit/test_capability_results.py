"""Issue 22: every capability's result, built on tiny data, gives evidence valid against its own schema, saves
itself, and its report section renders it in every format.

One parametrised test over :data:`CAPABILITIES` (evidence kind -> a builder of a small result, with the tiny
settings of the capability's own protocol test copied in). A capability joins with a builder here once its protocol
returns a :class:`trust.evidence.Result`; a second test fails while any ``Result`` class in ``trust/`` has none.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from trust.data import TableSchema
from trust.evidence import Result, schema_problem, validate_evidence
from trust.report import build_report, render_html, render_json, render_markdown
from trust.report.examples import EXAMPLE_POLICY
from trust.report.sections import SECTION_REGISTRY, discover_sections


def _data() -> Result:
    from trust.data.prepare import run_prepare

    return run_prepare(["king", "adult"], max_rows=300, random_state=0)


@functools.lru_cache(maxsize=None)
def _adult(n: int, seed: int) -> tuple[pd.DataFrame, TableSchema]:
    """``n`` seeded Adult rows and Adult's declared schema."""
    from trust.data import load_dataset

    df, schema = load_dataset("adult")
    return df.sample(n, random_state=seed).reset_index(drop=True), schema


_NET = dict(generator_dims=(16,), critic_dims=(16,), aux_dims=(8,), noise_dim=4, aux_epochs=1)   # tests/unit/_synth_tiny.py


@functools.lru_cache(maxsize=None)
def _synth() -> Result:
    from trust.synth.protocol import run_synth

    train, schema = _adult(200, 0)
    return run_synth(train, schema, epsilon=None, model=dict(epochs=1, batch_size=50, **_NET), synthetic_rows=100,
                     dataset="adult", artifact="outputs/synth/eps_none", verbose=False)


def _synth_evaluate() -> Result:
    from trust.synth.protocol import run_synth_evaluate

    (train, schema), (test, _), (holdout, _) = _adult(200, 0), _adult(200, 1), _adult(200, 2)
    return run_synth_evaluate(train, test, holdout, {"eps_none": (None, _synth().synthetic)}, schema, dataset="adult",
                              fidelity_rows=100, privacy_rows=200, random_state=0)


def _aggregate() -> Result:
    from trust.aggregate.protocol import run_aggregate

    def table(n: int, seed: int) -> pd.DataFrame:   # tests/unit/test_aggregate_protocol.py
        rng = np.random.default_rng(seed)
        df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n),
                           "region": rng.choice(list("pqrs"), n)})
        df["price"] = np.exp(1.0 + 0.5 * df.a - 0.3 * df.b + 0.2 * (df.region == "p") + 0.1 * rng.normal(size=n))
        return df

    tiny = {"log_target": True, "center": 1.0, "scale": 0.5, "clip": 2.5, "bag_sizes": [4, 8], "seeds": [0, 1],
            "rho_grid": [0.0, 0.01, 0.1, 1.0], "n_folds": 1,
            "dp": {"epsilons": [1.0], "bag_sizes": [1, 4], "seeds": [0], "sweep_rows": 200, "release_epsilon": 1.0,
                   "release_bag_size": 8},
            "synthetic": {"n": 60, "d": 5, "bag_sizes": [1, 4], "rhos": [0.0, 1.0], "reps": 2}}
    return run_aggregate(table(700, 0), table(300, 1), target="price", settings=tiny, dataset="toy", random_state=0,
                         location="outputs/aggregate", insecure_noise_seed=3)


def _calibrate() -> Result:
    from trust.calibrate import softmax
    from trust.calibrate.experiments import EvalSet
    from trust.calibrate.protocol import run_calibrate

    rng = np.random.default_rng(0)   # logits calibrated at scale 1, shown over-confident (x2), and noisy views
    Z = rng.normal(size=(600, 4)) * 2.0
    y = np.array([rng.choice(4, p=p) for p in softmax(Z)])
    V = np.stack([Z + rng.normal(0, 0.5, Z.shape) for _ in range(3)]) * 2.0
    Z = Z * 2.0
    val = EvalSet.from_logits(Z[:400], y[:400], V[:, :400])
    test = {"in_distribution": EvalSet.from_logits(Z[400:], y[400:], V[:, 400:])}
    return run_calibrate(val, test, methods=("uncalibrated", "temperature", "ca"), candidates=("temperature", "ca"),
                         n_folds=3, n_boot=20, ca={"epochs": 20}, dataset="toy", device="cpu")


def _noisy() -> Result:
    from trust.noisy.protocol import run_noisy

    rng = np.random.default_rng(0)   # tests/unit/test_noisy_protocol.py
    y = np.repeat(np.arange(3), 80)
    X = rng.normal(0, 0.3, size=(240, 16)) + 2.0 * np.stack([np.sin(np.arange(16) * (c + 1) / 3) for c in y])
    methods = {"ce": {"epochs": 2, "channels": [8]}, "rcal": {"contrastive_epochs": 2, "epochs": 2, "channels": [8]}}
    return run_noisy(X[::2], y[::2], X[1::2], y[1::2], methods=methods,
                     corrupt={"imbalance_ratio": 4, "noise_rate": 0.3, "noise_kind": "proportional"}, setting="toy",
                     random_state=0, device="cpu")


def _unlearn() -> Result:
    from trust.data import load_array_dataset, split_arrays
    from trust.models import NeuralClassifier
    from trust.unlearn import UnlearnInputs, run_unlearn

    ds = load_array_dataset("digits")
    sp = split_arrays(ds.y, val_size=0.1, test_size=0.3, seed=0)
    X, y = ds.X, ds.y
    m = NeuralClassifier("mlp", hidden=(16,), epochs=3, lr=3e-3, n_classes=10, random_state=0, device="cpu").fit(
        X[sp.train], y[sp.train])
    inputs = UnlearnInputs.for_class(m, X[sp.train], y[sp.train], 3, test=(X[sp.test], y[sp.test]),
                                     val=(X[sp.val], y[sp.val]), fingerprint="hmac-sha256:" + "1" * 64, name="digits")
    return run_unlearn(inputs, method="concept", settings={"epochs": 2}, n_shadows=4, relearn=False, device="cpu")


def _model() -> Result:
    from trust.data import split_arrays
    from trust.models import run_train

    rng = np.random.default_rng(0)   # tests/unit/test_models_protocol.py
    y = np.arange(300) % 3
    X = rng.normal(size=(300, 4)) + np.eye(3, 4)[y] * 3
    return run_train(X, y, split_arrays(y, seed=0), model={"network": "mlp", "epochs": 2}, dataset="toy",
                     intended_use="tests", device="cpu")


def _update() -> Result:
    from trust.data.splits import ArraySplits
    from trust.update import run_update

    rng = np.random.default_rng(0)   # tests/unit/test_update_protocol.py: old classes 0, 1; new 2, 3 between them
    y = np.arange(400) % 4
    centers = np.array([[0, 0], [3, 0], [0.8, 0.8], [2.2, 0.8]])
    X = np.c_[centers[y] + rng.normal(size=(400, 2)) * 0.6, rng.normal(size=(400, 2))].astype(np.float32)
    idx = np.arange(400)
    return run_update(X, y, ArraySplits(idx[:250], idx[250:300], idx[300:]), old_classes=[0, 1],
                      model={"network": "mlp", "epochs": 3, "batch_size": 32, "hidden": [16], "lr": 3e-3},
                      methods=["naive", "mpt"], dataset="toy", device="cpu")


#: evidence kind -> a small result of that capability (seconds on 2 cores)
CAPABILITIES: dict[str, Callable[[], Result]] = {
    "data": _data,
    "synth": _synth,
    "synth_evaluate": _synth_evaluate,
    "aggregate": _aggregate,
    "calibrate": _calibrate,
    "noisy": _noisy,
    "unlearn": _unlearn,
    "model": _model,
    "update": _update,
}


@pytest.mark.parametrize("kind", sorted(CAPABILITIES))
def test_a_capability_result_gives_valid_evidence_saves_and_renders(kind, tmp_path):
    result = CAPABILITIES[kind]()
    assert isinstance(result, Result) and result.kind == kind
    ev = result.to_evidence(EXAMPLE_POLICY)
    assert ev.kind == kind and ev.details_schema is not None, "a capability validates its details against its schema"
    assert schema_problem(dict(ev.details), ev.details_schema) is None
    result.save(tmp_path / "out")
    assert any((tmp_path / "out").rglob("*")), "save wrote nothing"
    doc = validate_evidence(ev.document(f"{kind}_stage", plots=result.plots(tmp_path / "plots")))
    model = build_report({f"evidence/{kind}_stage.json": doc}, policy=EXAMPLE_POLICY)
    discover_sections()
    sid = SECTION_REGISTRY[kind].id
    section, = [s for s in model["sections"] if s["id"] == sid]
    assert section["blocks"] and section["stages"] == [f"{kind}_stage"]
    assert f'id="{sid}"' in render_html(model) and f"## {section['title']}" in render_markdown(model)
    render_json(model)


def _declared_result_kinds() -> dict[str, str]:
    """evidence kind -> file, of every ``class ...(Result)`` in ``trust/`` (read from the source, nothing imported)."""
    import ast
    from pathlib import Path

    import trust

    kinds = {}
    for path in sorted(Path(trust.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) == "Result" for b in node.bases):
                kind, = [s.value.value for s in node.body if isinstance(s, ast.AnnAssign)
                         and getattr(s.target, "id", None) == "kind" and isinstance(s.value, ast.Constant)]
                kinds[kind] = str(path)
    return kinds


def test_every_result_class_in_the_package_has_a_builder_here():
    kinds = _declared_result_kinds()
    assert "data" in kinds and "unlearn" in kinds   # the scan finds the classes it must
    assert sorted(kinds) == sorted(CAPABILITIES), {k: v for k, v in kinds.items() if k not in CAPABILITIES}
