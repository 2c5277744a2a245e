"""CTAB-GAN+ (Zhao et al. 2022) with DP-SGD whose guarantee covers the whole pipeline.

:class:`CTABGANPlus` is the estimator in the SDV shape: keyword-only settings (one frozen record,
:class:`~trust.synth.settings.SynthSettings`), checks at the boundary, ``fit`` / ``sample`` / ``save`` /
``load`` / ``privacy_report``. It fits a conditional WGAN-GP on the encoding of
:class:`~trust.synth.transformer.DataTransformer` through a :class:`~trust.synth.training.Trainer` that owns
the training steps, and samples tables from it. The privacy plan (budget split, both DP-SGD runs, the DP row
count) is :mod:`trust.synth.plan`, which receives a frozen :class:`~trust.synth.plan.PrivacySettings`; the
DP-SGD pieces are :mod:`trust.privacy.dpsgd`; the WGAN-GP pieces (losses, pair gradients, fake partners)
:mod:`trust.synth.trainer`; the networks :mod:`trust.synth.networks`.

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
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from trust._validation import check_is_fitted, check_option, check_random_state, check_scalar, fork_seed
from trust.data.io import load_torch_weights, model_dir_writer, read_model_dir
from trust.data.schema import PROBLEM_TYPES, TableSchema, check_category_lists, infer_schema
from trust.errors import ConfigError, DataError
from trust.privacy.ledger import PrivacyLedger
from trust.privacy.noise import RowStreams, counter, noise_source
from trust.synth.networks import make_networks
from trust.synth.plan import PrivacyPlan, Schedule, metadata_epsilon, plan_privacy, resolve_schedule
from trust.synth.sampler import CondSampler
from trust.synth.settings import DEVICES, LR_SCHEDULES, MATMUL_DTYPES, SynthSettings, keyword_signature
from trust.synth.trainer import MODE, OutputLayout
from trust.synth.training import Trained, Trainer, TrainState, lr_at, resolve_device, seeded_torch
from trust.synth.transformer import DataTransformer

_STATE_VERSION = 2
MODEL_KIND = "ctabgan-plus"


class CTABGANPlus(BaseEstimator):
    """CTAB-GAN+ tabular synthesizer, optionally trained with DP-SGD (module docstring: the guarantee).

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

    Settings: keyword-only, every one documented, defaulted and checked in
    :class:`~trust.synth.settings.SynthSettings` (the signature is built from it; an unknown setting is a
    ConfigError naming the closest known ones). Under DP the privacy plan receives
    ``SynthSettings.of(model).privacy()``, never the estimator.

    Attributes (after fit):
        transformer_, schema_, generator_, critic_, ledger_ (:class:`~trust.privacy.PrivacyLedger`),
        loss_history_ (per-epoch mean losses), sample_rows_ (``sample()``'s default: the DP row count under DP),
        dp_, privacy_ (the DP-SGD figures), plan_ (the :class:`~trust.synth.plan.PrivacyPlan`, DP only),
        steps_, epoch_seconds_ and epoch_cpu_seconds_ (wall and process CPU time per epoch; in memory only, never
        saved), batch_size_ and epochs_ (the settings trained with, ``"auto"`` resolved), schedule_ (a
        :class:`~trust.synth.plan.Schedule`: those two and one line why).

    Example:
        >>> import numpy as np, pandas as pd
        >>> from trust.data import infer_schema
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], 200), "y": rng.choice(["no", "yes"], 200)})
        >>> schema = infer_schema(df, target="y", categories={"c": ["a", "b"], "y": ["no", "yes"]},
        ...                       bounds={"x": (-5.0, 5.0)}).as_declared()   # declared: lists and bounds from documentation
        >>> small = dict(generator_dims=(16,), critic_dims=(16,), aux_dims=(8,), noise_dim=4, verbose=False)
        >>> model = CTABGANPlus(epochs=1, batch_size=50, epsilon=4.0, delta=1e-4, random_state=0, **small)
        >>> model = model.fit(df, schema)
        >>> model.sample(5).shape
        (5, 3)
        >>> model.privacy_report()["dp"]
        True
    """

    def __init__(self, **settings: Any) -> None:
        SynthSettings.check_names(settings)
        for name, default in SynthSettings.defaults().items():
            setattr(self, name, settings.get(name, default))

    @property
    def dp(self) -> bool:
        """Whether fitting uses differential privacy."""
        return self.epsilon is not None or self.noise_multiplier is not None

    def privacy_settings(self):
        """The frozen record the privacy planner receives (:class:`~trust.synth.plan.PrivacySettings`)."""
        return SynthSettings.of(self).privacy()

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
            ConfigError: bad settings (e.g. ``epsilon <= 0``, ``delta >= 1/n``); an inferred schema under DP.
            PrivacyBudgetError: the budget cannot be met (raised before any training).
        """
        cfg = SynthSettings.of(self)
        if on_epoch_end is not None and not callable(on_epoch_end):
            raise ConfigError(f"on_epoch_end must be a function (view, epoch), not a {type(on_epoch_end).__name__}")
        device = resolve_device(cfg.device)
        schema = resolve_schema(df, schema, target, problem_type, dp=cfg.dp)
        df = check_table(df, schema, dp=cfg.dp)
        rng = check_random_state(cfg.random_state)
        ledger = PrivacyLedger()
        tr = DataTransformer(n_modes=cfg.n_modes, max_fit_rows=cfg.max_fit_rows, random_state=fork_seed(rng))
        plan, anchor = self._fit_transformer(tr, df, schema, cfg, ledger, device)
        X, streams = encode_rows(tr, df, cfg, fork_seed(rng))
        self.schema_, self.transformer_, self.dp_ = schema, tr, plan is not None
        self.sample_rows_ = plan.n_dp if plan is not None else len(df)
        # "auto" batch/epochs: from the DP row count under DP (the plan's), from the exact count without DP
        self._set_schedule(plan.schedule if plan is not None else resolve_schedule(cfg, len(df)))
        trainer = Trainer(cfg, tr, schema, self.schedule_, cfg.release_name or cfg.dataset_name or "synth")
        hook = None if on_epoch_end is None else \
            (lambda st, epoch, history: _call_view(on_epoch_end, EpochView(self, trainer, st, epoch, history)))
        with seeded_torch(fork_seed(rng), device):
            st = trainer.setup(torch.as_tensor(X, dtype=torch.float32, device=device), plan, ledger, streams)
            st.anchor = anchor
            self.loss_history_, self.epoch_seconds_, self.epoch_cpu_seconds_ = trainer.train(st, rng, hook)
            self._adopt(trainer.finish(st, rng, ledger))
        return self

    def _fit_transformer(self, tr: DataTransformer, df: pd.DataFrame, schema: TableSchema, cfg: SynthSettings,
                         ledger: PrivacyLedger, device: torch.device) -> tuple[PrivacyPlan | None, Any]:
        """Without DP from the rows; under DP from the histogram release alone (its budget fixed by the settings,
        the plan from its DP row count: raises before any training), and the marginal anchor from the release."""
        if not cfg.dp:
            tr.fit(df, schema)
            return None, None
        from trust.synth.dp_metadata import release_histograms

        release = f"{cfg.release_name or cfg.dataset_name or 'synth'}/transformer-histograms"
        rel, entry = release_histograms(df, schema, metadata_epsilon(cfg.privacy()),
                                        insecure_noise_seed=cfg.insecure_noise_seed, release=release,
                                        dataset=cfg.dataset_name)
        use_aux = cfg.auxiliary and schema.target is not None and cfg.aux_epsilon_fraction > 0
        plan = plan_privacy(cfg.privacy(), int(round(rel.n_rows)), use_aux)
        ledger.append(entry)
        tr.fit(None, schema, histograms=rel)
        if cfg.marginal_weight <= 0:
            return plan, None
        from trust.synth.anchor import MarginalAnchor

        return plan, MarginalAnchor.from_release(rel, tr).to(device)   # the release alone (post-processing)

    def _set_schedule(self, sched: Schedule) -> None:
        self.schedule_ = sched
        self.batch_size_, self.epochs_ = sched.batch_size, sched.epochs

    def _adopt(self, out: Trained) -> None:
        self.generator_, self.critic_, self.sampler_, self.layout_ = out.generator, out.critic, out.sampler, out.layout
        self.steps_, self.privacy_, self.ledger_ = out.steps, out.privacy, out.ledger
        if out.plan is not None:
            self.plan_ = out.plan
        if out.aux_privacy is not None:
            self.aux_privacy_ = out.aux_privacy

    # ------------------------------------------------------------------------------------------
    # sample
    # ------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_is_fitted(self, "generator_")

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
        wanted = condition_blocks(self.transformer_, conditions or {})
        with seeded_torch(fork_seed(rng), next(self.generator_.parameters()).device):
            if not wanted:
                return self.transformer_.inverse_transform(generate(self, n, None, rng))
            return self.transformer_.inverse_transform(rejection_sample(self, n, wanted, conditions, rng))

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
        """Save to the directory ``path`` atomically: ``weights.pt`` (generator and critic), ``model.json`` (settings,
        the public schema, the fitted transformer, the ledger, the DP figures, the losses), ``ledger.json`` (the
        privacy ledger), and the manifest ``trust-model.json`` listing these files and whether the folder is a DP
        release. Under DP every file is releasable: none holds an exact row count, a data hash, a timing or a seed
        of DP noise; without DP the manifest says the folder must not be released.

        ``path`` may be new, empty or a CTAB-GAN+ model directory (replaced as a whole); a directory holding
        anything else, or a file, is refused with a DataError and left untouched (see :mod:`trust.data.io`).
        """
        self._check_fitted()
        with model_dir_writer(path, kind=MODEL_KIND, meta=self._manifest()) as tmp:
            torch.save({"generator": self.generator_.state_dict(), "critic": self.critic_.state_dict()},
                       tmp / "weights.pt")
            (tmp / "model.json").write_text(json.dumps(self._state(), indent=1, default=float))
            (tmp / "ledger.json").write_text(json.dumps(self.ledger_.to_list(), indent=1, default=float))
        return Path(path)

    def _manifest(self) -> dict[str, Any]:
        """What the model directory's manifest says about it (its ``meta``)."""
        return {"release": {
            "dp": bool(self.dp_), "releasable": bool(self.dp_),
            "files": {"weights.pt": "generator and critic weights (the critic trained with DP-SGD under DP)",
                      "model.json": "settings, public schema, transformer state, ledger, DP figures, losses",
                      "ledger.json": "the privacy ledger: one entry per DP release"},
            "holds_no": "exact row count, data hash, fit timing or seed of DP noise" if self.dp_ else
                        "nothing is protected: trained without differential privacy; do not release"}}

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
        params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in dict(state["params"]).items()}
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
        cfg = SynthSettings.of(self)
        G, D = make_networks(cfg.architecture, tr.output_dim_, self.sampler_.dim, cfg.noise_dim, cfg.generator_dims,
                             cfg.critic_dims, cfg.critic_dropout, cfg.conv_channels, cfg.pac)
        load_torch_weights(path / "weights.pt", {"generator": G, "critic": D})
        G.eval()
        D.eval()
        self.generator_, self.critic_ = G, D
        return self




