"""The settings of :class:`~trust.synth.model.CTABGANPlus`: one frozen, checked record.

:class:`SynthSettings` is the one definition of every setting (name, default, meaning, check). The
estimator stores them as scikit-learn attributes (``get_params``/``set_params``/``clone``/``repr``
work as usual; its keyword-only signature is built from this record's fields), and every fit works
from ``SynthSettings.of(estimator)``: validated once, immutable, tuples for the list-valued settings
(so a ``params.yaml`` list is accepted). :meth:`SynthSettings.privacy` is the smaller frozen record
the privacy planner receives (:class:`trust.synth.plan.PrivacySettings`), never the estimator.

A setting name the record does not know is a :class:`~trust.errors.ConfigError` naming it and the
closest known names, so a misspelt key under ``synth.model`` in ``params.yaml`` fails at once.

Settings (defaults in the signature):

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
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from typing import Any, Mapping

from trust._validation import check_option, check_scalar
from trust.errors import ConfigError
from trust.privacy.accountants import ACCOUNTANTS
from trust.synth.networks import ARCHITECTURES
from trust.synth.plan import AUTO, PrivacySettings

DEVICES = ("auto", "cpu", "cuda")
MATMUL_DTYPES = ("float32", "bfloat16")
LR_SCHEDULES = ("constant", "linear", "cosine")
PER_SAMPLE = ("auto", "vmap", "ghost")


@dataclasses.dataclass(frozen=True)
class SynthSettings:
    """Every setting of CTAB-GAN+ (module docstring), frozen; :meth:`of` builds and checks it."""

    epochs: int | str = AUTO
    batch_size: int | str = AUTO
    epsilon: float | None = None
    delta: float = 1e-5
    noise_multiplier: float | None = None
    accountant: str = "rdp"
    max_grad_norm: float = 1.0
    architecture: str = "mlp"
    n_critic: int = 1
    noise_dim: int = 100
    generator_dims: tuple[int, ...] = (256, 256)
    critic_dims: tuple[int, ...] = (256, 256)
    critic_dropout: float = 0.5
    conv_channels: int = 64
    lambda_gp: float = 10.0
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.9)
    weight_decay: float = 1e-5
    tau: float = 0.2
    auxiliary: bool = True
    aux_dims: tuple[int, ...] | None = None
    aux_epochs: int = 5
    information_loss: bool = True
    metadata_epsilon_fraction: float = 0.2
    metadata_epsilon: float | None = None
    aux_epsilon_fraction: float = 0.3
    n_modes: int = 10
    max_fit_rows: int = 20000
    max_sample_retries: int = 50
    dataset_name: str = ""
    release_name: str = ""
    per_sample: str = "auto"
    clip_pairs: bool = True
    pac: int = 1
    generator_ema: float | None = 0.995
    downstream_weight: float = 1.0
    marginal_weight: float = 0.0
    n_generator: int = 1
    critic_lr_schedule: str = "constant"
    generator_lr_schedule: str = "constant"
    lr_final_fraction: float = 0.1
    insecure_noise_seed: int | None = None
    device: str = "auto"
    matmul_dtype: str = "float32"
    random_state: int | None = None
    verbose: bool = True

    @classmethod
    def names(cls) -> list[str]:
        """Every setting's name, in order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """``{name: default}`` for every setting."""
        return {f.name: f.default for f in dataclasses.fields(cls)}

    @classmethod
    def check_names(cls, names: Any, what: str = "CTAB-GAN+") -> None:
        """ConfigError naming the first unknown setting in ``names`` and the closest known ones."""
        known = cls.names()
        for name in names:
            if name not in known:
                close = difflib.get_close_matches(str(name), known, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else f"; known settings: {', '.join(known)}"
                raise ConfigError(f"unknown {what} setting '{name}'{hint}")

    @classmethod
    def of(cls, source: Any) -> "SynthSettings":
        """The checked record of an estimator (its attributes) or a mapping ``{name: value}`` (unknown names and
        bad values are ConfigErrors naming the setting); list-valued settings become tuples."""
        if isinstance(source, Mapping):
            cls.check_names(source)
            values = {**cls.defaults(), **dict(source)}
        else:
            values = {name: getattr(source, name) for name in cls.names()}
        for name in ("generator_dims", "critic_dims", "aux_dims", "betas"):
            if isinstance(values[name], list):
                values[name] = tuple(values[name])
        settings = cls(**values)
        settings.check()
        return settings

    @property
    def dp(self) -> bool:
        """Whether a fit with these settings uses differential privacy."""
        return self.epsilon is not None or self.noise_multiplier is not None

    def privacy(self) -> PrivacySettings:
        """The privacy planner's input (:func:`trust.synth.plan.plan_privacy`)."""
        return PrivacySettings(**{f.name: getattr(self, f.name) for f in dataclasses.fields(PrivacySettings)})

    def check(self) -> None:
        """Every setting's type and range, then the combinations (ConfigError naming the setting and the fix)."""
        self._check_schedule()
        for k in ("n_critic", "noise_dim", "aux_epochs", "max_sample_retries", "pac", "n_generator", "conv_channels",
                  "n_modes"):
            check_scalar(getattr(self, k), k, int, min_val=1)
        check_scalar(self.max_fit_rows, "max_fit_rows", int, min_val=10)
        for k in ("max_grad_norm", "lr", "tau"):
            check_scalar(getattr(self, k), k, float, min_val=0, include_boundaries="neither")
        for k in ("epsilon", "noise_multiplier", "metadata_epsilon"):
            check_scalar(getattr(self, k), k, float, min_val=0, include_boundaries="neither", allow_none=True)
        for k in ("downstream_weight", "marginal_weight", "lambda_gp", "weight_decay"):
            check_scalar(getattr(self, k), k, float, min_val=0)
        check_scalar(self.lr_final_fraction, "lr_final_fraction", float, min_val=0, max_val=1)
        check_scalar(self.delta, "delta", float, min_val=0, max_val=1, include_boundaries="neither")
        for k in ("metadata_epsilon_fraction", "aux_epsilon_fraction", "critic_dropout"):
            check_scalar(getattr(self, k), k, float, min_val=0, max_val=1, include_boundaries="left")
        check_scalar(self.generator_ema, "generator_ema", float, min_val=0, max_val=1, include_boundaries="neither",
                     allow_none=True)
        check_scalar(self.insecure_noise_seed, "insecure_noise_seed", int, min_val=0, allow_none=True)
        for k, options in (("accountant", ACCOUNTANTS), ("architecture", ARCHITECTURES), ("per_sample", PER_SAMPLE),
                           ("device", DEVICES), ("matmul_dtype", MATMUL_DTYPES),
                           ("critic_lr_schedule", LR_SCHEDULES), ("generator_lr_schedule", LR_SCHEDULES)):
            check_option(getattr(self, k), k, options)
        self._check_shapes()
        self._check_combinations()

    def _check_schedule(self) -> None:
        for k in ("epochs", "batch_size"):
            v = getattr(self, k)
            if not (isinstance(v, str) and v == AUTO) and (isinstance(v, (str, bool)) or not isinstance(v, int) or v < 1):
                raise ConfigError(f"{k}={v!r} must be a positive integer or 'auto' (adapts to the table's size)")

    def _check_shapes(self) -> None:
        for k in ("generator_dims", "critic_dims", "aux_dims"):
            v = getattr(self, k)
            if v is None and k == "aux_dims":
                continue
            if not isinstance(v, tuple) or not v or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1
                                                           for d in v):
                raise ConfigError(f"{k}={v!r} must be a list of positive integers (hidden widths), e.g. [256, 256]")
        b = self.betas
        if not isinstance(b, tuple) or len(b) != 2:
            raise ConfigError(f"betas={b!r} must be two numbers in [0, 1), e.g. [0.5, 0.9]")
        for i, x in enumerate(b):
            check_scalar(x, f"betas[{i}]", float, min_val=0, max_val=1, include_boundaries="left")
        for k in ("auxiliary", "information_loss", "clip_pairs", "verbose"):
            if not isinstance(getattr(self, k), bool):
                raise ConfigError(f"{k}={getattr(self, k)!r} must be true or false")
        for k in ("dataset_name", "release_name"):
            if not isinstance(getattr(self, k), str):
                raise ConfigError(f"{k}={getattr(self, k)!r} must be a string")

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


def keyword_signature(cls_name: str) -> inspect.Signature:
    """``(self, *, <every setting>=<default>)``: the signature of an estimator whose settings are these."""
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
               for name, default in SynthSettings.defaults().items()]
    return inspect.Signature(params)


__all__ = ["SynthSettings", "keyword_signature", "ARCHITECTURES", "DEVICES", "MATMUL_DTYPES", "LR_SCHEDULES",
           "PER_SAMPLE"]
