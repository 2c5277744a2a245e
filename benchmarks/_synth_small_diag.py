"""Diagnostic for benchmarks/README.md "Small tables" (not run by ``make bench``): the DP code path of CTAB-GAN+ on
the 3,000-row Adult subsample with an explicit, tiny DP-SGD noise multiplier, to separate what the DP histograms,
the DP code path and the DP-SGD noise each cost. The epsilon it reports is meaningless (hundreds).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/_synth_small_diag.py SEED METADATA_EPSILON SIGMA    # e.g. 0 0.6 0.3
"""

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

from _prepared import load_prepared  # noqa: E402
from synth_quality import PUBLIC_BOUNDS  # noqa: E402
from trust.synth import CTABGANPlus  # noqa: E402
from trust.synth.evaluate import ml_utility  # noqa: E402

torch.set_num_threads(1)
seed, meta_eps, sigma = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
train, test, schema = load_prepared("adult")
for col, bnd in PUBLIC_BOUNDS.items():
    schema = schema.replace_column(col, bounds=tuple(map(float, bnd)))
train = train.sample(n=3000, random_state=seed).reset_index(drop=True)
t = time.perf_counter()
m = CTABGANPlus(epochs=150, batch_size=500, noise_multiplier=sigma, metadata_epsilon=meta_eps, delta=1e-5,
                accountant="rdp", random_state=seed, verbose=False).fit(train, schema)
syn = m.sample(len(train))
u = ml_utility(train, test, syn, schema, random_state=seed)
print(json.dumps({"seed": seed, "metadata_epsilon": meta_eps, "noise_multiplier": sigma,
                  "tstr_hgb_auc": u["tstr.hgb.auc"], "trtr_hgb_auc": u["trtr.hgb.auc"],
                  "epsilon": m.privacy_report()["epsilon"], "steps": m.steps_, "fit_seconds": time.perf_counter() - t}))
