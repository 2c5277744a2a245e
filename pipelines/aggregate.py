"""Stage `aggregate`: learning from aggregate bags with label-DP responses (Javanmard et al., ICLR 2024).

Reads ``outputs/prepare/<dataset>/{train,test}.parquet`` + ``schema.json`` (the holdout split is left for the
privacy audits) and runs :func:`trust.aggregate.protocol.run_aggregate` with the ``aggregate:`` settings of
params.yaml (the library checks them): the paper's synthetic linear model, the three estimators on exact bag
means, the label-DP sweep on a split disjoint from the release, and one deployed label-DP release.

Writes ``outputs/aggregate/release/`` (the release alone: bag means, model, ledger, manifest),
``outputs/aggregate/audit/`` (records and plots of the figures computed on private labels),
``metrics/aggregate.json`` and ``evidence/aggregate.json`` (kind ``aggregate``). The pipeline owns the dataset,
the seed and the privacy budget (``policy.max_total_epsilon_per_dataset``, checked before any label is read).
"""

from __future__ import annotations

import json

from _stage import Stage, fingerprint, main, param, relpath

from trust.aggregate.protocol import run_aggregate
from trust.data import TableSchema, read_table
from trust.errors import DataError

#: keys of the `aggregate:` block the stage reads itself; every other key is a setting of the protocol
PIPELINE_KEYS = ("dataset", "seed")


def load_split(stage: Stage, dataset: str):
    """``(train, test, schema)`` of the prepare stage's split of ``dataset``."""
    src = stage.out_dir.parent / "prepare" / dataset
    if not (src / "train.parquet").exists():
        raise DataError(f"'{relpath(src)}/train.parquet' is missing; run `dvc repro prepare` first")
    schema = TableSchema.from_dict(json.loads((src / "schema.json").read_text()))
    return read_table(src / "train.parquet"), read_table(src / "test.parquet"), schema


@main
def run() -> None:
    stage = Stage("aggregate")
    p = stage.params
    dataset = param(p, "aggregate.dataset", str)
    seed = param(p, "aggregate.seed", int, low=0)
    max_eps = param(p, "policy.max_total_epsilon_per_dataset", float, low=0.0, low_open=True)
    settings = {k: v for k, v in param(p, "aggregate", dict).items() if k not in PIPELINE_KEYS}
    train, test, schema = load_split(stage, dataset)
    prints = {f"{dataset}/train": fingerprint(train), f"{dataset}/test": fingerprint(test)}
    with stage.run(p["aggregate"], prints):
        result = run_aggregate(train, test, schema, settings=settings, dataset=dataset, random_state=seed,
                               max_epsilon=max_eps, location=relpath(stage.out_dir), progress=True)
        stage.publish(result, data=[{"name": name, "fingerprint": fp, "rows": len(df), "role": role}
                                    for (name, fp), df, role in zip(prints.items(), (train, test), ("train", "test"))])


if __name__ == "__main__":
    run()
