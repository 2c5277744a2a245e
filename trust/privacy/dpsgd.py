"""DP-SGD pieces any capability can use: the plan, Poisson sampling, per-sample gradients, clipping, noise.

Split the way Opacus's ``PrivacyEngine`` is (``_prepare_data_loader`` / ``_prepare_model`` /
``_prepare_optimizer``), without its hooks (which cannot differentiate a gradient penalty twice):

* :class:`DPSGDPlan` and :func:`plan_dpsgd`: noise multiplier, sample rate, steps, expected batch,
  delta and accountant of one DP-SGD run, fixed *before* training (from an epsilon target through
  the accountant, or from an explicit noise multiplier); :meth:`DPSGDPlan.epsilon` is the Opacus
  accountant's epsilon of the run and :meth:`DPSGDPlan.ledger_entry` its ledger entry (one place).
* :func:`poisson_rows`: Poisson sampling, each row in the batch independently with probability q. Draw
  it from the run's secret :class:`~trust.privacy.noise.NoiseSource` (its ``numpy`` generator), never
  from ``random_state``: amplification by subsampling needs the sample to be secret.
* :func:`per_sample_grads`: per-row gradients with ``torch.func`` (``vmap(grad(...))``), handed to
  Opacus with :func:`set_grad_samples`.
* :func:`make_dp_optimizer`: ``SecureNoiseDPOptimizer``, Opacus's :class:`~opacus.optimizers.DPOptimizer`
  (its clipping, accumulation and scaling) whose Gaussian noise has Opacus's ``secure_mode`` treatment (each
  noise value the sum of four Gaussian draws halved, after one discarded draw; Holohan and Braghin 2021) and is
  drawn from the run's secret generator :meth:`trust.privacy.noise.NoiseSource.torch_generator`: a CPU MT19937
  whose whole state comes from 128 bits of ``secrets`` (afresh at every run; with ``insecure_noise_seed`` a
  reproducible one, flagged in the ledger), never ``manual_seed`` (which keeps 32 bits). Drawn on the CPU and
  moved to the device (CUDA generators take a 64-bit seed). Opacus's ``PrivacyEngine(secure_mode=True)`` would
  need ``torchcsprng``, which does not build with the pinned torch.
* :func:`dp_step` (Opacus clips, noises and scales per-sample gradients) and :func:`dp_step_summed`
  (from an already clipped sum, e.g. ghost clipping): both add privacy-free gradients (terms that read
  no real row) after the noise, then step.

The accountant counts every step taken, empty Poisson batches included (they are still a noised release).
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from trust.errors import ConfigError, PrivacyBudgetError
from trust.privacy.accountants import epsilon_for, noise_for_epsilon
from trust.privacy.ledger import LedgerEntry
from trust.privacy.noise import NoiseSource

MECHANISM = "DP-SGD (Poisson subsampled Gaussian, per-sample clipping)"


@dataclass(frozen=True)
class DPSGDPlan:
    """One DP-SGD run, fixed before training.

    Attributes:
        noise_multiplier: sigma (noise std relative to ``max_grad_norm``).
        sample_rate: Poisson rate q.
        steps: noised steps the run takes (and the accountant counts).
        expected_batch_size: ``q`` times the row count the plan was made for (the divisor of the noised sum).
        delta: this run's delta.
        accountant: ``rdp`` or ``prv`` (Opacus).
        max_grad_norm: per-sample clipping bound.
    """

    noise_multiplier: float
    sample_rate: float
    steps: int
    expected_batch_size: int
    delta: float
    accountant: str
    max_grad_norm: float

    def epsilon(self) -> float:
        """The run's epsilon by a fresh Opacus accountant over ``steps`` steps at ``(sigma, q)``."""
        return epsilon_for(self.noise_multiplier, self.sample_rate, self.steps, self.delta, self.accountant)

    def ledger_entry(self, release: str, *, dataset: str, noise_source: str, notes: str,
                     unit_of_privacy: str = "record", adjacency: str = "add/remove") -> LedgerEntry:
        """The ledger entry of this run (epsilon recomputed by :meth:`epsilon`)."""
        return LedgerEntry(release=release, mechanism=MECHANISM, epsilon=self.epsilon(), delta=self.delta,
                           accountant=self.accountant, noise_multiplier=float(self.noise_multiplier),
                           sample_rate=float(self.sample_rate), steps=int(self.steps),
                           max_grad_norm=float(self.max_grad_norm), unit_of_privacy=unit_of_privacy,
                           adjacency=adjacency, dataset=dataset, noise_source=noise_source, notes=notes)

    def figures(self) -> dict[str, Any]:
        """The run's figures for a privacy report (epsilon included)."""
        return {"epsilon": self.epsilon(), "delta": self.delta, "accountant": self.accountant,
                "noise_multiplier": float(self.noise_multiplier), "sample_rate": float(self.sample_rate),
                "steps": int(self.steps), "max_grad_norm": float(self.max_grad_norm),
                "expected_batch_size": int(self.expected_batch_size)}


