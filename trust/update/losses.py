"""Per-sample loss terms of the update methods (torch tensors in, one loss per sample out).

With ``z`` the student's logits, ``t`` a teacher's logits over the same ``C`` columns, ``T`` a temperature and
``r_i = [the teacher classifies sample i right]``:

- focal distillation (Yan et al. 2021, "Positive-congruent training"):
  ``FD_i = (alpha + beta * r_i) * D(z_i, t_i)`` with the KL form
  ``D = KL(softmax(t_i / T) || softmax(z_i / T))`` (times ``T^2`` with ``temperature_squared=True``, Hinton et
  al.'s factor that keeps the gradient's scale independent of ``T``) or the logit-matching form
  ``D = 1/2 * mean_c (z_ic - t_ic)^2`` (the mean over the columns, as both public codes write it).
  The MPT authors' code (and their PCT baseline) uses the KL form at ``T = 5`` without ``T^2``; the PCT authors'
  code uses ``T = 100`` with ``T^2``. Without ``T^2`` at ``T = 5`` the KL term is small beside the
  cross-entropy; with it, it outweighs the cross-entropy 25-fold (in an earlier round every model distilled
  that way underfit MNIST-1D: see benchmarks/README.md);
- margin calibration (Ricci et al., AAAI 2026): the cross-entropy on ``z + b * m`` with ``m_c = 1`` for
  the new classes and 0 for the old: in training a new class must beat an old one by ``b`` to win, so
  the old classes keep a margin over the new ones; the bias is never applied at prediction time. Its
  excess over the plain cross-entropy of an old-class sample,
  ``log sum_c exp(z_c + b m_c) - log sum_c exp(z_c)``, vanishes when the old-class logit exceeds every
  new-class logit by far more than ``b`` (margin kept) and grows as that margin shrinks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DISTILLATIONS = ("kl", "lm")


def focal_distillation(student: torch.Tensor, teacher: torch.Tensor, teacher_right: torch.Tensor, *,
                       alpha: float = 1.0, beta: float = 5.0, kind: str = "kl", temperature: float = 5.0,
                       temperature_squared: bool = False) -> torch.Tensor:
    """``(alpha + beta * teacher_right) * D(student, teacher)`` per sample; ``student``, ``teacher``: ``(B, C)``.

    ``D`` is the temperature-``temperature`` KL (``kind="kl"``, times ``temperature**2`` when
    ``temperature_squared``) or half the mean squared logit difference (``"lm"``); see the module docstring.
    """
    weight = alpha + beta * teacher_right.to(student.dtype)
    if kind == "kl":
        log_s = F.log_softmax(student / temperature, dim=1)
        log_t = F.log_softmax(teacher / temperature, dim=1)
        d = (log_t.exp() * (log_t - log_s)).sum(dim=1)
        if temperature_squared:
            d = d * temperature ** 2
    elif kind == "lm":
        d = 0.5 * ((student - teacher) ** 2).mean(dim=1)
    else:
        raise ValueError(f"kind={kind!r}; use one of {DISTILLATIONS}")
    return weight * d


def margin_calibration(logits: torch.Tensor, target: torch.Tensor, new_mask: torch.Tensor, b: float) -> torch.Tensor:
    """Cross-entropy of ``logits + b * new_mask`` (``new_mask``: ``(C,)``, 1 on new classes) per sample."""
    return F.cross_entropy(logits + b * new_mask.to(logits.dtype), target, reduction="none")


__all__ = ["DISTILLATIONS", "focal_distillation", "margin_calibration"]
