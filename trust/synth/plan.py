"""The privacy plan of a DP CTAB-GAN+ fit: the budget split and both DP-SGD runs, fixed before training.

Guarantee: one row of the training table (unit of privacy: record), add/remove adjacency. The
fit makes up to three releases, composed sequentially (their epsilons and deltas add):

1. the transformer's histogram release (:func:`trust.synth.dp_metadata.release_histograms`),
   ``(metadata_epsilon, 0)``-DP, exact discrete Laplace noise;
2. the auxiliary model's DP-SGD run (when a target is given and ``aux_epsilon_fraction > 0``),
   half of ``delta``;
3. the critic's DP-SGD run, the rest of ``epsilon`` and of ``delta``.

The DP row count: the exact number of rows ``n`` is never used. The histogram release already
yields a DP estimate of it (its noisy total, :attr:`HistogramRelease.n_rows`; free by
post-processing), and everything that would depend on ``n`` depends on that DP count ``n_dp``
instead: the expected batch ``b = min(batch_size, n_dp)``, the sampling rate ``q = b / n_dp``, the
steps per epoch ``round(n_dp / b)``, the delta check ``delta < 1 / n_dp`` and the default number of
synthetic rows. Poisson sampling at any fixed rate ``q`` is a valid subsampled mechanism whatever
the true ``n``, so the accounting is unchanged; the plan is a function of the settings and
``n_dp`` alone (:func:`plan_privacy` takes nothing else), so neighbouring tables whose DP counts
agree get the same mechanism.

Order (what is fixed before what): the histogram budget :func:`metadata_epsilon` is fixed from the
settings alone, before any data is read; the histogram release then reads the table once; the DP-SGD
plan is fixed from ``n_dp`` before any training. A budget that DP-SGD cannot meet raises
:class:`~trust.errors.PrivacyBudgetError` after the histogram release but before any training, and
the fit returns nothing (the histogram release is then spent without being published; its
message names no private figure).

Not protected: the schema (declared, public), the number of columns and the settings; tuning the
settings on the same private data is not accounted for (Papernot and Steinke 2022).

Adaptive defaults (``batch_size="auto"``, ``epochs="auto"``, the defaults of :class:`CTABGANPlus`):
:func:`auto_schedule` picks the batch size and the epochs from the row count, under DP the DP row count
``n_dp`` and the public budget (the critic's share of the ``epsilon`` target; the calibration is at delta
1e-5, and delta enters the accountant only through a logarithm) only, never the exact ``n``; :func:`resolve_schedule`
applies it to the settings (an explicit integer wins) and the plan carries the result
(:attr:`PrivacyPlan.schedule`).

Ledger conventions: one :class:`~trust.privacy.LedgerEntry` per release, built in one place
(:meth:`trust.privacy.dpsgd.DPSGDPlan.ledger_entry` for the DP-SGD runs); ``sample_rate`` and
``steps`` are the plan's (so ``batch / q`` gives ``n_dp``, never ``n``); no data hash, exact count or
timing; ``noise_source`` says whether the noise came from OS entropy or the insecure test seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from trust.errors import ConfigError
from trust.privacy.dpsgd import DPSGDPlan, plan_dpsgd

AUTO = "auto"
#: :func:`auto_schedule`'s constants (one place, so the rule can be re-tuned): the paper's batch and epochs
#: (Adult-sized tables keep them), the fewest steps per epoch before the batch shrinks, the smallest batch,
#: and the fewest critic steps of a fit (150 epochs x 30 steps).
PAPER_BATCH = 500
PAPER_EPOCHS = 150
MIN_STEPS_PER_EPOCH = 30
MIN_BATCH = 50
MIN_STEPS = PAPER_EPOCHS * MIN_STEPS_PER_EPOCH
#: Under DP: the step budget ``(n_dp * critic_epsilon / DP_ROWS_PER_STEP_ROOT) ** 2``. 140 keeps the critic's
#: per-step signal-to-noise ratio b / sigma near 34 (by the accountant at delta 1e-5: Adult's 5,850 steps at
#: epsilon 1, where TSTR AUC is 0.818); see :func:`auto_schedule`.
DP_ROWS_PER_STEP_ROOT = 140.0


@dataclass(frozen=True)
class Schedule:
    """The batch size and epochs a fit trains with (:func:`resolve_schedule`).

    Attributes:
        batch_size: rows per step (under DP the expected batch before the cap at ``n_dp``).
        epochs: training epochs.
        reason: one line saying what was chosen and why, e.g. ``"small table: batch 100, 150 epochs, 4,500 steps"``.
    """

    batch_size: int
    epochs: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "epochs": self.epochs, "reason": self.reason}


def auto_steps(n_rows: int, critic_epsilon: float | None = None) -> int:
    """The step budget of :func:`auto_schedule`: ``MIN_STEPS`` (4,500), under DP at most
    ``(n_dp * critic_epsilon / DP_ROWS_PER_STEP_ROOT) ** 2`` (at least 1)."""
    if critic_epsilon is None:
        return MIN_STEPS
    return max(1, min(MIN_STEPS, int((max(2, int(n_rows)) * float(critic_epsilon) / DP_ROWS_PER_STEP_ROOT) ** 2)))


def auto_schedule(n_rows: int, critic_epsilon: float | None = None,
                  batch_size: int | None = None) -> tuple[int, int]:
    """The adaptive ``(batch_size, epochs)`` for a table of ``n_rows`` rows (under DP: the DP row count ``n_dp``).

    Rule (measurements in ``benchmarks/README.md``, "Small tables"), with ``T = auto_steps(n, critic_epsilon)``:

    * ``batch = clip(10 * floor(PAPER_EPOCHS * n / (10 * T)), MIN_BATCH, PAPER_BATCH)``: the batch whose 150
      epochs take ``T`` steps, rounded down to tens, between 50 and 500;
    * ``epochs = max(PAPER_EPOCHS, ceil(T / steps_per_epoch(n, batch)))``: 150, more only when even batch 50
      leaves fewer than ``T`` steps in 150 epochs.

    Without DP ``T`` is 4,500 (150 epochs of 30 steps), so ``batch = n / 30`` rounded down to tens: the paper's
    500 from 15,000 rows (Adult's 19,536 training rows keep 500 and 150 epochs), 100 for 3,000 rows. A GAN
    learns per step: at batch 500 a 3,000-row table trains 900 steps in 150 epochs, where Adult trains 5,850.

    Under DP, ``critic_epsilon`` (the critic's share of a public ``epsilon`` target, from the settings) also
    bounds ``T`` by ``(n_dp * critic_epsilon / 140) ** 2``. DP-SGD's per-step signal-to-noise ratio ``b /
    sigma`` (the mean clipped gradient against the noise on it) is, for Poisson rate ``q = b / n`` and ``T``
    steps at a fixed epsilon, nearly independent of ``b`` and falls like ``n * epsilon / sqrt(T)`` (by the
    accountant: 3,000 rows, critic epsilon 1.5: 37 at 900 steps, 16 at 4,500, whatever the batch), so more
    steps are noisier steps. The bound keeps ``b / sigma`` near 34, what Adult's 150 epochs at epsilon 1 have;
    a smaller budget thus gives fewer, larger (less noisy) batches, up to 500 at 150 epochs, never fewer
    than 150 epochs. Adult-sized tables (``n >= 15,000``) keep 500 and 150 epochs at every budget, since
    ``T <= 4,500``. With an explicit ``noise_multiplier`` (no epsilon target) the non-DP rule applies.

    ``batch_size`` (an explicit batch) gives the epochs for that batch. ``n_rows`` is the DP row count under
    DP, never the exact one (:func:`resolve_schedule`).
    """
    n = max(2, int(n_rows))
    steps = auto_steps(n, critic_epsilon)
    batch = int(batch_size) if batch_size is not None else \
        min(PAPER_BATCH, max(MIN_BATCH, 10 * ((PAPER_EPOCHS * n) // (10 * steps))))
    epochs = max(PAPER_EPOCHS, math.ceil(steps / steps_per_epoch(n, batch)))
    return batch, int(epochs)


def resolve_schedule(settings: Any, n_rows: int, critic_epsilon: float | None = None) -> Schedule:
    """``settings.batch_size`` and ``settings.epochs`` with ``"auto"`` replaced by :func:`auto_schedule`.

    ``n_rows`` is the exact count without DP and the DP row count under DP (the only count the caller may
    pass then); ``critic_epsilon`` the critic's share of the epsilon target under DP (:func:`plan_privacy`).
    An explicit integer wins (an explicit batch with ``epochs="auto"``: the epochs for that batch).
    """
    auto_b, auto_e = settings.batch_size == AUTO, settings.epochs == AUTO
    batch, epochs = auto_schedule(n_rows, critic_epsilon, batch_size=None if auto_b else int(settings.batch_size))
    if not auto_e:
        epochs = int(settings.epochs)
    what = f"batch {batch}{'' if auto_b else ' (set)'}, {epochs} epochs{'' if auto_e else ' (set)'}"
    if not (auto_b or auto_e):
        return Schedule(batch, epochs, what)
    steps = epochs * steps_per_epoch(max(2, int(n_rows)), batch)
    if batch == PAPER_BATCH and epochs == PAPER_EPOCHS:
        why = "the paper's defaults"
    else:
        why = "small table" + (" and DP budget" if auto_steps(n_rows, critic_epsilon) < MIN_STEPS else "")
    return Schedule(batch, epochs, f"{why}: {what}, {steps:,} steps")


@dataclass(frozen=True)
class PrivacySettings:
    """What the privacy plan reads of a fit's settings (:meth:`trust.synth.settings.SynthSettings.privacy`): the
    budget and its split, the accountant, the clipping bound and the schedule settings; nothing else, and never
    the estimator. Meanings as in :class:`~trust.synth.settings.SynthSettings`."""

    epsilon: float | None = None
    delta: float = 1e-5
    noise_multiplier: float | None = None
    accountant: str = "rdp"
    max_grad_norm: float = 1.0
    metadata_epsilon_fraction: float = 0.2
    metadata_epsilon: float | None = None
    aux_epsilon_fraction: float = 0.3
    aux_epochs: int = 5
    batch_size: int | str = AUTO
    epochs: int | str = AUTO


@dataclass(frozen=True)
class PrivacyPlan:
    """Budget split and DP-SGD runs of one DP fit (see the module docstring).

    Attributes:
        n_dp: the DP row count the plan was made for.
        metadata_epsilon: epsilon of the histogram release (delta 0).
        critic: the critic's DP-SGD run.
        aux: the auxiliary model's DP-SGD run, or None.
        schedule: the batch size and epochs, resolved from the settings and ``n_dp``.
    """

    n_dp: int
    metadata_epsilon: float
    critic: DPSGDPlan
    aux: DPSGDPlan | None
    schedule: Schedule

    @property
    def batch(self) -> int:
        """Expected batch size (rows per step) of both runs."""
        return self.critic.expected_batch_size

    @property
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(self.n_dp, self.schedule.batch_size)

    @property
    def epsilon_targets(self) -> dict[str, float]:
        """Planned epsilon per release (the ledger holds the accountant's figures)."""
        out = {"histograms": self.metadata_epsilon, "critic": self.critic.epsilon()}
        if self.aux is not None:
            out["auxiliary"] = self.aux.epsilon()
        return out


def steps_per_epoch(n: int, batch_size: int) -> int:
    """``round(n / min(batch_size, n))``, at least 1: every row once per epoch in expectation."""
    return max(1, int(round(n / min(batch_size, n))))


def metadata_epsilon(settings: PrivacySettings) -> float:
    """The histogram release's epsilon, from the settings alone (fixed before any data is read)."""
    if settings.epsilon is not None:
        return float(settings.epsilon) * float(settings.metadata_epsilon_fraction)
    return 0.1 if settings.metadata_epsilon is None else float(settings.metadata_epsilon)


def plan_privacy(settings: PrivacySettings, n_dp: int, use_aux: bool) -> PrivacyPlan:
    """The plan for a table whose DP row count is ``n_dp``, from the frozen :class:`PrivacySettings` alone.

    ``n_dp`` is taken as at least 2 (post-processing), so that the expected batch has two rows.

    Raises:
        TypeError: ``settings`` is not a :class:`PrivacySettings` (e.g. the estimator: pass
            ``SynthSettings.of(model).privacy()``).
        ConfigError: ``delta`` is not below ``1 / n_dp``.
        PrivacyBudgetError: a DP-SGD share cannot be met.
    """
    if not isinstance(settings, PrivacySettings):
        raise TypeError(f"plan_privacy takes a PrivacySettings record, not a {type(settings).__name__}")
    n_dp = max(2, int(n_dp))   # at least 2: a generator batch needs two rows for its BatchNorm statistics
    if settings.delta >= 1.0 / n_dp:
        raise ConfigError(f"delta={settings.delta:g} is not below 1/n for this table's DP row count: such a delta "
                          "allows releasing whole rows; use delta well below 1/n (e.g. 1e-5, or 1e-7 for small tables)")
    eps_meta = metadata_epsilon(settings)
    eps_aux = settings.epsilon * settings.aux_epsilon_fraction if settings.epsilon is not None and use_aux else 0.0
    eps_critic = settings.epsilon - eps_meta - eps_aux if settings.epsilon is not None else None
    sched = resolve_schedule(settings, n_dp, eps_critic)   # "auto" from n_dp and the public budget only
    batch = min(sched.batch_size, n_dp)
    q = batch / n_dp
    spe = steps_per_epoch(n_dp, sched.batch_size)
    delta_critic = settings.delta / 2 if use_aux else settings.delta
    common = dict(sample_rate=q, accountant=settings.accountant, max_grad_norm=float(settings.max_grad_norm),
                  expected_batch_size=batch)
    if settings.epsilon is not None:
        critic = plan_dpsgd(epsilon=eps_critic, steps=sched.epochs * spe,
                            delta=delta_critic, what="the critic's", **common)
        aux = plan_dpsgd(epsilon=eps_aux, steps=settings.aux_epochs * spe, delta=settings.delta / 2,
                         what="the auxiliary model's (raise aux_epsilon_fraction, use accountant='prv', or set "
                              "aux_epsilon_fraction=0)", **common) if use_aux else None
    else:
        sigma = float(settings.noise_multiplier)
        critic = plan_dpsgd(noise_multiplier=sigma, steps=sched.epochs * spe, delta=delta_critic, **common)
        aux = plan_dpsgd(noise_multiplier=sigma, steps=settings.aux_epochs * spe, delta=settings.delta / 2,
                         **common) if use_aux else None
    return PrivacyPlan(n_dp, eps_meta, critic, aux, sched)


__all__ = ["PrivacySettings", "PrivacyPlan", "plan_privacy", "metadata_epsilon", "steps_per_epoch", "Schedule", "auto_schedule",
           "resolve_schedule", "auto_steps", "AUTO"]
