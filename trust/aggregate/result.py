"""The result of the aggregate protocol (:func:`trust.aggregate.protocol.run_aggregate`): figures, the release and
its model, and how they become evidence, plots and files.

:class:`AggregateResult` keeps the records of each part of the protocol and the :class:`~trust.aggregate.release
.BagRelease`; it writes nothing until asked:

* :meth:`~AggregateResult.to_evidence`: the gate ``max_aggregate_mse_ratio`` (test MSE of rho chosen on held-out
  bags over the better of bag-level and instance-level at the worst bag size: relative to its reference), stage
  checks (MLP ratio, the sweep's k*, the deployed model against predicting the mean), flat metrics, details valid
  against :data:`~trust.aggregate.schema.DETAILS_SCHEMA`, the release's ledger entry and every use of the labels
  without DP (``non_dp``);
* :meth:`~AggregateResult.plots`: the figures, under ``<out>/audit/`` (they are computed on private labels);
* :meth:`~AggregateResult.save`: the release in ``<out>/release/`` (a folder of its own, with its manifest) and the
  records of the non-DP figures in ``<out>/audit/`` (never inside the release).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar, Mapping

from trust.aggregate.experiments import optimal_bag_sizes, summarise
from trust.aggregate.release import NOT_PROTECTED, RELEASE_FILES, BagRelease
from trust.aggregate.schema import DETAILS_SCHEMA
from trust.aggregate.settings import AggregateSettings
from trust.evidence import Check, Evidence, Plot, Result, gate, save_figure

PAPER = ("Javanmard et al., Learning from Aggregate responses: Instance Level versus Bag Level Loss Functions, "
         "ICLR 2024")
ESTIMATORS = ("bag", "instance", "auto", "oracle")


def comparison_table(records) -> list[dict[str, Any]]:
    """Per model and bag size: mean test MSE of bag-level, instance-level and rho chosen on held-out bags, the
    better of the first two (the reference) and the ratio of the third to it."""
    out = []
    for model in ("linear", "mlp"):
        recs = [r for r in records if r["model"] == model]
        if not recs:
            continue
        summ = {(s["k"], s["estimator"]): s for s in summarise(recs, ("k", "estimator"))}
        for k in sorted({r["k"] for r in recs}):
            bag, ins, auto = (summ[(k, e)]["mean"] for e in ("bag", "instance", "auto"))
            out.append({"model": model, "k": int(k), "bag": bag, "instance": ins, "auto": auto, "best": min(bag, ins),
                        "better": "bag-level" if bag <= ins else "instance-level", "ratio": auto / min(bag, ins),
                        "seeds": int(summ[(k, "auto")]["count"]),
                        "rho_chosen": sorted(r["rho"] for r in recs if r["k"] == k and r["estimator"] == "auto")})
    return out


def _ratio_check(rows: list[dict[str, Any]], policy: Mapping[str, Any] | None, gated: bool) -> Check:
    w = max(rows, key=lambda r: r["ratio"])
    seeds = f"{w['seeds']} seed" + ("s" if w["seeds"] != 1 else "")
    name = (f"Interpolating estimator ({w['model']}, rho chosen on held-out bags, mean of {seeds}), "
            f"test MSE at its worst bag size k = {w['k']}")
    ref = f"the better of bag- and instance-level at k = {w['k']} ({w['better']})"
    why = (f"ratio {w['ratio']:.4f} = {w['auto']:.5g} / {w['best']:.5g}; worst over bag sizes "
           f"{[r['k'] for r in rows]} of mean test MSE(rho chosen) / min(bag-level, instance-level)")
    if gated:
        return gate(name, w["auto"], policy, "max_aggregate_mse_ratio", reference=ref, reference_figure=w["best"],
                    description=why)
    return Check.relative(name, w["auto"], w["best"], reference=ref, description=why + "; reported, not gated")


def _sweep_checks(k_stars: Mapping[str, Mapping[float, Mapping[str, Any]]]) -> list[Check]:
    out = []
    for est, o in k_stars.items():
        kstars = [o[e]["k_star"] for e in sorted(o)]
        # reported, not gated: whether k* is interior and grows as epsilon shrinks is a finding, not a policy
        out.append(Check(f"DP sweep ({est}): epsilons whose optimal bag size k* is interior",
                         float(sum(v["interior"] for v in o.values())),
                         description=f"out of {len(o)}; k* per epsilon: "
                                     + ", ".join(f"{e:g} -> {v['k_star']}" for e, v in o.items())))
        out.append(Check(f"DP sweep ({est}): k* does not shrink as epsilon shrinks",
                         float(all(a >= b for a, b in zip(kstars, kstars[1:]))),
                         description="1 if k*(epsilon) is non-increasing in epsilon, else 0"))
    return out


@dataclasses.dataclass(frozen=True)
class AggregateResult(Result):
    """What :func:`~trust.aggregate.protocol.run_aggregate` found (module docstring).

    Attributes:
        settings: the checked settings; dataset, target, random_state: as given.
        rows: exact row counts (train, test, features, sweep, release): audit trail, never in the release.
        synthetic, comparison, sweep: the records of each part (lists of dicts; empty when not run).
        sweep_ledger: the ledger entries of the sweep's simulated releases (never released).
        release: the deployed :class:`~trust.aggregate.release.BagRelease`, or None.
        release_scores: the deployed model's test MSE and the constant's, on raw test labels (not DP), or None.
        location: where the caller saves the result, as the evidence names its files.
    """

    kind: ClassVar[str] = "aggregate"

    settings: AggregateSettings
    dataset: str = ""
    target: str = ""
    random_state: int = 0
    rows: Mapping[str, int] = dataclasses.field(default_factory=dict)
    synthetic: tuple[dict[str, Any], ...] = ()
    comparison: tuple[dict[str, Any], ...] = ()
    sweep: tuple[dict[str, Any], ...] = ()
    sweep_ledger: tuple[Any, ...] = ()
    release: BagRelease | None = None
    release_scores: Mapping[str, float] | None = None
    location: str = ""

    # ------------------------------------------------------------------------------------------ figures
    def k_stars(self) -> dict[str, dict[float, dict[str, Any]]]:
        """Per estimator of the sweep: per epsilon, the bag size of least mean test MSE (:func:`optimal_bag_sizes`)."""
        present = {r["estimator"] for r in self.sweep}
        return {est: optimal_bag_sizes(self.sweep, est) for est in ESTIMATORS if est in present}

    def metrics(self) -> dict[str, float]:
        """Flat figures (DVC diffs them): the names the stage has used since issue 4."""
        m: dict[str, float] = {f"synthetic.risk.k{r['k']}.rho{r['rho']:g}": r["risk"] for r in self.synthetic}
        table = comparison_table(self.comparison)
        for r in table:
            for est in ("bag", "instance", "auto"):
                m[f"{r['model']}.k{r['k']}.test_mse_{est}"] = r[est]
            m[f"{r['model']}.k{r['k']}.auto_ratio"] = r["ratio"]
        for model, key in (("linear", "max_auto_ratio"), ("mlp", "max_auto_ratio_mlp")):
            ratios = [r["ratio"] for r in table if r["model"] == model]
            if ratios:
                m[key] = max(ratios)
        for est, o in self.k_stars().items():
            for e, v in o.items():
                m[f"dp.{est}.eps{e:g}.k_star"] = v["k_star"]
                m[f"dp.{est}.eps{e:g}.mse_at_k_star"] = v["mse_at_k_star"]
                m.update({f"dp.{est}.eps{e:g}.k{k}.test_mse": mse for k, mse in v["mse_by_k"].items()})
        if self.release is not None:
            s = self.release.summary()
            if s.get("epsilon") is not None:
                m["release.epsilon"] = s["epsilon"]
            if self.settings.dp.release_bag_size is not None:
                m["release.bag_size"] = self.settings.dp.release_bag_size
            m.update({"release.bags": s["bags"], "release.rho": s["rho"]})
            m.update({f"release.{k}": s[k] for k in ("heldout_bag_loss", "heldout_bag_loss_of_mean") if k in s})
        if self.release_scores is not None:
            m["release.test_mse"] = self.release_scores["test_mse"]
            m["release.test_mse_constant"] = self.release_scores["test_mse_of_constant"]
        return m

    def checks(self, policy: Mapping[str, Any] | None = None) -> list[Check]:
        """The gate (linear comparison), the stage checks (MLP, sweep, deployed model against the mean)."""
        table = comparison_table(self.comparison)
        out = [_ratio_check([r for r in table if r["model"] == m], policy, m == "linear")
               for m in ("linear", "mlp") if any(r["model"] == m for r in table)]
        out += _sweep_checks(self.k_stars())
        s = self.release.summary() if self.release is not None else {}
        if "heldout_bag_loss" in s:
            out.append(Check.relative(
                "Deployed model: held-out bag-level loss, read off the released bag means", s["heldout_bag_loss"],
                s["heldout_bag_loss_of_mean"], reference="predicting the mean bag response", threshold=1.0,
                comparator="<", description="post-processing of the release (no private label read): the bags "
                                            "rho was chosen on"))
        if self.release_scores is not None:
            out.append(Check.relative(
                "Deployed model: test MSE", self.release_scores["test_mse"],
                self.release_scores["test_mse_of_constant"], reference="predicting the released mean", threshold=1.0,
                comparator="<", description="NOT DP: computed with the raw labels of the test rows (audit trail)"))
        return out

    def baseline_warnings(self) -> list[str]:
        """One line per figure no better than its baseline, with what to try (the CLI prints them)."""
        s = self.release.summary() if self.release is not None else {}
        try_ = ("try --rho auto, smaller bags (more bags), a larger --epsilon, or check that --center/--scale put "
                "most responses inside --clip")
        out = []
        if "heldout_bag_loss" in s and s["heldout_bag_loss"] >= s["heldout_bag_loss_of_mean"]:
            out.append(f"on held-out bags the model's loss ({s['heldout_bag_loss']:.4g}) is no better than predicting "
                       f"the mean bag response ({s['heldout_bag_loss_of_mean']:.4g}); {try_}")
        sc = self.release_scores
        if sc is not None and sc["test_mse"] >= sc["test_mse_of_constant"]:
            out.append(f"the model's test MSE ({sc['test_mse']:.4g}) is no better than predicting the mean bag "
                       f"response ({sc['test_mse_of_constant']:.4g}); {try_}")
        return out

    # ------------------------------------------------------------------------------------------ evidence
    def _at(self, *parts: str) -> str:
        return "/".join(p for p in (self.location, *parts) if p)

    def non_dp(self) -> list[dict[str, str]]:
        """Every use of the private labels outside the DP release (the report counts each unless declared)."""
        ds, where = self.dataset or "data", f"this run's evidence and metrics, {self._at('audit')}/ (records, plots)"
        out = []
        models = sorted({r["model"] for r in self.comparison})
        if models:
            out.append({"dataset": ds, "artifact": where,
                        "what": f"rho comparison ({', '.join(models)}) trained on EXACT bag means of the train split"})
        if self.sweep:
            split = ("the sweep split, disjoint from the deployed release's rows" if self.release is not None
                     else "the training rows")
            out.append({"dataset": ds, "artifact": where,
                        "what": f"label-DP sweep: {len(self.sweep_ledger)} simulated releases (summed epsilon "
                                f"{sum(e.epsilon for e in self.sweep_ledger):.4g}) on {split}, scored on raw test labels"})
        if self.release is not None and not self.release.private:
            out.append({"dataset": ds, "artifact": self._at("release"),
                        "what": "model trained on EXACT bag means (no DP)"})
        if self.comparison or self.sweep or self.release_scores is not None:
            out.append({"dataset": ds, "artifact": where + ("; the terminal" if self.release_scores else ""),
                        "what": "test MSE of every model, computed with the raw test labels"})
        return out

    def details(self) -> dict[str, Any]:
        """The evidence's details (:data:`~trust.aggregate.schema.DETAILS_SCHEMA`)."""
        s, rel = self.settings, self.release
        k_stars = self.k_stars()
        deployed = None
        if rel is not None:
            summ = rel.summary()
            deployed = {"dp": rel.private, "epsilon": summ.get("epsilon"), "bag_size": s.dp.release_bag_size,
                        "bags": summ["bags"], "rho": summ["rho"], "model": summ["model"],
                        "files": sorted(f for f in RELEASE_FILES if f != "ledger.json" or rel.private),
                        **{k: summ[k] for k in ("heldout_bag_loss", "heldout_bag_loss_of_mean") if k in summ}}
        sweep = None
        if self.sweep:
            sweep = {"k_star": {e: {f"{x:g}": v["k_star"] for x, v in o.items()} for e, o in k_stars.items()},
                     "interior": {e: {f"{x:g}": v["interior"] for x, v in o.items()} for e, o in k_stars.items()},
                     "mse_by_k": {e: {f"{x:g}": {str(k): m for k, m in v["mse_by_k"].items()} for x, v in o.items()}
                                  for e, o in k_stars.items()},
                     "train_rows": int(self.rows.get("sweep") or self.rows.get("train", 0)),
                     "simulated_releases": len(self.sweep_ledger),
                     "simulated_total_epsilon": float(sum(e.epsilon for e in self.sweep_ledger)),
                     "split": ("disjoint: a seeded split of the train rows that the deployed release does not use"
                               if rel is not None else "all training rows (no release in this run)"),
                     "oracle": "best rho of the grid by test MSE: the envelope of the family, not deployable",
                     "note": "simulated releases to choose k; their noisy means are never written; figures scored "
                             "on raw test labels: audit trail only; only the deployed release is in the ledger"}
        return {"paper": PAPER, "dataset": self.dataset,
                "response": {"target": self.target, "log": s.log_target, "center": s.center, "scale": s.scale,
                             "clip": s.clip, "note": "center/scale are declared public constants, not computed from "
                                                     "the private labels"},
                "rows": {k: int(v) for k, v in self.rows.items()},
                "release": [self._at("release")] if rel is not None else [], "deployed": deployed,
                "guarantee": rel.guarantee() if rel is not None else "no release in this run",
                "not_protected": NOT_PROTECTED, "comparison": comparison_table(self.comparison), "dp_sweep": sweep,
                "synthetic": list(self.synthetic),
                "test_errors": None if self.release_scores is None else {
                    **self.release_scores, "note": "NOT DP: the raw labels of the test rows"}}

    def to_evidence(self, policy: Mapping[str, Any] | None = None) -> Evidence:
        """Checks (thresholds from ``policy``), metrics, details, the release's ledger entry, the non-DP uses."""
        ledger = [self.release.entry.to_dict()] if self.release is not None and self.release.private else []
        title = "Learning from aggregate bags (label-DP)" + (f": {self.dataset}" if self.dataset else "")
        return Evidence(self.kind, title, checks=tuple(self.checks(policy)), metrics=self.metrics(),
                        details=self.details(), ledger=tuple(ledger), non_dp=tuple(self.non_dp()),
                        details_schema=DETAILS_SCHEMA)

    # ------------------------------------------------------------------------------------------ files
    def plots(self, out_dir: str | os.PathLike[str]) -> list[Plot]:
        """The figures, under ``out_dir/audit/`` (computed on private labels: audit trail)."""
        from trust.aggregate.experiments import (plot_bias_variance, plot_risk_vs_k, plot_risk_vs_k_per_rho,
                                                 plot_risk_vs_rho)

        audit, name, out = Path(out_dir) / "audit", self.dataset or "data", []
        if self.synthetic:
            syn = self.settings.synthetic
            fig = plot_bias_variance(self.synthetic, title=f"synthetic linear model (n={syn.n}, d={syn.d})")
            out.append(Plot("Synthetic linear model: bias^2, variance, risk vs bag size",
                            str(save_figure(fig, audit / "synthetic_bias_variance.png"))))
        for model in ("linear", "mlp"):
            recs = [r for r in self.comparison if r["model"] == model]
            if recs:
                fig = plot_risk_vs_rho(recs, title=f"{name}, {model}: test MSE vs rho")
                out.append(Plot(f"{name} ({model}): test MSE vs rho per bag size",
                                str(save_figure(fig, audit / f"risk_vs_rho_{model}.png"))))
        if self.sweep:
            n = self.rows.get("sweep") or self.rows.get("train")
            fig = plot_risk_vs_k(self.sweep, title=f"{name} ({n} training rows): label-DP bag means, test MSE vs bag size")
            out.append(Plot("Label-DP sweep: test MSE vs bag size per epsilon",
                            str(save_figure(fig, audit / "dp_risk_vs_k.png"))))
            fig = plot_risk_vs_k_per_rho(self.sweep, title=f"{name} ({n} training rows): label-DP, test MSE vs bag "
                                                           "size per rho")
            out.append(Plot("Label-DP sweep: test MSE vs bag size per rho",
                            str(save_figure(fig, audit / "dp_risk_vs_k_per_rho.png"))))
        return out

    def save(self, out_dir: str | os.PathLike[str]) -> None:
        """``out_dir/release/``: the release alone (:meth:`BagRelease.save`); ``out_dir/audit/``: the records of
        the figures computed on private labels and, when scored, the deployed model's test errors (not DP)."""
        from trust.data.io import atomic_write_json

        out = Path(out_dir)
        if self.release is not None:
            self.release.save(out / "release")
        if self.synthetic or self.comparison or self.sweep:
            k_stars = {e: {f"{x:g}": v["k_star"] for x, v in o.items()} for e, o in self.k_stars().items()}
            atomic_write_json(out / "audit" / "records.json", {
                "synthetic": list(self.synthetic), "rho_comparison": list(self.comparison), "dp_sweep": list(self.sweep),
                "k_star": k_stars, "sweep_ledger": [e.to_dict() for e in self.sweep_ledger]})
        if self.release_scores is not None:
            atomic_write_json(out / "audit" / "test_scores_non_dp.json", {
                **self.release_scores, "dp": False,
                "note": "computed on the raw labels of the test rows: NOT differentially private; audit trail, never "
                        "part of the release"}, finite=True)


__all__ = ["AggregateResult", "comparison_table", "PAPER"]
