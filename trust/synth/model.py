"""CTAB-GAN+ (Zhao et al. 2022) with DP-SGD whose guarantee covers the whole pipeline.

:class:`CTABGANPlus` fits a conditional WGAN-GP on the encoding of :class:`~trust.synth.transformer.DataTransformer`
and samples tables from it. The privacy plan (budget split, both DP-SGD runs, the DP row count) is
:mod:`trust.synth.plan`; the DP-SGD pieces are :mod:`trust.privacy.dpsgd`; the WGAN-GP pieces
(losses, pair gradients, fake partners) :mod:`trust.synth.trainer`; the networks :mod:`trust.synth.networks`.

Guarantee (DP fit, ``epsilon`` or ``noise_multiplier`` set): ``(epsilon, delta)``-DP for one row of the
training table under add/remove adjacency, covering the model directory and every table sampled from
it; the parts are in :attr:`CTABGANPlus.ledger_` (see :mod:`trust.synth.plan`).

Not protected: the declared schema (public by definition; a DP fit refuses an inferred one), the
settings, and anything chosen by looking at the private data (tuning is not accounted for). Non-DP
fits protect nothing.

What a DP fit never holds or releases (model directory, ledger, error messages): the exact row count
(the plan, the delta check and ``sample()``'s default use the DP count from the histogram release),
a hash of the data, fit timings, or a seed of the privacy noise. The noise is drawn from generators
seeded afresh from the operating system's entropy at every fit (:mod:`trust.privacy.noise`, 128 bits).
The Poisson sampling of DP-SGD (whose secrecy the accountant's amplification by subsampling
assumes) comes from the same secret source, and so does every draw that touches a real row or its
fake partner: the fake partners (a secret stream of their own), and the transformer's mode draws, the
real rows' conditional blocks, the partners' indices, the interpolation weights of the gradient penalty
and the dropout masks (each a function of the row's content and the release's secret key,
:class:`~trust.privacy.noise.RowStreams`, so adding a row changes no other row's draws).
``random_state`` seeds only what the guarantee does not rest on: initialisation, the generator steps
(post-processing), the transformer's fit from the DP release, and synthetic sampling.
``insecure_noise_seed`` makes the noise reproducible for tests, and every ledger entry then says
``noise_source="seeded (not a valid guarantee)"``.

Input under DP: only public-schema checks may fail (a declared column absent, a schema not
declared); values are coerced instead (:meth:`trust.data.schema.TableSchema.coerce`: clipped to
declared bounds, undeclared categories and non-finite values to missing, rows that cannot be
represented dropped), so no error depends on, or prints, a private value or count. Non-DP fits keep
the strict validation.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from torch import nn

from trust._validation import check_is_fitted, check_option, check_random_state, check_scalar, fork_seed
from trust.data.io import load_torch_weights, model_dir_writer, read_model_dir
from trust.data.schema import PROBLEM_TYPES, TableSchema, check_category_lists, infer_schema
from trust.errors import ConfigError, DataError
from trust.privacy.accountants import ACCOUNTANTS
from trust.privacy.dpsgd import (dp_step, dp_step_summed, make_dp_optimizer, per_sample_grads, poisson_rows,
                                 set_grad_samples)
from trust.privacy.ledger import PrivacyLedger
from trust.privacy.noise import NoiseSource, RowStreams, counter, noise_source
from trust.synth.networks import ARCHITECTURES, Auxiliary, MLPCritic, dropout_widths, make_networks
from trust.synth.plan import (AUTO, PrivacyPlan, Schedule, metadata_epsilon, plan_privacy, resolve_schedule,
                              steps_per_epoch)
from trust.synth.sampler import CondSampler
from trust.synth.trainer import (AUX_MASK, MODE, OutputLayout, critic_loss, critic_per_sample_grads, dp_pairs,
                                 information_loss, mlp_critic_clipped_sum)
from trust.synth.transformer import DataTransformer

_STATE_VERSION = 2
MODEL_KIND = "ctabgan-plus"
DEVICES = ("auto", "cpu", "cuda")
MATMUL_DTYPES = ("float32", "bfloat16")
LR_SCHEDULES = ("constant", "linear", "cosine")


def resolve_device(device: str, name: str = "device") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; ``"cuda"`` without a GPU is a ConfigError (``name``: the setting's
    name in the message, e.g. ``--device`` on the command line)."""
    check_option(device, name, DEVICES)
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{name}='cuda' but no CUDA device is available; use {name}='auto' or 'cpu'")
    return torch.device("cuda" if device != "cpu" and torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def _seeded_torch(seed: int, device: torch.device):
    """Inside: torch's CPU generator and, on CUDA, the generator of the device in use, seeded with ``seed``; the
    caller's generator states are restored on exit (``fork_rng`` over exactly these devices, so other GPUs are left
    alone). On CPU this is ``fork_rng(devices=[])`` + ``manual_seed`` as before (the same stream)."""
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
class _Meter:
    """Per-epoch means of the logged losses."""

    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def log(self, k: str, v: float) -> None:
        self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.counts[k] = self.counts.get(k, 0) + 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums}


@dataclass
class _TargetLayout:
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


@dataclass
class _Training:
    """Everything one fit's steps share (built by :meth:`CTABGANPlus._setup`)."""

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
    target: _TargetLayout | None = None
    aux: nn.Module | None = None
    opt_a: torch.optim.Optimizer | None = None
    ema: list[torch.Tensor] | None = None
    noise_ledger: str = ""      # the critic's noise source, for its ledger entry
    anchor: Any = None          # MarginalAnchor (DP, marginal_weight > 0): post-processing of the histogram release
    sampling: np.random.Generator | None = None   # the critic's secret Poisson sampling (DP only)
    pool_rng: np.random.Generator | None = None   # the critic's secret stream of fake partners (DP only)
    rows: RowStreams | None = None     # per-row secret randomness (DP only)
    mask_widths: list[int] = field(default_factory=list)   # the DP critic's dropout widths (supplied masks)
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


