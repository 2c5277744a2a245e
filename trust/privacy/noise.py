"""Where every DP noise draw comes from: one secret source per release, with named streams.

A differentially private release is only private if nobody can reproduce its noise. Every
mechanism in ``trust`` (the synthesiser's histogram release, DP-SGD's Gaussian noise for the
critic and the auxiliary model, the label-DP bag means, :mod:`trust.privacy.mechanisms`) asks
:func:`noise_source` for its generators at the moment of the release:

* default (``insecure_seed=None``): 128 bits of entropy from :func:`secrets.randbits` (the operating
  system), drawn afresh at every call and kept only inside the :class:`NoiseSource`, never saved,
  logged or derived from ``random_state`` (which seeds only what is not privacy noise:
  initialisation, shuffles, synthetic sampling). :attr:`NoiseSource.numpy` is a NumPy
  :class:`~numpy.random.Generator` (PCG64: 128-bit state and 128-bit increment) seeded with those
  128 bits; :meth:`NoiseSource.stream` gives further independent PCG64 generators for named purposes
  (``"partners"``, ``"row-keys"``), each seeded through :class:`numpy.random.SeedSequence` from the same
  128 bits and the stream's name as its spawn key. DP-SGD's Gaussian noise comes from
  :meth:`NoiseSource.torch_generator`: a CPU ``torch.Generator`` (MT19937, 19,937 bits of state) whose
  whole state is set from the 128 bits through ``SeedSequence``; ``manual_seed`` is never used for it,
  because torch's CPU generator keeps only 32 bits of a seed given that way (two seeds differing above bit
  32 gave the same noise). Ledger string ``"os-entropy"``.
* ``insecure_seed=<int>``: every generator seeded from that integer (and a ``stream`` label, so
  the several releases of one fit draw distinct streams). For tests only: anyone holding the
  seed can subtract the noise. Ledger string ``"seeded (not a valid guarantee)"``, which the
  report fails under ``require_secure_noise``.

DP-SGD's Poisson sampling is drawn from the run's :attr:`NoiseSource.numpy`: the accountant's
amplification by subsampling assumes nobody knows which rows each step used, so a sampling mask
reproducible from a published seed would void it. Its Gaussian noise comes from the separate
stream ``"gaussian"`` (:meth:`NoiseSource.torch_generator`).

Per-row randomness under DP (:class:`RowStreams`): every draw that touches a real row during a DP
fit (the transformer's mode draw, the row's conditional block, its fake partner's index, the
interpolation weight of the gradient penalty, dropout masks) is a function of the release's secret
key, the row's own content and a public counter (the step, the purpose), never of the row's position.
So adding or removing one row changes no other row's draws, which the per-row sensitivity argument of
DP-SGD needs (with positional draws one added row re-encodes and re-pairs the rows after it).

Not protected: neither PCG64 nor MT19937 is a cryptographic generator, nor is the row hash. The seeds are secret,
but an attacker who sees enough raw outputs of one stream could in principle recover its state;
releases expose only noisy sums, never raw draws.
"""

from __future__ import annotations

import functools
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from trust._validation import check_scalar
from trust.privacy.ledger import NOISE_SOURCES

SECURE, SEEDED = NOISE_SOURCES
#: bits of OS entropy behind every secure noise source
ENTROPY_BITS = 128


def _stream_key(stream: str | int) -> int:
    return int(stream) if isinstance(stream, int) else zlib.crc32(str(stream).encode())