# ----------------------------------------------------------------------------------------------
# the boundary checks, the encoding and sampling (module functions the estimator calls)
# ----------------------------------------------------------------------------------------------
def resolve_schema(df: Any, schema: TableSchema | Mapping[str, Any] | None, target: str | None,
                   problem_type: str | None, *, dp: bool) -> TableSchema:
    """The fit's schema with its target and problem type resolved; under DP a declared schema is required and its
    category lists are checked on their own (nothing private decides: :func:`check_category_lists`)."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"fit expects a pandas DataFrame, got {type(df).__name__}")
    if not dp and len(df) == 0:
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
    if dp and (schema is None or not schema.declared):
        raise ConfigError("a DP fit needs a declared schema, not one inferred from the private rows: review a "
                          "draft (trust data schema draft data.csv > schema.json) and pass it with --schema / "
                          "TableSchema.from_dict, or call schema.as_declared() in code")
    if dp:
        check_category_lists(schema, None)  # rules on the public lists alone: nothing private decides
    if schema is None:
        schema = infer_schema(df, target=target, problem_type=problem_type)
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


def check_table(df: pd.DataFrame, schema: TableSchema, *, dp: bool) -> pd.DataFrame:
    """Strict validation without DP; under DP public-schema checks only and coercion (see the module doc)."""
    if dp:
        return schema.coerce(df)
    df = schema.validate(df)
    for name in schema.names:
        if df[name].nunique(dropna=False) < 2:
            raise DataError(f"column '{name}' is constant; drop it, it carries no information")
    if len(df) < 10:
        raise DataError(f"the table has {len(df)} rows; CTAB-GAN+ needs at least 10")
    return df


def encode_rows(tr: DataTransformer, df: pd.DataFrame, cfg: SynthSettings,
                seed: int) -> tuple[np.ndarray, RowStreams | None]:
    """The encoded table and, under DP, its per-row secret streams: the mode draws are then a function of each
    row and the release's secret key (:class:`~trust.privacy.noise.RowStreams`), never of ``seed``."""
    if not cfg.dp:
        return tr.transform(df, random_state=seed), None
    streams = RowStreams.for_table(df, noise_source(cfg.insecure_noise_seed, stream="rows"))
    every = np.arange(len(streams))
    X = tr.transform(df, row_uniform=lambda ci: streams.uniform(every, counter(MODE, 0, ci))[:, 0])
    if len(X) != len(streams):
        raise RuntimeError("the transformer's coercion dropped rows the row keys were computed for")
    return X, streams


