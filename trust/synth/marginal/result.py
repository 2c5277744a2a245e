"""The marginal engine's result in the synthesis protocol (:func:`trust.synth.protocol.run_synth` with
``engine="mst"``, ``"aim"``, or ``"auto"`` when its rule picks MST).

:class:`MarginalSynthResult` is a :class:`~trust.synth.protocol.SynthResult`: the same release folder (``release/``
under DP, ``baseline/`` without: the synthetic table, ``model/``, ``ledger.json``, the manifest), the same evidence
kind (``synth``) and details schema, so the stages, the report, ``trust verify`` and ``synth_evaluate`` treat both
engines alike. What differs: the figures (zCDP ``rho``, the number of measured marginals instead of epochs and
steps), the plot (the zCDP spend per measurement instead of training losses) and the sentences.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping

import pandas as pd

from trust.evidence import Evidence, Plot, save_figure
from trust.synth.protocol import BASELINE_DIR, RELEASE_DIR, TABLE_FILE, SynthResult


@dataclasses.dataclass(frozen=True)
class MarginalSynthResult(SynthResult):
    """A fitted :class:`~trust.synth.marginal.MarginalSynthesizer` and what it released (see the module docstring).

    Attributes (beyond :class:`~trust.synth.protocol.SynthResult`'s): engine_reason: why this engine (``auto``'s
    rule, or "named").
    """

    model_text: ClassVar[str] = "a folder: the fitted marginal model (MarginalSynthesizer.load)"
    engine_reason: str = ""

    @property
    def engine(self) -> str:  # type: ignore[override]
        """``mst`` or ``aim``."""
        return str(self.model.engine_)

    def warnings(self) -> list[str]:
        """None: the marginal engine releases no label marginal of its own to compare with."""
        return []

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """Checks (declared rows, epsilon against its target and the policy), flat metrics, the zCDP ledger entry
        (and ``auto``'s DP row count), the non-DP use of a fit without DP, details valid against ``SYNTH_SCHEMA``."""
        from trust.synth.schemas import SYNTH_SCHEMA

        rep = self.model.privacy_report()
        checks = self._budget_checks(rep, policy, "every marginal measurement and selection on one zCDP budget, "
                                     "converted once", "the zCDP accountant's epsilon after fitting")
        name = self.engine.upper()
        return Evidence(self.kind, f"{name} synthesis (marginal engine), epsilon {self._member()}", tuple(checks),
                        self._metrics(rep), self._details(rep), tuple(rep["entries"]), self._non_dp(),
                        details_schema=SYNTH_SCHEMA)

    def _metrics(self, rep: Mapping[str, Any]) -> dict[str, float | None]:
        out: dict[str, float | None] = {
            "epsilon": rep["epsilon"], "delta": rep["delta"], "rho": rep["rho"], "fit_seconds": self.fit_seconds,
            "sample_seconds": self.sample_seconds, "measurements": float(len(rep["spends"])),
            "synthetic_rows": None if self.synthetic is None else len(self.synthetic)}
        return out

    def _details(self, rep: Mapping[str, Any]) -> dict[str, Any]:
        dp = bool(rep["dp"])
        not_covered = ["no differential privacy: exact marginals of the raw rows"] if not dp else [
            "floating-point Gaussian and Gumbel samplers (Mironov 2012 not mitigated)"]
        not_covered.append("settings (bins, iterations) and the declared schema are public; they were not tuned on "
                           "the private rows in this pipeline")
        return {"engine": self.engine, "engine_reason": self.engine_reason, "dp": dp,
                "guarantee": list(rep["sentences"]), "epsilon_target": self.epsilon_target, "dataset": self.dataset,
                "public_metadata": dict(self.public_metadata),
                "release": list(self.release_paths if self.release_paths is not None else
                                ([f"{self.artifact}/{RELEASE_DIR}"] if dp else [])),
                "release_folder": {"folder": RELEASE_DIR if dp else BASELINE_DIR,
                                   "files": [TABLE_FILE, "model", "ledger.json"], "releasable": dp},
                "fit_rows": int(self.fit_rows), "schedule": str(rep["reason"]),
                "generator": ("post-processing: a graphical model (Private-PGM) estimated from the noisy marginals; "
                              "sampling reads no real row") if dp else "estimated from exact marginals (no DP)",
                "label_share": None, "warnings": self.warnings(), "not_covered": not_covered}

    def _non_dp(self) -> tuple[dict[str, str], ...]:
        if self.dp:
            return ()
        return ({"dataset": self.dataset or "unnamed", "artifact": self.artifact,
                 "what": f"{self.engine.upper()} fitted WITHOUT differential privacy on the training rows (exact "
                         "marginals, model, synthetic table)"},)

    def plots(self, out_dir: str | os.PathLike[str]) -> list[Plot]:
        """The zCDP spend of each measurement and selection, in order (empty without DP)."""
        rep = self.model.privacy_report()
        if not rep["dp"]:
            return []
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from trust.synth.marginal.accounting import spend_rho

        spends = rep["spends"]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for kind, marker in (("gaussian", "o"), ("exponential", "s")):
            idx = [i for i, s in enumerate(spends) if s["kind"] == kind]
            ax.plot(idx, [spend_rho(spends[i]) for i in idx], marker, ms=3, ls="", label=kind)
        ax.set_xlabel("spend, in order")
        ax.set_ylabel("zCDP rho")
        ax.set_title(f"{self.engine.upper()}: zCDP spends (epsilon {self._member()})")
        ax.legend(fontsize=7)
        path = save_figure(fig, Path(out_dir) / "spends.png")
        return [Plot(f"{self.engine.upper()} zCDP spend per measurement (epsilon {self._member()})", str(path))]


def finish_marginal(est: Any, reason: str, rows: pd.DataFrame, fit_seconds: float, *, dataset: str,
                    epsilon: float | None, synthetic_rows: int | None, artifact: str,
                    public_metadata: Mapping[str, Any] | None) -> MarginalSynthResult:
    """Sample ``synthetic_rows`` rows from the fitted marginal engine ``est`` and wrap it as a result."""
    t0 = time.perf_counter()
    synthetic = None if synthetic_rows is None else est.sample(synthetic_rows)
    return MarginalSynthResult(est, synthetic, dataset, epsilon, synthetic_rows, fit_seconds,
                               time.perf_counter() - t0, dict(public_metadata or {}), len(rows), artifact,
                               engine_reason=reason)


__all__ = ["MarginalSynthResult", "finish_marginal"]