def plan_dpsgd(*, sample_rate: float, steps: int, delta: float, accountant: str, max_grad_norm: float,
               expected_batch_size: int, epsilon: float | None = None,
               noise_multiplier: float | None = None, what: str = "DP-SGD") -> DPSGDPlan:
    """A :class:`DPSGDPlan` from an ``epsilon`` target (sigma by the accountant) or an explicit ``noise_multiplier``.

    Raises:
        PrivacyBudgetError: no noise multiplier reaches ``epsilon`` (the message names ``what``).
        ConfigError: neither or both of ``epsilon`` and ``noise_multiplier``.
    """
    if (epsilon is None) == (noise_multiplier is None):
        raise ConfigError("give exactly one of epsilon (a target) or noise_multiplier (explicit noise)")
    if noise_multiplier is None:
        try:
            noise_multiplier = noise_for_epsilon(epsilon, sample_rate, steps, delta, accountant)
        except PrivacyBudgetError as e:
            raise PrivacyBudgetError(f"{what} share epsilon {epsilon:.3g} cannot be met: {e}") from None
    return DPSGDPlan(float(noise_multiplier), float(sample_rate), int(steps), int(expected_batch_size),
                     float(delta), accountant, float(max_grad_norm))


@functools.lru_cache(maxsize=None)
def _secure_noise_optimizer_class():
    from opacus.optimizers import DPOptimizer

    class SecureNoiseDPOptimizer(DPOptimizer):
        """Opacus's ``DPOptimizer`` whose secure-mode Gaussian noise is drawn on the CPU from ``gaussian`` (a torch
        generator whose MT19937 state holds 128 secret bits, :meth:`~trust.privacy.noise.NoiseSource.torch_generator`)
        and moved to each parameter's device."""

        def __init__(self, optimizer: torch.optim.Optimizer, *, gaussian: torch.Generator, **kwargs: Any) -> None:
            super().__init__(optimizer, generator=None, secure_mode=False, **kwargs)
            self.gaussian = gaussian

        def add_noise(self) -> None:
            """``p.grad = p.summed_grad + N(0, (noise_multiplier * max_grad_norm)^2)``, drawn as Opacus's
            ``secure_mode`` draws it: one draw thrown away, four summed and halved (Holohan and Braghin 2021)."""
            std = self.noise_multiplier * self.max_grad_norm
            for p in self.params:
                s = p.summed_grad
                noise = torch.zeros(s.shape, dtype=s.dtype)
                if std > 0:
                    torch.normal(0.0, std, size=(1, 1), generator=self.gaussian)
                    for _ in range(4):
                        noise += torch.normal(0.0, std, size=tuple(s.shape), generator=self.gaussian)
                    noise /= 2
                p.grad = (s + noise.to(s.device)).view_as(p)

    return SecureNoiseDPOptimizer


def make_dp_optimizer(optimizer: torch.optim.Optimizer, plan: DPSGDPlan, noise: NoiseSource,
                      device: Any = "cpu"):
    """A ``SecureNoiseDPOptimizer`` for ``plan``: Opacus clips, accumulates and scales; the Gaussian noise comes from
    ``noise``'s secret generator (:meth:`~trust.privacy.noise.NoiseSource.torch_generator`, 128 secret bits in its
    state), drawn on the CPU and moved to the parameters' device (``device`` is kept for the call's signature)."""
    cls = _secure_noise_optimizer_class()
    return cls(optimizer, gaussian=noise.torch_generator("gaussian"), noise_multiplier=plan.noise_multiplier,
               max_grad_norm=plan.max_grad_norm, expected_batch_size=plan.expected_batch_size)


