"""Stage `prepare`: load, validate and split every bundled dataset.

Writes ``outputs/prepare/<dataset>/{train,test,holdout}.parquet`` and ``schema.json``,
``metrics/prepare.json`` and ``evidence/prepare.json`` (keyed data fingerprints, sources, licences).
Everything it writes is audit trail (the splits are the private data itself); the exact counts it
records are non-DP statistics of the private tables, listed under the evidence's ``non_dp``.
"""

from __future__ import annotations

from _stage import Stage, fingerprint, main, param

from trust.data import DATASETS, dataset_info, load_dataset, split_table, write_table
from trust.data.io import atomic_write_json
from trust.evidence import check


@main
def run() -> None:
    stage = Stage("prepare")
    p = stage.params
    names = param(p, "prepare.datasets", list, choices=DATASETS)
    test_size = param(p, "prepare.test_size", float, low=0.0, high=1.0, low_open=True)
    holdout_size = param(p, "prepare.holdout_size", float, low=0.0, high=1.0, low_open=True)
    seed = param(p, "prepare.seed", int, low=0)
    max_rows = param(p, "prepare.max_rows", int, low=10, nullable=True)

    loaded = {}
    for name in names:
        df, schema = load_dataset(name)
        if max_rows is not None and len(df) > max_rows:
            df = df.sample(n=max_rows, random_state=seed).reset_index(drop=True)
        loaded[name] = (df, schema)
    prints = {name: fingerprint(df) for name, (df, _) in loaded.items()}

    with stage.run(p["prepare"], prints):
        data, checks, metrics, details, non_dp = [], [], {}, {}, []
        for name, (df, schema) in loaded.items():
            info = dataset_info(name)
            stratify = schema.target if schema.problem_type == "classification" else None
            splits = split_table(df, test_size=test_size, holdout_size=holdout_size, stratify=stratify, seed=seed)
            out = stage.out_dir / name
            for part, frame in splits.items():
                write_table(frame, out / f"{part}.parquet")
                data.append({"name": f"{name}/{part}", "fingerprint": fingerprint(frame), "rows": len(frame),
                             "role": part, "source": info.source, "licence": info.licence})
                metrics[f"{name}.{part}_rows"] = len(frame)
            atomic_write_json(out / "schema.json", schema.to_dict())
            data.append({"name": name, "fingerprint": prints[name], "rows": len(df), "role": "full",
                         "source": info.source, "licence": info.licence})
            n_missing = int(df.isna().sum().sum())
            metrics[f"{name}.missing_cells"] = n_missing
            total = sum(len(f) for _, f in splits.items())
            checks.append(check(f"{name}: every row lands in exactly one split", float(total - len(df)), 0.0, "==",
                                description="rows(train) + rows(test) + rows(holdout) - rows(full)"))
            if stratify:
                rates = [float((f[stratify] == sorted(df[stratify].unique())[-1]).mean()) for _, f in splits.items()]
                checks.append(check(f"{name}: class balance kept across splits (max gap)",
                                    max(rates) - min(rates), 0.01, "<=",
                                    description="largest difference in the positive-class share between splits"))
            details[name] = {
                "columns": len(schema.columns), "target": schema.target, "problem_type": schema.problem_type,
                "kinds": {k: v.kind for k, v in schema.columns.items()},
                "missing_by_column": {k: int(v) for k, v in df.isna().sum().items() if v},
                "description": info.description,
                "schema": "declared (from the dataset's documentation)" if schema.declared else "inferred from the rows",
            }
            non_dp.append({"dataset": name, "artifact": "evidence/prepare.json, metrics/prepare.json",
                           "what": "exact row counts of every split, missing cells by column, class-balance gap"})
        stage.finish(kind="data", title="Data preparation", metrics=metrics, checks=checks, data=data,
                     details=details, non_dp=non_dp)


if __name__ == "__main__":
    run()
