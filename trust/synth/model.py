"""CTAB-GAN+ (Zhao et al. 2022) with DP-SGD whose guarantee covers the whole pipeline.

:class:`CTABGANPlus` fits a conditional WGAN-GP on the encoding of :class:`~trust.synth.transformer.DataTransformer`
and samples tables from it. See ``trust.synth.trainer`` for the DP-SGD mechanics and
``trust.synth.networks`` for the networks.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from trust.data.hashing import frame_sha256
from trust.data.io import load_torch_weights, model_dir_writer, read_model_dir
from trust.data.schema import PROBLEM_TYPES, TableSchema, infer_schema
from trust.errors import ConfigError, DataError, PrivacyBudgetError
from trust.privacy.accountants import ACCOUNTANTS, epsilon_for, make_accountant, noise_for_epsilon
from trust.privacy.ledger import LedgerEntry, PrivacyLedger
from trust.synth.networks import ARCHITECTURES, Auxiliary, make_networks
from trust.synth.sampler import CondSampler
from trust.synth.trainer import (OutputLayout, critic_loss, critic_per_sample_grads, dp_step, dp_step_summed,
                                 information_loss, mlp_critic_clipped_sum, per_sample_grads, poisson_rows,
                                 set_grad_samples)
from trust.synth.transformer import DataTransformer

_STATE_VERSION = 1
MODEL_KIND = "ctabgan-plus"
_MECHANISM = "DP-SGD (Poisson subsampled Gaussian, per-sample clipping)"


def _seed_from(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


class CTABGANPlus:
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
    because the convolutional version is far slower on CPU (see ``benchmarks/README.md``).

    One *epoch* is ``round(n / batch_size)`` critic steps, so every real row is used once per epoch in
    expectation; the generator steps after every ``n_critic``-th critic step (and at the end of each epoch);
    without DP the auxiliary model trains on every critic step's real rows. The paper uses 5 critic steps per
    generator step; ``n_critic=1`` (CTGAN's choice) is the default here: on Adult at 30 epochs (batch 500, one
    seed, ``benchmarks/synth_quality.py``) it gave TSTR AUC 0.870 vs 0.844 with ``n_critic=5``, so 1 is enough
    on CPU at equal epochs (5 halves the fit time but gives the generator 5x fewer steps).

    Differential privacy (``epsilon`` or ``noise_multiplier`` set), unit of privacy one row, add/remove
    adjacency. The total budget is split and every part is in :attr:`ledger_`:

    * *Transformer metadata*: a share ``metadata_epsilon_fraction`` of ``epsilon`` buys a Laplace release of
      per-column histograms (:func:`trust.synth.dp_metadata.release_histograms`); the transformer's mixtures,
      ranges, log shifts and category/mode frequencies are fitted from that release only. Categorical columns
      need their category lists declared in the schema (public metadata).
    * *Critic* (DP-SGD): real rows are drawn by Poisson sampling at rate ``q = batch_size / n``; each real row's
      conditional vector is derived from the row itself (a discrete block chosen at random, the row's own
      category in it), never by choosing rows by category. Each real row is paired with its own freshly
      generated fake row, and the per-sample gradient of the pair's loss ``D(fake_i) - D(real_i) + lambda GP_i``
      (the penalty at an interpolate of the two) is clipped to ``max_grad_norm`` and noised by Opacus's
      ``DPOptimizer`` (``clip_pairs=True``; with ``False`` only the real score and the penalty are clipped and
      the fake-only term is added after the noise: see ``trust.synth.trainer``). The Opacus
      RDP (default) or PRV accountant counts every critic step actually taken. ``epsilon`` gives the noise
      multiplier by the accountant; an explicit ``noise_multiplier`` gives the epsilon after training.
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

    The noise for the given budget is found *before* anything touches the data; if it cannot be met,
    ``fit`` raises :class:`~trust.errors.PrivacyBudgetError`. ``delta`` must be below ``1 / n``.

    Args:
        epochs: training epochs (paper: 150).
        batch_size: rows per step (paper: 500); the expected batch size under Poisson sampling.
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
            ``metadata_epsilon`` gives it in absolute terms). Default 0.2: on Adult at epsilon 1 (30 epochs, one
            seed) 0.1 / 0.2 / 0.3 gave TSTR AUC 0.70 / 0.79 / 0.62 -- noisy, but 0.1 leaves per-column histograms
            of 15 columns with Laplace scale 150 per count.
        metadata_epsilon: absolute epsilon of the histogram release (default: the fraction of ``epsilon``,
            or 0.1 with an explicit ``noise_multiplier``).
        aux_epsilon_fraction: share of ``epsilon`` for the auxiliary model under DP (0 turns it off). Default 0.3:
            the frozen auxiliary classifier steers the generator towards the label given the features, so its
            accuracy carries over to TSTR; on Adult at epsilon 1 its test AUC was 0.71-0.78 at 0.1 and 0.84 at 0.3
            (2 seeds), and TSTR AUC (30 epochs, 3 seeds) rose from 0.707 to 0.746.
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
            balance does not hinge on ``max_grad_norm`` (with ``False`` and the bound 1.0, the unclipped fake term
            swamped the clipped real one on Adult; a bound of 10 was needed).
        pac: rows per critic input, MLP critic only (CTGAN's PacGAN packing uses 10; CTAB-GAN+ does not pack).
            The batch is rounded down to whole packs. Must be 1 under DP (a pack mixes rows, DP-SGD clips rows).
            On Adult ``pac=10`` made an epoch ~12 % faster and TSTR AUC 0.825 vs 0.873 (30 epochs, seed 0).
        generator_ema: keep an exponential moving average of the generator's weights with this decay and sample
            from it (None: the last weights). Not in the paper: GAN training oscillates, more so under DP noise,
            and the average smooths out the state the last step happens to end in; it is post-processing of the
            generator, so it costs no privacy. Default 0.995 (about the last 200 generator steps).
        downstream_weight: weight of the auxiliary model's downstream loss in the generator's loss (paper: 1).
            Under DP the frozen auxiliary classifier can be exploited: with a weak (noisy) critic the generator
            may push features to extremes the classifier is sure about (on Adult, one seed at epsilon 1: synthetic
            mean age 22 vs 84 by class, real 37 vs 44; TSTR AUC 0.59, 0.73 with weight 0.2). Lower it if the
            synthetic marginals drift while the label looks "easy".
        random_state: seed; same seed, same data and params give the same model and samples.
        verbose: show a progress bar per epoch with the losses.

    Attributes (after fit):
        transformer_, schema_, generator_, critic_, ledger_ (:class:`~trust.privacy.PrivacyLedger`),
        loss_history_ (per-epoch mean losses), n_rows_, dp_, privacy_ (the DP-SGD figures).
    """

    def __init__(self, epochs: int = 150, batch_size: int = 500, epsilon: float | None = None, delta: float = 1e-5,
                 noise_multiplier: float | None = None, accountant: str = "rdp", max_grad_norm: float = 1.0,
                 architecture: str = "mlp", n_critic: int = 1, noise_dim: int = 100,
                 generator_dims: tuple[int, ...] = (256, 256), critic_dims: tuple[int, ...] = (256, 256),
                 critic_dropout: float = 0.5, conv_channels: int = 64, lambda_gp: float = 10.0, lr: float = 2e-4,
                 betas: tuple[float, float] = (0.5, 0.9), weight_decay: float = 1e-5, tau: float = 0.2,
                 auxiliary: bool = True, aux_dims: tuple[int, ...] | None = None, aux_epochs: int = 5,
                 information_loss: bool = True, metadata_epsilon_fraction: float = 0.2,
                 metadata_epsilon: float | None = None, aux_epsilon_fraction: float = 0.3, n_modes: int = 10,
                 max_fit_rows: int = 20000, max_sample_retries: int = 50, dataset_name: str = "", release_name: str = "",
                 per_sample: str = "auto", clip_pairs: bool = True, pac: int = 1, generator_ema: float | None = 0.995,
                 downstream_weight: float = 1.0,
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
        self.generator_dims = tuple(generator_dims)
        self.critic_dims = tuple(critic_dims)
        self.critic_dropout = critic_dropout
        self.conv_channels = conv_channels
        self.lambda_gp = lambda_gp
        self.lr = lr
        self.betas = tuple(betas)
        self.weight_decay = weight_decay
        self.tau = tau
        self.auxiliary = auxiliary
        self.aux_dims = None if aux_dims is None else tuple(aux_dims)
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
        self.random_state = random_state
        self.verbose = verbose

    _PARAMS = ("epochs", "batch_size", "epsilon", "delta", "noise_multiplier", "accountant", "max_grad_norm",
               "architecture", "n_critic", "noise_dim", "generator_dims", "critic_dims", "critic_dropout",
               "conv_channels", "lambda_gp", "lr", "betas", "weight_decay", "tau", "auxiliary", "aux_dims",
               "aux_epochs", "information_loss", "metadata_epsilon_fraction", "metadata_epsilon",
               "aux_epsilon_fraction", "n_modes", "max_fit_rows", "max_sample_retries", "dataset_name", "release_name",
               "per_sample", "clip_pairs", "pac", "generator_ema", "downstream_weight", "random_state",
               "verbose")

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters (scikit-learn style)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in ((k, getattr(self, k)) for k in self._PARAMS)}

    @property
    def dp(self) -> bool:
        """Whether fitting uses differential privacy."""
        return self.epsilon is not None or self.noise_multiplier is not None

    # ------------------------------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        def pos_int(name: str) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"{name}={v!r} must be an integer >= 1")

        def pos_float(name: str, allow_none: bool = False) -> None:
            v = getattr(self, name)
            if v is None and allow_none:
                return
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"{name}={v!r} must be a finite number > 0")

        for k in ("epochs", "batch_size", "n_critic", "noise_dim", "aux_epochs", "max_sample_retries", "pac"):
            pos_int(k)
        for k in ("max_grad_norm", "lr", "tau"):
            pos_float(k)
        if isinstance(self.downstream_weight, bool) or not isinstance(self.downstream_weight, (int, float)) \
                or not math.isfinite(self.downstream_weight) or self.downstream_weight < 0:
            raise ConfigError(f"downstream_weight={self.downstream_weight!r} must be a finite number >= 0")
        pos_float("epsilon", allow_none=True)
        pos_float("noise_multiplier", allow_none=True)
        pos_float("metadata_epsilon", allow_none=True)
        if self.epsilon is not None and self.noise_multiplier is not None:
            raise ConfigError("give either epsilon (a target) or noise_multiplier (explicit noise), not both")
        if not (isinstance(self.delta, (int, float)) and 0 < self.delta < 1):
            raise ConfigError(f"delta={self.delta!r} must lie strictly between 0 and 1")
        if self.accountant not in ACCOUNTANTS:
            raise ConfigError(f"accountant '{self.accountant}' is unknown; use one of {ACCOUNTANTS}")
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture '{self.architecture}' is unknown; use one of {ARCHITECTURES}")
        for k in ("metadata_epsilon_fraction", "aux_epsilon_fraction"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and 0 <= v < 1):
                raise ConfigError(f"{k}={v!r} must lie in [0, 1)")
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
        if self.per_sample not in ("auto", "vmap", "ghost"):
            raise ConfigError(f"per_sample '{self.per_sample}' is unknown; use 'auto', 'vmap' or 'ghost'")
        if self.per_sample == "ghost" and self.architecture != "mlp":
            raise ConfigError("per_sample='ghost' needs architecture='mlp'; use 'vmap' (or 'auto') for 'conv'")
        ema = self.generator_ema
        if ema is not None and not (isinstance(ema, float) and 0 < ema < 1):
            raise ConfigError(f"generator_ema={self.generator_ema!r} must be None or a decay in (0, 1), e.g. 0.995")
        if self.pac > 1 and self.architecture != "mlp":
            raise ConfigError(f"pac={self.pac} packs rows for the MLP critic only; use pac=1 with "
                              f"architecture='{self.architecture}'")
        if self.pac > 1 and self.dp:
            raise ConfigError(f"pac={self.pac} scores rows in packs, but DP-SGD clips each row's gradient; "
                              "use pac=1 with epsilon/noise_multiplier")
        if not 0 <= self.critic_dropout < 1:
            raise ConfigError(f"critic_dropout={self.critic_dropout!r} must lie in [0, 1)")
        if self.lambda_gp < 0:
            raise ConfigError(f"lambda_gp={self.lambda_gp!r} must be >= 0")

    def _resolve_schema(self, df: Any, schema: TableSchema | Mapping[str, Any] | None, target: str | None,
                        problem_type: str | None) -> TableSchema:
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"fit expects a pandas DataFrame, got {type(df).__name__}")
        if len(df) == 0:
            raise DataError("the table has no rows; pass a table with at least one row")
        if target is not None and target not in df.columns:
            raise DataError(f"target '{target}' is not a column of the data; choose one of: "
                            f"{', '.join(map(str, df.columns[:20]))}")
        if problem_type is not None and problem_type not in PROBLEM_TYPES:
            raise ConfigError(f"problem_type '{problem_type}' is unknown; use 'classification' or 'regression'")
        if schema is None:
            schema = infer_schema(df, target=target, problem_type=problem_type)
        elif isinstance(schema, Mapping):
            schema = TableSchema.from_dict(schema)
        elif not isinstance(schema, TableSchema):
            raise ConfigError(f"schema must be a TableSchema, a dict or None, got {type(schema).__name__}")
        if target is not None and target not in schema.columns:
            raise DataError(f"target '{target}' is not a column of the schema; choose one of: {', '.join(schema.names)}")
        tgt = target if target is not None else schema.target
        ptype = problem_type or (schema.problem_type if tgt == schema.target else None)
        if tgt is not None and ptype is None:
            ptype = "classification" if schema[tgt].kind == "categorical" else "regression"
        if tgt is not None and ptype == "classification" and schema[tgt].kind != "categorical":
            raise ConfigError(f"target '{tgt}' is {schema[tgt].kind}; a classification target must be categorical "
                              "(or use problem_type='regression')")
        return TableSchema(dict(schema.columns), tgt, ptype if tgt is not None else None, dict(schema.meta))

    # ------------------------------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, schema: TableSchema | Mapping[str, Any] | None = None, target: str | None = None,
            problem_type: str | None = None) -> "CTABGANPlus":
        """Fit the transformer and the GAN on ``df``.

        Args:
            df: the real table.
            schema: column kinds and public metadata (:class:`~trust.data.schema.TableSchema`); None infers it
                (:func:`~trust.data.schema.infer_schema`; under DP declare categories instead).
            target: the downstream target column (overrides the schema's).
            problem_type: ``classification`` or ``regression`` (default: from the schema / the target's kind).

        Returns:
            self

        Raises:
            DataError: unknown target, a missing value in a column declared non-missing, a constant column, ...
            ConfigError: bad hyperparameters (e.g. ``epsilon <= 0``, ``delta >= 1/n``).
            PrivacyBudgetError: the budget cannot be met (raised before any training or release).
        """
        self._check_params()
        schema = self._resolve_schema(df, schema, target, problem_type)
        df = schema.validate(df)
        for name in schema.names:
            if df[name].nunique(dropna=False) < 2:
                raise DataError(f"column '{name}' is constant; drop it, it carries no information")
        n = len(df)
        if n < 10:
            raise DataError(f"the table has {n} rows; CTAB-GAN+ needs at least 10")
        seed = self.random_state if self.random_state is not None else int(np.random.SeedSequence().entropy % 2**31)
        rng = np.random.default_rng(seed)
        plan = self._plan_privacy(n, schema) if self.dp else None  # raises before anything touches the data

        data_sha = frame_sha256(df)
        ledger = PrivacyLedger()
        prefix = self.release_name or self.dataset_name or "synth"
        tr = DataTransformer(n_modes=self.n_modes, max_fit_rows=self.max_fit_rows, random_state=_seed_from(rng))
        if plan is not None:
            from trust.synth.dp_metadata import release_histograms

            rel, entry = release_histograms(df, schema, plan["metadata_epsilon"], random_state=_seed_from(rng),
                                            release=f"{prefix}/transformer-histograms", dataset=self.dataset_name)
            ledger.append(entry)
            tr.fit(None, schema, histograms=rel)
        else:
            tr.fit(df, schema)
        X = tr.transform(df, random_state=_seed_from(rng))

        self.schema_ = schema
        self.transformer_ = tr
        self.n_rows_ = n
        self.dp_ = plan is not None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_seed_from(rng))
            self._train(X, schema, rng, plan, ledger, data_sha)
        self.ledger_ = ledger
        return self

    def _plan_privacy(self, n: int, schema: TableSchema) -> dict[str, Any]:
        """Budget split, sample rates, steps and noise multipliers; raises before any data access."""
        if self.delta >= 1.0 / n:
            raise ConfigError(f"delta={self.delta:g} is not below 1/n = {1.0 / n:.3g} (n = {n} rows): such a delta "
                              "allows releasing whole rows; use delta well below 1/n (e.g. 1e-5)")
        batch = min(self.batch_size, n)
        q = batch / n
        steps = self.epochs * self._steps_per_epoch(n)
        use_aux = self.auxiliary and schema.target is not None and self.aux_epsilon_fraction > 0
        aux_steps = self.aux_epochs * self._steps_per_epoch(n) if use_aux else 0
        delta_critic = self.delta / 2 if use_aux else self.delta
        delta_aux = self.delta / 2 if use_aux else 0.0
        if self.epsilon is not None:
            eps_meta = self.epsilon * self.metadata_epsilon_fraction
            eps_aux = self.epsilon * self.aux_epsilon_fraction if use_aux else 0.0
            eps_critic = self.epsilon - eps_meta - eps_aux
            try:
                sigma = noise_for_epsilon(eps_critic, q, steps, delta_critic, self.accountant)
            except PrivacyBudgetError as e:
                raise PrivacyBudgetError(f"epsilon={self.epsilon:g} cannot be met (critic share {eps_critic:.3g}): "
                                         f"{e}") from None
            sigma_aux = None
            if use_aux:
                try:
                    sigma_aux = noise_for_epsilon(eps_aux, q, aux_steps, delta_aux, self.accountant)
                except PrivacyBudgetError:
                    raise PrivacyBudgetError(
                        f"epsilon={self.epsilon:g} cannot be met: the auxiliary model's share (epsilon {eps_aux:.3g} "
                        f"over {aux_steps} steps) is below what the {self.accountant} accountant can certify; raise "
                        "aux_epsilon_fraction, use accountant='prv', or set aux_epsilon_fraction=0 (no auxiliary model)"
                    ) from None
        else:
            eps_meta = 0.1 if self.metadata_epsilon is None else float(self.metadata_epsilon)
            sigma = float(self.noise_multiplier)
            sigma_aux = sigma if use_aux else None
            eps_critic = epsilon_for(sigma, q, steps, delta_critic, self.accountant)
            eps_aux = epsilon_for(sigma, q, aux_steps, delta_aux, self.accountant) if use_aux else 0.0
        return {"q": q, "batch": batch, "steps": steps, "sigma": sigma, "delta_critic": delta_critic,
                "eps_critic_target": eps_critic, "metadata_epsilon": eps_meta, "use_aux": use_aux,
                "aux_steps": aux_steps, "sigma_aux": sigma_aux, "delta_aux": delta_aux, "eps_aux_target": eps_aux}

    def _steps_per_epoch(self, n: int) -> int:
        return max(1, int(round(n / min(self.batch_size, n))))

    def _make_networks(self, data_dim: int, cond_dim: int) -> tuple[nn.Module, nn.Module]:
        return make_networks(self.architecture, data_dim, cond_dim, self.noise_dim, self.generator_dims,
                             self.critic_dims, self.critic_dropout, self.conv_channels, int(self.pac))

    def _target_layout(self, schema: TableSchema) -> dict[str, Any] | None:
        tr = self.transformer_
        if schema.target is None:
            return None
        spans = tr.column_spans(schema.target)
        tgt_idx = np.concatenate([np.arange(s.start, s.end) for s in spans])
        feat_idx = np.setdiff1d(np.arange(tr.output_dim_), tgt_idx)
        if schema.problem_type == "classification":
            s = spans[0]
            return {"feat": feat_idx, "kind": "classification", "start": s.start, "end": s.end, "out": s.width}
        return {"feat": feat_idx, "kind": "regression", "idx": tgt_idx, "out": len(tgt_idx)}

    @staticmethod
    def _aux_loss(out: torch.Tensor, rows: torch.Tensor, lay: dict[str, Any]) -> torch.Tensor:
        """Downstream loss of the auxiliary model's output ``out`` on encoded ``rows`` (their own targets)."""
        if lay["kind"] == "classification":
            y = rows[:, lay["start"]:lay["end"]].argmax(dim=1)
            return F.cross_entropy(out, y)
        return F.mse_loss(out, rows[:, torch.as_tensor(lay["idx"])])

    def _adam(self, net: nn.Module) -> torch.optim.Adam:
        # fused: one kernel for all parameters (the per-parameter loop costs ~2.5x more on CPU)
        return torch.optim.Adam(net.parameters(), lr=self.lr, betas=self.betas, weight_decay=self.weight_decay,
                                fused=True)

    def _train(self, X: np.ndarray, schema: TableSchema, rng: np.random.Generator, plan: dict[str, Any] | None,
               ledger: PrivacyLedger, data_sha: str) -> None:
        from tqdm.auto import tqdm

        tr = self.transformer_
        n, dim = X.shape
        blocks = [(b.start, b.end) for b in tr.cond_blocks_]
        sampler = CondSampler(blocks, [b.counts for b in tr.cond_blocks_], X)
        layout = OutputLayout(tr.spans_, blocks)
        G, D = self._make_networks(dim, sampler.dim)
        Xt = torch.as_tensor(X, dtype=torch.float32)
        dp = plan is not None
        pac = int(self.pac)
        batch = max(pac, min(self.batch_size, n) // pac * pac)  # whole packs (pac is 1 under DP)
        steps_per_epoch = self._steps_per_epoch(n)
        opt_g = self._adam(G)
        opt_d = self._adam(D)
        lay = self._target_layout(schema) if self.auxiliary else None
        aux = opt_a = None
        accountant = None
        if dp:
            from opacus.optimizers import DPOptimizer

            opt_d = DPOptimizer(opt_d, noise_multiplier=plan["sigma"], max_grad_norm=self.max_grad_norm,
                                expected_batch_size=plan["batch"])
            accountant = make_accountant(self.accountant)
            if plan["use_aux"] and lay is not None:
                aux = self._train_aux_dp(Xt, lay, plan, rng, ledger, data_sha)
        elif lay is not None:
            aux = Auxiliary(len(lay["feat"]), lay["out"], self.aux_dims or (256, 256, 256, 256))
            opt_a = self._adam(aux)
        use_info = self.information_loss and not dp
        ghost = dp and (self.per_sample == "ghost" or (self.per_sample == "auto" and self.architecture == "mlp"))
        feat_t = torch.as_tensor(lay["feat"]) if lay is not None else None

        ema = None if self.generator_ema is None else [p.detach().clone() for p in G.parameters()]
        g_steps = 0
        history: list[dict[str, float]] = []
        steps_taken = 0
        bar = tqdm(range(self.epochs), desc="CTAB-GAN+" + (" (DP)" if dp else ""), disable=not self.verbose,
                   unit="epoch")
        epoch_seconds: list[float] = []
        for _epoch in bar:
            t_epoch = time.perf_counter()
            sums: dict[str, float] = {}
            counts: dict[str, int] = {}

            def log(k: str, v: float) -> None:
                sums[k] = sums.get(k, 0.0) + float(v)
                counts[k] = counts.get(k, 0) + 1

            G.train()
            D.train()
            for step in range(steps_per_epoch):
                # ---------------- critic step ----------------
                if dp:
                    rows = poisson_rows(n, plan["q"], rng)
                    cond_r, _, _ = sampler.cond_from_rows(rows, rng)
                    # a fresh fake partner for every real row (i.i.d., so that each row's randomness is its
                    # own); the fake-only term below reads the first `batch`, a count that does not depend on
                    # the private Poisson batch size
                    cond_f, _, _ = sampler.sample_generation(max(batch, len(rows)), rng)
                else:
                    cond_r, _, _, rows = sampler.sample_train(batch, rng)
                    cond_f = cond_r
                cond_r_t = torch.as_tensor(cond_r)
                cond_f_t = torch.as_tensor(cond_f)
                with torch.no_grad():
                    z = torch.randn(len(cond_f), self.noise_dim)
                    fake = layout.activate(G(torch.cat([z, cond_f_t], dim=1)), self.tau)
                fake_in = torch.cat([fake, cond_f_t], dim=1)
                real_in = torch.cat([Xt[torch.as_tensor(rows)], cond_r_t], dim=1)
                if dp:
                    m = real_in.shape[0]
                    pair = fake_in[:m]
                    alpha = torch.rand(m, 1)
                    if ghost:
                        summed, _ = mlp_critic_clipped_sum(D, real_in, pair, alpha, self.lambda_gp,
                                                           self.max_grad_norm, include_fake=self.clip_pairs)
                    else:
                        set_grad_samples(D, critic_per_sample_grads(D, real_in, pair, alpha, self.lambda_gp,
                                                                    include_fake=self.clip_pairs))
                    if self.clip_pairs:
                        with torch.no_grad():
                            d_fake = D(fake_in[:batch]).mean()
                        extra = None
                    else:
                        d_fake = D(fake_in[:batch]).mean()
                        extra = torch.autograd.grad(d_fake, list(D.parameters()), allow_unused=True)
                    if ghost:
                        dp_step_summed(opt_d, D, summed, extra)
                    else:
                        dp_step(opt_d, D, extra)
                    accountant.step(noise_multiplier=plan["sigma"], sample_rate=plan["q"])
                    log("critic_fake", d_fake.item())
                else:
                    alpha = torch.rand(batch // pac, 1).repeat_interleave(pac, dim=0)  # one weight per pack
                    loss_d, d_real, d_fake = critic_loss(D, real_in, fake_in, alpha, self.lambda_gp)
                    opt_d.zero_grad(set_to_none=True)
                    loss_d.backward()
                    opt_d.step()
                    log("critic", loss_d.item())
                    log("wasserstein", (d_real - d_fake).item())
                    if aux is not None:
                        real_rows = Xt[torch.as_tensor(rows)]
                        loss_a = self._aux_loss(aux(real_rows[:, feat_t]), real_rows, lay)
                        opt_a.zero_grad(set_to_none=True)
                        loss_a.backward()
                        opt_a.step()
                        log("aux_real", loss_a.item())
                steps_taken += 1

                # ---------------- generator step ----------------
                if (step + 1) % self.n_critic != 0 and step != steps_per_epoch - 1:
                    continue
                if dp:
                    cond_g, bg, cg = sampler.sample_generation(batch, rng)
                else:
                    # a fresh training-by-sampling draw; its real rows (same conditional vectors) feed the
                    # information loss, as in the public code
                    cond_g, bg, cg, rows_g = sampler.sample_train(batch, rng)
                cond_g_t = torch.as_tensor(cond_g)
                for p in D.parameters():
                    p.requires_grad_(False)
                z = torch.randn(batch, self.noise_dim)
                raw = G(torch.cat([z, cond_g_t], dim=1))
                fake = layout.activate(raw, self.tau)
                f_fake = D.features(torch.cat([fake, cond_g_t], dim=1))
                loss_adv = -D.head(f_fake).mean()
                loss_cond = layout.cond_loss(raw, bg, cg)
                loss_g = loss_adv + loss_cond
                if use_info:
                    with torch.no_grad():
                        f_real = D.features(torch.cat([Xt[torch.as_tensor(rows_g)], cond_g_t], dim=1))
                    loss_info = information_loss(f_real, f_fake)
                    loss_g = loss_g + loss_info
                    log("info", loss_info.item())
                if aux is not None:
                    for p in aux.parameters():
                        p.requires_grad_(False)
                    aux.eval() if dp else aux.train()
                    loss_down = self._aux_loss(aux(fake[:, feat_t]), fake, lay)
                    loss_g = loss_g + self.downstream_weight * loss_down
                    log("downstream", loss_down.item())
                    for p in aux.parameters():
                        p.requires_grad_(not dp)
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                if ema is not None:
                    # warm-up: the decay grows from 0.1 towards generator_ema, so early weights fade out
                    g_steps += 1
                    decay = min(self.generator_ema, (1 + g_steps) / (10 + g_steps))
                    torch._foreach_lerp_(ema, [p.detach() for p in G.parameters()], 1.0 - decay)
                for p in D.parameters():
                    p.requires_grad_(True)
                log("generator", loss_adv.item())
                log("cond", loss_cond.item())
            epoch_means = {k: sums[k] / counts[k] for k in sums}
            history.append(epoch_means)
            epoch_seconds.append(time.perf_counter() - t_epoch)
            shown = {k: f"{v:.3f}" for k, v in epoch_means.items() if k in ("critic", "generator", "cond", "critic_fake")}
            bar.set_postfix(shown)
        bar.close()

        if ema is not None:
            with torch.no_grad():
                for p, a in zip(G.parameters(), ema):
                    p.copy_(a)
            self._refresh_batchnorm(G, sampler, batch, rng)
        G.eval()
        D.eval()
        self.generator_ = G
        self.critic_ = D
        self.sampler_ = CondSampler(blocks, [b.counts for b in tr.cond_blocks_])
        self.layout_ = layout
        self.loss_history_ = history
        self.epoch_seconds_ = epoch_seconds
        self.steps_ = steps_taken
        self.privacy_: dict[str, Any] = {"dp": dp}
        if dp:
            if steps_taken != plan["steps"]:
                raise RuntimeError(f"took {steps_taken} critic steps, planned {plan['steps']}")
            eps = float(accountant.get_epsilon(delta=plan["delta_critic"]))
            prefix = self.release_name or self.dataset_name or "synth"
            entry = LedgerEntry(
                release=f"{prefix}/ctabgan-critic", mechanism=_MECHANISM, epsilon=eps, delta=plan["delta_critic"],
                accountant=self.accountant, noise_multiplier=float(plan["sigma"]), sample_rate=float(plan["q"]),
                steps=int(steps_taken), max_grad_norm=float(self.max_grad_norm), unit_of_privacy="record",
                adjacency="add/remove", data_sha256=data_sha, dataset=self.dataset_name,
                notes=("WGAN-GP critic: per-sample clipping of "
                       + ("each real row's pair loss (fake score - real score + gradient penalty), "
                          if self.clip_pairs else "the real-row score and gradient penalty, ")
                       + "Gaussian noise by Opacus DPOptimizer, Poisson sampling, conditional vectors derived from "
                       "each sampled row; the generator and the synthetic data are post-processing. Information loss off."))
            ledger.append(entry)
            self.privacy_.update({"epsilon": eps, "delta": plan["delta_critic"], "accountant": self.accountant,
                                  "noise_multiplier": float(plan["sigma"]), "sample_rate": float(plan["q"]),
                                  "steps": int(steps_taken), "max_grad_norm": float(self.max_grad_norm),
                                  "expected_batch_size": int(plan["batch"])})

    def _refresh_batchnorm(self, G: nn.Module, sampler: CondSampler, batch: int, rng: np.random.Generator,
                           rounds: int = 20) -> None:
        """Recompute the generator's BatchNorm statistics for its (averaged) weights: ``rounds`` forward passes
        on noise and generation-time conditional vectors (no data read), cumulative averages."""
        bns = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not bns:
            return
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
        G.train()
        with torch.no_grad():
            for _ in range(rounds):
                cond = torch.as_tensor(sampler.sample_generation(batch, rng)[0])
                G(torch.cat([torch.randn(batch, self.noise_dim), cond], dim=1))
        for bn, m in zip(bns, momenta):
            bn.momentum = m

    def _train_aux_dp(self, Xt: torch.Tensor, lay: dict[str, Any], plan: dict[str, Any], rng: np.random.Generator,
                      ledger: PrivacyLedger, data_sha: str) -> nn.Module:
        """Pre-train the auxiliary model with its own DP-SGD run (per-sample clipping via torch.func)."""
        from opacus.optimizers import DPOptimizer

        n = Xt.shape[0]
        aux = Auxiliary(len(lay["feat"]), lay["out"], self.aux_dims or (128, 128))
        opt = DPOptimizer(torch.optim.Adam(aux.parameters(), lr=1e-3, betas=(0.9, 0.999), fused=True),
                          noise_multiplier=plan["sigma_aux"], max_grad_norm=self.max_grad_norm,
                          expected_batch_size=plan["batch"])
        acc = make_accountant(self.accountant)
        feat_t = torch.as_tensor(lay["feat"])
        aux.train()
        for _ in range(plan["aux_steps"]):
            rows = Xt[torch.as_tensor(poisson_rows(n, plan["q"], rng))]
            set_grad_samples(aux, per_sample_grads(aux, lambda out, r: self._aux_loss(out, r, lay),
                                                   rows[:, feat_t], rows))
            dp_step(opt, aux)
            acc.step(noise_multiplier=plan["sigma_aux"], sample_rate=plan["q"])
        aux.eval()
        eps = float(acc.get_epsilon(delta=plan["delta_aux"]))
        prefix = self.release_name or self.dataset_name or "synth"
        ledger.append(LedgerEntry(
            release=f"{prefix}/ctabgan-auxiliary", mechanism=_MECHANISM, epsilon=eps, delta=plan["delta_aux"],
            accountant=self.accountant, noise_multiplier=float(plan["sigma_aux"]), sample_rate=float(plan["q"]),
            steps=int(plan["aux_steps"]), max_grad_norm=float(self.max_grad_norm), unit_of_privacy="record",
            adjacency="add/remove", data_sha256=data_sha, dataset=self.dataset_name,
            notes=f"auxiliary {lay['kind']} model pre-trained with DP-SGD, then frozen; its downstream loss on fake "
                  "rows guides the generator (post-processing)."))
        self.aux_privacy_ = {"epsilon": eps, "delta": plan["delta_aux"], "noise_multiplier": float(plan["sigma_aux"]),
                             "sample_rate": float(plan["q"]), "steps": int(plan["aux_steps"])}
        return aux

    # ------------------------------------------------------------------------------------------
    # sample
    # ------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "generator_"):
            raise ConfigError("the CTABGANPlus model is not fitted; call fit(df) or CTABGANPlus.load(path) first")

    def _generate(self, n: int, cond: np.ndarray | None, rng: np.random.Generator, chunk: int = 20000) -> np.ndarray:
        out = []
        G = self.generator_
        G.eval()
        with torch.no_grad():
            for s in range(0, n, chunk):
                m = min(chunk, n - s)
                c = self.sampler_.sample_generation(m, rng)[0] if cond is None else cond[:m]
                c_t = torch.as_tensor(c)
                z = torch.randn(m, self.noise_dim)
                out.append(self.layout_.sample_activate(G(torch.cat([z, c_t], dim=1))).numpy())
        return np.concatenate(out, axis=0) if out else np.zeros((0, self.transformer_.output_dim_), np.float32)

    def sample(self, n: int, conditions: Mapping[str, Any] | None = None,
               random_state: int | None = None) -> pd.DataFrame:
        """Generate ``n`` synthetic rows.

        Args:
            n: number of rows.
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
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n={n!r} must be an integer >= 1")
        if conditions is not None and not isinstance(conditions, Mapping):
            raise ConfigError(f"conditions must be a dict {{column: value}}, not a {type(conditions).__name__}")
        n = int(n)
        seed = random_state if random_state is not None else self.random_state
        rng = np.random.default_rng(seed)
        tr = self.transformer_
        wanted: list[tuple[int, int, int]] = []  # (block index, start, category index)
        for col, value in (conditions or {}).items():
            if col not in tr.columns_:
                raise DataError(f"condition on '{col}': no such column; choose one of: {', '.join(tr.columns_)}")
            idx = tr.category_index(col, value)  # DataError for non-categorical columns / unseen categories
            span = tr.column_spans(col)[0]
            b = next(i for i, blk in enumerate(tr.cond_blocks_) if blk.start == span.start)
            wanted.append((b, span.start, idx))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_seed_from(rng))
            if not wanted:
                return tr.inverse_transform(self._generate(n, None, rng))
            b0, _, c0 = wanted[0]
            kept: list[np.ndarray] = []
            have = 0
            for _round in range(self.max_sample_retries):
                m = max(n - have, 100) * 2
                X = self._generate(m, self.sampler_.fixed(b0, c0, m), rng)
                ok = np.ones(len(X), dtype=bool)
                for b, start, idx in wanted:
                    blk = tr.cond_blocks_[b]
                    ok &= X[:, blk.start:blk.end].argmax(axis=1) == idx
                kept.append(X[ok])
                have += int(ok.sum())
                if have >= n:
                    break
            if have < n:
                desc = ", ".join(f"{k}={v!r}" for k, v in conditions.items())
                raise DataError(f"could only generate {have} of {n} rows with {desc} after {self.max_sample_retries} "
                                "rounds; the model rarely produces this combination: relax the conditions or ask for "
                                "fewer rows")
            return tr.inverse_transform(np.concatenate(kept, axis=0)[:n])

    # ------------------------------------------------------------------------------------------
    # privacy report
    # ------------------------------------------------------------------------------------------
    def privacy_report(self) -> dict[str, Any]:
        """The guarantee of the fitted model.

        Returns a dict: ``dp`` (bool); ``epsilon`` and ``delta`` (the total over every release in the ledger, by
        sequential composition); the critic's DP-SGD figures ``critic_epsilon``, ``critic_delta``, ``accountant``,
        ``noise_multiplier``, ``sample_rate``, ``steps``, ``max_grad_norm``; ``entries`` (the ledger entries as
        dicts) and ``sentences`` (one line per entry). Without DP every figure is None and the sentence says so.
        """
        self._check_fitted()
        p = self.privacy_
        if not p.get("dp"):
            return {"dp": False, "epsilon": None, "delta": None, "critic_epsilon": None, "critic_delta": None,
                    "accountant": None, "noise_multiplier": None, "sample_rate": None, "steps": self.steps_,
                    "max_grad_norm": None, "entries": [],
                    "sentences": ["No differential privacy: the model was trained without DP-SGD and its transformer "
                                  "read the raw table; treat the synthetic data as derived from personal data."]}
        eps, delta = self.ledger_.total()
        return {"dp": True, "epsilon": eps, "delta": delta, "critic_epsilon": p["epsilon"], "critic_delta": p["delta"],
                "accountant": p["accountant"], "noise_multiplier": p["noise_multiplier"],
                "sample_rate": p["sample_rate"], "steps": p["steps"], "max_grad_norm": p["max_grad_norm"],
                "entries": self.ledger_.to_list(), "sentences": [e.sentence() for e in self.ledger_]}

    # ------------------------------------------------------------------------------------------
    # save / load
    # ------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save to the directory ``path`` (weights, transformer, schema, ledger, params), atomically.

        ``path`` may be new, empty or a CTAB-GAN+ model directory (replaced as a whole); a directory holding
        anything else, or a file, is refused with a DataError and left untouched (see :mod:`trust.data.io`).
        """
        self._check_fitted()
        with model_dir_writer(path, kind=MODEL_KIND) as tmp:
            torch.save({"generator": self.generator_.state_dict(), "critic": self.critic_.state_dict()},
                       tmp / "weights.pt")
            state = {
                "version": _STATE_VERSION, "params": self.get_params(), "schema": self.schema_.to_dict(),
                "transformer": self.transformer_.to_dict(), "ledger": self.ledger_.to_list(),
                "privacy": self.privacy_, "loss_history": self.loss_history_, "n_rows": self.n_rows_,
                "steps": self.steps_, "dp": self.dp_,
            }
            (tmp / "model.json").write_text(json.dumps(state, indent=1, default=float))
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "CTABGANPlus":
        """Load a model saved with :meth:`save` (a DataError names a missing, foreign or damaged file)."""
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
        self.n_rows_ = state["n_rows"]
        self.steps_ = state["steps"]
        self.dp_ = state["dp"]
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


__all__ = ["CTABGANPlus"]
