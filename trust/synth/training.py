"""The CTAB-GAN+ trainer: the training steps, owned by one object, behind the thin estimator.

:class:`~trust.synth.model.CTABGANPlus` checks its settings, resolves the schema, makes the DP histogram
release, fits the transformer and encodes the table; then it hands the encoded matrix to a
:class:`Trainer`, which owns everything that happens per step and returns a :class:`Trained`:

* :meth:`Trainer.setup`: networks, optimisers (Opacus's ``DPOptimizer`` with the secret noise generator
  under DP), the conditional sampler, the auxiliary model (trained with its own DP-SGD run first under DP:
  :func:`train_aux_dp`);
* :meth:`Trainer.train`: the epochs; each critic step (:meth:`Trainer.critic_step` without DP,
  :meth:`Trainer.critic_step_dp` with DP-SGD), a generator step after every ``n_critic``-th, the
  generator's moving average;
* :meth:`Trainer.finish`: the averaged weights in, BatchNorm statistics refreshed, the critic's ledger entry.

The losses, the DP pairs and per-sample gradients are :mod:`trust.synth.trainer`; the settings
:class:`~trust.synth.settings.SynthSettings`. Without DP the random streams are the estimator's
``random_state`` (a NumPy generator passed in, and torch's global generator seeded by :func:`seeded_torch`),
consumed in a fixed order, so the same seed gives the same model.
"""

from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trust._validation import check_option
from trust.data.schema import TableSchema
from trust.errors import ConfigError
from trust.privacy.dpsgd import (dp_step, dp_step_summed, make_dp_optimizer, per_sample_grads, poisson_rows,
                                 set_grad_samples)
from trust.privacy.ledger import PrivacyLedger
from trust.privacy.noise import NoiseSource, RowStreams, counter, noise_source
from trust.synth.networks import Auxiliary, MLPCritic, dropout_widths, make_networks
from trust.synth.plan import PrivacyPlan, Schedule, steps_per_epoch
from trust.synth.sampler import CondSampler
from trust.synth.settings import DEVICES, SynthSettings
from trust.synth.trainer import (AUX_MASK, OutputLayout, critic_loss, critic_per_sample_grads, dp_pairs,
                                 information_loss, mlp_critic_clipped_sum)
from trust.synth.transformer import DataTransformer


def resolve_device(device: str, name: str = "device") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; ``"cuda"`` without a GPU is a ConfigError (``name``: the setting's
    name in the message, e.g. ``--device`` on the command line)."""
    check_option(device, name, DEVICES)
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{name}='cuda' but no CUDA device is available; use {name}='auto' or 'cpu'")
    return torch.device("cuda" if device != "cpu" and torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def seeded_torch(seed: int, device: torch.device):
    """Inside: torch's CPU generator and, on CUDA, the generator of the device in use, seeded with ``seed``; the
    caller's generator states are restored on exit (``fork_rng`` over exactly these devices, so other GPUs are left
    alone). On CPU this is ``fork_rng(devices=[])`` + ``manual_seed`` (the same stream)."""
    cuda = []
    if device.type == "cuda":
        cuda = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda):
        torch.random.default_generator.manual_seed(seed)
        for d in cuda:
            with torch.cuda.device(d):
                torch.cuda.manual_seed(seed)
        yield


@dataclass
class Meter:
    """Per-epoch means of the logged losses."""

    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def log(self, k: str, v: float) -> None:
        self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.counts[k] = self.counts.get(k, 0) + 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums}


@dataclass
class TargetLayout:
    """Where the downstream target sits in the encoded row, for the auxiliary model."""

    feat: torch.Tensor          # feature columns of the encoded row
    kind: str                   # classification | regression
    out: int                    # auxiliary output width
    start: int = 0              # classification: the target's one-hot span
    end: int = 0
    idx: torch.Tensor | None = None   # regression: the target's encoded columns

    def loss(self, out: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Downstream loss of the auxiliary model's output ``out`` on encoded ``rows`` (their own targets)."""
        if self.kind == "classification":
            return F.cross_entropy(out, rows[:, self.start:self.end].argmax(dim=1))
        return F.mse_loss(out, rows.index_select(1, self.idx))