class CTABGANPlus(BaseEstimator):
    """CTAB-GAN+ tabular synthesizer, optionally trained with DP-SGD.

    Method (paper / public code, see ``METHODS.md`` section 1): mode-specific normalisation and the
    mixed / general / log encoders (:class:`~trust.synth.transformer.DataTransformer`); a conditional
    vector with training-by-sampling (:class:`~trust.synth.sampler.CondSampler`); a WGAN-GP critic
    (lambda 10); a generator trained with ``-D(fake)`` + the conditional cross-entropy + the information
    loss (L1 between means and between standard deviations of the critic's penultimate features, real vs
    fake) + the downstream loss of an auxiliary classifier/regressor trained on real rows and applied to
    fake rows; gumbel-softmax (tau 0.2) on one-hot spans, tanh on scalars; Adam (lr 2e-4, betas (0.5, 0.9),
    weight decay 1e-5).

    Architectures: the paper uses convolutional networks over rows reshaped to squares
    (``architecture="conv"``). The default ``"mlp"`` is CTGAN's residual-MLP generator with an MLP critic,
    because the convolutional version is far slower on CPU (figures in ``benchmarks/README.md``).

    One *epoch* is ``round(n / batch_size)`` critic steps (under DP: of the DP row count), so every real row
    is used once per epoch in expectation; the generator steps after every ``n_critic``-th critic step (and
    at the end of each epoch); without DP the auxiliary model trains on every critic step's real rows. The
    paper uses 5 critic steps per generator step; ``n_critic=1`` (CTGAN's choice) is the default here
    (deviation; the measurement is in ``benchmarks/README.md``).

    Differential privacy (``epsilon`` or ``noise_multiplier`` set), unit of privacy one row, add/remove
    adjacency. The total budget is split (:mod:`trust.synth.plan`) and every part is in :attr:`ledger_`:

    * *Transformer metadata*: a share ``metadata_epsilon_fraction`` of ``epsilon`` buys a discrete Laplace
      release of per-column histograms (:func:`trust.synth.dp_metadata.release_histograms`); the transformer's
      mixtures, ranges, log shifts and category/mode frequencies are fitted from that release only, and its
      noisy total is the DP row count the rest of the plan uses. Categorical columns need their category lists
      declared in the schema (public metadata); the schema itself must be declared (``schema.as_declared()``,
      ``TableSchema.from_dict`` or ``--schema``): an inferred one is refused.
    * *Critic* (DP-SGD): real rows are drawn by Poisson sampling at rate ``q = b / n_dp``; each real row's
      conditional vector is derived from the row itself (a discrete block chosen at random, the row's own
      category in it), never by choosing rows by category. Each real row is paired with a fake row drawn from the
      step's pool of fresh fake rows (one pool of the public expected batch size per step, from a secret stream,
      so no partner depends on the private batch: :func:`trust.synth.trainer.dp_pairs`; every per-row draw is a
      function of the row and the secret key), and the per-sample gradient of the pair's loss
      ``D(fake_i) - D(real_i) + lambda GP_i`` (the penalty at an interpolate of the two) is clipped to
      ``max_grad_norm`` and noised by Opacus's ``DPOptimizer`` in secure mode (``clip_pairs=True``; with
      ``False`` only the real score and the penalty are clipped and the fake-only term is added after the
      noise: see ``trust.synth.trainer``). The Opacus RDP (default) or PRV accountant counts every critic step.
      ``epsilon`` gives the noise multiplier by the accountant; an explicit ``noise_multiplier`` gives the
      epsilon after training.
    * *Auxiliary classifier/regressor*: trained *before* the GAN with its own DP-SGD run
      (``aux_epochs`` epochs, Poisson sampling, per-sample clipping) on a share ``aux_epsilon_fraction`` of the
      budget, then frozen (deviation: the paper trains it alongside the GAN without DP; pre-training spends
      far fewer private steps for the same classifier). ``aux_epsilon_fraction=0`` turns it off under DP.
    * *Information loss*: turned off under DP: it reads raw feature statistics of real rows, which DP-SGD's
      clipping does not cover.
    * The conditional vectors of fake rows use the transformer's (DP-released) frequencies; the generator
      never reads real rows; its updates are post-processing of the private critic.
    * Under DP the loss history holds only generator-side quantities (computed from fake rows and the private
      critic), never the critic's loss on real rows.

    The histogram budget is fixed before the data is read and the DP-SGD noise from the DP row count before
    any training; if the budget cannot be met, ``fit`` raises :class:`~trust.errors.PrivacyBudgetError`.
    ``delta`` must be below ``1 / n_dp``.

    Args:
        epochs: training epochs (paper: 150), or ``"auto"`` (default): 150, more only on tables so small that even
            batch 50 leaves fewer than the step budget below in 150 epochs.
        batch_size: rows per step (paper: 500; the expected batch size under Poisson sampling), or ``"auto"``
            (default): the batch whose 150 epochs take a step budget ``T``, rounded down to tens, between 50 and
            500. Without DP ``T`` is 4,500, so the batch is ``n / 30`` (Adult's 19,536 training rows keep the
            paper's 500 and 150 epochs; 3,000 rows get 100). Under DP ``n`` is the DP row count of the histogram
            release, never the exact count, and ``T`` is also at most ``(n_dp * critic_epsilon / 140) ** 2`` (the
            critic's share of ``epsilon``): more steps at a fixed budget means more noise per step, and the bound
            keeps the per-step signal-to-noise ratio near Adult's at epsilon 1, so a small budget gets fewer,
            larger batches (Adult-sized tables keep 500 and 150 epochs at any budget). The rule is
            :func:`trust.synth.plan.auto_schedule` (deviation from the paper's fixed 500; measured in
            ``benchmarks/README.md``, "Small tables"); explicit integers win. The resolved values are
            :attr:`batch_size_`, :attr:`epochs_` and :attr:`schedule_`.
        epsilon: total privacy budget (None: no DP unless ``noise_multiplier`` is set).
        delta: total delta (split between the DP-SGD runs; the histogram release has delta 0).
        noise_multiplier: explicit critic noise multiplier instead of an ``epsilon`` target.
        accountant: ``"rdp"`` or ``"prv"`` (Opacus).
        max_grad_norm: per-sample clipping bound. With ``clip_pairs`` (default) nearly every pair's gradient is
            clipped and Adam's update does not depend on the bound's scale, so the default 1.0 needs no tuning.
        architecture: ``"mlp"`` (CPU default, CTGAN-style) or ``"conv"`` (the paper's).
        n_critic: critic steps per generator step (paper: 5).
        noise_dim: generator noise width (paper: 100).
        generator_dims, critic_dims: hidden widths of the MLP networks (CTGAN: 256, 256).
        critic_dropout: dropout of the MLP critic (CTGAN: 0.5).
        conv_channels: first conv layer's channels for ``"conv"`` (public code: 64).
        lambda_gp: gradient-penalty weight (10).
        lr, betas, weight_decay: Adam settings (2e-4, (0.5, 0.9), 1e-5).
        tau: gumbel-softmax temperature (0.2).
        auxiliary: use the downstream auxiliary model when a target is given.
        aux_dims: its hidden widths (public code: 4 x 256 without DP); None: (256,)*4 without DP,
            (128, 128) under DP (per-sample gradients of a smaller model cost less and clip better).
        aux_epochs: epochs of the auxiliary model's DP-SGD pre-training (DP only).
        information_loss: use the information loss (always off under DP).
        metadata_epsilon_fraction: share of ``epsilon`` for the histogram release (with ``noise_multiplier``,
            ``metadata_epsilon`` gives it in absolute terms). Default 0.2 (the ablation is in
            ``benchmarks/README.md``).
        metadata_epsilon: absolute epsilon of the histogram release (default: the fraction of ``epsilon``,
            or 0.1 with an explicit ``noise_multiplier``).
        aux_epsilon_fraction: share of ``epsilon`` for the auxiliary model under DP (0 turns it off). Default 0.3:
            the frozen auxiliary classifier steers the generator towards the label given the features, so its
            accuracy carries over to TSTR (measurements in ``benchmarks/README.md``).
        n_modes, max_fit_rows: transformer settings.
        max_sample_retries: rounds of rejection sampling for ``sample(conditions=...)`` before giving up.
        dataset_name: the protected dataset's name for the ledger.
        release_name: prefix of this model's ledger release names (default: ``dataset_name``, else ``synth``);
            give each model trained on the same data its own, so that every release name is unique.
        per_sample: how DP-SGD gets each real row's clipped critic gradient: ``"vmap"`` materialises per-sample
            gradients with ``torch.func`` (``vmap(grad(...))``, the penalty's inner ``grad`` nested) and hands them to
            Opacus's ``DPOptimizer`` to clip and noise; ``"ghost"`` (MLP critic only) computes the same per-sample
            norms and clipped sum in closed form without materialising them (``trainer.mlp_critic_clipped_sum``,
            tested equal to the ``vmap`` path) and lets Opacus add the noise; ``"auto"``: ghost for ``mlp``,
            vmap for ``conv``.
        clip_pairs: under DP, clip each pair's whole loss (real score, fake score, penalty) jointly (default), or
            (``False``) clip the real score and the penalty and add the fake-only term after the noise. Both are
            DP with the same accounting; joint clipping scales the fake push and the real pull alike, so their
            balance does not hinge on ``max_grad_norm``.
        pac: rows per critic input, MLP critic only (CTGAN's PacGAN packing uses 10; CTAB-GAN+ does not pack).
            The batch is rounded down to whole packs. Must be 1 under DP (a pack mixes rows, DP-SGD clips rows).
        generator_ema: keep an exponential moving average of the generator's weights with this decay and sample
            from it (None: the last weights). Not in the paper: GAN training oscillates, more so under DP noise,
            and the average smooths out the state the last step happens to end in; it is post-processing of the
            generator, so it costs no privacy. Default 0.995 (about the last 200 generator steps).
        downstream_weight: weight of the auxiliary model's downstream loss in the generator's loss (paper: 1).
            Under DP the frozen auxiliary classifier can be exploited: with a weak (noisy) critic the generator
            may push features to extremes the classifier is sure about (``benchmarks/README.md``). Lower it if the
            synthetic marginals drift while the label looks "easy".
        marginal_weight: DP only; weight of the *marginal anchoring* term in the generator's loss (not in the paper;
            :mod:`trust.synth.anchor`): the total variation distance, summed over columns, between the generator
            batch's soft per-column marginals and the distributions of the DP histogram release that the
            transformer was fitted from. Post-processing of that already-paid release: no extra budget (the
            critic's ledger entry says so when it is on). 0 (default) turns it off; the measurements are in
            ``benchmarks/README.md``. A ConfigError without DP (there is no release to anchor to).
        n_generator: generator steps per generator turn (default 1, as the paper). Generator steps read no real
            row (under DP they are post-processing of the private critic), so more of them cost no privacy; with a
            larger ``batch_size`` under DP (fewer, less noisy critic steps at the same epsilon) they keep the
            generator's number of updates.
        critic_lr_schedule, generator_lr_schedule: ``"constant"`` (default, the paper), ``"linear"`` or
            ``"cosine"``: the learning rate decays from ``lr`` to ``lr_final_fraction * lr`` over the planned
            critic steps (``epochs * steps_per_epoch``, public settings and under DP the DP row count only);
            set on the optimiser once per critic step. Late small steps average out DP-SGD's noise.
        lr_final_fraction: the schedules' final learning rate as a fraction of ``lr`` (default 0.1).
        insecure_noise_seed: None (default): every DP noise draw comes from generators seeded afresh from OS
            entropy at each fit, the only setting that backs the guarantee. An integer makes the DP noise
            reproducible, FOR TESTS ONLY: anyone holding it can subtract the noise; every ledger entry then
            records ``noise_source="seeded (not a valid guarantee)"`` and the report fails the release under
            ``require_secure_noise``.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``. Results on CPU do not depend on it.
            On CUDA every network, the training data, the EMA copy, the BatchNorm refresh, sampling and the DP-SGD
            noise generator live on the GPU (the secret Poisson sampling stays a CPU NumPy generator);
            ``random_state`` seeds the CPU generator and the in-use CUDA device's generator (the caller's states are
            restored afterwards), so sampling repeats exactly on the same GPU and software, while training may differ
            in the last bits between runs (CUDA's index additions in backward accumulate in a non-deterministic
            order), and CUDA numbers differ from CPU ones (other random stream, other kernels). The plan, the
            accountant and the ledger do not depend on the device.
        matmul_dtype: ``"float32"`` (default) or ``"bfloat16"``: the matrix products of the non-DP critic step, the
            auxiliary model's step and the generator step run in bfloat16 under ``torch.autocast`` (the networks'
            outputs, the losses, the gumbel-softmax and the optimiser state stay float32). A step takes about 0.7-0.75x
            the float32 one's CPU time on an AMD EPYC with AVX512-BF16 (faster too on AMX CPUs and GPUs; slower on CPUs
            without native bf16, where it is emulated); results then depend on the
            CPU (bf16 kernels differ between CPUs) and differ from float32's beyond rounding (8-bit mantissas in the
            products). Measured effect on speed and TSTR in ``benchmarks/README.md``. Under DP the critic's DP-SGD
            step stays float32 (per-sample norms and the clipped sum must be exact for the sensitivity bound); only the
            generator step (post-processing) uses bfloat16.
        random_state: seed of everything that is not DP noise or a draw touching a real row under DP
            (initialisation, the generator's steps, synthetic sampling; without DP also partners, conditional
            vectors, dropout masks and mode draws; under DP those are secret like the noise); same seed, data and
            params give the same model without DP (and with DP only together with ``insecure_noise_seed``).
        verbose: show a progress bar per epoch with the losses.

    Attributes (after fit):
        transformer_, schema_, generator_, critic_, ledger_ (:class:`~trust.privacy.PrivacyLedger`),
        loss_history_ (per-epoch mean losses), sample_rows_ (``sample()``'s default: the DP row count under DP),
        dp_, privacy_ (the DP-SGD figures), plan_ (the :class:`~trust.synth.plan.PrivacyPlan`, DP only),
        steps_, epoch_seconds_ and epoch_cpu_seconds_ (wall and process CPU time per epoch; in memory only, never
        saved), batch_size_ and epochs_ (the settings trained with, ``"auto"`` resolved), schedule_ (a
        :class:`~trust.synth.plan.Schedule`: those two and one line why).
    """

    def __init__(self, epochs: int | str = "auto", batch_size: int | str = "auto", epsilon: float | None = None,
                 delta: float = 1e-5,
                 noise_multiplier: float | None = None, accountant: str = "rdp", max_grad_norm: float = 1.0,
                 architecture: str = "mlp", n_critic: int = 1, noise_dim: int = 100,
                 generator_dims: tuple[int, ...] = (256, 256), critic_dims: tuple[int, ...] = (256, 256),
                 critic_dropout: float = 0.5, conv_channels: int = 64, lambda_gp: float = 10.0, lr: float = 2e-4,
                 betas: tuple[float, float] = (0.5, 0.9), weight_decay: float = 1e-5, tau: float = 0.2,
                 auxiliary: bool = True, aux_dims: tuple[int, ...] | None = None, aux_epochs: int = 5,
                 information_loss: bool = True, metadata_epsilon_fraction: float = 0.2,
                 metadata_epsilon: float | None = None, aux_epsilon_fraction: float = 0.3, n_modes: int = 10,
                 max_fit_rows: int = 20000, max_sample_retries: int = 50, dataset_name: str = "",
                 release_name: str = "", per_sample: str = "auto", clip_pairs: bool = True, pac: int = 1,
                 generator_ema: float | None = 0.995, downstream_weight: float = 1.0, marginal_weight: float = 0.0,
                 n_generator: int = 1, critic_lr_schedule: str = "constant", generator_lr_schedule: str = "constant",
                 lr_final_fraction: float = 0.1,
                 insecure_noise_seed: int | None = None, device: str = "auto", matmul_dtype: str = "float32",
                 random_state: int | None = None, verbose: bool = True) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.epsilon = epsilon
        self.delta = delta
        self.noise_multiplier = noise_multiplier
        self.accountant = accountant
        self.max_grad_norm = max_grad_norm
        self.architecture = architecture
        self.n_critic = n_critic
        self.noise_dim = noise_dim
        self.generator_dims = generator_dims
        self.critic_dims = critic_dims
        self.critic_dropout = critic_dropout
        self.conv_channels = conv_channels
        self.lambda_gp = lambda_gp
        self.lr = lr
        self.betas = betas
        self.weight_decay = weight_decay
        self.tau = tau
        self.auxiliary = auxiliary
        self.aux_dims = aux_dims
        self.aux_epochs = aux_epochs
        self.information_loss = information_loss
        self.metadata_epsilon_fraction = metadata_epsilon_fraction
        self.metadata_epsilon = metadata_epsilon
        self.aux_epsilon_fraction = aux_epsilon_fraction
        self.n_modes = n_modes
        self.max_fit_rows = max_fit_rows
        self.max_sample_retries = max_sample_retries
        self.dataset_name = dataset_name
        self.release_name = release_name
        self.per_sample = per_sample
        self.clip_pairs = clip_pairs
        self.pac = pac
        self.generator_ema = generator_ema
        self.downstream_weight = downstream_weight
        self.marginal_weight = marginal_weight
        self.n_generator = n_generator
        self.critic_lr_schedule = critic_lr_schedule
        self.generator_lr_schedule = generator_lr_schedule
        self.lr_final_fraction = lr_final_fraction
        self.insecure_noise_seed = insecure_noise_seed
        self.device = device
        self.matmul_dtype = matmul_dtype
        self.random_state = random_state
        self.verbose = verbose

    @property
    def dp(self) -> bool:
        """Whether fitting uses differential privacy."""
        return self.epsilon is not None or self.noise_multiplier is not None

    # ------------------------------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for k in ("epochs", "batch_size"):
            v = getattr(self, k)
            if not (isinstance(v, str) and v == AUTO):
                if isinstance(v, str) or isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                    raise ConfigError(f"{k}={v!r} must be a positive integer or 'auto' (adapts to the table's size)")
        for k in ("n_critic", "noise_dim", "aux_epochs", "max_sample_retries", "pac",
                  "n_generator"):
            check_scalar(getattr(self, k), k, int, min_val=1)
        for k in ("max_grad_norm", "lr", "tau"):
            check_scalar(getattr(self, k), k, float, min_val=0, include_boundaries="neither")
        for k in ("epsilon", "noise_multiplier", "metadata_epsilon"):
            check_scalar(getattr(self, k), k, float, min_val=0, include_boundaries="neither", allow_none=True)
        check_scalar(self.downstream_weight, "downstream_weight", float, min_val=0)
        check_scalar(self.marginal_weight, "marginal_weight", float, min_val=0)
        check_scalar(self.lr_final_fraction, "lr_final_fraction", float, min_val=0, max_val=1)
        check_option(self.critic_lr_schedule, "critic_lr_schedule", LR_SCHEDULES)
        check_option(self.generator_lr_schedule, "generator_lr_schedule", LR_SCHEDULES)
        check_scalar(self.delta, "delta", float, min_val=0, max_val=1, include_boundaries="neither")
        for k in ("metadata_epsilon_fraction", "aux_epsilon_fraction", "critic_dropout"):
            check_scalar(getattr(self, k), k, float, min_val=0, max_val=1, include_boundaries="left")
        check_scalar(self.lambda_gp, "lambda_gp", float, min_val=0)
        check_scalar(self.generator_ema, "generator_ema", float, min_val=0, max_val=1, include_boundaries="neither",
                     allow_none=True)
        check_scalar(self.insecure_noise_seed, "insecure_noise_seed", int, min_val=0, allow_none=True)
        check_option(self.accountant, "accountant", ACCOUNTANTS)
        check_option(self.architecture, "architecture", ARCHITECTURES)
        check_option(self.per_sample, "per_sample", ("auto", "vmap", "ghost"))
        check_option(self.device, "device", DEVICES)
        check_option(self.matmul_dtype, "matmul_dtype", MATMUL_DTYPES)
        self._check_combinations()

    def _check_combinations(self) -> None:
        if self.epsilon is not None and self.noise_multiplier is not None:
            raise ConfigError("give either epsilon (a target) or noise_multiplier (explicit noise), not both")
        if self.epsilon is not None:
            if self.metadata_epsilon is not None:
                raise ConfigError("with an epsilon target the histogram release takes metadata_epsilon_fraction of it; "
                                  "leave metadata_epsilon unset")
            if self.metadata_epsilon_fraction <= 0:
                raise ConfigError("metadata_epsilon_fraction must be > 0 under DP: the transformer needs its DP "
                                  "histogram release")
            if self.metadata_epsilon_fraction + self.aux_epsilon_fraction >= 1:
                raise ConfigError("metadata_epsilon_fraction + aux_epsilon_fraction must be < 1 to leave budget "
                                  "for the critic")
        if self.marginal_weight > 0 and not self.dp:
            raise ConfigError(f"marginal_weight={self.marginal_weight:g} anchors the generator to the DP histogram "
                              "release, which only a DP fit makes; set epsilon or noise_multiplier, or marginal_weight=0")
        if self.per_sample == "ghost" and self.architecture != "mlp":
            raise ConfigError("per_sample='ghost' needs architecture='mlp'; use 'vmap' (or 'auto') for 'conv'")
        if self.pac > 1 and self.architecture != "mlp":
            raise ConfigError(f"pac={self.pac} packs rows for the MLP critic only; use pac=1 with "
                              f"architecture='{self.architecture}'")
        if self.pac > 1 and self.dp:
            raise ConfigError(f"pac={self.pac} scores rows in packs, but DP-SGD clips each row's gradient; "
                              "use pac=1 with epsilon/noise_multiplier")

    def _resolve_schema(self, df: Any, schema: TableSchema | Mapping[str, Any] | None, target: str | None,
                        problem_type: str | None) -> TableSchema:
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"fit expects a pandas DataFrame, got {type(df).__name__}")
        if not self.dp and len(df) == 0:
            raise DataError("the table has no rows; pass a table with at least one row")
        if target is not None and target not in df.columns:
            raise DataError(f"target '{target}' is not a column of the data; choose one of: "
                            f"{', '.join(map(str, df.columns[:20]))}")
        if problem_type is not None:
            check_option(problem_type, "problem_type", PROBLEM_TYPES)
        if isinstance(schema, Mapping):
            schema = TableSchema.from_dict(schema)
        elif schema is not None and not isinstance(schema, TableSchema):
            raise ConfigError(f"schema must be a TableSchema, a dict or None, got {type(schema).__name__}")
        if self.dp and (schema is None or not schema.declared):
            raise ConfigError("a DP fit needs a declared schema, not one inferred from the private rows: review a "
                              "draft (trust data schema draft data.csv > schema.json) and pass it with --schema / "
                              "TableSchema.from_dict, or call schema.as_declared() in code")
        if self.dp:
            check_category_lists(schema, None)  # rules on the public lists alone: nothing private decides
        if schema is None:
            schema = infer_schema(df, target=target, problem_type=problem_type)
        if target is not None and target not in schema.columns:
            raise DataError(f"target '{target}' is not a column of the schema; choose one of: "
                            f"{', '.join(schema.names)}")
        tgt = target if target is not None else schema.target
        ptype = problem_type or (schema.problem_type if tgt == schema.target else None)
        if tgt is not None and ptype is None:
            ptype = "classification" if schema[tgt].kind == "categorical" else "regression"
        if tgt is not None and ptype == "classification" and schema[tgt].kind != "categorical":
            raise ConfigError(f"target '{tgt}' is {schema[tgt].kind}; a classification target must be categorical "
                              "(or use problem_type='regression')")
        return TableSchema(dict(schema.columns), tgt, ptype if tgt is not None else None, dict(schema.meta))

    def _check_table(self, df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
        """Strict validation without DP; under DP public-schema checks only and coercion (see the module doc)."""
        if self.dp:
            return schema.coerce(df)
        df = schema.validate(df)
        for name in schema.names:
            if df[name].nunique(dropna=False) < 2:
                raise DataError(f"column '{name}' is constant; drop it, it carries no information")
        if len(df) < 10:
            raise DataError(f"the table has {len(df)} rows; CTAB-GAN+ needs at least 10")
        return df

    # ------------------------------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, schema: TableSchema | Mapping[str, Any] | None = None, target: str | None = None,
            problem_type: str | None = None,
            on_epoch_end: Callable[["EpochView", int], None] | None = None) -> "CTABGANPlus":
        """Fit the transformer and the GAN on ``df``.

        Args:
            df: the real table.
            schema: column kinds and public metadata (:class:`~trust.data.schema.TableSchema`); None infers it
                (:func:`~trust.data.schema.infer_schema`), which a DP fit refuses: under DP pass a declared schema.
            target: the downstream target column (overrides the schema's).
            problem_type: ``classification`` or ``regression`` (default: from the schema / the target's kind).
            on_epoch_end: called as ``on_epoch_end(view, epoch)`` after each epoch (``epoch`` counts from 1), e.g.
                to score the model mid-fit. ``view`` is an :class:`EpochView`: ``view.sample(...)`` samples as the
                fitted model's :meth:`sample` would if training stopped here (the averaged generator weights, the
                BatchNorm statistics refreshed for them), from a copy of the generator, so training is unchanged:
                the call runs with the torch random state saved and restored, and nothing in it draws from the
                training's random streams (same seed, same model with or without the callback). Under DP the view
                is post-processing of the generator (no privacy cost). The view is valid only during the call.

        Returns:
            self

        Raises:
            DataError: unknown target; without DP also a missing value in a column declared non-missing, a
                constant column, ...
            ConfigError: bad hyperparameters (e.g. ``epsilon <= 0``, ``delta >= 1/n``); an inferred schema under DP.
            PrivacyBudgetError: the budget cannot be met (raised before any training).
        """
        self._check_params()
        device = resolve_device(self.device)
        schema = self._resolve_schema(df, schema, target, problem_type)
        df = self._check_table(df, schema)
        rng = check_random_state(self.random_state)
        ledger = PrivacyLedger()
        tr = DataTransformer(n_modes=self.n_modes, max_fit_rows=self.max_fit_rows, random_state=fork_seed(rng))
        plan = anchor = None
        if self.dp:
            plan, rel = self._release_metadata(df, schema, ledger)   # raises before any training
            tr.fit(None, schema, histograms=rel)
            if self.marginal_weight > 0:
                from trust.synth.anchor import MarginalAnchor

                anchor = MarginalAnchor.from_release(rel, tr).to(device)   # the release alone (post-processing)
        else:
            tr.fit(df, schema)
        seed_x, streams = fork_seed(rng), None
        if self.dp:   # mode draws as a function of each row and the release's secret key (trust.privacy.noise)
            streams = RowStreams.for_table(df, self._noise("rows"))
            every = np.arange(len(streams))
            X = tr.transform(df, row_uniform=lambda ci: streams.uniform(every, counter(MODE, 0, ci))[:, 0])
            if len(X) != len(streams):
                raise RuntimeError("the transformer's coercion dropped rows the row keys were computed for")
        else:
            X = tr.transform(df, random_state=seed_x)
        self.schema_, self.transformer_, self.dp_ = schema, tr, plan is not None
        self.sample_rows_ = plan.n_dp if plan is not None else len(df)
        # "auto" batch/epochs: from the DP row count under DP (the plan's), from the exact count without DP
        self._set_schedule(plan.schedule if plan is not None else resolve_schedule(self, len(df)))
        with _seeded_torch(fork_seed(rng), device):
            st = self._setup(torch.as_tensor(X, dtype=torch.float32, device=device), schema, plan, rng, ledger,
                             streams)
            st.anchor = anchor
            self._train(st, rng, on_epoch_end)
            self._finish(st, rng, ledger)
        return self

    def _set_schedule(self, sched: Schedule) -> None:
        self.schedule_ = sched
        self.batch_size_, self.epochs_ = sched.batch_size, sched.epochs

    def _release(self, part: str) -> str:
        return f"{self.release_name or self.dataset_name or 'synth'}/{part}"

    def _noise(self, stream: str) -> NoiseSource:
        """A fresh noise source for one release (OS entropy unless ``insecure_noise_seed``)."""
        return noise_source(self.insecure_noise_seed, stream=stream)

    def _release_metadata(self, df: pd.DataFrame, schema: TableSchema,
                          ledger: PrivacyLedger) -> tuple[PrivacyPlan, Any]:
        """The histogram release (budget fixed by the settings alone), then the plan from its DP row count."""
        from trust.synth.dp_metadata import release_histograms

        rel, entry = release_histograms(df, schema, metadata_epsilon(self),
                                        insecure_noise_seed=self.insecure_noise_seed,
                                        release=self._release("transformer-histograms"), dataset=self.dataset_name)
        use_aux = self.auxiliary and schema.target is not None and self.aux_epsilon_fraction > 0
        plan = plan_privacy(self, int(round(rel.n_rows)), use_aux)
        ledger.append(entry)
        return plan, rel

    # ------------------------------------------------------------------------------------------
    # training: set-up, one critic step, one generator step, one epoch, the finish
    # ------------------------------------------------------------------------------------------
    def _make_networks(self, data_dim: int, cond_dim: int) -> tuple[nn.Module, nn.Module]:
        return make_networks(self.architecture, data_dim, cond_dim, self.noise_dim, tuple(self.generator_dims),
                             tuple(self.critic_dims), self.critic_dropout, self.conv_channels, int(self.pac))

    def _target_layout(self, schema: TableSchema, device: torch.device) -> _TargetLayout | None:
        tr = self.transformer_
        if schema.target is None or not self.auxiliary:
            return None
        spans = tr.column_spans(schema.target)
        tgt_idx = np.concatenate([np.arange(s.start, s.end) for s in spans])
        feat = torch.as_tensor(np.setdiff1d(np.arange(tr.output_dim_), tgt_idx), device=device)
        if schema.problem_type == "classification":
            s = spans[0]
            return _TargetLayout(feat, "classification", s.width, start=s.start, end=s.end)
        return _TargetLayout(feat, "regression", len(tgt_idx), idx=torch.as_tensor(tgt_idx, device=device))

    def _adam(self, net: nn.Module) -> torch.optim.Adam:
        # fused: one kernel for all parameters (faster on CPU; measured in benchmarks/README.md)
        return torch.optim.Adam(net.parameters(), lr=self.lr, betas=tuple(self.betas), weight_decay=self.weight_decay,
                                fused=True)

    def _setup(self, X: torch.Tensor, schema: TableSchema, plan: PrivacyPlan | None, rng: np.random.Generator,
               ledger: PrivacyLedger, streams: RowStreams | None = None) -> _Training:
        tr = self.transformer_
        n, dim = X.shape
        blocks = [(b.start, b.end) for b in tr.cond_blocks_]
        sampler = CondSampler(blocks, [b.counts for b in tr.cond_blocks_], X.cpu().numpy())
        G, D = (net.to(X.device) for net in self._make_networks(dim, sampler.dim))
        pac = int(self.pac)
        if plan is None:
            batch = max(pac, min(self.batch_size_, n) // pac * pac)  # whole packs
            spe = steps_per_epoch(n, self.batch_size_)
        else:
            batch, spe = plan.batch, plan.steps_per_epoch
        ghost = plan is not None and (self.per_sample == "ghost" or (self.per_sample == "auto"
                                                                     and self.architecture == "mlp"))
        noise = self._noise("critic") if plan is not None else None
        opt_d = self._adam(D) if noise is None else make_dp_optimizer(self._adam(D), plan.critic, noise, X.device)
        st = _Training(X, G, D, self._adam(G), opt_d, sampler, OutputLayout(tr.spans_, blocks).to(X.device), batch,
                       spe, plan, ghost, target=self._target_layout(schema, X.device),
                       noise_ledger=noise.ledger if noise is not None else "",
                       sampling=noise.numpy if noise is not None else None,
                       pool_rng=noise.stream("partners") if noise is not None else None, rows=streams)
        if plan is not None and isinstance(D, MLPCritic) and self.critic_dropout > 0:
            st.mask_widths = dropout_widths(D)
        if self.generator_ema is not None:
            st.ema = [p.detach().clone() for p in G.parameters()]
        if st.target is not None and plan is None:
            st.aux = Auxiliary(len(st.target.feat), st.target.out, tuple(self.aux_dims or (256, 256, 256, 256)))
            st.aux = st.aux.to(X.device)
            st.opt_a = self._adam(st.aux)
        elif st.target is not None and plan.aux is not None:
            st.aux = self._train_aux_dp(st, rng, ledger)
        return st

    def _train_aux_dp(self, st: _Training, rng: np.random.Generator, ledger: PrivacyLedger) -> nn.Module:
        """Pre-train the auxiliary model with its own DP-SGD run (per-sample clipping via torch.func), then freeze."""
        run, lay = st.plan.aux, st.target
        aux = Auxiliary(len(lay.feat), lay.out, tuple(self.aux_dims or (128, 128))).to(st.device)
        noise = self._noise("auxiliary")
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
            self._release("ctabgan-auxiliary"), dataset=self.dataset_name, noise_source=noise.ledger,
            notes=f"auxiliary {lay.kind} model pre-trained with DP-SGD (Opacus secure-mode noise), then frozen; its "
                  "downstream loss on fake rows guides the generator (post-processing)."))
        self.aux_privacy_ = run.figures()
        return aux

    def _train(self, st: _Training, rng: np.random.Generator,
               on_epoch_end: Callable[["EpochView", int], None] | None = None) -> None:
        from tqdm.auto import tqdm

        if on_epoch_end is not None and not callable(on_epoch_end):
            raise ConfigError(f"on_epoch_end must be a function (view, epoch), not a {type(on_epoch_end).__name__}")
        history: list[dict[str, float]] = []
        epoch_seconds: list[float] = []
        epoch_cpu: list[float] = []
        bar = tqdm(range(self.epochs_), desc="CTAB-GAN+" + (" (DP)" if st.dp else ""), disable=not self.verbose,
                   unit="epoch")
        for _epoch in bar:
            t_epoch, c_epoch = time.perf_counter(), time.process_time()
            means = self._epoch(st, rng)
            history.append(means)
            epoch_seconds.append(time.perf_counter() - t_epoch)
            epoch_cpu.append(time.process_time() - c_epoch)
            bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()
                             if k in ("critic", "generator", "cond", "critic_fake")})
            if on_epoch_end is not None:
                # the callback may draw from torch's global generators (sampling does): save and restore them,
                # so the training's stream is untouched; the view copies the generator, never the live one
                view = EpochView(self, st, _epoch + 1, history)
                devices = [st.device.index or 0] if st.device.type == "cuda" else []
                try:
                    with torch.random.fork_rng(devices=devices):
                        on_epoch_end(view, _epoch + 1)
                finally:
                    view._close()
        bar.close()
        self.loss_history_ = history
        self.epoch_seconds_ = epoch_seconds
        self.epoch_cpu_seconds_ = epoch_cpu

    def _matmul(self, st: _Training):
        """``matmul_dtype="bfloat16"``: autocast the matrix products to bfloat16 (a no-op context for float32)."""
        if self.matmul_dtype == "bfloat16":
            return torch.autocast(device_type=st.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _epoch(self, st: _Training, rng: np.random.Generator) -> dict[str, float]:
        meter = _Meter()
        st.G.train()
        st.D.train()
        for step in range(st.steps_per_epoch):
            self._schedule_lr(st)
            if st.dp:
                self._critic_step_dp(st, rng, meter)      # always float32: exact per-sample clipping
            else:
                with self._matmul(st):
                    self._critic_step(st, rng, meter)
            st.steps += 1
            if (step + 1) % self.n_critic == 0 or step == st.steps_per_epoch - 1:
                for _ in range(self.n_generator):
                    with self._matmul(st):
                        self._generator_step(st, rng, meter)
        return meter.means()

    def _schedule_lr(self, st: _Training) -> None:
        """Set each optimiser's learning rate for the next critic step from its schedule (a function of the step
        index and the planned number of steps only)."""
        if self.critic_lr_schedule == "constant" and self.generator_lr_schedule == "constant":
            return
        frac = st.steps / max(1, self.epochs_ * st.steps_per_epoch)
        for opt, kind in ((st.opt_d, self.critic_lr_schedule), (st.opt_g, self.generator_lr_schedule)):
            lr = lr_at(kind, frac, self.lr, self.lr_final_fraction)
            for group in opt.param_groups:
                group["lr"] = lr

    def _critic_step(self, st: _Training, rng: np.random.Generator, meter: _Meter) -> None:
        """Non-DP WGAN-GP critic step (training-by-sampling), then the auxiliary model on the same real rows."""
        cond, _, _, rows = st.sampler.sample_train(st.batch, rng)
        cond_t = st.tensor(cond)
        with torch.no_grad():
            z = torch.randn(len(cond), self.noise_dim, device=st.device)
            fake = st.layout.activate(st.G(torch.cat([z, cond_t], dim=1)), self.tau)
        fake_in = torch.cat([fake, cond_t], dim=1)
        real = st.X.index_select(0, st.tensor(rows))        # = X[rows], faster
        real_in = torch.cat([real, cond_t], dim=1)
        pac = int(self.pac)
        alpha = torch.rand(st.batch // pac, 1, device=st.device).repeat_interleave(pac, dim=0)  # one per pack
        loss_d, d_real, d_fake = critic_loss(st.D, real_in, fake_in, alpha, self.lambda_gp)
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

    def _critic_step_dp(self, st: _Training, rng: np.random.Generator, meter: _Meter) -> None:
        """DP-SGD critic step: Poisson rows, each paired with its own fake row, clipped per pair, noised."""
        rows = poisson_rows(len(st.X), st.plan.critic.sample_rate, st.sampling)   # secret, like the noise
        pb = dp_pairs(st.G, st.layout, st.sampler, st.X, rows, st.batch, self.noise_dim, self.tau,
                      pool_rng=st.pool_rng, streams=st.rows, step=st.steps, mask_widths=st.mask_widths,
                      p_drop=float(self.critic_dropout))
        if st.ghost:
            summed, _ = mlp_critic_clipped_sum(st.D, pb.real, pb.partner, pb.alpha, self.lambda_gp, self.max_grad_norm,
                                               include_fake=self.clip_pairs, masks=pb.masks)
        else:
            set_grad_samples(st.D, critic_per_sample_grads(st.D, pb.real, pb.partner, pb.alpha, self.lambda_gp,
                                                           include_fake=self.clip_pairs, masks=pb.masks))
        # the fake-only term reads the step's pool (a public number of rows); added after the noise when not clipped
        extra = None
        if self.clip_pairs:
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

    def _generator_step(self, st: _Training, rng: np.random.Generator, meter: _Meter) -> None:
        if st.dp:
            cond, bg, cg = st.sampler.sample_generation(st.batch, rng)
        else:
            # a fresh training-by-sampling draw; its real rows (same conditional vectors) feed the information
            # loss, as in the public code
            cond, bg, cg, rows_g = st.sampler.sample_train(st.batch, rng)
        cond_t = st.tensor(cond)
        for p in st.D.parameters():
            p.requires_grad_(False)
        z = torch.randn(st.batch, self.noise_dim, device=st.device)
        raw = st.G(torch.cat([z, cond_t], dim=1))
        fake = st.layout.activate(raw, self.tau)
        f_fake = st.D.features(torch.cat([fake, cond_t], dim=1))
        loss_adv = -st.D.head(f_fake).mean()
        loss_cond = st.layout.cond_loss(raw, bg, cg)
        loss_g = loss_adv + loss_cond
        if self.information_loss and not st.dp:
            with torch.no_grad():
                f_real = st.D.features(torch.cat([st.X.index_select(0, st.tensor(rows_g)), cond_t], dim=1))
            loss_info = information_loss(f_real, f_fake)
            loss_g = loss_g + loss_info
            meter.log("info", loss_info.item())
        if st.aux is not None:
            loss_g = loss_g + self.downstream_weight * self._downstream_loss(st, fake, meter)
        if st.anchor is not None:
            loss_m = st.anchor.loss(fake)   # against the DP histogram release: post-processing
            loss_g = loss_g + self.marginal_weight * loss_m
            meter.log("marginal", loss_m.item())
        st.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        st.opt_g.step()
        self._ema_update(st)
        for p in st.D.parameters():
            p.requires_grad_(True)
        meter.log("generator", loss_adv.item())
        meter.log("cond", loss_cond.item())

    def _downstream_loss(self, st: _Training, fake: torch.Tensor, meter: _Meter) -> torch.Tensor:
        """The auxiliary model's loss on fake rows (its parameters frozen for this step)."""
        for p in st.aux.parameters():
            p.requires_grad_(False)
        st.aux.eval() if st.dp else st.aux.train()
        loss = st.target.loss(st.aux(fake.index_select(1, st.target.feat)), fake)
        meter.log("downstream", loss.item())
        for p in st.aux.parameters():
            p.requires_grad_(not st.dp)
        return loss

    def _ema_update(self, st: _Training) -> None:
        if st.ema is None:
            return
        # warm-up: the decay grows from 0.1 towards generator_ema, so early weights fade out
        st.g_steps += 1
        decay = min(self.generator_ema, (1 + st.g_steps) / (10 + st.g_steps))
        torch._foreach_lerp_(st.ema, [p.detach() for p in st.G.parameters()], 1.0 - decay)

    def _finish(self, st: _Training, rng: np.random.Generator, ledger: PrivacyLedger) -> None:
        """Average weights in, BatchNorm statistics refreshed, the critic's ledger entry, the fitted state."""
        G, D = self._load_average(st.G, st, rng), st.D
        D.eval()
        tr = self.transformer_
        blocks = [(b.start, b.end) for b in tr.cond_blocks_]
        self.generator_, self.critic_ = G, D
        self.sampler_ = CondSampler(blocks, [b.counts for b in tr.cond_blocks_])
        self.layout_ = st.layout
        self.steps_ = st.steps
        self.privacy_: dict[str, Any] = {"dp": st.dp}
        if st.dp:
            run = st.plan.critic
            if st.steps != run.steps:
                raise RuntimeError(f"took {st.steps} critic steps, planned {run.steps}")
            ledger.append(run.ledger_entry(
                self._release("ctabgan-critic"), dataset=self.dataset_name, noise_source=st.noise_ledger,
                notes=("WGAN-GP critic: per-sample clipping of "
                       + ("each real row's pair loss (fake score - real score + gradient penalty), "
                          if self.clip_pairs else "the real-row score and gradient penalty, ")
                       + "Gaussian noise by Opacus DPOptimizer (secure mode), Poisson sampling at the DP row count's "
                         "rate, conditional vectors derived from each sampled row, fake partners from a pool of the "
                         "expected batch size; every draw touching a row is a function of the row and a secret key; "
                         "the generator and the synthetic data are post-processing. Information "
                         f"loss off. Settings: {self.schedule_.reason} (batch_size={self.batch_size!r}, "
                         f"epochs={self.epochs!r}; 'auto' resolved from the DP row count and the public budget)."
                         + (f" Marginal anchoring (weight {self.marginal_weight:g}) pulls the generator towards the DP "
                          "histogram release: post-processing, no extra budget." if st.anchor is not None else ""))))
            self.plan_ = st.plan
            self.privacy_.update(run.figures())
        self.ledger_ = ledger

    def _averaged_copy(self, st: _Training, rng: np.random.Generator) -> nn.Module:
        """A copy of the generator as :meth:`_finish` would leave it now (averaged weights, BatchNorm statistics
        refreshed with ``rng``), for :class:`EpochView`; the live generator and EMA are not touched."""
        return self._load_average(copy.deepcopy(st.G), st, rng)

    def _load_average(self, G: nn.Module, st: _Training, rng: np.random.Generator) -> nn.Module:
        """``G`` (the live generator or a copy of it) with the averaged weights loaded and its BatchNorm statistics
        refreshed for them (when ``generator_ema`` is on), in eval mode."""
        if st.ema is not None:
            with torch.no_grad():
                for p, a in zip(G.parameters(), st.ema):
                    p.copy_(a)
            self._refresh_batchnorm(G, st.sampler, st.batch, rng)
        return G.eval()

    def _refresh_batchnorm(self, G: nn.Module, sampler: CondSampler, batch: int, rng: np.random.Generator,
                           rounds: int = 20) -> None:
        """Recompute the generator's BatchNorm statistics for its (averaged) weights: ``rounds`` forward passes
        on noise and generation-time conditional vectors (no data read), cumulative averages."""
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
                G(torch.cat([torch.randn(batch, self.noise_dim, device=device), cond], dim=1))
        for bn, m in zip(bns, momenta):
            bn.momentum = m

    # ------------------------------------------------------------------------------------------
    # sample
    # ------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_is_fitted(self, "generator_")

    def _generate(self, n: int, cond: np.ndarray | None, rng: np.random.Generator, chunk: int = 20000) -> np.ndarray:
        out = []
        G = self.generator_
        device = next(G.parameters()).device
        G.eval()
        with torch.no_grad():
            for s in range(0, n, chunk):
                m = min(chunk, n - s)
                c = self.sampler_.sample_generation(m, rng)[0] if cond is None else cond[:m]
                c_t = torch.as_tensor(c, device=device)
                z = torch.randn(m, self.noise_dim, device=device)
                out.append(self.layout_.sample_activate(G(torch.cat([z, c_t], dim=1))).cpu().numpy())
        return np.concatenate(out, axis=0) if out else np.zeros((0, self.transformer_.output_dim_), np.float32)

    def sample(self, n: int | None = None, conditions: Mapping[str, Any] | None = None,
               random_state: int | None = None) -> pd.DataFrame:
        """Generate ``n`` synthetic rows.

        Args:
            n: number of rows (default :attr:`sample_rows_`: under DP the DP row count of the training table,
                never its exact size; without DP the table's size).
            conditions: ``{column: value}`` on categorical columns; every returned row has these values. The
                first condition sets the conditional vector; rows are then kept only if all conditions hold
                (rejection sampling, at most ``max_sample_retries`` rounds, then a DataError instead of an
                endless loop).
            random_state: seed of this call (default: the model's ``random_state``, so repeated calls give the
                same rows; pass different seeds for different draws).

        Raises:
            DataError: a condition on an unknown or non-categorical column, or on a category never seen in fit;
                the conditions could not be met within the retries.
        """
        self._check_fitted()
        n = self.sample_rows_ if n is None else check_scalar(n, "n", int, min_val=1)
        if conditions is not None and not isinstance(conditions, Mapping):
            raise ConfigError(f"conditions must be a dict {{column: value}}, not a {type(conditions).__name__}")
        rng = check_random_state(random_state if random_state is not None else self.random_state)
        wanted = self._conditions(conditions or {})
        with _seeded_torch(fork_seed(rng), next(self.generator_.parameters()).device):
            if not wanted:
                return self.transformer_.inverse_transform(self._generate(n, None, rng))
            return self.transformer_.inverse_transform(self._rejection_sample(n, wanted, conditions, rng))

    def _conditions(self, conditions: Mapping[str, Any]) -> list[tuple[int, int, int]]:
        """``(block index, start, category index)`` per condition."""
        tr = self.transformer_
        wanted = []
        for col, value in conditions.items():
            if col not in tr.columns_:
                raise DataError(f"condition on '{col}': no such column; choose one of: {', '.join(tr.columns_)}")
            idx = tr.category_index(col, value)  # DataError for non-categorical columns / unseen categories
            span = tr.column_spans(col)[0]
            b = next(i for i, blk in enumerate(tr.cond_blocks_) if blk.start == span.start)
            wanted.append((b, span.start, idx))
        return wanted

    def _rejection_sample(self, n: int, wanted: list[tuple[int, int, int]], conditions: Mapping[str, Any],
                          rng: np.random.Generator) -> np.ndarray:
        tr = self.transformer_
        b0, _, c0 = wanted[0]
        kept: list[np.ndarray] = []
        have = 0
        for _round in range(self.max_sample_retries):
            m = max(n - have, 100) * 2
            X = self._generate(m, self.sampler_.fixed(b0, c0, m), rng)
            ok = np.ones(len(X), dtype=bool)
            for b, _start, idx in wanted:
                blk = tr.cond_blocks_[b]
                ok &= X[:, blk.start:blk.end].argmax(axis=1) == idx
            kept.append(X[ok])
            have += int(ok.sum())
            if have >= n:
                return np.concatenate(kept, axis=0)[:n]
        desc = ", ".join(f"{k}={v!r}" for k, v in conditions.items())
        raise DataError(f"could only generate {have} of {n} rows with {desc} after {self.max_sample_retries} "
                        "rounds; the model rarely produces this combination: relax the conditions or ask for "
                        "fewer rows")

    # ------------------------------------------------------------------------------------------
    # privacy report
    # ------------------------------------------------------------------------------------------
    def privacy_report(self) -> dict[str, Any]:
        """The guarantee of the fitted model.

        Returns a dict: ``dp`` (bool); ``epsilon`` and ``delta`` (the total over every release in the ledger, by
        sequential composition); the critic's DP-SGD figures ``critic_epsilon``, ``critic_delta``, ``accountant``,
        ``noise_multiplier``, ``sample_rate``, ``steps``, ``max_grad_norm``; ``noise_sources`` (each entry's);
        ``entries`` (the ledger entries as dicts) and ``sentences`` (one line per entry); the settings the fit
        trained with, ``batch_size`` and ``epochs`` (``"auto"`` resolved) and ``schedule`` (one line saying what
        was chosen and why). Without DP every DP figure is None and the sentence says so.
        """
        self._check_fitted()
        p = self.privacy_
        settings = {"batch_size": self.batch_size_, "epochs": self.epochs_, "schedule": self.schedule_.reason}
        if not p.get("dp"):
            return {**settings, "dp": False, "epsilon": None, "delta": None, "critic_epsilon": None,
                    "critic_delta": None,
                    "accountant": None, "noise_multiplier": None, "sample_rate": None, "steps": self.steps_,
                    "max_grad_norm": None, "noise_sources": [], "entries": [],
                    "sentences": ["No differential privacy: the model was trained without DP-SGD and its transformer "
                                  "read the raw table; treat the synthetic data as derived from personal data."]}
        eps, delta = self.ledger_.total()
        return {**settings, "dp": True, "epsilon": eps, "delta": delta, "critic_epsilon": p["epsilon"],
                "critic_delta": p["delta"],
                "accountant": p["accountant"], "noise_multiplier": p["noise_multiplier"],
                "sample_rate": p["sample_rate"], "steps": p["steps"], "max_grad_norm": p["max_grad_norm"],
                "noise_sources": [e.noise_source for e in self.ledger_],
                "entries": self.ledger_.to_list(), "sentences": [e.sentence() for e in self.ledger_]}

    # ------------------------------------------------------------------------------------------
    # save / load
    # ------------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        """What model.json holds: settings, schema, transformer, ledger, DP figures, losses. No row count beyond
        ``sample_rows`` (the DP count under DP), no data hash, no timing."""
        return {"version": _STATE_VERSION, "params": self.get_params(), "schema": self.schema_.to_dict(),
                "transformer": self.transformer_.to_dict(), "ledger": self.ledger_.to_list(),
                "privacy": self.privacy_, "loss_history": self.loss_history_, "sample_rows": int(self.sample_rows_),
                "steps": self.steps_, "dp": self.dp_, "schedule": self.schedule_.to_dict()}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save to the directory ``path`` (weights, transformer, schema, ledger, params), atomically.

        ``path`` may be new, empty or a CTAB-GAN+ model directory (replaced as a whole); a directory holding
        anything else, or a file, is refused with a DataError and left untouched (see :mod:`trust.data.io`).
        """
        self._check_fitted()
        with model_dir_writer(path, kind=MODEL_KIND) as tmp:
            torch.save({"generator": self.generator_.state_dict(), "critic": self.critic_.state_dict()},
                       tmp / "weights.pt")
            (tmp / "model.json").write_text(json.dumps(self._state(), indent=1, default=float))
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "CTABGANPlus":
        """Load a model saved with :meth:`save`, onto the CPU (a DataError names a missing, foreign or damaged
        file)."""
        path = Path(path)
        read_model_dir(path, kind=MODEL_KIND, files=("model.json", "weights.pt"), what="CTAB-GAN+ model")
        try:
            state = json.loads((path / "model.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError(f"'{path / 'model.json'}' is not valid JSON ({type(e).__name__}); save the model "
                            "again") from None
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise DataError(f"'{path}' holds model state version "
                            f"{state.get('version') if isinstance(state, dict) else None!r}; refit the model")
        params = dict(state["params"])
        for k in ("generator_dims", "critic_dims", "betas", "aux_dims"):
            if params.get(k) is not None:
                params[k] = tuple(params[k])
        self = cls(**params)
        self.schema_ = TableSchema.from_dict(state["schema"])
        self.transformer_ = DataTransformer.from_dict(state["transformer"])
        self.ledger_ = PrivacyLedger.from_list(state["ledger"])
        self.privacy_ = state["privacy"]
        self.loss_history_ = state["loss_history"]
        self.sample_rows_ = state["sample_rows"]
        self.steps_ = state["steps"]
        self.dp_ = state["dp"]
        self._set_schedule(Schedule(**state["schedule"]) if "schedule" in state else    # saved before "auto"
                           Schedule(int(params["batch_size"]), int(params["epochs"]),
                                    f"batch {params['batch_size']} (set), {params['epochs']} epochs (set)"))
        tr = self.transformer_
        blocks = [(b.start, b.end) for b in tr.cond_blocks_]
        self.sampler_ = CondSampler(blocks, [b.counts for b in tr.cond_blocks_])
        self.layout_ = OutputLayout(tr.spans_, blocks)
        G, D = self._make_networks(tr.output_dim_, self.sampler_.dim)
        load_torch_weights(path / "weights.pt", {"generator": G, "critic": D})
        G.eval()
        D.eval()
        self.generator_, self.critic_ = G, D
        return self


class EpochView:
    """What ``CTABGANPlus.fit(on_epoch_end=...)`` hands its callback after each epoch: the model as it would be if
    training stopped now, for sampling only. Valid only during the callback.

    Attributes:
        epoch: epochs completed (from 1).
        loss_history_: the per-epoch mean losses so far (a copy).
    """

    def __init__(self, model: CTABGANPlus, st: _Training, epoch: int, history: list[dict[str, float]]) -> None:
        self.epoch = epoch
        self.loss_history_ = [dict(h) for h in history]
        self._model, self._st, self._open = model, st, True
        self._frozen: CTABGANPlus | None = None

    def _close(self) -> None:
        self._open, self._st, self._frozen = False, None, None

    def sample(self, n: int | None = None, conditions: Mapping[str, Any] | None = None,
               random_state: int | None = None) -> pd.DataFrame:
        """:meth:`CTABGANPlus.sample` on the current state (the BatchNorm refresh of the averaged weights draws
        from this call's ``random_state``, never from the training's streams)."""
        if not self._open:
            raise ConfigError("an EpochView is valid only inside the on_epoch_end call it was given to; sample "
                              "there, or from the fitted model after fit")
        model = self._model
        if self._frozen is None:
            st = self._st
            rng = check_random_state(random_state if random_state is not None else model.random_state)
            with _seeded_torch(fork_seed(rng), st.device):
                G = model._averaged_copy(st, rng)
            view = copy.copy(model)   # the settings; the sampling state below is this epoch's
            tr = model.transformer_
            blocks = [(b.start, b.end) for b in tr.cond_blocks_]
            view.generator_, view.layout_ = G, st.layout
            view.sampler_ = CondSampler(blocks, [b.counts for b in tr.cond_blocks_])
            self._frozen = view
        return self._frozen.sample(n, conditions=conditions, random_state=random_state)



def lr_at(schedule: str, frac: float, lr: float, final_fraction: float) -> float:
    """The learning rate at ``frac`` (0 to 1) of the planned steps: ``constant``, ``linear`` or ``cosine`` decay from
    ``lr`` to ``final_fraction * lr``."""
    frac = min(1.0, max(0.0, float(frac)))
    if schedule == "constant":
        return float(lr)
    if schedule == "linear":
        return float(lr) * (1.0 - (1.0 - final_fraction) * frac)
    return float(lr) * (final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + np.cos(np.pi * frac)))


__all__ = ["CTABGANPlus", "EpochView", "resolve_device", "DEVICES", "LR_SCHEDULES", "lr_at"]
