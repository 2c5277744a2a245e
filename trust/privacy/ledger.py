"""The privacy ledger: every differentially private release and its guarantee.

One :class:`LedgerEntry` per release, with the fields of DESIGN.md:
``{release, mechanism, epsilon, delta, accountant, noise_multiplier, sample_rate, steps,
max_grad_norm, unit_of_privacy, adjacency, noise_source, dataset}`` plus ``composition`` and
``notes``. An entry is part of a *release* (it may leave the organisation): it names the
protected dataset, never a hash or an exact count of it.

Totals compose by basic sequential composition (epsilons and deltas add), which is always valid,
**per (dataset, unit of privacy, adjacency)**: a record-level add/remove epsilon and a label-level
replace-one epsilon bound different things and are never summed as if they were one.
:meth:`PrivacyLedger.combined_label_replace_one` gives the one correct combined statement across
them: the bound on what the releases reveal about one person's *label* under replace-one
adjacency, where a record-level add/remove release counts twice (replacing a row is removing it
and adding another: group privacy of size 2, ``2 epsilon`` and ``(1 + e^epsilon) delta``).
No combined record-level statement is made: a label-level release does not protect features.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Iterable, Mapping

from trust.errors import ConfigError, PrivacyBudgetError

UNITS = ("record", "label", "user")
ADJACENCY = ("add/remove", "replace-one")
#: Where a release's DP noise came from. Only ``os-entropy`` (a generator seeded afresh from the
#: operating system at that release, never stored or logged) backs a guarantee; ``seeded`` is the
#: explicitly insecure test option (``insecure_noise_seed=``), whose noise anyone holding the seed
#: can subtract.
NOISE_SOURCES = ("os-entropy", "seeded (not a valid guarantee)")


@dataclass(frozen=True)
class LedgerEntry:
    """One DP release and its guarantee.

    Attributes:
        release: a name unique within the ledger (e.g. ``synthesize/eps1/critic``).
        mechanism: e.g. ``DP-SGD (Poisson subsampled Gaussian)``, ``Laplace``.
        epsilon, delta: the guarantee.
        accountant: how epsilon was computed (``rdp``, ``prv``, ``basic``, ``closed-form``).
        noise_multiplier: the noise scale relative to sensitivity (sigma for Gaussian, b/Delta for Laplace).
        sample_rate: Poisson sampling rate q (1.0 for full-data mechanisms).
        steps: number of compositions counted by the accountant (1 for one-shot mechanisms).
        max_grad_norm: per-sample clipping bound (DP-SGD) or the clip bound of a response.
        unit_of_privacy: what one person contributes: ``record`` (a row), ``label`` (a row's label
            only, features public), ``user``.
        adjacency: ``add/remove`` or ``replace-one``.
        dataset: the protected dataset's name (totals are per dataset).
        noise_source: one of :data:`NOISE_SOURCES`.
        composition: ``sequential`` (adds to the dataset's total).
        notes: anything an auditor should read with the figure (what is *not* covered).
    """

    release: str
    mechanism: str
    epsilon: float
    delta: float
    accountant: str
    noise_multiplier: float | None
    sample_rate: float | None
    steps: int | None
    max_grad_norm: float | None
    unit_of_privacy: str
    adjacency: str
    dataset: str = ""
    noise_source: str = "os-entropy"
    composition: str = "sequential"
    notes: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.epsilon, (int, float)) and self.epsilon > 0 and math.isfinite(self.epsilon)):
            raise ConfigError(f"ledger entry '{self.release}': epsilon={self.epsilon} must be a finite number > 0")
        if isinstance(self.delta, bool) or not isinstance(self.delta, (int, float)) or not 0.0 <= self.delta < 1.0:
            raise ConfigError(f"ledger entry '{self.release}': delta={self.delta} must lie in [0, 1)")
        if self.unit_of_privacy not in UNITS:
            raise ConfigError(
                f"ledger entry '{self.release}': unit_of_privacy '{self.unit_of_privacy}' must be one of {UNITS}"
            )
        if self.adjacency not in ADJACENCY:
            raise ConfigError(f"ledger entry '{self.release}': adjacency '{self.adjacency}' must be one of {ADJACENCY}")
        if self.noise_source not in NOISE_SOURCES:
            raise ConfigError(
                f"ledger entry '{self.release}': noise_source '{self.noise_source}' must be one of {NOISE_SOURCES}"
            )
        if self.composition != "sequential":
            raise ConfigError(f"ledger entry '{self.release}': composition must be 'sequential'")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "LedgerEntry":
        names = {f.name for f in fields(cls)}
        if not isinstance(d, Mapping):
            raise ConfigError(f"a ledger entry must be a dict of its fields, not {type(d).__name__} {d!r:.40}")
        d = {k: v for k, v in d.items() if k != "data_sha256"}  # legacy entries: the plain hash is dropped
        missing = sorted(f.name for f in fields(cls)
                         if f.default is MISSING and f.default_factory is MISSING and f.name not in d)
        if missing:
            raise ConfigError(f"ledger entry '{d.get('release', '?')}' lacks field(s) {missing}")
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"ledger entry has unknown field(s) {sorted(unknown)}; expected {sorted(names)}")
        return cls(**dict(d))

    def sentence(self) -> str:
        """The guarantee in one sentence, for people."""
        unit = {"record": "one person's row", "label": "one person's label (features are not protected)",
                "user": "all of one user's rows"}[self.unit_of_privacy]
        how = f"{self.mechanism}"
        if self.noise_multiplier is not None:
            how += f", noise multiplier {self.noise_multiplier:.4g}"
        if self.sample_rate is not None and self.sample_rate < 1:
            how += f", sampling rate {self.sample_rate:.4g}"
        if self.steps is not None and self.steps > 1:
            how += f", {self.steps} steps"
        if self.max_grad_norm is not None:
            how += f", clip bound {self.max_grad_norm:.4g}"
        delta = f"delta = {self.delta:.3g}" if self.delta > 0 else "delta = 0 (pure DP)"
        text = (
            f"Release '{self.release}' is ({self.epsilon:.4g}, {self.delta:.3g})-differentially private for "
            f"{unit} in dataset '{self.dataset or 'unnamed'}' under {self.adjacency} adjacency "
            f"(epsilon = {self.epsilon:.4g}, {delta}; {self.accountant} accountant; {how}; noise: {self.noise_source})."
        )
        if not self.secure:
            text += " Its noise was SEEDED: anyone holding the seed can subtract it; this is not a valid guarantee."
        return text

    @property
    def secure(self) -> bool:
        """Whether the noise came from fresh OS entropy (the only source that backs the guarantee)."""
        return self.noise_source == NOISE_SOURCES[0]

    @property
    def guarantee_key(self) -> tuple[str, str, str]:
        """``(dataset, unit_of_privacy, adjacency)``: what the entry's epsilon is a bound on."""
        return (self.dataset, self.unit_of_privacy, self.adjacency)


@dataclass
class PrivacyLedger:
    """An ordered collection of :class:`LedgerEntry`, with composition per dataset."""

    entries: list[LedgerEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.entries, list) or not all(isinstance(e, LedgerEntry) for e in self.entries):
            raise ConfigError("PrivacyLedger(entries=...) takes a list of LedgerEntry; build one from dicts with "
                              "PrivacyLedger.from_list(...)")

    def append(self, entry: LedgerEntry | Mapping[str, Any]) -> LedgerEntry:
        """Add a release; its name must be new."""
        e = entry if isinstance(entry, LedgerEntry) else LedgerEntry.from_dict(entry)
        if any(x.release == e.release for x in self.entries):
            raise ConfigError(f"the ledger already holds a release named '{e.release}'; give releases unique names")
        self.entries.append(e)
        return e

    def merge(self, other: "PrivacyLedger | Iterable[LedgerEntry | Mapping[str, Any]]") -> "PrivacyLedger":
        """A new ledger with this one's entries and ``other``'s (identical duplicates kept once)."""
        out = PrivacyLedger(list(self.entries))
        items = other.entries if isinstance(other, PrivacyLedger) else other
        for e in items:
            e = e if isinstance(e, LedgerEntry) else LedgerEntry.from_dict(e)
            same = [x for x in out.entries if x.release == e.release]
            if same and same[0] == e:
                continue
            out.append(e)
        return out

    def datasets(self) -> list[str]:
        return sorted({e.dataset for e in self.entries})

    def total(self, dataset: str | None = None, *, unit_of_privacy: str | None = None,
              adjacency: str | None = None) -> tuple[float, float]:
        """(epsilon, delta) of the releases on ``dataset`` with that unit and adjacency, by sequential composition.

        With ``unit_of_privacy``/``adjacency`` left out, entries of every unit and adjacency are summed:
        an upper bound used only for the budget check (conservative), not a guarantee statement;
        use :meth:`totals` for the statements.
        """
        sel = [e for e in self.entries if (dataset is None or e.dataset == dataset)
               and (unit_of_privacy is None or e.unit_of_privacy == unit_of_privacy)
               and (adjacency is None or e.adjacency == adjacency)]
        return float(sum(e.epsilon for e in sel)), float(min(1.0, sum(e.delta for e in sel)))

    def totals(self) -> dict[tuple[str, str, str], dict[str, float]]:
        """Per (dataset, unit of privacy, adjacency): total epsilon, total delta, number of releases."""
        out: dict[tuple[str, str, str], dict[str, float]] = {}
        for key in sorted({e.guarantee_key for e in self.entries}):
            eps, delta = self.total(key[0], unit_of_privacy=key[1], adjacency=key[2])
            out[key] = {"epsilon": eps, "delta": delta,
                        "releases": sum(1 for e in self.entries if e.guarantee_key == key)}
        return out

    def combined_label_replace_one(self, dataset: str) -> dict[str, float] | None:
        """The combined bound on one person's *label* under replace-one, over every unit and adjacency.

        A replace-one entry (record, user or label level; each protects a label change) counts
        ``(epsilon, delta)``; an add/remove entry counts ``(2 epsilon, (1 + e^epsilon) delta)`` (a
        replacement is a removal and an addition: group privacy of size 2). None when the dataset has
        entries of only one (unit, adjacency): then the per-guarantee total is the statement.
        """
        sel = [e for e in self.entries if e.dataset == dataset]
        if len({e.guarantee_key for e in sel}) < 2:
            return None
        eps = delta = 0.0
        for e in sel:
            if e.adjacency == "add/remove":
                eps += 2 * e.epsilon
                delta += (1 + math.exp(e.epsilon)) * e.delta
            else:
                eps += e.epsilon
                delta += e.delta
        return {"epsilon": float(eps), "delta": float(min(1.0, delta)), "releases": len(sel)}

    def check_budget(self, dataset: str, epsilon: float, *, max_epsilon: float, max_delta: float = 1.0,
                     delta: float = 0.0) -> None:
        """Raise :class:`PrivacyBudgetError` if adding ``(epsilon, delta)`` on ``dataset`` would pass the budget."""
        spent_eps, spent_delta = self.total(dataset)
        if spent_eps + epsilon > max_epsilon + 1e-12 or spent_delta + delta > max_delta + 1e-15:
            raise PrivacyBudgetError(
                f"dataset '{dataset}' has spent epsilon={spent_eps:.4g}, delta={spent_delta:.3g}; another release of "
                f"epsilon={epsilon:.4g}, delta={delta:.3g} would pass the budget (epsilon {max_epsilon:g}, delta "
                f"{max_delta:g}); lower the release's epsilon or raise the budget"
            )

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.entries]

    @classmethod
    def from_list(cls, items: Iterable[Mapping[str, Any]]) -> "PrivacyLedger":
        if isinstance(items, (str, bytes, Mapping)) or not hasattr(items, "__iter__"):
            raise ConfigError(f"a ledger is built from a list of entries (dicts), not {type(items).__name__}")
        led = cls()
        for d in items:
            led.append(d)
        return led

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)


__all__ = ["LedgerEntry", "PrivacyLedger", "UNITS", "ADJACENCY", "NOISE_SOURCES"]
