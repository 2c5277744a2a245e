"""The verifier's result: one :class:`Claim` per thing the report or the evidence asserts, and its verdict.

A claim is VERIFIED (re-derived and equal), MISMATCH (re-derived and different: an edit after the run, a
bad signature, an under-reported epsilon, a gate the report got wrong) or UNVERIFIABLE (the verifier lacks
what it needs: the lineage key, the data, a parameter of a mechanism, the MLflow store). ``trust verify``
exits 0 when nothing is a MISMATCH (with ``--strict``: nothing UNVERIFIABLE either), 1 otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

VERIFIED, MISMATCH, UNVERIFIABLE = "VERIFIED", "MISMATCH", "UNVERIFIABLE"
STATUSES = (VERIFIED, MISMATCH, UNVERIFIABLE)

#: the order the categories are printed in
CATEGORIES = ("signature", "digest", "report", "epsilon", "total", "gate", "verdict", "lineage", "release")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One checked claim: its category, the file it is about, what it says, the verdict and why.

    ``figures`` holds the numbers a reader wants beside the verdict (e.g. the ledger's and the
    independent epsilon).
    """

    category: str
    file: str
    claim: str
    status: str
    reason: str
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status '{self.status}' is not one of {STATUSES}")

    def line(self) -> str:
        """``STATUS  category  file: claim (reason)`` on one line."""
        return f"{self.status:<12} {self.category:<9} {self.file}: {self.claim} ({self.reason})"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def claim(category: str, file: str, what: str, ok: bool | None, reason: str, **figures: Any) -> Claim:
    """A claim whose status is VERIFIED for ``ok`` True, MISMATCH for False and UNVERIFIABLE for None."""
    status = UNVERIFIABLE if ok is None else (VERIFIED if ok else MISMATCH)
    return Claim(category, str(file), what, status, reason, dict(figures))


@dataclasses.dataclass(frozen=True)
class Verification:
    """Every claim the verifier checked, with the counts and the exit code."""

    claims: tuple[Claim, ...]
    root: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        order = {c: i for i, c in enumerate(CATEGORIES)}
        object.__setattr__(self, "claims", tuple(sorted(self.claims, key=lambda c: order.get(c.category, 99))))

    def count(self, status: str) -> int:
        return sum(1 for c in self.claims if c.status == status)

    def of(self, status: str) -> list[Claim]:
        return [c for c in self.claims if c.status == status]

    def exit_code(self, *, strict: bool = False) -> int:
        """0 when no claim is a MISMATCH (with ``strict``: none UNVERIFIABLE either), else 1."""
        bad = self.count(MISMATCH) + (self.count(UNVERIFIABLE) if strict else 0)
        return 1 if bad else 0

    def final_line(self, *, strict: bool = False) -> str:
        n = len(self.claims)
        head = "PASS" if self.exit_code(strict=strict) == 0 else "FAIL"
        return (f"verify: {head}: {self.count(VERIFIED)} of {n} claims VERIFIED, {self.count(MISMATCH)} MISMATCH, "
                f"{self.count(UNVERIFIABLE)} UNVERIFIABLE" + (" (strict)" if strict else ""))

    def lines(self, *, strict: bool = False) -> list[str]:
        return [c.line() for c in self.claims] + [self.final_line(strict=strict)]

    def to_dict(self, *, strict: bool = False) -> dict[str, Any]:
        return {"root": self.root, "public_key": self.key, "strict": strict,
                "summary": {s: self.count(s) for s in STATUSES} | {"claims": len(self.claims),
                                                                 "line": self.final_line(strict=strict),
                                                                 "exit_code": self.exit_code(strict=strict)},
                "claims": [c.to_dict() for c in self.claims]}


def merge(*groups: Iterable[Claim]) -> list[Claim]:
    return [c for g in groups for c in g]


__all__ = ["VERIFIED", "MISMATCH", "UNVERIFIABLE", "STATUSES", "CATEGORIES", "Claim", "claim", "Verification",
           "merge"]
