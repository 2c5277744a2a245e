"""Cost per DP-SGD step of the critic's Gaussian noise: the 128-bit generator against the former path.

The noise of every DP-SGD step is ``N(0, (sigma C)^2)`` per critic parameter, drawn as Opacus's ``secure_mode`` draws
it (one draw thrown away, four summed and halved). Until this round it came from a CPU ``torch.Generator`` seeded with
``manual_seed(secrets.randbits(64))`` (MT19937 keeps 32 bits of such a seed): ``torch_manual_seed`` below. Now the
generator's whole MT19937 state is set from 128 secret bits (``trust.privacy.noise.torch_mt19937`` inside
``trust.privacy.dpsgd.make_dp_optimizer``): ``torch_128bit_state``. For comparison, the same recipe from NumPy's PCG64
(``numpy_pcg64``, float32 draws), the option the review suggested, which was measured slower and not used. This
times one step's noise for the critic's parameter shapes on Adult (the MLP critic of the default settings), as the
median of ``--repeats`` blocks of ``--steps`` steps, in the same process.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/synth_noise_cost.py [--steps 200] [--repeats 5] [--width 270]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _critic(width: int):
    from trust.synth.networks import MLPCritic

    return MLPCritic(width, (256, 256), 0.5)


def _time(opt, net, steps: int) -> float:
    import torch

    zeros = [torch.zeros_like(p) for p in net.parameters()]
    t0 = time.perf_counter()
    for _ in range(steps):
        for p, z in zip(net.parameters(), zeros):
            p.summed_grad = z.clone()   # a fresh sum each step (Opacus marks the one it noised)
        opt.add_noise()
    return (time.perf_counter() - t0) / steps * 1e3


def _time_numpy(net, steps: int) -> float:
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(2**127 + 1)))
    shapes = [tuple(p.shape) for p in net.parameters()]
    t0 = time.perf_counter()
    for _ in range(steps):
        for shape in shapes:
            rng.standard_normal(dtype=np.float32)
            (rng.standard_normal((4,) + shape, dtype=np.float32).sum(0) / 2)
    return (time.perf_counter() - t0) / steps * 1e3


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--width", type=int, default=270, help="critic input width (Adult: encoded row + cond vector)")
    args = ap.parse_args(argv)
    import torch
    from opacus.optimizers import DPOptimizer

    from trust.privacy.dpsgd import DPSGDPlan, make_dp_optimizer
    from trust.privacy.noise import noise_source

    torch.set_num_threads(1)
    plan = DPSGDPlan(noise_multiplier=1.0, sample_rate=0.0256, steps=1, expected_batch_size=500, delta=1e-5,
                     accountant="rdp", max_grad_norm=1.0)
    net = _critic(args.width)
    new = make_dp_optimizer(torch.optim.Adam(net.parameters()), plan, noise_source())
    old = DPOptimizer(torch.optim.Adam(net.parameters()), noise_multiplier=1.0, max_grad_norm=1.0,
                      expected_batch_size=500, secure_mode=True, generator=torch.Generator().manual_seed(12345))
    times: dict[str, list[float]] = {"torch_manual_seed": [], "torch_128bit_state": [], "numpy_pcg64": []}
    for _ in range(args.repeats):
        times["torch_manual_seed"].append(_time(old, net, args.steps))
        times["torch_128bit_state"].append(_time(new, net, args.steps))
        times["numpy_pcg64"].append(_time_numpy(net, args.steps))
    out = {k: statistics.median(v) for k, v in times.items()}
    n = sum(p.numel() for p in net.parameters())
    print(f"critic parameters: {n:,}; noise per step, median of {args.repeats} x {args.steps} steps (ms):")
    for k, v in out.items():
        print(f"  {k:20s} {v:7.3f}  ({v / out['torch_manual_seed']:.2f}x the former path)")
    return out


if __name__ == "__main__":
    main()