def poisson_rows(n: int, q: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson sampling: each of ``n`` rows is in the batch independently with probability ``q``."""
    return np.flatnonzero(rng.random(n) < q)


def mask_modules(model: nn.Module) -> list[nn.Module]:
    """The modules of ``model`` that take a supplied dropout mask (an attribute ``keep_mask``), in order."""
    return [m for m in model.modules() if hasattr(m, "keep_mask")]


@contextmanager
def supplied_masks(modules: Sequence[nn.Module], masks: Sequence[torch.Tensor] | None) -> Iterator[None]:
    """Inside, each module of ``modules`` multiplies by its mask of ``masks`` (one per module) instead of drawing one;
    nothing changes when ``masks`` is None."""
    if masks is None:
        yield
        return
    if len(masks) != len(modules):
        raise ValueError(f"{len(masks)} dropout masks for {len(modules)} dropout layers")
    for mod, mask in zip(modules, masks):
        mod.keep_mask = mask
    try:
        yield
    finally:
        for mod in modules:
            mod.keep_mask = None


def per_sample_grads(model: nn.Module, loss_fn: Callable[..., torch.Tensor],
                     *inputs: torch.Tensor, masks: Sequence[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Per-row gradients of ``loss_fn(model_output_for_one_row, *one_row_of_the_other_inputs)``.

    ``inputs[0]`` is fed to the model; the rest (e.g. labels) go to ``loss_fn``. Returns
    ``{name: (m, *param.shape)}``. Dropout draws an independent mask per row (``randomness="different"``), or, with
    ``masks`` (one ``(m, width)`` tensor per module of :func:`mask_modules`), uses row ``i``'s masks for row ``i``
    (under DP: masks that are a function of the row, :class:`trust.privacy.noise.RowStreams`).
    """
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    mods = mask_modules(model)

    def loss_one(p, x, ms, *rest):
        with supplied_masks(mods, ms):
            out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return loss_fn(out, *[r.unsqueeze(0) for r in rest])

    if inputs[0].shape[0] == 0:
        return {k: v.new_zeros((0,) + tuple(v.shape)) for k, v in params.items()}
    ms = None if masks is None else tuple(masks)
    in_dims = (None, 0, 0 if ms is not None else None) + (0,) * (len(inputs) - 1)
    return vmap(grad(loss_one), in_dims=in_dims, randomness="different")(params, inputs[0], ms, *inputs[1:])


def set_grad_samples(model: nn.Module, grads: dict[str, torch.Tensor]) -> None:
    """Hand per-sample gradients to Opacus (``p.grad_sample``)."""
    for name, p in model.named_parameters():
        p.grad_sample = grads[name]


def _add_extra(model: nn.Module, extra_grads: Sequence[torch.Tensor | None] | None) -> None:
    if extra_grads is not None:
        for p, g in zip(model.parameters(), extra_grads):
            if g is not None:
                p.grad = p.grad + g


def dp_step(optimizer, model: nn.Module, extra_grads: Sequence[torch.Tensor | None] | None = None) -> None:
    """Clip + noise + scale the per-sample gradients (Opacus), add the privacy-free ``extra_grads``, step.

    ``optimizer`` is an :class:`opacus.optimizers.DPOptimizer`; ``extra_grads`` (one per parameter, or
    None) are gradients of terms that read no real row. They are added after the noise, so they are
    neither clipped nor counted against the budget.
    """
    if not optimizer.pre_step():   # clip_and_accumulate, add_noise, scale_grad
        raise RuntimeError("DPOptimizer skipped a step; gradient accumulation is not used here")
    _add_extra(model, extra_grads)
    optimizer.original_optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def dp_step_summed(optimizer, model: nn.Module, summed: dict[str, torch.Tensor],
                   extra_grads: Sequence[torch.Tensor | None] | None = None) -> None:
    """DP step from an already clipped sum: Opacus's ``add_noise``, division by the expected batch size, the
    privacy-free ``extra_grads``, then the optimiser step (the ghost-clipping counterpart of :func:`dp_step`)."""
    for name, p in model.named_parameters():
        p.summed_grad = summed[name].reshape(p.shape).to(p.dtype)
    optimizer.add_noise()
    for p in model.parameters():
        p.grad = p.grad / optimizer.expected_batch_size
    _add_extra(model, extra_grads)
    optimizer.original_optimizer.step()
    for p in model.parameters():
        p.summed_grad = None
        p.grad_sample = None
    optimizer.original_optimizer.zero_grad(set_to_none=True)


__all__ = ["DPSGDPlan", "plan_dpsgd", "make_dp_optimizer", "mask_modules", "supplied_masks", "poisson_rows", "per_sample_grads", "set_grad_samples",
           "dp_step", "dp_step_summed", "MECHANISM"]