def condition_blocks(tr: DataTransformer, conditions: Mapping[str, Any]) -> list[tuple[int, int, int]]:
    """``(block index, start, category index)`` per condition of ``sample(conditions=...)``."""
    wanted = []
    for col, value in conditions.items():
        if col not in tr.columns_:
            raise DataError(f"condition on '{col}': no such column; choose one of: {', '.join(tr.columns_)}")
        idx = tr.category_index(col, value)  # DataError for non-categorical columns / unseen categories
        span = tr.column_spans(col)[0]
        b = next(i for i, blk in enumerate(tr.cond_blocks_) if blk.start == span.start)
        wanted.append((b, span.start, idx))
    return wanted


def generate(model: CTABGANPlus, n: int, cond: np.ndarray | None, rng: np.random.Generator,
             chunk: int = 20000) -> np.ndarray:
    """``n`` encoded rows from the model's generator (conditional vectors ``cond``, or drawn with the released
    frequencies), in chunks."""
    out = []
    G = model.generator_
    device = next(G.parameters()).device
    G.eval()
    with torch.no_grad():
        for s in range(0, n, chunk):
            m = min(chunk, n - s)
            c = model.sampler_.sample_generation(m, rng)[0] if cond is None else cond[:m]
            c_t = torch.as_tensor(c, device=device)
            z = torch.randn(m, model.noise_dim, device=device)
            out.append(model.layout_.sample_activate(G(torch.cat([z, c_t], dim=1))).cpu().numpy())
    return np.concatenate(out, axis=0) if out else np.zeros((0, model.transformer_.output_dim_), np.float32)