@dataclass(frozen=True)
class NoiseSource:
    """The generators of one release's DP noise and what the ledger says about them.

    Attributes:
        numpy: a :class:`numpy.random.Generator` (PCG64) for NumPy mechanisms (Laplace, discrete Laplace) and
            DP-SGD's Poisson sampling.
        ledger: one of :data:`trust.privacy.ledger.NOISE_SOURCES`.
    """

    numpy: np.random.Generator
    ledger: str
    entropy: tuple[int, ...] = field(repr=False, compare=False, default=())

    @classmethod
    def from_entropy(cls, entropy: int, ledger: str = SECURE) -> "NoiseSource":
        """A source seeded with ``entropy`` (an integer of up to 128 bits or more; :func:`noise_source` draws it
        from the operating system)."""
        return cls(np.random.default_rng(int(entropy)), ledger, (int(entropy),))

    @property
    def secure(self) -> bool:
        """Whether the noise backs a guarantee (seeded from OS entropy)."""
        return self.ledger == SECURE

    def stream(self, name: str) -> np.random.Generator:
        """An independent PCG64 generator for one purpose of this release (``"gaussian"``, ``"partners"``, ...):
        :class:`numpy.random.SeedSequence` of this source's entropy with the name as its spawn key."""
        seq = np.random.SeedSequence(list(self.entropy), spawn_key=(_stream_key(name),))
        return np.random.Generator(np.random.PCG64(seq))

    def torch_generator(self, stream: str = "gaussian") -> Any:
        """A CPU :class:`torch.Generator` for DP-SGD's Gaussian noise, its MT19937 state set from this source's
        entropy and ``stream`` (:func:`torch_mt19937`: 128 secret bits reach the state, where ``manual_seed`` keeps
        32)."""
        return torch_mt19937(self.entropy, stream)

    def __repr__(self) -> str:  # never print the seed
        return f"NoiseSource(ledger={self.ledger!r})"


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
        return NoiseSource.from_entropy(secrets.randbits(ENTROPY_BITS))
    seed = check_scalar(insecure_seed, "insecure_noise_seed", int, min_val=0, allow_none=False)
    key = _stream_key(stream)
    return NoiseSource(np.random.default_rng([seed, key, 0]), SEEDED, (seed, key))


#: the CPU torch generator's state (``torch.Generator.get_state()``, torch 2.x ``CPUGeneratorImplState``): the initial
#: seed (int64), ``left`` and ``seeded`` (int32 each), ``next`` (uint64), then MT19937's 624 state words (one uint64
#: each); :func:`_check_torch_state_layout` verifies it against NumPy's MT19937 before any use
_MT_WORDS, _MT_OFFSET, _LEFT, _NEXT = 624, 24, slice(8, 12), slice(16, 24)


@functools.lru_cache(maxsize=None)
def _check_torch_state_layout() -> None:
    import torch

    state = torch.Generator().manual_seed(5).get_state().numpy()
    words = state[_MT_OFFSET:_MT_OFFSET + 8 * _MT_WORDS].view(np.uint64)
    if not np.array_equal(words, np.random.RandomState(5).get_state()[1].astype(np.uint64)):
        raise RuntimeError(f"trust bug: torch {torch.__version__}'s CPU generator state has an unknown layout, so the "
                           "DP-SGD noise generator cannot be seeded with 128 bits; pin torch==2.13.0")


def torch_mt19937(entropy: Sequence[int], stream: str) -> Any:
    """A CPU :class:`torch.Generator` whose whole MT19937 state (624 32-bit words) is set from ``entropy`` and the
    stream's name through :class:`numpy.random.SeedSequence` (NumPy's MT19937 seeding), not from ``manual_seed``
    (which keeps 32 bits of its seed). So seeds differing in any of their bits give different noise, at torch's own
    speed of drawing Gaussians."""
    import torch

    _check_torch_state_layout()
    seq = np.random.SeedSequence(list(entropy), spawn_key=(_stream_key(stream),))
    key = np.random.MT19937(seq).state["state"]["key"].astype(np.uint64)
    state = torch.Generator().manual_seed(0).get_state().numpy().copy()
    state[_MT_OFFSET:_MT_OFFSET + 8 * _MT_WORDS] = key.view(np.uint8)
    state[_LEFT] = np.array([1], np.int32).view(np.uint8)     # regenerate from these words at the first draw
    state[_NEXT] = np.array([0], np.uint64).view(np.uint8)
    g = torch.Generator()
    g.set_state(torch.from_numpy(state))
    return g


