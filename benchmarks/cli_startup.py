"""CLI start-up: how long `trust` takes to answer when it has nothing heavy to do.

Three commands, each run as a fresh process (``python -m trust.cli``), median of ``--repeats`` runs:
``trust synth fit --help`` (typer only), a missing input file (``trust synth fit missing.csv --no-dp --out x``:
paths are checked before pandas or torch load) and ``trust data list`` (reads the registry, which loads pandas).
Figures go to stdout and ``benchmarks/results/cli_startup.json``; they are reported in ``benchmarks/README.md``,
never asserted.

    OMP_NUM_THREADS=1 python benchmarks/cli_startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = {
    "synth fit --help": ["synth", "fit", "--help"],
    "missing input file": ["synth", "fit", "missing.csv", "--no-dp", "--out", "x"],
    "data list": ["data", "list"],
}


def time_command(args: list[str], repeats: int, cwd: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "trust.cli", *args], cwd=cwd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    res = {}
    with tempfile.TemporaryDirectory() as cwd:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        res["python -c pass"] = {"median_s": time.perf_counter() - t0}
        for name, cmd in COMMANDS.items():
            res[name] = time_command(cmd, args.repeats, cwd)
    for name, r in res.items():
        print(f"{name:22s} median {r['median_s']:.3f} s")
    out = ROOT / "benchmarks" / "results" / "cli_startup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"repeats": args.repeats, "results": res}, indent=2) + "\n")


if __name__ == "__main__":
    main()