def target_layout(tr: DataTransformer, schema: TableSchema, device: torch.device) -> TargetLayout | None:
    """The target's layout in the encoded row, or None without a target."""
    if schema.target is None:
        return None
    spans = tr.column_spans(schema.target)
    tgt_idx = np.concatenate([np.arange(s.start, s.end) for s in spans])
    feat = torch.as_tensor(np.setdiff1d(np.arange(tr.output_dim_), tgt_idx), device=device)
    if schema.problem_type == "classification":
        s = spans[0]
        return TargetLayout(feat, "classification", s.width, start=s.start, end=s.end)
    return TargetLayout(feat, "regression", len(tgt_idx), idx=torch.as_tensor(tgt_idx, device=device))


@dataclass
class TrainState:
    """Everything one fit's steps share (built by :meth:`Trainer.setup`)."""

    X: torch.Tensor
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: Any
    sampler: CondSampler
    layout: OutputLayout
    batch: int
    steps_per_epoch: int
    plan: PrivacyPlan | None
    ghost: bool
    target: TargetLayout | None = None
    aux: nn.Module | None = None
    opt_a: torch.optim.Optimizer | None = None
    ema: list[torch.Tensor] | None = None
    noise_ledger: str = ""      # the critic's noise source, for its ledger entry
    anchor: Any = None          # MarginalAnchor (DP, marginal_weight > 0): post-processing of the histogram release
    sampling: np.random.Generator | None = None   # the critic's secret Poisson sampling (DP only)
    pool_rng: np.random.Generator | None = None   # the critic's secret stream of fake partners (DP only)
    rows: RowStreams | None = None     # per-row secret randomness (DP only)
    mask_widths: list[int] = field(default_factory=list)   # the DP critic's dropout widths (supplied masks)
    aux_privacy: dict[str, Any] | None = None
    g_steps: int = 0
    steps: int = 0

    @property
    def dp(self) -> bool:
        return self.plan is not None

    @property
    def device(self) -> torch.device:
        return self.X.device

    def tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, device=self.device)


@dataclass
class Trained:
    """What a fit leaves: the networks (generator averaged, in eval mode), the sampling layout, the losses and
    timings, the privacy figures and the ledger."""

    generator: nn.Module
    critic: nn.Module
    sampler: CondSampler
    layout: OutputLayout
    steps: int
    privacy: dict[str, Any]
    ledger: PrivacyLedger
    plan: PrivacyPlan | None = None
    aux_privacy: dict[str, Any] | None = None


def make_adam(net: nn.Module, cfg: SynthSettings) -> torch.optim.Adam:
    """The paper's Adam for ``net`` (fused: one kernel for all parameters, faster on CPU)."""
    return torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay,
                            fused=True)


def train_aux_dp(st: TrainState, cfg: SynthSettings, noise: NoiseSource, release: str,
                 ledger: PrivacyLedger) -> nn.Module:
    """Pre-train the auxiliary model with its own DP-SGD run (Poisson rows from the secret source, per-sample
    clipping via ``torch.func``, dropout masks that are a function of each row), then freeze it; its ledger entry
    goes into ``ledger`` and its figures into ``st.aux_privacy``."""
    run, lay = st.plan.aux, st.target
    aux = Auxiliary(len(lay.feat), lay.out, tuple(cfg.aux_dims or (128, 128))).to(st.device)
    opt = make_dp_optimizer(torch.optim.Adam(aux.parameters(), lr=1e-3, betas=(0.9, 0.999), fused=True), run,
                            noise, st.device)
    aux.train()
    widths = dropout_widths(aux)
    for t in range(run.steps):
        idx = poisson_rows(len(st.X), run.sample_rate, noise.numpy)   # secret sampling
        rows = st.X[st.tensor(idx)]
        masks = [st.tensor(st.rows.keep_mask(idx, counter(AUX_MASK, t, k), w, 0.5)) for k, w in enumerate(widths)]
        set_grad_samples(aux, per_sample_grads(aux, lay.loss, rows[:, lay.feat], rows, masks=masks or None))
        dp_step(opt, aux)
    aux.eval()
    for p in aux.parameters():
        p.requires_grad_(False)
    ledger.append(run.ledger_entry(
        release, dataset=cfg.dataset_name, noise_source=noise.ledger,
        notes=f"auxiliary {lay.kind} model pre-trained with DP-SGD (Opacus secure-mode noise), then frozen; its "
              "downstream loss on fake rows guides the generator (post-processing)."))
    st.aux_privacy = run.figures()
    return aux


