"""Where every DP noise draw comes from: one secret generator per release.

A differentially private release is only private if nobody can reproduce its noise. Every
mechanism in ``trust`` (the synthesiser's histogram release, DP-SGD's Gaussian noise for the
critic and the auxiliary model, the label-DP bag means, :mod:`trust.privacy.mechanisms`) asks
:func:`noise_source` for its generators at the moment of the release:

* default (``insecure_seed=None``): a NumPy :class:`~numpy.random.Generator` (PCG64) seeded with
  128 bits from :func:`secrets.randbits` (the operating system's entropy) and a
  :class:`torch.Generator` seeded with 64 further bits from :func:`secrets.randbits` (torch
  generators take a 64-bit seed; that is the most they accept). The seeds are drawn afresh at every
  call, kept only inside the :class:`NoiseSource`, never saved, logged or derived from
  ``random_state``: ``random_state`` seeds only what is not privacy noise (initialisation,
  shuffles, synthetic sampling).
  Ledger string ``"os-entropy"``.
* ``insecure_seed=<int>``: both generators seeded from that integer (and a ``stream`` label, so
  the several releases of one fit draw distinct streams). For tests only: anyone holding the
  seed can subtract the noise. Ledger string ``"seeded (not a valid guarantee)"``, which the
  report fails under ``require_secure_noise``.

DP-SGD's Poisson sampling is drawn from the run's :attr:`NoiseSource.numpy` too: the accountant's
amplification by subsampling assumes nobody knows which rows each step used, so a sampling mask
reproducible from a published seed would void it.

Not protected: PCG64 and torch's generators are not cryptographic generators. The seed is secret,
but an attacker who sees enough raw outputs of one stream could in principle recover its state;
releases expose only noisy sums, never raw draws.
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from trust._validation import check_scalar
from trust.privacy.ledger import NOISE_SOURCES

SECURE, SEEDED = NOISE_SOURCES


@dataclass(frozen=True)
class NoiseSource:
    """The generators of one release's DP noise and what the ledger says about them.

    Attributes:
        numpy: a :class:`numpy.random.Generator` for NumPy mechanisms (Laplace, discrete Laplace).
        ledger: one of :data:`trust.privacy.ledger.NOISE_SOURCES`.
        seed_torch: the 64-bit seed of :meth:`torch_generator` (kept only inside this object).
    """

    numpy: np.random.Generator
    ledger: str
    seed_torch: int

    @property
    def secure(self) -> bool:
        """Whether the noise backs a guarantee (seeded from OS entropy)."""
        return self.ledger == SECURE

    def torch_generator(self, device: Any = "cpu"):
        """A :class:`torch.Generator` on ``device`` for DP-SGD noise (Opacus ``DPOptimizer(generator=...)``)."""
        import torch

        g = torch.Generator(device=device)
        g.manual_seed(self.seed_torch)
        return g

    def __repr__(self) -> str:  # never print the seed
        return f"NoiseSource(ledger={self.ledger!r})"


def _stream_key(stream: str | int) -> int:
    return int(stream) if isinstance(stream, int) else zlib.crc32(str(stream).encode())


def noise_source(insecure_seed: int | None = None, *, stream: str | int = 0) -> NoiseSource:
    """Fresh generators for one DP release (see the module docstring).

    Args:
        insecure_seed: None (default, OS entropy: the only setting that backs a guarantee) or an
            integer >= 0 that makes the noise reproducible, for tests only.
        stream: with ``insecure_seed``, a label (e.g. ``"critic"``) so that the releases of one fit
            draw distinct streams; ignored otherwise.

    Returns:
        a :class:`NoiseSource`.
    """
    if insecure_seed is None:
        return NoiseSource(np.random.default_rng(secrets.randbits(128)), SECURE, secrets.randbits(64))
    seed = check_scalar(insecure_seed, "insecure_noise_seed", int, min_val=0, allow_none=False)
    key = _stream_key(stream)
    torch_seed = int(np.random.SeedSequence([seed, key, 1]).generate_state(1, dtype=np.uint64)[0]) & (2**63 - 1)
    return NoiseSource(np.random.default_rng([seed, key, 0]), SEEDED, torch_seed)


__all__ = ["NoiseSource", "noise_source", "SECURE", "SEEDED"]
