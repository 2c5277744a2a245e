"""Stage `prepare`: load, validate and split every bundled dataset (:func:`trust.data.prepare.run_prepare`).

Writes ``outputs/prepare/<dataset>/{train,test,holdout}.parquet`` and ``schema.json`` (salted under the
lineage key, see :mod:`trust.data.lineage`), ``metrics/prepare.json`` and ``evidence/prepare.json`` (kind
``data``: keyed data fingerprints, sources, licences). Everything it writes is audit trail (the splits are
the private data itself); the exact counts it records are non-DP statistics of the private tables, listed
under the evidence's ``non_dp``.
"""

from __future__ import annotations

from _stage import Stage, fingerprint, main, param

from trust.data import DATASETS
from trust.data.prepare import run_prepare


@main
def run() -> None:
    stage = Stage("prepare")
    p = stage.params
    result = run_prepare(param(p, "prepare.datasets", list, choices=DATASETS),
                         test_size=param(p, "prepare.test_size", float, low=0.0, high=1.0, low_open=True),
                         holdout_size=param(p, "prepare.holdout_size", float, low=0.0, high=1.0, low_open=True),
                         max_rows=param(p, "prepare.max_rows", int, low=10, nullable=True),
                         random_state=param(p, "prepare.seed", int, low=0))
    with stage.run(p["prepare"], {d.name: fingerprint(d.full) for d in result.datasets}):
        stage.publish(result, data=result.lineage(fingerprint))


if __name__ == "__main__":
    run()