def refresh_batchnorm(G: nn.Module, sampler: CondSampler, batch: int, noise_dim: int, rng: np.random.Generator,
                      rounds: int = 20) -> None:
    """Recompute the generator's BatchNorm statistics for its (averaged) weights: ``rounds`` forward passes on
    noise and generation-time conditional vectors (no data read), cumulative averages."""
    bns = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    device = next(G.parameters()).device
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    G.train()
    with torch.no_grad():
        for _ in range(rounds):
            cond = torch.as_tensor(sampler.sample_generation(batch, rng)[0], device=device)
            G(torch.cat([torch.randn(batch, noise_dim, device=device), cond], dim=1))
    for bn, m in zip(bns, momenta):
        bn.momentum = m


def lr_at(schedule: str, frac: float, lr: float, final_fraction: float) -> float:
    """The learning rate at ``frac`` (0 to 1) of the planned steps: ``constant``, ``linear`` or ``cosine`` decay from
    ``lr`` to ``final_fraction * lr``."""
    frac = min(1.0, max(0.0, float(frac)))
    if schedule == "constant":
        return float(lr)
    if schedule == "linear":
        return float(lr) * (1.0 - (1.0 - final_fraction) * frac)
    return float(lr) * (final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + np.cos(np.pi * frac)))