def rejection_sample(model: CTABGANPlus, n: int, wanted: list[tuple[int, int, int]], conditions: Mapping[str, Any],
                     rng: np.random.Generator) -> np.ndarray:
    """``n`` encoded rows meeting every condition: the first sets the conditional vector, rows are kept if all
    hold; at most ``max_sample_retries`` rounds, then a DataError."""
    tr = model.transformer_
    b0, _, c0 = wanted[0]
    kept: list[np.ndarray] = []
    have = 0
    for _round in range(model.max_sample_retries):
        m = max(n - have, 100) * 2
        X = generate(model, m, model.sampler_.fixed(b0, c0, m), rng)
        ok = np.ones(len(X), dtype=bool)
        for b, _start, idx in wanted:
            blk = tr.cond_blocks_[b]
            ok &= X[:, blk.start:blk.end].argmax(axis=1) == idx
        kept.append(X[ok])
        have += int(ok.sum())
        if have >= n:
            return np.concatenate(kept, axis=0)[:n]
    desc = ", ".join(f"{k}={v!r}" for k, v in conditions.items())
    raise DataError(f"could only generate {have} of {n} rows with {desc} after {model.max_sample_retries} "
                    "rounds; the model rarely produces this combination: relax the conditions or ask for "
                    "fewer rows")


class EpochView:
    """What ``CTABGANPlus.fit(on_epoch_end=...)`` hands its callback after each epoch: the model as it would be if
    training stopped now, for sampling only. Valid only during the callback.

    Attributes:
        epoch: epochs completed (from 1).
        loss_history_: the per-epoch mean losses so far (a copy).
    """

    def __init__(self, model: CTABGANPlus, trainer: Trainer, st: TrainState, epoch: int,
                 history: list[dict[str, float]]) -> None:
        self.epoch = epoch
        self.loss_history_ = [dict(h) for h in history]
        self._model, self._trainer, self._st, self._open = model, trainer, st, True
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
            with seeded_torch(fork_seed(rng), st.device):
                G = self._trainer.averaged_copy(st, rng)
            view = copy.copy(model)   # the settings; the sampling state below is this epoch's
            tr = model.transformer_
            blocks = [(b.start, b.end) for b in tr.cond_blocks_]
            view.generator_, view.layout_ = G, st.layout
            view.sampler_ = CondSampler(blocks, [b.counts for b in tr.cond_blocks_])
            self._frozen = view
        return self._frozen.sample(n, conditions=conditions, random_state=random_state)


def _call_view(fn: Callable[[EpochView, int], None], view: EpochView) -> None:
    try:
        fn(view, view.epoch)
    finally:
        view._close()


CTABGANPlus.__init__.__signature__ = keyword_signature("CTABGANPlus")   # one definition: SynthSettings

__all__ = ["CTABGANPlus", "EpochView", "resolve_device", "resolve_schema", "check_table", "DEVICES", "LR_SCHEDULES",
           "MATMUL_DTYPES", "MODEL_KIND", "lr_at"]
