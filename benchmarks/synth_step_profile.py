"""Per-step CPU time of CTAB-GAN+'s non-DP steps (critic + auxiliary, generator) on Adult, one process: float32, bfloat16
autocast, ``torch.compile`` of the generator and the auxiliary model (the critic cannot be compiled: its gradient
penalty needs double backward), then float32 again; ``--prof`` adds torch.profiler tables (float32, bfloat16).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/synth_step_profile.py [--prof]
"""
import sys, time, contextlib, json
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import numpy as np, torch; torch.set_num_threads(1)
from _prepared import load_prepared
from trust.synth import CTABGANPlus
from trust.synth.model import _Meter
from trust._validation import check_random_state
from trust.privacy.ledger import PrivacyLedger
from trust.synth.transformer import DataTransformer
df, _, schema = load_prepared("adult")
def setup():
    m = CTABGANPlus(epochs=1, batch_size=500, random_state=0, verbose=False)
    m._check_params()
    sch = m._resolve_schema(df, schema, None, None)
    d = m._check_table(df, sch)
    rng = check_random_state(0)
    tr = DataTransformer(random_state=0).fit(d, sch)
    m.transformer_ = tr
    X = torch.as_tensor(tr.transform(d, random_state=0), dtype=torch.float32)
    torch.manual_seed(0)
    st = m._setup(X, sch, None, rng, PrivacyLedger())
    st.G.train(); st.D.train()
    return m, st, rng
res = {}
N = 40
for name in ("fp32", "bf16", "compile_fp32", "compile_bf16", "fp32_again"):
    m, st, rng = setup(); meter = _Meter()
    if name.startswith("compile"):
        st.G = torch.compile(st.G); st.aux = torch.compile(st.aux)
    bf = "bf16" in name
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf else contextlib.nullcontext
    def crit():
        with ctx(): m._critic_step(st, rng, meter)
    def gen():
        with ctx(): m._generator_step(st, rng, meter)
    c0 = time.process_time()
    for _ in range(3): crit(); gen()
    warm = time.process_time() - c0
    t = time.perf_counter(); c = time.process_time()
    ct = 0.0; gt = 0.0
    for _ in range(N):
        a = time.process_time(); crit(); b = time.process_time(); gen(); e = time.process_time()
        ct += b - a; gt += e - b
    res[name] = {"first3_steps_cpu_s": warm, "critic_aux_cpu_ms": 1000 * ct / N, "generator_cpu_ms": 1000 * gt / N,
                 "step_cpu_ms": 1000 * (ct + gt) / N, "step_wall_ms": 1000 * (time.perf_counter() - t) / N}
    print(name, json.dumps(res[name]), flush=True)
if "--prof" in sys.argv:
    from torch.profiler import profile, ProfilerActivity
    for name in ("fp32", "bf16"):
        m, st, rng = setup(); meter = _Meter()
        ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if name == "bf16" else contextlib.nullcontext
        for _ in range(3):
            with ctx(): m._critic_step(st, rng, meter); m._generator_step(st, rng, meter)
        with profile(activities=[ProfilerActivity.CPU]) as p:
            for _ in range(20):
                with ctx(): m._critic_step(st, rng, meter); m._generator_step(st, rng, meter)
        print(name); print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