class Trainer:
    """The training steps of one CTAB-GAN+ fit (module docstring).

    Args:
        cfg: the checked settings.
        transformer: the fitted transformer (its spans and conditional blocks).
        schema: the resolved schema (target and problem type).
        schedule: the resolved batch size and epochs.
        release: prefix of the ledger's release names (``<release>/ctabgan-critic``, ...).
    """

    def __init__(self, cfg: SynthSettings, transformer: DataTransformer, schema: TableSchema, schedule: Schedule,
                 release: str) -> None:
        self.cfg, self.transformer, self.schema, self.schedule, self.release = cfg, transformer, schema, schedule, release

    def _noise(self, stream: str) -> NoiseSource:
        """A fresh noise source for one release (OS entropy unless ``insecure_noise_seed``)."""
        return noise_source(self.cfg.insecure_noise_seed, stream=stream)

    def setup(self, X: torch.Tensor, plan: PrivacyPlan | None, ledger: PrivacyLedger,
              streams: RowStreams | None = None) -> TrainState:
        """Networks, optimisers, sampler and (under DP, trained first) the auxiliary model."""
        cfg, tr = self.cfg, self.transformer
        n, dim = X.shape
        blocks = [(b.start, b.end) for b in tr.cond_blocks_]
        sampler = CondSampler(blocks, [b.counts for b in tr.cond_blocks_], X.cpu().numpy())
        G, D = (net.to(X.device) for net in make_networks(
            cfg.architecture, dim, sampler.dim, cfg.noise_dim, tuple(cfg.generator_dims), tuple(cfg.critic_dims),
            cfg.critic_dropout, cfg.conv_channels, int(cfg.pac)))
        if plan is None:
            batch = max(cfg.pac, min(self.schedule.batch_size, n) // cfg.pac * cfg.pac)  # whole packs
            spe = steps_per_epoch(n, self.schedule.batch_size)
        else:
            batch, spe = plan.batch, plan.steps_per_epoch
        ghost = plan is not None and (cfg.per_sample == "ghost" or (cfg.per_sample == "auto"
                                                                    and cfg.architecture == "mlp"))
        noise = self._noise("critic") if plan is not None else None
        opt_d = make_adam(D, cfg) if noise is None else make_dp_optimizer(make_adam(D, cfg), plan.critic, noise,
                                                                          X.device)
        st = TrainState(X, G, D, make_adam(G, cfg), opt_d, sampler, OutputLayout(tr.spans_, blocks).to(X.device),
                        batch, spe, plan, ghost,
                        target=target_layout(tr, self.schema, X.device) if cfg.auxiliary else None,
                        noise_ledger=noise.ledger if noise is not None else "",
                        sampling=noise.numpy if noise is not None else None,
                        pool_rng=noise.stream("partners") if noise is not None else None, rows=streams)
        if plan is not None and isinstance(D, MLPCritic) and cfg.critic_dropout > 0:
            st.mask_widths = dropout_widths(D)
        if cfg.generator_ema is not None:
            st.ema = [p.detach().clone() for p in G.parameters()]
        if st.target is not None and plan is None:
            st.aux = Auxiliary(len(st.target.feat), st.target.out, tuple(cfg.aux_dims or (256, 256, 256, 256)))
            st.aux = st.aux.to(X.device)
            st.opt_a = make_adam(st.aux, cfg)
        elif st.target is not None and plan.aux is not None:
            st.aux = train_aux_dp(st, cfg, self._noise("auxiliary"), f"{self.release}/ctabgan-auxiliary", ledger)
        return st

    def train(self, st: TrainState, rng: np.random.Generator,
              on_epoch_end: Callable[[TrainState, int, list[dict[str, float]]], None] | None = None
              ) -> tuple[list[dict[str, float]], list[float], list[float]]:
        """Every epoch; returns the per-epoch mean losses, wall and process CPU seconds. ``on_epoch_end(st, epoch,
        history)`` runs after each epoch with torch's random state saved and restored (the training's streams are
        untouched)."""
        from tqdm.auto import tqdm

        history: list[dict[str, float]] = []
        wall: list[float] = []
        cpu: list[float] = []
        bar = tqdm(range(self.schedule.epochs), desc="CTAB-GAN+" + (" (DP)" if st.dp else ""),
                   disable=not self.cfg.verbose, unit="epoch")
        for epoch in bar:
            t_epoch, c_epoch = time.perf_counter(), time.process_time()
            means = self._epoch(st, rng)
            history.append(means)
            wall.append(time.perf_counter() - t_epoch)
            cpu.append(time.process_time() - c_epoch)
            bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()
                             if k in ("critic", "generator", "cond", "critic_fake")})
            if on_epoch_end is not None:
                devices = [st.device.index or 0] if st.device.type == "cuda" else []
                with torch.random.fork_rng(devices=devices):
                    on_epoch_end(st, epoch + 1, history)
        bar.close()
        return history, wall, cpu

    def _matmul(self, st: TrainState):
        """``matmul_dtype="bfloat16"``: autocast the matrix products to bfloat16 (a no-op context for float32)."""
        if self.cfg.matmul_dtype == "bfloat16":
            return torch.autocast(device_type=st.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _epoch(self, st: TrainState, rng: np.random.Generator) -> dict[str, float]:
        meter = Meter()
        st.G.train()
        st.D.train()
        for step in range(st.steps_per_epoch):
            self._schedule_lr(st)
            if st.dp:
                self.critic_step_dp(st, meter)      # always float32: exact per-sample clipping
            else:
                with self._matmul(st):
                    self.critic_step(st, rng, meter)
            st.steps += 1
            if (step + 1) % self.cfg.n_critic == 0 or step == st.steps_per_epoch - 1:
                for _ in range(self.cfg.n_generator):
                    with self._matmul(st):
                        self.generator_step(st, rng, meter)
        return meter.means()

    def _schedule_lr(self, st: TrainState) -> None:
        """Set each optimiser's learning rate for the next critic step from its schedule (a function of the step
        index and the planned number of steps only)."""
        cfg = self.cfg
        if cfg.critic_lr_schedule == "constant" and cfg.generator_lr_schedule == "constant":
            return
        frac = st.steps / max(1, self.schedule.epochs * st.steps_per_epoch)
        for opt, kind in ((st.opt_d, cfg.critic_lr_schedule), (st.opt_g, cfg.generator_lr_schedule)):
            lr = lr_at(kind, frac, cfg.lr, cfg.lr_final_fraction)
            for group in opt.param_groups:
                group["lr"] = lr

    def critic_step(self, st: TrainState, rng: np.random.Generator, meter: Meter) -> None:
        """Non-DP WGAN-GP critic step (training-by-sampling), then the auxiliary model on the same real rows."""
        cond, _, _, rows = st.sampler.sample_train(st.batch, rng)
        cond_t = st.tensor(cond)
        with torch.no_grad():
            z = torch.randn(len(cond), self.cfg.noise_dim, device=st.device)
            fake = st.layout.activate(st.G(torch.cat([z, cond_t], dim=1)), self.cfg.tau)
        fake_in = torch.cat([fake, cond_t], dim=1)
        real = st.X.index_select(0, st.tensor(rows))        # = X[rows], faster
        real_in = torch.cat([real, cond_t], dim=1)
        pac = int(self.cfg.pac)
        alpha = torch.rand(st.batch // pac, 1, device=st.device).repeat_interleave(pac, dim=0)  # one per pack
        loss_d, d_real, d_fake = critic_loss(st.D, real_in, fake_in, alpha, self.cfg.lambda_gp)
        st.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        st.opt_d.step()
        meter.log("critic", loss_d.item())
        meter.log("wasserstein", (d_real - d_fake).item())
        if st.aux is not None:
            loss_a = st.target.loss(st.aux(real.index_select(1, st.target.feat)), real)
            st.opt_a.zero_grad(set_to_none=True)
            loss_a.backward()
            st.opt_a.step()
            meter.log("aux_real", loss_a.item())

    def critic_step_dp(self, st: TrainState, meter: Meter) -> None:
        """DP-SGD critic step: Poisson rows, each paired with a fake row of the step's pool, clipped per pair, noised
        (every draw secret or a function of its row: :func:`trust.synth.trainer.dp_pairs`)."""
        cfg = self.cfg
        rows = poisson_rows(len(st.X), st.plan.critic.sample_rate, st.sampling)   # secret, like the noise
        pb = dp_pairs(st.G, st.layout, st.sampler, st.X, rows, st.batch, cfg.noise_dim, cfg.tau,
                      pool_rng=st.pool_rng, streams=st.rows, step=st.steps, mask_widths=st.mask_widths,
                      p_drop=float(cfg.critic_dropout))
        if st.ghost:
            summed, _ = mlp_critic_clipped_sum(st.D, pb.real, pb.partner, pb.alpha, cfg.lambda_gp, cfg.max_grad_norm,
                                               include_fake=cfg.clip_pairs, masks=pb.masks)
        else:
            set_grad_samples(st.D, critic_per_sample_grads(st.D, pb.real, pb.partner, pb.alpha, cfg.lambda_gp,
                                                           include_fake=cfg.clip_pairs, masks=pb.masks))
        # the fake-only term reads the step's pool (a public number of rows); added after the noise when not clipped
        extra = None
        if cfg.clip_pairs:
            with torch.no_grad():
                d_fake = st.D(pb.pool).mean()
        else:
            d_fake = st.D(pb.pool).mean()
            extra = torch.autograd.grad(d_fake, list(st.D.parameters()), allow_unused=True)
        if st.ghost:
            dp_step_summed(st.opt_d, st.D, summed, extra)
        else:
            dp_step(st.opt_d, st.D, extra)
        meter.log("critic_fake", d_fake.item())

    def generator_step(self, st: TrainState, rng: np.random.Generator, meter: Meter) -> None:
        cfg = self.cfg
        if st.dp:
            cond, bg, cg = st.sampler.sample_generation(st.batch, rng)
        else:
            # a fresh training-by-sampling draw; its real rows (same conditional vectors) feed the information
            # loss, as in the public code
            cond, bg, cg, rows_g = st.sampler.sample_train(st.batch, rng)
        cond_t = st.tensor(cond)
        for p in st.D.parameters():
            p.requires_grad_(False)
        z = torch.randn(st.batch, cfg.noise_dim, device=st.device)
        raw = st.G(torch.cat([z, cond_t], dim=1))
        fake = st.layout.activate(raw, cfg.tau)
        f_fake = st.D.features(torch.cat([fake, cond_t], dim=1))
        loss_adv = -st.D.head(f_fake).mean()
        loss_cond = st.layout.cond_loss(raw, bg, cg)
        loss_g = loss_adv + loss_cond
        if cfg.information_loss and not st.dp:
            with torch.no_grad():
                f_real = st.D.features(torch.cat([st.X.index_select(0, st.tensor(rows_g)), cond_t], dim=1))
            loss_info = information_loss(f_real, f_fake)
            loss_g = loss_g + loss_info
            meter.log("info", loss_info.item())
        if st.aux is not None:
            loss_g = loss_g + cfg.downstream_weight * self._downstream_loss(st, fake, meter)
        if st.anchor is not None:
            loss_m = st.anchor.loss(fake)   # against the DP histogram release: post-processing
            loss_g = loss_g + cfg.marginal_weight * loss_m
            meter.log("marginal", loss_m.item())
        st.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        st.opt_g.step()
        self._ema_update(st)
        for p in st.D.parameters():
            p.requires_grad_(True)
        meter.log("generator", loss_adv.item())
        meter.log("cond", loss_cond.item())

    def _downstream_loss(self, st: TrainState, fake: torch.Tensor, meter: Meter) -> torch.Tensor:
        """The auxiliary model's loss on fake rows (its parameters frozen for this step)."""
        for p in st.aux.parameters():
            p.requires_grad_(False)
        st.aux.eval() if st.dp else st.aux.train()
        loss = st.target.loss(st.aux(fake.index_select(1, st.target.feat)), fake)
        meter.log("downstream", loss.item())
        for p in st.aux.parameters():
            p.requires_grad_(not st.dp)
        return loss

    def _ema_update(self, st: TrainState) -> None:
        if st.ema is None:
            return
        # warm-up: the decay grows from 0.1 towards generator_ema, so early weights fade out
        st.g_steps += 1
        decay = min(self.cfg.generator_ema, (1 + st.g_steps) / (10 + st.g_steps))
        torch._foreach_lerp_(st.ema, [p.detach() for p in st.G.parameters()], 1.0 - decay)

    def finish(self, st: TrainState, rng: np.random.Generator, ledger: PrivacyLedger) -> Trained:
        """Average weights in, BatchNorm statistics refreshed, the critic's ledger entry (DP), the fitted state."""
        G, D = self.load_average(st.G, st, rng), st.D
        D.eval()
        tr = self.transformer
        blocks = [(b.start, b.end) for b in tr.cond_blocks_]
        out = Trained(G, D, CondSampler(blocks, [b.counts for b in tr.cond_blocks_]), st.layout, st.steps,
                      {"dp": st.dp}, ledger, aux_privacy=st.aux_privacy)
        if st.dp:
            run = st.plan.critic
            if st.steps != run.steps:
                raise RuntimeError(f"took {st.steps} critic steps, planned {run.steps}")
            ledger.append(run.ledger_entry(f"{self.release}/ctabgan-critic", dataset=self.cfg.dataset_name,
                                           noise_source=st.noise_ledger, notes=self._critic_notes(st)))
            out.plan = st.plan
            out.privacy.update(run.figures())
        return out

    def _critic_notes(self, st: TrainState) -> str:
        cfg = self.cfg
        return ("WGAN-GP critic: per-sample clipping of "
                + ("each real row's pair loss (fake score - real score + gradient penalty), "
                   if cfg.clip_pairs else "the real-row score and gradient penalty, ")
                + "Gaussian noise by Opacus DPOptimizer (secure mode), Poisson sampling at the DP row count's "
                  "rate, conditional vectors derived from each sampled row, fake partners from a pool of the "
                  "expected batch size; every draw touching a row is a function of the row and a secret key; "
                  "the generator and the synthetic data are post-processing. Information "
                  f"loss off. Settings: {self.schedule.reason} (batch_size={cfg.batch_size!r}, "
                  f"epochs={cfg.epochs!r}; 'auto' resolved from the DP row count and the public budget)."
                + (f" Marginal anchoring (weight {cfg.marginal_weight:g}) pulls the generator towards the DP "
                   "histogram release: post-processing, no extra budget." if st.anchor is not None else ""))

    def averaged_copy(self, st: TrainState, rng: np.random.Generator) -> nn.Module:
        """A copy of the generator as :meth:`finish` would leave it now (averaged weights, BatchNorm statistics
        refreshed with ``rng``), for :class:`~trust.synth.model.EpochView`; the live generator and EMA are kept."""
        return self.load_average(copy.deepcopy(st.G), st, rng)

    def load_average(self, G: nn.Module, st: TrainState, rng: np.random.Generator) -> nn.Module:
        """``G`` (the live generator or a copy of it) with the averaged weights loaded and its BatchNorm statistics
        refreshed for them (when ``generator_ema`` is on), in eval mode."""
        if st.ema is not None:
            with torch.no_grad():
                for p, a in zip(G.parameters(), st.ema):
                    p.copy_(a)
            refresh_batchnorm(G, st.sampler, st.batch, self.cfg.noise_dim, rng)
        return G.eval()


__all__ = ["Trainer", "TrainState", "Trained", "TargetLayout", "Meter", "resolve_device", "seeded_torch",
           "target_layout", "train_aux_dp", "refresh_batchnorm", "make_adam", "lr_at"]
