"""Per-step CPU time of CTAB-GAN+'s non-DP steps (critic + auxiliary model, then generator) on Adult, in one process.

Variants, each on a freshly built model (seed 0, batch 500): float32, bfloat16 autocast, ``torch.compile`` of the
generator and the auxiliary model in float32 and in bfloat16 (the critic cannot be compiled: its gradient penalty
needs double backward, which AOTAutograd does not support), then float32 again (drift of the box over the run).
``--prof`` adds torch.profiler tables (float32, bfloat16) sorted by self CPU time.

It drives the trainer's step functions directly (``Trainer.setup``, ``critic_step``, ``generator_step``), so that
transformer fitting and epoch bookkeeping stay out of the figures; it is a profiling aid, not an API example.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/synth_step_profile.py [--steps 40] [--prof]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _prepared import load_prepared  # noqa: E402

from trust._validation import check_random_state  # noqa: E402
from trust.privacy.ledger import PrivacyLedger  # noqa: E402
from trust.synth.model import check_table, resolve_schema  # noqa: E402
from trust.synth.settings import SynthSettings  # noqa: E402
from trust.synth.training import Meter, Trainer  # noqa: E402
from trust.synth.plan import resolve_schedule  # noqa: E402
from trust.synth.transformer import DataTransformer  # noqa: E402

VARIANTS = ("fp32", "bf16", "compile_fp32", "compile_bf16", "fp32_again")


def build(df, schema):
    """A non-DP fit's training state, as ``CTABGANPlus.fit`` builds it, ready for single steps (the
    :class:`~trust.synth.training.Trainer` owns the steps; a profiler of steps cannot go through the protocol)."""
    cfg = SynthSettings.of({"epochs": 1, "batch_size": 500, "random_state": 0, "verbose": False})
    schema = resolve_schema(df, schema, None, None, dp=False)
    table = check_table(df, schema, dp=False)
    tr = DataTransformer(random_state=0).fit(table, schema)
    X = torch.as_tensor(tr.transform(table, random_state=0), dtype=torch.float32)
    trainer = Trainer(cfg, tr, schema, resolve_schedule(cfg, len(table)), "profile")
    rng = check_random_state(0)
    torch.manual_seed(0)
    st = trainer.setup(X, None, PrivacyLedger())
    st.G.train()
    st.D.train()
    return trainer, st, rng


def precision(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def time_variant(df, schema, name: str, steps: int) -> dict[str, float]:
    trainer, st, rng = build(df, schema)
    meter, bf16 = Meter(), "bf16" in name
    if name.startswith("compile"):
        st.G, st.aux = torch.compile(st.G), torch.compile(st.aux)

    def critic() -> float:
        t = time.process_time()
        with precision(bf16):
            trainer.critic_step(st, rng, meter)
        return time.process_time() - t

    def generator() -> float:
        t = time.process_time()
        with precision(bf16):
            trainer.generator_step(st, rng, meter)
        return time.process_time() - t

    warm = sum(critic() + generator() for _ in range(3))        # includes compilation for the compiled variants
    wall = time.perf_counter()
    c_total = g_total = 0.0
    for _ in range(steps):
        c_total += critic()
        g_total += generator()
    wall = time.perf_counter() - wall
    return {"first3_steps_cpu_s": warm, "critic_aux_cpu_ms": 1000 * c_total / steps,
            "generator_cpu_ms": 1000 * g_total / steps, "step_cpu_ms": 1000 * (c_total + g_total) / steps,
            "step_wall_ms": 1000 * wall / steps}


def profile_tables(df, schema) -> None:
    from torch.profiler import ProfilerActivity, profile

    for name in ("fp32", "bf16"):
        trainer, st, rng = build(df, schema)
        meter = Meter()
        for _ in range(3):
            with precision(name == "bf16"):
                trainer.critic_step(st, rng, meter)
                trainer.generator_step(st, rng, meter)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(20):
                with precision(name == "bf16"):
                    trainer.critic_step(st, rng, meter)
                    trainer.generator_step(st, rng, meter)
        print(name)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40, help="timed steps per variant (after 3 warm-up steps)")
    ap.add_argument("--prof", action="store_true", help="also print torch.profiler tables")
    args = ap.parse_args()
    torch.set_num_threads(1)
    df, _, schema = load_prepared("adult")
    for name in VARIANTS:
        print(name, json.dumps(time_variant(df, schema, name, args.steps)), flush=True)
    if args.prof:
        profile_tables(df, schema)


if __name__ == "__main__":
    main()