# ---------------------------------------------------------------------------------------------
# Per-row randomness under DP
# ---------------------------------------------------------------------------------------------
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (a bijection of 64-bit words with full avalanche), elementwise on uint64 arrays."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def counter(purpose: int, step: int = 0, sub: int = 0) -> int:
    """A public counter for :class:`RowStreams`: ``purpose`` (< 256), ``sub`` (< 4096, e.g. a layer or a column)
    and ``step`` (a critic step index), packed into 64 bits."""
    return (int(step) << 20) | (int(sub) << 8) | int(purpose)


class RowStreams:
    """Per-row secret randomness: draw ``j`` of row ``i`` under counter ``c`` is ``mix(k_i ^ mix(K + c * G + j))``.

    ``k_i = mix(mix(h_i ^ K_1) ^ K_2)`` is the row's key: ``h_i`` a hash of the row's content
    (:func:`pandas.util.hash_pandas_object`), ``K_1, K_2, K`` 64-bit words from the release's secret source
    (stream ``"row-keys"``), ``G`` an odd constant. A row's draws depend on its content, the secret words and the
    public counter only, never on its position or on other rows (identical rows get identical draws, which the
    sensitivity argument allows: it holds for any fixed secret words). Build with :meth:`for_table`.
    """

    def __init__(self, keys: np.ndarray, key: int) -> None:
        self.keys = np.asarray(keys, dtype=np.uint64)
        self._key = np.uint64(key)

    @classmethod
    def for_table(cls, df: Any, source: NoiseSource) -> "RowStreams":
        """Keys for the rows of the DataFrame ``df`` (in its order) under the secret ``source``."""
        import pandas as pd

        h = pd.util.hash_pandas_object(df, index=False).to_numpy(dtype=np.uint64)
        words = source.stream("row-keys").integers(0, 2**64, size=3, dtype=np.uint64, endpoint=False)
        return cls(_mix(_mix(h ^ words[0]) ^ words[1]), int(words[2]))

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:  # never print the key
        return f"RowStreams(rows={len(self)})"

    def words(self, rows: np.ndarray, ctr: int, n: int = 1) -> np.ndarray:
        """``(len(rows), n)`` 64-bit words for the rows at indices ``rows`` under counter ``ctr``."""
        with np.errstate(over="ignore"):
            base = self._key + np.uint64(ctr) * _GOLDEN
            cols = _mix(base + np.arange(n, dtype=np.uint64))
        return _mix(self.keys[np.asarray(rows, dtype=np.int64)][:, None] ^ cols[None, :])

    def uniform(self, rows: np.ndarray, ctr: int, n: int = 1) -> np.ndarray:
        """``(len(rows), n)`` uniforms in [0, 1) (53 bits each)."""
        return (self.words(rows, ctr, n) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53

    def keep_mask(self, rows: np.ndarray, ctr: int, width: int, p: float) -> np.ndarray:
        """Inverted-dropout masks ``(len(rows), width)``, float32: ``1 / (1 - p)`` with probability ``1 - p``, else 0
        (for ``p = 0.5`` one bit per entry)."""
        m = len(rows)
        if p == 0.5:
            w = self.words(rows, ctr, (width + 63) // 64)
            bits = np.unpackbits(np.ascontiguousarray(w).view(np.uint8), axis=1, bitorder="little")[:, :width]
            return bits.astype(np.float32) * 2.0
        keep = self.uniform(rows, ctr, width) >= p
        return keep.astype(np.float32) * np.float32(1.0 / (1.0 - p)) if m else np.zeros((0, width), np.float32)


__all__ = ["NoiseSource", "noise_source", "torch_mt19937", "RowStreams", "counter", "SECURE", "SEEDED",
           "ENTROPY_BITS"]
