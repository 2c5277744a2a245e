"""A release of bag means and the model trained on it, kept in a folder of its own.

A :class:`BagRelease` is what may leave the organisation after learning from aggregate responses: one
(standardised) mean response per bag, noisy under label-DP (:func:`~trust.aggregate.dp.release_bag_means`),
the bag sizes, the estimator fitted on them (post-processing of the release) and its ledger entry. It holds
nothing else: no test error, no exact bag mean beside a noisy one, no statistic of the private labels. Figures
computed on private labels (the non-DP comparisons, test errors) belong to the audit trail, beside the release
folder, never in it (:mod:`trust.aggregate.protocol` writes them to ``audit/``).

:meth:`BagRelease.save` writes the folder through :func:`trust.data.io.model_dir_writer` (atomic; its
manifest ``trust-model.json`` has kind ``aggregate-release`` and lists every file with what it holds and the
guarantee that covers it, so that a copy of the folder carries its own description)::

    release/
      trust-model.json     kind, format version, files, guarantee, what is not protected
      bag_means.parquet    bag, size, mean (standardised units; noisy under DP)
      model.pt             the estimator trained on the bag means (InterpolatingRegressor.save)
      release.json         settings, bag layout and the model's rho selection (post-processing only)
      ledger.json          the ledger entry (DP releases only)

**Not protected** (label-DP protects labels only): the features, which rows share a bag, the bag sizes and
so the number of rows released.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

#: the manifest kind of a release folder
RELEASE_KIND = "aggregate-release"

#: every file a release folder may hold, with what it is
RELEASE_FILES: dict[str, str] = {
    "bag_means.parquet": "one row per bag: bag number, size, mean response in standardised units "
                         "(noisy under label-DP)",
    "model.pt": "the estimator trained on the bag means (post-processing of the release)",
    "release.json": "settings, bag layout and the model's rho selection on held-out bags (post-processing)",
    "ledger.json": "the privacy ledger entry of the release (label-DP releases only)",
}

NOT_PROTECTED = "the features of every row; which rows share a bag; the bag sizes and so the number of rows"


@dataclasses.dataclass(frozen=True)
class BagRelease:
    """One release of bag means and the model trained on it (module docstring).

    Attributes:
        means: ``(m,)`` mean response per bag in standardised units, ``(y - center) / scale`` (noisy and clipped
            under DP; exact without).
        sizes: ``(m,)`` rows per bag.
        model: the fitted :class:`~trust.aggregate.InterpolatingRegressor`.
        entry: the :class:`~trust.privacy.LedgerEntry` of a label-DP release, None for exact bag means.
        settings: the public settings of the release (center, scale, clip, log, epsilon, ...), JSON values.
    """

    means: np.ndarray
    sizes: np.ndarray
    model: Any
    entry: Any = None
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def private(self) -> bool:
        """Whether the bag means were released with label-DP."""
        return self.entry is not None

    def guarantee(self) -> str:
        """The guarantee in one sentence (the ledger entry's), or that there is none."""
        if self.entry is None:
            return "none: exact bag means, NOT differentially private"
        return self.entry.sentence()

    def summary(self) -> dict[str, Any]:
        """What ``release.json`` holds: settings, the public bag layout and the model's rho (post-processing)."""
        est = self.model
        scores = getattr(est, "rho_scores_", None)
        return {
            **dict(self.settings), "bags": int(len(self.sizes)), "rows_bagged": int(np.sum(self.sizes)),
            "bag_size_min": int(np.min(self.sizes)), "bag_size_max": int(np.max(self.sizes)),
            "rho": float(est.rho_), "model": est.model,
            "rho_validation_loss": None if scores is None else {str(k): float(v) for k, v in scores.items()},
            "differentially_private": self.private, "guarantee": self.guarantee(),
        }

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
        """Write the release folder at ``path`` (atomic; a foreign non-empty directory is refused)."""
        import pandas as pd

        from trust.data.io import atomic_write_json, model_dir_writer, write_table

        files = {k: v for k, v in RELEASE_FILES.items() if k != "ledger.json" or self.private}
        meta = {"files": files, "guarantee": self.guarantee(), "not_protected": NOT_PROTECTED}
        with model_dir_writer(path, kind=RELEASE_KIND, overwrite=overwrite, meta=meta) as tmp:
            write_table(pd.DataFrame({"bag": np.arange(len(self.means)), "size": np.asarray(self.sizes, dtype=int),
                                      "mean": np.asarray(self.means, dtype=float)}), tmp / "bag_means.parquet")
            self.model.save(tmp / "model.pt")
            atomic_write_json(tmp / "release.json", self.summary(), finite=True)
            if self.private:
                atomic_write_json(tmp / "ledger.json", [self.entry.to_dict()], finite=True)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "BagRelease":
        """Read a release folder written by :meth:`save`."""
        import json

        from trust.aggregate.estimators import InterpolatingRegressor
        from trust.data.io import read_model_dir, read_table
        from trust.privacy import LedgerEntry

        path = Path(path)
        read_model_dir(path, kind=RELEASE_KIND, files=("bag_means.parquet", "model.pt", "release.json"),
                       what="aggregate release")
        table = read_table(path / "bag_means.parquet")
        summary = json.loads((path / "release.json").read_text())
        entry = None
        if (path / "ledger.json").exists():
            (raw,) = json.loads((path / "ledger.json").read_text())
            entry = LedgerEntry.from_dict(raw)
        keep = ("center", "scale", "clip", "log_target", "epsilon", "units")
        return cls(table["mean"].to_numpy(float), table["size"].to_numpy(int),
                   InterpolatingRegressor.load(path / "model.pt"), entry,
                   {k: summary[k] for k in keep if k in summary})


__all__ = ["BagRelease", "RELEASE_KIND", "RELEASE_FILES", "NOT_PROTECTED"]
